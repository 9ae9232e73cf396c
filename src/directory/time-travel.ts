/**
 * Time travel in the SQLite store, for scenarios run over the network: a server runs on the real clock, so `start: 61d` and
 * `advance: 13h` cannot move its time. Moving every time the store holds back by the same amount is the same thing
 * seen from the store: a PIN set "now" becomes 61 days old, a message received now was received 61 days ago. It
 * happens in one IMMEDIATE transaction, so the server (sharing the data folder, SQLite WAL) sees all of it or none.
 *
 * Every stored time is listed in {@link STORED_TIMES}; `test/sim/net/time-travel.test.ts` checks that no column of
 * the schema that holds a time (`*_at`, `*_until`, `at`) is missing from it, so a later migration cannot be forgotten
 * here. The network runner reaches it through the composition root (`App.timeTravel`, `app.ts`).
 */
import type { DirectoryStore } from './store';

/** Table and column of every time (ms since the epoch) the store keeps. */
export const STORED_TIMES: readonly { table: string; column: string }[] = [
  { table: 'mailboxes', column: 'pin_set_at' },
  { table: 'pin_history', column: 'set_at' },
  { table: 'voice_messages', column: 'received_at' },
  { table: 'missed_calls', column: 'at' },
  // The SMS and mail queue: a pending text's retry window and its next attempt age with everything else.
  { table: 'notifications', column: 'created_at' },
  { table: 'notifications', column: 'next_attempt_at' },
  { table: 'notifications', column: 'sent_at' },
  // Claims run out as time passes: a claim made before the travel is over after it, as it would be.
  { table: 'notifications', column: 'claimed_until' },
  { table: 'mwi_deliveries', column: 'claimed_until' },
  { table: 'mwi_deliveries', column: 'delivered_at' },
  // The admin center's keys and audit log age with everything else (a key used "now" was used before the travel).
  { table: 'api_keys', column: 'created_at' },
  { table: 'api_keys', column: 'last_used_at' },
  { table: 'admin_audit_log', column: 'at' },
];

/** Meta values that are times (ms since the epoch, as text). */
export const STORED_META_TIMES: readonly string[] = ['imported_at'];

/**
 * Moves the store `ms` into the future, as the server will see it: every stored time goes `ms` back.
 * @param ms how far, ms (> 0)
 * @returns how many rows changed
 */
export function timeTravel(store: DirectoryStore, ms: number): number {
  if (!(ms > 0)) return 0;
  const shift = Math.round(ms);
  return store.transaction(() => {
    let rows = 0;
    for (const { table, column } of STORED_TIMES) {
      rows += store.db.prepare(`UPDATE ${table} SET ${column} = ${column} - ? WHERE ${column} IS NOT NULL`).run(shift).changes;
    }
    for (const key of STORED_META_TIMES) {
      rows += store.db
        .prepare(`UPDATE meta SET value = CAST(CAST(value AS INTEGER) - ? AS TEXT) WHERE key = ? AND value GLOB '[0-9]*'`)
        .run(shift, key).changes;
    }
    return rows;
  });
}
