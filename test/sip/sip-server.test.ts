/**
 * EmbeddedSipServer against a raw SIP peer over real UDP and TCP sockets on 127.0.0.1 (127.0.0.2 for a non-gateway
 * source). RFC 3261 sections are named in the test titles.
 */
import * as offers from './helpers/offers';
import {
  RawCall,
  TcpPeer,
  UdpPeer,
  answer,
  h,
  isRequest,
  isStatus,
  message,
  randomToken,
  tagOf,
  type RawMessage,
} from './helpers/raw-sip';
import { startTestServer, waitFor, type TestSipServer } from './helpers/test-server';
import { seededRandom } from '../helpers';
import { parse as parseSdp } from 'sdp-transform';

let t: TestSipServer;
const peers: Array<{ close(): Promise<void> }> = [];

async function udp(address = '127.0.0.1'): Promise<UdpPeer> {
  const p = await UdpPeer.open(t.target, address);
  peers.push(p);
  return p;
}

async function tcp(): Promise<TcpPeer> {
  const p = await TcpPeer.open(t.target);
  peers.push(p);
  return p;
}

/** INVITE -> 200 -> ACK on a peer; returns the call and the 200. */
async function establish(peer: UdpPeer | TcpPeer, user = 'main', extra: Array<[string, string]> = []): Promise<{ call: RawCall; ok: RawMessage }> {
  const call = new RawCall(peer, t.target, user);
  peer.send(call.invite(offers.BARESIP, extra));
  const ok = await peer.expect(isStatus(200, 'INVITE'));
  call.learn(ok);
  peer.send(call.ack());
  await waitFor(() => t.call(call.callId)?.dialog?.confirmed === true, 2000, 'dialog confirmed');
  return { call, ok };
}

beforeAll(async () => {
  t = await startTestServer();
});

