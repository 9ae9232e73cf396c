/**
 * NotificationStore: the durable queue of outgoing SMS and voice-message mails (issue 5, "A failed send is retried and
 * never silently lost"), in the `notifications` table of the same SQLite database as the directory (migration 2 in
 * `db.ts`). It only stores rows; `notify/notification-queue.ts` decides when to send and retry.
 *
 * A row is `pending` until a provider accepted it (`sent`) or its retry window ran out (`failed`); nothing deletes
 * rows, so a failed text stays visible. PIN mails never come here: they go straight to the mailer, so no PIN is ever
 * written to this table.
 */
import type Database from 'better-sqlite3';
import type { DirectoryStore } from './store';

/** What a queued notification is. */
export type NotificationKind = 'sms' | 'mail';
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
}

type Row = Record<string, unknown>;

function toRow(r: Row): NotificationRow {
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
  };
}

export class NotificationStore {
  private readonly statements = new Map<string, Database.Statement>();

  /** @param store the directory store whose database (and clock) the queue shares */
  constructor(private readonly store: DirectoryStore) {}

  private sql(text: string): Database.Statement {
    let st = this.statements.get(text);
    if (!st) {
      st = this.store.db.prepare(text);
      this.statements.set(text, st);
    }
    return st;
  }

  /** Current time (ms) of the store's clock. */
  now(): number {
    return this.store.now();
  }

  /**
   * Adds a pending notification, due at once.
   * @param payload the provider's input; serialised as JSON (must not hold a PIN)
   * @returns the new row
   */
  add(kind: NotificationKind, identity: string, payload: unknown): NotificationRow {
    const now = this.now();
    const info = this.sql(
      `INSERT INTO notifications (kind, identity, payload, status, attempts, created_at, next_attempt_at) VALUES (?, ?, ?, 'pending', 0, ?, ?)`,
    ).run(kind, identity, JSON.stringify(payload), now, now);
    return this.get(Number(info.lastInsertRowid))!;
  }

  /** The row with this id, or undefined. */
  get(id: number): NotificationRow | undefined {
    const r = this.sql('SELECT * FROM notifications WHERE id = ?').get(id) as Row | undefined;
    return r && toRow(r);
  }

  /**
   * Pending rows due at or before `at` (ms), oldest due first.
   * @param limit the most rows to return
   */
  due(at: number, limit: number): NotificationRow[] {
    return (this.sql(`SELECT * FROM notifications WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`).all(at, limit) as Row[]).map(toRow);
  }

  /** When the earliest pending row is due (ms), ignoring the ids in `except`; undefined when none is pending. */
  nextDueAt(except: ReadonlySet<number> = new Set()): number | undefined {
    if (except.size === 0) {
      const r = this.sql(`SELECT min(next_attempt_at) AS at FROM notifications WHERE status = 'pending'`).get() as { at: number | null };
      return r.at ?? undefined;
    }
    // In-flight rows are few (bounded by the queue's concurrency): skip them in JavaScript.
    const rows = this.sql(`SELECT id, next_attempt_at FROM notifications WHERE status = 'pending' ORDER BY next_attempt_at, id LIMIT ?`).all(except.size + 1) as {
      id: number;
      next_attempt_at: number;
    }[];
    return rows.find((r) => !except.has(r.id))?.next_attempt_at;
  }

  /** Marks a row sent after its provider accepted it; counts the attempt. */
  markSent(id: number): void {
    this.sql(`UPDATE notifications SET status = 'sent', attempts = attempts + 1, sent_at = ?, last_error = NULL WHERE id = ?`).run(this.now(), id);
  }

  /**
   * Records a failed attempt and when to try again.
   * @param nextAttemptAt ms since the epoch
   * @param error the provider's reason (never the body)
   */
  markRetry(id: number, nextAttemptAt: number, error: string): void {
    this.sql(`UPDATE notifications SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?`).run(nextAttemptAt, error, id);
  }

  /** Records the last failed attempt: the row is `failed` and will not be tried again. */
  markFailed(id: number, error: string): void {
    this.sql(`UPDATE notifications SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?`).run(error, id);
  }

  /**
   * The rows of one status (all when undefined), newest first, for listings and tests.
   * @param limit the most rows to return (default 1000)
   */
  list(status?: NotificationStatus, limit = 1000): NotificationRow[] {
    const rows = status
      ? this.sql('SELECT * FROM notifications WHERE status = ? ORDER BY id DESC LIMIT ?').all(status, limit)
      : this.sql('SELECT * FROM notifications ORDER BY id DESC LIMIT ?').all(limit);
    return (rows as Row[]).map(toRow);
  }
}
