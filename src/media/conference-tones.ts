/**
 * Pure tones for checking what the participants of a meeting hear (issue 6: "the participant hears a 1 kHz tone that
 * the organizer sends, detected in the received audio"): a sine generator for the talking side, and a single-tone
 * detector (Goertzel) for the listening side. Used by the network caller of the simulator (`speak: {toneHz}`,
 * `expectTone`), the end-to-end tests and the benchmark.
 *
 * Detection works on blocks of 20 ms (160 samples at 8 kHz, a 50 Hz resolution): a block holds the tone when its
 * level is at least `minLevelDbov` (-45 dBov) and the Goertzel power at the tone's frequency is at least `minShare`
 * (0.25) of the block's energy. The share keeps speech, music on hold and noise out (their energy is spread), and
 * lets two tones played at once both be found (each holds about half). A tone is heard from the first of
 * `confirmBlocks` (3: 60 ms) blocks in a row, and has ended after `gapBlocks` (3) blocks without it.
 */
import { MediaError, MediaErrorCodes } from './errors';

/** Sample rate of every PCM buffer here, Hz. */
const RATE = 8000;
/** Samples per detection block: 20 ms. */
export const TONE_BLOCK_SAMPLES = 160;

/**
 * A sine tone, e.g. what a test caller "says" in a meeting.
 * @param hz frequency, 1..3999 Hz (below the 4 kHz Nyquist limit of 8 kHz audio)
 * @param ms length, ms (>= 0)
 * @param amplitude peak, 0..32767 (default 8000, about -12 dBFS)
 * @param phaseSamples start the sine this many samples in (to continue a tone across calls)
 * @returns 8 kHz 16-bit PCM, `round(ms * 8)` samples
 * @throws MediaError `VA_ERR_MEDIA_ARGUMENT` for a frequency, length or amplitude out of range
 */
export function sineTone(hz: number, ms: number, amplitude = 8000, phaseSamples = 0): Int16Array {
  if (!(hz >= 1 && hz < RATE / 2)) throw new MediaError(MediaErrorCodes.ARGUMENT, `tone frequency must be 1..3999 Hz, got ${hz}`);
  if (!(ms >= 0)) throw new MediaError(MediaErrorCodes.ARGUMENT, `tone length must be >= 0 ms, got ${ms}`);
  if (!(amplitude >= 0 && amplitude <= 32767)) throw new MediaError(MediaErrorCodes.ARGUMENT, `amplitude must be 0..32767, got ${amplitude}`);
  const n = Math.round((ms * RATE) / 1000);
  const out = new Int16Array(n);
  const w = (2 * Math.PI * hz) / RATE;
  for (let i = 0; i < n; i++) out[i] = Math.round(amplitude * Math.sin(w * (i + phaseSamples)));
  return out;
}

/** Do two frequencies name the same tone? Within 2 % (at least 10 Hz): what the detector's 50 Hz blocks tell apart. */
export function sameTone(a: number, b: number): boolean {
  return Math.abs(a - b) <= Math.max(10, 0.02 * Math.max(a, b));
}

/**
 * The share of a block's energy at `hz` (Goertzel power, scaled so that a pure sine gives 1), and its level.
 * @param pcm the block (any length); @param hz the frequency
 * @returns `share` 0..~1, `levelDbov` (RMS against full scale; -Infinity for digital silence)
 */
