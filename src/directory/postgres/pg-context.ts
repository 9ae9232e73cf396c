/**
 * What the PostgreSQL repositories of one store share: the connections (`pg`), one way to run a statement and a
 * transaction, the clock, the cache of settings read on every call, and the change channel that tells other
 * instances a write was committed.
 *
 * - Statements outside transactions go to two pipelined connections ({@link PgPipeline}: written without waiting
 *   for the answers before them, a tick's statements in one write); transactions take a connection of the pool.
 * - Transactions: {@link PgContext.tx} runs a function on one pooled connection between BEGIN and COMMIT; a
 *   read-modify-write locks its rows (`SELECT ... FOR UPDATE`), so instances on several machines serialise on the
 *   row, not on a timer. A serialization failure or deadlock (40001, 40P01) is retried a few times.
 * - Other writers: a trigger on every table (migrations, `va_store_changed()`) notifies `va_store_changed` with the
 *   writing connection's `application_name`, which is `va-<instance id>` for this store's pool; PostgreSQL delivers
 *   it at commit (once per transaction and payload). Each store LISTENs on one dedicated connection and ignores its
 *   own instance's notifications (`watchOtherWriters`). A write costs no extra round trip.
 * - Errors: a lost or refused connection, a server shutting down or out of connections becomes
 *   `VA_ERR_STORE_UNAVAILABLE` (signalling answers 503, issue 19), with the URL's password never in the message.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { ErrorCodes, VaError } from '../../errors';
import type { Clock } from '../../ports/clock';
import { ParsedSettings } from '../store-rows';
import { PgPipeline } from './pg-pipeline';

/** The channel of the change notifications. */
export const CHANGE_CHANNEL = 'va_store_changed';

/** Statement names by SQL text, for the whole process ({@link PgContext.statementName}). */
const STATEMENT_NAMES = new Map<string, string>();

/** A row read as an object. */
export type Row = Record<string, unknown>;

/** Something that runs a statement: the pool or one connection in a transaction. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>;
}

/** BIGINT (ms times, ids) as numbers: every value the store keeps is far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** SQLSTATE classes and codes that mean the database cannot serve now, not that the statement was wrong. */
function unavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    // Connection exception, insufficient resources, operator intervention; 57014 is a statement cancelled, by
    // `statement_timeout` (`store.statementTimeoutMs`) or by an operator: the database did not serve it in time.
    if (/^(08|53|57P)/.test(code) || code === '57014') return true;
    if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE)$/.test(code)) return true;
  }
  const msg = (err as Error | null)?.message ?? '';
  return /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(msg);
}

/** `postgresql://user:secret@host/db` → `postgresql://user@host/db`: what may be logged or shown. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return 'postgresql://(unparsable URL)';
  }
}

/** Turns a driver error into the store's: unavailable → VA_ERR_STORE_UNAVAILABLE; others are rethrown as they are. */
export function storeError(err: unknown, url: string): unknown {
  if (err instanceof VaError) return err;
  if (unavailable(err)) {
    return new VaError(ErrorCodes.STORE_UNAVAILABLE, `the PostgreSQL store ${redactUrl(url)} is unavailable: ${(err as Error).message}`, { cause: err });
  }
  return err;
}

/** Options for {@link PgContext}. */
export interface PgContextOptions {
  url: string;
  clock: Pick<Clock, 'now'>;
  /** Most connections of the pool, for transactions (default 10); two pipelined ones and the listener come on top. */
  maxConnections?: number;
  /** How long to wait for a connection, ms (default 5000): after it, the call gets VA_ERR_STORE_UNAVAILABLE. */
  connectTimeoutMs?: number;
  /**
   * How long PostgreSQL may run one statement outside a transaction, ms (default 30000; 0: no limit): past it, it is
   * cancelled (VA_ERR_STORE_UNAVAILABLE), so that a statement stuck on a lock does not hold up the statements queued
   * behind it on its pipelined connection. Transactions (imports, migrations, which may wait on each other's lock)
   * have no limit.
   */
  statementTimeoutMs?: number;
  /** Told once when the database stops answering and once when it answers again (for the log). */
  onAvailability?: (available: boolean, detail: string) => void;
}

