/**
 * The running server against garbage: binary junk, text that is not SIP, requests truncated in the start line, in
 * the headers or in the body, broken header values, over UDP and over TCP. Each gets 400 or is dropped (never
 * another answer, never a crash), and the calls that follow work: OPTIONS health checks, SIPp calls to the access
 * number over UDP and TCP, and a caller from an address that is not a UM IP gateway still gets 403.
 */
import { RawCall, TcpPeer, UdpPeer, h, isStatus, message, randomToken, type RawMessage } from '../sip/helpers/raw-sip';
import * as offers from '../sip/helpers/offers';

/** baresip's offer, with its media address on loopback: the real server sends RTP there, and tests stay on 127.0.0.0/8. */
const LOOPBACK_OFFER = offers.BARESIP.replace(/192\.168\.1\.20/g, '127.0.0.1');
import { runSipp } from '../sip/helpers/sipp';
import { describeCall, expectSippSuccess, startIvrServer, type IvrServer } from './helpers/ivr-server';

jest.setTimeout(45_000);

let t: IvrServer;

beforeAll(async () => {
  t = await startIvrServer();
});
afterAll(async () => {
  await t?.stop();
});

/** Deterministic junk bytes. */
function junk(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    b[i] = s >>> 16;
  }
  return b;
}

/** A well-formed INVITE to the access number from `peer`, to cut or break. */
function invite(peer: UdpPeer | TcpPeer): { call: RawCall; text: string } {
  const call = new RawCall(peer, t.target, '14255550100');
  return { call, text: call.invite(LOOPBACK_OFFER) };
}

/** The malformed messages, by name; each builds its text for a peer. */
const MALFORMED: Array<[string, (p: UdpPeer | TcpPeer) => string | Buffer]> = [
  ['binary junk', () => junk(200, 7)],
  ['text that is not SIP', () => 'NOT SIP AT ALL\r\nHello: world\r\n\r\n'],
  ['NUL bytes and junk', () => '\x00\x01\x02garbage\r\n\r\n'],
  ['truncated in the start line', (p) => invite(p).text.slice(0, 30)],
  ['truncated in the headers', (p) => invite(p).text.slice(0, 200)],
  ['headers without the blank line', (p) => invite(p).text.split('\r\n\r\n')[0]],
  ['body shorter than Content-Length', (p) => invite(p).text.slice(0, -40)],
  ['Content-Length far too large', (p) => invite(p).text.replace(/Content-Length: \d+/, 'Content-Length: 99999999')],
  ['Content-Length negative', (p) => invite(p).text.replace(/Content-Length: \d+/, 'Content-Length: -5')],
  ['Content-Length not a number', (p) => invite(p).text.replace(/Content-Length: \d+/, 'Content-Length: abc')],
  ['CSeq not a number', (p) => invite(p).text.replace('CSeq: 1 INVITE', 'CSeq: one INVITE')],
  ['CSeq method differs from the request', (p) => invite(p).text.replace('CSeq: 1 INVITE', 'CSeq: 1 BYE')],
  ['a header line without a colon', (p) => invite(p).text.replace('Max-Forwards: 70', 'Max-Forwards 70 and some junk')],
  ['Via that does not parse', (p) => invite(p).text.replace(/Via: [^\r]*/, 'Via: garbage!!')],
  ['no Call-ID', (p) => invite(p).text.replace(/Call-ID: [^\r]*\r\n/, '')],
  ['Request-URI that is not a URI', (p) => invite(p).text.replace(/^INVITE \S+/, 'INVITE ::::')],
  ['a response to nothing', () => message('SIP/2.0 200 OK', [['Via', `SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK${randomToken()}`], ['From', '<sip:a@127.0.0.1>;tag=1'], ['To', '<sip:b@127.0.0.1>;tag=2'], ['Call-ID', randomToken()], ['CSeq', '1 INVITE']])],
];

/** What the server sent back within `ms`: every message must be a 400 (or nothing came). */
function unexpected(got: RawMessage[]): string[] {
  return got.filter((m) => m.status !== 400).map((m) => m.startLine);
}

