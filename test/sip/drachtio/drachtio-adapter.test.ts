/**
 * The drachtio adapter's own cases, beyond the shared port contract (test/contract/): shutdown, bodies it refuses,
 * drachtio-server failing under it, and the MWI details specific to drachtio-srf. On the fake wrapper
 * ({@link FakeSrf}).
 */
import pino from 'pino';
import { isVaError } from '../../../src/errors';
import type { IncomingCall } from '../../../src/ports/call-channel';
import type { IncomingSubscription } from '../../../src/ports/mwi';
import { parseDrachtioAddress, parseHostport } from '../../../src/sip/drachtio/drachtio-connection';
import { inviteParties } from '../../../src/sip/drachtio/drachtio-call-source';
import { benignRejectionFilter } from '../../../src/sip/drachtio/drachtio-signalling';
import { DrachtioMwiTransport, DrachtioSubscriptionSource } from '../../../src/sip/drachtio/drachtio-mwi';
import { DEFAULT_OFFER } from '../../contract/call-source-contract';
import { FAKE_ADDRESSES, makeDrachtioCallHarness } from '../../contract/drachtio-harness';
import { FakeRequest, FakeSrf } from './fake-srf';

async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function invite(to: string, headers: Array<[string, string]>, body: string, address = FAKE_ADDRESSES.enabled): FakeRequest {
  return new FakeRequest(
    'INVITE',
    `sip:${to}@127.0.0.1:5060`,
    [['From', `<sip:4255550101@${address}>;tag=f1`], ['To', `<sip:${to}@127.0.0.1>`], ['Call-ID', `c-${Math.random()}@x`], ['CSeq', '1 INVITE'], ...headers],
    body,
    address,
    5060,
  );
}

describe('address parsing', () => {
  test('--drachtio HOST:PORT, the port defaulting to 9022; IPv6 in brackets; nonsense is null', () => {
    expect(parseDrachtioAddress('127.0.0.1:9022')).toEqual({ host: '127.0.0.1', port: 9022 });
    expect(parseDrachtioAddress('drachtio.internal')).toEqual({ host: 'drachtio.internal', port: 9022 });
    expect(parseDrachtioAddress('[::1]:9023')).toEqual({ host: '::1', port: 9023 });
    expect(parseDrachtioAddress('host:0')).toBeNull();
    expect(parseDrachtioAddress('host:70000')).toBeNull();
    expect(parseDrachtioAddress('a b:1')).toBeNull();
    expect(parseDrachtioAddress('')).toBeNull();
  });

  test("drachtio-server's hostport list", () => {
    expect(parseHostport('udp/127.0.0.1:5060,tcp/127.0.0.1:5060,tls/[::1]:5061')).toEqual([
      { transport: 'udp', host: '127.0.0.1', port: 5060 },
      { transport: 'tcp', host: '127.0.0.1', port: 5060 },
      { transport: 'tls', host: '::1', port: 5061 },
    ]);
    expect(parseHostport(undefined)).toEqual([]);
    expect(parseHostport('garbage')).toEqual([]);
  });

  test('the parties of an INVITE: tel: and user=phone URIs, To when the Request-URI has no user', () => {
    const r = (uri: string, headers: Array<[string, string]>) => inviteParties(new FakeRequest('INVITE', uri, headers));
    expect(r('sip:+1-425-555-0100@gw;user=phone', [['From', '<tel:+14255550101>;tag=1']])).toEqual({ fromUser: '+14255550101', toUser: '+14255550100' });
    expect(r('sip:gw.contoso.com', [['From', '"Anonymous" <sip:anonymous@anonymous.invalid>;tag=1'], ['To', '<sip:51234@gw>']])).toEqual({ fromUser: null, toUser: '51234' });
  });
});

describe("drachtio-fsmrf's unhandled rejections", () => {
  test('a BYE whose dialog or admin connection is gone is logged; any other rejection is thrown on, as without a listener', () => {
    const lines: Array<{ code?: string; msg: string }> = [];
    const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const filter = benignRejectionFilter(logger);
    // What lib/mediaserver.js's timeoutFn leaves behind: dialog.destroy() without a handler (ESOCKETDESTROYED ended a
    // bench process under overload), and the BYE racing drachtio-server's own teardown (ENODIALOG).
    for (const code of ['ENODIALOG', 'ESOCKETDESTROYED']) filter(Object.assign(new Error(`the BYE failed (${code})`), { code }));
    expect(lines.map((l) => l.code)).toEqual(['ENODIALOG', 'ESOCKETDESTROYED']);
    const other = Object.assign(new Error('a bug'), { code: 'EDRACHTIO' });
    expect(() => filter(other)).toThrow(other);
    expect(() => filter('no code')).toThrow();
  });
});

