/**
 * The PostgreSQL store's pipelined connections (`src/directory/postgres/pg-pipeline.ts`) on a real server (a cluster
 * of Debian's PostgreSQL on a free loopback port): answers reach the statements that asked, in any number at once; a
 * failing statement fails alone; one that runs past `statement_timeout` is cancelled and the ones behind it answered;
 * a tick's statements leave in one socket write; a connection the server ends is replaced at the next statement; close
 * ends every connection.
 */
import pg from 'pg';
import { startPostgres, type RunningPostgres } from '../../bench/servers/postgres-server';
import { PgPipeline } from '../../src/directory/postgres/pg-pipeline';

let server: RunningPostgres;
let url: string;
let admin: pg.Client;
const pipelines: PgPipeline[] = [];
beforeAll(async () => {
  server = await startPostgres();
  url = await server.createDatabase('pipeline');
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query('CREATE TABLE t (id int PRIMARY KEY, label text NOT NULL)');
  await admin.query("INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 500) g");
}, 60_000);
afterAll(async () => {
  for (const p of pipelines) await p.close();
  await admin?.end().catch(() => undefined);
  await server?.stop();
}, 30_000);

/** A pipeline on the test database whose connections are named `name` (to find them in pg_stat_activity). */
function pipeline(name: string, connections = 2, config: pg.ClientConfig = {}): PgPipeline {
  const p = new PgPipeline({ connectionString: url, application_name: name, ...config }, connections);
  pipelines.push(p);
  return p;
}

/** Connections of the pipeline named `name` that the server has open. */
async function connectionsOf(name: string): Promise<number> {
  const r = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [name]);
  return r.rows[0].n as number;
}

const byId = { name: 'by-id', text: 'SELECT id, label FROM t WHERE id = $1' };

test('500 statements at once: each gets its own row, over two connections', async () => {
  const p = pipeline('va-test-many');
  const rows = await Promise.all(Array.from({ length: 500 }, (_, i) => p.query({ ...byId, values: [i + 1] })));
  expect(rows.map((r) => r.rows[0])).toEqual(Array.from({ length: 500 }, (_, i) => ({ id: i + 1, label: `row ${i + 1}` })));
  expect(await connectionsOf('va-test-many')).toBe(2);
});

test('a failing statement fails alone: the ones written before and after it on the same connection are answered', async () => {
  const p = pipeline('va-test-error', 1);
  const results = await Promise.allSettled([
    p.query({ ...byId, values: [1] }),
    p.query({ text: 'INSERT INTO t (id, label) VALUES ($1, $2)', values: [1, 'duplicate'] }),
    p.query({ ...byId, values: [2] }),
    p.query({ text: 'SELECT 1 / $1::int AS x', values: [0] }),
    p.query({ ...byId, values: [3] }),
  ]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
  expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: '23505' });
  expect((results[3] as PromiseRejectedResult).reason).toMatchObject({ code: '22012' });
  expect((results[4] as PromiseFulfilledResult<pg.QueryResult>).value.rows).toEqual([{ id: 3, label: 'row 3' }]);
  // Each statement committed on its own: the write before the failure stays, the one after it too.
  await Promise.allSettled([
    p.query({ text: 'INSERT INTO t (id, label) VALUES ($1, $2)', values: [1001, 'kept'] }),
    p.query({ text: 'INSERT INTO t (id, label) VALUES ($1, $2)', values: [1001, 'duplicate'] }),
    p.query({ text: 'INSERT INTO t (id, label) VALUES ($1, $2)', values: [1002, 'kept too'] }),
  ]);
  expect((await admin.query('SELECT label FROM t WHERE id > 1000 ORDER BY id')).rows).toEqual([{ label: 'kept' }, { label: 'kept too' }]);
});

test('a statement stuck on a lock past statement_timeout is cancelled; the one queued behind it is answered', async () => {
  const p = pipeline('va-test-timeout', 1, { statement_timeout: 300 });
  const locker = new pg.Client({ connectionString: url });
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query('SELECT id FROM t WHERE id = 9 FOR UPDATE'); // a transaction that never ends, holding a row
    const results = await Promise.allSettled([
      p.query({ text: 'UPDATE t SET label = $2 WHERE id = $1', values: [9, 'blocked'] }),
      p.query({ ...byId, values: [10] }),
    ]);
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { code: '57014' } });
    expect(results[1]).toMatchObject({ status: 'fulfilled', value: { rows: [{ id: 10, label: 'row 10' }] } });
  } finally {
    await locker.query('ROLLBACK');
    await locker.end();
  }
  expect((await p.query({ ...byId, values: [9] })).rows).toEqual([{ id: 9, label: 'row 9' }]);
}, 20_000);

test("the statements of one tick leave in one socket write; the next tick's in another", async () => {
  const p = pipeline('va-test-cork', 1);
  await p.query({ ...byId, values: [1] }); // opens the connection
  const socket = (p as unknown as { lanes: Array<{ client: { connection: { stream: { _writev: unknown; _write: unknown } } } }> }).lanes[0].client.connection.stream;
  const writev = jest.spyOn(socket as { _writev: (...a: unknown[]) => void }, '_writev');
  const write = jest.spyOn(socket as { _write: (...a: unknown[]) => void }, '_write');
  const first = Array.from({ length: 10 }, (_, i) => p.query({ ...byId, values: [i + 1] }));
  await Promise.all(first);
  expect({ writev: writev.mock.calls.length, write: write.mock.calls.length }).toEqual({ writev: 1, write: 0 });
  // Ten statements, each in its own tick: ten writes.
  for (let i = 0; i < 10; i++) await p.query({ ...byId, values: [i + 1] });
  expect(writev.mock.calls.length + write.mock.calls.length).toBe(11);
});

test('a connection the server ends fails the statement on it; the next statement opens a new one', async () => {
  const p = pipeline('va-test-lost', 1);
  await p.query({ ...byId, values: [1] });
  await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'va-test-lost'");
  const deadline = Date.now() + 10_000;
  let answered = false;
  // The statement written before the client learns of the loss fails; a later one is answered on a new connection.
  while (!answered && Date.now() < deadline) {
    answered = await p.query({ ...byId, values: [7] }).then(
      (r) => r.rows[0].label === 'row 7',
      () => false,
    );
  }
  expect(answered).toBe(true);
  expect(await connectionsOf('va-test-lost')).toBe(1);
});

test('close ends every connection; a statement after it is refused', async () => {
  const p = pipeline('va-test-close', 2);
  await Promise.all([p.query({ ...byId, values: [1] }), p.query({ ...byId, values: [2] })]);
  expect(await connectionsOf('va-test-close')).toBe(2);
  await p.close();
  const deadline = Date.now() + 5_000;
  while ((await connectionsOf('va-test-close')) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(await connectionsOf('va-test-close')).toBe(0);
  await expect(p.query({ ...byId, values: [1] })).rejects.toThrow(/closed/);
});