test('UDP: each malformed datagram gets 400 or nothing; the server still answers OPTIONS', async () => {
  const answers: Record<string, string[]> = {};
  for (const [name, build] of MALFORMED) {
    // A socket of its own for each, so that retransmitted 400s (a final answer to an INVITE is repeated until the
    // ACK, which junk never sends) are not mistaken for answers to the next one.
    const u = await UdpPeer.open(t.target);
    try {
      u.send(build(u));
      const got = await u.collect(() => true, 300);
      answers[name] = got.map((m) => m.startLine);
      expect({ name, unexpected: unexpected(got) }).toEqual({ name, unexpected: [] });
    } finally {
      await u.close();
    }
  }
  if (process.env.E2E_DEBUG) console.log(answers);
  // A request truncated in its body still names everything a response needs: it must get its 400.
  expect(answers['body shorter than Content-Length']).toEqual([expect.stringMatching(/^SIP\/2\.0 400 /)]);
  const u = await UdpPeer.open(t.target);
  try {
    const ping = new RawCall(u, t.target, 'ping');
    u.send(message(`OPTIONS ${ping.requestUri} SIP/2.0`, [['Via', ping.via(`z9hG4bK${randomToken()}`)], ['Max-Forwards', '70'], ['From', ping.from], ['To', ping.to], ['Call-ID', ping.callId], ['CSeq', '1 OPTIONS']]));
    await u.expect(isStatus(200, 'OPTIONS'), 3000, 'the 200 to OPTIONS');
  } finally {
    await u.close();
  }
  expect(t.calls).toHaveLength(0); // nothing malformed became a call
});

test('TCP: malformed messages on their own connections get 400, nothing, or a closed connection; a new connection works', async () => {
  for (const [name, build] of MALFORMED) {
    const k = await TcpPeer.open(t.target);
    try {
      k.send(build(k));
      const got = await k.collect(() => true, 300);
      expect({ name, unexpected: unexpected(got) }).toEqual({ name, unexpected: [] });
    } finally {
      await k.close();
    }
  }
  // Junk first, then a good request on the same connection: whatever the server did with the junk (dropped it, or
  // closed the connection), it is still serving.
  const k = await TcpPeer.open(t.target);
  try {
    k.send(junk(100, 3));
    await k.collect(() => true, 200);
  } finally {
    await k.close();
  }
  const ok = await TcpPeer.open(t.target);
  try {
    const ping = new RawCall(ok, t.target, 'ping');
    ok.send(message(`OPTIONS ${ping.requestUri} SIP/2.0`, [['Via', ping.via(`z9hG4bK${randomToken()}`)], ['Max-Forwards', '70'], ['From', ping.from], ['To', ping.to], ['Call-ID', ping.callId], ['CSeq', '1 OPTIONS']]));
    const r = await ok.expect(isStatus(200, 'OPTIONS'), 3000, 'the 200 to OPTIONS over TCP');
    expect(h(r, 'call-id')).toBe(ping.callId);
  } finally {
    await ok.close();
  }
  expect(t.calls).toHaveLength(0);
});

test('after the garbage: SIPp calls to the access number over UDP and TCP are answered and run the sign-in flow', async () => {
  for (const transport of ['u1', 't1'] as const) {
    const n = t.calls.length;
    const run = await runSipp({ scenario: { builtin: 'uac' }, target: t.target, service: '14255550100', transport, calls: 2, rate: 5, timeoutS: 20, killAfterMs: 30_000 });
    expectSippSuccess(t, run, 2);
    for (const i of [n, n + 1]) {
      const call = await t.ended(i);
      const why = describeCall(call);
      expect({ why, flow: call.record!.flow, result: call.record!.result }).toEqual({ why, flow: 'sign-in', result: 'hung-up' });
      expect(call.channel.heard[0]?.id).toBe('welcome');
    }
  }
});

test('a caller whose address is not a UM IP gateway (127.0.0.2) gets 403 and never reaches the IVR', async () => {
  const n = t.calls.length;
  const run = await runSipp({ scenario: { file: 'uac-rejected-403.xml' }, target: t.target, service: '14255550100', localAddress: '127.0.0.2', calls: 1, timeoutS: 10, killAfterMs: 20_000 });
  expectSippSuccess(t, run);
  expect(t.calls.length).toBe(n);
});

test('a request in another SIP version gets 505 Version Not Supported (as SIP/2.0) and never becomes a call', async () => {
  const callsBefore = t.calls.length;
  const u = await UdpPeer.open(t.target);
  try {
    const { text } = invite(u);
    u.send(text.replace(/ SIP\/2\.0\r\n/, ' SIP/3.0\r\n'));
    const got = await u.collect(() => true, 500);
    const finals = got.filter((m) => (m.status ?? 0) >= 200);
    expect(finals.length).toBeGreaterThan(0);
    for (const m of finals) expect(m.startLine).toMatch(/^SIP\/2\.0 505 /);
  } finally {
    await u.close();
  }
  expect(t.calls).toHaveLength(callsBefore);
});
