/**
 * PinService: mailbox PIN operations that combine the pure rules (`domain/`), the store and the mailer. Used by the
 * cmdlets (Set-UMMailboxPIN, Enable-UMMailbox) and by the sign-in and PIN-change flows.
 * No method logs or returns a PIN, except {@link PinService.setPin}'s result to the administrator who asked for it.
 */
import { ErrorCodes, VaError } from '../errors';
import { applyLogonFailure, type LogonFailureAction } from '../domain/logon-failures';
import { hashPin, verifyPin } from '../domain/pin-hash';
import { checkPin, generatePin, historyViolation, type PinViolation } from '../domain/pin-policy';
import type { Mailer } from '../ports/mailer';
import type { MailboxPolicy } from '../config/schema';
import type { DirectoryStore, Mailbox } from './store';

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

export class PinService {
  constructor(
    private readonly store: DirectoryStore,
    private readonly mailer: Mailer,
  ) {}

  /**
   * Sets or resets a mailbox PIN as an administrator (Set-UMMailboxPIN, [D-SETPIN]): checks a given PIN against the
   * policy rules (length, patterns, extension tail) or generates one, stores its hash, clears the failure count,
   * sets PinExpired (default true) and the lockout (default: unlocked), and mails the PIN (default on).
   * Validation happens before any change: a refused PIN changes nothing.
   * @throws VaError VA_ERR_NOT_FOUND, VA_ERR_PIN_POLICY (says which rule), VA_ERR_MAIL_SEND (nothing was changed)
   */
  async setPin(identity: string, opts: SetPinOptions = {}): Promise<SetPinResult> {
    const m = this.store.getMailbox(identity);
    const policy = this.store.getPolicy(m.policy);
    const pin = choosePin(opts.pin, policy, m.extension);
    const hash = await hashPin(pin, this.store.pinHashCost);
    const result: SetPinResult = { identity: m.identity, generated: opts.pin === undefined };
    // Mail first: when delivery fails nothing has changed, so a generated PIN that nobody received never
    // replaces the PIN the user knows.
    if (opts.sendEmail ?? true) {
      const to = opts.notifyEmail ?? m.identity;
      await this.mailPin(m, policy.resetPinText, pin, to, opts.pinExpired ?? true);
      result.emailedTo = to;
    }
    this.store.setPinHash(m.identity, hash, { expired: opts.pinExpired ?? true, lockedOut: opts.lockedOut ?? false });
    return result;
  }

  /**
   * UM-enables a mailbox with a given or generated PIN (Enable-UMMailbox [E-ENABLE]) and mails the PIN to the user
   * (or `notifyEmail`). The PIN is checked against the policy before anything is created.
   * @throws VaError VA_ERR_NOT_FOUND (policy), VA_ERR_ALREADY_EXISTS, VA_ERR_INVALID_SETTING, VA_ERR_PIN_POLICY,
   *   VA_ERR_MAIL_SEND (the mailbox was enabled)
   */
  async enableMailbox(m: { identity: string; displayName: string; extension: string; policy: string }, opts: SetPinOptions = {}): Promise<SetPinResult> {
    const policy = this.store.getPolicy(m.policy);
    const pin = choosePin(opts.pin, policy, m.extension);
    const hash = await hashPin(pin, this.store.pinHashCost);
    const created = this.store.enableMailbox({ ...m, pinHash: hash, pinExpired: opts.pinExpired ?? true });
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
    const m = this.store.getMailbox(identity);
    const policy = this.store.getPolicy(m.policy);
    const v = checkPin(pin, policy, m.extension);
    if (v) return v;
    for (const h of this.store.pinHistory(m.identity, policy.pinHistoryCount)) {
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
    this.store.setPinHash(identity, hash, { expired: false, lockedOut: false });
    return null;
  }

  /**
   * One sign-in attempt. A locked mailbox is refused before the PIN is checked. A wrong PIN counts toward the
   * cross-call limits (`domain/logon-failures.ts`): at LogonFailuresBeforePINReset the PIN is reset to a generated
   * one and mailed with the policy's ResetPINText; at MaxLogonAttempts the mailbox is locked. A right PIN clears
   * the count and says whether the PIN must be changed now (expired or first-time user).
   */
  async signIn(identity: string, pin: string): Promise<SignInResult> {
    const m = this.store.getMailbox(identity);
    if (m.lockedOut) return { outcome: 'locked' };
    if (await verifyPin(pin, m.pinHash)) {
      // A count already at zero needs no write (most sign-ins); a failure recorded meanwhile by another call stays.
      if (m.logonFailures !== 0) this.store.clearLogonFailures(m.identity);
      const status = this.store.pinStatus(m);
      return { outcome: 'ok', mailbox: m, mustChangePin: status.PinExpired || m.firstTimeUser, firstTimeUser: m.firstTimeUser };
    }
    const policy = this.store.getPolicy(m.policy);
    const out = this.store.updateLogonFailures(m.identity, (cur) => {
      const o = applyLogonFailure(cur.logonFailures, policy);
      return { ...o, lockedOut: o.action === 'lockout' };
    });
    if (out.action === 'reset') {
      const pinNew = generatePin(policy, m.extension);
      const hash = await hashPin(pinNew, this.store.pinHashCost);
      // Mail first (a PIN nobody received must not replace the old one; VA_ERR_MAIL_SEND propagates), then store,
      // keeping the running failure count: the lockout still comes at MaxLogonAttempts (logon-failures.ts).
      await this.mailPin(m, policy.resetPinText, pinNew, m.identity, true);
      this.store.transaction(() => {
        const failures = this.store.getMailbox(m.identity).logonFailures;
        this.store.setPinHash(m.identity, hash, { expired: true, lockedOut: false });
        this.store.updateLogonFailures(m.identity, () => ({ failures }));
      });
    }
    return { outcome: 'failed', failures: out.failures, action: out.action };
  }

  private async mailPin(m: Mailbox, resetPinText: string, pin: string, to: string, mustChange: boolean): Promise<void> {
    const plan = this.store.getDialPlan(m.dialPlan);
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
