/**
 * Out of resources is 503, not 500 (issue 19): when the RTP port range, `sip.maxCallsAllowed`, the memory budget
 * (`sip.memoryBudgetMB`) or the store is exhausted or unavailable, a new call from a UM IP gateway gets 503 Service
 * Unavailable with the directory's Retry-After, the log gets one line with a code and no stack trace, and
 * `va_calls_refused_total{reason}` counts it. Real `serve` (in process) on the embedded engine, raw SIP over UDP.
 */
import * as path from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { startPostgres } from '../../bench/servers/postgres-server';
import { startServer, type RunningServer } from '../../src/cli/serve';
import { createLogger } from '../../src/log';
import { counterValue, metrics } from '../../src/metrics';
import { DEFAULT_OFFER } from '../contract/call-source-contract';
import { h, RawCall, UdpPeer } from '../sip/helpers/raw-sip';
import { waitFor } from '../sip/helpers/test-server';
import { tempDir, writeConfig } from '../helpers';

interface Served {
  server: RunningServer;
  peer: UdpPeer;
  /** The log lines written so far, parsed. */
  lines: Record<string, unknown>[];
  stop(): Promise<void>;
}

/** Starts `serve` with `sip` settings and an RTP range, logging into memory. */
async function serve(sip: Record<string, unknown>, rtp: [number, number] = [0, 0], store?: string): Promise<Served> {
  const dir = tempDir('va-resources-');
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const server = await startServer({
    config: writeConfig(dir, (doc) => {
      doc.sip = { retryAfterSeconds: 9, ...sip };
    }),
    data: path.join(dir, 'data'),
    store,
    sipHost: '127.0.0.1',
    sipPort: 0,
    rtpPortMin: rtp[0],
    rtpPortMax: rtp[1],
    logger: createLogger({ level: 'info', destination }),
  });
  const peer = await UdpPeer.open({ address: '127.0.0.1', port: server.sip.port });
  return {
    server,
    peer,
    lines,
    stop: async () => {
      await peer.close();
      await server.stop();
    },
  };
}

/** Sends an INVITE to the OVA access number and waits for its final response. */
async function place(s: Served) {
  const call = new RawCall(s.peer, { address: '127.0.0.1', port: s.server.sip.port }, '14255550100');
  s.peer.send(call.invite(DEFAULT_OFFER));
  const rs = await s.peer.expect((m) => m.status !== undefined && m.status >= 200 && h(m, 'call-id') === call.callId, 10_000, `final response to ${call.callId}`);
  call.learn(rs);
  s.peer.send(call.ack(rs.status !== 200));
  return { call, rs };
}

/** The refusal's log lines: warn, with the code, and no stack (no `err`). */
function refusalLines(s: Served, code: string) {
  const hits = s.lines.filter((l) => l.code === code);
  for (const l of hits) {
    expect(l.level).toBe(40);
    expect(l.err).toBeUndefined();
    expect(JSON.stringify(l)).not.toMatch(/\n\s+at /);
  }
  return hits;
}

test('no RTP port left: 503 with Retry-After, VA_ERR_MEDIA_NO_PORT logged once per call without a stack, counted', async () => {
  // Two ports (one even): one call's RTP session.
  const base = 30000 + 2 * Math.floor(Math.random() * 900);
  const s = await serve({}, [base, base + 1]);
  try {
    const before = await counterValue(metrics.callsRefused, { reason: 'rtp-ports' });
    const first = await place(s);
    expect(first.rs.status).toBe(200);
    const second = await place(s);
    expect(second.rs.status).toBe(503);
    expect(h(second.rs, 'retry-after')).toBe('9');
    expect(await counterValue(metrics.callsRefused, { reason: 'rtp-ports' })).toBe(before + 1);
    expect(refusalLines(s, 'VA_ERR_MEDIA_NO_PORT')).toHaveLength(1);
    expect(s.lines.some((l) => l.level === 50)).toBe(false); // nothing at error level: not a bug
    s.peer.send(first.call.inDialog('BYE'));
    await waitFor(() => s.server.media.sessionCount === 0, 5000, 'the first call to end');
    const third = await place(s);
    expect(third.rs.status).toBe(200); // the port is back
    s.peer.send(third.call.inDialog('BYE'));
  } finally {
    await s.stop();
  }
}, 30_000);

test('MaxCallsAllowed: 503 with Retry-After, VA_ERR_CALL_LIMIT logged once per episode, every refusal counted', async () => {
  const s = await serve({ maxCallsAllowed: 1 });
  try {
    const before = await counterValue(metrics.callsRefused, { reason: 'max-calls' });
    const first = await place(s);
    expect(first.rs.status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const refused = await place(s);
      expect(refused.rs.status).toBe(503);
      expect(h(refused.rs, 'retry-after')).toBe('9');
    }
    expect(await counterValue(metrics.callsRefused, { reason: 'max-calls' })).toBe(before + 3);
    expect(refusalLines(s, 'VA_ERR_CALL_LIMIT')).toHaveLength(1);
    s.peer.send(first.call.inDialog('BYE'));
  } finally {
    await s.stop();
  }
}, 30_000);

