/**
 * The running server against garbage: binary junk, text that is not SIP, requests truncated in the start line, in
 * the headers or in the body, broken header values, over UDP and over TCP. Each gets 400 or is dropped (never
 * another answer, never a crash). Then requests that are too large or odd (issue 19, "SIP input"): very long header
 * fields and too many of them (513), huge or negative integers in CSeq, Content-Length, Max-Forwards and Expires,
 * escaped tokens, odd URI schemes, broken Via and Contact: each gets its one answer. And the calls that follow work:
 * OPTIONS health checks, SIPp calls to the access number over UDP and TCP, and a caller from an address that is not
 * a UM IP gateway still gets 403.
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

/** What the server sent back within `ms`: every message must be one of `allowed` (400), or nothing came. */
function unexpected(got: RawMessage[], allowed: number[] = [400]): string[] {
  return got.filter((m) => !allowed.includes(m.status ?? 0)).map((m) => m.startLine);
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
      // Over TCP a body announced over the size limit is 513 Message Too Large (the message cannot be read whole).
      const allowed = name === 'Content-Length far too large' ? [400, 513] : [400];
      expect({ name, unexpected: unexpected(got, allowed) }).toEqual({ name, unexpected: [] });
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

/** A request from `peer` to the access number, for the odd-input cases: `edit` changes its text. */
function oddRequest(peer: UdpPeer | TcpPeer, method: string, edit: (s: string) => string = (x) => x): { callId: string; text: string } {
  const call = new RawCall(peer, t.target, '14255550100');
  const text =
    method === 'INVITE'
      ? call.invite(LOOPBACK_OFFER)
      : message(`${method} ${call.requestUri} SIP/2.0`, [['Via', call.via(`z9hG4bK${randomToken()}`)], ['Max-Forwards', '70'], ['From', call.from], ['To', call.to], ['Call-ID', call.callId], ['CSeq', `1 ${method}`]]);
  return { callId: call.callId, text: edit(text) };
}

/** Too large or odd requests (issue 19, "SIP input"): [name, method, edit, the one answer expected]. */
const ODD: Array<[string, string, (s: string) => string, number]> = [
  ['a 20 KB header field', 'OPTIONS', (s) => s.replace('Max-Forwards: 70', `Max-Forwards: 70\r\nSubject: ${'long '.repeat(4000)}`), 513],
  ['300 header fields', 'OPTIONS', (s) => s.replace('Max-Forwards: 70', Array.from({ length: 300 }, (_, i) => `X-Header-${i}: ${i}`).join('\r\n') + '\r\nMax-Forwards: 70'), 513],
  ['a Contact list of 300 entries', 'OPTIONS', (s) => s.replace('Max-Forwards: 70', `Max-Forwards: 70\r\nContact: ${Array.from({ length: 300 }, (_, i) => `<sip:c${i}@127.0.0.1>`).join(', ')}`), 513],
  ['CSeq 4294967296', 'OPTIONS', (s) => s.replace('CSeq: 1 OPTIONS', 'CSeq: 4294967296 OPTIONS'), 400],
  ['CSeq 99999999999999999999 on an INVITE', 'INVITE', (s) => s.replace('CSeq: 1 INVITE', 'CSeq: 99999999999999999999 INVITE'), 400],
  ['CSeq -1', 'OPTIONS', (s) => s.replace('CSeq: 1 OPTIONS', 'CSeq: -1 OPTIONS'), 400],
  ['Content-Length 99999999999999999999', 'OPTIONS', (s) => s.replace(/Content-Length: \d+/, 'Content-Length: 99999999999999999999'), 400],
  ['two Content-Length values', 'OPTIONS', (s) => s.replace(/Content-Length: \d+/, 'Content-Length: 0\r\nContent-Length: 3'), 400],
  ['Max-Forwards 300', 'OPTIONS', (s) => s.replace('Max-Forwards: 70', 'Max-Forwards: 300'), 400],
  ['Max-Forwards 99999999999', 'INVITE', (s) => s.replace('Max-Forwards: 70', 'Max-Forwards: 99999999999'), 400],
  ['Max-Forwards -1', 'OPTIONS', (s) => s.replace('Max-Forwards: 70', 'Max-Forwards: -1'), 400],
  ['Expires 99999999999999999999 (ignored by OPTIONS)', 'OPTIONS', (s) => s.replace('Max-Forwards: 70', 'Max-Forwards: 70\r\nExpires: 99999999999999999999'), 200],
  ['Expires -5 (ignored by OPTIONS)', 'OPTIONS', (s) => s.replace('Max-Forwards: 70', 'Max-Forwards: 70\r\nExpires: -5'), 200],
  ['an escaped method (RFC 4475 esc02)', 'RE%47IST%45R', (s) => s, 501],
  ['an unknown method', 'FROBNICATE', (s) => s, 501],
  ['an escaped header name is another header', 'OPTIONS', (s) => s.replace('Max-Forwards: 70', 'Max-Forwards: 70\r\nContent%2DLength: 99'), 200],
  ['a mailto: Request-URI', 'OPTIONS', (s) => s.replace(/^OPTIONS \S+/, 'OPTIONS mailto:ivr@example.com'), 416],
  ['an urn: Request-URI on an INVITE', 'INVITE', (s) => s.replace(/^INVITE \S+/, 'INVITE urn:service:sos'), 416],
  ['an http: Request-URI on a BYE', 'BYE', (s) => s.replace(/^BYE \S+/, 'BYE http://127.0.0.1/'), 416],
  ['sip: without a host', 'OPTIONS', (s) => s.replace(/^OPTIONS \S+/, 'OPTIONS sip:'), 400],
  ['a Via with an empty branch', 'INVITE', (s) => s.replace(/;branch=[^;\r]*/, ';branch='), 400],
  ['a Via with ;;', 'OPTIONS', (s) => s.replace(';rport', ';;rport'), 400],
  ['a Contact with an empty parameter', 'INVITE', (s) => s.replace(/Contact: <([^>]*)>/, 'Contact: <$1>;;'), 400],
];

test('too large or odd requests over UDP and TCP get their one answer (513, 400, 416, 501 or 200); OPTIONS still answered', async () => {
  const callsBefore = t.calls.length;
  for (const transport of ['udp', 'tcp'] as const) {
    for (const [name, method, edit, status] of ODD) {
      const peer = transport === 'udp' ? await UdpPeer.open(t.target) : await TcpPeer.open(t.target);
      try {
        const { callId, text } = oddRequest(peer, method, edit);
        peer.send(text);
        const got = await peer.collect(() => true, status === 200 ? 300 : 150);
        const finals = got.filter((m) => (m.status ?? 0) >= 200 && h(m, 'call-id') === callId).map((m) => m.status);
        // Non-2xx finals to an INVITE may be retransmitted (no ACK comes): one status, maybe repeated.
        expect({ transport, name, statuses: [...new Set(finals)], others: got.filter((m) => h(m, 'call-id') !== callId).length }).toEqual({ transport, name, statuses: [status], others: 0 });
      } finally {
        await peer.close();
      }
    }
  }
  expect(t.calls).toHaveLength(callsBefore);
  const u = await UdpPeer.open(t.target);
  try {
    const { callId, text } = oddRequest(u, 'OPTIONS');
    u.send(text);
    await u.expect((m) => m.status === 200 && h(m, 'call-id') === callId, 3000, 'the 200 to OPTIONS');
  } finally {
    await u.close();
  }
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
