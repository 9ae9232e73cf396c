/**
 * DirectoryStore: the directory (dial plans, UM IP gateways, UM mailbox policies, mailboxes, voice messages,
 * conferencing) in SQLite under the data folder: the embedded adapter of the {@link Store} port, with the directory
 * import ({@link OpenedStore}). A facade over one repository per aggregate, each implementing its store port
 * (`ports/store/`): {@link SqliteMailboxRepository}, {@link SqliteVoiceMessageRepository},
 * {@link SqliteDirectoryObjectsRepository}, {@link SqliteConferencingRepository} (their methods are
 * {@link StoreFacade}'s, shared with PostgreSQL), {@link SqliteSettingsRepository}, and the directory import
 * ({@link SqliteDirectoryImport}); the notification queue and the MWI delivery claims (`notifications`,
 * `mwiDeliveries`) use the same connection.
 *
 * The ports are asynchronous; better-sqlite3 is not. Each method does its whole work synchronously when called and
 * returns a settled promise, so every read-modify-write stays one IMMEDIATE transaction with no await inside it
 * (issue 19), and the CLI and a running server can share the folder. PINs are stored only as hashes (see
 * `domain/pin-hash.ts`); nothing here accepts or returns a plaintext PIN.
 */
import type Database from 'better-sqlite3';
import * as path from 'node:path';
import type { Directory } from '../config/schema';
import type { Clock } from '../ports/clock';
import { systemClock } from '../ports/clock';
import type { Store } from '../ports/store';
import type { OtherWritersWatch } from '../ports/store/settings';
import { SqliteAdminRepository } from './admin-repository';
import { SqliteConferencingRepository } from './conferencing-repository';
import { openDatabase } from './db';
import type { DirectorySnapshot } from './directory-snapshot';
import { SqliteDirectoryObjectsRepository } from './directory-objects-repository';
import { SqliteMailboxRepository } from './mailbox-repository';
import { MwiDeliveryStore } from './mwi-delivery-store';
import { NotificationStore } from './notification-store';
import type { OpenedStore } from './opened-store';
import { SqliteSettingsRepository } from './settings-repository';
import { SqliteContext } from './sqlite-context';
import { StoreFacade } from './store-facade';
import { SqliteDirectoryImport } from './store-import';
import { SqliteVoiceMessageRepository } from './voice-message-repository';

export type { ConferencingTenantSettings } from '../domain/directory-objects';
export type { ConferencingUser, Meeting } from '../ports/store/conferencing';
export type { Mailbox, MailboxPatch, PinStatus } from '../ports/store/mailboxes';
export type { VoiceMessage } from '../ports/store/voice-messages';
export { SETTINGS_RECHECK_MS } from './sqlite-context';
export { assertDirectoryPins } from './directory-pins';

/** Options for {@link DirectoryStore.open}. */
export interface StoreOptions {
  /** Time source for PIN set/expiry times; the system clock by default. */
  clock?: Pick<Clock, 'now'>;
  /** scrypt cost (log2 N) for new PIN hashes; 14 by default. */
  pinHashCost?: number;
}

/** The SQLite file of a data folder. */
const DB_FILE = 'voice-access.db';

export class DirectoryStore extends StoreFacade implements OpenedStore {
  /** scrypt cost (log2 N) used for new PIN hashes. */
  readonly pinHashCost: number;
  /** `sqlite:<absolute path of the database file>`. */
  readonly description: string;
  /** The connection, prepared statements, transactions and settings cache the repositories share. */
  readonly context: SqliteContext;
  /** Mailboxes, their PIN state and PIN history. */
  readonly mailboxes: SqliteMailboxRepository;
  /** Voice messages and missed calls. */
  readonly voiceMessages: SqliteVoiceMessageRepository;
  /** Dial plans, UM mailbox policies, UM IP gateways. */
  readonly directoryObjects: SqliteDirectoryObjectsRepository;
  /** Dial-in conferencing: tenant settings, users, meetings. */
  readonly conferencing: SqliteConferencingRepository;
  /** The store's own facts (the `meta` table). */
  readonly settings: SqliteSettingsRepository;
  /** The directory import and snapshots. */
  readonly directoryImport: SqliteDirectoryImport;
  /** The durable queue of SMS and mails, on this connection. */
  readonly notifications: NotificationStore;
  /** Who sends each mailbox's lamp changes, on this connection. */
  readonly mwiDeliveries: MwiDeliveryStore;
  /** API keys and the admin audit log, on this connection. */
  readonly admin: SqliteAdminRepository;