test('over the memory budget: 503 with Retry-After, VA_ERR_MEMORY_BUDGET, counted', async () => {
  // A test process is well over 16 MB resident: every new call is over budget.
  const s = await serve({ memoryBudgetMB: 16 });
  try {
    const before = await counterValue(metrics.callsRefused, { reason: 'memory' });
    const refused = await place(s);
    expect(refused.rs.status).toBe(503);
    expect(h(refused.rs, 'retry-after')).toBe('9');
    expect(s.server.media.sessionCount).toBe(0);
    expect(await counterValue(metrics.callsRefused, { reason: 'memory' })).toBe(before + 1);
    const [line] = refusalLines(s, 'VA_ERR_MEMORY_BUDGET');
    expect(String(line.msg)).toMatch(/MB resident: over the memory budget \(16 MB\)/);
  } finally {
    await s.stop();
  }
}, 30_000);

test('the store unavailable (SQLITE_BUSY while routing): 503 with Retry-After, VA_ERR_STORE_UNAVAILABLE, counted, no RTP session left', async () => {
  const s = await serve({});
  const store = s.server.app.store;
  const listDialPlans = store.listDialPlans.bind(store);
  try {
    const before = await counterValue(metrics.callsRefused, { reason: 'store' });
    // What better-sqlite3 throws when another writer holds the database past the busy timeout.
    store.listDialPlans = () => {
      throw new Database.SqliteError('database is locked', 'SQLITE_BUSY');
    };
    const refused = await place(s);
    expect(refused.rs.status).toBe(503);
    expect(h(refused.rs, 'retry-after')).toBe('9');
    expect(await counterValue(metrics.callsRefused, { reason: 'store' })).toBe(before + 1);
    expect(refusalLines(s, 'VA_ERR_STORE_UNAVAILABLE')).toHaveLength(1);
    await waitFor(() => s.server.media.sessionCount === 0, 5000, 'the refused call to free its RTP session');
    // And back: the next call is taken.
    store.listDialPlans = listDialPlans;
    const ok = await place(s);
    expect(ok.rs.status).toBe(200);
    s.peer.send(ok.call.inDialog('BYE'));
  } finally {
    store.listDialPlans = listDialPlans;
    await s.stop();
  }
}, 30_000);

test('the store unavailable while admitting (the UM IP gateway list): 503, not 500', async () => {
  const s = await serve({});
  const store = s.server.app.store;
  const listGateways = store.listGateways.bind(store);
  try {
    store.listGateways = () => {
      throw new Database.SqliteError('disk I/O error', 'SQLITE_IOERR_READ');
    };
    const refused = await place(s);
    expect(refused.rs.status).toBe(503);
    expect(h(refused.rs, 'retry-after')).toBe('9');
    expect(refusalLines(s, 'VA_ERR_STORE_UNAVAILABLE')).toHaveLength(1);
    // A bug is still a 500, logged with its stack.
    store.listGateways = () => {
      throw new TypeError('not a store outage');
    };
    const broken = await place(s);
    expect(broken.rs.status).toBe(500);
    expect(s.lines.some((l) => l.level === 50 && (l.err as { stack?: string } | undefined)?.stack)).toBe(true);
  } finally {
    store.listGateways = listGateways;
    await s.stop();
  }
}, 30_000);

test('PostgreSQL goes away: new calls get 503 with Retry-After, said once in the log; back, calls are taken and that is said once', async () => {
  const pg = await startPostgres();
  try {
    const s = await serve({}, [0, 0], await pg.createDatabase('outage'));
    try {
      await pg.halt();
      for (let i = 0; i < 2; i++) {
        const refused = await place(s);
        expect(refused.rs.status).toBe(503);
        expect(h(refused.rs, 'retry-after')).toBe('9');
      }
      expect(s.lines.filter((l) => l.msg === 'store: the database does not answer; new calls get 503 until it does')).toHaveLength(1);
      // One refusal line per call (warn, no stack), beside the one error line of the outage.
      const refusals = s.lines.filter((l) => l.code === 'VA_ERR_STORE_UNAVAILABLE' && l.level === 40);
      expect(refusals).toHaveLength(2);
      for (const l of refusals) expect(l.err).toBeUndefined();
      await pg.resume();
      const ok = await place(s);
      expect(ok.rs.status).toBe(200);
      s.peer.send(ok.call.inDialog('BYE'));
      expect(s.lines.filter((l) => l.msg === 'store: the database answers again')).toHaveLength(1);
    } finally {
      await pg.resume();
      await s.stop();
    }
  } finally {
    await pg.stop();
  }
}, 60_000);
