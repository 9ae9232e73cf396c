/**
 * Large SIP messages against the running server while calls are hearing prompts (issue 19, "SIP input"). The `sip`
 * package's header parsers are quadratic on long runs of white space: before the size limits, one 64 KB datagram
 * stalled every call's RTP for about 4 s (16 KB 0.4 s, 32 KB 1 s; 128 KB over TCP 10 to 12 s).
 *
 * Three calls to the access number hear the welcome prompt (RTP received on our own sockets). Over about 2.5 s,
 * 127.0.0.2 sends rounds of 16, 32 and 64 KB datagrams and a 128 KB TCP message, each with a long Contact header
 * (513 Message Too Large), and a 50 KB datagram within the limits whose header lines the package would take about
 * half a second to parse (answered 200 at once), while a monitor at 127.0.0.1 sends OPTIONS every 20 ms. What must
 * hold: every OPTIONS answered within 250 ms and 90 % within 50 ms, and the RTP inter-arrival p99 of the calls (20 ms
 * apart when paced) no more than 100 ms above its figure before the rounds: the stall this guards against is
 * seconds long, and in the full suite three test workers share two cores (30 ms above was once exceeded by 2 ms
 * there, at a p99 of 56 ms against 24). The figures are printed.
 */
import * as dgram from 'node:dgram';
import { RawCall, TcpPeer, UdpPeer, h, isStatus, message, randomToken, type RawMessage } from '../sip/helpers/raw-sip';
import { counterValue, metrics } from '../../src/metrics';
import { startIvrServer, type IvrServer } from './helpers/ivr-server';

jest.setTimeout(60_000);

const CALLS = 3;
const ROUNDS = 4;
const ROUND_EVERY_MS = 600;
const OPTIONS_EVERY_MS = 20;
const RTP_MARGIN_MS = 100;

let t: IvrServer;
const closers: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  t = await startIvrServer();
});
afterAll(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await t?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One RTP packet's arrival: when, sequence number, timestamp. */
interface Arrival {
  at: number;
  seq: number;
  ts: number;
}

/** A caller: SIP from a raw peer, RTP received on a socket of its own. */
async function placeCall(): Promise<{ call: RawCall; peer: UdpPeer; arrivals: Arrival[] }> {
  const rtp = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => rtp.bind(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => rtp.close(() => resolve())));
  const arrivals: Arrival[] = [];
  rtp.on('message', (m) => {
    if (m.length >= 12 && (m[1] & 0x7f) === 0) arrivals.push({ at: performance.now(), seq: m.readUInt16BE(2), ts: m.readUInt32BE(4) });
  });
  const port = (rtp.address() as { port: number }).port;
  const sdp = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=ptime:20', 'a=sendrecv', ''].join('\r\n');
  const peer = await UdpPeer.open(t.target);
  closers.push(() => peer.close());
  const call = new RawCall(peer, t.target, '14255550100');
  peer.send(call.invite(sdp));
  const ok = await peer.expect(isStatus(200, 'INVITE'), 5000, 'the 200 to the INVITE');
  call.learn(ok);
  peer.send(call.ack());
  return { call, peer, arrivals };
}

/** Inter-arrival times (ms) of consecutive packets of one talkspurt (next sequence number, next 20 ms of media). */
function gaps(arrivals: Arrival[], from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = 1; i < arrivals.length; i++) {
    const a = arrivals[i - 1];
    const b = arrivals[i];
    if (b.at < from || b.at > to) continue;
    if (((a.seq + 1) & 0xffff) !== b.seq || ((b.ts - a.ts) >>> 0) !== 160) continue;
    out.push(b.at - a.at);
  }
  return out;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** A request from `peer` with a header of `bytes` bytes: a URI then a run of spaces (quadratic for the package). */
function oversized(peer: UdpPeer | TcpPeer, callId: string, bytes: number): string {
  return message(`OPTIONS sip:14255550100@${t.target.address}:${t.target.port} SIP/2.0`, [
    ['Via', `SIP/2.0/${peer.transport} ${peer.address}:${peer.port};branch=z9hG4bK${randomToken()};rport`],
    ['Max-Forwards', '70'],
    ['From', `<sip:attacker@${peer.address}>;tag=${randomToken(4)}`],
    ['To', `<sip:14255550100@${t.target.address}>`],
    ['Call-ID', callId],
    ['CSeq', '1 OPTIONS'],
    ['Contact', `<sip:attacker@${peer.address}:${peer.port}>${' '.repeat(bytes - 400)}x`],
  ]);
}

/** Within every limit, but seven header lines of long white space runs and an Authorization token. */
function slowButLegal(peer: UdpPeer, callId: string): string {
  return message(`OPTIONS sip:14255550100@${t.target.address}:${t.target.port} SIP/2.0`, [
    ['Via', `SIP/2.0/UDP ${peer.address}:${peer.port};branch=z9hG4bK${randomToken()};rport`],
    ['Max-Forwards', '70'],
    ['From', `<sip:attacker@${peer.address}>;tag=${randomToken(4)}`],
    ['To', `<sip:14255550100@${t.target.address}>`],
    ['Call-ID', callId],
    ['CSeq', '1 OPTIONS'],
    ...Array.from({ length: 6 }, (_, i) => ['Route', `<sip:p${i}@127.0.0.2;lr>${' '.repeat(7000)}x`] as [string, string]),
    ['Authorization', `Digest ${'a'.repeat(7000)}`],
  ]);
}

