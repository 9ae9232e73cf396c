/**
 * PgMailboxRepository: UM-enabled mailboxes with their PIN state and PIN history on PostgreSQL (the `mailboxes` and
 * `pin_history` tables of `../migrations.ts`). Same behaviour as the SQLite repository (`../mailbox-repository.ts`);
 * what differs is how a read-modify-write stays atomic across instances on several machines: it runs in one
 * transaction that locks the mailbox's row first (`SELECT ... FOR UPDATE`), or, for the logon-failure count that
 * every sign-in changes, one compare-and-set `UPDATE` retried on a lost race; either way a second instance checking a
 * wrong PIN for the same mailbox sees the first one's count (issue 20: MaxLogonAttempts caps the guesses across all
 * instances). PINs are stored only as hashes; nothing here accepts or returns a plaintext PIN.
 */
import type pg from 'pg';
import { ErrorCodes, VaError } from '../../errors';
import type { Locale } from '../../domain/locale';
import type { SmsNotificationOption } from '../../domain/directory-objects';
import { isPinExpired } from '../../domain/pin-policy';
import type { DirectoryObjectsReader } from '../../ports/store/directory-objects';
import type {
  DirectoryFileMailbox,
  Mailbox,
  MailboxPatch,
  MailboxRepository,
  NewMailbox,
  PinReplacement,
  PinStatus,
} from '../../ports/store/mailboxes';
import { mailboxRowOf, notFound, type MailboxRow } from '../store-rows';
import type { PgContext, Queryable, Row } from './pg-context';

const COLUMNS =
  'identity::text AS identity, display_name, extension, dial_plan::text AS dial_plan, policy::text AS policy, pin_hash, pin_set_at, pin_expired, first_time_user, locked_out, logon_failures, sms_notification_option, mobile_number, language, greeting_file, name_file';

function toMailbox(r: Row): Mailbox {
  return {
    identity: r.identity as string,
    displayName: r.display_name as string,
    extension: r.extension as string,
    dialPlan: r.dial_plan as string,
    policy: r.policy as string,
    pinHash: r.pin_hash as string,
    pinSetAt: r.pin_set_at as number,
    pinExpired: r.pin_expired as boolean,
    firstTimeUser: r.first_time_user as boolean,
    lockedOut: r.locked_out as boolean,
    logonFailures: r.logon_failures as number,
    smsNotificationOption: r.sms_notification_option as SmsNotificationOption,
    mobileNumber: (r.mobile_number as string | null) ?? null,
    language: (r.language as Locale | null) ?? null,
    greetingFile: (r.greeting_file as string | null) ?? null,
    nameFile: (r.name_file as string | null) ?? null,
  };
}


/** How many PIN hashes a mailbox's history keeps (PINHistoryCount's maximum). */
const HISTORY_KEPT = 20;

export class PgMailboxRepository implements MailboxRepository {
  /**
   * @param ctx the store's pool
   * @param directory the dial plans and policies a mailbox refers to
   */
  constructor(
    private readonly ctx: PgContext,
    private readonly directory: Pick<DirectoryObjectsReader, 'getDialPlan' | 'getPolicy'>,
  ) {}

