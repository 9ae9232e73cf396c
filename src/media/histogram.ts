/**
 * A fixed-bin histogram of durations in ms (non-negative), for percentiles over unbounded runs in constant memory:
 * the RTP tick's lateness and each session's send-interval deviation (issue 4 benchmark: "p99 deviation from 20 ms").
 */
export class MsHistogram {
  private readonly bins: Uint32Array;
  private readonly res: number;
  private overflow = 0;
  private n = 0;
  private maxSeen = 0;

  /**
   * @param resolutionMs bin width, ms (default 0.1)
   * @param rangeMs values above this land in an overflow bin (reported as the maximum seen), ms (default 50)
   */
  constructor(resolutionMs = 0.1, rangeMs = 50) {
    this.res = resolutionMs;
    this.bins = new Uint32Array(Math.ceil(rangeMs / resolutionMs));
  }

  /** Adds one value, ms; negative values count as 0. */
  record(ms: number): void {
    const v = ms > 0 ? ms : 0;
    const i = Math.floor(v / this.res);
    if (i < this.bins.length) this.bins[i]++;
    else this.overflow++;
    this.n++;
    if (v > this.maxSeen) this.maxSeen = v;
  }

  /** Values recorded. */
  get count(): number {
    return this.n;
  }

  /** Largest value recorded, ms (0 when empty). */
  get max(): number {
    return this.maxSeen;
  }

  /**
   * The p-th percentile, ms: the upper edge of the bin holding it (so within one bin width above the true value),
   * capped at the maximum seen; 0 when empty.
   * @param p 0..100
   */
  percentile(p: number): number {
    if (this.n === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.n));
    let acc = 0;
    for (let i = 0; i < this.bins.length; i++) {
      acc += this.bins[i];
      if (acc >= rank) return Math.min(this.maxSeen, (i + 1) * this.res);
    }
    return this.maxSeen;
  }

  /**
   * Adds another histogram's values to this one.
   * @throws Error when the two have different bin widths or ranges
   */
  merge(other: MsHistogram): void {
    if (other.res !== this.res || other.bins.length !== this.bins.length) throw new Error('histograms differ in bins');
    for (let i = 0; i < this.bins.length; i++) this.bins[i] += other.bins[i];
    this.overflow += other.overflow;
    this.n += other.n;
    if (other.maxSeen > this.maxSeen) this.maxSeen = other.maxSeen;
  }

  /** Forgets everything. */
  reset(): void {
    this.bins.fill(0);
    this.overflow = 0;
    this.n = 0;
    this.maxSeen = 0;
  }
}