describe('DrachtioCallSource specifics', () => {
  let h: Awaited<ReturnType<typeof makeDrachtioCallHarness>>;
  let calls: IncomingCall[];
  beforeEach(async () => {
    h = await makeDrachtioCallHarness();
    calls = [];
    h.source.onCall((c) => calls.push(c));
  });
  afterEach(async () => {
    await h.close();
  });

  test('an INVITE without an offer gets our offer in the 200 (late offer), a body that is not SDP 415 with Accept; a multipart body with SDP is fine', async () => {
    const late = h.srf.deliver(invite('14255550100', [], ''));
    await until(() => calls.length === 1, 2000, 'the late-offer call');
    const answering = calls[0].channel.answer();
    const offered = await late.waitFinal();
    expect(offered.status).toBe(200);
    expect(offered.body).toMatch(/^m=audio \d+ RTP\/AVP 0 8 101\r?$/m);
    await answering;
    await until(() => calls[0].channel.ended, 2000, 'the BYE for an ACK without an answer');
    calls.length = 0;
    const text = h.srf.deliver(invite('14255550100', [['Content-Type', 'text/plain']], 'hello'));
    const refused = await text.waitFinal();
    expect(refused.status).toBe(415);
    expect(refused.headers.Accept).toBe('application/sdp');
    const boundary = 'unique-boundary-1';
    const multipart = `--${boundary}\r\nContent-Type: application/sdp\r\n\r\n${DEFAULT_OFFER}\r\n--${boundary}\r\nContent-Type: application/isup; version=itu-t92+\r\n\r\n\x01\x00\r\n--${boundary}--\r\n`;
    const mp = h.srf.deliver(invite('14255550100', [['Content-Type', `multipart/mixed;boundary=${boundary}`]], multipart));
    await until(() => calls.length === 1, 2000, 'the multipart call');
    await calls[0].channel.answer();
    expect((await mp.waitFinal()).status).toBe(200);
    await calls[0].channel.hangup();
  });

  test('stop(): answered calls get BYE, unanswered ones 503, new INVITEs 503', async () => {
    const r1 = h.srf.deliver(invite('14255550100', [['Content-Type', 'application/sdp']], DEFAULT_OFFER));
    const r2 = h.srf.deliver(invite('14255550100', [['Content-Type', 'application/sdp']], DEFAULT_OFFER));
    await until(() => calls.length === 2, 2000, 'two calls');
    await calls[0].channel.answer();
    expect((await r1.waitFinal()).status).toBe(200);
    const d1 = h.srf.allDialogs[0];
    expect(h.calls.activeCalls).toBe(2);
    await h.calls.stop(1000);
    expect(d1.destroyed).toBe(true);
    expect((await r2.waitFinal()).status).toBe(503);
    expect(calls.every((c) => c.channel.ended)).toBe(true);
    await until(() => h.calls.activeCalls === 0, 1000, 'no live calls');
    const r3 = h.srf.deliver(invite('14255550100', [['Content-Type', 'application/sdp']], DEFAULT_OFFER));
    expect((await r3.waitFinal()).status).toBe(503);
    expect(calls).toHaveLength(2);
  });

  test('drachtio-server cannot send the 200 OK (connection lost): the call ends as if the caller hung up', async () => {
    h.srf.deliver(invite('14255550100', [['Content-Type', 'application/sdp']], DEFAULT_OFFER));
    await until(() => calls.length === 1, 2000, 'the call');
    let hungUp = 0;
    calls[0].channel.onHangup(() => hungUp++);
    h.srf.connected = false;
    await calls[0].channel.answer();
    await until(() => calls[0].channel.ended, 1000, 'the channel to end');
    expect(hungUp).toBe(1);
  });

  test('the IVR hangs up before the 200 OK went out: 480; after it went out but before drachtio-server confirmed it: BYE at once', async () => {
    const r1 = h.srf.deliver(invite('14255550100', [['Content-Type', 'application/sdp']], DEFAULT_OFFER));
    await until(() => calls.length === 1, 2000, 'the first call');
    const a1 = calls[0].channel.answer();
    await calls[0].channel.hangup('goodbye');
    await a1;
    expect((await r1.waitFinal()).status).toBe(480);
    expect(h.srf.allDialogs).toHaveLength(0);

    h.srf.holdConfirmations = true;
    const r2 = h.srf.deliver(invite('14255550100', [['Content-Type', 'application/sdp']], DEFAULT_OFFER));
    await until(() => calls.length === 2, 2000, 'the second call');
    const a2 = calls[1].channel.answer();
    expect((await r2.waitFinal()).status).toBe(200);
    await calls[1].channel.hangup('goodbye');
    h.srf.confirmHeld();
    await a2;
    const d = h.srf.allDialogs[0];
    await d.waitDestroyed(1000);
    expect(d.destroyed).toBe(true);
  });

  test('INFO after the caller hung up is not delivered; a BYE we send after the far end left is harmless', async () => {
    const r = h.srf.deliver(invite('14255550100', [['Content-Type', 'application/sdp']], DEFAULT_OFFER));
    await until(() => calls.length === 1, 2000, 'the call');
    const digits: string[] = [];
    calls[0].channel.onDtmf((d) => digits.push(d));
    await calls[0].channel.answer();
    await r.waitFinal();
    const d = h.srf.allDialogs[0];
    d.remoteBye();
    expect(calls[0].channel.ended).toBe(true);
    expect((await d.receive('info', 'INFO', [['Content-Type', 'application/dtmf']], '5')).status).toBe(200); // no listener left: drachtio-srf answers 200
    expect(digits).toEqual([]);
    await calls[0].channel.hangup();
    expect(d.destroyed).toBe(false);
  });
});

