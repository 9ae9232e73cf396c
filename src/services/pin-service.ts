/**
 * PinService: mailbox PIN operations that combine the pure rules (`domain/`), the store ports and the mailer. Used by
 * the cmdlets (Set-UMMailboxPIN, Enable-UMMailbox) and by the sign-in and PIN-change flows.
 * No method logs or returns a PIN, except {@link PinService.setPin}'s result to the administrator who asked for it.
 */
import { ErrorCodes, VaError } from '../errors';
import { admitLogonAttempt, settleRightPin, settleWrongPin, type LogonFailureAction, type LogonFailureOutcome } from '../domain/logon-failures';
import { hashPin, verifyPin } from '../domain/pin-hash';
import { checkPin, generatePin, historyViolation, isPinExpired, type PinViolation } from '../domain/pin-policy';
import type { MailboxPolicy } from '../domain/directory-objects';
import type { Mailer } from '../ports/mailer';
import type { DirectoryObjectsReader } from '../ports/store/directory-objects';
import type { Mailbox, MailboxRepository } from '../ports/store/mailboxes';
import type { PinHashing, StoreClock } from '../ports/store/settings';

/**
 * What {@link PinService} needs of the store: the mailboxes with their PIN state, the policies and dial plans they
 * refer to, the PIN-hash cost and the store's clock: any `Store` (SQLite or PostgreSQL).
 */
export type PinServiceStore = MailboxRepository & Pick<DirectoryObjectsReader, 'getPolicy' | 'getDialPlan'> & PinHashing & StoreClock;

/** Options of an administrator's PIN set or reset (Set-UMMailboxPIN [D-SETPIN]); defaults are the cmdlet's. */
export interface SetPinOptions {
  /** The new PIN; checked against the policy. Generated when omitted. */
  pin?: string;
  /** Must the user change it at the next sign-in? Default true. */
  pinExpired?: boolean;
  /** true locks the mailbox; omitted or false unlocks it. */
  lockedOut?: boolean;
  /** Mail the new PIN? Default true. */
  sendEmail?: boolean;
  /** Address for the mail instead of the user's own. */
  notifyEmail?: string;
}

/** What an administrator's PIN set did. */
export interface SetPinResult {
  identity: string;
  generated: boolean;
  /** Where the PIN mail went, when it was sent. */
  emailedTo?: string;
  /**
   * The generated PIN, only when it was generated and not mailed (`-SendEmail $false`): the administrator who asked
   * for no mail is shown it once. Never logged, never stored.
   */
  pin?: string;
}

/** The result of one sign-in attempt. */
export type SignInResult =
  | { outcome: 'ok'; mailbox: Mailbox; mustChangePin: boolean; firstTimeUser: boolean }
  | { outcome: 'locked' }
  | { outcome: 'failed'; failures: number; action: LogonFailureAction };

/**
 * An administrator's PIN: the given one when it passes the policy rules, or a generated one.
 * @throws VaError VA_ERR_PIN_POLICY naming the rule (never the PIN)
 */
function choosePin(given: string | undefined, policy: MailboxPolicy, extension: string): string {
  if (given === undefined) return generatePin(policy, extension);
  const v = checkPin(given, policy, extension);
  if (v) throw new VaError(ErrorCodes.PIN_POLICY, `Pin: ${v.message} (UM mailbox policy ${policy.name})`);
  return given;
}

/** Mailbox PINs: administrators' sets and resets, users' changes, sign-ins with their failure counting. */
export class PinService {
  /**
   * @param store the mailbox and directory-object repositories (and the PIN-hash cost)
   * @param mailer where PIN mails go
   */
  constructor(
    private readonly store: PinServiceStore,
    private readonly mailer: Mailer,
  ) {}

