/** Helpers for the media tests: a synchronous manual clock, signal generators, and small UDP utilities. */
import { createSocket, type Socket } from 'node:dgram';
import type { Clock, TimerHandle } from '../../src/ports/clock';
import { toneShare } from '../../src/media/conference-tones';

/** A Clock moved by hand; timers fire synchronously inside `advance`. */
export class ManualClock implements Clock {
  private t = 1_000_000;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: TimerHandle): void {
    this.timers.delete(h as number);
  }
  /** Moves time forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (let guard = 0; guard < 10_000; guard++) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
  }
  get pending(): number {
    return this.timers.size;
  }
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A sine, 8 kHz. */
export function sine(hz: number, ms: number, amplitude: number, rate = 8000): Int16Array {
  const n = Math.round((ms * rate) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}

/** Silence. */
export function silence(ms: number, rate = 8000): Int16Array {
  return new Int16Array(Math.round((ms * rate) / 1000));
}

/** White noise of the given RMS. */
export function noise(ms: number, rms: number, seed = 1, rate = 8000): Int16Array {
  const r = rng(seed);
  const n = Math.round((ms * rate) / 1000);
  const out = new Int16Array(n);
  const a = rms * Math.sqrt(3); // uniform in [-a, a] has RMS a/sqrt(3)
  for (let i = 0; i < n; i++) out[i] = Math.round((r() * 2 - 1) * a);
  return out;
}

/** Concatenates PCM buffers. */
export function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Sample-wise sum, clipped. */
export function mix(a: Int16Array, b: Int16Array): Int16Array {
  const out = new Int16Array(Math.max(a.length, b.length));
  for (let i = 0; i < out.length; i++) out[i] = Math.max(-32768, Math.min(32767, (a[i] ?? 0) + (b[i] ?? 0)));
  return out;
}

/** RMS of a buffer. */
export function rms(pcm: Int16Array): number {
  let e = 0;
  for (let i = 0; i < pcm.length; i++) e += pcm[i] * pcm[i];
  return pcm.length ? Math.sqrt(e / pcm.length) : 0;
}

/**
 * Speech-like audio: a voiced source (harmonics of a pitch gliding 90-260 Hz) shaped by three moving formants,
 * syllable-rate amplitude modulation, with short unvoiced (noise) bursts.
 */
export function speechLike(ms: number, seed = 7, level = 6000): Int16Array {
  const r = rng(seed);
  const n = Math.round(ms * 8);
  const out = new Int16Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / 8000;
    const f0 = 175 + 85 * Math.sin(2 * Math.PI * 0.7 * t + seed) + 20 * Math.sin(2 * Math.PI * 3.1 * t);
    phase += (2 * Math.PI * f0) / 8000;
    const f1 = 500 + 300 * Math.sin(2 * Math.PI * 2.3 * t);
    const f2 = 1500 + 700 * Math.sin(2 * Math.PI * 1.7 * t + 1);
    const f3 = 2500 + 300 * Math.sin(2 * Math.PI * 1.1 * t + 2);
    let v = 0;
    for (let h = 1; h * f0 < 3800; h++) {
      const f = h * f0;
      const g = 1 / (1 + ((f - f1) / 150) ** 2) + 0.6 / (1 + ((f - f2) / 200) ** 2) + 0.3 / (1 + ((f - f3) / 250) ** 2);
      v += g * Math.sin(h * phase);
    }
    const syll = Math.max(0, Math.sin(2 * Math.PI * 4 * t)) ** 0.5;
    const unvoiced = Math.sin(2 * Math.PI * 1.3 * t) > 0.9 ? (r() * 2 - 1) * 0.8 : 0;
    out[i] = Math.max(-32768, Math.min(32767, Math.round(level * (syll * v * 0.5 + unvoiced))));
  }
  return out;
}

/** Music-like audio: chords of notes with harmonics, changing every 250 ms, including notes near DTMF frequencies. */
export function musicLike(ms: number, level = 3000): Int16Array {
  const notes = [349.2, 392, 440, 523.3, 587.3, 659.3, 698.5, 784, 880, 987.8, 1046.5, 1174.7, 1318.5, 1396.9, 1480, 1568];
  const n = Math.round(ms * 8);
  const out = new Int16Array(n);
  const r = rng(3);
  let chord: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 2000 === 0) chord = [0, 1, 2].map(() => notes[Math.floor(r() * notes.length)]);
    const t = i / 8000;
    let v = 0;
    for (const f of chord) for (let h = 1; h <= 4 && h * f < 3900; h++) v += Math.sin(2 * Math.PI * f * h * t) / h;
    const env = 0.6 + 0.4 * Math.exp(-((i % 2000) / 800));
    out[i] = Math.round(level * env * v * 0.5);
  }
  return out;
}

/** Binds a UDP socket on 127.0.0.1, port 0. */
export function udpSocket(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

/** Closes sockets, ignoring errors. */
export function closeAll(...sockets: Socket[]): void {
  for (const s of sockets) {
    try {
      s.close();
    } catch {
      // closed
    }
  }
}

/** Resolves after `ms` of real time. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` every 10 ms until true or `timeoutMs` passes. @returns whether it became true */
export async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(10);
  }
  return cond();
}

/** Received audio with the arrival time (Date.now() ms) of each chunk, to look at a window of it. */
export class ReceivedAudio {
  private readonly chunks: { at: number; pcm: Int16Array }[] = [];
  add(pcm: Int16Array): void {
    this.chunks.push({ at: Date.now(), pcm });
  }
  /** The audio that arrived in [from, to) (Date.now() ms), concatenated. */
  between(from: number, to: number): Int16Array {
    return concat(...this.chunks.filter((c) => c.at >= from && c.at < to).map((c) => c.pcm));
  }
}

/**
 * The share of 20 ms blocks (160 samples at 8 kHz) in `pcm` that hold a tone of `hz`: Goertzel level at least
 * -45 dBov and at least a quarter of the block's energy.
 */
export function toneBlocks(pcm: Int16Array, hz: number): number {
  let hits = 0;
  let blocks = 0;
  for (let i = 0; i + 160 <= pcm.length; i += 160) {
    blocks++;
    const s = toneShare(pcm.subarray(i, i + 160), hz);
    if (s.levelDbov >= -45 && s.share >= 0.25) hits++;
  }
  return blocks === 0 ? 0 : hits / blocks;
}
