/**
 * RtpCallChannel: the {@link CallChannel} of a real call. The IVR semantics are {@link IvrChannel}'s; the media is
 * an {@link RtpSession} of the shared RTP engine (prompts streamed as G.711 from their WAVs, the caller's audio
 * decoded for recordings and voice detection, DTMF from RFC 4733, in-band tones and SIP INFO merged by the session),
 * and the signalling is a {@link CallLeg} (an embedded SIP dialog or a drachtio one: this class sees neither).
 */
import { encodeWav, readWavPcm, WAV_SAMPLE_RATE } from '../media/wav';
import type { Recording, RtpSession } from '../media/rtp-session';
import type { RenderedPrompt } from '../prompts/catalog';
import { IvrChannel, type IvrChannelOptions, type SpeechSegment } from './ivr-channel';

/** The signalling side of one call, as a channel needs it. */
export interface CallLeg {
  /** Answers the call (200 OK with our SDP). Resolves when sent. */
  answer(): Promise<void>;
  /** Ends the call from the IVR side: BYE once answered. Idempotent. */
  hangup(cause?: string): void;
}

/** What an {@link RtpCallChannel} needs besides the common options. */
export interface RtpCallChannelOptions extends IvrChannelOptions {
  session: RtpSession;
  leg: CallLeg;
}

export class RtpCallChannel extends IvrChannel {
  private readonly session: RtpSession;
  private readonly leg: CallLeg;
  private capture: Recording | null = null;
  private captured: Int16Array | null = null;

  constructor(options: RtpCallChannelOptions) {
    super(options);
    this.session = options.session;
    this.leg = options.leg;
    this.session.on('dtmf', (e) => this.deliverDigit(e.digit));
    this.session.on('voice', (active) => (active ? this.speechStarted() : this.speechEnded()));
  }

  /** The signalling saw the caller hang up (BYE, CANCEL, or the dialog timing out). */
  callerHungUp(): void {
    this.remoteHangup();
  }

  /** A key from SIP INFO (`application/dtmf-relay`, `application/dtmf`); de-duplicated with RTP by the session. */
  infoDigit(digit: string, durationMs: number): void {
    this.session.injectInfoDtmf(digit, durationMs);
  }

  /** The media session (for re-INVITEs: new remote address, hold). */
  get media(): RtpSession {
    return this.session;
  }

  protected startPrompt(prompt: RenderedPrompt, onEnd: () => void): () => void {
    const playback = this.session.play(readWavPcm(prompt.file));
    let stopped = false;
    void playback.done.then((how) => {
      if (how === 'done' && !stopped) onEnd();
    });
    return () => {
      stopped = true;
      playback.stop();
    };
  }

  protected override onRecordingStart(): void {
    this.captured = null;
    this.capture = this.session.startRecording();
  }

  protected override onRecordingEnd(): void {
    this.captured = this.capture?.stop() ?? new Int16Array(0);
    this.capture = null;
  }

  protected recordingWav(durationMs: number, _speech: readonly SpeechSegment[]): Buffer {
    const pcm = this.captured ?? new Int16Array(0);
    const samples = Math.min(pcm.length, Math.round((durationMs * WAV_SAMPLE_RATE) / 1000));
    return encodeWav(pcm.subarray(0, samples));
  }

  protected override async onAnswer(): Promise<void> {
    await this.leg.answer();
  }

  protected override onEnd(by: 'caller' | 'ivr', cause?: string): void {
    if (by === 'ivr') this.leg.hangup(cause);
    this.capture?.stop();
    this.session.close();
  }
}