afterEach(async () => {
  t.custom = null;
  await Promise.all(peers.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await t.stop();
});

describe('OPTIONS', () => {
  test('out of dialog over UDP: 200 with Allow and Accept, our To tag, Via with received', async () => {
    const peer = await udp();
    const callId = randomToken();
    peer.send(
      message(`OPTIONS sip:${t.target.address}:${t.target.port} SIP/2.0`, [
        ['Via', `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK${randomToken()};rport`],
        ['Max-Forwards', '70'],
        ['From', `<sip:monitor@127.0.0.1>;tag=${randomToken()}`],
        ['To', `<sip:${t.target.address}:${t.target.port}>`],
        ['Call-ID', callId],
        ['CSeq', '7 OPTIONS'],
      ]),
    );
    const rs = await peer.expect(isStatus(200, 'OPTIONS'));
    expect(h(rs, 'allow')).toBe('INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, SUBSCRIBE');
    expect(h(rs, 'accept')).toContain('application/sdp');
    expect(tagOf(h(rs, 'to'))).toBeTruthy();
    expect(h(rs, 'call-id')).toBe(callId);
    expect(h(rs, 'cseq')).toBe('7 OPTIONS');
    expect(h(rs, 'via')).toMatch(/received=127\.0\.0\.1/);
    expect(h(rs, 'via')).toMatch(new RegExp(`rport=${peer.port}`));
  });

  test('over TCP', async () => {
    const peer = await tcp();
    peer.send(
      message(`OPTIONS sip:${t.target.address}:${t.target.port};transport=tcp SIP/2.0`, [
        ['Via', `SIP/2.0/TCP 127.0.0.1:${peer.port};branch=z9hG4bK${randomToken()}`],
        ['From', `<sip:monitor@127.0.0.1>;tag=${randomToken()}`],
        ['To', `<sip:${t.target.address}>`],
        ['Call-ID', randomToken()],
        ['CSeq', '1 OPTIONS'],
      ]),
    );
    await peer.expect(isStatus(200, 'OPTIONS'));
  });
});

describe('INVITE dialog (RFC 3261 §12, §13)', () => {
  test('the INVITE fields reach the application; 200 has SDP, Contact, our tag, Record-Route copied', async () => {
    const peer = await udp();
    const call = new RawCall(peer, t.target, '5000');
    peer.send(
      call.invite(offers.BARESIP, [
        ['P-Asserted-Identity', '"Alice" <sip:+14255550123@gw.contoso.com;user=phone>'],
        ['Diversion', '<sip:2001@pbx.contoso.com>;reason=no-answer;counter=1'],
        ['Record-Route', `<sip:127.0.0.1:${peer.port};lr>`],
      ]),
    );
    const ok = await peer.expect(isStatus(200, 'INVITE'));
    call.learn(ok);
    // The application answered at once, so no 100 Trying was needed (RFC 3261 §8.2.6.1).
    expect(peer.all.filter(isStatus(100))).toEqual([]);
    expect(call.toTag).toMatch(/^[0-9a-f]{12}$/);
    expect(h(ok, 'contact')).toBe(`<sip:127.0.0.1:${t.target.port}>`);
    expect(h(ok, 'record-route')).toBe(`<sip:127.0.0.1:${peer.port};lr>`);
    expect(h(ok, 'content-type')).toBe('application/sdp');
    const sdp = parseSdp(ok.body);
    expect(sdp.media[0]).toMatchObject({ port: 40000 });
    expect(ok.body).toContain('a=rtpmap:101 telephone-event/8000');

    const rec = t.call(call.callId)!;
    expect(rec.invite).toMatchObject({
      fromUser: '+14255550123',
      toUser: '5000',
      diversion: '2001',
      source: { address: '127.0.0.1', port: peer.port, transport: 'udp' },
    });
    expect(rec.invite.offer).toBe(offers.BARESIP);

    peer.send(call.ack());
    await waitFor(() => rec.dialog!.confirmed, 2000, 'ACK');
    peer.send(call.inDialog('BYE'));
    const byeOk = await peer.expect(isStatus(200, 'BYE'));
    expect(tagOf(h(byeOk, 'to'))).toBe(call.toTag);
    await waitFor(() => rec.ended !== undefined, 2000, 'ended');
    expect(rec.ended).toEqual({ by: 'remote' });
  });

  test('§13.3.1.4: a lost 200 OK is retransmitted at T1, 2*T1 ... until the ACK, then no more', async () => {
    const peer = await udp();
    const call = new RawCall(peer, t.target, 'lost-ok');
    const sent = performance.now();
    peer.send(call.invite(offers.SIPP_DEFAULT));
    const first = await peer.expect(isStatus(200, 'INVITE')); // "lost": not acknowledged
    const second = await peer.expect(isStatus(200, 'INVITE'), 1500);
    const third = await peer.expect(isStatus(200, 'INVITE'), 2500);
    call.learn(third);
    peer.send(call.ack());
    expect(second.raw).toBe(first.raw); // the same response, byte for byte
    expect(second.at - first.at).toBeGreaterThan(400);
    expect(second.at - first.at).toBeLessThan(1000);
    expect(third.at - second.at).toBeGreaterThan(850);
    expect(third.at - second.at).toBeLessThan(1800);
    expect(first.at - sent).toBeLessThan(400);
    const later = await peer.collect(isStatus(200, 'INVITE'), 2300);
    expect(later).toEqual([]);
    expect(t.call(call.callId)!.dialog!.confirmed).toBe(true);
    expect(t.server.stats.retransmitted2xx).toBeGreaterThanOrEqual(2);
  });

  test('an ACK that reuses the INVITE branch (the package swallows it) still stops the 2xx retransmission', async () => {
    const peer = await udp();
    const call = new RawCall(peer, t.target, 'same-branch-ack');
    peer.send(call.invite(offers.SIPP_DEFAULT));
    const ok = await peer.expect(isStatus(200, 'INVITE'));
    call.learn(ok);
    peer.send(call.ack(true));
    await waitFor(() => t.call(call.callId)!.dialog!.confirmed, 1000, 'ACK');
    expect(await peer.collect(isStatus(200, 'INVITE'), 800)).toEqual([]);
  });

  test('§17.2.1: a retransmitted INVITE after the 2xx gets the same 2xx again', async () => {
    const peer = await udp();
    const call = new RawCall(peer, t.target, 'again');
    const invite = call.invite(offers.SIPP_DEFAULT);
    peer.send(invite);
    const ok1 = await peer.expect(isStatus(200, 'INVITE'));
    const before = t.server.stats.repeated2xxForInvite;
    peer.send(invite);
    const ok2 = await peer.expect(isStatus(200, 'INVITE'), 400); // sooner than the T1 timer
    expect(ok2.raw).toBe(ok1.raw);
    expect(t.server.stats.repeated2xxForInvite).toBe(before + 1);
    expect(t.calls.filter((c) => c.invite.callId === call.callId)).toHaveLength(1);
    call.learn(ok1);
    peer.send(call.ack());
    await waitFor(() => t.call(call.callId)!.dialog!.confirmed, 2000, 'ACK');
  });

  test('a retransmitted INVITE before the final response gets the last provisional; one call reaches the app', async () => {
    const peer = await udp();
    let pending: ReturnType<typeof t.calls.at>;
    t.custom = (invite, record) => {
      invite.ringing();
      pending = record;
      return true;
    };
    const call = new RawCall(peer, t.target, 'slow');
    const invite = call.invite(offers.SIPP_DEFAULT);
    peer.send(invite);
    const r1 = await peer.expect(isStatus(180));
    peer.send(invite);
    const r2 = await peer.expect(isStatus(180));
    expect(r2.raw).toBe(r1.raw);
    expect(t.calls.filter((c) => c.invite.callId === call.callId)).toHaveLength(1);
    pending!.invite.reject(486);
    const busy = await peer.expect(isStatus(486));
    expect(tagOf(h(busy, 'to'))).toBe(tagOf(h(r1, 'to')));
    call.learn(busy);
    peer.send(call.ack(true));
  });

  test('§8.2.2.2: the same INVITE on another branch (a merged request) gets 482', async () => {
    const peer = await udp();
    const call = new RawCall(peer, t.target, 'merge');
    peer.send(call.invite(offers.SIPP_DEFAULT));
    await peer.expect(isStatus(200, 'INVITE'));
    peer.send(call.invite(offers.SIPP_DEFAULT).replace(call.inviteBranch, `z9hG4bK${randomToken()}`));
    await peer.expect(isStatus(482));
  });

  test('§9.2: CANCEL before the final response: 200 to CANCEL, 487 to the INVITE, the application told', async () => {
    const peer = await udp();
    const call = new RawCall(peer, t.target, 'ring');
    peer.send(call.invite(offers.SIPP_DEFAULT));
    const ringing = await peer.expect(isStatus(180));
    peer.send(call.cancel());
    const cancelOk = await peer.expect(isStatus(200, 'CANCEL'));
    const terminated = await peer.expect(isStatus(487, 'INVITE'));
    expect(tagOf(h(cancelOk, 'to'))).toBe(tagOf(h(ringing, 'to')));
    call.learn(terminated);
    peer.send(call.ack(true));
    const rec = t.call(call.callId)!;
    await waitFor(() => rec.cancelled, 1000, 'onCancel');
    expect(rec.invite.cancelled).toBe(true);
    // accept() after the CANCEL: a dialog that has already ended, no 200 sent.
    const d = rec.invite.accept('v=0\r\n');
    const ended = await new Promise<string>((resolve) => d.onEnded((by, cause) => resolve(`${by}:${cause}`)));
    expect(ended).toBe('remote:cancelled');
    expect(await peer.collect(isStatus(200, 'INVITE'), 300)).toEqual([]);
    // The ACK for the 487 stopped its retransmission.
    expect(await peer.collect(isStatus(487), 700)).toEqual([]);
  });

  test('CANCEL for no INVITE: 481', async () => {
    const peer = await udp();
    const call = new RawCall(peer, t.target, 'nobody');
    peer.send(call.cancel());
    await peer.expect(isStatus(481, 'CANCEL'));
  });

  test('488 when the offer has no G.711; 415 for a body that is not SDP', async () => {
    const peer = await udp();
    const call = new RawCall(peer, t.target, 'g729');
    peer.send(call.invite(offers.NO_G711));
    await peer.expect(isStatus(488));
    const call2 = new RawCall(peer, t.target, 'text');
    peer.send(call2.invite('hello').replace('Content-Type: application/sdp', 'Content-Type: text/plain'));
    const rs = await peer.expect(isStatus(415));
    expect(h(rs, 'accept')).toBe('application/sdp');
  });

  test('§8.2.2.3 / §16.3: Require with an extension we lack -> 420 with Unsupported; Max-Forwards 0 -> 483', async () => {
    const peer = await udp();
    peer.send(new RawCall(peer, t.target, 'req').invite(offers.SIPP_DEFAULT, [['Require', '100rel']]));
    const r420 = await peer.expect(isStatus(420));
    expect(h(r420, 'unsupported')).toBe('100rel');
    peer.send(new RawCall(peer, t.target, 'mf').invite(offers.SIPP_DEFAULT).replace('Max-Forwards: 70', 'Max-Forwards: 0'));
    await peer.expect(isStatus(483));
  });

  test('a multipart (SIP-I) body: the SDP part is the offer', async () => {
    const peer = await udp();
    const call = new RawCall(peer, t.target, 'sipi');
    const body = `--xyz\r\nContent-Type: application/sdp\r\n\r\n${offers.PCMA_ONLY}--xyz\r\nContent-Type: application/ISUP;version=itu-t92+\r\n\r\n\x01\x02\r\n--xyz--\r\n`;
    peer.send(call.invite(body).replace('Content-Type: application/sdp', 'Content-Type: multipart/mixed;boundary=xyz'));
    const ok = await peer.expect(isStatus(200, 'INVITE'));
    expect(ok.body).toContain('m=audio 40000 RTP/AVP 8 100');
    call.learn(ok);
    peer.send(call.ack());
  });
});

describe('in-dialog requests', () => {
  test('INFO reaches onInfo with content type and body; the 200 comes back', async () => {
    const peer = await udp();
    const { call } = await establish(peer);
    peer.send(call.inDialog('INFO', 'Signal=5\r\nDuration=160\r\n', [['Content-Type', 'application/dtmf-relay']]));
    await peer.expect(isStatus(200, 'INFO'));
    expect(t.call(call.callId)!.infos).toEqual([{ contentType: 'application/dtmf-relay', body: 'Signal=5\r\nDuration=160\r\n' }]);
  });

  test('§14.2 re-INVITE for hold: onReinvite gets the offer, the 200 answers recvonly and is retransmitted until the ACK', async () => {
    const peer = await udp();
    const { call } = await establish(peer);
    const reinvite = call.inDialog('INVITE', offers.HOLD_SENDONLY, [['Content-Type', 'application/sdp'], ['Contact', call.contact]]);
    peer.send(reinvite);
    const ok = await peer.expect(isStatus(200, 'INVITE'));
    expect(ok.body).toContain('a=recvonly');
    expect(h(ok, 'cseq')).toBe(`${call.cseq} INVITE`);
    peer.send(reinvite); // retransmitted: the same 200 at once, not a second offer to the application
    const repeated = await peer.expect(isStatus(200, 'INVITE'), 300);
    expect(repeated.raw).toBe(ok.raw);
    const again = await peer.expect(isStatus(200, 'INVITE'), 1000); // the T1 timer: not yet ACKed
    expect(again.raw).toBe(ok.raw);
    peer.send(call.ack(false, call.cseq));
    expect(await peer.collect(isStatus(200, 'INVITE'), 1200)).toEqual([]);
    expect(t.call(call.callId)!.reinvites).toEqual([offers.HOLD_SENDONLY]);
  });

  test('re-INVITE the application cannot answer: 488, the dialog goes on', async () => {
    const peer = await udp();
    const { call } = await establish(peer);
    peer.send(call.inDialog('INVITE', offers.NO_G711, [['Content-Type', 'application/sdp']]));
    await peer.expect(isStatus(488));
    peer.send(call.ack(true, call.cseq).replace(/branch=[^;\r]+/, 'branch=x')); // harmless stray ACK
    peer.send(call.inDialog('BYE'));
    await peer.expect(isStatus(200, 'BYE'));
  });

  test('§12.2.2: a request with a lower CSeq is out of order (500)', async () => {
    const peer = await udp();
    const { call } = await establish(peer);
    call.cseq = 10;
    peer.send(call.inDialog('INFO', ''));
    await peer.expect(isStatus(200, 'INFO'));
    call.cseq = 3;
    peer.send(call.inDialog('INFO', ''));
    await peer.expect(isStatus(500, 'INFO'));
  });

  test('BYE, INFO or re-INVITE for an unknown dialog: 481; BYE without a To tag: 481', async () => {
    const peer = await udp();
    const call = new RawCall(peer, t.target, 'ghost');
    call.toTag = 'nosuchtag';
    peer.send(call.inDialog('BYE'));
    await peer.expect(isStatus(481, 'BYE'));
    peer.send(call.inDialog('INFO'));
    await peer.expect(isStatus(481, 'INFO'));
    peer.send(call.inDialog('INVITE', offers.SIPP_DEFAULT, [['Content-Type', 'application/sdp']]));
    await peer.expect(isStatus(481, 'INVITE'));
    call.toTag = undefined;
    peer.send(call.inDialog('BYE'));
    await peer.expect(isStatus(481, 'BYE'));
  });

  test('methods we do not handle: 405 with Allow; SUBSCRIBE without a handler: 489; out of dialog with a To tag: 481', async () => {
    const peer = await udp();
    const call = new RawCall(peer, t.target, 'sub');
    peer.send(call.inDialog('SUBSCRIBE', '', [['Event', 'message-summary']]));
    await peer.expect(isStatus(489, 'SUBSCRIBE'));
    peer.send(call.inDialog('REGISTER'));
    const r405 = await peer.expect(isStatus(405, 'REGISTER'));
    expect(h(r405, 'allow')).toContain('SUBSCRIBE');
    call.toTag = 'unknown';
    peer.send(call.inDialog('REFER'));
    await peer.expect(isStatus(481, 'REFER'));
  });

  test('our BYE (§12.2.1.1): Request-URI = Contact, Route = Record-Route, tags swapped, new CSeq; bye() resolves', async () => {
    const peer = await udp();
    const proxy = `<sip:127.0.0.1:${peer.port};lr>`;
    const { call } = await establish(peer, 'main', [['Record-Route', proxy]]);
    const rec = t.call(call.callId)!;
    const done = rec.dialog!.bye();
    const bye = await peer.expect(isRequest('BYE'));
    expect(bye.startLine).toBe(`BYE sip:caller@127.0.0.1:${peer.port} SIP/2.0`);
    expect(h(bye, 'route')).toBe(proxy);
    expect(tagOf(h(bye, 'from'))).toBe(call.toTag);
    expect(tagOf(h(bye, 'to'))).toBe(call.fromTag);
    expect(h(bye, 'call-id')).toBe(call.callId);
    expect(h(bye, 'cseq')).toMatch(/^\d+ BYE$/);
    expect(h(bye, 'via')).toMatch(new RegExp(`^SIP/2.0/UDP 127.0.0.1:${t.target.port};`));
    expect(h(bye, 'max-forwards')).toBe('70');
    expect(rec.ended).toEqual({ by: 'local' });
    peer.send(answer(bye));
    await done;
    // The dialog is gone: a late BYE from the caller gets 481.
    peer.send(call.inDialog('BYE'));
    await peer.expect(isStatus(481, 'BYE'));
  });

  test('§15: bye() before the ACK waits for the ACK', async () => {
    const peer = await udp();
    const call = new RawCall(peer, t.target, 'early-bye');
    peer.send(call.invite(offers.SIPP_DEFAULT));
    const ok = await peer.expect(isStatus(200, 'INVITE'));
    call.learn(ok);
    const rec = t.call(call.callId)!;
    const done = rec.dialog!.bye();
    expect(await peer.collect(isRequest('BYE'), 200)).toEqual([]);
    peer.send(call.ack());
    const bye = await peer.expect(isRequest('BYE'), 1000);
    peer.send(answer(bye));
    await done;
  });

  test('over TCP: the call, INFO, and our BYE on the same connection', async () => {
    const peer = await tcp();
    const { call, ok } = await establish(peer, 'tcp-user');
    expect(h(ok, 'contact')).toBe(`<sip:127.0.0.1:${t.target.port};transport=tcp>`);
    const rec = t.call(call.callId)!;
    expect(rec.invite.source.transport).toBe('tcp');
    peer.send(call.inDialog('INFO', 'Signal=#\r\n', [['Content-Type', 'application/dtmf-relay']]));
    await peer.expect(isStatus(200, 'INFO'));
    const done = rec.dialog!.bye();
    const bye = await peer.expect(isRequest('BYE'));
    expect(h(bye, 'via')).toMatch(/^SIP\/2.0\/TCP /);
    peer.send(answer(bye));
    await done;
  });
});

describe('sources', () => {
  test('a call from 127.0.0.2 (not a gateway) gets 403; the source is what the app saw', async () => {
    const peer = await udp('127.0.0.2');
    const call = new RawCall(peer, t.target, '5000');
    peer.send(call.invite(offers.SIPP_DEFAULT));
    const rs = await peer.expect(isStatus(403));
    call.learn(rs);
    peer.send(call.ack(true));
    expect(t.call(call.callId)!.invite.source).toEqual({ address: '127.0.0.2', port: peer.port, transport: 'udp' });
  });

  test('an unknown number: 404', async () => {
    const peer = await udp();
    peer.send(new RawCall(peer, t.target, '404').invite(offers.SIPP_DEFAULT));
    await peer.expect(isStatus(404));
  });
});

describe('malformed messages never crash the server', () => {
  async function callStillWorks(): Promise<void> {
    const peer = await udp();
    const { call } = await establish(peer, 'after-garbage');
    peer.send(call.inDialog('BYE'));
    await peer.expect(isStatus(200, 'BYE'));
  }

  test('UDP: garbage and binary are dropped; a truncated INVITE and broken headers get 400', async () => {
    const peer = await udp();
    const before = t.server.stats.malformedDatagrams;
    peer.send(Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10]));
    peer.send('hello world\r\n\r\n');
    peer.send('INVITE sip:x SIP/2.0\r\n\r\n'); // no Via: nothing to answer
    peer.send('\r\n\r\n'); // a keep-alive: ignored
    // Truncated in the body: Content-Length larger than what arrived (§18.3).
    const call = new RawCall(peer, t.target, 'truncated');
    const full = call.invite(offers.BARESIP);
    peer.send(full.slice(0, full.length - 40));
    const r1 = await peer.expect(isStatus(400, 'INVITE'));
    expect(r1.startLine).toBe('SIP/2.0 400 Truncated Body');
    // Truncated in the headers (no blank line), with Via/From/To/Call-ID/CSeq present: raw 400.
    const call2 = new RawCall(peer, t.target, 'cut');
    peer.send(call2.invite(offers.BARESIP).split('Contact:')[0]);
    const r2 = await peer.expect((m) => m.status === 400 && h(m, 'call-id') === call2.callId);
    expect(tagOf(h(r2, 'to'))).toBeTruthy();
    // A header the stack cannot parse (bad CSeq): raw 400.
    const call3 = new RawCall(peer, t.target, 'badcseq');
    peer.send(call3.invite(offers.SIPP_DEFAULT).replace('CSeq: 1 INVITE', 'CSeq: one INVITE'));
    await peer.expect((m) => m.status === 400 && h(m, 'call-id') === call3.callId);
    // Non-numeric Content-Length.
    const call4 = new RawCall(peer, t.target, 'badlen');
    peer.send(call4.invite(offers.SIPP_DEFAULT).replace(/Content-Length: \d+/, 'Content-Length: many'));
    await peer.expect((m) => m.status === 400 && h(m, 'call-id') === call4.callId);
    // CSeq method that does not match the request.
    const call5 = new RawCall(peer, t.target, 'mismatch');
    peer.send(call5.invite(offers.SIPP_DEFAULT).replace('CSeq: 1 INVITE', 'CSeq: 1 BYE'));
    await peer.expect((m) => m.status === 400 && h(m, 'call-id') === call5.callId);
    // An unsupported Request-URI scheme.
    const call6 = new RawCall(peer, t.target, 'scheme');
    peer.send(call6.invite(offers.SIPP_DEFAULT).replace(/^INVITE \S+/, 'INVITE mailto:a@b'));
    await peer.expect((m) => m.status === 416 && h(m, 'call-id') === call6.callId);
    expect(await peer.collect(() => true, 200)).toEqual([]); // nothing answered the garbage
    expect(t.server.stats.malformedDatagrams - before).toBeGreaterThanOrEqual(5);
    expect(t.calls.some((c) => c.invite.callId === call.callId)).toBe(false);
    await callStillWorks();
  });

  test('TCP: garbage, a truncated INVITE, a bad Content-Length; the connection is closed or ignored, others work', async () => {
    const a = await tcp();
    a.send('garbage garbage\r\n\r\n');
    a.send(Buffer.alloc(1000, 0xff));
    await a.close();
    const b = await tcp();
    const call = new RawCall(b, t.target, 'tcp-trunc');
    const full = call.invite(offers.BARESIP);
    b.send(full.slice(0, full.length - 40)); // waits for a body that never comes
    await b.close();
    const c = await tcp();
    c.send(new RawCall(c, t.target, 'tcp-badlen').invite(offers.SIPP_DEFAULT).replace(/Content-Length: \d+/, 'Content-Length: x'));
    // That connection now never frames a message: bytes without one close it.
    const chunk = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 6 && !c.closed; i++) c.send(chunk);
    await c.waitClosed(3000);
    expect(t.server.stats.tcpConnectionsDropped).toBeGreaterThanOrEqual(1);
    // A flood of header bytes without a blank line is closed too.
    const d = await tcp();
    for (let i = 0; i < 6 && !d.closed; i++) d.send(`X-Junk: ${'y'.repeat(64 * 1024)}\r\n`);
    await d.waitClosed(3000);
    // A fresh TCP connection still gets a call through.
    const e = await tcp();
    const { call: ok } = await establish(e, 'tcp-after-garbage');
    e.send(ok.inDialog('BYE'));
    await e.expect(isStatus(200, 'BYE'));
    await callStillWorks();
  });
});

