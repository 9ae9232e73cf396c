/**
 * The recorder behind {@link RtpSession.startRecording}: writes the caller's received audio (decoded G.711, 8 kHz)
 * into a growing buffer, each packet placed by its RTP timestamp (RFC 3550 §5.1) so that lost packets and
 * silence-suppressed gaps stay zeros and a late or re-ordered packet lands where it belongs. A new SSRC, or a
 * timestamp far behind (over 2 s) or ahead (over 30 s), continues at the end (a broken or restarted stream). Audio
 * past `maxSamples` is dropped. The files (WAV: temporary file, fsync, rename) are written elsewhere from what
 * {@link Recording.stop} returns (DESIGN.md, "Media").
 */
import { performance } from 'node:perf_hooks';
import { G711_SAMPLE_RATE } from './g711';

/** A recording started by {@link RtpSession.startRecording}. */
export interface Recording {
  /**
   * Ends the recording (idempotent: later calls return the same audio).
   * @returns the caller's decoded audio at 8 kHz from the first packet received after the start, each packet placed
   *          by its RTP timestamp so that lost packets and silence-suppressed gaps are zeros
   */
  stop(): Int16Array;
  /** Audio captured so far, ms. */
  readonly durationMs: number;
  /**
   * How long after the start the captured audio begins, ms (0 until a packet has come): the time to the first packet
   * received, less that packet's own length. A sender that sends nothing while its user is silent (no comfort noise)
   * makes it large; a recording kept on the start's time line puts that many ms of silence before {@link stop}'s audio.
   */
  readonly leadMs: number;
}

/** One running {@link Recording}: the session writes every received audio packet into it. @internal */
export class RtpRecorder implements Recording {
  private buf = new Int16Array(G711_SAMPLE_RATE * 4);
  private length = 0;
  private ssrc: number | null = null;
  private baseTs = 0;
  private basePos = 0;
  private result: Int16Array | null = null;
  private readonly startedAt = performance.now();
  private lead: number | null = null;

  /**
   * @param maxSamples longest recording kept, samples (8 kHz); later audio is dropped
   * @param onStop called once, at the first {@link stop} (the session stops writing to it)
   */
  constructor(
    private readonly maxSamples: number,
    private readonly onStop: (r: RtpRecorder) => void,
  ) {}

  get durationMs(): number {
    return ((this.result?.length ?? this.length) * 1000) / G711_SAMPLE_RATE;
  }

  get leadMs(): number {
    return this.lead ?? 0;
  }

  /**
   * One received packet's audio. Ignored after {@link stop}.
   * @param ssrc the packet's SSRC (unsigned); @param ts its RTP timestamp (unsigned, 8 kHz units); @param pcm its samples
   */
  write(ssrc: number, ts: number, pcm: Int16Array): void {
    if (this.result) return;
    this.lead ??= Math.max(0, performance.now() - this.startedAt - (pcm.length * 1000) / G711_SAMPLE_RATE);
    if (this.ssrc !== ssrc) {
      this.ssrc = ssrc;
      this.baseTs = ts;
      this.basePos = this.length;
    }
    let pos = this.basePos + ((ts - this.baseTs) | 0);
    // A timestamp far behind (over 2 s) or ahead (over 30 s) is a broken or restarted stream: continue at the end.
    if (pos < 0 || pos < this.length - 2 * G711_SAMPLE_RATE || pos > this.length + 30 * G711_SAMPLE_RATE) {
      this.baseTs = ts;
      this.basePos = this.length;
      pos = this.length;
    }
    const end = Math.min(pos + pcm.length, this.maxSamples);
    if (end <= pos) return;
    if (end > this.buf.length) {
      let cap = this.buf.length;
      while (cap < end) cap *= 2;
      const next = new Int16Array(Math.min(cap, this.maxSamples));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    this.buf.set(pcm.subarray(0, end - pos), pos);
    if (end > this.length) this.length = end;
  }

  stop(): Int16Array {
    if (!this.result) {
      this.result = this.buf.slice(0, this.length);
      this.buf = new Int16Array(0);
      this.onStop(this);
    }
    return this.result;
  }
}
