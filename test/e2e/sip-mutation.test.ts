/**
 * A seeded mutation run against the running server over UDP: well-formed INVITEs, OPTIONS and whole dialogs (INVITE,
 * ACK, INFO digits, re-INVITEs, methods we do not serve, BYE), each message sent as is or broken (bytes flipped,
 * lines dropped or doubled, header values replaced by junk, truncated, Content-Length wrong), and SDP offers broken
 * in the ways gateways get them wrong (ports out of range, host names, no c=, no G.711, odd telephone-events).
 * Deterministic (a fixed seed) and bounded (a fixed number of messages, each dialog waiting at most 500 ms).
 *
 * Issue 19 ("SIP input") adds the categories an attacker or a broken gateway sends: very long header fields and
 * too many of them (513 Message Too Large), huge or negative integers in CSeq, Content-Length, Max-Forwards and
 * Expires, escaped tokens (`RE%47IST%45R`, `%`-escaped header names), and odd Request-URI schemes.
 *
 * What must hold whatever arrives: no server error (5xx other than 501 for an unknown method, 505 for another SIP
 * version and 513 for a message too large), no error in the log, no RTP session without a call (a refused INVITE
 * gives its port back), and the server still answers OPTIONS and takes an ordinary call. Such a run found an offer
 * with port 70000 answered 500 with its RTP session left open.
 */
import * as dgram from 'node:dgram';
import { seededRandom } from '../helpers';
import { RawCall, UdpPeer, isStatus, message } from '../sip/helpers/raw-sip';
import { startIvrServer, type IvrServer } from './helpers/ivr-server';

type Rng = ReturnType<typeof seededRandom>;

jest.setTimeout(120_000);

const SEED = 20261203;
const ITERATIONS = 300;

const JUNK = ['', ' ', '\x00', '\xff\xfe', '-1', '4294967296', '99999999999999999999', '<>', '<sip:>', 'sip:@', ';;;', '"unterminated', '%zz', 'a'.repeat(3000), ',,,', 'SIP/2.0/UDP', 'NaN', '€', '\r\n\r\n', '<tel:+1>', '*'];

const offer = (port: number) =>
  ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP 0 8 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=ptime:20', 'a=sendrecv', ''].join('\r\n');

/** Huge and negative integers, for CSeq, Content-Length, Max-Forwards and Expires (RFC 4475 scalar02, ncl). */
const INTEGERS = ['-1', '0', '2147483647', '2147483648', '4294967296', '99999999999999999999', '36893488147419103232', '1e3', '0x10', '007', '-0', ' 5 '];
/** Request-URI schemes a server may be sent. */
const SCHEMES = ['mailto:ivr@127.0.0.1', 'urn:service:sos', 'http://127.0.0.1/', 'sips:14255550100@127.0.0.1', 'tel:+14255550100', 'tel:', 'sip:', 'im:ivr@x', 'x-unknown:1', 'sip:%31%34255550100@127.0.0.1'];
/** Tokens with % (RFC 4475 esc02: never unescaped). */
const ESCAPED_METHODS = ['RE%47IST%45R', 'INV%49TE', 'OPTIONS%', '%', 'B%59E'];

/** Offers broken the ways gateways and fuzzers break them. */
const BREAK_SDP: Array<(s: string, r: Rng) => string> = [
  (s) => s.replace(/m=audio \d+/, 'm=audio 0'),
  (s) => s.replace(/m=audio \d+/, 'm=audio 70000'),
  (s) => s.replace(/m=audio \d+/, 'm=audio -5'),
  (s) => s.replace(/c=IN IP4 [^\r]+/, 'c=IN IP4 gateway.invalid'),
  (s) => s.replace(/c=[^\r]+\r\n/, ''),
  (s) => s.replace(/c=IN IP4 [^\r]+/, 'c=IN IP4 0.0.0.0'),
  (s) => s.replace('RTP/AVP 0 8 101', 'RTP/AVP'),
  (s) => s.replace('RTP/AVP 0 8 101', 'RTP/AVP 101'),
  (s) => s.replace('RTP/AVP 0 8 101', 'RTP/SAVP 0'),
  (s) => s.replace('a=ptime:20', 'a=ptime:0'),
  (s) => s.replace('a=ptime:20', 'a=ptime:100000'),
  (s) => s.replace(/101/g, '200'),
  (s) => s.replace(/101/g, '13'),
  (s) => s.replace('telephone-event/8000', 'telephone-event/0'),
  (s) => s.replace(/m=audio[^\r]*\r\n/, ''),
  (s, r) => s.slice(0, Math.floor(r.next() * s.length)),
  (s) => s.replace('a=sendrecv', 'a=inactive'),
  (s) => s.replace(/\r\n/g, '\n'),
];

