/**
 * The conference mixer's arithmetic (issue 6): each participant hears the sum of the others, never itself, saturated
 * to 16 bits; muted participants are not heard; the jitter buffer primes, runs dry and stays bounded; room sounds go
 * to everyone but the one they exclude; and the tone tools used to check what callers hear.
 */
import {
  ConferenceMixer,
  JITTER_MAX_SAMPLES,
  JITTER_PRIME_SAMPLES,
  MIX_FRAME_SAMPLES,
} from '../../src/media/conference-mixer';
import { sameTone, sineTone, ToneDetector, ToneTracker, toneShare } from '../../src/media/conference-tones';

const N = MIX_FRAME_SAMPLES;
const constant = (v: number, n = N) => new Int16Array(n).fill(v);
/** Pushes two frames (the priming depth) of a constant so the participant is heard from the next mix. */
const prime = (p: { push(pcm: Int16Array): void }, v: number) => p.push(constant(v, JITTER_PRIME_SAMPLES));

describe('ConferenceMixer', () => {
  it('gives each participant the sum of the others, without its own voice', () => {
    const m = new ConferenceMixer();
    const [a, b, c] = ['a', 'b', 'c'].map((l) => m.add(l));
    prime(a, 100);
    prime(b, 20);
    prime(c, 3);
    m.mixFrame();
    expect([a.output[0], b.output[0], c.output[0]]).toEqual([23, 103, 120]);
    expect([...new Set(a.output)]).toEqual([23]);
    expect(m.framesMixed).toBe(1);
    expect([a.framesHeard, b.framesHeard, c.framesHeard]).toEqual([1, 1, 1]);
  });

  it('saturates instead of wrapping around', () => {
    const m = new ConferenceMixer();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((l) => m.add(l));
    prime(a, 30000);
    prime(b, 30000);
    prime(c, -30000);
    m.mixFrame();
    expect(d.output[0]).toBe(30000); // 30000 + 30000 - 30000
    expect(c.output[0]).toBe(32767); // 60000 clipped
    prime(a, -30000);
    prime(b, -30000);
    prime(c, -30000);
    m.mixFrame();
    m.mixFrame();
    expect(d.output[0]).toBe(-32768);
  });

  it('does not let anyone hear a muted participant, who still hears the others', () => {
    const m = new ConferenceMixer();
    const [a, b, c] = ['a', 'b', 'c'].map((l) => m.add(l));
    b.muted = true;
    prime(a, 100);
    prime(b, 1000);
    prime(c, 10);
    m.mixFrame();
    expect([a.output[0], b.output[0], c.output[0]]).toEqual([10, 110, 100]);
    expect(b.framesHeard).toBe(0);
  });

  it('hears a participant once 40 ms are queued, plays what is left when it runs dry, then primes again', () => {
    const m = new ConferenceMixer();
    const [a, b] = ['a', 'b'].map((l) => m.add(l));
    a.push(constant(5, N)); // 20 ms: not enough yet
    m.mixFrame();
    expect(b.output[0]).toBe(0);
    a.push(constant(5, N + 80)); // now 40 ms + 10 ms
    m.mixFrame();
    expect(b.output[0]).toBe(5);
    m.mixFrame();
    expect(b.output[0]).toBe(5);
    m.mixFrame(); // 80 samples left: played, then silence
    expect(b.output[79]).toBe(5);
    expect(b.output[80]).toBe(0);
    a.push(constant(7, N)); // priming again: one frame is not enough
    m.mixFrame();
    expect(b.output[0]).toBe(0);
  });

  it('keeps the input queue bounded (oldest dropped) when a sender runs fast', () => {
    const m = new ConferenceMixer();
    const a = m.add('a');
    for (let i = 0; i < 30; i++) a.push(constant(i, N));
    expect(a.queued).toBeLessThanOrEqual(JITTER_MAX_SAMPLES);
    expect(a.dropped).toBeGreaterThan(0);
    m.mixFrame();
    // The newest audio is kept: what is heard next is recent, not 30 frames old.
    expect(a.input[0]).toBeGreaterThanOrEqual(25);
  });

  it('forgets queued input when asked (after a mute, nothing stale is heard)', () => {
    const m = new ConferenceMixer();
    const [a, b] = ['a', 'b'].map((l) => m.add(l));
    prime(a, 9);
    a.clearInput();
    m.mixFrame();
    expect(b.output[0]).toBe(0);
  });

  it('plays room sounds to everyone but the excluded participant, over the voices', () => {
    const m = new ConferenceMixer();
    const [a, b, c] = ['a', 'b', 'c'].map((l) => m.add(l));
    prime(a, 100);
    m.playToAll(constant(1000, N + 10), c);
    m.mixFrame();
    expect([a.output[0], b.output[0], c.output[0]]).toEqual([1000, 1100, 100]);
    m.mixFrame();
    expect([a.output[5], b.output[5], c.output[5]]).toEqual([1000, 1100, 100]);
    expect(b.output[10]).toBe(100); // the sound is over
  });

  it('adds and removes participants', () => {
    const m = new ConferenceMixer();
    const a = m.add('a');
    const b = m.add('b');
    m.remove(a);
    m.remove(a);
    expect(m.participants).toEqual([b]);
  });
});

