/**
 * In-band DTMF (ITU-T Q.23 frequencies) detection with the Goertzel algorithm, and a DTMF tone generator.
 *
 * Detector ({@link DtmfDetector}), for 8 kHz 16-bit PCM (other rates work; block sizes scale):
 * - Blocks of 20 ms (160 samples) every 10 ms (50% overlap). Per block: the total energy, then (only when it is
 *   above the level floor: silence costs one pass) the Goertzel power at the 8 DTMF frequencies.
 * - A block is a hit for a digit when all of these hold (Q.24-style acceptance; figures configurable):
 *   1. level: the strongest row and column tones are each at least `minLevelDbm0` (-30 dBm0; 0 dBm0 is a sine
 *      3.14 dB below full scale, the A-law convention of G.711);
 *   2. twist: the high-group (column) tone is at most `maxReverseTwistDb` (4 dB) stronger, and at most
 *      `maxNormalTwistDb` (8 dB) weaker, than the low-group (row) tone (Q.24's usual "+4/-8 dB"; line loss makes
 *      the high group the weaker one, hence the larger allowance that way);
 *   3. relative peak: each is at least `relativePeakDb` (8 dB) above every other tone of its group;
 *   4. purity: the two tones hold at least `minToneFraction` (0.7) of the block's energy (speech, music and noise
 *      spread their energy elsewhere; a 1 kHz tone has almost none at DTMF frequencies);
 *   5. second harmonic: the power at twice the high-group tone's frequency is at least `secondHarmonicDb` (15 dB)
 *      below it (voiced speech has strong harmonics; a DTMF generator does not). The low group's second harmonics
 *      (1394-1882 Hz) lie among the high-group tones, whose leakage would fail genuine digits; check 4 covers them.
 * - A press is confirmed after `minDurationMs` (40 ms) of hits: 3 consecutive overlapping blocks (20 ms + 2 hops).
 *   Tones of 40 ms or more at acceptable levels are always confirmed; tones under ~25 ms never are.
 * - A press ends after `minGapMs` (40 ms) without hits for its digit (a dropout of 10 ms inside a tone does not
 *   split it, Q.24's interruption tolerance); only then is it reported, once, with its duration. A different digit
 *   needs that gap first: a direct change from one digit to another without a pause is one press.
 * - Frequency tolerance: the Goertzel bins are 50 Hz wide, so tones within Q.24's ±1.5% are accepted; the
 *   "reject beyond ±3.5%" half of Q.24 is not enforced.
 */
import { MediaError, MediaErrorCodes } from './errors';

/** Low-group (row) frequencies, Hz (ITU-T Q.23). */
export const DTMF_ROW_HZ = [697, 770, 852, 941] as const;
/** High-group (column) frequencies, Hz (ITU-T Q.23). */
export const DTMF_COL_HZ = [1209, 1336, 1477, 1633] as const;
/** The keypad, `DTMF_KEYPAD[row][col]`. */
export const DTMF_KEYPAD = ['123A', '456B', '789C', '*0#D'] as const;

/** Level of a full-scale 16-bit sine, dBm0 (G.711 A-law; μ-law is 3.17). */
export const FULL_SCALE_SINE_DBM0 = 3.14;

/** Peak amplitude (16-bit scale) of a sine at `dbm0`. */
export function dbm0ToAmplitude(dbm0: number): number {
  return 32767 * Math.pow(10, (dbm0 - FULL_SCALE_SINE_DBM0) / 20);
}

/** Options of {@link dtmfTone}. */
export interface DtmfToneOptions {
  /** Level of the low-group tone, dBm0. Default -7. */
  lowDbm0?: number;
  /** Level of the high-group tone, dBm0. Default: `lowDbm0 + twistDb`. */
  highDbm0?: number;
  /** High group minus low group, dB (positive: reverse twist). Default 0. */
  twistDb?: number;
}

/**
 * Generates a DTMF tone (the sum of its row and column sines, ITU-T Q.23).
 * @param digit `0`-`9`, `*`, `#`, `A`-`D` (either case)
 * @param ms length, ms (>= 0)
 * @param sampleRate Hz, default 8000
 * @param opts levels (default -7 dBm0 each: the sum peaks at about a third of full scale)
 * @returns 16-bit PCM, `round(ms * sampleRate / 1000)` samples
 * @throws MediaError `VA_ERR_MEDIA_ARGUMENT` for another digit or a negative length
 */
