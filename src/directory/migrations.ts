/**
 * The store's schema migrations, one list for both databases: entry N (1-based) brings a store from schema version
 * N-1 to N, written once for SQLite (`db.ts`; the version is SQLite's `user_version`) and once for PostgreSQL
 * (`postgres/pg-migrate.ts`; the version is the highest row of `schema_migrations`). Migrations only ever append:
 * never edit one that has shipped. Each pair must leave the same tables with the same meaning; the PostgreSQL side
 * uses its own types (CITEXT where SQLite has COLLATE NOCASE, BOOLEAN for 0/1 flags, BIGINT for ms times,
 * identity columns for rowids).
 */

/** One schema change, in both dialects. */
export interface Migration {
  /** What it adds, for the log and `schema_migrations.name`. */
  name: string;
  sqlite: string;
  postgresql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    name: 'directory: dial plans, gateways, policies, mailboxes, PIN history, voice messages, conferencing',
    sqlite: `
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
    postgresql: `
  CREATE EXTENSION IF NOT EXISTS citext;
  -- Tells other instances that something was committed (postgres/pg-context.ts): the payload is the writer's
  -- application_name, delivered once per transaction at its commit.
  CREATE FUNCTION va_store_changed() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM pg_notify('va_store_changed', current_setting('application_name'));
    RETURN NULL;
  END $$;
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE dial_plans (name CITEXT PRIMARY KEY, settings TEXT NOT NULL);
  CREATE TABLE ip_gateways (name CITEXT PRIMARY KEY, position INTEGER NOT NULL, settings TEXT NOT NULL);
  CREATE TABLE mailbox_policies (name CITEXT PRIMARY KEY, settings TEXT NOT NULL);
  CREATE TABLE mailboxes (
    identity CITEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    extension TEXT NOT NULL,
    dial_plan CITEXT NOT NULL,
    policy CITEXT NOT NULL,
    pin_hash TEXT NOT NULL,
    pin_set_at BIGINT NOT NULL,
    pin_expired BOOLEAN NOT NULL,
    first_time_user BOOLEAN NOT NULL,
    locked_out BOOLEAN NOT NULL DEFAULT false,
    logon_failures INTEGER NOT NULL DEFAULT 0,
    sms_notification_option TEXT NOT NULL DEFAULT 'None',
    mobile_number TEXT,
    language TEXT,
    greeting_file TEXT,
    name_file TEXT,
    UNIQUE (dial_plan, extension)
  );
  CREATE TABLE pin_history (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    identity CITEXT NOT NULL REFERENCES mailboxes(identity) ON DELETE CASCADE,
    pin_hash TEXT NOT NULL,
    set_at BIGINT NOT NULL
  );
  CREATE INDEX pin_history_identity ON pin_history(identity, id);
  CREATE TABLE voice_messages (
    id TEXT PRIMARY KEY,
    identity CITEXT NOT NULL,
    caller TEXT,
    received_at BIGINT NOT NULL,
    duration_ms INTEGER NOT NULL,
    unheard BOOLEAN NOT NULL DEFAULT true,
    urgent BOOLEAN NOT NULL DEFAULT false,
    audio_file TEXT NOT NULL
  );
  CREATE INDEX voice_messages_identity ON voice_messages(identity, received_at);
  CREATE TABLE missed_calls (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    identity CITEXT NOT NULL,
    caller TEXT,
    at BIGINT NOT NULL
  );
  CREATE TABLE conferencing_tenant (id INTEGER PRIMARY KEY CHECK (id = 1), settings TEXT NOT NULL);
  CREATE TABLE conferencing_users (
    identity CITEXT PRIMARY KEY,
    display_name TEXT,
    leader_pin_hash TEXT,
    allow_pstn_only_meetings BOOLEAN NOT NULL DEFAULT false
  );
  CREATE TABLE meetings (
    conference_id TEXT PRIMARY KEY,
    organizer CITEXT NOT NULL REFERENCES conferencing_users(identity) ON DELETE CASCADE,
    subject TEXT
  );
  CREATE TRIGGER meta_changed AFTER INSERT OR UPDATE OR DELETE ON meta FOR EACH ROW EXECUTE FUNCTION va_store_changed();
  CREATE TRIGGER dial_plans_changed AFTER INSERT OR UPDATE OR DELETE ON dial_plans FOR EACH ROW EXECUTE FUNCTION va_store_changed();
  CREATE TRIGGER ip_gateways_changed AFTER INSERT OR UPDATE OR DELETE ON ip_gateways FOR EACH ROW EXECUTE FUNCTION va_store_changed();
  CREATE TRIGGER mailbox_policies_changed AFTER INSERT OR UPDATE OR DELETE ON mailbox_policies FOR EACH ROW EXECUTE FUNCTION va_store_changed();
  CREATE TRIGGER mailboxes_changed AFTER INSERT OR UPDATE OR DELETE ON mailboxes FOR EACH ROW EXECUTE FUNCTION va_store_changed();
  CREATE TRIGGER pin_history_changed AFTER INSERT OR UPDATE OR DELETE ON pin_history FOR EACH ROW EXECUTE FUNCTION va_store_changed();
  CREATE TRIGGER voice_messages_changed AFTER INSERT OR UPDATE OR DELETE ON voice_messages FOR EACH ROW EXECUTE FUNCTION va_store_changed();
  CREATE TRIGGER missed_calls_changed AFTER INSERT OR UPDATE OR DELETE ON missed_calls FOR EACH ROW EXECUTE FUNCTION va_store_changed();
  CREATE TRIGGER conferencing_tenant_changed AFTER INSERT OR UPDATE OR DELETE ON conferencing_tenant FOR EACH ROW EXECUTE FUNCTION va_store_changed();
  CREATE TRIGGER conferencing_users_changed AFTER INSERT OR UPDATE OR DELETE ON conferencing_users FOR EACH ROW EXECUTE FUNCTION va_store_changed();
  CREATE TRIGGER meetings_changed AFTER INSERT OR UPDATE OR DELETE ON meetings FOR EACH ROW EXECUTE FUNCTION va_store_changed();
  `,
  },
  {
    // The durable queue of SMS and voice-message mails (issue 5, `notify/notification-queue.ts`). A row is `sent`
    // only after the provider accepted it; `failed` after the retry window. Never holds a PIN.
    name: 'notifications queue',
    sqlite: `
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
    postgresql: `
  CREATE TABLE notifications (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('sms', 'mail')),
    identity CITEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    sent_at BIGINT,
    last_error TEXT
  );
  CREATE INDEX notifications_pending ON notifications(status, next_attempt_at);
  CREATE TRIGGER notifications_changed AFTER INSERT OR UPDATE OR DELETE ON notifications FOR EACH ROW EXECUTE FUNCTION va_store_changed();
  `,
  },
  {
    // Claims on queued notifications, so that two instances never attempt the same row at once. A claim is its
    // owner's until `claimed_until` (ms, the store's clock).
    name: 'notification claims',
    sqlite: `
  ALTER TABLE notifications ADD COLUMN claimed_by TEXT;
  ALTER TABLE notifications ADD COLUMN claimed_until INTEGER;
  `,
    postgresql: `
  ALTER TABLE notifications ADD COLUMN claimed_by TEXT;
  ALTER TABLE notifications ADD COLUMN claimed_until BIGINT;
  `,
  },
  {
    // Unsolicited MWI shared by the instances of one store (`mwi-delivery-store.ts`): which instance is sending a
    // mailbox's state now, and the last state its gateways accepted, so a change is NOTIFYed once.
    name: 'MWI delivery claims',
    sqlite: `
  CREATE TABLE mwi_deliveries (
    identity TEXT PRIMARY KEY COLLATE NOCASE,
    claimed_by TEXT,
    claimed_until INTEGER,
    delivered_signature TEXT,
    delivered_at INTEGER
  );
  `,
    postgresql: `
  CREATE TABLE mwi_deliveries (
    identity CITEXT PRIMARY KEY,
    claimed_by TEXT,
    claimed_until BIGINT,
    delivered_signature TEXT,
    delivered_at BIGINT
  );
  CREATE TRIGGER mwi_deliveries_changed AFTER INSERT OR UPDATE OR DELETE ON mwi_deliveries FOR EACH ROW EXECUTE FUNCTION va_store_changed();
  `,
  },
  {
    // The HTTP API's keys and the admin audit log (issue 21, `ports/store/admin.ts`). A key is kept as the SHA-256
    // (hex) of its 32 random bytes, never itself; the log's parameters never hold a PIN. Times in ms.
    name: 'API keys and admin audit log',
    sqlite: `
  CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
  );
  CREATE TABLE admin_audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    who TEXT NOT NULL,
    address TEXT,
    action TEXT NOT NULL,
    target TEXT,
    parameters TEXT NOT NULL,
    succeeded INTEGER NOT NULL,
    error_code TEXT
  );
  CREATE INDEX admin_audit_log_at ON admin_audit_log(at);
  `,
    postgresql: `
  CREATE TABLE api_keys (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name CITEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
  );
  CREATE TABLE admin_audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    who TEXT NOT NULL,
    address TEXT,
    action TEXT NOT NULL,
    target TEXT,
    parameters TEXT NOT NULL,
    succeeded BOOLEAN NOT NULL,
    error_code TEXT
  );
  CREATE INDEX admin_audit_log_at ON admin_audit_log(at);
  -- No va_store_changed trigger on these two: nothing another instance caches depends on them, and every API
  -- request writes last_used_at.
  `,
  },
];

/** The schema version this code expects (the number of migrations). */
export const SCHEMA_VERSION = MIGRATIONS.length;
