/**
 * The SIP UAC of the network simulator (`src/sip/embedded/sip-client.ts`) against a raw UAS written by hand in the
 * test (UDP on 127.0.0.1, free ports): INVITE contents, provisional and final responses, the ACK for every 2xx
 * (retransmissions included), error statuses, CANCEL when no final response comes, BYE both ways, INFO, and the
 * route set a record-routing proxy leaves in the 2xx (RFC 3261 §12.1.2, §12.2.1.1).
 */
import { h, isRequest, message, tagOf, UdpPeer, type RawMessage } from '../../sip/helpers/raw-sip';
import { SipClient, type OutgoingCall } from '../../../src/sip/embedded/sip-client';

const SDP_ANSWER = ['v=0', 'o=uas 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0 101', 'a=rtpmap:101 telephone-event/8000', ''].join('\r\n');

let client: SipClient;
let uas: UdpPeer;

beforeEach(async () => {
  client = await SipClient.start({ localAddress: '127.0.0.1', inviteTimeoutMs: 2_000, requestTimeoutMs: 3_000 });
  uas = await UdpPeer.open({ address: '127.0.0.1', port: client.port });
});
afterEach(async () => {
  await client.stop();
  await uas.close();
});

/** A response to `rq` from the UAS, with our To tag when given. */
function reply(rq: RawMessage, status: number, reason: string, opts: { tag?: string; contact?: boolean; body?: string; recordRoute?: string } = {}): string {
  const to = h(rq, 'to') + (opts.tag && !tagOf(h(rq, 'to')) ? `;tag=${opts.tag}` : '');
  const headers: Array<[string, string]> = [
    ...(rq.headers.get('via') ?? []).map((v) => ['Via', v] as [string, string]),
    ['From', h(rq, 'from')],
    ['To', to],
    ['Call-ID', h(rq, 'call-id')],
    ['CSeq', h(rq, 'cseq')],
  ];
  if (opts.recordRoute) headers.push(['Record-Route', opts.recordRoute]);
  if (opts.contact) headers.push(['Contact', `<sip:127.0.0.1:${uas.port}>`]);
  if (opts.body) headers.push(['Content-Type', 'application/sdp']);
  return message(`SIP/2.0 ${status} ${reason}`, headers, opts.body ?? '');
}

function place(extra: Partial<Parameters<SipClient['call']>[0]> = {}): OutgoingCall {
  return client.call({ target: { transport: 'udp', host: '127.0.0.1', port: uas.port }, to: '14255550100', from: '+14255550123', sdp: 'v=0\r\n', ...extra });
}

