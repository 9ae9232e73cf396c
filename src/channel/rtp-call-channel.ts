/**
 * RtpCallChannel: the {@link CallChannel} of a real call. The IVR semantics are {@link IvrChannel}'s; the media is
 * an {@link RtpSession} of the shared RTP engine (prompts streamed as G.711 from their WAVs, the caller's audio
 * decoded for recordings and voice detection, DTMF from RFC 4733, in-band tones and SIP INFO merged by the session),
 * and the signalling is a {@link CallLeg} (an embedded SIP dialog or a drachtio one: this class sees neither).
 *
 * Conferences: in a meeting the session's audio goes into the room's {@link ConferenceBridge} (one per conference ID
 * on the session's RTP engine, mixed on the engine's shared tick) and the caller hears the mix of the others; the
 * entry and exit tones (`prompts/tones/conf-join.wav`, `conf-leave.wav`) are played to the rest of the room; a prompt
 * to this caller alone (`*6`'s confirmation) is heard instead of the mix while it plays.
 */
import { ConferenceBridge, type ConferenceMember } from '../media/conference-bridge';
import { encodeWav, readWavPcm, WAV_SAMPLE_RATE } from '../media/wav';
import type { Recording, RtpSession } from '../media/rtp-session';
import type { Locale } from '../domain/locale';
import type { ConferenceRole } from '../flow-kit/media-types';
import type { RenderedPrompt } from '../prompts/catalog';
import { IvrChannel, type IvrChannelOptions, type SpeechSegment } from './ivr-channel';

import type { CallLeg } from '../ports/media-server';

export type { CallLeg };

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
  /** The finished capture's {@link Recording.leadMs}. */
  private captureLeadMs = 0;
  private member: ConferenceMember | null = null;
  private memberTones = false;

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

  /** Plays the prompt's WAV for its `durationMs` (a tone cut short by the catalog plays its beginning). */
  protected startPrompt(prompt: RenderedPrompt, onEnd: () => void): () => void {
    // Catalog prompts and tones (an id) are fixed for the life of the process; recordings (no id) may be re-recorded.
    let pcm = readWavPcm(prompt.file, { unchanging: prompt.id !== null });
    const samples = Math.round((prompt.durationMs * WAV_SAMPLE_RATE) / 1000);
    if (samples < pcm.length - WAV_SAMPLE_RATE / 1000) pcm = pcm.subarray(0, samples); // more than 1 ms shorter: cut
    const playback = this.session.play(pcm);
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
    this.captureLeadMs = this.capture?.leadMs ?? 0;
    this.capture = null;
  }

  /**
   * The recording as WAV on the channel's time line: exactly `durationMs` long (what the message's row says), the
   * captured audio placed where it was heard (after {@link Recording.leadMs} of silence when the caller's phone sent
   * nothing at first), silence where no audio came (a phone that stops sending when its user is silent).
   */
  protected recordingWav(durationMs: number, _speech: readonly SpeechSegment[]): Buffer {
    const pcm = this.captured ?? new Int16Array(0);
    const samples = Math.round((durationMs * WAV_SAMPLE_RATE) / 1000);
    const out = new Int16Array(samples);
    const lead = Math.min(samples, Math.round((this.captureLeadMs * WAV_SAMPLE_RATE) / 1000));
    out.set(pcm.subarray(0, samples - lead), lead);
    return encodeWav(out);
  }

  protected override async onAnswer(): Promise<void> {
    await this.leg.answer();
  }

  protected override conferenceEnter(room: string, _role: ConferenceRole, opts: { entryExitTones: boolean; locale: Locale }): void {
    this.conferenceLeave();
    const bridge = ConferenceBridge.forRoom(this.session.engine, room);
    this.member = bridge.join(this.session, { label: this.callId, onRoomSound: (id) => this.heardRoomSound(id) });
    this.memberTones = opts.entryExitTones;
    if (opts.entryExitTones) this.member.playToOthers(this.tonePcm('conf-join'), 'tone:conf-join');
  }

  protected override conferenceLeave(): void {
    const m = this.member;
    if (!m) return;
    this.member = null;
    m.leave();
    // The rest of the room hears the exit tone (the bridge is gone when nobody is left).
    if (this.memberTones) ConferenceBridge.find(this.session.engine, m.room)?.playToAll(this.tonePcm('conf-leave'), 'tone:conf-leave');
  }

  protected override conferenceMute(muted: boolean): void {
    this.member?.setMuted(muted);
  }

  /** The samples of a tone of `prompts/tones/`. */
  private tonePcm(tone: 'conf-join' | 'conf-leave'): Int16Array {
    return readWavPcm(this.catalog.render([{ tone }], 'en-US')[0].file);
  }

  protected override onEnd(by: 'caller' | 'ivr', cause?: string): void {
    if (by === 'ivr') this.leg.hangup(cause);
    this.capture?.stop();
    this.conferenceLeave();
    this.session.close();
  }
}