export function dtmfTone(digit: string, ms: number, sampleRate = 8000, opts: DtmfToneOptions = {}): Int16Array {
  const d = typeof digit === 'string' && digit.length === 1 ? digit.toUpperCase() : '';
  const row = DTMF_KEYPAD.findIndex((r) => d !== '' && r.includes(d));
  if (row < 0) throw new MediaError(MediaErrorCodes.ARGUMENT, `not a DTMF key: ${JSON.stringify(digit)}`);
  if (!(ms >= 0)) throw new MediaError(MediaErrorCodes.ARGUMENT, `tone length must be >= 0 ms, got ${ms}`);
  const col = DTMF_KEYPAD[row].indexOf(d);
  const low = opts.lowDbm0 ?? -7;
  const high = opts.highDbm0 ?? low + (opts.twistDb ?? 0);
  const a1 = dbm0ToAmplitude(low);
  const a2 = dbm0ToAmplitude(high);
  const w1 = (2 * Math.PI * DTMF_ROW_HZ[row]) / sampleRate;
  const w2 = (2 * Math.PI * DTMF_COL_HZ[col]) / sampleRate;
  const n = Math.round((ms * sampleRate) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const v = a1 * Math.sin(w1 * i) + a2 * Math.sin(w2 * i);
    out[i] = Math.max(-32768, Math.min(32767, Math.round(v)));
  }
  return out;
}

/** Options of {@link DtmfDetector}; defaults as in the module comment. */
export interface DtmfDetectorOptions {
  /** Hz, default 8000. */
  sampleRate?: number;
  /** Minimum level of each tone, dBm0. Default -30. */
  minLevelDbm0?: number;
  /** How much stronger the high group may be than the low group, dB. Default 4. */
  maxReverseTwistDb?: number;
  /** How much weaker the high group may be than the low group, dB. Default 8. */
  maxNormalTwistDb?: number;
  /** Margin of each tone over the others of its group, dB. Default 8. */
  relativePeakDb?: number;
  /** Share of the block energy the two tones must hold, 0..1. Default 0.7. */
  minToneFraction?: number;
  /** Margin of each tone over its second harmonic, dB. Default 15. */
  secondHarmonicDb?: number;
  /** Tone length needed to confirm a press, ms. Default 40. */
  minDurationMs?: number;
  /** Silence needed to end a press, ms. Default 40. */
  minGapMs?: number;
}

/** A press found by {@link DtmfDetector}. */
export interface DetectedDtmf {
  digit: string;
  /** Estimated tone length, ms (from the first to the last block that was a hit). */
  durationMs: number;
  /** Where the tone started and ended in the fed audio, ms from the first sample fed (estimates, ±10 ms). */
  startMs: number;
  endMs: number;
}

const DIGITS_BY_INDEX: string[] = [];
for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) DIGITS_BY_INDEX.push(DTMF_KEYPAD[r][c]);

/**
 * Streaming in-band DTMF detector (see the module comment for the rules). Feed it audio in any chunk sizes;
 * it reports each press once, when the press ends.
 */
export class DtmfDetector {
  private readonly rate: number;
  private readonly block: number;
  private readonly hop: number;
  private readonly coeff: Float64Array; // 8 fundamentals then 8 second harmonics
  private readonly minTonePower: number;
  private readonly maxReverse: number;
  private readonly maxNormal: number;
  private readonly relPeak: number;
  private readonly minFraction: number;
  private readonly harmonic: number;
  private readonly confirmBlocks: number;
  private readonly gapBlocks: number;
  private readonly buf: Float64Array;
  private fill = 0;
  /** Samples consumed before the current buffer's first sample. */
  private base = 0;
  // press state
  private candidate = -1;
  private candidateHits = 0;
  private candidateStart = 0;
  private pressed = -1;
  private pressStart = 0;
  private lastHitEnd = 0;
  private misses = 0;

  constructor(opts: DtmfDetectorOptions = {}) {
    this.rate = opts.sampleRate ?? 8000;
    this.block = Math.round(this.rate / 50);
    this.hop = this.block / 2;
    if (!Number.isInteger(this.hop) || this.hop < 8) {
      throw new MediaError(MediaErrorCodes.ARGUMENT, `unsupported sample rate ${this.rate}`);
    }
    const freqs = [...DTMF_ROW_HZ, ...DTMF_COL_HZ];
    this.coeff = new Float64Array(16);
    freqs.forEach((f, i) => {
      this.coeff[i] = 2 * Math.cos((2 * Math.PI * f) / this.rate);
      this.coeff[i + 8] = 2 * Math.cos((2 * Math.PI * 2 * f) / this.rate);
    });
    const amp = dbm0ToAmplitude(opts.minLevelDbm0 ?? -30);
    // A sine of amplitude A over N samples has energy A^2 N / 2, which is what power() returns for it.
    this.minTonePower = (amp * amp * this.block) / 2;
    this.maxReverse = Math.pow(10, (opts.maxReverseTwistDb ?? 4) / 10);
    this.maxNormal = Math.pow(10, (opts.maxNormalTwistDb ?? 8) / 10);
    this.relPeak = Math.pow(10, (opts.relativePeakDb ?? 8) / 10);
    this.minFraction = opts.minToneFraction ?? 0.7;
    this.harmonic = Math.pow(10, (opts.secondHarmonicDb ?? 15) / 10);
    const hopMs = (this.hop * 1000) / this.rate;
    const blockMs = (this.block * 1000) / this.rate;
    this.confirmBlocks = Math.max(1, Math.round(((opts.minDurationMs ?? 40) - blockMs) / hopMs) + 1);
    this.gapBlocks = Math.max(1, Math.round((opts.minGapMs ?? 40) / hopMs));
    this.buf = new Float64Array(this.block);
  }