  private constructor(
    readonly db: Database.Database,
    readonly dataDir: string,
    options: StoreOptions,
  ) {
    const context = new SqliteContext(db, options.clock ?? systemClock);
    const directoryObjects = new SqliteDirectoryObjectsRepository(context);
    const parts = {
      directoryObjects,
      mailboxes: new SqliteMailboxRepository(context, directoryObjects),
      voiceMessages: new SqliteVoiceMessageRepository(context),
      conferencing: new SqliteConferencingRepository(context),
    };
    super(parts);
    this.context = context;
    this.directoryObjects = parts.directoryObjects;
    this.mailboxes = parts.mailboxes;
    this.voiceMessages = parts.voiceMessages;
    this.conferencing = parts.conferencing;
    this.pinHashCost = options.pinHashCost ?? 14;
    this.description = `sqlite:${path.join(path.resolve(dataDir), DB_FILE)}`;
    this.settings = new SqliteSettingsRepository(this.context);
    this.directoryImport = new SqliteDirectoryImport(
      this.context,
      { mailboxes: this.mailboxes, directory: this.directoryObjects, settings: this.settings },
      this.pinHashCost,
    );
    this.notifications = new NotificationStore(this.context);
    this.mwiDeliveries = new MwiDeliveryStore(this.context);
    this.admin = new SqliteAdminRepository(this.context);
  }

  /**
   * Opens the store in a data folder (creating and migrating it when needed). Synchronous: better-sqlite3 opens at
   * once.
   * @throws VaError VA_ERR_STORE_OPEN
   */
  static open(dataDir: string, options: StoreOptions = {}): DirectoryStore {
    return new DirectoryStore(openDatabase(dataDir), dataDir, options);
  }

  /** Closes the database handle (at once: better-sqlite3 has no pending calls). */
  async close(): Promise<void> {
    this.db.close();
  }

  /**
   * The prepared statement for `text`, prepared once per store (SQLite-specific code: tests, time travel).
   */
  sql(text: string): Database.Statement {
    return this.context.sql(text);
  }

  /** Current time in ms from the store's clock. */
  now(): number {
    return this.context.now();
  }

  /** Always 0: SQLite answers synchronously, nothing waits on I/O between calls. */
  inFlight(): number {
    return 0;
  }

  /**
   * Runs the synchronous `fn` in one IMMEDIATE transaction (other writers wait on the busy timeout), for SQLite-
   * specific code (time travel); `fn` must not await.
   * @returns what `fn` returned
   */
  transaction<T>(fn: () => T): T {
    return this.context.transaction(fn);
  }

  /**
   * Watches for commits of other connections (another process: a cmdlet, a second instance) by polling SQLite's
   * `data_version` every `watch.intervalMs` of `watch.clock`; this store's own writes are never reported.
   * @returns a function that stops the watch
   */
  watchOtherWriters(watch: OtherWritersWatch): () => void {
    return this.context.watchOtherWriters(watch);
  }

  // ---------------------------------------------------------------- import (SqliteDirectoryImport)

  /** True once a directory file has been imported into this store. */
  isImported(): Promise<boolean> {
    return this.directoryImport.isImported();
  }

  /**
   * Imports a validated directory into an empty store (the first start of a data folder); see
   * {@link SqliteDirectoryImport.importDirectory}.
   * @returns true when this call imported, false when the store already held a directory
   * @throws VaError VA_ERR_PIN_POLICY (an initial PIN breaks its policy; nothing imported)
   */
  importDirectory(dir: Directory, source: string): Promise<boolean> {
    return this.directoryImport.importDirectory(dir, source);
  }

  /** What the store was last imported from, without PINs; undefined for a store imported before snapshots were kept. */
  importedSnapshot(): Promise<DirectorySnapshot | undefined> {
    return this.directoryImport.importedSnapshot();
  }

  /** Records that the store now reflects this directory file (after `Import-Directory` applied it). */
  recordImportedDirectory(snapshot: DirectorySnapshot, source: string): Promise<void> {
    return this.directoryImport.recordImportedDirectory(snapshot, source);
  }

  /** The store's own directory objects as a snapshot, to compare a directory file with. */
  snapshotOfStore(): Promise<DirectorySnapshot> {
    return this.directoryImport.snapshotOfStore();
  }

  /**
   * Runs `fn` on this store between a manual `BEGIN IMMEDIATE` and a `ROLLBACK`, whatever happens
   * (`Import-Directory -WhatIf`): every check the changes make runs, nothing stays. For a cmdlet's own store: while
   * `fn` awaits, anything else using this connection writes into the same transaction and is rolled back with it,
   * so nothing else may write meanwhile (see {@link SqliteContext.manualTransaction}).
   * @returns what `fn` returned; @throws whatever `fn` throws
   */
  rehearse<T>(fn: (store: OpenedStore) => Promise<T>): Promise<T> {
    return this.context.manualTransaction(() => fn(this), false);
  }

  /**
   * Runs `fn` on this store between a manual `BEGIN IMMEDIATE` and a `COMMIT` (a `ROLLBACK` when it throws):
   * `Import-Directory`'s changes all stay, or none. The same caveat as {@link rehearse}.
   * @returns what `fn` returned; @throws whatever `fn` throws (nothing changed then)
   */
  atomically<T>(fn: (store: OpenedStore) => Promise<T>): Promise<T> {
    return this.context.manualTransaction(() => fn(this), true);
  }

  /** A value from the meta table (organization, default_locale, imported_from, imported_at). */
  meta(key: string): Promise<string | undefined> {
    return this.settings.meta(key);
  }
}