  /**
   * Inserts a mailbox row, its PIN set now, and its first PIN history entry (none for the `unset` hash), on `on` (a
   * connection in the caller's transaction).
   * @throws VaError VA_ERR_ALREADY_EXISTS when the identity or the extension in its dial plan is taken
   */
  async insert(m: MailboxRow, on: Queryable): Promise<void> {
    const now = this.ctx.now();
    try {
      await on.query(
        `INSERT INTO mailboxes (identity, display_name, extension, dial_plan, policy, pin_hash, pin_set_at, pin_expired,
           first_time_user, locked_out, sms_notification_option, mobile_number, language)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [m.identity, m.displayName, m.extension, m.dialPlan, m.policy, m.pinHash, now, m.pinExpired, m.firstTimeUser, m.lockedOut, m.smsNotificationOption, m.mobileNumber, m.language],
      );
    } catch (err) {
      if ((err as { code?: string }).code === '23505')
        throw new VaError(ErrorCodes.ALREADY_EXISTS, `${m.identity}: the mailbox or extension ${m.extension} already exists in ${m.dialPlan}`);
      throw err;
    }
    if (m.pinHash !== 'unset') await on.query('INSERT INTO pin_history (identity, pin_hash, set_at) VALUES ($1, $2, $3)', [m.identity, m.pinHash, now]);
  }

  private async one(where: string, values: unknown[], on?: Queryable): Promise<Mailbox | undefined> {
    const r = await this.ctx.row(`SELECT ${COLUMNS} FROM mailboxes ${where}`, values, on);
    return r ? toMailbox(r) : undefined;
  }

  /** The mailbox's row, locked until the transaction of `c` ends. @throws VaError VA_ERR_NOT_FOUND */
  private async locked(c: pg.PoolClient, identity: string): Promise<Mailbox> {
    const m = await this.one('WHERE identity = $1 FOR UPDATE', [identity], c);
    if (!m) throw notFound('UM-enabled mailbox', identity);
    return m;
  }

  async listMailboxes(): Promise<Mailbox[]> {
    return (await this.ctx.rows(`SELECT ${COLUMNS} FROM mailboxes ORDER BY identity`)).map(toMailbox);
  }

  findMailbox(identity: string): Promise<Mailbox | undefined> {
    return this.one('WHERE identity = $1', [identity]);
  }

  async getMailbox(identity: string): Promise<Mailbox> {
    const m = await this.findMailbox(identity);
    if (!m) throw notFound('UM-enabled mailbox', identity);
    return m;
  }

  findMailboxByExtension(extension: string, dialPlan?: string): Promise<Mailbox | undefined> {
    return dialPlan
      ? this.one('WHERE extension = $1 AND dial_plan = $2', [extension, dialPlan])
      : this.one('WHERE extension = $1 ORDER BY identity LIMIT 1', [extension]);
  }

  findMailboxByCaller(callerNumber: string): Promise<Mailbox | undefined> {
    const bare = callerNumber.replace(/^\+/, '');
    return this.one('WHERE mobile_number IN ($1, $2) OR extension IN ($1, $2) ORDER BY identity LIMIT 1', [bare, callerNumber]);
  }

  async enableMailbox(m: NewMailbox): Promise<Mailbox> {
    const policy = await this.directory.getPolicy(m.policy);
    const plan = await this.directory.getDialPlan(policy.dialPlan);
    if (!/^[0-9]+$/.test(m.extension) || m.extension.length !== plan.numberOfDigitsInExtension)
      throw new VaError(ErrorCodes.INVALID_SETTING, `Extensions: must be ${plan.numberOfDigitsInExtension} digits (dial plan ${plan.name})`);
    await this.ctx.tx((c) =>
      this.insert(
        { ...m, dialPlan: plan.name, policy: policy.name, firstTimeUser: true, lockedOut: false, smsNotificationOption: 'None', mobileNumber: null, language: null },
        c,
      ),
    );
    return this.getMailbox(m.identity);
  }

  async addDirectoryMailbox(m: DirectoryFileMailbox, pinHash: string): Promise<Mailbox> {
    const policy = await this.directory.getPolicy(m.policy);
    const plan = await this.directory.getDialPlan(policy.dialPlan);
    if (m.extension.length !== plan.numberOfDigitsInExtension)
      throw new VaError(ErrorCodes.INVALID_SETTING, `${m.identity}: the extension must have ${plan.numberOfDigitsInExtension} digits (dial plan ${plan.name})`);
    await this.ctx.tx(async (c) => {
      const taken = await this.one('WHERE extension = $1 AND dial_plan = $2', [m.extension, plan.name], c);
      if (taken) throw new VaError(ErrorCodes.ALREADY_EXISTS, `${m.identity}: extension ${m.extension} of dial plan ${plan.name} is already ${taken.identity}'s`);
      await this.insert(mailboxRowOf(m, { dialPlan: plan.name, policy: policy.name }, pinHash), c);
    });
    return this.getMailbox(m.identity);
  }

