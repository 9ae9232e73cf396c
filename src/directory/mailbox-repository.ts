/**
 * SqliteMailboxRepository: UM-enabled mailboxes with their PIN state and PIN history in SQLite (the `mailboxes` and
 * `pin_history` tables). PINs are stored only as hashes (see `domain/pin-hash.ts`); nothing here accepts or returns
 * a plaintext PIN. Every read-modify-write is one IMMEDIATE transaction, so concurrent calls on this process or
 * another one sharing the data folder never lose a failure or a lockout (issue 19).
 *
 * The port is asynchronous; better-sqlite3 is not: each method does its whole work synchronously when called (one
 * transaction, no await inside it) and returns a settled promise. The `*Sync` methods are for other SQLite code that
 * composes them inside one of its own transactions (the directory import, the snapshots).
 */
import type Database from 'better-sqlite3';
import { ErrorCodes, VaError } from '../errors';
import type { Locale } from '../domain/locale';
import type { SmsNotificationOption } from '../domain/directory-objects';
import { isPinExpired } from '../domain/pin-policy';
import type {
  DirectoryFileMailbox,
  Mailbox,
  MailboxPatch,
  MailboxRepository,
  NewMailbox,
  PinReplacement,
  PinStatus,
} from '../ports/store/mailboxes';
import type { SqliteDirectoryObjectsRepository } from './directory-objects-repository';
import { notFound, type Row, type SqliteContext } from './sqlite-context';
import { mailboxRowOf, type MailboxRow } from './store-rows';

/**
 * The mailbox columns, in the order {@link toMailbox} reads them. Mailbox rows are read as arrays (better-sqlite3's
 * raw mode): a row object of sixteen columns cost twice the query, on every call.
 */
const MAILBOX_COLUMNS =
  'identity, display_name, extension, dial_plan, policy, pin_hash, pin_set_at, pin_expired, first_time_user, locked_out, logon_failures, sms_notification_option, mobile_number, language, greeting_file, name_file';

function toMailbox(r: unknown[]): Mailbox {
  return {
    identity: r[0] as string,
    displayName: r[1] as string,
    extension: r[2] as string,
    dialPlan: r[3] as string,
    policy: r[4] as string,
    pinHash: r[5] as string,
    pinSetAt: r[6] as number,
    pinExpired: r[7] === 1,
    firstTimeUser: r[8] === 1,
    lockedOut: r[9] === 1,
    logonFailures: r[10] as number,
    smsNotificationOption: r[11] as SmsNotificationOption,
    mobileNumber: (r[12] as string | null) ?? null,
    language: (r[13] as Locale | null) ?? null,
    greetingFile: (r[14] as string | null) ?? null,
    nameFile: (r[15] as string | null) ?? null,
  };
}

export type { MailboxRow } from './store-rows';

export class SqliteMailboxRepository implements MailboxRepository {
  /**
   * @param ctx the store's connection
   * @param directory the dial plans and policies a mailbox refers to (same connection)
   */
  constructor(
    private readonly ctx: SqliteContext,
    private readonly directory: Pick<SqliteDirectoryObjectsRepository, 'getDialPlanSync' | 'getPolicySync'>,
  ) {}

