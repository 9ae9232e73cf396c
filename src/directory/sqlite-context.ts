/**
 * What the SQLite repositories of one store share: the better-sqlite3 connection, its prepared statements, one
 * transaction wrapper, the clock, and the cache of settings read on every call (dial plans, UM IP gateways, UM
 * mailbox policies, the conferencing tenant). Synchronous (better-sqlite3); every change runs in an IMMEDIATE
 * transaction so that the CLI and a running server can share the data folder.
 */
import type Database from 'better-sqlite3';
import { ParsedSettings } from './store-rows';
import type { Clock } from '../ports/clock';
import type { OtherWritersWatch } from '../ports/store/settings';
import { watchDataVersion } from './store-watch';

/** A row read as an object. */
export type Row = Record<string, unknown>;

/** How long a check of another connection's commits (`data_version`) stands for the settings cache, real ms. */
export const SETTINGS_RECHECK_MS = 1;

export { notFound, validated } from './store-rows';

export class SqliteContext {
  /** Prepared statements by SQL text: preparing costs more than running most of these queries. */
  private readonly statements = new Map<string, Database.Statement>();
  private readonly parsedSettings = new ParsedSettings();

  /**
   * @param db the open, migrated database (`db.ts`)
   * @param clock the time source for the times the store records
   */
  constructor(
    readonly db: Database.Database,
    private readonly clock: Pick<Clock, 'now'>,
  ) {}

  /** Current time in ms from the store's clock. */
  now(): number {
    return this.clock.now();
  }

  /** The prepared statement for `text`, prepared once per connection. */
  sql(text: string): Database.Statement {
    let st = this.statements.get(text);
    if (!st) {
      st = this.db.prepare(text);
      this.statements.set(text, st);
    }
    return st;
  }

  /** One reusable transaction wrapper (better-sqlite3 prepares BEGIN/COMMIT per wrapper; nested calls use savepoints). */
  private readonly tx = (() => {
    let wrapper: ((fn: () => unknown) => unknown) & { immediate(fn: () => unknown): unknown };
    return () => (wrapper ??= this.db.transaction((fn: () => unknown) => fn()) as typeof wrapper);
  })();

  /** Runs `fn` in one IMMEDIATE transaction (other writers wait on the busy timeout). @returns what `fn` returned */
  transaction<T>(fn: () => T): T {
    return this.tx().immediate(fn) as T;
  }

  /**
   * SQLite's `data_version`: changes when another connection (another process) commits to the database; stays the
   * same for this connection's own writes. Cheap enough to poll every second.
   */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  /** One poll of {@link dataVersion} per clock and interval, shared by every watch on them. */
  private readonly pollers = new Map<Clock, Map<number, { watches: Set<OtherWritersWatch>; stop: () => void }>>();

  /**
   * Watches for other connections' commits by polling {@link dataVersion} every `watch.intervalMs` of `watch.clock`
   * (`store-watch.ts`); the version is read once when the first watch on that clock and interval starts, so a
   * commit made after this call is reported. Watches on the same clock and interval share one poll (`serve` has
   * three: MWI, the notification queue, the gateway list).
   * @returns a function that stops the watch
   */
  watchOtherWriters(watch: OtherWritersWatch): () => void {
    let byInterval = this.pollers.get(watch.clock);
    if (!byInterval) this.pollers.set(watch.clock, (byInterval = new Map()));
    let poller = byInterval.get(watch.intervalMs);
    if (!poller) {
      const watches = new Set<OtherWritersWatch>();
      const stop = watchDataVersion({
        clock: watch.clock,
        intervalMs: watch.intervalMs,
        dataVersion: () => this.dataVersion(),
        onChange: () => {
          for (const w of [...watches]) {
            try {
              w.onChange();
            } catch (err) {
              w.onError(err);
            }
          }
        },
        onError: (err) => {
          for (const w of [...watches]) w.onError(err);
        },
      });
      byInterval.set(watch.intervalMs, (poller = { watches, stop }));
    }
    const shared = poller;
    shared.watches.add(watch);
    return () => {
      if (!shared.watches.delete(watch) || shared.watches.size > 0) return;
      shared.stop();
      byInterval!.delete(watch.intervalMs);
    };
  }

  /**
   * Runs the asynchronous `fn` between a manual `BEGIN IMMEDIATE` and a `COMMIT` (`commit`) or a `ROLLBACK` (always
   * when `fn` throws, and when `commit` is false). Repository calls made meanwhile run their own transactions as
   * savepoints inside this one (better-sqlite3 does so while the connection is in a transaction). Meant for a
   * cmdlet's own connection (Import-Directory and its -WhatIf): whatever else uses this connection while `fn` awaits
   * joins the transaction, and is committed or rolled back with it, so nothing else may write meanwhile. Settings
   * read meanwhile are forgotten afterwards.
   * @returns what `fn` resolved to; @throws whatever `fn` throws
   */
  async manualTransaction<T>(fn: () => Promise<T>, commit: boolean): Promise<T> {
    this.db.exec('BEGIN IMMEDIATE');
    let out: T;
    try {
      out = await fn();
    } catch (err) {
      this.endManualTransaction(false);
      throw err;
    }
    this.endManualTransaction(commit);
    return out;
  }

  private endManualTransaction(commit: boolean): void {
    try {
      // A statement that failed inside may already have ended the transaction (SQLite rolls back on some errors).
      if (this.db.inTransaction) this.db.exec(commit ? 'COMMIT' : 'ROLLBACK');
    } finally {
      this.settingsWritten();
    }
  }

  /** Parses stored settings JSON with a schema, once per kind and distinct JSON text ({@link ParsedSettings}). */
  settings<T extends object>(kind: string, schema: { parse(v: unknown): T }, json: string): T {
    return this.parsedSettings.parse(kind, schema, json);
  }

  /**
   * Settings read on every call (dial plans, UM IP gateways, mailbox policies, the conferencing tenant), parsed,
   * by query. They change rarely: the cache is emptied when this store writes any of them
   * ({@link settingsWritten}) and when another connection (a cmdlet in another process, a second instance) has
   * committed (SQLite's `data_version` moved), so a change still applies from the next call. `data_version` is
   * asked at most once per {@link SETTINGS_RECHECK_MS} of real time: a call reads several settings at once, and
   * each ask is a read of the WAL index.
   */
  private readonly settingsCache = new Map<string, unknown>();
  private settingsCacheVersion = -1;
  private settingsCheckedAt = -Infinity;

  /** The cached value of `key`, loaded with `load` when absent or when another connection committed since. */
  cachedSettings<T>(key: string, load: () => T): T {
    const now = performance.now();
    if (now - this.settingsCheckedAt >= SETTINGS_RECHECK_MS) {
      this.settingsCheckedAt = now;
      const version = this.sql('PRAGMA data_version').pluck().get() as number;
      if (version !== this.settingsCacheVersion) {
        this.settingsCache.clear();
        this.settingsCacheVersion = version;
      }
    }
    let v = this.settingsCache.get(key) as T | undefined;
    if (v === undefined) {
      v = load();
      this.settingsCache.set(key, v);
    }
    return v;
  }

  /** This store changed settings: cached ones are read again. */
  settingsWritten(): void {
    this.settingsCache.clear();
  }
}