describe('DrachtioMwiTransport specifics', () => {
  const logger = pino({ level: 'silent' });

  test('not connected: VA_ERR_DRACHTIO_CONNECT, and nothing is sent', async () => {
    const srf = new FakeSrf({ connected: false });
    const t = new DrachtioMwiTransport({ srf, isConnected: () => srf.connected, where: '127.0.0.1:9022', logger });
    const err = await t.sendNotify({ host: '10.0.0.9', port: 5060, transport: 'tcp', extension: '51234', body: 'x' }).catch((e: unknown) => e);
    expect(isVaError(err, 'VA_ERR_DRACHTIO_CONNECT')).toBe(true);
    expect((err as Error).message).toBe('not connected to drachtio-server at 127.0.0.1:9022: the NOTIFY to 10.0.0.9:5060 was not sent');
    expect(srf.outgoing.length).toBe(0);
  });

  test('TLS and IPv6 gateways: transport=tls, the address in brackets; provisional responses are skipped', async () => {
    const srf = new FakeSrf();
    const t = new DrachtioMwiTransport({ srf, isConnected: () => true, where: 'x', logger, responseTimeoutMs: 1000 });
    const pending = t.sendNotify({ host: '2001:db8::7', port: 5061, transport: 'tls', extension: '51234', body: 'Messages-Waiting: no\r\n' });
    const o = await srf.outgoing.next(1000, 'NOTIFY');
    expect(o.uri).toBe('sip:51234@[2001:db8::7]:5061;transport=tls');
    expect(o.headers.To).toBe('<sip:51234@[2001:db8::7]>');
    o.respond(100);
    o.respond(202, 'Accepted');
    await expect(pending).resolves.toEqual({ status: 202, reason: 'Accepted' });
  });
});

describe('DrachtioSubscriptionSource specifics', () => {
  const logger = pino({ level: 'silent' });
  const subscribe = (headers: Array<[string, string]>) =>
    new FakeRequest(
      'SUBSCRIBE',
      'sip:51234@127.0.0.1',
      [['From', '<sip:51234@10.1.0.1>;tag=s1'], ['To', '<sip:51234@127.0.0.1>'], ['Call-ID', `s-${Math.random()}`], ['CSeq', '1 SUBSCRIBE'], ['Contact', '<sip:51234@10.1.0.1>'], ...headers],
      '',
      '10.1.0.1',
    );

  test('a SUBSCRIBE with a To tag for a dialog we do not know gets 481; without a handler 489', async () => {
    const srf = new FakeSrf();
    const source = new DrachtioSubscriptionSource({ srf, logger });
    const none = srf.deliver(subscribe([['Event', 'message-summary']]));
    expect((await none.waitFinal()).status).toBe(489);
    const seen: IncomingSubscription[] = [];
    source.onSubscribe((s) => void seen.push(s));
    const stale = new FakeRequest('SUBSCRIBE', 'sip:51234@127.0.0.1', [['From', '<sip:51234@10.1.0.1>;tag=s1'], ['To', '<sip:51234@127.0.0.1>;tag=gone'], ['Call-ID', 'old'], ['Event', 'message-summary'], ['Expires', '3600']]);
    expect((await srf.deliver(stale).waitFinal()).status).toBe(481);
    expect(seen).toHaveLength(0);
  });

  test('the Event header is echoed verbatim in NOTIFYs (with its id); no Expires is undefined; a NOTIFY nobody answers returns 0', async () => {
    const srf = new FakeSrf();
    const source = new DrachtioSubscriptionSource({ srf, logger, responseTimeoutMs: 200 });
    const seen: IncomingSubscription[] = [];
    source.onSubscribe((s) => void seen.push(s));
    const req = subscribe([['Event', 'message-summary;id=7']]);
    srf.deliver(req);
    expect(seen[0].event).toBe('message-summary');
    expect(seen[0].expires).toBeUndefined();
    const dialog = seen[0].accept(3600);
    const first = dialog.notify('active;expires=3600', 'Messages-Waiting: no\r\n');
    const d = await srf.dialogFor(req);
    const o = await d.requests.next(1000, 'NOTIFY');
    expect(o.method).toBe('NOTIFY');
    expect(o.headers.Event).toBe('message-summary;id=7');
    expect(await first).toBe(0); // not answered within 200 ms
    dialog.close();
    expect(srf.dialogs.has(d)).toBe(false);
    srf.connected = false;
    expect(await dialog.notify('terminated', '')).toBe(0); // drachtio-server gone: no response
  });
});
