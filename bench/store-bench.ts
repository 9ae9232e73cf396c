/**
 * The store on PostgreSQL beside SQLite, in the same run (issue 20 target: PostgreSQL at least 0.5 of SQLite's
 * sign-in rate): simulated sign-ins per second through the runtime and the store (the sign-in scenario of
 * `sim-bench.ts`, run by `runScenario` on each store), and the time of the store's part of a PIN check, of storing a
 * message and of one lamp change. PostgreSQL is Debian's, in a cluster of its own on loopback
 * (`servers/postgres-server.ts`, fsync off as in the tests: the figures are the protocol's and the queries', not the
 * disk's).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadDirectory } from '../src/config/load';
import { PostgresStore } from '../src/directory/postgres/postgres-store';
import type { OpenedStore } from '../src/directory/opened-store';
import { DirectoryStore } from '../src/directory/store';
import { stealMeter, withOwnCores } from './host';
import { startPostgres } from './servers/postgres-server';
import { runtimeSignIns } from './flow-engine-bench';
import { measureSignIns } from './sim-bench';
import { THROWAWAY_PIN_HASH_COST } from '../src/sim/runner';

const TARGET_RATIO = 0.5;
const DAVID = 'david@contoso.com';

/** Mean µs of `fn` over `n` sequential runs (after `n / 10` to warm up). */
async function timeOf(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.ceil(n / 10); i++) await fn(i);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return ((performance.now() - t0) * 1000) / n;
}

/** The store's part of three operations, µs each. */
async function storeOps(store: OpenedStore, n: number): Promise<{ pinCheck: number; storeMessage: number; lampChange: number }> {
  // A PIN check reads the mailbox (at the extension prompt) and its policy, then stores the outcome by a
  // compare-and-set on that row (a failure counted here: a write; a right PIN with nothing counted only compares).
  const pinCheck = await timeOf(n, async () => {
    const m = await store.getMailbox(DAVID);
    await store.getPolicy(m.policy);
    await store.compareAndSetLogonState(m, { failures: m.logonFailures >= 2 ? 0 : m.logonFailures + 1, lockedOut: false });
  });
  const storeMessage = await timeOf(n, (i) =>
    store.addVoiceMessage({ identity: DAVID, caller: '+14255550123', receivedAt: i, durationMs: 4000, urgent: false, audioFile: `/recordings/m${i}.wav` }),
  );
  // One lamp change as one instance sends it: the counts, the claim, the record of the delivery, the release.
  const lampChange = await timeOf(n, async (i) => {
    await store.messageCounts(DAVID);
    await store.mwiDeliveries.claim(DAVID, 'bench', i + 60_000, i);
    await store.mwiDeliveries.lastDelivered(DAVID);
    await store.mwiDeliveries.delivered(DAVID, `sig-${i}`, i);
    await store.mwiDeliveries.release(DAVID, 'bench');
  });
  return { pinCheck, storeMessage, lampChange };
}

