/**
 * The store contract (`store-contract.ts`) on both databases: SQLite in a temporary data folder per case, and
 * PostgreSQL: one cluster of Debian's PostgreSQL for the file, made by `initdb` in a temporary folder on a free
 * loopback port (`bench/servers/postgres-server.ts`), a new database per case.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DirectoryStore } from '../../src/directory/store';
import { PostgresStore } from '../../src/directory/postgres/postgres-store';
import type { OpenedStore } from '../../src/directory/opened-store';
import { startPostgres, type RunningPostgres } from '../../bench/servers/postgres-server';
import { describeStoreContract } from './store-contract';
import { loadDirectory } from '../../src/config/load';

let pg: RunningPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
}, 30_000);

describeStoreContract('SQLite', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'va-store-contract-'));
  const opened: OpenedStore[] = [];
  return {
    async open() {
      const s = DirectoryStore.open(dir, { pinHashCost: 4 });
      opened.push(s);
      return s;
    },
    async dispose() {
      for (const s of opened) await s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describeStoreContract('PostgreSQL', async () => {
  const url = await pg.createDatabase('contract');
  const opened: OpenedStore[] = [];
  return {
    async open() {
      const s = await PostgresStore.open(url, { pinHashCost: 4 });
      opened.push(s);
      return s;
    },
    async dispose() {
      for (const s of opened) await s.close();
    },
  };
});

describe('PostgreSQL store: what only it has', () => {
  test('the password of the URL is never shown; an unreachable server is VA_ERR_STORE_OPEN naming the URL without it', async () => {
    const url = (await pg.createDatabase('secret')).replace('postgres@', 'postgres:s3cret-pw@');
    const s = await PostgresStore.open(url, { pinHashCost: 4 });
    try {
      expect(s.description).not.toContain('s3cret-pw');
      expect(s.description).toMatch(/^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/secret_/);
    } finally {
      await s.close();
    }
    const err = await PostgresStore.open(`postgresql://va:s3cret-pw@127.0.0.1:${await closedTcpPort()}/nothing`).then(
      () => null,
      (e: unknown) => e as { code?: string; message: string },
    );
    expect(err?.code).toBe('VA_ERR_STORE_OPEN');
    expect(err?.message).toContain('postgresql://va@127.0.0.1:');
    expect(err?.message).not.toContain('s3cret-pw');
  }, 30_000);

  test('the database goes away: VA_ERR_STORE_UNAVAILABLE, told once; back, the next statement works and that is told once', async () => {
    const url = await pg.createDatabase('outage');
    const told: Array<[boolean, string]> = [];
    const s = await PostgresStore.open(url, { pinHashCost: 4, onAvailability: (up, detail) => told.push([up, detail]) });
    try {
      await s.importDirectory(loadDirectory().directory, 'contoso.yaml');
      await pg.halt();
      for (let i = 0; i < 3; i++) await expect(s.getMailbox('tony@contoso.com')).rejects.toMatchObject({ code: 'VA_ERR_STORE_UNAVAILABLE' });
      await expect(s.updateLogonFailures('tony@contoso.com', () => ({ failures: 1 }))).rejects.toMatchObject({ code: 'VA_ERR_STORE_UNAVAILABLE' });
      expect(told.map(([up]) => up)).toEqual([false]);
      await pg.resume();
      expect((await s.getMailbox('tony@contoso.com')).identity).toBe('tony@contoso.com');
      expect(told.map(([up]) => up)).toEqual([false, true]);
      expect(told[0][1]).toMatch(/^the PostgreSQL store postgresql:\/\/postgres@127\.0\.0\.1:\d+\/outage_\S+ is unavailable/);
    } finally {
      await pg.resume();
      await s.close();
    }
  }, 60_000);

  test('a statement stuck on a lock past store.statementTimeoutMs: VA_ERR_STORE_UNAVAILABLE, and the store goes on', async () => {
    const url = await pg.createDatabase('stuck');
    const s = await PostgresStore.open(url, { pinHashCost: 4, statementTimeoutMs: 400 });
    const { Client } = await import('pg');
    const locker = new Client({ connectionString: url });
    await locker.connect();
    try {
      await s.importDirectory(loadDirectory().directory, 'contoso.yaml');
      // A transaction that holds the mailboxes and never ends (an operator's session left open, a stuck process).
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE mailboxes IN ACCESS EXCLUSIVE MODE');
      await expect(s.getMailbox('tony@contoso.com')).rejects.toMatchObject({ code: 'VA_ERR_STORE_UNAVAILABLE' });
      await locker.query('ROLLBACK');
      expect((await s.getMailbox('tony@contoso.com')).identity).toBe('tony@contoso.com');
    } finally {
      await locker.end().catch(() => undefined);
      await s.close();
    }
  }, 60_000);

  test('a schema newer than the program is refused, not downgraded', async () => {
    const url = await pg.createDatabase('newer');
    await (await PostgresStore.open(url)).close();
    const { Client } = await import('pg');
    const c = new Client({ connectionString: url });
    await c.connect();
    await c.query(`INSERT INTO schema_migrations (version, name) VALUES (999, 'from the future')`);
    await c.end();
    const err = await PostgresStore.open(url).then(
      () => null,
      (e: unknown) => e as { code?: string; message: string },
    );
    expect(err).toMatchObject({ code: 'VA_ERR_STORE_OPEN' });
    expect(err?.message).toMatch(/schema version 999, newer than this program's/);
  }, 30_000);
});

/** A loopback TCP port nobody listens on (bound, then closed). */
async function closedTcpPort(): Promise<number> {
  const net = await import('node:net');
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
