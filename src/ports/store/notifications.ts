/**
 * The notifications queue: the durable queue of outgoing SMS and voice-message mails (issue 5, "A failed send is
 * retried and never silently lost"). The repository only stores rows; `notify/notification-queue.ts` decides when to
 * send and retry. A row is `pending` until a provider accepted it (`sent`) or its retry window ran out (`failed`);
 * nothing deletes rows. A queue attempts a row only under its claim, so two instances never send one row at once.
 * PIN mails never come here: no PIN is ever written to the queue.
 *
 * Asynchronous: the embedded SQLite adapter (`directory/notification-store.ts`) answers at once, the PostgreSQL one
 * (`directory/postgres/`) over the network; a claim is one conditional UPDATE in both, so only one instance wins a
 * row.
 */
import type { OtherWriters } from './settings';

/** What a queued notification is. */
export type NotificationKind = 'sms' | 'mail';

/** Where a queued notification stands. */
export type NotificationStatus = 'pending' | 'sent' | 'failed';

/** One row of the queue. Times are ms since the epoch on the store's clock. */
export interface NotificationRow {
  id: number;
  kind: NotificationKind;
  /** The mailbox the notification is about (for logs and `Get-` style listings). */
  identity: string;
  /** The provider's input as JSON (an `SmsMessage` or a `MailMessage` whose attachments are file paths). */
  payload: string;
  status: NotificationStatus;
  /** Delivery attempts made so far. */
  attempts: number;
  createdAt: number;
  nextAttemptAt: number;
  sentAt: number | null;
  /** Why the last attempt failed (the provider's message; never the text body). */
  lastError: string | null;
  /** The queue that has claimed the row for an attempt, or null. */
  claimedBy: string | null;
  /** When that claim runs out (ms), or null. */
  claimedUntil: number | null;
}

/** The queue's rows and their claims. */
export interface NotificationQueueRepository extends OtherWriters {
  /** Current time (ms) of the store's clock. */
  now(): number;

  /**
   * Adds a pending notification, due at once.
   * @param payload the provider's input; serialised as JSON (must not hold a PIN)
   * @returns the new row
   */
  add(kind: NotificationKind, identity: string, payload: unknown): Promise<NotificationRow>;

  /** The row with this id, or undefined. */
  get(id: number): Promise<NotificationRow | undefined>;

  /** Pending rows due at or before `at` (ms) and under no live claim, oldest due first; at most `limit`. */
  due(at: number, limit: number): Promise<NotificationRow[]>;

  /**
   * When the earliest pending row may be attempted (ms): when it is due, or when another queue's claim on it runs
   * out if that is later. Ignores the ids in `except`; undefined when none is pending.
   */
  nextDueAt(except?: ReadonlySet<number>): Promise<number | undefined>;

  /**
   * Claims a pending row for one attempt by `owner`, unless another owner's claim on it is still live at `now`.
   * @param until when the claim runs out (ms): after it, another queue may take the row (its owner crashed)
   * @returns the row as claimed, or undefined when it is not pending or another owner holds it
   */
  claim(id: number, owner: string, until: number, now: number): Promise<NotificationRow | undefined>;

  /** Releases every claim `owner` holds on pending rows (its queue stops): they may be attempted again at once. */
  release(owner: string): Promise<void>;

  /** Marks a row sent after its provider accepted it; counts the attempt and ends any claim, whoever's it is. */
  markSent(id: number): Promise<void>;

  /**
   * Records a failed attempt and when to try again (`nextAttemptAt`, ms), and ends the claim; only while `owner`
   * holds the row.
   * @param error the provider's reason (never the body)
   * @returns false when `owner` no longer held the row (nothing recorded)
   */
  markRetry(id: number, nextAttemptAt: number, error: string, owner: string): Promise<boolean>;

  /**
   * Records the last failed attempt: the row is `failed` and will not be tried again; only while `owner` holds it.
   * @returns false when `owner` no longer held the row (nothing recorded)
   */
  markFailed(id: number, error: string, owner: string): Promise<boolean>;

  /** The rows of one status (all when undefined), newest first, at most `limit` (default 1000). */
  list(status?: NotificationStatus, limit?: number): Promise<NotificationRow[]>;
}
