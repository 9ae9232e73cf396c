/**
 * The shared port contract of a signalling adapter's {@link CallSource} and the {@link CallChannel}s it creates
 * (`src/ports/call-channel.ts`), run against every engine: the embedded SIP stack over real sockets, and the drachtio
 * adapter on a fake of its drachtio-srf wrapper. A harness places calls as a UM IP gateway would and plays the
 * caller's side; the cases below are the same for every engine.
 */
import { createSocket } from 'node:dgram';
import type { MediaEngine } from '../../src/media/media-engine';
import type { CallChannel, CallSource, IncomingCall } from '../../src/ports/call-channel';

/** Which of the harness's sources a call comes from. */
export type GatewayKind = 'enabled' | 'draining' | 'unknown';

/** What a harness must offer the cases. */
export interface CallSourceHarness {
  /** The adapter under test, wired to the harness's admission rule and a real RTP engine. */
  source: CallSource;
  /**
   * The admission rule the adapter was given: `enabled` is an Enabled UM IP gateway's address, `draining` a
   * NoNewCalls gateway's, `unknown` no gateway's.
   */
  addresses: Record<GatewayKind, string>;
  /** The RTP engine the adapter opens its calls' sessions on (a refused call must leave none open). */
  media: Pick<MediaEngine, 'sessionCount'>;
  /**
   * Sends a new INVITE to `to` from the given source, with the default From (`"Test" <sip:4255550101@...>`), the
   * extra headers, and `sdp` as the offer (a PCMU+PCMA+telephone-event offer when undefined; none when null).
   * `ackSdp` is what the ACK of a 2xx carries (the caller's answer to the IVR's offer, for an INVITE without one).
   */
  call(opts: { gateway: GatewayKind; to: string; headers?: Array<[string, string]>; sdp?: string | null; ackSdp?: string }): Promise<ContractCaller>;
  close(): Promise<void>;
}

/** The caller's side of one call. */
export interface ContractCaller {
  /** The final response to the INVITE (the ACK is sent for a 2xx); rejects when none comes in time. */
  final(timeoutMs?: number): Promise<{ status: number; sdp: string }>;
  /** Sends an INFO in the dialog; resolves with its final status. */
  info(contentType: string, body: string): Promise<number>;
  /** Sends a re-INVITE with `sdp`; resolves with its final status and the answer's SDP. */
  reinvite(sdp: string): Promise<{ status: number; sdp: string }>;
  /** The caller hangs up an answered call (BYE). */
  bye(): Promise<void>;
  /** The caller cancels the INVITE before the final response. */
  cancel(): Promise<void>;
  /** Resolves when the IVR's BYE reached the caller (it is answered 200). */
  byeFromIvr(timeoutMs?: number): Promise<void>;
}

/** A caller's offer: PCMU, PCMA, telephone-event 101 on 127.0.0.1 (nothing listens: no RTP needed here). */
export const DEFAULT_OFFER = [
  'v=0',
  'o=caller 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 49170 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
  '',
].join('\r\n');

const PCMA_ONLY = DEFAULT_OFFER.replace('RTP/AVP 0 8 101', 'RTP/AVP 8 101').replace('a=rtpmap:0 PCMU/8000\r\n', '');
const G722_ONLY = DEFAULT_OFFER.replace('RTP/AVP 0 8 101', 'RTP/AVP 9').replace(/a=rtpmap:0.*\r\na=rtpmap:8.*\r\na=rtpmap:101.*\r\na=fmtp:101.*\r\n/, 'a=rtpmap:9 G722/8000\r\n');
const BAD_PORT = DEFAULT_OFFER.replace('m=audio 49170', 'm=audio 70000');
const HOST_NAME = DEFAULT_OFFER.replace('c=IN IP4 127.0.0.1', 'c=IN IP4 gateway.invalid');
const BAD_TELEPHONE_EVENT = DEFAULT_OFFER.replace(/101/g, '200');
const HOLD = DEFAULT_OFFER.replace('o=caller 1 1', 'o=caller 1 2').replace('a=sendrecv', 'a=sendonly');