describe('fuzzing (seeded, bounded)', () => {
  const prng = (seed: number): (() => number) => seededRandom(seed).next;

  function mutate(text: string, rnd: () => number): Buffer {
    let b = Buffer.from(text, 'latin1');
    const ops = 1 + Math.floor(rnd() * 5);
    for (let k = 0; k < ops; k++) {
      const r = rnd();
      const pos = Math.floor(rnd() * b.length);
      if (r < 0.3) b[pos] = Math.floor(rnd() * 256);
      else if (r < 0.45) b = b.subarray(0, pos);
      else if (r < 0.6) b = Buffer.concat([b.subarray(0, pos), b.subarray(pos + Math.floor(rnd() * 40))]);
      else if (r < 0.8) {
        const chars = [';', ',', '<', '>', '"', ':', '@', '\r\n', ' ', '=', '\\', '%', '\x00', ';tag='];
        const ins = chars[Math.floor(rnd() * chars.length)].repeat(1 + Math.floor(rnd() * 30));
        b = Buffer.concat([b.subarray(0, pos), Buffer.from(ins, 'latin1'), b.subarray(pos)]);
      } else {
        const lines = b.toString('latin1').split('\r\n');
        lines.splice(1 + Math.floor(rnd() * Math.max(1, lines.length - 1)), 1);
        b = Buffer.from(lines.join('\r\n'), 'latin1');
      }
    }
    return b;
  }

  test('1,500 mutated requests over UDP and 40 TCP connections: no crash, OPTIONS and a call still work', async () => {
    const rnd = prng(20240521);
    const u = await udp();
    const methods = ['INVITE', 'BYE', 'CANCEL', 'ACK', 'INFO', 'OPTIONS', 'SUBSCRIBE'];
    const sample = (peer: UdpPeer | TcpPeer, i: number) => {
      const call = new RawCall(peer, t.target, `fz${i % 9}`);
      if (i % 3 === 0) call.toTag = 'x';
      const m = methods[i % methods.length];
      return m === 'INVITE'
        ? call.invite(offers.BARESIP, [['Diversion', '<sip:2001@pbx>;reason=no-answer'], ['History-Info', '<sip:2001@pbx>;index=1,<sip:um@x;cause=302>;index=1.1;mp=1']])
        : call.inDialog(m, 'Signal=1\r\n', [['Content-Type', 'application/dtmf-relay']]);
    };
    for (let i = 0; i < 1500; i++) {
      u.send(mutate(sample(u, i), rnd));
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 5));
    }
    for (let c = 0; c < 40; c++) {
      const k = await TcpPeer.open(t.target);
      for (let i = 0; i < 10; i++) k.send(mutate(sample(k, c * 10 + i), rnd));
      await k.close();
    }
    await new Promise((r) => setTimeout(r, 300));
    const health = new RawCall(u, t.target, 'health');
    u.send(health.inDialog('OPTIONS'));
    await u.expect((m) => m.status === 200 && h(m, 'call-id') === health.callId, 2000);
    const peer = await udp();
    const { call } = await establish(peer, 'after-fuzz');
    peer.send(call.inDialog('BYE'));
    await peer.expect(isStatus(200, 'BYE'));
  });
});