  /**
   * Inserts a mailbox row, its PIN set now, and its first PIN history entry (none for the `unset` hash). For the
   * directory import and the methods below; callers check the policy and extension first.
   * @throws VaError VA_ERR_ALREADY_EXISTS when the identity or the extension in its dial plan is taken
   */
  insert(m: MailboxRow): void {
    const now = this.ctx.now();
    try {
      this.ctx.sql(
          `INSERT INTO mailboxes (identity, display_name, extension, dial_plan, policy, pin_hash, pin_set_at, pin_expired,
             first_time_user, locked_out, sms_notification_option, mobile_number, language)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          m.identity,
          m.displayName,
          m.extension,
          m.dialPlan,
          m.policy,
          m.pinHash,
          now,
          m.pinExpired ? 1 : 0,
          m.firstTimeUser ? 1 : 0,
          m.lockedOut ? 1 : 0,
          m.smsNotificationOption,
          m.mobileNumber,
          m.language,
        );
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' || (err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new VaError(ErrorCodes.ALREADY_EXISTS, `${m.identity}: the mailbox or extension ${m.extension} already exists in ${m.dialPlan}`);
      }
      throw err;
    }
    if (m.pinHash !== 'unset') this.ctx.sql('INSERT INTO pin_history (identity, pin_hash, set_at) VALUES (?, ?, ?)').run(m.identity, m.pinHash, now);
  }

  /** A prepared mailbox query (`SELECT <columns> FROM mailboxes <where>`) that returns rows as arrays. */
  private mailboxQuery(where: string): Database.Statement {
    return this.ctx.sql(`SELECT ${MAILBOX_COLUMNS} FROM mailboxes ${where}`).raw(true);
  }

  /** All UM-enabled mailboxes, by identity. */
  async listMailboxes(): Promise<Mailbox[]> {
    return this.listMailboxesSync();
  }

  /** {@link listMailboxes}, synchronously (inside another transaction). */
  listMailboxesSync(): Mailbox[] {
    return (this.mailboxQuery('ORDER BY identity').all() as unknown[][]).map(toMailbox);
  }

  /** The mailbox, or undefined. Identity is case-insensitive. */
  async findMailbox(identity: string): Promise<Mailbox | undefined> {
    return this.findMailboxSync(identity);
  }

  /** {@link findMailbox}, synchronously. */
  private findMailboxSync(identity: string): Mailbox | undefined {
    const r = this.mailboxQuery('WHERE identity = ?').get(identity) as unknown[] | undefined;
    return r ? toMailbox(r) : undefined;
  }

  /** The mailbox. @throws VaError VA_ERR_NOT_FOUND */
  async getMailbox(identity: string): Promise<Mailbox> {
    return this.getMailboxSync(identity);
  }

  /** {@link getMailbox}, synchronously (inside a transaction). @throws VaError VA_ERR_NOT_FOUND */
  private getMailboxSync(identity: string): Mailbox {
    const m = this.findMailboxSync(identity);
    if (!m) throw notFound('UM-enabled mailbox', identity);
    return m;
  }

  /** The mailbox with this extension, in one dial plan or (when omitted) any. */
  async findMailboxByExtension(extension: string, dialPlan?: string): Promise<Mailbox | undefined> {
    return this.findMailboxByExtensionSync(extension, dialPlan);
  }

  /** {@link findMailboxByExtension}, synchronously. */
  private findMailboxByExtensionSync(extension: string, dialPlan?: string): Mailbox | undefined {
    const r = (
      dialPlan
        ? this.mailboxQuery('WHERE extension = ? AND dial_plan = ?').get(extension, dialPlan)
        : this.mailboxQuery('WHERE extension = ? ORDER BY identity LIMIT 1').get(extension)
    ) as unknown[] | undefined;
    return r ? toMailbox(r) : undefined;
  }

  /**
   * The mailbox whose mobile number or extension equals a caller's number, with or without its leading `+` (for the
   * own-phone shortcut).
   */
  async findMailboxByCaller(callerNumber: string): Promise<Mailbox | undefined> {
    const bare = callerNumber.replace(/^\+/, '');
    const r = this.mailboxQuery('WHERE mobile_number IN (?, ?) OR extension IN (?, ?) ORDER BY identity LIMIT 1').get(bare, callerNumber, bare, callerNumber) as
      | unknown[]
      | undefined;
    return r ? toMailbox(r) : undefined;
  }

  /**
   * UM-enables a mailbox (Enable-UMMailbox). The extension must have the dial plan's digit count.
   * @throws VaError VA_ERR_NOT_FOUND (policy), VA_ERR_ALREADY_EXISTS, VA_ERR_INVALID_SETTING (extension length)
   */
  async enableMailbox(m: NewMailbox): Promise<Mailbox> {
    return this.ctx.transaction(() => {
      const policy = this.directory.getPolicySync(m.policy);
      const plan = this.directory.getDialPlanSync(policy.dialPlan);
      if (!/^[0-9]+$/.test(m.extension) || m.extension.length !== plan.numberOfDigitsInExtension)
        throw new VaError(ErrorCodes.INVALID_SETTING, `Extensions: must be ${plan.numberOfDigitsInExtension} digits (dial plan ${plan.name})`);
      this.insert({
        ...m,
        dialPlan: plan.name,
        policy: policy.name,
        firstTimeUser: true,
        lockedOut: false,
        smsNotificationOption: 'None',
        mobileNumber: null,
        language: null,
      });
      return this.getMailboxSync(m.identity);
    });
  }

  /**
   * Adds a mailbox of a directory file with its initial state (Import-Directory: new mailboxes only). The PIN was
   * checked against the policy and hashed by the caller.
   * @param pinHash the initial PIN's hash, or `unset` for a mailbox without one
   * @throws VaError VA_ERR_NOT_FOUND (policy), VA_ERR_ALREADY_EXISTS, VA_ERR_INVALID_SETTING (extension length)
   */
  async addDirectoryMailbox(m: DirectoryFileMailbox, pinHash: string): Promise<Mailbox> {
    return this.ctx.transaction(() => {
      const policy = this.directory.getPolicySync(m.policy);
      const plan = this.directory.getDialPlanSync(policy.dialPlan);
      if (m.extension.length !== plan.numberOfDigitsInExtension)
        throw new VaError(ErrorCodes.INVALID_SETTING, `${m.identity}: the extension must have ${plan.numberOfDigitsInExtension} digits (dial plan ${plan.name})`);
      const taken = this.findMailboxByExtensionSync(m.extension, plan.name);
      if (taken) throw new VaError(ErrorCodes.ALREADY_EXISTS, `${m.identity}: extension ${m.extension} of dial plan ${plan.name} is already ${taken.identity}'s`);
      this.insert(mailboxRowOf(m, { dialPlan: plan.name, policy: policy.name }, pinHash));
      return this.getMailboxSync(m.identity);
    });
  }

