/**
 * Conference mixing benchmark (issue 6; figures, not assertions): the cost of one 20 ms frame of a meeting of N
 * participants, for N = 3, 10, 50 and 100, as the bridge does it on the RTP engine's tick: each participant's packet
 * decoded from G.711 into its jitter buffer, the mix (the sum of everyone, then each one's own voice taken back out,
 * saturated), and each participant's output encoded in its own codec (half PCMU, half PCMA). Everyone talks (a
 * different tone each), the worst case; no sockets, so the figure is the mixer's alone.
 *
 * Beside it, measured in the same run on the same frames, the reference: the plain work any relay of N calls does
 * per frame without mixing (decode each packet and encode it again, a copy through PCM). The ratio says what mixing
 * adds; the cost per participant says whether it grows linearly (it should stay flat from 3 to 100).
 *
 * Usage: `node dist/bench/conference-bench.js [N ...]` (default 3 10 50 100); `BENCH_CONFERENCE_FRAMES` frames per
 * size (default 3000: 60 s of audio; more for small meetings; the whole run takes about 10 s).
 */
import { performance } from 'node:perf_hooks';
import { ConferenceMixer } from '../src/media/conference-mixer';
import { sineTone } from '../src/media/conference-tones';
import { decodeG711, encodeG711, type G711PayloadType } from '../src/media/g711';

/** One size's figures. */
export interface ConferenceBenchResult {
  participants: number;
  frames: number;
  /** Mixing (decode, mix, encode) per 20 ms frame, µs. */
  mixUsPerFrame: number;
  /** The same per participant, µs. */
  mixUsPerParticipant: number;
  /** The reference (decode and encode again, no mix) per frame, µs. */
  referenceUsPerFrame: number;
  /** mix / reference. */
  ratio: number;
  /** Share of the 20 ms frame time the mix takes, %. */
  budgetPercent: number;
}

const FRAME = 160;
/** A second of G.711 per participant (a tone each), cycled: the packets that arrive. */
function packetsFor(n: number): { pt: G711PayloadType; packets: Uint8Array[] }[] {
  return Array.from({ length: n }, (_, i) => {
    const pt: G711PayloadType = i % 2 === 0 ? 0 : 8;
    const pcm = sineTone(300 + ((i * 37) % 3000), 1000, 3000);
    const packets: Uint8Array[] = [];
    for (let k = 0; k + FRAME <= pcm.length; k += FRAME) packets.push(encodeG711(pcm.subarray(k, k + FRAME), pt));
    return { pt, packets };
  });
}

/** Runs `frames` frames of a meeting of `n`: µs per frame. */
function mixRun(n: number, frames: number): number {
  const callers = packetsFor(n);
  const mixer = new ConferenceMixer();
  const parts = callers.map((_, i) => mixer.add(String(i)));
  const out = new Uint8Array(FRAME);
  // Prime every jitter buffer with two frames, as a running meeting has.
  callers.forEach((c, i) => {
    parts[i].push(decodeG711(c.packets[0], c.pt));
    parts[i].push(decodeG711(c.packets[1], c.pt));
  });
  let sink = 0;
  const t0 = performance.now();
  for (let f = 0; f < frames; f++) {
    for (let i = 0; i < n; i++) {
      const c = callers[i];
      parts[i].push(decodeG711(c.packets[f % c.packets.length], c.pt));
    }
    mixer.mixFrame();
    for (let i = 0; i < n; i++) {
      encodeG711(parts[i].output, callers[i].pt, out);
      sink += out[0];
    }
  }
  const us = ((performance.now() - t0) * 1000) / frames;
  if (sink < 0) console.log(sink); // keep the work observable
  return us;
}

/** The reference on the same frames: decode each packet and encode it again (a relay through PCM). */
function referenceRun(n: number, frames: number): number {
  const callers = packetsFor(n);
  const out = new Uint8Array(FRAME);
  let sink = 0;
  const t0 = performance.now();
  for (let f = 0; f < frames; f++) {
    for (let i = 0; i < n; i++) {
      const c = callers[i];
      const pcm = decodeG711(c.packets[f % c.packets.length], c.pt);
      encodeG711(pcm, c.pt, out);
      sink += out[0];
    }
  }
  const us = ((performance.now() - t0) * 1000) / frames;
  if (sink < 0) console.log(sink);
  return us;
}

/**
 * Measures each size (after a warm-up: the reference and the mix, alternated three times; the best of each).
 * @param sizes participants per meeting; @param frames 20 ms frames per measurement
 */
export function runConferenceBench(sizes: number[] = [3, 10, 50, 100], frames = Number(process.env.BENCH_CONFERENCE_FRAMES ?? 3000)): ConferenceBenchResult[] {
  const f = (x: number, d = 1) => x.toFixed(d);
  console.log(`Conference mixing: one 20 ms frame of a meeting of N (everyone talking), at least ${frames} frames each; decode, mix, encode per participant`);
  console.log('  reference: the same packets decoded and encoded again, no mix (what relaying N calls costs)');
  for (let k = 0; k < 3; k++) {
    mixRun(10, 2000); // warm-up: JIT, G.711 tables
    referenceRun(10, 2000);
  }
  const out: ConferenceBenchResult[] = [];
  for (const n of sizes) {
    // Small meetings get more frames, so that every measurement is long enough for the clock (at least 60,000
    // participant-frames).
    const count = Math.max(frames, Math.ceil(60_000 / n));
    let mix = Infinity;
    let ref = Infinity;
    for (let k = 0; k < 3; k++) {
      ref = Math.min(ref, referenceRun(n, count));
      mix = Math.min(mix, mixRun(n, count));
    }
    const r: ConferenceBenchResult = {
      participants: n,
      frames: count,
      mixUsPerFrame: mix,
      mixUsPerParticipant: mix / n,
      referenceUsPerFrame: ref,
      ratio: mix / ref,
      budgetPercent: (mix / 20_000) * 100,
    };
    out.push(r);
    console.log(
      `  ${String(n).padStart(3)} participants: ${f(r.mixUsPerFrame)} µs per frame (${f(r.mixUsPerParticipant, 2)} µs per participant, ` +
        `${f(r.budgetPercent, 2)}% of 20 ms); reference ${f(r.referenceUsPerFrame)} µs (${f(r.referenceUsPerFrame / n, 2)} per participant); ratio ${f(r.ratio, 2)}`,
    );
  }
  if (out.length > 1) {
    const [a, z] = [out[0], out[out.length - 1]];
    const growth = (x: ConferenceBenchResult) => x.mixUsPerParticipant;
    const refGrowth = (x: ConferenceBenchResult) => x.referenceUsPerFrame / x.participants;
    console.log(
      `  cost per participant from ${a.participants} to ${z.participants}: mix x${f(growth(z) / growth(a), 2)}, reference x${f(refGrowth(z) / refGrowth(a), 2)}` +
        ' (1 = linear; a larger meeting\'s buffers no longer fit the fastest caches, for the reference as much as the mix)',
    );
  }
  return out;
}

if (require.main === module) {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  runConferenceBench(sizes.length ? sizes : undefined);
}
