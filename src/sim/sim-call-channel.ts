/**
 * SimCallChannel: the simulator's {@link CallChannel} (DESIGN.md, "sim/"). The IVR side is {@link IvrChannel}'s
 * (`channel/ivr-channel.ts` has the exact semantics); here no audio flows: a prompt "plays" for its WAV's duration of
 * the injected clock's time, digits and speech come from a scripted caller (`pressDigits`, `speak`, `callerHangup`),
 * and recordings are synthesised WAV files (speech as low-level noise, silence as zeros), written atomically.
 */
import { DTMF_KEYS, IvrChannel, type IvrChannelOptions, type SpeechSegment } from '../channel/ivr-channel';
import { arrayListeners, waitFor } from '../channel/wait-for';
import type { Locale } from '../domain/locale';
import type { ConferenceRole } from '../flow-kit/media-types';
import { sameTone } from '../media/conference-tones';
import { encodeWav } from '../media/wav';
import type { RenderedPrompt } from '../prompts/catalog';
import type { CallerSide, DtmfVia, HeardTone } from './caller-side';
import { DEFAULT_DTMF_KEY_MS, DEFAULT_DTMF_LEVEL_DB, type DtmfSignal } from './dtmf-faults';
import { SimConferenceRooms, type SimConferenceMember } from './sim-conference';
import { SimDtmfLine } from './sim-dtmf';
import { fillSpeechNoise, SPEECH_SEED } from './speech-noise';

export { DTMF_KEYS, type ChannelEvent, type HeardPrompt, type OperationKind } from '../channel/ivr-channel';

/** Options for {@link SimCallChannel}. */
export interface SimCallChannelOptions extends IvrChannelOptions {
  /** The simulated conference rooms this call's meetings take place in; those of its clock by default. */
  conferences?: SimConferenceRooms;
}

/**
 * The simulator's call channel: the IVR side implements {@link CallChannel}; the caller side is for scripts and tests.
 * In a meeting the call sits in a {@link SimConferenceRooms} room: it hears the others' tones (`speakTone`) unless
 * they are muted, and the entry and exit tones are logged as heard prompts (`tone:conf-join`, `tone:conf-leave`).
 */
export class SimCallChannel extends IvrChannel implements CallerSide {
  /** Tones this caller heard from others in a meeting, in order of their start. */
  readonly heardTones: HeardTone[] = [];
  private readonly toneObservers: ((t: HeardTone) => void)[] = [];
  private readonly endListeners: (() => void)[] = [];
  private readonly conferences: SimConferenceRooms;
  private readonly member: SimConferenceMember;
  /** The server's DTMF decoding of this call's keys (made at the first key). */
  private dtmfLine: SimDtmfLine | null = null;
  /** The tone this caller is sending now, if any (it sounds whether or not the caller is in a meeting yet). */
  private voice: { hz: number; end: number } | null = null;
  /** Is the caller in a meeting room now (the bridge has taken it in)? */
  private inMeeting = false;
  private readonly meetingObservers: (() => void)[] = [];

  constructor(options: SimCallChannelOptions) {
    super(options);
    this.conferences = options.conferences ?? SimConferenceRooms.of(options.clock);
    this.member = {
      callId: this.callId,
      hearTone: (t) => {
        // A prompt to this caller alone replaces the meeting's audio while it plays: the tone is heard after it.
        if (t.at < this.conferencePromptUntil) {
          t.at = this.conferencePromptUntil;
          if (t.end <= t.at) return;
        }
        this.heardTones.push(t);
        this.annotate('caller', `hears a ${t.hz} Hz tone${t.from ? ` from ${t.from}` : ''}`);
        for (const o of this.toneObservers.slice()) o(t);
      },
      hearRoomSound: (id) => this.heardRoomSound(id),
    };
    this.onEnded(() => {
      this.dtmfLine?.close();
      for (const l of this.endListeners.splice(0)) l();
    });
  }