describe('conference tones', () => {
  it('sineTone makes a tone of the asked length and level; bad arguments throw', () => {
    const t = sineTone(1000, 100, 8000);
    expect(t.length).toBe(800);
    expect(Math.max(...t)).toBe(8000);
    expect(() => sineTone(5000, 10)).toThrow(/frequency/);
    expect(() => sineTone(1000, -1)).toThrow(/length/);
    expect(() => sineTone(1000, 10, 40000)).toThrow(/amplitude/);
  });

  it('toneShare finds a tone alone, half of two tones, and none in noise', () => {
    expect(toneShare(sineTone(1000, 20), 1000).share).toBeGreaterThan(0.95);
    const two = sineTone(1000, 20);
    const other = sineTone(1800, 20);
    for (let i = 0; i < two.length; i++) two[i] += other[i];
    expect(toneShare(two, 1000).share).toBeGreaterThan(0.4);
    expect(toneShare(two, 700).share).toBeLessThan(0.05);
    let seed = 1;
    const noise = new Int16Array(160).map(() => ((seed = (Math.imul(seed, 1664525) + 1013904223) | 0) >> 16) % 3000);
    expect(toneShare(noise, 1000).share).toBeLessThan(0.1);
    expect(toneShare(new Int16Array(160), 1000)).toEqual({ share: 0, levelDbov: -Infinity });
  });

  it('ToneDetector reports where a tone starts and ends, and not a 40 ms blip', () => {
    const d = new ToneDetector(1000);
    const audio = new Int16Array(8000);
    audio.set(sineTone(1000, 500), 1600); // 200 ms .. 700 ms
    audio.set(sineTone(1000, 40), 6400); // 800 ms: too short
    const changes = d.feed(audio);
    expect(changes).toEqual([
      { hz: 1000, kind: 'start', atSample: 1600 },
      { hz: 1000, kind: 'end', atSample: 5600 },
    ]);
    expect(d.sounding).toBe(false);
  });

  it('ToneTracker watches frequencies as they are asked for and keeps what it heard', () => {
    const tr = new ToneTracker();
    tr.feed(sineTone(700, 200));
    tr.watch(1000);
    tr.watch(1010); // the same tone
    const audio = new Int16Array(4000);
    audio.set(sineTone(1000, 300), 800);
    const started = tr.feed(audio);
    expect(started.map((t) => t.hz)).toEqual([1000]);
    expect(tr.tones).toEqual([{ hz: 1000, startSample: 1600 + 800, endSample: 1600 + 800 + 2400 }]);
    expect(sameTone(1000, 1015)).toBe(true);
    expect(sameTone(1000, 1050)).toBe(false);
  });
});
