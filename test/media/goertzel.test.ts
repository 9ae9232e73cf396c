import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { decodeG711, encodeG711 } from '../../src/media/g711';
import { DtmfDetector, dbm0ToAmplitude, dtmfTone, type DetectedDtmf } from '../../src/media/goertzel';
import { readWavPcm } from '../../src/media/wav';
import { concat, mix, musicLike, noise, silence, sine, speechLike } from './media-helpers';

const ROOT = path.resolve(__dirname, '..', '..');
const KEYS = '123A456B789C*0#D';

function detect(pcm: Int16Array, chunk = 160): DetectedDtmf[] {
  const d = new DtmfDetector();
  const out: DetectedDtmf[] = [];
  for (let i = 0; i < pcm.length; i += chunk) out.push(...d.feed(pcm.subarray(i, i + chunk)));
  out.push(...d.flush());
  return out;
}
const digits = (pcm: Int16Array, chunk?: number) => detect(pcm, chunk).map((d) => d.digit).join('');

/** Each key as a tone of `ms` separated by `gapMs` of silence. */
function keySequence(keys: string, ms = 100, gapMs = 100, opts = {}): Int16Array {
  const parts: Int16Array[] = [silence(gapMs)];
  for (const k of keys) parts.push(dtmfTone(k, ms, 8000, opts), silence(gapMs));
  return concat(...parts);
}

describe('dtmfTone', () => {
  it('generates the right length and level, and rejects non-keys', () => {
    const t = dtmfTone('5', 100);
    expect(t.length).toBe(800);
    expect(Math.max(...t)).toBeLessThanOrEqual(Math.ceil(2 * dbm0ToAmplitude(-7)));
    expect(dtmfTone('a', 50, 16000).length).toBe(800);
    expect(() => dtmfTone('x', 100)).toThrow(/not a DTMF key/);
    expect(() => dtmfTone('55', 100)).toThrow();
  });
});

describe('DtmfDetector', () => {
  it('detects all 16 keys, once each, in order', () => {
    expect(digits(keySequence(KEYS))).toBe(KEYS);
  });

  it('works whatever the chunk size (10 ms, 30 ms packets, one block)', () => {
    const pcm = keySequence('159#');
    expect(digits(pcm, 80)).toBe('159#');
    expect(digits(pcm, 240)).toBe('159#');
    expect(digits(pcm, pcm.length)).toBe('159#');
  });

  it.each([-3, -10, -20, -25, -28])('detects tones at %d dBm0 per tone', (level) => {
    expect(digits(keySequence('0369*', 80, 80, { lowDbm0: level }))).toBe('0369*');
  });

  it('ignores tones below the level floor (-40 dBm0)', () => {
    expect(digits(keySequence('0369*', 100, 100, { lowDbm0: -40 }))).toBe('');
  });

  it.each([0, 8] as const)('detects tones that went through G.711 (payload type %d)', (pt) => {
    const pcm = keySequence('74#D', 80, 80, { lowDbm0: -20 });
    expect(digits(decodeG711(encodeG711(pcm, pt), pt))).toBe('74#D');
  });

  it('accepts twist within +4/-8 dB and rejects beyond', () => {
    expect(digits(keySequence('258', 100, 100, { twistDb: 3 }))).toBe('258');
    expect(digits(keySequence('258', 100, 100, { twistDb: -6 }))).toBe('258');
    expect(digits(keySequence('258', 100, 100, { twistDb: 6 }))).toBe('');
    expect(digits(keySequence('258', 100, 100, { twistDb: -10 }))).toBe('');
  });

  it('detects through white noise at 15 dB SNR', () => {
    const tones = keySequence('1590#', 80, 80, { lowDbm0: -15 });
    const tonePower = dbm0ToAmplitude(-15) ** 2; // two tones of A^2/2 each
    const n = noise(tones.length / 8, Math.sqrt(tonePower / 10 ** 1.5), 11);
    expect(digits(mix(tones, n))).toBe('1590#');
  });

  it('needs about 40 ms of tone: 40 ms and longer are detected, 20 ms is not', () => {
    expect(digits(keySequence('123', 40, 60))).toBe('123');
    expect(digits(keySequence('123', 20, 60))).toBe('');
  });

  it('one digit per press: a long press is one digit, a 10 ms dropout does not split it', () => {
    expect(digits(concat(silence(50), dtmfTone('8', 1500), silence(100)))).toBe('8');
    expect(digits(concat(dtmfTone('8', 200), silence(10), dtmfTone('8', 200), silence(100)))).toBe('8');
  });

  it('needs a gap between presses: the same key twice with a 60 ms gap is two digits', () => {
    expect(digits(concat(dtmfTone('3', 100), silence(60), dtmfTone('3', 100), silence(100)))).toBe('33');
  });

  it('reports the duration and position of a press', () => {
    const [d] = detect(concat(silence(200), dtmfTone('6', 300), silence(200)));
    expect(d.digit).toBe('6');
    expect(Math.abs(d.durationMs - 300)).toBeLessThanOrEqual(25);
    expect(Math.abs(d.startMs - 200)).toBeLessThanOrEqual(20);
  });

  it('reports a tone that runs to the end of the audio on flush', () => {
    const d = new DtmfDetector();
    expect(d.feed(dtmfTone('9', 200))).toEqual([]);
    expect(d.flush().map((x) => x.digit)).toEqual(['9']);
  });

  it('finds no digit in a 1 kHz tone, at any level', () => {
    for (const amp of [500, 4000, 20000]) expect(digits(sine(1000, 2000, amp))).toBe('');
  });

  it('finds no digit in single DTMF frequencies (one tone of the pair)', () => {
    for (const hz of [697, 941, 1209, 1633]) expect(digits(sine(hz, 500, 8000))).toBe('');
  });

  it('finds no digit in the music on hold, synthetic music, speech-like audio, or noise', () => {
    expect(digits(readWavPcm(path.join(ROOT, 'prompts', 'tones', 'music-on-hold.wav')))).toBe('');
    expect(digits(musicLike(10_000))).toBe('');
    for (const seed of [1, 2, 3, 4]) expect(digits(speechLike(5_000, seed))).toBe('');
    expect(digits(noise(5_000, 3000, 5))).toBe('');
    expect(digits(mix(speechLike(5_000, 9), noise(5_000, 500, 6)))).toBe('');
  });

  it('finds no digit in any catalog prompt (espeak speech, en-US and fr-FR)', () => {
    for (const locale of ['en-US', 'fr-FR']) {
      const dir = path.join(ROOT, 'prompts', locale);
      const files = readdirSync(dir).filter((f) => f.endsWith('.wav'));
      expect(files.length).toBeGreaterThan(10);
      const found = files.map((f) => [f, digits(readWavPcm(path.join(dir, f)))]).filter(([, d]) => d !== '');
      expect(found).toEqual([]);
    }
  });

  it('still hears a digit pressed over speech-like audio (loud tone)', () => {
    const speech = speechLike(1500, 5, 600);
    const tone = concat(silence(600), dtmfTone('5', 150, 8000, { lowDbm0: -5 }), silence(750));
    expect(digits(mix(speech, tone))).toBe('5');
  });
});