/** Prints the figures. */
export async function runStoreBench(calls = Number(process.env.BENCH_STORE_CALLS ?? 1000), ops = Number(process.env.BENCH_STORE_OPS ?? 2000)): Promise<void> {
  const pg = await startPostgres();
  const dir = mkdtempSync(path.join(tmpdir(), 'va-store-bench-'));
  try {
    const steal = stealMeter();
    await measureSignIns(Math.round(calls / 4));
    await measureSignIns(Math.round(calls / 4), undefined, await pg.createDatabase('warm'));
    const sqliteRate = await measureSignIns(calls);
    const pgRate = await measureSignIns(calls, undefined, await pg.createDatabase('signins'));
    // As a server runs them: the call runtime (channels answering at once), 10 calls at a time.
    // Every call signs in to one mailbox; an attempt whose row changed under it is counted before its check, and
    // fewer than MaxLogonAttempts (15) are ever in flight.
    const CONCURRENT = 10;
    const sqliteServer = await runtimeSignIns(calls * 2, THROWAWAY_PIN_HASH_COST, { concurrency: CONCURRENT });
    const pgServer = await runtimeSignIns(calls * 2, THROWAWAY_PIN_HASH_COST, { concurrency: CONCURRENT, store: await pg.createDatabase('runtime') });
    // The same with PostgreSQL on cores of its own, as on its own machine: this process on CPU 0, the server on the
    // others (its backends for the run are forked after the pinning, so they inherit it).
    const ownDb = await pg.createDatabase('own');
    const ownCores = await withOwnCores([pg.pid], async () => ({
      sqlite: await runtimeSignIns(calls * 2, THROWAWAY_PIN_HASH_COST, { concurrency: CONCURRENT }),
      pg: await runtimeSignIns(calls * 2, THROWAWAY_PIN_HASH_COST, { concurrency: CONCURRENT, store: ownDb }),
    }));
    const { directory, path: source } = loadDirectory();
    const sqlite = DirectoryStore.open(path.join(dir, 'data'), { pinHashCost: 4 });
    await sqlite.importDirectory(directory, source);
    const postgres = await PostgresStore.open(await pg.createDatabase('ops'), { pinHashCost: 4 });
    await postgres.importDirectory(directory, source);
    const s = await storeOps(sqlite, ops);
    const p = await storeOps(postgres, ops);
    await sqlite.close();
    await postgres.close();
    const f = (n: number) => Math.round(n).toLocaleString('en-US');
    const ratio = pgServer / sqliteServer;
    const simRatio = pgRate.perSecond / sqliteRate.perSecond;
    console.log(`the store: PostgreSQL 15 (a cluster on loopback) beside SQLite (WAL), one process; the host took ${(steal() * 100).toFixed(0)}% of the CPU time during the run:`);
    console.log(`  sign-ins through the runtime and the store, ${CONCURRENT} calls at a time as a server has them: SQLite ${f(sqliteServer)}/s, PostgreSQL ${f(pgServer)}/s over ${calls * 2} calls; ratio ${ratio.toFixed(2)}, target ${TARGET_RATIO} (${ratio >= TARGET_RATIO ? 'met' : 'not met'})`);
    if (ownCores) {
      const r = ownCores.pg / ownCores.sqlite;
      console.log(`  the same with PostgreSQL on a core of its own (this process pinned to CPU 0, the server to the others, as on two machines): SQLite ${f(ownCores.sqlite)}/s, PostgreSQL ${f(ownCores.pg)}/s; ratio ${r.toFixed(2)} (${r >= TARGET_RATIO ? 'met' : 'not met'})`);
    } else console.log('  (PostgreSQL on a core of its own: not measured here, it needs taskset and 2 CPUs)');
    console.log(`  simulated sign-ins on the virtual clock (each waits for the store before time moves: one round trip at a time): SQLite ${f(sqliteRate.perSecond)}/s (${sqliteRate.failures} failed), PostgreSQL ${f(pgRate.perSecond)}/s (${pgRate.failures} failed) over ${calls} calls; ratio ${simRatio.toFixed(2)}`);
    console.log(`  the store's part of a PIN check (mailbox, policy, the failure count's compare-and-set): SQLite ${s.pinCheck.toFixed(0)} µs, PostgreSQL ${p.pinCheck.toFixed(0)} µs (${(p.pinCheck / s.pinCheck).toFixed(1)}x)`);
    console.log(`  storing a message row: SQLite ${s.storeMessage.toFixed(0)} µs, PostgreSQL ${p.storeMessage.toFixed(0)} µs (${(p.storeMessage / s.storeMessage).toFixed(1)}x)`);
    console.log(`  one lamp change (counts, claim, last delivered, record, release): SQLite ${s.lampChange.toFixed(0)} µs, PostgreSQL ${p.lampChange.toFixed(0)} µs (${(p.lampChange / s.lampChange).toFixed(1)}x)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await pg.stop();
  }
}

if (require.main === module) void runStoreBench();