/** One store's pool and what its repositories share. */
export class PgContext {
  /** This instance's id in change notifications (its own are ignored). */
  readonly instanceId = randomUUID();
  /** The pool's `application_name`: the payload of this instance's change notifications. */
  readonly applicationName = `va-${this.instanceId}`;
  readonly pool: pg.Pool;
  /** Where statements outside transactions go. */
  private readonly pipeline: PgPipeline;
  private readonly parsedSettings = new ParsedSettings();
  private readonly settingsCache = new Map<string, unknown>();
  private listener: pg.Client | null = null;
  private readonly watchers = new Set<() => void>();
  private listening: Promise<void> | null = null;

  /**
   * @param opts where and how to connect
   * @param bound a connection inside an open transaction that every statement of this context goes to (a
   *   rehearsal's view, {@link PgContext.boundTo}); transactions then are savepoints
   * @param shared the pool and pipeline of the context this one is bound from
   */
  constructor(
    readonly opts: PgContextOptions,
    private readonly bound: pg.PoolClient | null = null,
    shared?: { pool: pg.Pool; pipeline: PgPipeline },
  ) {
    const connection = { connectionString: opts.url, connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000, application_name: this.applicationName, types };
    this.pool = shared?.pool ?? new pg.Pool({ ...connection, max: opts.maxConnections ?? 10 });
    const statementTimeout = opts.statementTimeoutMs ?? 30_000;
    this.pipeline = shared?.pipeline ?? new PgPipeline({ ...connection, ...(statementTimeout > 0 ? { statement_timeout: statementTimeout } : {}) });
    // An idle connection that the server drops must not crash the process: the next query gets a new one.
    if (!shared) this.pool.on('error', () => undefined);
  }

  /** A context on the same connections whose statements all go to `client` (in a transaction the caller opened). */
  boundTo(client: pg.PoolClient): PgContext {
    return new PgContext(this.opts, client, { pool: this.pool, pipeline: this.pipeline });
  }

  /** Current time in ms from the store's clock. */
  now(): number {
    return this.opts.clock.now();
  }

  /**
   * Runs one statement: on `on` or the bound connection when given, else on the pipeline (autocommit).
   * @throws VaError VA_ERR_STORE_UNAVAILABLE when the database is unreachable
   */
  async query(text: string, values?: unknown[], on?: Queryable): Promise<pg.QueryResult> {
    this.pending++;
    try {
      // A named statement is parsed and planned once per connection, then only bound and run.
      const q = { name: this.statementName(text), text, values };
      const via = on ?? this.bound;
      const r = await (via ? via.query(q as never) : this.pipeline.query(q));
      if (!this.available) this.availability(true, 'the database answers again');
      return r;
    } catch (err) {
      throw this.failed(err);
    } finally {
      this.pending--;
    }
  }

  /**
   * A short name per distinct SQL text, the same in every context of the process (pg keeps prepared statements per
   * connection by name, and a name must always stand for one text on a connection).
   */
  private statementName(text: string): string {
    let n = STATEMENT_NAMES.get(text);
    if (!n) {
      n = `va_${STATEMENT_NAMES.size + 1}`;
      STATEMENT_NAMES.set(text, n);
    }
    return n;
  }

  /** Statements and transactions waiting on the database now. */
  get inFlight(): number {
    return this.pending;
  }
  private pending = 0;

  /** False from a failure that says the database is unreachable until the next statement that succeeds. */
  private available = true;

  private availability(available: boolean, detail: string): void {
    this.available = available;
    this.opts.onAvailability?.(available, detail);
  }

  /** The store's error for a driver error, noting when the database became unreachable. */
  private failed(err: unknown): unknown {
    const e = storeError(err, this.opts.url);
    if (this.available && e instanceof VaError && e.code === ErrorCodes.STORE_UNAVAILABLE) this.availability(false, e.message);
    return e;
  }

  /** The rows of one statement. */
  async rows<T = Row>(text: string, values?: unknown[], on?: Queryable): Promise<T[]> {
    return (await this.query(text, values, on)).rows as T[];
  }

  /** The first row of one statement, or undefined. */
  async row<T = Row>(text: string, values?: unknown[], on?: Queryable): Promise<T | undefined> {
    return (await this.query(text, values, on)).rows[0] as T | undefined;
  }