  async disableMailbox(identity: string): Promise<void> {
    const r = await this.ctx.query('DELETE FROM mailboxes WHERE identity = $1', [identity]);
    if (r.rowCount === 0) throw notFound('UM-enabled mailbox', identity);
  }

  async updateMailbox(identity: string, patch: MailboxPatch): Promise<Mailbox> {
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
    return this.ctx.tx(async (c) => {
      const current = await this.locked(c, identity);
      if (patch.policy !== undefined) {
        const p = await this.directory.getPolicy(patch.policy);
        if (p.dialPlan.toLowerCase() !== current.dialPlan.toLowerCase())
          throw new VaError(ErrorCodes.INVALID_SETTING, `UMMailboxPolicy: ${p.name} belongs to dial plan ${p.dialPlan}, not ${current.dialPlan}`);
        patch = { ...patch, policy: p.name };
      }
      const sets: string[] = [];
      const values: unknown[] = [];
      for (const [k, v] of Object.entries(patch) as [keyof MailboxPatch, unknown][]) {
        if (v === undefined) continue;
        values.push(v);
        sets.push(`${cols[k]} = $${values.length}`);
      }
      if (sets.length) {
        values.push(current.identity);
        await c.query(`UPDATE mailboxes SET ${sets.join(', ')} WHERE identity = $${values.length}`, values);
      }
      return (await this.one('WHERE identity = $1', [current.identity], c))!;
    });
  }

  async pinStatus(m: Mailbox): Promise<PinStatus> {
    const policy = await this.directory.getPolicy(m.policy);
    return {
      UserID: m.identity,
      PinExpired: isPinExpired(m.pinExpired, m.pinSetAt, policy.pinLifetimeDays, this.ctx.now()),
      FirstTimeUser: m.firstTimeUser,
      LockedOut: m.lockedOut,
    };
  }

  async pinHistory(identity: string, count: number): Promise<string[]> {
    return (await this.ctx.rows<{ pin_hash: string }>('SELECT pin_hash FROM pin_history WHERE identity = $1 ORDER BY id DESC LIMIT $2', [identity, count])).map(
      (r) => r.pin_hash,
    );
  }

  async setPinHash(identity: string, pinHash: string, opts: { expired: boolean; lockedOut: boolean }): Promise<void> {
    await this.ctx.tx(async (c) => {
      const m = await this.locked(c, identity);
      const now = this.ctx.now();
      await c.query('UPDATE mailboxes SET pin_hash = $1, pin_set_at = $2, pin_expired = $3, locked_out = $4, logon_failures = 0 WHERE identity = $5', [
        pinHash,
        now,
        opts.expired,
        opts.lockedOut,
        m.identity,
      ]);
      await this.appendPinHistory(c, m.identity, pinHash, now);
    });
  }

  /**
   * The automatic PIN reset's write ({@link MailboxRepository.replacePinHash}): under the row lock, nothing is written
   * when the mailbox is locked or its PIN is no longer `ifPinHash`.
   */
  replacePinHash(identity: string, pinHash: string, opts: { expired: boolean; ifPinHash: string }): Promise<PinReplacement> {
    return this.ctx.tx(async (c) => {
      const m = await this.locked(c, identity);
      if (m.lockedOut) return 'locked';
      if (m.pinHash !== opts.ifPinHash) return 'pin-changed';
      const now = this.ctx.now();
      await c.query('UPDATE mailboxes SET pin_hash = $1, pin_set_at = $2, pin_expired = $3 WHERE identity = $4', [pinHash, now, opts.expired, m.identity]);
      await this.appendPinHistory(c, m.identity, pinHash, now);
      return 'replaced';
    });
  }