test('16/32/64 KB datagrams and 128 KB over TCP during calls: 513 at once, OPTIONS answered in time, RTP paced as before', async () => {
  const calls = [];
  for (let i = 0; i < CALLS; i++) calls.push(await placeCall());
  const attacker = await UdpPeer.open(t.target, '127.0.0.2');
  closers.push(() => attacker.close());
  const monitor = await UdpPeer.open(t.target);
  closers.push(() => monitor.close());
  const before = { tooLong: await counterValue(metrics.sipRejected, { reason: 'header-too-long' }) };

  // The calls hear the welcome prompt: 2 s of it before anything else is sent.
  const answeredAt = performance.now();
  await sleep(2000);
  const attackStart = performance.now();

  // The monitor: OPTIONS every 20 ms while the rounds go on.
  const probes = new Map<string, number>();
  let probing = true;
  const prober = (async () => {
    for (let i = 0; probing && i < 500; i++) {
      const callId = `monitor-${i}-${randomToken()}`;
      probes.set(callId, performance.now());
      monitor.send(
        message(`OPTIONS sip:14255550100@${t.target.address}:${t.target.port} SIP/2.0`, [
          ['Via', `SIP/2.0/UDP 127.0.0.1:${monitor.port};branch=z9hG4bK${randomToken()};rport`],
          ['Max-Forwards', '70'],
          ['From', `<sip:monitor@127.0.0.1>;tag=${randomToken(4)}`],
          ['To', `<sip:14255550100@${t.target.address}>`],
          ['Call-ID', callId],
          ['CSeq', '1 OPTIONS'],
        ]),
      );
      await sleep(OPTIONS_EVERY_MS);
    }
  })();

  const udpIds: string[] = [];
  const slowIds: string[] = [];
  const tcpResults: Array<{ callId: string; rs: RawMessage | null; closed: boolean }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    // A server that stalls (as before the limits: seconds per message) ends the rounds early; the checks then fail.
    if (performance.now() - attackStart > 8000) break;
    const roundStart = performance.now();
    for (const kb of [16, 32, 64]) {
      const callId = `big-${round}-${kb}-${randomToken()}`;
      udpIds.push(callId);
      attacker.send(oversized(attacker, callId, Math.min(kb * 1024, 65_000)));
    }
    const slowId = `slow-${round}-${randomToken()}`;
    slowIds.push(slowId);
    attacker.send(slowButLegal(attacker, slowId));
    const k = await TcpPeer.open(t.target, '127.0.0.2');
    closers.push(() => k.close());
    const tcpId = `tcp-${round}-${randomToken()}`;
    k.send(oversized(k, tcpId, 128 * 1024));
    const rs = await k.expect((m) => h(m, 'call-id') === tcpId, 2000, 'the 513 over TCP').catch(() => null);
    const closed = await k.waitClosed(2000).then(() => true, () => false);
    tcpResults.push({ callId: tcpId, rs, closed });
    await sleep(Math.max(0, ROUND_EVERY_MS - (performance.now() - roundStart)));
  }
  await sleep(300);
  probing = false;
  await prober;
  const attackEnd = performance.now();
  await sleep(300);

  // What the attacker got: a 513 for each oversized message, 200 for the legal ones.
  const got = (id: string) => attacker.all.find((m) => h(m, 'call-id') === id);
  const udpAnswers = udpIds.map((id) => got(id)?.startLine ?? 'nothing');
  const slowAnswers = slowIds.map((id) => got(id)?.startLine ?? 'nothing');

  // OPTIONS latency.
  const latencies: number[] = [];
  let unanswered = 0;
  for (const [callId, sentAt] of probes) {
    const rs = monitor.all.find((m) => m.status !== undefined && h(m, 'call-id') === callId);
    if (rs) latencies.push(rs.at - sentAt);
    else unanswered++;
  }

  // RTP pacing before and during.
  const baseline = calls.flatMap((c) => gaps(c.arrivals, answeredAt + 300, attackStart));
  const during = calls.flatMap((c) => gaps(c.arrivals, attackStart, attackEnd));
  const figures = {
    options: { sent: probes.size, unanswered, p50: percentile(latencies, 50), p90: percentile(latencies, 90), max: Math.max(...latencies) },
    rtp: { baselineN: baseline.length, baselineP99: percentile(baseline, 99), duringN: during.length, duringP99: percentile(during, 99), duringMax: Math.max(...during) },
  };
  console.log(`sip-large-messages: ${JSON.stringify(figures, (_k, v) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v))}`);

  expect(udpIds).toHaveLength(ROUNDS * 3);
  expect(udpAnswers).toEqual(udpIds.map(() => 'SIP/2.0 513 Message Too Large'));
  expect(slowAnswers).toEqual(slowIds.map(() => 'SIP/2.0 200 OK'));
  expect(tcpResults.map((r) => ({ line: r.rs?.startLine ?? 'nothing', closed: r.closed }))).toEqual(tcpResults.map(() => ({ line: 'SIP/2.0 513 Message Too Large', closed: true })));
  expect(await counterValue(metrics.sipRejected, { reason: 'header-too-long' })).toBe(before.tooLong + ROUNDS * 4);
  expect(unanswered).toBe(0);
  expect(probes.size).toBeGreaterThan(50);
  expect(figures.options.max).toBeLessThan(250);
  expect(figures.options.p90).toBeLessThan(50);
  expect(baseline.length).toBeGreaterThan(100);
  expect(during.length).toBeGreaterThan(100);
  expect(figures.rtp.duringP99).toBeLessThanOrEqual(figures.rtp.baselineP99 + RTP_MARGIN_MS);

  // The calls are still up and end normally.
  for (const c of calls) {
    c.peer.send(c.call.inDialog('BYE'));
    await c.peer.expect(isStatus(200, 'BYE'), 3000, 'the 200 to BYE');
  }
  expect(t.errors).toEqual([]);
});