  /** Removes UM from a mailbox (Disable-UMMailbox); its PIN history goes too, voice messages stay. @throws VaError VA_ERR_NOT_FOUND */
  async disableMailbox(identity: string): Promise<void> {
    const r = this.ctx.sql('DELETE FROM mailboxes WHERE identity = ?').run(identity);
    if (r.changes === 0) throw notFound('UM-enabled mailbox', identity);
  }

  /**
   * Changes per-mailbox settings (Set-UMMailbox, first-time setup, greeting files).
   * @throws VaError VA_ERR_NOT_FOUND
   */
  async updateMailbox(identity: string, patch: MailboxPatch): Promise<Mailbox> {
    return this.ctx.transaction(() => {
      const current = this.getMailboxSync(identity);
      const cols: Record<keyof MailboxPatch, string> = {
        displayName: 'display_name',
        smsNotificationOption: 'sms_notification_option',
        mobileNumber: 'mobile_number',
        language: 'language',
        policy: 'policy',
        firstTimeUser: 'first_time_user',
        greetingFile: 'greeting_file',
        nameFile: 'name_file',
      };
      if (patch.policy !== undefined) {
        const p = this.directory.getPolicySync(patch.policy);
        if (p.dialPlan.toLowerCase() !== current.dialPlan.toLowerCase())
          throw new VaError(ErrorCodes.INVALID_SETTING, `UMMailboxPolicy: ${p.name} belongs to dial plan ${p.dialPlan}, not ${current.dialPlan}`);
        patch = { ...patch, policy: p.name };
      }
      for (const [k, v] of Object.entries(patch) as [keyof MailboxPatch, unknown][]) {
        if (v === undefined) continue;
        const value = typeof v === 'boolean' ? (v ? 1 : 0) : v;
        this.ctx.sql(`UPDATE mailboxes SET ${cols[k]} = ? WHERE identity = ?`).run(value, current.identity);
      }
      return this.getMailboxSync(identity);
    });
  }

  /** The effective PIN state of a mailbox, PINLifetime included ([D-GETPIN]). @throws VaError VA_ERR_NOT_FOUND (policy) */
  async pinStatus(m: Mailbox): Promise<PinStatus> {
    const policy = this.directory.getPolicySync(m.policy);
    return {
      UserID: m.identity,
      PinExpired: isPinExpired(m.pinExpired, m.pinSetAt, policy.pinLifetimeDays, this.ctx.now()),
      FirstTimeUser: m.firstTimeUser,
      LockedOut: m.lockedOut,
    };
  }

  /** The last `count` PIN hashes of a mailbox, newest first (the current PIN included). */
  async pinHistory(identity: string, count: number): Promise<string[]> {
    return (
      this.ctx.sql('SELECT pin_hash FROM pin_history WHERE identity = ? ORDER BY id DESC LIMIT ?').all(identity, count) as Row[]
    ).map((r) => r.pin_hash as string);
  }

  /**
   * Stores a new PIN hash: sets PinExpired, clears the failure count, sets or clears the lockout, and appends to
   * the PIN history (trimmed to the 20 newest, PINHistoryCount's maximum).
   * @throws VaError VA_ERR_NOT_FOUND
   */
  async setPinHash(identity: string, pinHash: string, opts: { expired: boolean; lockedOut: boolean }): Promise<void> {
    this.ctx.transaction(() => {
      const m = this.getMailboxSync(identity);
      const now = this.ctx.now();
      this.ctx.sql('UPDATE mailboxes SET pin_hash = ?, pin_set_at = ?, pin_expired = ?, locked_out = ?, logon_failures = 0 WHERE identity = ?')
        .run(pinHash, now, opts.expired ? 1 : 0, opts.lockedOut ? 1 : 0, m.identity);
      this.appendPinHistory(m.identity, pinHash, now);
    });
  }