  private async appendPinHistory(c: pg.PoolClient, identity: string, pinHash: string, now: number): Promise<void> {
    await c.query('INSERT INTO pin_history (identity, pin_hash, set_at) VALUES ($1, $2, $3)', [identity, pinHash, now]);
    await c.query(
      `DELETE FROM pin_history WHERE identity = $1 AND id NOT IN (SELECT id FROM pin_history WHERE identity = $1 ORDER BY id DESC LIMIT ${HISTORY_KEPT})`,
      [identity],
    );
  }

  async setLockedOut(identity: string, lockedOut: boolean): Promise<void> {
    const r = await this.ctx.query(
      'UPDATE mailboxes SET locked_out = $1, logon_failures = CASE WHEN $1 THEN logon_failures ELSE 0 END WHERE identity = $2',
      [lockedOut, identity],
    );
    if (r.rowCount === 0) throw notFound('UM-enabled mailbox', identity);
  }

  async clearLogonFailures(identity: string): Promise<void> {
    await this.ctx.query('UPDATE mailboxes SET logon_failures = 0 WHERE identity = $1 AND logon_failures <> 0', [identity]);
  }

  /**
   * Applies `decide` to the mailbox's current failure count and lockout and stores its result as one compare-and-set:
   * `UPDATE ... WHERE` the count, the lockout and the PIN hash are still what `decide` saw. When another instance
   * changed them in between, nothing is written and `decide` runs again on the new values, so no failure or lockout
   * is ever lost (issue 20: MaxLogonAttempts caps the guesses across all instances), and a PIN check never uses a
   * hash replaced meanwhile (an administrator's reset). Two round trips and no lock held across them: concurrent
   * sign-ins to one mailbox do not queue behind each other's transactions. With `seen` (the row as the caller just
   * read it), the first try skips the read: one round trip when nothing changed meanwhile.
   * @throws VaError VA_ERR_NOT_FOUND; VA_ERR_STORE_UNAVAILABLE after 100 lost races in a row
   */
  async updateLogonFailures<T extends { failures: number; lockedOut?: boolean }>(identity: string, decide: (m: Mailbox) => T, seen?: Mailbox): Promise<T> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const m = attempt === 0 && seen ? seen : await this.getMailbox(identity);
      const out = decide(m);
      const lockedOut = out.lockedOut ?? m.lockedOut;
      if (out.failures === m.logonFailures && lockedOut === m.lockedOut) return out;
      if (await this.compareAndSetLogonState(m, { failures: out.failures, lockedOut })) return out;
    }
    throw new VaError(ErrorCodes.STORE_UNAVAILABLE, `${identity}: the logon-failure count kept changing under 100 attempts to update it`);
  }

  /**
   * {@inheritDoc MailboxRepository.compareAndSetLogonState} One round trip: an `UPDATE ... WHERE` the counts and the
   * PIN hash are still `seen`'s, or, when `next` changes nothing, a `SELECT` with the same condition (no write, so
   * no change notification to the other instances).
   */
  async compareAndSetLogonState(seen: Mailbox, next: { failures: number; lockedOut: boolean }): Promise<boolean> {
    if (next.failures === seen.logonFailures && next.lockedOut === seen.lockedOut) {
      const r = await this.ctx.query('SELECT 1 FROM mailboxes WHERE identity = $1 AND logon_failures = $2 AND locked_out = $3 AND pin_hash = $4', [
        seen.identity,
        seen.logonFailures,
        seen.lockedOut,
        seen.pinHash,
      ]);
      return r.rowCount === 1;
    }
    const r = await this.ctx.query(
      'UPDATE mailboxes SET logon_failures = $1, locked_out = $2 WHERE identity = $3 AND logon_failures = $4 AND locked_out = $5 AND pin_hash = $6',
      [next.failures, next.lockedOut, seen.identity, seen.logonFailures, seen.lockedOut, seen.pinHash],
    );
    return r.rowCount === 1;
  }
}
