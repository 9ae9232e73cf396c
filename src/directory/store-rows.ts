/**
 * What both store adapters (SQLite and PostgreSQL) build the same way: the errors a repository throws, the row of a
 * new mailbox from a directory file's entry, a notification row from its columns, and the cache of parsed settings.
 */
import type { z } from 'zod';
import { describeIssues } from '../config/load';
import { ErrorCodes, VaError } from '../errors';
import type { Locale } from '../domain/locale';
import type { SmsNotificationOption } from '../domain/directory-objects';
import type { Mailbox } from '../ports/store/mailboxes';
import type { NotificationKind, NotificationRow, NotificationStatus } from '../ports/store/notifications';

/** Validates a settings object with a zod schema, naming the entity and the bad key on failure. @throws VaError VA_ERR_INVALID_SETTING */
export function validated<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new VaError(ErrorCodes.INVALID_SETTING, `${what}: ${describeIssues(r.error.issues)}`);
  return r.data;
}

/** The VA_ERR_NOT_FOUND error for an object of a kind (`UM dial plan`, `UM-enabled mailbox`...). */
export function notFound(kind: string, name: string): VaError {
  return new VaError(ErrorCodes.NOT_FOUND, `no ${kind} "${name}"`);
}

/** A new mailbox row: everything but what the insert sets itself (PIN set time, failure count, greeting files). */
export type MailboxRow = Omit<Mailbox, 'pinSetAt' | 'logonFailures' | 'greetingFile' | 'nameFile'>;

/** A mailbox as a directory file (or Import-Directory) gives it, with its initial state. */
export interface MailboxEntryLike {
  identity: string;
  displayName: string;
  extension: string;
  pinExpired: boolean;
  firstTimeUser: boolean;
  lockedOut: boolean;
  smsNotificationOption: SmsNotificationOption;
  mobileNumber?: string | null;
  language?: Locale | null;
}

/**
 * The row of a directory file's mailbox, in its dial plan and policy (their stored names), with its first PIN's hash
 * (`unset` for a mailbox without one).
 */
export function mailboxRowOf(m: MailboxEntryLike, where: { dialPlan: string; policy: string }, pinHash: string): MailboxRow {
  return {
    identity: m.identity,
    displayName: m.displayName,
    extension: m.extension,
    dialPlan: where.dialPlan,
    policy: where.policy,
    pinHash,
    pinExpired: m.pinExpired,
    firstTimeUser: m.firstTimeUser,
    lockedOut: m.lockedOut,
    smsNotificationOption: m.smsNotificationOption,
    mobileNumber: m.mobileNumber ?? null,
    language: m.language ?? null,
  };
}

/** A `notifications` row (columns as named in the schema) as the port's {@link NotificationRow}. */
export function toNotificationRow(r: Record<string, unknown>): NotificationRow {
  return {
    id: r.id as number,
    kind: r.kind as NotificationKind,
    identity: r.identity as string,
    payload: r.payload as string,
    status: r.status as NotificationStatus,
    attempts: r.attempts as number,
    createdAt: r.created_at as number,
    nextAttemptAt: r.next_attempt_at as number,
    sentAt: (r.sent_at as number | null) ?? null,
    lastError: (r.last_error as string | null) ?? null,
    claimedBy: (r.claimed_by as string | null) ?? null,
    claimedUntil: (r.claimed_until as number | null) ?? null,
  };
}

/**
 * Parsed settings by their stored JSON, so repeated reads of a policy or dial plan skip JSON and zod. The result is
 * frozen: callers copy before changing. A change stores new JSON, so the cache never serves stale settings.
 */
export class ParsedSettings {
  private readonly parsed = new Map<string, unknown>();

  /** The settings of `json`, parsed with `schema` once per kind and distinct text. */
  parse<T extends object>(kind: string, schema: { parse(v: unknown): T }, json: string): T {
    const key = `${kind}|${json}`;
    let v = this.parsed.get(key) as T | undefined;
    if (v === undefined) {
      v = Object.freeze(schema.parse(JSON.parse(json)));
      if (this.parsed.size > 1000) this.parsed.clear();
      this.parsed.set(key, v);
    }
    return v;
  }
}
