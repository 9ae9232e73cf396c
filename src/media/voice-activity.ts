/**
 * Voice activity of the caller (DESIGN.md, "Media"), by one energy rule: a 20 ms frame is voiced at -40 dBov or
 * louder; voice starts after 40 ms of voiced frames and ends after 300 ms of quiet ones.
 * - Live: {@link VoiceActivityDetector}, which the RTP session (`rtp-session.ts`) feeds with each received packet
 *   and reports as its `voice` event.
 * - Over a whole recording: {@link voiceSpans}. A media server that records the caller itself (FreeSWITCH) hands
 *   back a file; this finds where the speech in it ends, so the stored message is trimmed the way the embedded engine
 *   trims it.
 */
import { G711_SAMPLE_RATE } from './g711';
import { WAV_SAMPLE_RATE } from './wav';

/** A span of voice, ms from the start of the audio. */
export interface VoiceSpan {
  start: number;
  end: number;
}

/** The detector's settings (defaults are the RTP session's). */
export interface VoiceActivityOptions {
  /** A frame at or above this level is voiced, dBov [-40]. */
  thresholdDbov?: number;
  /** Voiced audio needed to start a span, ms [40]. */
  onsetMs?: number;
  /** Quiet audio that ends a span, ms [300]. */
  hangoverMs?: number;
}

const FRAME = WAV_SAMPLE_RATE / 50; // 20 ms

/**
 * The level of samples [start, end) of `pcm`, dBov (RMS against full scale; about -120 for digital silence): the
 * voice detectors' one measure, live (`rtp-session.ts`) and on a whole recording ({@link voiceSpans}).
 */
export function levelDbov(pcm: Int16Array, start = 0, end = pcm.length): number {
  let e = 0;
  for (let i = start; i < end; i++) e += pcm[i] * pcm[i];
  return 10 * Math.log10(e / Math.max(1, end - start) / (32768 * 32768) + 1e-12);
}

/**
 * The voice spans of `pcm` (8 kHz mono), as the live detector reports them: a span starts where its first voiced
 * frame starts and ends when `hangoverMs` of quiet have followed its last voiced frame (so a message keeps the
 * embedded engine's trailing 300 ms); a span still open at the end of the audio ends there.
 * @param pcm 16-bit samples at 8 kHz
 * @returns spans in ms from the start, in order, not overlapping; empty when nothing was said
 */
export function voiceSpans(pcm: Int16Array, opts: VoiceActivityOptions = {}): VoiceSpan[] {
  const threshold = opts.thresholdDbov ?? -40;
  const onsetFrames = Math.max(1, Math.ceil((opts.onsetMs ?? 40) / 20));
  const hangoverFrames = Math.max(1, Math.ceil((opts.hangoverMs ?? 300) / 20));
  const spans: VoiceSpan[] = [];
  let voicedRun = 0;
  let quietRun = 0;
  let open: VoiceSpan | null = null;
  const frames = Math.floor(pcm.length / FRAME);
  for (let f = 0; f < frames; f++) {
    const db = levelDbov(pcm, f * FRAME, (f + 1) * FRAME);
    const startMs = f * 20;
    if (db >= threshold) {
      quietRun = 0;
      voicedRun++;
      if (open) open.end = startMs + 20;
      else if (voicedRun >= onsetFrames) {
        open = { start: startMs + 20 - voicedRun * 20, end: startMs + 20 };
        spans.push(open);
      }
    } else {
      voicedRun = 0;
      if (open && ++quietRun >= hangoverFrames) {
        open.end = startMs + 20; // as the live detector reports it: when the hangover ran out
        open = null;
        quietRun = 0;
      }
    }
  }
  if (open && quietRun > 0) open.end = frames * 20; // still in its hangover when the audio ends
  return spans;
}

/**
 * The live detector of an RTP session (`rtp-session.ts`): fed each received packet's samples, it reports the
 * caller's voice through `onChange` (true at onset, after `onsetMs` of voiced audio; false after `hangoverMs` of
 * quiet audio, comfort noise or no packets at all). Pure: the session hands it the clock's time.
 */
export class VoiceActivityDetector {
  private on = false;
  private voicedSamples = 0;
  private quietSamples = 0;
  private readonly thresholdDbov: number;
  private readonly onsetMs: number;
  private readonly hangoverMs: number;

  /** @param onChange called with the new state at each change */
  constructor(opts: Required<VoiceActivityOptions>, private readonly onChange: (voice: boolean) => void) {
    this.thresholdDbov = opts.thresholdDbov;
    this.onsetMs = opts.onsetMs;
    this.hangoverMs = opts.hangoverMs;
  }

  /** True while the caller talks (between onset and the end of the hangover). */
  get voice(): boolean {
    return this.on;
  }

  /** One packet's samples (8 kHz, any length). */
  frame(pcm: Int16Array): void {
    const db = levelDbov(pcm);
    if (db >= this.thresholdDbov) {
      this.quietSamples = 0;
      this.voicedSamples += pcm.length;
      if (!this.on && this.voicedSamples * 1000 >= this.onsetMs * G711_SAMPLE_RATE) this.set(true);
    } else {
      this.voicedSamples = 0;
      if (this.on) {
        this.quietSamples += pcm.length;
        if (this.quietSamples * 1000 >= this.hangoverMs * G711_SAMPLE_RATE) this.set(false);
      }
    }
  }

  /** A packet that says the caller is silent (comfort noise, RFC 3389), counted as `samples` of quiet. */
  quiet(samples: number): void {
    if (this.on) {
      this.quietSamples += samples;
      if (this.quietSamples * 1000 >= this.hangoverMs * G711_SAMPLE_RATE) this.set(false);
    }
    this.voicedSamples = 0;
  }

  /**
   * No packet since `lastAudioAt`: ends the voice once that is the hangover ago (called from the session's tick).
   * @param now the clock's time, ms; @param lastAudioAt when the last audio or CN packet arrived, ms
   */
  idle(now: number, lastAudioAt: number): void {
    if (this.on && now - lastAudioAt >= this.hangoverMs) this.set(false);
  }

  private set(on: boolean): void {
    if (this.on === on) return;
    this.on = on;
    this.quietSamples = 0;
    this.voicedSamples = 0;
    this.onChange(on);
  }
}
