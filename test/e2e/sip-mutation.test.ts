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
import { attackMessage, BREAK_SDP, breakMessage, JUNK, sdpOffer as offer } from '../../bench/sip-fuzz';
import { seededRandom } from '../helpers';
import { RawCall, UdpPeer, isStatus, message } from '../sip/helpers/raw-sip';
import { startIvrServer, type IvrServer } from './helpers/ivr-server';

jest.setTimeout(120_000);

const SEED = 20261203;
const ITERATIONS = 300;

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
    // Stateless kinds (bench/sip-fuzz.ts, shared with the soak bench's attacker); a dialog is played out below.
    if (kind !== 'dialog') await send(attackMessage(kind, r, { port, invite, headers: (method) => headers(method, callId, 1, '<sip:14255550100@127.0.0.1>', from) }));
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