  /**
   * Sets or resets a mailbox PIN as an administrator (Set-UMMailboxPIN, [D-SETPIN]): checks a given PIN against the
   * policy rules (length, patterns, extension tail) and the PIN history (PINHistoryCount, the current PIN included:
   * "previous PINs aren't allowed during a PIN reset" [D-POL]) or generates one, stores its hash, clears the failure count,
   * sets PinExpired (default true) and the lockout (default: unlocked), and mails the PIN (default on).
   * Validation happens before any change: a refused PIN changes nothing.
   * @throws VaError VA_ERR_NOT_FOUND, VA_ERR_PIN_POLICY (says which rule), VA_ERR_MAIL_SEND (nothing was changed)
   */
  async setPin(identity: string, opts: SetPinOptions = {}): Promise<SetPinResult> {
    const m = await this.store.getMailbox(identity);
    const policy = await this.store.getPolicy(m.policy);
    const pin = choosePin(opts.pin, policy, m.extension);
    // "PINHistoryCount previous PINs aren't allowed during a PIN reset" [D-POL]: the administrator's too (issue 21).
    if (opts.pin !== undefined) {
      const used = await this.historyViolationOf(m, policy, pin);
      if (used) throw new VaError(ErrorCodes.PIN_POLICY, `Pin: ${used.message} (UM mailbox policy ${policy.name})`);
    }
    const hash = await hashPin(pin, this.store.pinHashCost);
    const result: SetPinResult = { identity: m.identity, generated: opts.pin === undefined };
    // Mail first: when delivery fails nothing has changed, so a generated PIN that nobody received never
    // replaces the PIN the user knows.
    if (opts.sendEmail ?? true) {
      const to = opts.notifyEmail ?? m.identity;
      await this.mailPin(m, policy.resetPinText, pin, to, opts.pinExpired ?? true);
      result.emailedTo = to;
    }
    await this.store.setPinHash(m.identity, hash, { expired: opts.pinExpired ?? true, lockedOut: opts.lockedOut ?? false });
    if (result.generated && result.emailedTo === undefined) result.pin = pin;
    return result;
  }

  /**
   * UM-enables a mailbox with a given or generated PIN (Enable-UMMailbox [E-ENABLE]) and mails the PIN to the user
   * (or `notifyEmail`). The PIN is checked against the policy before anything is created.
   * @throws VaError VA_ERR_NOT_FOUND (policy), VA_ERR_ALREADY_EXISTS, VA_ERR_INVALID_SETTING, VA_ERR_PIN_POLICY,
   *   VA_ERR_MAIL_SEND (the mailbox was enabled)
   */
  async enableMailbox(m: { identity: string; displayName: string; extension: string; policy: string }, opts: SetPinOptions = {}): Promise<SetPinResult> {
    const policy = await this.store.getPolicy(m.policy);
    const pin = choosePin(opts.pin, policy, m.extension);
    const hash = await hashPin(pin, this.store.pinHashCost);
    const created = await this.store.enableMailbox({ ...m, pinHash: hash, pinExpired: opts.pinExpired ?? true });
    const to = opts.notifyEmail ?? created.identity;
    if (opts.sendEmail ?? true) await this.mailPin(created, policy.resetPinText, pin, to, opts.pinExpired ?? true);
    return { identity: created.identity, generated: opts.pin === undefined, emailedTo: opts.sendEmail ?? true ? to : undefined };
  }

  /**
   * Checks a PIN a user chose: the policy rules, then the history of the last PINHistoryCount PINs (the current one
   * included, [D-POL]).
   * @returns the first rule broken, or null
   */
  async checkNewPin(identity: string, pin: string): Promise<PinViolation | null> {
    const m = await this.store.getMailbox(identity);
    const policy = await this.store.getPolicy(m.policy);
    return checkPin(pin, policy, m.extension) ?? this.historyViolationOf(m, policy, pin);
  }

  /**
   * The history rule alone: `pin` matches one of the mailbox's last PINHistoryCount PINs, the current one included
   * ([D-POL] "includes the first time the PIN was set"). One scrypt check per PIN kept.
   * @returns the `used-before` violation, or null
   */
  private async historyViolationOf(m: Mailbox, policy: MailboxPolicy, pin: string): Promise<PinViolation | null> {
    for (const h of await this.store.pinHistory(m.identity, policy.pinHistoryCount)) {
      if (await verifyPin(pin, h)) return historyViolation(policy.pinHistoryCount);
    }
    return null;
  }

  /**
   * A user's own PIN change (forced after expiry or first sign-in, or from personal options): checked by
   * {@link checkNewPin}, then stored with PinExpired false.
   * @returns null on success, or the rule broken (nothing changed then)
   */
  async changePin(identity: string, pin: string): Promise<PinViolation | null> {
    const v = await this.checkNewPin(identity, pin);
    if (v) return v;
    const hash = await hashPin(pin, this.store.pinHashCost);
    await this.store.setPinHash(identity, hash, { expired: false, lockedOut: false });
    return null;
  }

