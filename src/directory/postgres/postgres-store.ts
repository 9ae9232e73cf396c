/**
 * PostgresStore: the store on PostgreSQL, for instances on several machines (`serve --store postgresql://...`,
 * `store.url` in the directory file, `VA_STORE_URL`). A facade over one repository per aggregate, each implementing
 * its store port (`ports/store/`), like SQLite's `DirectoryStore`; the queue and the MWI claims are on the same
 * database. What instances must agree on is decided by the database: row locks for PIN failure counts, conditional
 * updates for queue and MWI claims, an advisory lock for migrations and the first import, and LISTEN/NOTIFY to hear
 * other instances' writes.
 *
 * Only this folder sees the `pg` package. The URL's password is never logged nor shown (`description`).
 */
import type { Directory } from '../../config/schema';
import { ErrorCodes, VaError } from '../../errors';
import type { ConferencingTenantSettings, DialPlan, Gateway, MailboxPolicy } from '../../domain/directory-objects';
import type { Clock } from '../../ports/clock';
import { systemClock } from '../../ports/clock';
import type {
  ConferencingUser,
  DirectoryFileMailbox,
  Mailbox,
  MailboxPatch,
  Meeting,
  MessageCounts,
  MissedCall,
  NewMailbox,
  OtherWritersWatch,
  PinReplacement,
  PinStatus,
  VoiceMessage,
} from '../../ports/store';
import type { DirectorySnapshot } from '../directory-snapshot';
import type { OpenedStore } from '../opened-store';
import { StoreFacade } from '../store-facade';
import { PgAdminRepository } from './pg-admin-repository';
import { PgConferencingRepository } from './pg-conferencing-repository';
import { PgContext, redactUrl } from './pg-context';
import { PgDirectoryImport } from './pg-directory-import';
import { PgDirectoryObjectsRepository } from './pg-directory-objects-repository';
import { PgMailboxRepository } from './pg-mailbox-repository';
import { migratePostgres } from './pg-migrate';
import { PgMwiDeliveryStore } from './pg-mwi-delivery-store';
import { PgNotificationStore } from './pg-notification-store';
import { timeTravelPostgres } from './pg-time-travel';
import { PgVoiceMessageRepository } from './pg-voice-message-repository';

/** Options for {@link PostgresStore.open}. */
export interface PostgresStoreOptions {
  clock?: Pick<Clock, 'now'>;
  /** scrypt cost (log2 N) for new PIN hashes; 14 by default. */
  pinHashCost?: number;
  /** Most connections of this instance's pool (default 10). */
  maxConnections?: number;
  /** Longest a statement outside a transaction may run, ms (default 30000; 0: no limit): see `PgContextOptions`. */
  statementTimeoutMs?: number;
  /** Told once when the database stops answering and once when it answers again (`serve` logs both). */
  onAvailability?: (available: boolean, detail: string) => void;
}