describe('start and stop', () => {
  test('a busy fixed port is an error; after stop() the port can be bound again', async () => {
    const a = await startTestServer();
    await expect(startTestServer({ port: a.target.port })).rejects.toThrow(/cannot bind SIP on 127\.0\.0\.1:\d+/);
    await a.stop();
    await a.stop(); // idempotent
    const b = await startTestServer({ port: a.target.port });
    expect(b.target.port).toBe(a.target.port);
    await b.stop();
  });
});

describe('timers (short T1)', () => {
  let fast: TestSipServer;
  beforeAll(async () => {
    fast = await startTestServer({ timers: { t1Ms: 20, t2Ms: 160 } });
  });
  afterAll(async () => {
    await fast.stop();
  });

  test('§13.3.1.4: no ACK within 64*T1 -> BYE and onEnded(timeout); retransmissions capped at T2', async () => {
    const peer = await UdpPeer.open(fast.target);
    peers.push(peer);
    const call = new RawCall(peer, fast.target, 'never-ack');
    peer.send(call.invite(offers.SIPP_DEFAULT));
    const bye = await peer.expect(isRequest('BYE'), 3000);
    const oks = peer.all.filter(isStatus(200, 'INVITE'));
    // 20, 40, 80, 160, 160, ... ms within 1280 ms: about 10 sends in all.
    expect(oks.length).toBeGreaterThanOrEqual(6);
    expect(oks.length).toBeLessThanOrEqual(13);
    const gaps = oks.slice(1).map((m, i) => m.at - oks[i].at);
    expect(Math.max(...gaps)).toBeLessThan(400); // doubling without the T2 cap would reach 640
    const rec = fast.call(call.callId)!;
    expect(rec.ended).toEqual({ by: 'timeout', cause: 'no ACK' });
    peer.send(answer(bye));
    const t0 = performance.now();
    await rec.dialog!.bye(); // the same BYE: resolves on our 200
    expect(performance.now() - t0).toBeLessThan(500);
    expect(fast.server.stats.ackTimeouts).toBe(1);
  });

  test('stop() sends BYE on confirmed dialogs and refuses new INVITEs with 503', async () => {
    const peer = await UdpPeer.open(fast.target);
    peers.push(peer);
    const call = new RawCall(peer, fast.target, 'stop-me');
    peer.send(call.invite(offers.SIPP_DEFAULT));
    const ok = await peer.expect(isStatus(200, 'INVITE'));
    call.learn(ok);
    peer.send(call.ack());
    await waitFor(() => fast.call(call.callId)!.dialog!.confirmed, 1000, 'ACK');
    let pendingInvite: RawCall | null = null;
    fast.custom = (invite) => invite.toUser === 'pending';
    pendingInvite = new RawCall(peer, fast.target, 'pending');
    peer.send(pendingInvite.invite(offers.SIPP_DEFAULT));
    await waitFor(() => !!fast.calls.find((c) => c.invite.toUser === 'pending'), 1000, 'pending invite');
    const stopped = fast.stop();
    const bye = await peer.expect(isRequest('BYE'), 1000);
    expect(h(bye, 'call-id')).toBe(call.callId);
    const unavailable = await peer.expect(isStatus(503), 1000);
    expect(h(unavailable, 'call-id')).toBe(pendingInvite.callId);
    peer.send(answer(bye));
    await stopped;
    expect(fast.call(call.callId)!.ended).toEqual({ by: 'local', cause: 'shutdown' });
  });
});