  /**
   * One sign-in attempt, safe against concurrent attempts on the same mailbox from any number of calls and instances
   * sharing the store (issue 19). Each change of the cross-call state is one atomic read-modify-write in the store
   * (`domain/logon-failures.ts` decides it, {@link MailboxRepository.updateLogonFailures} applies it):
   * 1. before the PIN is checked, the attempt is admitted: a locked mailbox is refused (`locked`); otherwise the
   *    attempt is counted at once as the next sequential failure. When that count has already reached
   *    MaxLogonAttempts (the attempts making it up are still being checked), the attempt is refused and the mailbox
   *    locked. So at most MaxLogonAttempts attempts are answered between two successes [D-POL][E-LOCK];
   * 2. the PIN is checked (scrypt, asynchronous) against the hash read in step 1;
   * 3. a right PIN clears the count and signs in (it says whether the PIN must be changed now: expired or first-time
   *    user), unless the mailbox was locked meanwhile (`locked`: a sign-in never lifts a lockout); a wrong PIN keeps
   *    its failure and applies its action: at MaxLogonAttempts the mailbox is locked; at each multiple of
   *    LogonFailuresBeforePINReset the PIN is reset to a generated one and mailed with the policy's ResetPINText
   *    [D-POL][E-RESET] (see {@link resetAfterFailures}).
   * With `seen` (the row this call read at the extension prompt), the usual case takes one step instead of three
   * (issue 20: one round trip to PostgreSQL, and no write at all for a right PIN with no failures counted): the
   * attempt is admitted on `seen`'s counts, the PIN checked against `seen`'s hash, and the settled state stored by a
   * compare-and-set that succeeds only if no other attempt, reset or lockout touched the row since
   * ({@link MailboxRepository.compareAndSetLogonState}): then the attempt is exactly the one the three steps would
   * have counted, in the same order. When the row changed, that check's result is thrown away unseen and the
   * attempt goes through the three steps on the row read again. So the bound holds as outcomes: at most
   * MaxLogonAttempts attempts between two successes get an answer other than `locked` (a discarded check answers
   * nothing, and takes as long whatever the PIN).
   * Nothing here logs or returns the PIN.
   * @param identity the mailbox; @param pin the digits the caller typed
   * @param seen the mailbox as this call read it a moment ago (at the extension or the own-number lookup), when it
   *   has it. A locked one is read again (an administrator may have unlocked it since).
   * @returns `ok`, `locked` (refused, no PIN check counted), or `failed` with the sequential failure count and its
   *   action (`retry`, `reset`, `lockout`)
   * @throws VaError VA_ERR_NOT_FOUND; VA_ERR_MAIL_SEND when the reset's mail could not be sent (the failure is
   *   counted, the PIN unchanged)
   */
  async signIn(identity: string, pin: string, seen?: Mailbox): Promise<SignInResult> {
    if (seen && !seen.lockedOut && seen.identity === identity) {
      const settled = await this.signInAsSeen(seen, pin);
      if (settled) return settled;
    }
    const m0 = await this.store.getMailbox(identity);
    const policy = await this.store.getPolicy(m0.policy);
    // Each write hands the store the row as last seen, so a compare-and-set store (PostgreSQL) need not read it
    // again: three round trips when no other call interferes.
    const admission = await this.store.updateLogonFailures(
      m0.identity,
      (m) => {
        const a = admitLogonAttempt({ failures: m.logonFailures, lockedOut: m.lockedOut }, policy);
        return { ...a.next, admission: a, mailbox: m };
      },
      m0,
    );
    const a = admission.admission;
    if (!a.admitted) return { outcome: 'locked' };
    const m = admission.mailbox;
    const written: Mailbox = { ...m, logonFailures: admission.failures, lockedOut: admission.lockedOut ?? m.lockedOut };
    const attempt = a.attempt;
    if (await verifyPin(pin, m.pinHash)) {
      const r = await this.store.updateLogonFailures(
        m.identity,
        (cur) => {
          const s = settleRightPin({ failures: cur.logonFailures, lockedOut: cur.lockedOut });
          return { ...s.next, signedIn: s.signedIn };
        },
        written,
      );
      if (!r.signedIn) return { outcome: 'locked' };
      return this.signedIn(m, policy);
    }
    const { outcome: out } = await this.store.updateLogonFailures(
      m.identity,
      (cur) => {
        const s = settleWrongPin({ failures: cur.logonFailures, lockedOut: cur.lockedOut }, attempt);
        return { ...s.next, outcome: s.outcome };
      },
      written,
    );
    return this.failed(out, m, policy);
  }