export function toneShare(pcm: Int16Array, hz: number): { share: number; levelDbov: number } {
  const n = pcm.length;
  const c = 2 * Math.cos((2 * Math.PI * hz) / RATE);
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (let i = 0; i < n; i++) {
    const x = pcm[i];
    energy += x * x;
    const s = x + c * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  if (energy === 0 || n === 0) return { share: 0, levelDbov: -Infinity };
  const power = ((s1 * s1 + s2 * s2 - c * s1 * s2) * 2) / n; // A^2 N / 2 for a sine of amplitude A
  return { share: power / energy, levelDbov: 10 * Math.log10(energy / n / (32768 * 32768)) };
}

/** Options of {@link ToneDetector}. */
export interface ToneDetectorOptions {
  /** Lowest level of a block that can hold the tone, dBov. Default -45. */
  minLevelDbov?: number;
  /** Share of a block's energy the tone must hold. Default 0.25. */
  minShare?: number;
  /** Blocks in a row that confirm a tone. Default 3 (60 ms). */
  confirmBlocks?: number;
  /** Blocks without it that end a tone. Default 3 (60 ms). */
  gapBlocks?: number;
}

/** A change the detector reports, at a stream position (samples from the first sample fed). */
export interface ToneChange {
  hz: number;
  kind: 'start' | 'end';
  /** Where the tone started (its first block) or ended (after its last block), samples. */
  atSample: number;
}

/** Finds one frequency in a stream of 8 kHz audio; see the module comment. */
export class ToneDetector {
  private readonly block = new Int16Array(TONE_BLOCK_SAMPLES);
  private fill = 0;
  private fed = 0;
  private run = 0;
  private runStart = 0;
  private misses = 0;
  private on = false;
  private lastHitEnd = 0;
  private readonly minLevel: number;
  private readonly minShare: number;
  private readonly confirm: number;
  private readonly gap: number;

  /**
   * @param hz the frequency to find; @param opts thresholds (see {@link ToneDetectorOptions})
   * @param startSample the stream position of the first sample it will be fed (when it joins a stream late)
   */
  constructor(
    readonly hz: number,
    opts: ToneDetectorOptions = {},
    startSample = 0,
  ) {
    this.fed = startSample;
    this.minLevel = opts.minLevelDbov ?? -45;
    this.minShare = opts.minShare ?? 0.25;
    this.confirm = Math.max(1, opts.confirmBlocks ?? 3);
    this.gap = Math.max(1, opts.gapBlocks ?? 3);
  }

  /** Is the tone sounding now (confirmed and not yet ended)? */
  get sounding(): boolean {
    return this.on;
  }

  /** Samples fed so far. */
  get position(): number {
    return this.fed;
  }

  /**
   * Feeds audio, contiguous with what was fed before.
   * @returns the starts and ends found in it, in order
   */
  feed(pcm: Int16Array): ToneChange[] {
    const out: ToneChange[] = [];
    let i = 0;
    while (i < pcm.length) {
      const n = Math.min(pcm.length - i, TONE_BLOCK_SAMPLES - this.fill);
      this.block.set(pcm.subarray(i, i + n), this.fill);
      this.fill += n;
      i += n;
      this.fed += n;
      if (this.fill === TONE_BLOCK_SAMPLES) {
        this.fill = 0;
        this.step(this.hit(), out);
      }
    }
    return out;
  }

  private hit(): boolean {
    const { share, levelDbov } = toneShare(this.block, this.hz);
    return levelDbov >= this.minLevel && share >= this.minShare;
  }

  private step(hit: boolean, out: ToneChange[]): void {
    const blockEnd = this.fed;
    const blockStart = blockEnd - TONE_BLOCK_SAMPLES;
    if (hit) {
      this.misses = 0;
      this.lastHitEnd = blockEnd;
      if (this.on) return;
      if (this.run === 0) this.runStart = blockStart;
      if (++this.run >= this.confirm) {
        this.on = true;
        out.push({ hz: this.hz, kind: 'start', atSample: this.runStart });
      }
      return;
    }
    this.run = 0;
    if (this.on && ++this.misses >= this.gap) {
      this.on = false;
      this.misses = 0;
      out.push({ hz: this.hz, kind: 'end', atSample: this.lastHitEnd });
    }
  }
}

/** A tone heard, at stream positions (samples). */
export interface TrackedTone {
  hz: number;
  startSample: number;
  /** Where it ended, or Infinity while it sounds. */
  endSample: number;
}

/**
 * Watches a stream for several frequencies, added as they are asked for, and keeps every tone heard (what a test
 * caller "hears" in a meeting).
 */
export class ToneTracker {
  private readonly detectors = new Map<number, ToneDetector>();
  /** Every tone heard, in order of its start. */
  readonly tones: TrackedTone[] = [];
  private fed = 0;

  constructor(private readonly opts: ToneDetectorOptions = {}) {}

  /** Samples fed so far. */
  get position(): number {
    return this.fed;
  }

  /** Starts looking for `hz` (from the next audio fed); a frequency already watched (within 2 %) is kept as it is. */
  watch(hz: number): void {
    for (const f of this.detectors.keys()) if (sameTone(f, hz)) return;
    this.detectors.set(hz, new ToneDetector(hz, this.opts, this.fed));
  }

  /**
   * Feeds received audio (contiguous).
   * @returns the tones that started in it
   */
  feed(pcm: Int16Array): TrackedTone[] {
    const started: TrackedTone[] = [];
    for (const d of this.detectors.values()) {
      for (const c of d.feed(pcm)) {
        if (c.kind === 'start') {
          const t: TrackedTone = { hz: c.hz, startSample: c.atSample, endSample: Infinity };
          this.tones.push(t);
          started.push(t);
        } else {
          for (let k = this.tones.length - 1; k >= 0; k--) {
            const t = this.tones[k];
            if (t.hz === c.hz && t.endSample === Infinity) {
              t.endSample = c.atSample;
              break;
            }
          }
        }
      }
    }
    this.fed += pcm.length;
    return started;
  }
}
