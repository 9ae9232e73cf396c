/**
 * Copying a SQLite store (a data folder's `voice-access.db`) into an empty PostgreSQL database: the move from one
 * machine to several (`voice-access copy-store --data DIR --to postgresql://...`, docs/scaling-out.md). Every table
 * is copied as it is, PIN hashes, PIN history, logon-failure counts and lockouts, voice messages, the notifications
 * queue, the MWI delivery state, the HTTP API's keys and the admin audit log included, in one transaction: the target has all of it or nothing. The voice
 * message rows keep their audio file paths: the recordings folder must be where every instance finds it at the same
 * path (docs/scaling-out.md, "Recordings").
 */
import type Database from 'better-sqlite3';
import { ErrorCodes, VaError } from '../../errors';
import { openDatabase } from '../db';
import { PgContext, redactUrl } from './pg-context';
import { migratePostgres, MIGRATION_LOCK } from './pg-migrate';
import { systemClock } from '../../ports/clock';

/** A table to copy: its columns, which of them are 0/1 flags in SQLite (BOOLEAN in PostgreSQL), and its identity column. */
interface TableCopy {
  name: string;
  columns: string[];
  flags?: string[];
  /** A column PostgreSQL generates (`GENERATED ALWAYS AS IDENTITY`): copied as is, then its sequence moved past it. */
  identity?: string;
}

/** In an order that satisfies the foreign keys (mailboxes before PIN history, users before meetings). */
const TABLES: readonly TableCopy[] = [
  { name: 'meta', columns: ['key', 'value'] },
  { name: 'dial_plans', columns: ['name', 'settings'] },
  { name: 'ip_gateways', columns: ['name', 'position', 'settings'] },
  { name: 'mailbox_policies', columns: ['name', 'settings'] },
  {
    name: 'mailboxes',
    columns: [
      'identity', 'display_name', 'extension', 'dial_plan', 'policy', 'pin_hash', 'pin_set_at', 'pin_expired', 'first_time_user', 'locked_out',
      'logon_failures', 'sms_notification_option', 'mobile_number', 'language', 'greeting_file', 'name_file',
    ],
    flags: ['pin_expired', 'first_time_user', 'locked_out'],
  },
  { name: 'pin_history', columns: ['id', 'identity', 'pin_hash', 'set_at'], identity: 'id' },
  { name: 'voice_messages', columns: ['id', 'identity', 'caller', 'received_at', 'duration_ms', 'unheard', 'urgent', 'audio_file'], flags: ['unheard', 'urgent'] },
  { name: 'missed_calls', columns: ['id', 'identity', 'caller', 'at'], identity: 'id' },
  { name: 'conferencing_tenant', columns: ['id', 'settings'] },
  { name: 'conferencing_users', columns: ['identity', 'display_name', 'leader_pin_hash', 'allow_pstn_only_meetings'], flags: ['allow_pstn_only_meetings'] },
  { name: 'meetings', columns: ['conference_id', 'organizer', 'subject'] },
  {
    name: 'notifications',
    columns: ['id', 'kind', 'identity', 'payload', 'status', 'attempts', 'created_at', 'next_attempt_at', 'sent_at', 'last_error', 'claimed_by', 'claimed_until'],
    identity: 'id',
  },
  { name: 'mwi_deliveries', columns: ['identity', 'claimed_by', 'claimed_until', 'delivered_signature', 'delivered_at'] },
  // The HTTP API's keys (their hashes) and the admin audit log (migration 5): the keys keep working after the move.
  { name: 'api_keys', columns: ['id', 'name', 'role', 'key_hash', 'created_at', 'last_used_at'], identity: 'id' },
  {
    name: 'admin_audit_log',
    columns: ['id', 'at', 'who', 'address', 'action', 'target', 'parameters', 'succeeded', 'error_code'],
    flags: ['succeeded'],
    identity: 'id',
  },
];

/** Rows per INSERT statement. */
const BATCH = 200;

/** What was copied: rows per table. */
export type CopyReport = Record<string, number>;

/**
 * Copies the store of a data folder into a PostgreSQL database that holds no directory yet (its schema is created
 * when missing). Claims on queue rows and lamps are copied released: the instances that held them are not the ones
 * that will run on PostgreSQL.
 * @param dataDir the data folder of the SQLite store (its schema is brought up to date first)
 * @param url the target, `postgresql://USER[:PASSWORD]@HOST:PORT/DB`
 * @returns rows copied per table
 * @throws VaError VA_ERR_STORE_OPEN (either store cannot be opened), VA_ERR_ALREADY_EXISTS (the target already holds
 *   a directory: nothing is copied), VA_ERR_NOT_FOUND (the data folder's store holds no directory)
 */
export async function copySqliteToPostgres(dataDir: string, url: string): Promise<CopyReport> {
  const db = openDatabase(dataDir);
  const ctx = new PgContext({ url, clock: systemClock });
  try {
    if (!db.prepare(`SELECT 1 FROM meta WHERE key = 'imported_at'`).get())
      throw new VaError(ErrorCodes.NOT_FOUND, `the store in ${dataDir} holds no directory: nothing to copy`);
    try {
      await migratePostgres(ctx);
    } catch (err) {
      if (err instanceof VaError && err.code === ErrorCodes.STORE_OPEN) throw err;
      throw new VaError(ErrorCodes.STORE_OPEN, `cannot open the store ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
    }
    return await ctx.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      if ((await c.query(`SELECT 1 FROM meta WHERE key = 'imported_at'`)).rowCount)
        throw new VaError(ErrorCodes.ALREADY_EXISTS, `${redactUrl(url)} already holds a directory: copy only into an empty database`);
      const report: CopyReport = {};
      for (const t of TABLES) report[t.name] = await copyTable(db, c, t);
      return report;
    });
  } finally {
    db.close();
    await ctx.close();
  }
}

async function copyTable(db: Database.Database, c: { query(text: string, values?: unknown[]): Promise<unknown> }, t: TableCopy): Promise<number> {
  const released = t.name === 'notifications' || t.name === 'mwi_deliveries';
  const rows = db.prepare(`SELECT ${t.columns.join(', ')} FROM ${t.name}`).raw(true).all() as unknown[][];
  const flagAt = new Set((t.flags ?? []).map((f) => t.columns.indexOf(f)));
  const claimAt = released ? new Set([t.columns.indexOf('claimed_by'), t.columns.indexOf('claimed_until')]) : new Set<number>();
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    const values: unknown[] = [];
    const tuples = batch.map((row) => {
      const slots = row.map((v, j) => {
        values.push(claimAt.has(j) ? null : flagAt.has(j) ? v === 1 : v);
        return `$${values.length}`;
      });
      return `(${slots.join(', ')})`;
    });
    await c.query(`INSERT INTO ${t.name} (${t.columns.join(', ')}) ${t.identity ? 'OVERRIDING SYSTEM VALUE ' : ''}VALUES ${tuples.join(', ')}`, values);
  }
  if (t.identity)
    await c.query(`SELECT setval(pg_get_serial_sequence('${t.name}', '${t.identity}'), coalesce((SELECT max(${t.identity}) FROM ${t.name}), 0) + 1, false)`);
  return rows.length;
}
