import { G711_SILENCE_BYTE, decodeG711, encodeG711, isG711 } from '../../src/media/g711';
import { MsHistogram } from '../../src/media/histogram';
import { parseRtp, serializeRtp } from '../../src/media/rtp-packet';
import { rng, sine } from './media-helpers';

describe('G.711 (alawmulaw)', () => {
  it.each([0, 8] as const)('round-trips speech-level PCM within G.711 quantisation (payload type %d)', (pt) => {
    const pcm = sine(440, 100, 12000);
    const back = decodeG711(encodeG711(pcm, pt), pt);
    expect(back.length).toBe(pcm.length);
    for (let i = 0; i < pcm.length; i++) expect(Math.abs(back[i] - pcm[i])).toBeLessThanOrEqual(Math.abs(pcm[i]) / 16 + 16);
  });

  it.each([0, 8] as const)('is stable: decode(encode(decode(x))) === decode(x) for every byte (payload type %d)', (pt) => {
    const all = Uint8Array.from([...Array(256).keys()]);
    const pcm = decodeG711(all, pt);
    expect(Array.from(decodeG711(encodeG711(pcm, pt), pt))).toEqual(Array.from(pcm));
  });

  it('encodes silence as the silence byte and the extremes without overflow', () => {
    expect(encodeG711(new Int16Array(3), 0)).toEqual(Uint8Array.of(0xff, 0xff, 0xff));
    expect(encodeG711(new Int16Array(2), 8)).toEqual(Uint8Array.of(G711_SILENCE_BYTE[8], G711_SILENCE_BYTE[8]));
    const ext = Int16Array.of(32767, -32768);
    for (const pt of [0, 8] as const) {
      const d = decodeG711(encodeG711(ext, pt), pt);
      expect(d[0]).toBeGreaterThan(30000);
      expect(d[1]).toBeLessThan(-30000);
    }
  });

  it('decodes any packet length (a 30 ms PCMA packet is 240 samples) and refuses other payload types', () => {
    expect(decodeG711(new Uint8Array(240).fill(0xd5), 8).length).toBe(240);
    expect(isG711(0) && isG711(8) && !isG711(9)).toBe(true);
    expect(() => decodeG711(new Uint8Array(1), 9 as 0)).toThrow(/not G\.711/);
  });

  it('writes into a caller-supplied buffer', () => {
    const out = new Uint8Array(4);
    expect(encodeG711(Int16Array.of(0, 0, 0, 0), 0, out)).toBe(out);
  });
});

describe('RTP packets (RFC 3550 §5.1)', () => {
  it('round-trips the header and payload', () => {
    const buf = serializeRtp({ marker: true, payloadType: 8, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xcafebabe }, Uint8Array.of(1, 2, 3));
    expect(buf.length).toBe(15);
    const p = parseRtp(buf)!;
    expect(p).toMatchObject({ marker: true, payloadType: 8, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xcafebabe, csrcs: [] });
    expect(Array.from(p.payload)).toEqual([1, 2, 3]);
  });

  it('wraps sequence and timestamp fields', () => {
    const p = parseRtp(serializeRtp({ payloadType: 0, sequenceNumber: 65536 + 5, timestamp: 2 ** 32 + 7, ssrc: -1 }, new Uint8Array(0)))!;
    expect([p.sequenceNumber, p.timestamp, p.ssrc]).toEqual([5, 7, 0xffffffff]);
  });

  it('parses CSRCs, a header extension and padding', () => {
    const b = Buffer.from([
      0xb2, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, // V=2 P=1 X=1 CC=2, PT 0
      0, 0, 0, 9, 0, 0, 0, 10, // CSRCs
      0xbe, 0xde, 0, 1, 1, 2, 3, 4, // extension, 1 word
      7, 7, // payload
      0, 0, 3, // padding (3 bytes)
    ]);
    const p = parseRtp(b)!;
    expect(p.csrcs).toEqual([9, 10]);
    expect(p.extension?.profile).toBe(0xbede);
    expect(Array.from(p.extension!.data)).toEqual([1, 2, 3, 4]);
    expect(Array.from(p.payload)).toEqual([7, 7]);
  });

  it('returns null for garbage, never throws', () => {
    const bad = [
      Buffer.alloc(0),
      Buffer.from('hello'),
      Buffer.from('INVITE sip:x SIP/2.0\r\n\r\n'),
      Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), // version 1
      Buffer.from([0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), // 15 CSRCs missing
      Buffer.from([0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]), // extension past the end
      Buffer.from([0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 40]), // padding longer than the packet
      Buffer.from([0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]), // padding count 0
      Buffer.from([0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0]), // RTCP SR
    ];
    for (const b of bad) expect(parseRtp(b)).toBeNull();
    const r = rng(99);
    for (let i = 0; i < 5000; i++) {
      const b = Buffer.alloc(Math.floor(r() * 40));
      for (let k = 0; k < b.length; k++) b[k] = Math.floor(r() * 256);
      expect(() => parseRtp(b)).not.toThrow();
    }
  });
});

describe('MsHistogram', () => {
  it('gives percentiles within one bin and the exact maximum', () => {
    const h = new MsHistogram(0.1, 50);
    for (let i = 1; i <= 100; i++) h.record(i / 10); // 0.1 .. 10 ms
    h.record(80); // overflow
    expect(h.count).toBe(101);
    expect(h.percentile(50)).toBeCloseTo(5.1, 5);
    expect(h.percentile(99)).toBeCloseTo(10.1, 5);
    expect(h.max).toBe(80);
    expect(h.percentile(100)).toBe(80);
    h.reset();
    expect(h.percentile(99)).toBe(0);
  });
});