/** One to three random breakages of a message's text. */
function breakMessage(text: string, r: Rng): string {
  let t = text;
  for (let i = 0, n = 1 + Math.floor(r.next() * 3); i < n; i++) {
    const lines = t.split('\r\n');
    const k = 1 + Math.floor(r.next() * Math.max(1, lines.length - 1));
    const x = r.next();
    if (x < 0.15) {
      const b = Buffer.from(t, 'latin1');
      b[Math.floor(r.next() * b.length)] = Math.floor(r.next() * 256);
      t = b.toString('latin1');
    } else if (x < 0.3) {
      lines.splice(k, 1);
      t = lines.join('\r\n');
    } else if (x < 0.45) {
      lines.splice(k, 0, lines[k] ?? '');
      t = lines.join('\r\n');
    } else if (x < 0.7) {
      const l = lines[k] ?? '';
      const c = l.indexOf(':');
      lines[k] = c > 0 ? `${l.slice(0, c + 2)}${r.pick(JUNK)}` : r.pick(JUNK);
      t = lines.join('\r\n');
    } else if (x < 0.8) {
      t = t.slice(0, Math.floor(r.next() * t.length));
    } else if (x < 0.9) {
      lines[k] = (lines[k] ?? '') + r.pick(JUNK);
      t = lines.join('\r\n');
    } else {
      t = t.replace(/Content-Length: \d+/, `Content-Length: ${r.pick(['0', '-1', '99999', '3', 'x'])}`);
    }
  }
  return t;
}

let t: IvrServer;
let sock: dgram.Socket;
const received: string[] = [];

beforeAll(async () => {
  t = await startIvrServer();
  sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  sock.on('message', (m) => received.push(m.toString('latin1')));
});
afterAll(async () => {
  sock?.close();
  await t?.stop();
});