  /**
   * Stores the PIN hash of an automatic PIN reset (LogonFailuresBeforePINReset, [D-POL][E-RESET]): sets only the
   * hash, its set time, PinExpired and the PIN history; the lockout and the failure count are left as they are, so
   * the reset never lifts a lockout nor lowers the count toward MaxLogonAttempts (issue 19). Checked and written in
   * one IMMEDIATE transaction: nothing is written when the mailbox is locked (the administrator who unlocks it sets
   * a new PIN anyway, Set-UMMailboxPIN [D-SETPIN]) or when its PIN is no longer `ifPinHash` (an administrator, or
   * another reset, changed it meanwhile: that PIN stands).
   * @param pinHash the new hash; @param opts.ifPinHash the hash the reset replaces
   * @returns `replaced`, or why not: `locked` or `pin-changed`
   * @throws VaError VA_ERR_NOT_FOUND
   */
  async replacePinHash(identity: string, pinHash: string, opts: { expired: boolean; ifPinHash: string }): Promise<PinReplacement> {
    return this.ctx.transaction((): PinReplacement => {
      const m = this.getMailboxSync(identity);
      if (m.lockedOut) return 'locked';
      if (m.pinHash !== opts.ifPinHash) return 'pin-changed';
      const now = this.ctx.now();
      this.ctx.sql('UPDATE mailboxes SET pin_hash = ?, pin_set_at = ?, pin_expired = ? WHERE identity = ?').run(pinHash, now, opts.expired ? 1 : 0, m.identity);
      this.appendPinHistory(m.identity, pinHash, now);
      return 'replaced';
    });
  }

  /** Appends a PIN hash to the history, trimmed to the 20 newest (PINHistoryCount's maximum). In a transaction. */
  private appendPinHistory(identity: string, pinHash: string, now: number): void {
    this.ctx.sql('INSERT INTO pin_history (identity, pin_hash, set_at) VALUES (?, ?, ?)').run(identity, pinHash, now);
    this.ctx.sql('DELETE FROM pin_history WHERE identity = ? AND id NOT IN (SELECT id FROM pin_history WHERE identity = ? ORDER BY id DESC LIMIT 20)')
      .run(identity, identity);
  }

  /** Sets or clears the lockout without touching the PIN. @throws VaError VA_ERR_NOT_FOUND */
  async setLockedOut(identity: string, lockedOut: boolean): Promise<void> {
    const r = this.ctx.sql('UPDATE mailboxes SET locked_out = ?, logon_failures = CASE WHEN ? = 0 THEN 0 ELSE logon_failures END WHERE identity = ?')
      .run(lockedOut ? 1 : 0, lockedOut ? 1 : 0, identity);
    if (r.changes === 0) throw notFound('UM-enabled mailbox', identity);
  }

  /**
   * Clears the failure count after a successful sign-in, in one statement (atomic on its own): nothing is written when
   * the count is already 0, the usual case, so a sign-in costs no write transaction.
   */
  async clearLogonFailures(identity: string): Promise<void> {
    this.ctx.sql('UPDATE mailboxes SET logon_failures = 0 WHERE identity = ? AND logon_failures <> 0').run(identity);
  }

  /**
   * Atomically applies `decide` to the mailbox's current failure count and lockout and stores its result: the read
   * and the write are one IMMEDIATE transaction (which also waits for other processes on the data folder), so
   * concurrent calls, on this instance or another, never lose a failure or a lockout. `decide` must be synchronous
   * (no await between the read and the write: the whole transaction runs before this method returns its promise);
   * `lockedOut` omitted keeps the current value. Nothing is written when neither value changes.
   * @returns what `decide` returned
   * @throws VaError VA_ERR_NOT_FOUND
   */
  async updateLogonFailures<T extends { failures: number; lockedOut?: boolean }>(identity: string, decide: (m: Mailbox) => T): Promise<T> {
    return this.ctx.transaction(() => {
      const m = this.getMailboxSync(identity);
      const out = decide(m);
      const lockedOut = out.lockedOut ?? m.lockedOut;
      if (out.failures !== m.logonFailures || lockedOut !== m.lockedOut) {
        this.ctx.sql('UPDATE mailboxes SET logon_failures = ?, locked_out = ? WHERE identity = ?').run(out.failures, lockedOut ? 1 : 0, m.identity);
      }
      return out;
    });
  }

  /** {@inheritDoc MailboxRepository.compareAndSetLogonState} One transaction: read, compare, write when it differs. */
  async compareAndSetLogonState(seen: Mailbox, next: { failures: number; lockedOut: boolean }): Promise<boolean> {
    return this.ctx.transaction(() => {
      const m = this.findMailboxSync(seen.identity);
      if (!m || m.logonFailures !== seen.logonFailures || m.lockedOut !== seen.lockedOut || m.pinHash !== seen.pinHash) return false;
      if (next.failures !== m.logonFailures || next.lockedOut !== m.lockedOut) {
        this.ctx.sql('UPDATE mailboxes SET logon_failures = ?, locked_out = ? WHERE identity = ?').run(next.failures, next.lockedOut ? 1 : 0, m.identity);
      }
      return true;
    });
  }
}