  /**
   * Feeds audio.
   * @param pcm 16-bit samples at the detector's rate, contiguous with what was fed before
   * @returns the presses that ended within this audio (usually none)
   */
  feed(pcm: Int16Array): DetectedDtmf[] {
    const out: DetectedDtmf[] = [];
    let i = 0;
    while (i < pcm.length) {
      const n = Math.min(pcm.length - i, this.block - this.fill);
      for (let k = 0; k < n; k++) this.buf[this.fill + k] = pcm[i + k];
      this.fill += n;
      i += n;
      if (this.fill === this.block) {
        this.step(this.classify(), out);
        this.buf.copyWithin(0, this.hop, this.block);
        this.fill = this.block - this.hop;
        this.base += this.hop;
      }
    }
    return out;
  }

  /** Ends the audio: reports a press still in progress (e.g. a tone at the very end). */
  flush(): DetectedDtmf[] {
    const out: DetectedDtmf[] = [];
    if (this.pressed >= 0) this.emit(out);
    this.resetPress();
    return out;
  }

  /** Forgets all state and audio (the next sample fed counts as position 0). */
  reset(): void {
    this.fill = 0;
    this.base = 0;
    this.resetPress();
  }

  private resetPress(): void {
    this.candidate = -1;
    this.candidateHits = 0;
    this.pressed = -1;
    this.misses = 0;
  }

  private goertzel(k: number): number {
    const c = this.coeff[k];
    const x = this.buf;
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < x.length; i++) {
      const s = x[i] + c * s1 - s2;
      s2 = s1;
      s1 = s;
    }
    // |X|^2 scaled by 2/N: a bin-centred sine of amplitude A gives A^2 N / 2, its energy in the block.
    return ((s1 * s1 + s2 * s2 - c * s1 * s2) * 2) / x.length;
  }

  /** The digit index (row*4+col) this block is a hit for, or -1. */
  private classify(): number {
    const x = this.buf;
    let energy = 0;
    for (let i = 0; i < x.length; i++) energy += x[i] * x[i];
    if (energy < 2 * this.minTonePower) return -1;
    let row = -1;
    let rowP = 0;
    let rowP2 = 0;
    for (let r = 0; r < 4; r++) {
      const p = this.goertzel(r);
      if (p > rowP) {
        rowP2 = rowP;
        rowP = p;
        row = r;
      } else if (p > rowP2) rowP2 = p;
    }
    let col = -1;
    let colP = 0;
    let colP2 = 0;
    for (let c = 0; c < 4; c++) {
      const p = this.goertzel(4 + c);
      if (p > colP) {
        colP2 = colP;
        colP = p;
        col = c;
      } else if (p > colP2) colP2 = p;
    }
    if (rowP < this.minTonePower || colP < this.minTonePower) return -1; // 1. level
    if (colP > rowP * this.maxReverse || rowP > colP * this.maxNormal) return -1; // 2. twist
    if (rowP < rowP2 * this.relPeak || colP < colP2 * this.relPeak) return -1; // 3. relative peak
    if (rowP + colP < this.minFraction * energy) return -1; // 4. purity
    if (this.goertzel(12 + col) * this.harmonic > colP) return -1; // 5. second harmonic (high group)
    return row * 4 + col;
  }

  private step(hit: number, out: DetectedDtmf[]): void {
    const blockStart = this.base;
    const blockEnd = this.base + this.block;
    if (this.pressed >= 0) {
      if (hit === this.pressed) {
        this.misses = 0;
        this.lastHitEnd = blockEnd;
        return;
      }
      if (++this.misses < this.gapBlocks) return;
      this.emit(out);
      this.resetPress();
      // Counted as gap; a hit for another digit in this block needs a fresh confirmation anyway.
      return;
    }
    if (hit < 0) {
      this.candidate = -1;
      this.candidateHits = 0;
      return;
    }
    if (hit !== this.candidate) {
      this.candidate = hit;
      this.candidateHits = 0;
      this.candidateStart = blockStart;
    }
    if (++this.candidateHits >= this.confirmBlocks) {
      this.pressed = hit;
      this.pressStart = this.candidateStart;
      this.lastHitEnd = blockEnd;
      this.misses = 0;
    }
  }

  private emit(out: DetectedDtmf[]): void {
    const toMs = (s: number) => Math.round((s * 1000) / this.rate);
    out.push({
      digit: DIGITS_BY_INDEX[this.pressed],
      durationMs: toMs(this.lastHitEnd - this.pressStart),
      startMs: toMs(this.pressStart),
      endMs: toMs(this.lastHitEnd),
    });
  }
}
