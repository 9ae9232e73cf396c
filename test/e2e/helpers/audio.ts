/**
 * Audio for the end-to-end tests: a voice-like test signal the callers "speak" (generated, deterministic), and the
 * energy measurements used to check what was recorded or heard. 8 kHz mono 16-bit PCM throughout.
 */

export const RATE = 8000;

/**
 * A voice-like signal: noise band-passed around 600 Hz (the voice band, no tones, so no in-band DTMF detector can
 * mistake it for a key) with a syllable-like envelope at 4 Hz that never drops below 45 %, so the caller is heard as
 * talking without a break. About -20 dBFS RMS. Deterministic for a seed.
 */
export function speechLike(seconds: number, seed = 1): Int16Array {
  const n = Math.round(seconds * RATE);
  const out = new Int16Array(n);
  let s = seed >>> 0 || 1;
  const noise = () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000 - 0.5;
  };
  // RBJ band-pass (constant skirt gain), f0 600 Hz, Q 0.8.
  const w0 = (2 * Math.PI * 600) / RATE;
  const alpha = Math.sin(w0) / (2 * 0.8);
  const a0 = 1 + alpha;
  const b0 = alpha / a0;
  const b2 = -alpha / a0;
  const a1 = (-2 * Math.cos(w0)) / a0;
  const a2 = (1 - alpha) / a0;
  let x1 = 0;
  let x2 = 0;
  let y1 = 0;
  let y2 = 0;
  for (let i = 0; i < n; i++) {
    const x = noise();
    const y = b0 * x + b2 * x2 - a1 * y1 - a2 * y2;
    x2 = x1;
    x1 = x;
    y2 = y1;
    y1 = y;
    const env = 0.45 + 0.55 * Math.abs(Math.sin((2 * Math.PI * 2 * i) / RATE));
    out[i] = Math.max(-32768, Math.min(32767, Math.round(y * env * 40_000)));
  }
  return out;
}

/** Root mean square of samples (0 for none). */
export function rms(pcm: Int16Array, from = 0, to = pcm.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += pcm[i] * pcm[i];
  return to > from ? Math.sqrt(sum / (to - from)) : 0;
}

/** RMS of consecutive windows of `winMs`. */
export function envelope(pcm: Int16Array, winMs: number): number[] {
  const win = Math.round((winMs * RATE) / 1000);
  const out: number[] = [];
  for (let i = 0; i + win <= pcm.length; i += win) out.push(rms(pcm, i, i + win));
  return out;
}

/** A stretch of sound, ms from the start of the audio. */
export interface Span {
  startMs: number;
  endMs: number;
}

/**
 * The first sound in the audio, by its energy envelope (5 ms windows): from the first window louder than `soundRms`
 * to the start of the first quiet stretch (every window at most `quietRms`) of at least `gapMs` after it, or the
 * end of the audio. Null when nothing is louder than `soundRms`.
 */
export function firstSound(pcm: Int16Array, o: { soundRms?: number; quietRms?: number; gapMs?: number } = {}): Span | null {
  const winMs = 5;
  const soundRms = o.soundRms ?? 200;
  const quietRms = o.quietRms ?? 20;
  const gapWins = Math.ceil((o.gapMs ?? 70) / winMs);
  const env = envelope(pcm, winMs);
  const start = env.findIndex((r) => r > soundRms);
  if (start < 0) return null;
  let quiet = 0;
  for (let i = start; i < env.length; i++) {
    quiet = env[i] <= quietRms ? quiet + 1 : 0;
    if (quiet >= gapWins) return { startMs: start * winMs, endMs: (i - quiet + 1) * winMs };
  }
  return { startMs: start * winMs, endMs: env.length * winMs };
}

/** The share (0..1) of `winMs` windows louder than `soundRms`. */
export function soundShare(pcm: Int16Array, soundRms = 200, winMs = 20): number {
  const env = envelope(pcm, winMs);
  return env.length ? env.filter((r) => r > soundRms).length / env.length : 0;
}

/**
 * Where the sound of a whole clip lies (5 ms windows): from the first window louder than `soundRms` to the end of
 * the last window louder than `quietRms` (leading and trailing silence left out). Null when nothing is loud.
 */
export function soundSpan(pcm: Int16Array, o: { soundRms?: number; quietRms?: number } = {}): Span | null {
  const winMs = 5;
  const env = envelope(pcm, winMs);
  const start = env.findIndex((r) => r > (o.soundRms ?? 200));
  if (start < 0) return null;
  let last = start;
  for (let i = start; i < env.length; i++) if (env[i] > (o.quietRms ?? 20)) last = i;
  return { startMs: start * winMs, endMs: (last + 1) * winMs };
}

/** The DTMF keys' tone pairs, Hz (ITU-T Q.23): low group (row), high group (column). */
export const DTMF_TONES: Readonly<Record<string, readonly [number, number]>> = {
  '1': [697, 1209], '2': [697, 1336], '3': [697, 1477], A: [697, 1633],
  '4': [770, 1209], '5': [770, 1336], '6': [770, 1477], B: [770, 1633],
  '7': [852, 1209], '8': [852, 1336], '9': [852, 1477], C: [852, 1633],
  '*': [941, 1209], '0': [941, 1336], '#': [941, 1477], D: [941, 1633],
};

/**
 * In-band DTMF: for each key its two tones together for `toneMs`, then `gapMs` of silence (Q.24 asks a receiver to
 * take 40 ms tones and 40 ms pauses; the defaults are 100 ms of each, as an auto-dialler sends them). Each tone about
 * -13 dBFS (the high one 1 dB louder, a normal twist); a space in `keys` is `gapMs` more silence. Padded with silence
 * to `totalMs` when given.
 * @throws Error for a character that is not a key or a space, or audio longer than `totalMs`
 */
export function dtmfTones(keys: string, o: { toneMs?: number; gapMs?: number; totalMs?: number } = {}): Int16Array {
  const tone = Math.round(((o.toneMs ?? 100) * RATE) / 1000);
  const gap = Math.round(((o.gapMs ?? 100) * RATE) / 1000);
  const parts: Int16Array[] = [];
  for (const k of keys) {
    if (k === ' ') {
      parts.push(new Int16Array(gap));
      continue;
    }
    const pair = DTMF_TONES[k];
    if (!pair) throw new Error(`not a DTMF key: ${JSON.stringify(k)}`);
    const t = new Int16Array(tone + gap);
    for (let i = 0; i < tone; i++) {
      const s = 7000 * Math.sin((2 * Math.PI * pair[0] * i) / RATE) + 7850 * Math.sin((2 * Math.PI * pair[1] * i) / RATE);
      t[i] = Math.round(s);
    }
    parts.push(t);
  }
  const length = parts.reduce((n, p) => n + p.length, 0);
  const total = o.totalMs === undefined ? length : Math.round((o.totalMs * RATE) / 1000);
  if (length > total) throw new Error(`the keys take ${(length * 1000) / RATE} ms, more than ${o.totalMs} ms`);
  const out = new Int16Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
