/**
 * PgNotificationStore: the durable queue of outgoing SMS and voice-message mails on PostgreSQL (as
 * `../notification-store.ts`). Instances on several machines share it: a row is attempted only under its claim, and
 * a claim is one conditional `UPDATE ... RETURNING` that PostgreSQL serialises on the row's lock, so exactly one
 * instance wins it; `due` passes over rows another instance is claiming right now (`FOR UPDATE SKIP LOCKED`) instead
 * of waiting for it. A claim left by an instance that died runs out at its `claimed_until`, and another instance takes
 * the row then. PIN mails never come here: no PIN is ever written to the queue.
 */
import { toNotificationRow } from '../store-rows';
import type { NotificationKind, NotificationQueueRepository, NotificationRow, NotificationStatus, OtherWritersWatch } from '../../ports/store';
import type { PgContext, Row } from './pg-context';

const COLUMNS =
  'id, kind, identity::text AS identity, payload, status, attempts, created_at, next_attempt_at, sent_at, last_error, claimed_by, claimed_until';

const toRow = toNotificationRow;

export class PgNotificationStore implements NotificationQueueRepository {
  /** @param ctx the store's pool */
  constructor(private readonly ctx: PgContext) {}

  now(): number {
    return this.ctx.now();
  }

  watchOtherWriters(watch: OtherWritersWatch): () => void {
    return this.ctx.watch(watch.onChange, watch.onError);
  }

  async add(kind: NotificationKind, identity: string, payload: unknown): Promise<NotificationRow> {
    const now = this.now();
    const r = await this.ctx.row(
      `INSERT INTO notifications (kind, identity, payload, status, attempts, created_at, next_attempt_at) VALUES ($1, $2, $3, 'pending', 0, $4, $4) RETURNING ${COLUMNS}`,
      [kind, identity, JSON.stringify(payload), now],
    );
    return toRow(r!);
  }

  async get(id: number): Promise<NotificationRow | undefined> {
    const r = await this.ctx.row(`SELECT ${COLUMNS} FROM notifications WHERE id = $1`, [id]);
    return r && toRow(r);
  }

  async due(at: number, limit: number): Promise<NotificationRow[]> {
    return (
      await this.ctx.rows(
        `SELECT ${COLUMNS} FROM notifications WHERE status = 'pending' AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
          ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [at, limit],
      )
    ).map(toRow);
  }

  async nextDueAt(except: ReadonlySet<number> = new Set()): Promise<number | undefined> {
    const rows = await this.ctx.rows<{ id: number; at: number }>(
      `SELECT id, greatest(next_attempt_at, coalesce(claimed_until, 0)) AS at FROM notifications WHERE status = 'pending' ORDER BY at, id LIMIT $1`,
      [except.size + 1],
    );
    return rows.find((r) => !except.has(r.id))?.at;
  }

  async claim(id: number, owner: string, until: number, now: number): Promise<NotificationRow | undefined> {
    const r = await this.ctx.row(
      `UPDATE notifications SET claimed_by = $1, claimed_until = $2
        WHERE id = $3 AND status = 'pending' AND (claimed_by IS NULL OR claimed_by = $1 OR claimed_until <= $4) RETURNING ${COLUMNS}`,
      [owner, until, id, now],
    );
    return r && toRow(r);
  }

  async release(owner: string): Promise<void> {
    await this.ctx.query(`UPDATE notifications SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = $1 AND status = 'pending'`, [owner]);
  }

  async markSent(id: number): Promise<void> {
    await this.ctx.query(
      `UPDATE notifications SET status = 'sent', attempts = attempts + 1, sent_at = $1, last_error = NULL, claimed_by = NULL, claimed_until = NULL WHERE id = $2`,
      [this.now(), id],
    );
  }

  async markRetry(id: number, nextAttemptAt: number, error: string, owner: string): Promise<boolean> {
    const r = await this.ctx.query(
      `UPDATE notifications SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2, claimed_by = NULL, claimed_until = NULL
        WHERE id = $3 AND status = 'pending' AND claimed_by = $4`,
      [nextAttemptAt, error, id, owner],
    );
    return r.rowCount === 1;
  }

  async markFailed(id: number, error: string, owner: string): Promise<boolean> {
    const r = await this.ctx.query(
      `UPDATE notifications SET status = 'failed', attempts = attempts + 1, last_error = $1, claimed_by = NULL, claimed_until = NULL
        WHERE id = $2 AND status = 'pending' AND claimed_by = $3`,
      [error, id, owner],
    );
    return r.rowCount === 1;
  }

  async list(status?: NotificationStatus, limit = 1000): Promise<NotificationRow[]> {
    const rows = status
      ? await this.ctx.rows(`SELECT ${COLUMNS} FROM notifications WHERE status = $1 ORDER BY id DESC LIMIT $2`, [status, limit])
      : await this.ctx.rows(`SELECT ${COLUMNS} FROM notifications ORDER BY id DESC LIMIT $1`, [limit]);
    return rows.map(toRow);
  }
}