/** True when `url` names a PostgreSQL database (`postgresql://` or `postgres://`). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

export class PostgresStore extends StoreFacade implements OpenedStore {
  readonly pinHashCost: number;
  readonly description: string;
  readonly mailboxes: PgMailboxRepository;
  readonly voiceMessages: PgVoiceMessageRepository;
  readonly directoryObjects: PgDirectoryObjectsRepository;
  readonly conferencing: PgConferencingRepository;
  readonly notifications: PgNotificationStore;
  readonly mwiDeliveries: PgMwiDeliveryStore;
  /** API keys and the admin audit log. */
  readonly admin: PgAdminRepository;
  private readonly directoryImport: PgDirectoryImport;

  private constructor(
    readonly context: PgContext,
    pinHashCost: number,
  ) {
    const directoryObjects = new PgDirectoryObjectsRepository(context);
    const parts = {
      directoryObjects,
      mailboxes: new PgMailboxRepository(context, directoryObjects),
      voiceMessages: new PgVoiceMessageRepository(context),
      conferencing: new PgConferencingRepository(context),
    };
    super(parts);
    this.directoryObjects = parts.directoryObjects;
    this.mailboxes = parts.mailboxes;
    this.voiceMessages = parts.voiceMessages;
    this.conferencing = parts.conferencing;
    this.pinHashCost = pinHashCost;
    this.description = redactUrl(context.opts.url);
    this.notifications = new PgNotificationStore(context);
    this.mwiDeliveries = new PgMwiDeliveryStore(context);
    this.admin = new PgAdminRepository(context);
    this.directoryImport = new PgDirectoryImport(context, { mailboxes: this.mailboxes, directory: this.directoryObjects }, pinHashCost);
  }

  /**
   * Connects, brings the schema up to date and listens for other instances' writes.
   * @param url `postgresql://USER[:PASSWORD]@HOST:PORT/DB`
   * @throws VaError VA_ERR_STORE_OPEN when the database cannot be reached or migrated (the message names the URL
   *   without its password)
   */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const ctx = new PgContext({ url, clock: options.clock ?? systemClock, maxConnections: options.maxConnections, statementTimeoutMs: options.statementTimeoutMs, onAvailability: options.onAvailability });
    try {
      await migratePostgres(ctx);
      await ctx.listen();
    } catch (err) {
      await ctx.close();
      if (err instanceof VaError && err.code === ErrorCodes.STORE_OPEN) throw err;
      throw new VaError(ErrorCodes.STORE_OPEN, `cannot open the store ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
    }
    return new PostgresStore(ctx, options.pinHashCost ?? 14);
  }

  close(): Promise<void> {
    return this.context.close();
  }

  now(): number {
    return this.context.now();
  }

  inFlight(): number {
    return this.context.inFlight;
  }

  watchOtherWriters(watch: OtherWritersWatch): () => void {
    return this.context.watch(watch.onChange, watch.onError);
  }

  // ---------------------------------------------------------------- import

  isImported(): Promise<boolean> {
    return this.directoryImport.isImported();
  }
  importDirectory(dir: Directory, source: string): Promise<boolean> {
    return this.directoryImport.importDirectory(dir, source);
  }
  importedSnapshot(): Promise<DirectorySnapshot | undefined> {
    return this.directoryImport.importedSnapshot();
  }
  recordImportedDirectory(snapshot: DirectorySnapshot, source: string): Promise<void> {
    return this.directoryImport.recordImportedDirectory(snapshot, source);
  }
  snapshotOfStore(): Promise<DirectorySnapshot> {
    return this.directoryImport.snapshotOfStore();
  }

  /** Runs `fn` on a view of this store inside one transaction that is always rolled back (`Import-Directory -WhatIf`). */
  async rehearse<T>(fn: (store: OpenedStore) => Promise<T>): Promise<T> {
    const rollback = Symbol('rollback');
    let out: { value: T } | undefined;
    try {
      await this.context.tx(async (c) => {
        out = { value: await fn(new PostgresStore(this.context.boundTo(c), this.pinHashCost)) };
        throw rollback;
      });
    } catch (err) {
      if (err !== rollback) throw err;
    } finally {
      this.context.settingsWritten();
    }
    return out!.value;
  }

  /** Runs `fn` on a view of this store inside one transaction: all its changes stay, or none (`Import-Directory`). */
  async atomically<T>(fn: (store: OpenedStore) => Promise<T>): Promise<T> {
    try {
      return await this.context.tx((c) => fn(new PostgresStore(this.context.boundTo(c), this.pinHashCost)));
    } finally {
      this.context.settingsWritten();
    }
  }

  /** Every stored time `ms` back, in one transaction (`pg-time-travel.ts`). @returns rows changed */
  timeTravel(ms: number): Promise<number> {
    return timeTravelPostgres(this.context, ms);
  }

  async meta(key: string): Promise<string | undefined> {
    return (await this.context.row<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key]))?.value;
  }
}