  protected override conferenceEnter(room: string, _role: ConferenceRole, opts: { entryExitTones: boolean; locale: Locale }): void {
    this.conferences.join(this.member, room, opts.entryExitTones);
    this.inMeeting = true;
    for (const o of this.meetingObservers.slice()) o();
    // A tone the caller started before the bridge took it in (during `conf-joining`) keeps sounding: the others hear
    // the rest of it, as over the network, where the caller's RTP flows on into the mix.
    const now = this.clock.now();
    if (this.voice && this.voice.end > now) this.conferences.speak(this.member, this.voice.hz, this.voice.end - now);
  }

  protected override conferenceLeave(): void {
    this.inMeeting = false;
    this.conferences.leave(this.member);
  }

  protected override conferenceMute(muted: boolean): void {
    this.conferences.setMuted(this.member, muted);
  }

  protected startPrompt(prompt: RenderedPrompt, onEnd: () => void): () => void {
    const h = this.clock.setTimeout(onEnd, prompt.durationMs);
    return () => this.clock.clearTimeout(h);
  }

  protected recordingWav(durationMs: number, speech: readonly SpeechSegment[]): Buffer {
    return synthesizeWav(durationMs, speech);
  }

  // ================================================================== caller side

  /**
   * The caller presses one key now, as a plain RFC 4733 key: delivered at once through the server's DTMF merger
   * (`sim-dtmf.ts`), as a real channel would deliver it.
   * @param digit one of `0-9 * # A-D`
   * @returns false when the call has ended (the key goes nowhere)
   * @throws Error for any other character
   */
  pressDigit(digit: string): boolean {
    return this.pressPlain(digit, 'rfc4733');
  }

  /**
   * The caller presses keys, the first now, the next ones `gapMs` apart:
   * - without `signal`, plain keys (`via` rfc4733 or info), each delivered at once; the call takes (n - 1) x `gapMs`;
   * - with `signal` (a `dtmf` step's options and faults, `scenario-dtmf.ts`), through the server's own decoding on the
   *   virtual clock (`sim-dtmf.ts`): RFC 4733 packets to its receiver, in-band audio to its detector, SIP INFO
   *   requests past the dialog's CSeq check. A key counts when the server would count it (an RFC 4733 key at its
   *   end), and the call lasts until the last key's packets, sound or requests are sent.
   * @param digits keys `0-9 * # A-D`; @param gapMs virtual ms from one key's start to the next's (default 150)
   * @param via how the keys travel (default rfc4733; inband always goes through the detector)
   * @returns how many keys were sent (fewer when the call ended meanwhile)
   * @throws Error for a character that is not a key (before any key is pressed)
   */
  async pressDigits(digits: string, gapMs = 150, via: DtmfVia = 'rfc4733', signal?: DtmfSignal): Promise<number> {
    for (const d of digits) if (!DTMF_KEYS.includes(d)) throw new Error(`"${d}" in "${digits}" is not a DTMF key (${DTMF_KEYS})`);
    if (this.ended) return 0;
    if (!signal && via === 'inband') signal = { durationMs: DEFAULT_DTMF_KEY_MS, volumeDb: DEFAULT_DTMF_LEVEL_DB, twistDb: 0, faults: [] };
    if (!signal) {
      let sent = 0;
      for (let i = 0; i < digits.length; i++) {
        if (i > 0) await this.sleep(gapMs);
        if (!this.pressPlain(digits[i], via === 'info' ? 'info' : 'rfc4733')) break;
        sent++;
      }
      return sent;
    }
    const line = this.line();
    if (via === 'inband') return line.inband(digits, gapMs, signal);
    if (via === 'info') return line.info(digits, gapMs, signal);
    const start = this.clock.now();
    let sent = 0;
    for (let i = 0; i < digits.length; i++) {
      const due = start + i * gapMs - this.clock.now();
      if (due > 0) await this.sleep(due);
      if (this.ended) break;
      await line.rfc4733Key(digits[i], signal);
      sent++;
    }
    return sent;
  }

  private pressPlain(digit: string, via: 'rfc4733' | 'info'): boolean {
    if (digit.length !== 1 || !DTMF_KEYS.includes(digit)) throw new Error(`"${digit}" is not a DTMF key (${DTMF_KEYS})`);
    if (this.ended) return false;
    this.line().plain(digit, via);
    return true;
  }

