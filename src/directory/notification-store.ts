/**
 * NotificationStore: the durable queue of outgoing SMS and voice-message mails (issue 5, "A failed send is retried and
 * never silently lost"), in the `notifications` table of the same SQLite database as the directory (migration 2 in
 * `db.ts`). It only stores rows; `notify/notification-queue.ts` decides when to send and retry.
 *
 * A row is `pending` until a provider accepted it (`sent`) or its retry window ran out (`failed`); nothing deletes
 * rows, so a failed text stays visible. A process attempts a row only under its claim (`claim`): another process on
 * the same data folder passes over it until the claim is released or runs out (migration 3). PIN mails never come
 * here: they go straight to the mailer, so no PIN is ever written to this table.
 *
 * The port is asynchronous; better-sqlite3 is not: each method is one statement, run when called, and returns a
 * settled promise. The store's `notifications` property is one on the store's connection.
 */
import { toNotificationRow } from './store-rows';
import type { NotificationKind, NotificationQueueRepository, NotificationRow, NotificationStatus } from '../ports/store/notifications';
import type { OtherWritersWatch } from '../ports/store/settings';
import type { Row, SqliteContext } from './sqlite-context';

export type { NotificationKind, NotificationRow, NotificationStatus } from '../ports/store/notifications';

const toRow = toNotificationRow;

/** The SQLite adapter of the {@link NotificationQueueRepository} port. */
export class NotificationStore implements NotificationQueueRepository {
  /** @param store the connection (and clock) the queue shares with the directory: the store's `SqliteContext` */
  constructor(private readonly store: Pick<SqliteContext, 'sql' | 'now' | 'watchOtherWriters'>) {}

  /** Current time (ms) of the store's clock. */
  now(): number {
    return this.store.now();
  }

  /** Watches for other connections' commits (SQLite's `data_version`, polled). @returns a function that stops the watch */
  watchOtherWriters(watch: OtherWritersWatch): () => void {
    return this.store.watchOtherWriters(watch);
  }

  /**
   * Adds a pending notification, due at once.
   * @param payload the provider's input; serialised as JSON (must not hold a PIN)
   * @returns the new row
   */
  async add(kind: NotificationKind, identity: string, payload: unknown): Promise<NotificationRow> {
    const now = this.now();
    const info = this.store.sql(
      `INSERT INTO notifications (kind, identity, payload, status, attempts, created_at, next_attempt_at) VALUES (?, ?, ?, 'pending', 0, ?, ?)`,
    ).run(kind, identity, JSON.stringify(payload), now, now);
    return this.getSync(Number(info.lastInsertRowid))!;
  }

  /** The row with this id, or undefined. */
  async get(id: number): Promise<NotificationRow | undefined> {
    return this.getSync(id);
  }

  private getSync(id: number): NotificationRow | undefined {
    const r = this.store.sql('SELECT * FROM notifications WHERE id = ?').get(id) as Row | undefined;
    return r && toRow(r);
  }

  /**
   * Pending rows due at or before `at` (ms) and under no live claim, oldest due first.
   * @param limit the most rows to return
   */
  async due(at: number, limit: number): Promise<NotificationRow[]> {
    return (
      this.store.sql(
        `SELECT * FROM notifications WHERE status = 'pending' AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY next_attempt_at, id LIMIT ?`,
      ).all(at, at, limit) as Row[]
    ).map(toRow);
  }

  /**
   * When the earliest pending row may be attempted (ms): when it is due, or when another queue's claim on it runs
   * out if that is later. Ignores the ids in `except`; undefined when none is pending.
   */
  async nextDueAt(except: ReadonlySet<number> = new Set()): Promise<number | undefined> {
    // Pending rows are few (a queue keeps up unless a provider is down): the claim's end is compared per row.
    const rows = this.store.sql(
      `SELECT id, max(next_attempt_at, coalesce(claimed_until, 0)) AS at FROM notifications WHERE status = 'pending' ORDER BY at, id LIMIT ?`,
    ).all(except.size + 1) as { id: number; at: number }[];
    return rows.find((r) => !except.has(r.id))?.at;
  }

  /**
   * Claims a pending row for one attempt by `owner`, unless another owner's claim on it is still live at `now`.
   * @param until when the claim runs out (ms): after it, another queue may take the row (its owner crashed)
   * @returns the row as claimed, or undefined when it is not pending or another owner holds it
   */
  async claim(id: number, owner: string, until: number, now: number): Promise<NotificationRow | undefined> {
    const r = this.store.sql(
      `UPDATE notifications SET claimed_by = ?, claimed_until = ? WHERE id = ? AND status = 'pending' AND (claimed_by IS NULL OR claimed_by = ? OR claimed_until <= ?) RETURNING *`,
    ).get(owner, until, id, owner, now) as Row | undefined;
    return r && toRow(r);
  }

  /** Releases every claim `owner` holds on pending rows (its queue stops): they may be attempted again at once. */
  async release(owner: string): Promise<void> {
    this.store.sql(`UPDATE notifications SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ? AND status = 'pending'`).run(owner);
  }

  /**
   * Marks a row sent after its provider accepted it; counts the attempt and ends any claim. Whoever's claim it is:
   * a delivered row is delivered.
   */
  async markSent(id: number): Promise<void> {
    this.store.sql(
      `UPDATE notifications SET status = 'sent', attempts = attempts + 1, sent_at = ?, last_error = NULL, claimed_by = NULL, claimed_until = NULL WHERE id = ?`,
    ).run(this.now(), id);
  }

  /**
   * Records a failed attempt and when to try again, and ends the claim; only while `owner` holds the row (after its
   * claim ran out, the queue that took the row over decides).
   * @param nextAttemptAt ms since the epoch
   * @param error the provider's reason (never the body)
   * @returns false when `owner` no longer held the row (nothing recorded)
   */
  async markRetry(id: number, nextAttemptAt: number, error: string, owner: string): Promise<boolean> {
    return (
      this.store.sql(
        `UPDATE notifications SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ? AND status = 'pending' AND claimed_by = ?`,
      ).run(nextAttemptAt, error, id, owner).changes === 1
    );
  }

  /**
   * Records the last failed attempt: the row is `failed` and will not be tried again; only while `owner` holds it.
   * @returns false when `owner` no longer held the row (nothing recorded)
   */
  async markFailed(id: number, error: string, owner: string): Promise<boolean> {
    return (
      this.store.sql(
        `UPDATE notifications SET status = 'failed', attempts = attempts + 1, last_error = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ? AND status = 'pending' AND claimed_by = ?`,
      ).run(error, id, owner).changes === 1
    );
  }

  /**
   * The rows of one status (all when undefined), newest first, for listings and tests.
   * @param limit the most rows to return (default 1000)
   */
  async list(status?: NotificationStatus, limit = 1000): Promise<NotificationRow[]> {
    const rows = status
      ? this.store.sql('SELECT * FROM notifications WHERE status = ? ORDER BY id DESC LIMIT ?').all(status, limit)
      : this.store.sql('SELECT * FROM notifications ORDER BY id DESC LIMIT ?').all(limit);
    return (rows as Row[]).map(toRow);
  }
}
