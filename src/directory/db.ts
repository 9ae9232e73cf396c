/**
 * Opening the SQLite store and migrating its schema. WAL journal and a busy timeout let the CLI and a running server
 * use one data folder at once; every read-modify-write runs in an IMMEDIATE transaction so writers queue instead of
 * failing. The schema version is SQLite's `user_version`; migrations only ever append.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, VaError } from '../errors';

/** Schema migrations, in order; index + 1 is the `user_version` after each. Never edit one that has shipped. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE dial_plans (name TEXT PRIMARY KEY COLLATE NOCASE, settings TEXT NOT NULL);
  CREATE TABLE ip_gateways (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    position INTEGER NOT NULL,
    settings TEXT NOT NULL
  );
  CREATE TABLE mailbox_policies (name TEXT PRIMARY KEY COLLATE NOCASE, settings TEXT NOT NULL);
  CREATE TABLE mailboxes (
    identity TEXT PRIMARY KEY COLLATE NOCASE,
    display_name TEXT NOT NULL,
    extension TEXT NOT NULL,
    dial_plan TEXT NOT NULL COLLATE NOCASE,
    policy TEXT NOT NULL COLLATE NOCASE,
    pin_hash TEXT NOT NULL,
    pin_set_at INTEGER NOT NULL,
    pin_expired INTEGER NOT NULL,
    first_time_user INTEGER NOT NULL,
    locked_out INTEGER NOT NULL DEFAULT 0,
    logon_failures INTEGER NOT NULL DEFAULT 0,
    sms_notification_option TEXT NOT NULL DEFAULT 'None',
    mobile_number TEXT,
    language TEXT,
    greeting_file TEXT,
    name_file TEXT,
    UNIQUE (dial_plan, extension)
  );
  CREATE TABLE pin_history (
    id INTEGER PRIMARY KEY,
    identity TEXT NOT NULL COLLATE NOCASE REFERENCES mailboxes(identity) ON DELETE CASCADE,
    pin_hash TEXT NOT NULL,
    set_at INTEGER NOT NULL
  );
  CREATE INDEX pin_history_identity ON pin_history(identity, id);
  CREATE TABLE voice_messages (
    id TEXT PRIMARY KEY,
    identity TEXT NOT NULL COLLATE NOCASE,
    caller TEXT,
    received_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    unheard INTEGER NOT NULL DEFAULT 1,
    urgent INTEGER NOT NULL DEFAULT 0,
    audio_file TEXT NOT NULL
  );
  CREATE INDEX voice_messages_identity ON voice_messages(identity, received_at);
  CREATE TABLE missed_calls (
    id INTEGER PRIMARY KEY,
    identity TEXT NOT NULL COLLATE NOCASE,
    caller TEXT,
    at INTEGER NOT NULL
  );
  CREATE TABLE conferencing_tenant (id INTEGER PRIMARY KEY CHECK (id = 1), settings TEXT NOT NULL);
  CREATE TABLE conferencing_users (
    identity TEXT PRIMARY KEY COLLATE NOCASE,
    display_name TEXT,
    leader_pin_hash TEXT,
    allow_pstn_only_meetings INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE meetings (
    conference_id TEXT PRIMARY KEY,
    organizer TEXT NOT NULL COLLATE NOCASE REFERENCES conferencing_users(identity) ON DELETE CASCADE,
    subject TEXT
  );
  `,
  // 2: the durable queue of SMS and voice-message mails (issue 5, `directory/notification-store.ts`). A row is
  // `sent` only after the provider accepted it; `failed` after the retry window. Never holds a PIN.
  `
  CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('sms', 'mail')),
    identity TEXT NOT NULL COLLATE NOCASE,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    sent_at INTEGER,
    last_error TEXT
  );
  CREATE INDEX notifications_pending ON notifications(status, next_attempt_at);
  `,
  // 3: claims on queued notifications, so that two processes on one data folder (two `serve` instances behind
  // drachtio-server, or a server and `simulate --data`) never attempt the same row at once
  // (`notify/notification-queue.ts`). A claim is its owner's until `claimed_until` (ms, the store's clock).
  `
  ALTER TABLE notifications ADD COLUMN claimed_by TEXT;
  ALTER TABLE notifications ADD COLUMN claimed_until INTEGER;
  `,
  // 4: unsolicited MWI shared by the processes on one data folder (`directory/mwi-delivery-store.ts`): which process
  // is sending a mailbox's state now, and the last state its gateways accepted, so a change is NOTIFYed once.
  `
  CREATE TABLE mwi_deliveries (
    identity TEXT PRIMARY KEY COLLATE NOCASE,
    claimed_by TEXT,
    claimed_until INTEGER,
    delivered_signature TEXT,
    delivered_at INTEGER
  );
  `,
];

/** The schema version this code expects. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Opens (creating when needed) `<dataDir>/voice-access.db` and brings its schema up to {@link SCHEMA_VERSION}.
 * @param dataDir the data folder (created when missing)
 * @throws VaError VA_ERR_STORE_OPEN when the folder or database cannot be opened, or was written by newer code
 */
export function openDatabase(dataDir: string): Database.Database {
  let db: Database.Database;
  try {
    mkdirSync(dataDir, { recursive: true });
    db = new Database(path.join(dataDir, 'voice-access.db'), { timeout: 15_000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
  } catch (err) {
    throw new VaError(ErrorCodes.STORE_OPEN, `cannot open the store in ${dataDir}: ${(err as Error).message}`, { cause: err });
  }
  try {
    migrate(db);
  } catch (err) {
    db.close();
    if (err instanceof VaError) throw err;
    throw new VaError(ErrorCodes.STORE_OPEN, `cannot migrate the store in ${dataDir}: ${(err as Error).message}`, { cause: err });
  }
  return db;
}

function migrate(db: Database.Database): void {
  const run = db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION)
      throw new VaError(ErrorCodes.STORE_OPEN, `the store has schema version ${current}, newer than this program's ${SCHEMA_VERSION}`);
    for (let v = current; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]);
    if (current !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  });
  run.immediate();
}