  /** A right PIN's result; the policy is in hand, so the effective PinExpired (PINLifetime) needs no store read. */
  private signedIn(m: Mailbox, policy: MailboxPolicy): SignInResult {
    const expired = isPinExpired(m.pinExpired, m.pinSetAt, policy.pinLifetimeDays, this.store.now());
    return { outcome: 'ok', mailbox: m, mustChangePin: expired || m.firstTimeUser, firstTimeUser: m.firstTimeUser };
  }

  /** A wrong PIN's result, after its action: a `reset` is carried out here ({@link resetAfterFailures}). */
  private async failed(out: LogonFailureOutcome, m: Mailbox, policy: MailboxPolicy): Promise<SignInResult> {
    const action = out.action === 'reset' ? await this.resetAfterFailures(m, policy) : out.action;
    return { outcome: 'failed', failures: out.failures, action };
  }

  /**
   * The one-step sign-in on the row the call read (see {@link signIn}): admit on its counts, check its hash, and
   * store the settled state if the row is unchanged.
   * @returns the result, or null when the row changed since `seen` (or its count already stands at
   *   MaxLogonAttempts): the check's result is discarded and the caller goes through the three steps
   */
  private async signInAsSeen(seen: Mailbox, pin: string): Promise<SignInResult | null> {
    const policy = await this.store.getPolicy(seen.policy);
    const a = admitLogonAttempt({ failures: seen.logonFailures, lockedOut: seen.lockedOut }, policy);
    if (!a.admitted) return null;
    const right = await verifyPin(pin, seen.pinHash);
    if (right) {
      if (!(await this.store.compareAndSetLogonState(seen, settleRightPin(a.next).next))) return null;
      return this.signedIn(seen, policy);
    }
    const wrong = settleWrongPin(a.next, a.attempt);
    if (!(await this.store.compareAndSetLogonState(seen, wrong.next))) return null;
    return this.failed(wrong.outcome, seen, policy);
  }

  /**
   * The automatic PIN reset at LogonFailuresBeforePINReset sequential failures ([D-POL][E-RESET]): a generated PIN,
   * mailed to the user with the policy's ResetPINText, then stored. Mail first: a PIN nobody received must not
   * replace the one the user knows (VA_ERR_MAIL_SEND propagates, nothing is stored). The store then writes only the
   * PIN ({@link MailboxRepository.replacePinHash}): the failure count keeps running toward MaxLogonAttempts
   * (`domain/logon-failures.ts`) and a lockout recorded meanwhile by another call stays. Our choice where the sources
   * are silent (issue 19): a mailbox locked meanwhile gets no new PIN (no mail when the lockout came before it; the
   * administrator who unlocks it sets a PIN anyway, Set-UMMailboxPIN [D-SETPIN]), and a PIN changed meanwhile (an
   * administrator's) is not overwritten.
   * @param m the mailbox as read when the attempt was admitted (its `pinHash` is the PIN the reset replaces)
   * @returns the action the caller hears: `reset` (a new PIN was mailed and stored), `lockout` (locked meanwhile),
   *   or `retry` (the PIN was changed meanwhile by someone else)
   * @throws VaError VA_ERR_MAIL_SEND
   */
  private async resetAfterFailures(m: Mailbox, policy: MailboxPolicy): Promise<LogonFailureAction> {
    const before = await this.store.getMailbox(m.identity);
    if (before.lockedOut) return 'lockout';
    if (before.pinHash !== m.pinHash) return 'retry';
    const pinNew = generatePin(policy, m.extension);
    const hash = await hashPin(pinNew, this.store.pinHashCost);
    await this.mailPin(m, policy.resetPinText, pinNew, m.identity, true);
    const r = await this.store.replacePinHash(m.identity, hash, { expired: true, ifPinHash: m.pinHash });
    return r === 'replaced' ? 'reset' : r === 'locked' ? 'lockout' : 'retry';
  }

  private async mailPin(m: Mailbox, resetPinText: string, pin: string, to: string, mustChange: boolean): Promise<void> {
    const plan = await this.store.getDialPlan(m.dialPlan);
    const access = plan.accessNumbers.length ? `\nOutlook Voice Access number: ${plan.accessNumbers.join(', ')}` : '';
    const intro = resetPinText || 'Your voice mail PIN has been reset.';
    await this.mailer.send({
      to,
      subject: 'Your voice mail PIN',
      text: `${intro}\n\nMailbox: ${m.displayName} (extension ${m.extension})${access}\nPIN: ${pin}\n${
        mustChange ? '\nYou will be asked to change this PIN when you next sign in by phone.\n' : ''
      }`,
    });
  }
}
