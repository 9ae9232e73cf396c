import { parse, write } from 'sdp-transform';
import { answerOffer, createOffer, mirror, writeDescription } from '../../src/sip/embedded/sdp';
import * as offers from './helpers/offers';

const local = { address: '127.0.0.1', port: 40000, sessionId: '123', sessionVersion: 1 };

/** The same offer from an IPv6 caller: every `c=` address ::1 (hold's 0.0.0.0 kept). */
const toIpv6 = (offer: string) => offer.replace(/c=IN IP4 (?!0\.0\.0\.0)[^\r\n]+/g, 'c=IN IP6 ::1');

function audioOf(answer: string) {
  const sdp = parse(answer);
  return { sdp, audio: sdp.media.find((m) => m.type === 'audio' && m.port !== 0)! };
}

describe('answerOffer', () => {
  test('SIPp default offer: PCMU, no telephone-event, sendrecv', () => {
    const r = answerOffer(offers.SIPP_DEFAULT, local)!;
    expect(r.remote).toEqual({ address: '127.0.0.1', port: 6000, payloadType: 0, telephoneEventPt: null, direction: 'sendrecv', ptime: null });
    const { sdp, audio } = audioOf(r.answer);
    expect(sdp.connection?.ip).toBe('127.0.0.1');
    expect(sdp.origin.sessionId).toBe(123);
    expect(audio.port).toBe(40000);
    expect(String(audio.payloads)).toBe('0');
    expect(audio.rtp).toEqual([{ payload: 0, codec: 'PCMU', rate: 8000 }]);
    expect(audio.fmtp).toEqual([]);
    expect(audio.ptime).toBe(20);
    expect(audio.direction).toBe('sendrecv');
    expect(r.answer).toMatch(/\r\n$/);
  });

  test('baresip offer: G.711 chosen in the offerer order after codecs we lack, its telephone-event type', () => {
    const r = answerOffer(offers.BARESIP, local)!;
    expect(r.remote).toMatchObject({ address: '192.168.1.20', port: 10636, payloadType: 0, telephoneEventPt: 101, direction: 'sendrecv' });
    const { audio } = audioOf(r.answer);
    expect(audio.payloads).toBe('0 101');
    expect(r.answer).toContain('a=rtpmap:101 telephone-event/8000\r\n');
    expect(r.answer).toContain('a=fmtp:101 0-15\r\n');
    expect(r.answer).toContain('a=ptime:20\r\n');
    expect(r.answer).toContain('a=sendrecv\r\n');
  });

  test('PCMA-only offer with telephone-event 100', () => {
    const r = answerOffer(offers.PCMA_ONLY, local)!;
    expect(r.remote).toMatchObject({ address: '10.0.0.5', port: 6010, payloadType: 8, telephoneEventPt: 100, ptime: 20 });
    expect(r.answer).toContain('m=audio 40000 RTP/AVP 8 100\r\n');
    expect(r.answer).toContain('a=rtpmap:8 PCMA/8000\r\n');
    expect(r.answer).toContain('a=fmtp:100 0-15\r\n');
  });

  test('no telephone-event: PCMA first in the offer wins; the answer has no telephone-event; remote ptime kept', () => {
    const r = answerOffer(offers.NO_TELEPHONE_EVENT, local)!;
    expect(r.remote).toMatchObject({ payloadType: 8, telephoneEventPt: null, ptime: 30 });
    expect(r.answer).not.toContain('telephone-event');
    expect(r.answer).toContain('m=audio 40000 RTP/AVP 8\r\n');
  });

  test('hold with a=sendonly: we answer recvonly', () => {
    const r = answerOffer(offers.HOLD_SENDONLY, local)!;
    expect(r.remote.direction).toBe('sendonly');
    expect(audioOf(r.answer).audio.direction).toBe('recvonly');
  });

  test('hold with c=0.0.0.0 (RFC 2543): offerer does not receive, so sendonly; we answer recvonly', () => {
    const r = answerOffer(offers.HOLD_ZERO_ADDRESS, local)!;
    expect(r.remote).toMatchObject({ address: '0.0.0.0', direction: 'sendonly', payloadType: 0, telephoneEventPt: 101 });
    expect(audioOf(r.answer).audio.direction).toBe('recvonly');
  });

  test('no G.711: null (the caller answers 488)', () => {
    expect(answerOffer(offers.NO_G711, local)).toBeNull();
  });

  test('SRTP-only and garbage: null', () => {
    expect(answerOffer(offers.SRTP_ONLY, local)).toBeNull();
    expect(answerOffer('this is not sdp', local)).toBeNull();
    expect(answerOffer('', local)).toBeNull();
  });

  test('audio that cannot be sent to: a port past 65535, a host name in c=, the other IP version: no usable stream (null: 488)', () => {
    expect(answerOffer(offers.SIPP_DEFAULT.replace(/m=audio \d+/, 'm=audio 70000'), local)).toBeNull();
    expect(answerOffer(offers.SIPP_DEFAULT.replace(/c=IN IP4 [^\r]+/, 'c=IN IP4 gateway.invalid'), local)).toBeNull();
    expect(answerOffer(toIpv6(offers.SIPP_DEFAULT), local)).toBeNull();
    expect(answerOffer(offers.SIPP_DEFAULT, { ...local, address: '::1' })).toBeNull();
    // Holding from the other IP version's "any" address asks for nothing to be sent: answered.
    expect(answerOffer(offers.HOLD_ZERO_ADDRESS, { ...local, address: '::1' })?.remote.direction).toBe('sendonly');
    // The first stream broken, the second usable: the second is answered.
    const two = offers.AUDIO_AND_VIDEO.replace('m=video', 'm=audio').replace(/m=audio \d+ RTP\/AVP \d+/, 'm=audio 70000 RTP/AVP 0');
    expect(answerOffer(two, local)?.remote.port).toBe(5000);
  });

  test('a telephone-event on a payload type that cannot carry one (13, past 127) is left out, the audio answered', () => {
    for (const pt of ['13', '200']) {
      const offer = offers.PCMA_ONLY.replace(/100/g, pt);
      const r = answerOffer(offer, local)!;
      expect({ pt, te: r.remote.telephoneEventPt, payloadType: r.remote.payloadType }).toEqual({ pt, te: null, payloadType: 8 });
      expect(r.answer).not.toContain('telephone-event');
    }
  });

  test('audio + video: video refused with port 0, m-line order kept, media-level c= used, mid kept', () => {
    const r = answerOffer(offers.AUDIO_AND_VIDEO, local)!;
    expect(r.remote).toMatchObject({ address: '10.2.2.3', port: 5000, payloadType: 0, telephoneEventPt: 101 });
    const sdp = parse(r.answer);
    expect(sdp.media.map((m) => [m.type, m.port])).toEqual([
      ['video', 0],
      ['audio', 40000],
    ]);
    expect(sdp.media[1].mid).toBe('a');
  });

  test('LF-only line ends are accepted; IPv6 local address writes IP6', () => {
    const r = answerOffer(toIpv6(offers.PCMA_ONLY).replace(/\r\n/g, '\n'), { address: '::1', port: 40002 })!;
    expect(r.remote.payloadType).toBe(8);
    expect(r.answer).toContain('c=IN IP6 ::1\r\n');
  });

  test('session version and id are ours to keep across re-INVITE answers', () => {
    const a1 = answerOffer(offers.BARESIP, { ...local, sessionVersion: 1 })!.answer;
    const a2 = answerOffer(offers.HOLD_SENDONLY, { ...local, sessionVersion: 2 })!.answer;
    expect(parse(a1).origin).toMatchObject({ sessionId: 123, sessionVersion: 1, username: 'voice-access' });
    expect(parse(a2).origin).toMatchObject({ sessionId: 123, sessionVersion: 2 });
  });
});