/** Every Route entry of a request, in order, whether in one header line or several. */
const routes = (m: RawMessage) => (m.headers.get('route') ?? []).join(', ').replace(/"/g, '');

const once = <T extends unknown[]>(call: OutgoingCall, event: 'provisional' | 'answered' | 'failed' | 'ended') =>
  new Promise<T>((resolve) => call.once(event, (...args: unknown[]) => resolve(args as T)));

test('INVITE: Request-URI, From, To, Contact, Diversion and the SDP offer', async () => {
  place({ diversion: '51235', from: null, sdp: 'v=0\r\no=x\r\n' });
  const inv = await uas.expect(isRequest('INVITE'), 3000, 'INVITE');
  expect(inv.startLine).toBe(`INVITE sip:14255550100@127.0.0.1:${uas.port} SIP/2.0`);
  expect(h(inv, 'from')).toMatch(/^<?sip:anonymous@127\.0\.0\.1>?;tag=\w+/);
  expect(h(inv, 'to')).toMatch(new RegExp(`sip:14255550100@127\\.0\\.0\\.1:${uas.port}`));
  expect(h(inv, 'contact')).toContain(`@127.0.0.1:${client.port}`);
  expect(h(inv, 'diversion')).toBe('<sip:51235@127.0.0.1>;reason=no-answer');
  expect(h(inv, 'content-type')).toBe('application/sdp');
  expect(inv.body).toBe('v=0\r\no=x\r\n');
  expect(h(inv, 'route')).toBe('');
});

test('180 then 200: answered and ACKed; every retransmitted 200 is ACKed again; the server BYE gets 200', async () => {
  const call = place();
  const provisional = once<[number, string]>(call, 'provisional');
  const answered = once<[string]>(call, 'answered');
  const inv = await uas.expect(isRequest('INVITE'), 3000, 'INVITE');
  uas.send(reply(inv, 180, 'Ringing', { tag: 'uas1' }));
  expect(await provisional).toEqual([180, 'Ringing']);
  const ok = reply(inv, 200, 'OK', { tag: 'uas1', contact: true, body: SDP_ANSWER });
  uas.send(ok);
  expect(await answered).toEqual([SDP_ANSWER]);
  const ack = await uas.expect(isRequest('ACK'), 3000, 'ACK');
  expect(ack.startLine).toBe(`ACK sip:127.0.0.1:${uas.port} SIP/2.0`);
  expect(tagOf(h(ack, 'to'))).toBe('uas1');
  expect(h(ack, 'cseq')).toBe('1 ACK');
  expect(call.state).toBe('confirmed');

  // Our 200 "was lost": sent again twice, each is ACKed.
  uas.send(ok);
  await uas.expect(isRequest('ACK'), 3000, 'second ACK');
  uas.send(ok);
  await uas.expect(isRequest('ACK'), 3000, 'third ACK');
  expect(call.acksSent).toBe(3);

  const ended = once<[string]>(call, 'ended');
  uas.send(
    message(`BYE sip:caller@127.0.0.1:${client.port} SIP/2.0`, [
      ['Via', `SIP/2.0/UDP 127.0.0.1:${uas.port};branch=z9hG4bKbye1`],
      ['Max-Forwards', '70'],
      ['From', h(inv, 'to').replace(/;tag=.*$/, '') + ';tag=uas1'],
      ['To', h(inv, 'from')],
      ['Call-ID', h(inv, 'call-id')],
      ['CSeq', '7 BYE'],
    ]),
  );
  const byeOk = await uas.expect((m) => m.status === 200 && h(m, 'cseq') === '7 BYE', 3000, '200 to BYE');
  expect(h(byeOk, 'call-id')).toBe(call.callId);
  expect(await ended).toEqual(['remote']);
  expect(call.state).toBe('ended');
});

test('INFO with application/dtmf-relay, then our BYE with the next CSeq numbers', async () => {
  const call = place();
  const answered = once<[string]>(call, 'answered');
  const inv = await uas.expect(isRequest('INVITE'), 3000, 'INVITE');
  uas.send(reply(inv, 200, 'OK', { tag: 'uas2', contact: true, body: SDP_ANSWER }));
  await answered;
  await uas.expect(isRequest('ACK'), 3000, 'ACK');

  const status = call.info('application/dtmf-relay', 'Signal=5\r\nDuration=80\r\n');
  const info = await uas.expect(isRequest('INFO'), 3000, 'INFO');
  expect(h(info, 'content-type')).toBe('application/dtmf-relay');
  expect(info.body).toBe('Signal=5\r\nDuration=80\r\n');
  expect(h(info, 'cseq')).toBe('2 INFO');
  expect(tagOf(h(info, 'to'))).toBe('uas2');
  uas.send(reply(info, 200, 'OK'));
  expect(await status).toBe(200);

  const ended = once<[string]>(call, 'ended');
  const bye = call.hangup();
  const byeRq = await uas.expect(isRequest('BYE'), 3000, 'BYE');
  expect(h(byeRq, 'cseq')).toBe('3 BYE');
  expect(await ended).toEqual(['local']);
  uas.send(reply(byeRq, 200, 'OK'));
  await bye;
});

test('a 2xx with Record-Route: ACK, INFO and BYE carry the route set reversed, to the remote target', async () => {
  const call = place();
  const answered = once<[string]>(call, 'answered');
  const inv = await uas.expect(isRequest('INVITE'), 3000, 'INVITE');
  // Two proxies on the way (the one nearest the UAS first), both loose routers.
  const rr = `<sip:127.0.0.3:5070;lr>, <sip:127.0.0.2:5080;lr;ftag=x1>`;
  uas.send(reply(inv, 200, 'OK', { tag: 'uas4', contact: true, body: SDP_ANSWER, recordRoute: rr }));
  await answered;
  const route = '<sip:127.0.0.2:5080;lr;ftag=x1>, <sip:127.0.0.3:5070;lr>';
  const ack = await uas.expect(isRequest('ACK'), 3000, 'ACK');
  expect(ack.startLine).toBe(`ACK sip:127.0.0.1:${uas.port} SIP/2.0`);
  expect(routes(ack)).toBe(route);
  const status = call.info('application/dtmf-relay', 'Signal=1\r\nDuration=80\r\n');
  const info = await uas.expect(isRequest('INFO'), 3000, 'INFO');
  expect(info.startLine).toBe(`INFO sip:127.0.0.1:${uas.port} SIP/2.0`);
  expect(routes(info)).toBe(route);
  uas.send(reply(info, 200, 'OK'));
  expect(await status).toBe(200);
  const bye = call.hangup();
  const byeRq = await uas.expect(isRequest('BYE'), 3000, 'BYE');
  expect(routes(byeRq)).toBe(route);
  uas.send(reply(byeRq, 200, 'OK'));
  await bye;
});

test('a strict first route becomes the Request-URI, and the remote target the last Route', async () => {
  const call = place();
  const answered = once<[string]>(call, 'answered');
  const inv = await uas.expect(isRequest('INVITE'), 3000, 'INVITE');
  uas.send(reply(inv, 200, 'OK', { tag: 'uas5', contact: true, body: SDP_ANSWER, recordRoute: '<sip:127.0.0.2:5080>' }));
  await answered;
  const ack = await uas.expect(isRequest('ACK'), 3000, 'ACK');
  expect(ack.startLine).toBe('ACK sip:127.0.0.2:5080 SIP/2.0');
  expect(routes(ack)).toBe(`<sip:127.0.0.1:${uas.port}>`);
  const bye = call.hangup();
  const byeRq = await uas.expect(isRequest('BYE'), 3000, 'BYE');
  expect(byeRq.startLine).toBe('BYE sip:127.0.0.2:5080 SIP/2.0');
  uas.send(reply(byeRq, 200, 'OK'));
  await bye;
});

test('an error status is reported (and ACKed by the transaction layer)', async () => {
  const call = place();
  const failed = once<[number, string]>(call, 'failed');
  const inv = await uas.expect(isRequest('INVITE'), 3000, 'INVITE');
  uas.send(reply(inv, 404, 'Not Found', { tag: 'uas3' }));
  expect(await failed).toEqual([404, 'Not Found']);
  const ack = await uas.expect(isRequest('ACK'), 3000, 'ACK for the 404');
  expect(h(ack, 'via')).toContain(/branch=([^;]+)/.exec(h(inv, 'via'))![1]);
  expect(call.state).toBe('failed');
  expect(call.status).toBe(404);
});

test('no final response in time: CANCEL, and the call fails with 408', async () => {
  const call = place();
  const failed = once<[number, string]>(call, 'failed');
  const inv = await uas.expect(isRequest('INVITE'), 3000, 'INVITE');
  uas.send(reply(inv, 100, 'Trying'));
  const cancel = await uas.expect(isRequest('CANCEL'), 5000, 'CANCEL');
  expect(h(cancel, 'cseq')).toBe('1 CANCEL');
  expect(h(cancel, 'via')).toBe(h(inv, 'via'));
  expect((await failed)[0]).toBe(408);
  uas.send(reply(cancel, 200, 'OK'));
  uas.send(reply(inv, 487, 'Request Terminated', { tag: 'uas4' }));
  await uas.expect(isRequest('ACK'), 3000, 'ACK for the 487');
  expect(call.state).toBe('failed');
});

test('hanging up before the answer sends CANCEL', async () => {
  const call = place();
  const inv = await uas.expect(isRequest('INVITE'), 3000, 'INVITE');
  uas.send(reply(inv, 180, 'Ringing', { tag: 'uas5' }));
  await new Promise((r) => setTimeout(r, 100));
  await call.hangup();
  const cancel = await uas.expect(isRequest('CANCEL'), 3000, 'CANCEL');
  expect(h(cancel, 'call-id')).toBe(call.callId);
});

test('requests outside a dialog: OPTIONS 200, BYE 481', async () => {
  const base = (method: string, branch: string): string =>
    message(`${method} sip:x@127.0.0.1:${client.port} SIP/2.0`, [
      ['Via', `SIP/2.0/UDP 127.0.0.1:${uas.port};branch=${branch}`],
      ['Max-Forwards', '70'],
      ['From', '<sip:a@127.0.0.1>;tag=a1'],
      ['To', '<sip:x@127.0.0.1>;tag=nope'],
      ['Call-ID', `${branch}@test`],
      ['CSeq', `1 ${method}`],
    ]);
  uas.send(base('OPTIONS', 'z9hG4bKopt'));
  expect((await uas.expect((m) => h(m, 'cseq') === '1 OPTIONS', 3000, 'OPTIONS answer')).status).toBe(200);
  uas.send(base('BYE', 'z9hG4bKbye'));
  expect((await uas.expect((m) => h(m, 'cseq') === '1 BYE', 3000, 'BYE answer')).status).toBe(481);
});