test('broken and well-formed messages in a seeded mix: no server error, no error logged, no orphan RTP session, OPTIONS still answered', async () => {
  const r = seededRandom(SEED);
  const me = (sock.address() as { port: number }).port;
  const { port } = t.target;
  const send = (text: string) => new Promise<void>((resolve) => sock.send(Buffer.from(text, 'latin1'), port, '127.0.0.1', () => resolve()));
  const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const headers = (method: string, callId: string, cseq: number, to: string, from: string): Array<[string, string]> => [
    ['Via', `SIP/2.0/UDP 127.0.0.1:${me};branch=z9hG4bK${Math.floor(r.next() * 1e12).toString(36)};rport`],
    ['Max-Forwards', '70'],
    ['From', from],
    ['To', to],
    ['Call-ID', callId],
    ['CSeq', `${cseq} ${method}`],
    ['Contact', `<sip:mutation@127.0.0.1:${me}>`],
  ];
  const finalFor = (callId: string) => received.find((m) => /^SIP\/2\.0 [2-6]\d\d /.test(m) && m.includes(`Call-ID: ${callId}`));

  for (let i = 0; i < ITERATIONS; i++) {
    const callId = `mutation-${i}`;
    const from = `<sip:+1425555${String(1000 + i)}@127.0.0.1>;tag=f${i}`;
    const sdp = r.next() < 0.5 ? r.pick(BREAK_SDP)(offer(40000 + 2 * i), r) : offer(40000 + 2 * i);
    const invite = message(
      `INVITE sip:${r.pick(['14255550100', '14255550199', '51235', '99999'])}@127.0.0.1:${port} SIP/2.0`,
      [...headers('INVITE', callId, 1, '<sip:14255550100@127.0.0.1>', from), ['Content-Type', 'application/sdp'], ...(r.next() < 0.3 ? ([['Diversion', r.pick(['<sip:51235@127.0.0.1>;reason=no-answer', '<sip:@>', r.pick(JUNK)])]] as Array<[string, string]>) : [])],
      sdp,
    );
    const kind = r.pick(['invite', 'dialog', 'dialog', 'options', 'junk', 'huge', 'integers', 'escaped', 'scheme'] as const);
    if (kind === 'invite') await send(breakMessage(invite, r));
    else if (kind === 'huge') {
      // Very long header fields, many header fields, long lists: over the limits (513) or just under them.
      const x = r.next();
      const size = r.pick([4000, 8000, 9000, 20_000, 50_000]);
      const extra: Array<[string, string]> =
        x < 0.3
          ? [[r.pick(['Subject', 'Contact', 'Route', 'X-Long', 'Authorization']), `<sip:a@127.0.0.1>${r.pick([' ', 'a', ';a', ',<sip:b@h>']).repeat(Math.floor(size / 10))}`]]
          : x < 0.6
            ? Array.from({ length: r.pick([100, 250, 257, 400]) }, (_, k) => [`X-H${k}`, 'v'] as [string, string])
            : [[r.pick(['Contact', 'Route', 'Via']), Array.from({ length: r.pick([100, 255, 300]) }, (_, k) => `<sip:r${k}@127.0.0.1;lr>`).join(',')]];
      const base = r.next() < 0.5 ? invite : message(`OPTIONS sip:x@127.0.0.1 SIP/2.0`, headers('OPTIONS', callId, 1, '<sip:x@127.0.0.1>', from));
      await send(base.replace('Max-Forwards: 70', ['Max-Forwards: 70', ...extra.map(([n, v]) => `${n}: ${v}`)].join('\r\n')).slice(0, 65_000));
    } else if (kind === 'integers') {
      const field = r.pick(['CSeq', 'Content-Length', 'Max-Forwards', 'Expires'] as const);
      const n = r.pick(INTEGERS);
      const text = r.next() < 0.5 ? invite : message(`${r.pick(['OPTIONS', 'SUBSCRIBE'])} sip:14255550100@127.0.0.1:${port} SIP/2.0`, [...headers('OPTIONS', callId, 1, '<sip:14255550100@127.0.0.1>', from), ['Event', 'message-summary']]);
      const method = /^(\S+)/.exec(text)![1];
      const fixed = text.replace(/CSeq: 1 OPTIONS/, `CSeq: 1 ${method}`);
      await send(
        field === 'CSeq'
          ? fixed.replace(/CSeq: \d+ /, `CSeq: ${n} `)
          : field === 'Content-Length'
            ? fixed.replace(/Content-Length: \d+/, `Content-Length: ${n}`)
            : field === 'Max-Forwards'
              ? fixed.replace('Max-Forwards: 70', `Max-Forwards: ${n}`)
              : fixed.replace('Max-Forwards: 70', `Max-Forwards: 70\r\nExpires: ${n}`),
      );
    } else if (kind === 'escaped') {
      const m = r.pick(ESCAPED_METHODS);
      const text = message(`${m} sip:14255550100@127.0.0.1:${port} SIP/2.0`, headers(m, callId, 1, '<sip:14255550100@127.0.0.1>', from));
      await send(r.next() < 0.5 ? text : text.replace('Max-Forwards', r.pick(['Max%2DForwards', 'Max-Forwards%', 'C%53eq'])));
    } else if (kind === 'scheme') {
      const m = r.pick(['INVITE', 'OPTIONS', 'BYE', 'INFO', 'SUBSCRIBE', 'MESSAGE']);
      const text = m === 'INVITE' ? invite : message(`${m} sip:x@127.0.0.1 SIP/2.0`, headers(m, callId, 1, '<sip:x@127.0.0.1>', from));
      await send(text.replace(/^(\S+) \S+/, `$1 ${r.pick(SCHEMES)}`));
    }
    else if (kind === 'options') await send(breakMessage(message(`OPTIONS sip:x@127.0.0.1 SIP/2.0`, headers('OPTIONS', callId, 1, '<sip:x@127.0.0.1>', from)), r));
    else if (kind === 'junk') await send(r.pick(['INVITE', 'SIP/2.0 200 OK', 'ACK * SIP/2.0\r\nVia: x\r\n\r\n', 'REGISTER sip:127.0.0.1 SIP/2.0\r\nContent-Length: 5\r\n\r\nabc']) + r.pick(JUNK));
    else {
      await send(invite);
      let ok: string | undefined;
      for (let k = 0; k < 50 && !ok; k++) {
        ok = finalFor(callId);
        if (!ok) await wait(10);
      }
      if (!ok || !ok.startsWith('SIP/2.0 200')) continue;
      const to = /\r\nTo: ([^\r]+)/i.exec(ok)?.[1] ?? '<sip:x@127.0.0.1>';
      const contact = /\r\nContact: *<([^>]+)>/i.exec(ok)?.[1] ?? `sip:127.0.0.1:${port}`;
      const inDialog = (method: string, cseq: number, extra: Array<[string, string]> = [], body = '') => message(`${method} ${contact} SIP/2.0`, [...headers(method, callId, cseq, to, from), ...extra], body);
      const maybeBroken = (text: string) => (r.next() < 0.4 ? breakMessage(text, r) : text);
      await send(maybeBroken(inDialog('ACK', 1)));
      for (let s = 0, n = Math.floor(r.next() * 4); s < n; s++) {
        const x = r.next();
        const request =
          x < 0.4
            ? inDialog('INFO', 2 + s, [['Content-Type', r.pick(['application/dtmf-relay', 'application/dtmf', 'text/plain'])]], r.pick(['Signal=5\r\nDuration=160\r\n', 'Signal=ZZ\r\nDuration=-1', '5', '', '\x00\xff']))
            : x < 0.7
              ? inDialog('INVITE', 2 + s, [['Content-Type', 'application/sdp']], r.pick(BREAK_SDP)(offer(40000 + 2 * i), r))
              : inDialog(r.pick(['UPDATE', 'REFER', 'NOTIFY', 'PRACK', 'MESSAGE', 'SUBSCRIBE']), 2 + s);
        await send(maybeBroken(request));
        await wait(2);
      }
      await send(maybeBroken(inDialog('BYE', 9)));
    }
  }
  await wait(500);

  const statusLines = received.filter((m) => m.startsWith('SIP/2.0 ')).map((m) => m.slice(0, m.indexOf('\r\n')));
  const serverErrors = statusLines.filter((l) => /^SIP\/2\.0 5(?!01|05|13)\d\d/.test(l));
  expect(serverErrors).toEqual([]);
  expect(t.errors).toEqual([]);
  // Calls still up (their BYE broken, or their ACK) each hold one session; nothing else may.
  const running = t.calls.filter((c) => c.record === null).length;
  expect(t.server.media.sessionCount).toBeLessThanOrEqual(running);
  // The mix really reached the server and got answers of every kind.
  expect(statusLines.some((l) => l.startsWith('SIP/2.0 200'))).toBe(true);
  expect(statusLines.some((l) => l.startsWith('SIP/2.0 400'))).toBe(true);
  expect(statusLines.some((l) => l.startsWith('SIP/2.0 488'))).toBe(true);
  for (const status of ['513', '416', '501']) expect({ status, seen: statusLines.some((l) => l.startsWith(`SIP/2.0 ${status}`)) }).toEqual({ status, seen: true });
  expect(t.calls.length).toBeGreaterThan(20);

  const ping = `mutation-ping-${SEED}`;
  await send(message(`OPTIONS sip:14255550100@127.0.0.1:${port} SIP/2.0`, headers('OPTIONS', ping, 1, '<sip:14255550100@127.0.0.1>', '<sip:ping@127.0.0.1>;tag=p')));
  await t.until(() => finalFor(ping)?.startsWith('SIP/2.0 200') === true, 3000, 'the 200 to OPTIONS after the mix');

  // And an ordinary call: answered, confirmed, ended by our BYE.
  const peer = await UdpPeer.open(t.target);
  try {
    const call = new RawCall(peer, t.target, '14255550100');
    peer.send(call.invite(offer(41000)));
    const ok = await peer.expect(isStatus(200, 'INVITE'), 3000, 'the 200 to a call after the mix');
    call.learn(ok);
    peer.send(call.ack());
    peer.send(call.inDialog('BYE'));
    await peer.expect(isStatus(200, 'BYE'), 3000, 'the 200 to its BYE');
  } finally {
    await peer.close();
  }
});
