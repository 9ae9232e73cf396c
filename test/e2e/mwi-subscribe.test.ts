/**
 * message-summary subscriptions on the real server (issue 5; RFC 6665, RFC 3842): SIPp subscribes, gets 200, the
 * immediate NOTIFY, the NOTIFY when a message arrives, and unsubscribes; raw SIP checks each refusal (489, 423 with
 * Min-Expires, 404, 403), a refresh, an expiry, and a subscriber that answers 481. Run on each engine (embedded,
 * drachtio, drachtio with FreeSWITCH media: subscriptions are signalling only, the media engine must not change them).
 */
import * as path from 'node:path';
import { parseMessageSummary } from '../../src/domain/message-summary';
import { answer, h, isRequest, isStatus, message, RawCall, randomToken, UdpPeer, type RawMessage } from '../sip/helpers/raw-sip';
import { describeEngines, expectSippSuccess, sippCall, startIvrServer, type IvrServer } from './helpers/ivr-server';

jest.setTimeout(60_000);

describeEngines('message-summary subscriptions', (engine) => {
  let t: IvrServer;
  const peers: UdpPeer[] = [];

  beforeAll(async () => {
    t = await startIvrServer({ engine, patch: (doc) => (doc.notifications = { mwi: { subscriptions: { minExpiresSeconds: 2, defaultExpiresSeconds: 3600, maxExpiresSeconds: 3600 } } }) });
  }, 60_000);
  afterEach(async () => {
    for (const p of peers.splice(0)) await p.close();
  });
  afterAll(async () => {
    await t?.stop();
  }, 30_000);

  async function peer(address = '127.0.0.1'): Promise<UdpPeer> {
    const p = await UdpPeer.open(t.target, address);
    peers.push(p);
    return p;
  }

  async function addMessage(identity: string): Promise<void> {
    await t.server.app.store.addVoiceMessage({ identity, caller: '+14255550123', receivedAt: Date.now(), durationMs: 2000, urgent: false, audioFile: path.join(t.data, 'x.wav') });
    t.server.mwi.mailboxChanged(identity);
  }

  function subscribe(call: RawCall, opts: { event?: string; expires?: number | null } = {}): string {
    const extra: Array<[string, string]> = [['Event', opts.event ?? 'message-summary']];
    if (opts.expires !== null) extra.push(['Expires', String(opts.expires ?? 600)]);
    return message(`SUBSCRIBE ${call.requestUri} SIP/2.0`, [
      ['Via', call.via(`z9hG4bK${randomToken(6)}`)],
      ['Max-Forwards', '70'],
      ['From', call.from],
      ['To', call.to],
      ['Call-ID', call.callId],
      ['CSeq', `${call.cseq} SUBSCRIBE`],
      ['Contact', call.contact],
      ['Accept', 'application/simple-message-summary'],
      ...extra,
    ]);
  }

  const summary = (m: RawMessage) => parseMessageSummary(m.body);

  test('SIPp: 200, the immediate NOTIFY, a NOTIFY on a new message, unsubscribe with a terminated NOTIFY', async () => {
    const run = sippCall(t, 'subscribe-mwi.xml', { service: '51235', timeoutS: 40 });
    await t.until(() => t.server.mwi.subscriptions.size === 1, 15_000, 'the subscription');
    await new Promise((r) => setTimeout(r, 300)); // the first NOTIFY answered
    await addMessage('david@contoso.com');
    const r = await run;
    expectSippSuccess(t, r);
    expect(t.server.mwi.subscriptions.size).toBe(0);
  });

  test('refusals: 489 for another event package, 423 with Min-Expires, 404 for an unknown extension, 403 for a non-gateway', async () => {
    const p = await peer();
    const bad = new RawCall(p, t.target, '51234');
    p.send(subscribe(bad, { event: 'presence' }));
    const r489 = await p.expect(isStatus(489), 3000, '489');
    expect(h(r489, 'allow-events')).toBe('message-summary');

    const brief = new RawCall(p, t.target, '51234');
    p.send(subscribe(brief, { expires: 1 }));
    const r423 = await p.expect(isStatus(423), 3000, '423');
    expect(h(r423, 'min-expires')).toBe('2');

    const unknown = new RawCall(p, t.target, '59999');
    p.send(subscribe(unknown));
    await p.expect(isStatus(404), 3000, '404');

    const stranger = await peer('127.0.0.2');
    const s = new RawCall(stranger, t.target, '51234');
    stranger.send(subscribe(s));
    await stranger.expect(isStatus(403), 3000, '403');
    expect(t.server.mwi.subscriptions.size).toBe(0);
  });

  test('a refresh resets the expiry and is answered with a NOTIFY; an unknown dialog gets 481', async () => {
    const p = await peer();
    const call = new RawCall(p, t.target, '51234');
    p.send(subscribe(call, { expires: null }));
    const ok = await p.expect(isStatus(200, 'SUBSCRIBE'), 3000, '200');
    expect(h(ok, 'expires')).toBe('3600'); // RFC 3842 §3.4 default
    call.learn(ok);
    const first = await p.expect(isRequest('NOTIFY'), 3000, 'the first NOTIFY');
    expect(h(first, 'subscription-state')).toMatch(/^active;expires=(3599|3600)$/);
    expect(summary(first)).toMatchObject({ messagesWaiting: expect.any(Boolean), account: expect.stringMatching(/^sip:51234@127\.0\.0\.1$/) });
    p.send(answer(first));

    call.cseq++;
    p.send(subscribe(call, { expires: 300 }));
    const refreshed = await p.expect(isStatus(200, 'SUBSCRIBE'), 3000, '200 to the refresh');
    expect(h(refreshed, 'expires')).toBe('300');
    const again = await p.expect(isRequest('NOTIFY'), 3000, 'the NOTIFY after the refresh');
    expect(h(again, 'subscription-state')).toMatch(/^active;expires=(299|300)$/);
    p.send(answer(again));

    const stale = new RawCall(p, t.target, '51234');
    stale.toTag = 'no-such-tag';
    p.send(subscribe(stale));
    await p.expect(isStatus(481), 3000, '481');

    call.cseq++;
    p.send(subscribe(call, { expires: 0 }));
    await p.expect(isStatus(200, 'SUBSCRIBE'), 3000, '200 to the unsubscribe');
    const last = await p.expect(isRequest('NOTIFY'), 3000, 'the terminated NOTIFY');
    expect(h(last, 'subscription-state')).toMatch(/^terminated/);
    p.send(answer(last));
  });

  test('at expiry: a terminated;reason=timeout NOTIFY; a subscriber answering 481 is dropped', async () => {
    const p = await peer();
    const call = new RawCall(p, t.target, '51235');
    p.send(subscribe(call, { expires: 2 }));
    call.learn(await p.expect(isStatus(200, 'SUBSCRIBE'), 3000, '200'));
    p.send(answer(await p.expect(isRequest('NOTIFY'), 3000, 'the first NOTIFY')));
    const end = await p.expect(isRequest('NOTIFY'), 5000, 'the NOTIFY at expiry');
    expect(h(end, 'subscription-state')).toBe('terminated;reason=timeout');
    p.send(answer(end));

    const forgetful = new RawCall(p, t.target, '51235');
    p.send(subscribe(forgetful, { expires: 600 }));
    await p.expect(isStatus(200, 'SUBSCRIBE'), 3000, '200');
    p.send(answer(await p.expect(isRequest('NOTIFY'), 3000, 'the first NOTIFY'), 481, 'Call/Transaction Does Not Exist'));
    await t.until(() => t.server.mwi.subscriptions.size === 0, 3000, 'the subscription to be dropped');
  });
});