  private line(): SimDtmfLine {
    return (this.dtmfLine ??= new SimDtmfLine({
      clock: this.clock,
      deliver: (d) => this.deliverDigit(d),
      note: (text) => this.annotate('sim', text),
      ended: () => this.ended,
    }));
  }

  /**
   * The caller speaks for `ms` of virtual time from now (what a recording picks up as voice). Resolves when the
   * speech ends, or early when the call ends (the speech is then cut there).
   */
  async speak(ms: number): Promise<void> {
    if (this.ended || ms <= 0) return;
    this.addSpeech(ms);
    await this.sleepWhileUp(ms);
  }

  /**
   * The caller sends a pure tone of `hz` for `ms` of virtual time from now: voice for a recording, and in a meeting
   * what the others hear (unless this caller is muted). Resolves when it ends, or early when the call ends.
   */
  async speakTone(hz: number, ms: number): Promise<void> {
    if (this.ended || ms <= 0) return;
    this.annotate('caller', `sends a ${hz} Hz tone for ${ms / 1000}s`);
    this.addSpeech(ms);
    this.voice = { hz, end: this.clock.now() + ms };
    this.conferences.speak(this.member, hz, ms);
    await this.sleepWhileUp(ms);
  }

  /**
   * Waits until a tone of `hz` (±2 %) is heard at some moment at or after `sinceMs` (one sounding already counts).
   * @returns the tone; `'timeout'` after `withinMs` of virtual time; `'ended'` when the call ends first
   */
  waitForTone(hz: number, sinceMs: number, withinMs: number): Promise<HeardTone | 'timeout' | 'ended'> {
    const fits = (t: HeardTone) => sameTone(t.hz, hz) && t.end > sinceMs;
    const already = this.heardTones.find(fits);
    if (already) return Promise.resolve(already);
    if (this.ended) return Promise.resolve('ended');
    return waitFor({
      setTimer: (fn: () => void, t: number) => this.clock.setTimeout(fn, t),
      clearTimer: (h: unknown) => this.clock.clearTimeout(h),
      withinMs,
      events: arrayListeners(this.toneObservers),
      match: (t: HeardTone) => (fits(t) ? t : undefined),
      ends: arrayListeners(this.endListeners),
    });
  }

  /** Resolves `in` once the IVR's bridge has taken the caller into a meeting (at once when it is in one). */
  waitForMeeting(withinMs: number): Promise<'in' | 'timeout' | 'ended'> {
    if (this.inMeeting) return Promise.resolve('in');
    if (this.ended) return Promise.resolve('ended');
    return waitFor({
      setTimer: (fn: () => void, t: number) => this.clock.setTimeout(fn, t),
      clearTimer: (h: unknown) => this.clock.clearTimeout(h),
      withinMs,
      events: arrayListeners(this.meetingObservers),
      match: () => 'in' as const,
      ends: arrayListeners(this.endListeners),
    });
  }

  /** The virtual clock now, ms since the epoch. */
  now(): number {
    return this.clock.now();
  }

  /** The caller hangs up (BYE from the caller); no-op when the call has ended. */
  callerHangup(): void {
    this.remoteHangup();
  }

}

/** Sample rate of recordings, Hz. */
export const RECORDING_SAMPLE_RATE = 8000;

/**
 * Builds an 8 kHz mono 16-bit PCM WAV of `durationMs`: the `speech` spans (ms from the start) as low-level
 * pseudo-random noise (deterministic), the rest as zeros.
 */
export function synthesizeWav(durationMs: number, speech: readonly SpeechSegment[]): Buffer {
  const perMs = RECORDING_SAMPLE_RATE / 1000;
  const pcm = new Int16Array(Math.round(durationMs * perMs));
  let seed = SPEECH_SEED;
  for (const s of speech) seed = fillSpeechNoise(pcm, seed, Math.round(s.start * perMs), Math.min(pcm.length, Math.round(s.end * perMs)));
  return encodeWav(pcm, RECORDING_SAMPLE_RATE);
}