/** Polls `pred` every 10 ms until true; rejects after `timeoutMs`. */
async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Collects the calls a source announces. */
function recorder(source: CallSource): { calls: IncomingCall[]; next(timeoutMs?: number): Promise<IncomingCall> } {
  const calls: IncomingCall[] = [];
  source.onCall((call) => calls.push(call));
  let taken = 0;
  return {
    calls,
    async next(timeoutMs = 3000) {
      await until(() => calls.length > taken, timeoutMs, 'the call to be announced');
      return calls[taken++];
    },
  };
}

/** Observes a channel's digits and hang-up. */
function watch(channel: CallChannel): { digits: string[]; hungUp: number } {
  const w = { digits: [] as string[], hungUp: 0 };
  channel.onDtmf((d) => w.digits.push(d));
  channel.onHangup(() => w.hungUp++);
  return w;
}

/**
 * Defines the contract's cases for one engine.
 * @param name the engine's name in the test titles
 * @param makeHarness builds a fresh harness per test (closed after it)
 */
export function describeCallSourceContract(name: string, makeHarness: () => Promise<CallSourceHarness>): void {
  describe(`CallSource/CallChannel contract: ${name}`, () => {
    let h: CallSourceHarness;
    beforeEach(async () => {
      h = await makeHarness();
    });

    /** A call from the enabled gateway to the access number, answered: the 200 OK sent and ACKed. */
    async function answeredCall(sdp?: string | null, ackSdp?: string): Promise<{ caller: ContractCaller; call: IncomingCall; final: { status: number; sdp: string } }> {
      const rec = recorder(h.source);
      const caller = await h.call({ gateway: 'enabled', to: '14255550100', sdp, ...(ackSdp !== undefined ? { ackSdp } : {}) });
      const call = await rec.next();
      // answer() resolves once the caller's ACK confirms the 200 OK (the caller ACKs when it reads the final response).
      const answered = call.channel.answer();
      const final = await caller.final();
      await answered;
      return { caller, call, final };
    }
    afterEach(async () => {
      await h.close();
    });

    test('a new call is announced with its from, to, diversion and source address', async () => {
      const rec = recorder(h.source);
      const caller = await h.call({ gateway: 'enabled', to: '14255550100', headers: [['Diversion', '<sip:51235@pbx.contoso.com>;reason=no-answer;counter=1']] });
      const call = await rec.next();
      expect(call.from).toBe('4255550101');
      expect(call.to).toBe('14255550100');
      expect(call.diversion).toBe('51235');
      expect(call.sourceAddress).toMatch(new RegExp(`^${h.addresses.enabled.replace(/\./g, '\\.')}(:\\d+)?$`));
      expect(call.channel.callId).not.toBe('');
      expect(call.channel.ended).toBe(false);
      await call.channel.hangup('not-found');
      expect((await caller.final()).status).toBe(404);
    });

    test('P-Asserted-Identity names the caller; an anonymous one is null; History-Info is a diversion', async () => {
      const rec = recorder(h.source);
      const c1 = await h.call({ gateway: 'enabled', to: '51234', headers: [['P-Asserted-Identity', '<sip:+14255550123@gw.contoso.com>']] });
      const first = await rec.next();
      expect(first.from).toBe('+14255550123');
      expect(first.diversion).toBeUndefined();
      await first.channel.hangup('not-found');
      await c1.final();
      const c2 = await h.call({
        gateway: 'enabled',
        to: '14255550100',
        headers: [
          ['P-Asserted-Identity', '<sip:anonymous@anonymous.invalid>'],
          ['History-Info', '<sip:51234@pbx.contoso.com>;index=1, <sip:14255550100@um.contoso.com;cause=480>;index=1.1;mp=1'],
        ],
      });
      const second = await rec.next();
      expect(second.from).toBeNull();
      expect(second.diversion).toBe('51234');
      await second.channel.hangup('not-found');
      await c2.final();
    });

    test('answer() sends 200 OK with an SDP answer for the offered G.711 codec', async () => {
      const { caller, call, final } = await answeredCall(PCMA_ONLY);
      expect(final.status).toBe(200);
      expect(final.sdp).toMatch(/^m=audio [1-9]\d* RTP\/AVP 8 101\r?$/m);
      expect(final.sdp).toMatch(/a=rtpmap:8 PCMA\/8000/);
      expect(final.sdp).toMatch(/a=rtpmap:101 telephone-event\/8000/);
      await call.channel.answer(); // a second answer is a no-op
      await call.channel.hangup();
      await caller.byeFromIvr();
    });

    test('SIP INFO digits reach onDtmf; a bad DTMF body gets 400 and another content type 415', async () => {
      const { caller, call, final } = await answeredCall();
      const w = watch(call.channel);
      expect(final.status).toBe(200);
      expect(await caller.info('application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n')).toBe(200);
      await until(() => w.digits.length >= 1, 2000, 'the INFO digit');
      expect(await caller.info('application/dtmf', '#')).toBe(200);
      await until(() => w.digits.length >= 2, 2000, 'the second INFO digit');
      expect(w.digits).toEqual(['5', '#']);
      expect(await caller.info('application/dtmf-relay', 'Signal=Z\r\n')).toBe(400);
      expect(await caller.info('application/media_control+xml', '<media_control/>')).toBe(415);
      expect(w.digits).toEqual(['5', '#']);
      await call.channel.hangup();
      await caller.byeFromIvr();
    });

    test('a re-INVITE (hold) is answered with an SDP answer from the same RTP port', async () => {
      const { caller, call, final: first } = await answeredCall();
      const port = /^m=audio (\d+)/m.exec(first.sdp)?.[1];
      const re = await caller.reinvite(HOLD);
      expect(re.status).toBe(200);
      expect(/^m=audio (\d+)/m.exec(re.sdp)?.[1]).toBe(port);
      expect(re.sdp).toMatch(/a=recvonly/);
      await call.channel.hangup();
      await caller.byeFromIvr();
    });

    test("the caller's BYE: onHangup fires once and the channel has ended", async () => {
      const { caller, call } = await answeredCall();
      const w = watch(call.channel);
      await caller.bye();
      await until(() => call.channel.ended, 2000, 'the channel to end');
      expect(w.hungUp).toBe(1);
      await call.channel.hangup(); // no BYE goes out after the caller's
    });

    test("the IVR's hangup() after the answer sends BYE", async () => {
      const { caller, call } = await answeredCall();
      const w = watch(call.channel);
      await call.channel.hangup('goodbye');
      await caller.byeFromIvr();
      expect(call.channel.ended).toBe(true);
      expect(w.hungUp).toBe(0);
    });

    test('hangup() before the answer: 404 for not-found, 480 otherwise', async () => {
      const rec = recorder(h.source);
      const c1 = await h.call({ gateway: 'enabled', to: '19999999' });
      await (await rec.next()).channel.hangup('not-found');
      expect((await c1.final()).status).toBe(404);
      const c2 = await h.call({ gateway: 'enabled', to: '14255550100' });
      await (await rec.next()).channel.hangup('error');
      expect((await c2.final()).status).toBe(480);
    });

    test('CANCEL before the answer ends the channel (onHangup)', async () => {
      const rec = recorder(h.source);
      const caller = await h.call({ gateway: 'enabled', to: '14255550100' });
      const call = await rec.next();
      const w = watch(call.channel);
      await caller.cancel();
      await until(() => call.channel.ended, 2000, 'the channel to end');
      expect(w.hungUp).toBe(1);
      expect((await caller.final()).status).toBe(487);
      await call.channel.answer(); // too late: nothing is sent
    });

    test('a source that is no Enabled UM IP gateway gets 403, a NoNewCalls gateway 503; no call is announced', async () => {
      const rec = recorder(h.source);
      const unknown = await h.call({ gateway: 'unknown', to: '14255550100' });
      expect((await unknown.final()).status).toBe(403);
      const draining = await h.call({ gateway: 'draining', to: '14255550100' });
      expect((await draining.final()).status).toBe(503);
      await new Promise((r) => setTimeout(r, 50));
      expect(rec.calls).toHaveLength(0);
    });

    test('an offer without PCMU or PCMA gets 488 and no call is announced', async () => {
      const rec = recorder(h.source);
      const caller = await h.call({ gateway: 'enabled', to: '14255550100', sdp: G722_ONLY });
      expect((await caller.final()).status).toBe(488);
      await new Promise((r) => setTimeout(r, 50));
      expect(rec.calls).toHaveLength(0);
    });

    // Found by a mutation fuzz of `serve`: a port past 65535 was answered 500 and left the call's RTP session open.
    test('an offer whose audio cannot be sent to (port past 65535, a host name in c=) gets 488 and leaves no RTP session', async () => {
      const rec = recorder(h.source);
      const before = h.media.sessionCount;
      for (const sdp of [BAD_PORT, HOST_NAME]) {
        const caller = await h.call({ gateway: 'enabled', to: '14255550100', sdp });
        expect({ sdp, status: (await caller.final()).status }).toEqual({ sdp, status: 488 });
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(rec.calls).toHaveLength(0);
      expect(h.media.sessionCount).toBe(before);
    });

    test("late offer: an INVITE without SDP gets our offer in the 200; the caller's answer in the ACK says where the prompts go", async () => {
      const rtp = createSocket('udp4');
      await new Promise<void>((r) => rtp.bind(0, '127.0.0.1', r));
      const got: Buffer[] = [];
      rtp.on('message', (m) => got.push(m));
      try {
        const answer = PCMA_ONLY.replace('m=audio 49170', `m=audio ${rtp.address().port}`);
        const { caller, call, final } = await answeredCall(null, answer);
        expect(final.status).toBe(200);
        // Our offer: PCMU, PCMA and telephone-event from a real RTP port (RFC 3261 §13.2.1; RFC 3264 §5).
        expect(final.sdp).toMatch(/^m=audio [1-9]\d* RTP\/AVP 0 8 101\r?$/m);
        expect(final.sdp).toMatch(/a=rtpmap:101 telephone-event\/8000/);
        const playing = call.channel.play({ prompts: ['welcome'], locale: 'en-US' });
        await until(() => got.length >= 5, 3000, 'RTP at the address of the answer');
        // The answer chose PCMA: that is what is sent.
        expect(got.slice(0, 5).map((p) => p[1] & 0x7f)).toEqual([8, 8, 8, 8, 8]);
        await call.channel.hangup();
        await playing;
        await caller.byeFromIvr();
      } finally {
        rtp.close();
      }
    });

    test('late offer: an ACK without an answer (or with no usable one) ends the call with BYE', async () => {
      for (const ackSdp of ['', G722_ONLY]) {
        const rec = recorder(h.source);
        const caller = await h.call({ gateway: 'enabled', to: '14255550100', sdp: null, ackSdp });
        const call = await rec.next();
        const w = watch(call.channel);
        const answered = call.channel.answer();
        expect((await caller.final()).status).toBe(200);
        await answered;
        await caller.byeFromIvr();
        await until(() => call.channel.ended, 2000, 'the channel to end');
        expect(w.hungUp).toBe(1);
      }
    });

    test('a telephone-event on a payload type that cannot carry one is left out of the answer; the call goes on', async () => {
      const { caller, call, final: answer } = await answeredCall(BAD_TELEPHONE_EVENT);
      expect(answer.status).toBe(200);
      expect(answer.sdp).toMatch(/^m=audio \d+ RTP\/AVP 0\r$/m);
      expect(answer.sdp).not.toContain('telephone-event');
      await caller.bye();
      await until(() => call.channel.ended, 2000, 'the channel to end');
    });
  });
}