describe('createOffer and mirror', () => {
  test('our own offer answers itself', () => {
    const offer = createOffer({ address: '127.0.0.1', port: 41000 });
    const r = answerOffer(offer, local)!;
    expect(r.remote).toMatchObject({ address: '127.0.0.1', port: 41000, payloadType: 0, telephoneEventPt: 101, direction: 'sendrecv' });
  });

  test('mirror', () => {
    expect(mirror('sendonly')).toBe('recvonly');
    expect(mirror('recvonly')).toBe('sendonly');
    expect(mirror('inactive')).toBe('inactive');
    expect(mirror('sendrecv')).toBe('sendrecv');
  });
});

describe('writeDescription: our answers, written as sdp-transform writes them', () => {
  const locals = [local, { address: '::1', port: 20002, sessionId: '77', sessionVersion: 3, username: 'ivr' }];
  const cases = Object.entries(offers).filter(([, o]) => typeof o === 'string' && answerOffer(o, local) !== null);

  test.each(cases)('the answer to %s is byte for byte what sdp-transform writes', (_name, offer) => {
    for (const l of locals) {
      const answer = answerOffer(l.address === '::1' ? toIpv6(offer as string) : (offer as string), l)!.answer;
      expect(answer).toBe(write(parse(answer)));
      expect(writeDescription(parse(answer))).toBe(answer);
    }
  });

  test('streams refused with port 0 keep their mid, and a missing rtpmap rate is not invented', () => {
    const d = parse(
      ['v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=x', 'c=IN IP4 10.0.0.1', 't=0 0', 'm=video 0 RTP/AVP 96', 'a=rtpmap:96 VP8', 'a=mid:v', 'm=audio 4000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=ptime:20', 'a=inactive', ''].join('\r\n'),
    );
    expect(writeDescription(d)).toBe(write(d));
  });

  test('enough cases are checked', () => {
    expect(cases.length).toBeGreaterThanOrEqual(6);
  });
});
