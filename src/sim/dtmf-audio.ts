/**
 * The audio of in-band `dtmf` steps (issue 22): each key's DTMF tone (ITU-T Q.23 pair, levels and twist as the step
 * says), or for the `talk-off` fault speech-like sound whose strongest components sit near the key's two
 * frequencies, which a DTMF receiver must not take for a digit (the "talk-off" of ITU-T Q.24 §4.2 and of the
 * Bellcore talk-off test). Pure and deterministic: the same step gives the same samples in-process and over the
 * network. 8 kHz, 16-bit.
 */
import { DTMF_COL_HZ, DTMF_KEYPAD, DTMF_ROW_HZ, dbm0ToAmplitude, dtmfTone } from '../media/goertzel';
import { G711_SAMPLE_RATE } from '../media/g711';
import { INBAND_PAUSE_MS, type DtmfSignal } from './dtmf-faults';

/** Silence after a step's last key, ms: the detector ends a press after 40 ms without it. */
export const INBAND_TAIL_MS = 100;

const perMs = G711_SAMPLE_RATE / 1000;

/** The row and column frequencies of a key, Hz. @throws Error for a character that is not a key */
function keyFrequencies(digit: string): [number, number] {
  const d = digit.toUpperCase();
  const row = DTMF_KEYPAD.findIndex((r) => r.includes(d));
  if (d.length !== 1 || row < 0) throw new Error(`"${digit}" is not a DTMF key`);
  return [DTMF_ROW_HZ[row], DTMF_COL_HZ[DTMF_KEYPAD[row].indexOf(d)]];
}

/**
 * Speech-like sound with near-DTMF energy: a voiced source (harmonics of a pitch wandering 100-140 Hz, with
 * jitter) shaped by two narrow resonances at the key's row and column frequencies and a third, broader one between
 * them, at a syllable rate, with breath noise. Its two strongest components sit within the detector's frequency
 * bins of the key's pair (what makes it a talk-off test), but it is voice: other harmonics beside them, and a pitch
 * that moves.
 * @param digit the key whose frequencies it imitates; @param ms length, ms
 * @param levelDbm0 the level of its strongest components, dBm0 (about that of a DTMF tone sent at this level)
 * @param seed for the jitter and the breath noise (deterministic)
 * @throws Error for a character that is not a key
 */
export function talkOffNoise(digit: string, ms: number, levelDbm0: number, seed = 1): Int16Array {
  const [low, high] = keyFrequencies(digit);
  const n = Math.round(ms * perMs);
  const out = new Float64Array(n);
  let a = seed >>> 0 || 1;
  const rand = () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 4294967296;
  };
  const mid = (low + high) / 2;
  let phase = 0;
  let jitter = 0;
  for (let i = 0; i < n; i++) {
    const t = i / G711_SAMPLE_RATE;
    if (i % 80 === 0) jitter = (rand() - 0.5) * 6;
    const f0 = 120 + 20 * Math.sin(2 * Math.PI * 0.9 * t + seed) + jitter;
    phase += (2 * Math.PI * f0) / G711_SAMPLE_RATE;
    let v = 0;
    for (let h = 1; h * f0 < 3800; h++) {
      const f = h * f0;
      const g = 1 / (1 + ((f - low) / 60) ** 2) + 1 / (1 + ((f - high) / 60) ** 2) + 0.45 / (1 + ((f - mid) / 400) ** 2) + 0.12 / h;
      v += g * Math.sin(h * phase);
    }
    const syllable = 0.35 + 0.65 * Math.max(0, Math.sin(2 * Math.PI * 3.7 * t));
    out[i] = syllable * v + (rand() - 0.5) * 0.25;
  }
  // Scale so that the strongest components have about the amplitude of one tone at levelDbm0.
  const amp = dbm0ToAmplitude(levelDbm0);
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(out[i] * amp)));
  return pcm;
}

/**
 * One in-band key's sound: its DTMF tone (low group at `volumeDb`, high group `twistDb` above it), or for the
 * `talk-off` fault {@link talkOffNoise}.
 * @param digit `0-9 * # A-D`; @param signal the step's signal
 * @param seed for talk-off noise
 */
export function inbandKeyAudio(digit: string, signal: DtmfSignal, seed = 1): Int16Array {
  if (signal.faults.includes('talk-off')) return talkOffNoise(digit, signal.durationMs, signal.volumeDb, seed);
  return dtmfTone(digit, signal.durationMs, G711_SAMPLE_RATE, { lowDbm0: signal.volumeDb, twistDb: signal.twistDb });
}

/**
 * The audio of a whole in-band step: key i starts at i x `gapMs`, silence between keys, and
 * {@link INBAND_TAIL_MS} of silence after the last (so the receiver ends the last press without waiting for the
 * stream to stop).
 * @param digits the keys; @param gapMs between key starts, ms (at least the key's duration + {@link INBAND_PAUSE_MS})
 * @param signal the step's signal
 */
export function inbandStepAudio(digits: string, gapMs: number, signal: DtmfSignal): Int16Array {
  const gap = Math.max(gapMs, signal.durationMs + INBAND_PAUSE_MS);
  const total = Math.round(((digits.length - 1) * gap + signal.durationMs + INBAND_TAIL_MS) * perMs);
  const pcm = new Int16Array(total);
  for (let i = 0; i < digits.length; i++) pcm.set(inbandKeyAudio(digits[i], signal, i + 1), Math.round(i * gap * perMs));
  return pcm;
}