  /**
   * Runs `fn` in one transaction on one connection; commits when it resolves, rolls back when it throws. Retried
   * (up to 5 times) on a serialization failure or deadlock. `fn` must do all its work on the connection it is given.
   */
  async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    this.pending++;
    try {
      return await this.runTx(fn);
    } finally {
      this.pending--;
    }
  }

  private async runTx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.bound) return this.savepoint(this.bound, fn);
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        throw this.failed(err);
      }
      let broken = false;
      try {
        await client.query('BEGIN');
        const out = await fn(client);
        await client.query('COMMIT');
        if (!this.available) this.availability(true, 'the database answers again');
        return out;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        const code = (err as { code?: string }).code;
        if ((code === '40001' || code === '40P01') && attempt < 5) continue;
        if (unavailable(err)) broken = true;
        throw this.failed(err);
      } finally {
        client.release(broken);
      }
    }
  }

  /** `fn` inside a savepoint of the bound connection's transaction: undone alone when it throws. */
  private async savepoint<T>(c: pg.PoolClient, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    await c.query('SAVEPOINT va_tx');
    try {
      const out = await fn(c);
      await c.query('RELEASE SAVEPOINT va_tx');
      return out;
    } catch (err) {
      await c.query('ROLLBACK TO SAVEPOINT va_tx').catch(() => undefined);
      throw storeError(err, this.opts.url);
    }
  }

  /** Parses stored settings JSON with a schema, once per kind and distinct JSON text ({@link ParsedSettings}). */
  settings<T extends object>(kind: string, schema: { parse(v: unknown): T }, json: string): T {
    return this.parsedSettings.parse(kind, schema, json);
  }

  /**
   * Settings read on every call (dial plans, gateways, policies, the conferencing tenant), cached until this store
   * writes settings or another instance commits anything (its notification empties the cache). Until the change
   * channel listens, nothing is cached: a change is never missed.
   */
  async cachedSettings<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (!this.listener || this.bound) return load();
    if (this.settingsCache.has(key)) return this.settingsCache.get(key) as T;
    const v = await load();
    this.settingsCache.set(key, v);
    return v;
  }

  /** This store changed settings: cached ones are read again. */
  settingsWritten(): void {
    this.settingsCache.clear();
  }

  /**
   * Listens on the change channel (one dedicated connection). Idempotent; resolves once listening. A lost listening
   * connection is opened again after a second, and every watcher is told (something may have changed meanwhile).
   */
  listen(): Promise<void> {
    this.listening ??= this.openListener();
    return this.listening;
  }

  private async openListener(): Promise<void> {
    const client = new pg.Client({ connectionString: this.opts.url, connectionTimeoutMillis: this.opts.connectTimeoutMs ?? 5_000, types });
    client.on('notification', (n) => {
      if (n.channel !== CHANGE_CHANNEL || n.payload === this.applicationName) return;
      this.settingsCache.clear();
      for (const w of this.watchers) w();
    });
    client.on('error', () => undefined);
    client.on('end', () => {
      if (this.listener !== client) return;
      this.listener = null;
      this.listening = null;
      this.settingsCache.clear();
      if (this.closed) return;
      for (const w of this.watchers) w();
      setTimeout(() => {
        if (!this.closed && this.watchers.size) this.listen().catch(() => undefined);
      }, 1_000).unref();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (err) {
      this.listening = null;
      await client.end().catch(() => undefined);
      throw storeError(err, this.opts.url);
    }
    this.listener = client;
  }

  /**
   * Calls `onChange` whenever another instance commits a write.
   * @returns a function that stops the watch
   */
  watch(onChange: () => void, onError: (err: unknown) => void): () => void {
    this.watchers.add(onChange);
    this.listen().catch(onError);
    return () => {
      this.watchers.delete(onChange);
    };
  }

  private closed = false;

  /** Closes the listening connection, the pipeline and the pool (pending queries finish first). */
  async close(): Promise<void> {
    this.closed = true;
    const l = this.listener;
    this.listener = null;
    if (l) await l.end().catch(() => undefined);
    await this.pipeline.close();
    await this.pool.end().catch(() => undefined);
  }
}
