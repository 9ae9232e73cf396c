/**
 * IvrChannel: the IVR side of the {@link CallChannel} port, written once for every channel (the simulator's and the
 * RTP one). Subclasses supply the media: how a prompt plays (`startPrompt`), the caller's digits (`deliverDigit`),
 * voice (`speechStarted`/`speechEnded`, or whole spans), the recorded audio (`recordingWav`), answering and hanging
 * up (`onAnswer`, `onEnd`). Every prompt that starts is kept in a heard-log with its start time, id and text, and
 * everything that happens in an event log, so transcripts and tests can say what the caller heard.
 *
 * Semantics (the port's contract, made exact):
 * - play: the prompts start one after another, each at a known time. With `bargeIn` (default) a digit stops the
 *   prompt and is kept as type-ahead; when type-ahead is already waiting, a barge-in play is skipped entirely (the
 *   caller has answered already; the skip is logged, nothing is "heard"). Without `bargeIn` digits are kept as
 *   type-ahead and the prompts go on. `loop` starts again after the last prompt. Abort -> `stopped`, the call
 *   ending -> `hangup`.
 * - collect: `flush` empties the type-ahead buffer first. The prompts play (skipped when type-ahead is waiting; a
 *   digit stops them). Then the buffered digits are taken one at a time: a terminator ends with `terminator`
 *   (not included in `digits`), otherwise the digit is appended and `max` digits end with `max`; digits after the
 *   end stay buffered for the next operation. Then the clock runs: `firstDigitTimeoutMs` from the end of the prompts
 *   while nothing is collected, `interDigitTimeoutMs` from the last digit afterwards; expiry -> `timeout`.
 *   Abort -> `timeout` with the digits so far; the call ending -> `hangup` with the digits so far.
 * - record: the type-ahead buffer is consumed (a terminator in it ends the request at once; other digits are
 *   dropped). The prompts play, then the beep (`tone:beep`) when asked; a terminator during them ends the request
 *   with nothing recorded; other digits are ignored throughout. Recording ends on a terminator, after `silenceMs`
 *   of silence following the last speech (from the start of recording when nothing has been said), at `maxMs`, or
 *   when the call ends (`hangup`, audio kept). `durationMs` runs from the start of recording to the end of the last
 *   speech (trailing silence trimmed); `file` is null when nothing was said. Abort -> the audio so far, reason
 *   `silence`. A recording that cannot be written (the recordings folder cannot be created, is not a folder, is full;
 *   or the media server failed) rejects with VA_ERR_MEDIA_RECORDING: never a result naming a file that is not
 *   complete on disk, never an operation left pending.
 * - joinConference: resolves `hangup` when the call ends, `stopped` on abort; the subclass's bridge mixes the audio
 *   (`conferenceEnter`); `*6` mutes and unmutes, an organizer's `*8` admits the lobby (see the method).
 * - After either side ends the call every pending and later operation resolves at once with `hangup`.
 * - A new operation while one is pending stops the old one as an abort would (and notes it in the log).
 * - `onHangup` listeners are called synchronously when the caller hangs up, before the `hangup` results of pending
 *   operations reach their awaiting code (those settle as promises, a microtask later). A flow therefore learns of
 *   the hang-up first and never mistakes an operation's `hangup` result for input (an empty collect); a flow that
 *   must finish what it was doing (call answering keeps a message the caller ended by hanging up) handles the event
 *   in that state and then receives the operation's result.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { CallChannel, CancelSignal } from '../ports/call-channel';
import type { Clock, TimerHandle } from '../ports/clock';
import type { Locale } from '../domain/locale';
import type {
  CollectRequest,
  CollectResult,
  ConferenceOptions,
  ConferenceResult,
  ConferenceRole,
  PlayRequest,
  PlayResult,
  PromptItem,
  RecordRequest,
  RecordResult,
  ToneId,
} from '../flow-kit/media-types';
import { PromptCatalog, type RenderedPrompt } from '../prompts/catalog';
import { ErrorCodes, isVaError, VaError } from '../errors';
import { writeFileAtomic } from '../util/atomic-file';
import { arrayListeners, waitFor } from './wait-for';

/** Keys a caller can press. */
export const DTMF_KEYS = '0123456789*#ABCD';

/** In a meeting, how long after `*` the command key may come, ms (then the `*` is forgotten). */
export const CONFERENCE_COMMAND_MS = 3000;

/** The IVR operation a prompt belonged to. */
export type OperationKind = 'play' | 'collect' | 'record' | 'conference';

/** A prompt the caller heard start. */
export interface HeardPrompt {
  /** Position in the heard-log. */
  index: number;
  /** When it started, clock ms since the epoch. */
  at: number;
  /** Catalog id, `tone:beep` / `tone:music-on-hold`, or null for a recording. */
  id: string | null;
  text: string;
  file: string;
  durationMs: number;
  op: OperationKind;
  /** Set when it was cut short: how much was heard, ms, and why. */
  heardMs?: number;
  stoppedBy?: 'barge-in' | 'stopped' | 'hangup' | 'terminator';
}

/** Everything that happened on the channel, in order, with clock times (ms since the epoch). */
export type ChannelEvent =
  | { at: number; type: 'answer' }
  | { at: number; type: 'prompt'; prompt: HeardPrompt }
  | { at: number; type: 'skipped'; op: OperationKind; ids: (string | null)[] }
  | { at: number; type: 'dtmf'; digit: string }
  | { at: number; type: 'speech'; durationMs: number }
  | { at: number; type: 'collected'; result: CollectResult; secret: boolean }
  | { at: number; type: 'record-start'; purpose: string }
  | { at: number; type: 'recorded'; result: RecordResult }
  | { at: number; type: 'conference'; room: string; role: ConferenceRole }
  | { at: number; type: 'hangup'; by: 'caller' | 'ivr'; cause?: string }
  | { at: number; type: 'note'; text: string; who?: 'caller' | 'sim' | 'flow' };


/** A span of the caller's voice, clock ms (absolute in the channel, from the recording's start in `recordingWav`). */
export interface SpeechSegment {
  start: number;
  end: number;
}


/** A recording a media server makes (see {@link IvrChannel.startMediaServerRecording}). */
export interface MediaServerRecording {
  /**
   * Stops the recording if it is still going and settles the file: the caller's audio up to the end of the last
   * speech, complete on disk at the requested `file` (temporary name, fsync, rename) before this resolves.
   * @returns the file and its duration (ms), or null when the caller said nothing (no file is left)
   * @throws VaError VA_ERR_MEDIA_RECORDING when the media server could not write the recording
   */
  finish(): Promise<{ file: string; durationMs: number } | null>;
}

/** A pending operation: its handlers, timers and the one-shot finish. */
export class Operation<T> {
  done = false;
  private readonly timers = new Set<TimerHandle>();
  onDigit: (digit: string) => void = () => {};
  onCallEnd: () => void = () => {};
  onAbort: () => void = () => {};
  onSpeech: () => void = () => {};
  /** Run once at finish: stops media the operation started (a prompt still playing). */
  readonly cleanups: (() => void)[] = [];
  /** Set by the channel: settles the promise and detaches the operation. */
  settle: (result: T) => void = () => {};
  /** Set by the channel: rejects the promise and detaches the operation. */
  settleError: (err: unknown) => void = () => {};

  constructor(
    readonly kind: OperationKind,
    private readonly clock: Clock,
  ) {}

  finish(result: T): void {
    if (this.close()) this.settle(result);
  }

  /** Ends the operation with an error (a recording could not be written): its promise rejects. */
  fail(err: unknown): void {
    if (this.close()) this.settleError(err);
  }

  /** Marks it done, clears its timers and runs its cleanups; false when it was done already. */
  private close(): boolean {
    if (this.done) return false;
    this.done = true;
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    for (const c of this.cleanups.splice(0)) c();
    return true;
  }

  timer(fn: () => void, ms: number): TimerHandle {
    const h = this.clock.setTimeout(() => {
      this.timers.delete(h);
      if (!this.done) fn();
    }, ms);
    this.timers.add(h);
    return h;
  }

  cancel(h: TimerHandle | undefined): void {
    if (h === undefined) return;
    this.clock.clearTimeout(h);
    this.timers.delete(h);
  }
}


/** A running sequence of prompts. */
interface Playback {
  stop(why: NonNullable<HeardPrompt['stoppedBy']>): void;
}

/** What every IvrChannel needs. */
export interface IvrChannelOptions {
  callId: string;
  /** The clock every prompt, timeout and recording runs on (a VirtualClock in the simulator). */
  clock: Clock;
  /** Renders prompt items; the repository's catalog when undefined. */
  catalog?: PromptCatalog;
  /** Where recordings are written (created on first use). */
  recordingsDir: string;
}

export abstract class IvrChannel implements CallChannel {
  readonly callId: string;
  protected readonly clock: Clock;
  protected readonly catalog: PromptCatalog;
  private readonly recordingsDir: string;

  private _ended = false;
  private _endedBy: 'caller' | 'ivr' | null = null;
  private _endedAt: number | null = null;
  private _answered = false;
  private typeAhead: string[] = [];
  private active: Operation<unknown> | null = null;
  /** Is the IVR collecting a secret (a PIN) right now? Transcripts then mask what the caller presses. */
  private secretCollect = false;
  /** The caller's voice, as spans of the clock's time; `end` is Infinity while the caller is still talking. */
  protected readonly speech: SpeechSegment[] = [];
  private recordings = 0;

  private readonly hangupListeners: (() => void)[] = [];
  private readonly dtmfListeners: ((digit: string) => void)[] = [];
  private readonly promptObservers: ((p: HeardPrompt) => void)[] = [];
  private readonly recordObservers: (() => void)[] = [];
  /** Heard-log length when each recording started. */
  private readonly recordingMarks: number[] = [];
  private readonly endObservers: (() => void)[] = [];

  /** Every prompt that started, in order. */
  readonly heard: HeardPrompt[] = [];
  /** Everything that happened, in order. */
  readonly events: ChannelEvent[] = [];

  constructor(options: IvrChannelOptions) {
    this.callId = options.callId;
    this.clock = options.clock;
    this.catalog = options.catalog ?? PromptCatalog.load();
    this.recordingsDir = options.recordingsDir;
  }

  // ================================================================== media hooks (subclasses)

  /**
   * Starts playing one prompt to the caller; `onEnd` is called when it has played to its end.
   * @returns a function that stops it at once (after which `onEnd` must not be called)
   */
  protected abstract startPrompt(prompt: RenderedPrompt, onEnd: () => void): () => void;

  /**
   * The WAV bytes of a finished recording: `durationMs` from the start of recording, with the caller's voice in the
   * `speech` spans (ms from the start). Called only when there was speech.
   */
  protected abstract recordingWav(durationMs: number, speech: readonly SpeechSegment[]): Buffer;

  /** Called when recording starts (after the prompts and the beep): a live channel starts capturing audio. */
  protected onRecordingStart(): void {}

  /** Called when recording ends, before `recordingWav` (which is called only when there was speech). */
  protected onRecordingEnd(): void {}

  /**
   * A channel whose media server records the caller itself (FreeSWITCH: it hears the audio, detects the silence and
   * writes the file) starts that recording here and returns it; the default, null, records from the channel's own
   * audio and `speech` spans (`onRecordingStart`, `recordingWav`). The IVR's rules stay this class's: the beep,
   * terminators, `maxMs` on the channel's clock; the media server ends the recording itself only for silence
   * (`onSilence`).
   * @param request `maxMs` and `silenceMs` of the record request (ms); `file`, where the finished WAV must end up
   */
  protected startMediaServerRecording(_request: { maxMs: number; silenceMs: number; file: string }, _onSilence: () => void): MediaServerRecording | null {
    return null;
  }

  /** Called by `answer()` before the answer is logged: a SIP channel sends its 200 OK. */
  protected async onAnswer(): Promise<void> {}

  /** Called once when the call ends from either side: a SIP channel sends BYE when `by` is `ivr` and frees media. */
  protected onEnd(_by: 'caller' | 'ivr', _cause?: string): void {}

  /**
   * The caller enters a conference room's audio (a live channel puts its RTP into the room's bridge; the simulator
   * into its simulated room). With `entryExitTones` the others hear `tone:conf-join` now and `tone:conf-leave` at
   * {@link IvrChannel.conferenceLeave}. Default: nothing (no audio).
   */
  protected conferenceEnter(_room: string, _role: ConferenceRole, _opts: { entryExitTones: boolean; locale: Locale }): void {}

  /**
   * While a prompt to this caller alone plays in a meeting (`*6`'s confirmation, a lobby notice): when it ends, clock
   * ms since the epoch (0 when none). The prompt replaces the meeting's audio for this caller meanwhile.
   */
  protected conferencePromptUntil = 0;

  /** The caller leaves the room's audio (the call ended, or the flow stopped the conference). Idempotent. */
  protected conferenceLeave(): void {}

  /** The caller is muted (not heard by the others) or unmuted. */
  protected conferenceMute(_muted: boolean): void {}

  /**
   * A sound the whole room hears started (an entry or exit tone): logged in the heard-log as a prompt of the
   * conference operation, so transcripts and scenarios see it (`expectPrompt: tone:conf-join`) — unless a prompt to
   * this caller alone is playing (`conf-muted`, a lobby notice): it replaces the meeting's audio, so the tone is lost.
   * @param id the tone's prompt id (`tone:conf-join`, `tone:conf-leave`)
   */
  protected heardRoomSound(id: string): void {
    if (this._ended) return;
    if (this.clock.now() < this.conferencePromptUntil) {
      // A prompt to this caller replaces the meeting's audio while it plays: the tone is not heard.
      this.log({ at: this.clock.now(), type: 'note', text: `${id} not heard: a prompt is playing`, who: 'sim' });
      return;
    }
    const p = this.catalog.render([{ tone: id.replace(/^tone:/, '') as ToneId }], 'en-US')[0];
    const now = this.clock.now();
    const heard: HeardPrompt = { index: this.heard.length, at: now, id: p.id, text: p.text, file: p.file, durationMs: p.durationMs, op: 'conference' };
    this.heard.push(heard);
    this.log({ at: now, type: 'prompt', prompt: heard });
    for (const o of this.promptObservers.slice()) o(heard);
  }

  // ================================================================== input from the media (subclasses)

  /** A key the caller pressed (after de-duplication across DTMF transports). Ignored once the call has ended. */
  protected deliverDigit(digit: string): void {
    if (this._ended) return;
    this.log({ at: this.clock.now(), type: 'dtmf', digit });
    for (const l of this.dtmfListeners) l(digit);
    if (this.active) this.active.onDigit(digit);
    else this.typeAhead.push(digit);
  }

  /** Adds a finished span of the caller's voice, [now, now + ms) (the simulator's scripted speech). */
  protected addSpeech(ms: number): void {
    const now = this.clock.now();
    const last = this.speech[this.speech.length - 1];
    if (last && last.end >= now) last.end = Math.max(last.end, now + ms);
    else this.speech.push({ start: now, end: now + ms });
    this.log({ at: now, type: 'speech', durationMs: ms });
    this.active?.onSpeech();
  }

  /** The caller started talking (a live channel's voice detector). */
  protected speechStarted(): void {
    if (this._ended) return;
    const last = this.speech[this.speech.length - 1];
    if (last && last.end === Infinity) return;
    this.speech.push({ start: this.clock.now(), end: Infinity });
    this.active?.onSpeech();
  }

  /** The caller stopped talking (a live channel's voice detector). */
  protected speechEnded(): void {
    const last = this.speech[this.speech.length - 1];
    if (!last || last.end !== Infinity) return;
    last.end = this.clock.now();
    this.log({ at: last.end, type: 'speech', durationMs: last.end - last.start });
    this.active?.onSpeech();
  }

  /**
   * The caller hung up (BYE): pending operations resolve `hangup` and the `onHangup` listeners are called at once,
   * before those results reach the code awaiting them.
   */
  protected remoteHangup(): void {
    if (this._ended) return;
    this.end('caller');
    for (const l of this.hangupListeners.slice()) l();
  }

  // ================================================================== IVR side (CallChannel)

  get ended(): boolean {
    return this._ended;
  }

  /** Answers the call; a no-op when answered or ended. */
  async answer(): Promise<void> {
    if (this._answered || this._ended) return;
    this._answered = true;
    await this.onAnswer();
    this.log({ at: this.clock.now(), type: 'answer' });
  }

  /** Plays prompts to the caller (see the module comment for barge-in and type-ahead). */
  async play(request: PlayRequest, signal?: CancelSignal): Promise<PlayResult> {
    const prompts = this.catalog.render(request.prompts, request.locale);
    const bargeIn = request.bargeIn ?? true;
    return this.begin<PlayResult>('play', signal, { reason: 'hangup' }, { reason: 'stopped' }, (op) => {
      if (bargeIn && this.typeAhead.length > 0 && prompts.length > 0) {
        this.log({ at: this.clock.now(), type: 'skipped', op: 'play', ids: prompts.map((p) => p.id) });
        op.finish({ reason: 'barge-in' });
        return;
      }
      let playback: Playback | null = null;
      op.onDigit = (d) => {
        this.typeAhead.push(d);
        if (bargeIn) {
          playback?.stop('barge-in');
          op.finish({ reason: 'barge-in' });
        }
      };
      op.onCallEnd = () => {
        playback?.stop('hangup');
        op.finish({ reason: 'hangup' });
      };
      op.onAbort = () => {
        playback?.stop('stopped');
        op.finish({ reason: 'stopped' });
      };
      playback = this.startPlayback(op, prompts, request.loop === true, () => op.finish({ reason: 'done' }));
    });
  }

  /** Plays optional prompts, then collects digits (see the module comment for the exact rules). */
  async collect(request: CollectRequest, signal?: CancelSignal): Promise<CollectResult> {
    const prompts = this.catalog.render(request.prompts, request.locale);
    if (request.flush) this.typeAhead = [];
    const terminators = request.terminators ?? '';
    let digits = '';
    this.secretCollect = request.secret === true;
    const result = await this.begin<CollectResult>(
      'collect',
      signal,
      { digits: '', reason: 'hangup' },
      { digits: '', reason: 'timeout' },
      (op) => {
        let phase: 'prompts' | 'digits' = 'prompts';
        let playback: Playback | null = null;
        let timer: TimerHandle | undefined;
        /** Takes one digit; true when that ended the collect. */
        const take = (d: string): boolean => {
          if (terminators.includes(d)) {
            op.finish({ digits, reason: 'terminator', terminator: d });
            return true;
          }
          digits += d;
          if (request.max > 0 && digits.length >= request.max) {
            op.finish({ digits, reason: 'max' });
            return true;
          }
          return false;
        };
        const arm = () => {
          op.cancel(timer);
          timer = op.timer(() => op.finish({ digits, reason: 'timeout' }), digits === '' ? request.firstDigitTimeoutMs : request.interDigitTimeoutMs);
        };
        const startDigits = () => {
          phase = 'digits';
          while (this.typeAhead.length > 0) if (take(this.typeAhead.shift()!)) return;
          arm();
        };
        op.onDigit = (d) => {
          if (phase === 'prompts') {
            playback?.stop('barge-in');
            this.typeAhead.push(d);
            startDigits();
          } else if (!take(d)) arm();
        };
        op.onCallEnd = () => {
          playback?.stop('hangup');
          op.finish({ digits, reason: 'hangup' });
        };
        op.onAbort = () => {
          playback?.stop('stopped');
          op.finish({ digits, reason: 'timeout' });
        };
        if (prompts.length > 0 && this.typeAhead.length > 0) {
          this.log({ at: this.clock.now(), type: 'skipped', op: 'collect', ids: prompts.map((p) => p.id) });
          startDigits();
        } else if (prompts.length > 0) {
          playback = this.startPlayback(op, prompts, false, startDigits);
        } else {
          startDigits();
        }
      },
    );
    this.secretCollect = false;
    this.log({ at: this.clock.now(), type: 'collected', result, secret: request.secret === true });
    return result;
  }

  /** Plays prompts and a beep, then records the caller (see the module comment for the exact rules). */
  async record(request: RecordRequest, signal?: CancelSignal): Promise<RecordResult> {
    const prompts = this.catalog.render(request.beep ? [...request.prompts, { tone: 'beep' }] : request.prompts, request.locale);
    const terminators = request.terminators ?? '';
    const nothing = (reason: RecordResult['reason'], terminator?: string): RecordResult =>
      terminator === undefined ? { file: null, durationMs: 0, heardSpeech: false, reason } : { file: null, durationMs: 0, heardSpeech: false, reason, terminator };
    const result = await this.begin<RecordResult>('record', signal, nothing('hangup'), nothing('silence'), (op) => {
      // Type-ahead: a terminator already typed ends the request (e.g. `*` to skip); other keys are dropped.
      const buffered = this.typeAhead;
      this.typeAhead = [];
      const early = buffered.find((d) => terminators.includes(d));
      if (early !== undefined) {
        const rest = buffered.slice(buffered.indexOf(early) + 1);
        this.typeAhead = rest;
        if (prompts.length > 0) this.log({ at: this.clock.now(), type: 'skipped', op: 'record', ids: prompts.map((p) => p.id) });
        op.finish(nothing('terminator', early));
        return;
      }
      let phase: 'prompts' | 'recording' = 'prompts';
      let playback: Playback | null = null;
      let t0 = 0;
      let silenceTimer: TimerHandle | undefined;
      let silenceAt = -1;
      const lastSpeechEnd = () => (this.speech.length > 0 ? this.speech[this.speech.length - 1].end : -Infinity);
      const armSilence = () => {
        if (lastSpeechEnd() === Infinity) {
          // The caller is talking (a live channel's voice detector has not seen the end yet): no silence timer.
          op.cancel(silenceTimer);
          silenceTimer = undefined;
          silenceAt = -1;
          return;
        }
        const due = Math.max(t0, lastSpeechEnd()) + request.silenceMs;
        if (due === silenceAt) return;
        op.cancel(silenceTimer);
        silenceAt = due;
        silenceTimer = op.timer(() => {
          silenceTimer = undefined;
          silenceAt = -1;
          if (this.clock.now() >= Math.max(t0, lastSpeechEnd()) + request.silenceMs) stopRecording('silence');
          else armSilence();
        }, due - this.clock.now());
      };
      let external: MediaServerRecording | null = null;
      let settling = false;
      const stopRecording = (reason: RecordResult['reason'], terminator?: string) => {
        if (!external) {
          // A recording that cannot be written fails the operation (VA_ERR_MEDIA_RECORDING), as a media server's does:
          // never a result without its file, never an operation left pending.
          let recorded: RecordResult;
          try {
            recorded = this.finishRecording(request.purpose, t0, this.clock.now(), reason, terminator);
          } catch (err) {
            return op.fail(recordingError(err));
          }
          return op.finish(recorded);
        }
        if (settling) return;
        settling = true;
        const base = terminator === undefined ? { reason } : { reason, terminator };
        external.finish().then(
          (r) => op.finish(r ? { file: r.file, durationMs: r.durationMs, heardSpeech: true, ...base } : { file: null, durationMs: 0, heardSpeech: false, ...base }),
          (err: unknown) => op.fail(recordingError(err)),
        );
      };
      const startRecording = () => {
        phase = 'recording';
        t0 = this.clock.now();
        let file: string;
        try {
          file = this.newRecordingFile(request.purpose);
        } catch (err) {
          op.fail(recordingError(err));
          return;
        }
        external = this.startMediaServerRecording({ maxMs: request.maxMs, silenceMs: request.silenceMs, file }, () => stopRecording('silence'));
        if (!external) this.onRecordingStart();
        this.log({ at: t0, type: 'record-start', purpose: request.purpose });
        this.recordingMarks.push(this.heard.length);
        for (const o of this.recordObservers.slice()) o();
        op.timer(() => stopRecording('max'), request.maxMs);
        if (external) return;
        op.onSpeech = armSilence;
        armSilence();
      };
      op.onDigit = (d) => {
        if (!terminators.includes(d)) return;
        if (phase === 'recording') stopRecording('terminator', d);
        else {
          playback?.stop('terminator');
          op.finish(nothing('terminator', d));
        }
      };
      op.onCallEnd = () => {
        if (phase === 'recording') stopRecording('hangup');
        else {
          playback?.stop('hangup');
          op.finish(nothing('hangup'));
        }
      };
      op.onAbort = () => {
        if (phase === 'recording') stopRecording('silence');
        else {
          playback?.stop('stopped');
          op.finish(nothing('silence'));
        }
      };
      playback = this.startPlayback(op, prompts, false, startRecording);
    }).catch((err: unknown) => {
      this.log({ at: this.clock.now(), type: 'note', text: `recording failed: ${isVaError(err) ? err.code : 'error'}` });
      throw err;
    });
    this.log({ at: this.clock.now(), type: 'recorded', result });
    return result;
  }

  /**
   * Joins a conference room (the subclass's bridge mixes the audio: {@link IvrChannel.conferenceEnter}); resolves
   * `hangup` when the call ends, `stopped` on abort. Digits are not kept. In-meeting commands (Skype for Business
   * dial-in keys, [SFB-DTMF]; `*` then the key within {@link CONFERENCE_COMMAND_MS}):
   * - `*6` mutes, and again unmutes, the caller (`conf-muted` / `conf-unmuted` is played to the caller alone);
   * - `*8` (organizers: `options.admitLobby`) admits everyone in the lobby (`conf-lobby-admitted`, or
   *   `conf-lobby-empty` when nobody waits); from a participant it is not a valid choice (`invalid-choice`);
   * - any other key after `*` is not a valid choice; keys without `*` are ignored.
   * With `options.onLobbyArrival` the caller hears `conf-lobby-waiting` when someone starts waiting in the lobby.
   * A prompt to the caller stops the one still playing, and is heard instead of the meeting while it plays (voices,
   * entry and exit tones: see {@link IvrChannel.heardRoomSound}).
   */
  async joinConference(room: string, role: ConferenceRole, signal?: CancelSignal, options: ConferenceOptions = {}): Promise<ConferenceResult> {
    return this.begin<ConferenceResult>('conference', signal, { reason: 'hangup' }, { reason: 'stopped' }, (op) => {
      this.log({ at: this.clock.now(), type: 'conference', room, role });
      const locale = options.locale ?? 'en-US';
      let muted = false;
      let star = false;
      let starTimer: TimerHandle | undefined;
      let notice: Playback | null = null;
      const say = (ids: PromptItem[]) => {
        notice?.stop('stopped');
        const prompts = this.catalog.render(ids, locale);
        this.conferencePromptUntil = this.clock.now() + PromptCatalog.durationOf(prompts);
        const pb = this.startPlayback(op, prompts, false, () => {
          if (notice === pb) notice = null;
        });
        notice = pb;
      };
      op.cleanups.push(() => {
        notice?.stop('stopped');
        this.conferencePromptUntil = 0;
      });
      op.onDigit = (d) => {
        if (d === '*') {
          star = true;
          op.cancel(starTimer);
          starTimer = op.timer(() => (star = false), CONFERENCE_COMMAND_MS);
          return;
        }
        if (!star) return;
        star = false;
        op.cancel(starTimer);
        if (d === '6') {
          muted = !muted;
          this.conferenceMute(muted);
          this.log({ at: this.clock.now(), type: 'note', text: muted ? 'muted (*6)' : 'unmuted (*6)', who: 'flow' });
          say([muted ? 'conf-muted' : 'conf-unmuted']);
        } else if (d === '8' && options.admitLobby) {
          const n = options.admitLobby();
          this.log({ at: this.clock.now(), type: 'note', text: `admits the lobby (*8): ${n} caller${n === 1 ? '' : 's'}`, who: 'flow' });
          say([n > 0 ? 'conf-lobby-admitted' : 'conf-lobby-empty']);
        } else say(['invalid-choice']);
      };
      op.cleanups.push(() => this.conferenceLeave());
      op.onCallEnd = () => op.finish({ reason: 'hangup' });
      op.onAbort = () => op.finish({ reason: 'stopped' });
      // In the room first: a lobby notice that fires at once is then a prompt to a member (heard instead of the mix).
      this.conferenceEnter(room, role, { entryExitTones: options.entryExitTones ?? true, locale });
      const stopNotices = options.onLobbyArrival?.(() => say(['conf-lobby-waiting']));
      if (stopNotices) op.cleanups.push(stopNotices);
    });
  }

  /** Ends the call from the IVR side; idempotent. A pending operation resolves with `hangup`. */
  async hangup(cause?: string): Promise<void> {
    if (this._ended) return;
    this.end('ivr', cause);
  }

  /** Registers a listener for the caller hanging up (called once, synchronously, at the hang-up). */
  onHangup(listener: () => void): void {
    this.hangupListeners.push(listener);
  }

  /** Registers a listener for every digit the caller presses. */
  onDtmf(listener: (digit: string) => void): void {
    this.dtmfListeners.push(listener);
  }

  // ================================================================== observation (transcripts, scripted callers, tests)

  /** Who ended the call, or null while it is up. */
  get endedBy(): 'caller' | 'ivr' | null {
    return this._endedBy;
  }

  /** When the call ended (clock ms since the epoch), or null. */
  get endedAt(): number | null {
    return this._endedAt;
  }

  /** Has the IVR answered? */
  get answered(): boolean {
    return this._answered;
  }

  /** Is an IVR operation pending (the IVR is waiting on the caller or the clock)? */
  /** True while the IVR collects a secret (a PIN or leader PIN). */
  get collectingSecret(): boolean {
    return this.secretCollect && this.active !== null;
  }

  get hasPendingOperation(): boolean {
    return this.active !== null;
  }

  /** Digits typed but not yet taken by an operation. */
  get bufferedDigits(): string {
    return this.typeAhead.join('');
  }

  /** Calls `listener` whenever a prompt starts. */
  onPromptStarted(listener: (p: HeardPrompt) => void): void {
    this.promptObservers.push(listener);
  }

  /** Calls `listener` once when the call ends, from either side (synchronously). */
  onEnded(listener: () => void): void {
    if (this._ended) listener();
    else this.endObservers.push(listener);
  }

  /** Adds a line to the event log (a scripted caller's actions and findings), at the current clock time. */
  annotate(who: 'caller' | 'sim' | 'flow', text: string): void {
    this.log({ at: this.clock.now(), type: 'note', text, who });
  }

  /** Waits `ms` of the channel's clock. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }

  /** Waits `ms` of the channel's clock, or less when the call ends first. */
  sleepWhileUp(ms: number): Promise<void> {
    if (this._ended) return Promise.resolve();
    return new Promise((resolve) => {
      const onEnd = () => {
        this.clock.clearTimeout(h);
        resolve();
      };
      const h = this.clock.setTimeout(() => {
        this.removeObserver(this.endObservers, onEnd);
        resolve();
      }, ms);
      this.endObservers.push(onEnd);
    });
  }

  /**
   * Waits until a prompt with `id` starts at heard-log position `from` or later (one that started already counts).
   * @param id prompt id (`tone:beep` for the beep); @param from first heard-log index to consider
   * @param withinMs clock ms to wait at most
   * @returns the matching prompt; `'timeout'` when none started in time; `'ended'` when the call ended first
   */
  waitForPrompt(id: string, from: number, withinMs: number): Promise<HeardPrompt | 'timeout' | 'ended'> {
    for (let i = from; i < this.heard.length; i++) if (this.heard[i].id === id) return Promise.resolve(this.heard[i]);
    if (this._ended) return Promise.resolve('ended');
    return waitFor({
      setTimer: this.setTimer,
      clearTimer: this.clearTimer,
      withinMs,
      events: arrayListeners(this.promptObservers),
      match: (p: HeardPrompt) => (p.id === id ? p : undefined),
      ends: arrayListeners(this.endObservers),
    });
  }

  /** How many recordings have started (after their prompts and beep). */
  get recordingsStarted(): number {
    return this.recordingMarks.length;
  }

  /** The heard-log length when recording number `n` (from 0) started: the index of the first prompt after it. */
  heardIndexAtRecording(n: number): number {
    return this.recordingMarks[n];
  }

  /**
   * Waits until recording number `from + 1` starts (one that started already counts).
   * @param from how many recordings the caller has already seen; @param withinMs clock ms to wait at most
   * @returns the number of recordings started; `'timeout'`; or `'ended'` when the call ended first
   */
  waitForRecording(from: number, withinMs: number): Promise<number | 'timeout' | 'ended'> {
    if (this.recordingMarks.length > from) return Promise.resolve(this.recordingMarks.length);
    if (this._ended) return Promise.resolve('ended');
    return waitFor({
      setTimer: this.setTimer,
      clearTimer: this.clearTimer,
      withinMs,
      events: arrayListeners(this.recordObservers),
      match: () => this.recordingMarks.length,
      ends: arrayListeners(this.endObservers),
    });
  }

  /**
   * Waits until the call ends.
   * @param withinMs clock ms to wait at most
   * @returns who ended it, or `'timeout'`
   */
  waitForEnd(withinMs: number): Promise<'caller' | 'ivr' | 'timeout'> {
    if (this._ended) return Promise.resolve(this._endedBy!);
    return waitFor({
      setTimer: this.setTimer,
      clearTimer: this.clearTimer,
      withinMs,
      events: arrayListeners(this.endObservers),
      match: () => this._endedBy!,
    }) as Promise<'caller' | 'ivr' | 'timeout'>;
  }

  /** The channel's clock as {@link waitFor} takes it (options are written out, not spread: see `flow-kit/ivr.ts`). */
  private readonly setTimer = (fn: () => void, ms: number) => this.clock.setTimeout(fn, ms);
  private readonly clearTimer = (h: unknown) => this.clock.clearTimeout(h);

  // ================================================================== internals

  protected log(e: ChannelEvent): void {
    this.events.push(e);
  }

  protected removeObserver<F>(list: F[], f: F): void {
    const i = list.indexOf(f);
    if (i >= 0) list.splice(i, 1);
  }

  protected end(by: 'caller' | 'ivr', cause?: string): void {
    const now = this.clock.now();
    this._ended = true;
    this._endedBy = by;
    this._endedAt = now;
    for (const s of this.speech) if (s.end > now) s.end = Math.max(s.start, now);
    this.onEnd(by, cause);
    this.log(cause === undefined ? { at: now, type: 'hangup', by } : { at: now, type: 'hangup', by, cause });
    this.active?.onCallEnd();
    const observers = this.endObservers.splice(0);
    for (const o of observers) o();
  }

  /**
   * Starts an operation: answers at once when the call has ended (`whenEnded`) or `signal` is already aborted
   * (`whenAborted`), stops a still-pending operation, wires the abort signal, and runs `start`.
   */
  private begin<T>(kind: OperationKind, signal: CancelSignal | undefined, whenEnded: T, whenAborted: T, start: (op: Operation<T>) => void): Promise<T> {
    if (this._ended) return Promise.resolve(whenEnded);
    if (signal?.aborted) return Promise.resolve(whenAborted);
    if (this.active) {
      const old = this.active;
      this.log({ at: this.clock.now(), type: 'note', text: `${kind} started while ${old.kind} was pending: ${old.kind} stopped` });
      old.onAbort();
    }
    return new Promise<T>((resolve, reject) => {
      const op = new Operation<T>(kind, this.clock);
      const onAbort = () => op.onAbort();
      op.settle = (r) => {
        signal?.removeEventListener('abort', onAbort);
        if (this.active === op) this.active = null;
        resolve(r);
      };
      op.settleError = (err) => {
        signal?.removeEventListener('abort', onAbort);
        if (this.active === op) this.active = null;
        reject(err);
      };
      this.active = op as Operation<unknown>;
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        start(op);
      } catch (err) {
        op.settle = () => {};
        op.finish(undefined as T); // clears its timers
        signal?.removeEventListener('abort', onAbort);
        if (this.active === op) this.active = null;
        reject(err);
      }
    });
  }

  /** Plays `prompts` in order on the clock (logging each as it starts); `onDone` after the last (unless looping). */
  private startPlayback<T>(op: Operation<T>, prompts: RenderedPrompt[], loop: boolean, onDone: () => void): Playback {
    let i = 0;
    let current: HeardPrompt | null = null;
    let stopPrompt: (() => void) | undefined;
    let stopped = false;
    const total = PromptCatalog.durationOf(prompts);
    const halt = () => {
      const s = stopPrompt;
      stopPrompt = undefined;
      s?.();
    };
    op.cleanups.push(halt);
    const next = () => {
      if (stopped || op.done) return;
      if (i >= prompts.length) {
        if (loop && total > 0) i = 0;
        else {
          current = null;
          if (!loop) onDone();
          return;
        }
      }
      const p = prompts[i++];
      const now = this.clock.now();
      current = { index: this.heard.length, at: now, id: p.id, text: p.text, file: p.file, durationMs: p.durationMs, op: op.kind };
      this.heard.push(current);
      this.log({ at: now, type: 'prompt', prompt: current });
      for (const o of this.promptObservers.slice()) o(current);
      if (stopped || op.done) return;
      stopPrompt = this.startPrompt(p, () => {
        stopPrompt = undefined;
        next();
      });
    };
    next();
    return {
      stop: (why) => {
        if (stopped) return;
        stopped = true;
        halt();
        if (current) {
          const heardMs = this.clock.now() - current.at;
          if (heardMs < current.durationMs) {
            current.heardMs = heardMs;
            current.stoppedBy = why;
          }
        }
      },
    };
  }

  /**
   * Ends a recording at `tEnd`: measures the speech in [t0, tEnd], writes the WAV when there was any (temporary file,
   * fsync, rename: complete on disk before the result exists).
   * @throws VaError VA_ERR_MEDIA_RECORDING when the recordings folder cannot be created or the file cannot be written
   */
  private finishRecording(purpose: string, t0: number, tEnd: number, reason: RecordResult['reason'], terminator?: string): RecordResult {
    this.onRecordingEnd();
    const parts: SpeechSegment[] = [];
    for (const s of this.speech) {
      const start = Math.max(s.start, t0);
      const end = Math.min(s.end, tEnd);
      if (end > start) parts.push({ start: start - t0, end: end - t0 });
    }
    const base = terminator === undefined ? { reason } : { reason, terminator };
    if (parts.length === 0) return { file: null, durationMs: 0, heardSpeech: false, ...base };
    const durationMs = parts[parts.length - 1].end;
    const file = this.newRecordingFile(purpose);
    try {
      writeFileAtomic(file, this.recordingWav(durationMs, parts));
    } catch (err) {
      throw new VaError(ErrorCodes.MEDIA_RECORDING, `cannot write the recording ${path.basename(file)} into ${this.recordingsDir} (${osReason(err)})`, { cause: err });
    }
    return { file, durationMs, heardSpeech: true, ...base };
  }

  /**
   * A new file name in the recordings folder (created when missing) for a recording of this call.
   * @throws VaError VA_ERR_MEDIA_RECORDING when the folder cannot be created (e.g. a file is in the way)
   */
  private newRecordingFile(purpose: string): string {
    try {
      mkdirSync(this.recordingsDir, { recursive: true });
    } catch (err) {
      throw new VaError(ErrorCodes.MEDIA_RECORDING, `cannot create the recordings folder ${this.recordingsDir} (${osReason(err)})`, { cause: err });
    }
    const safeId = this.callId.replace(/[^A-Za-z0-9_.-]/g, '_');
    return path.join(this.recordingsDir, `${safeId}-${purpose}-${++this.recordings}-${randomUUID().slice(0, 8)}.wav`);
  }
}

/** `err` as a VA_ERR_MEDIA_RECORDING error (kept as it is when it is one already). */
function recordingError(err: unknown): VaError {
  if (isVaError(err, ErrorCodes.MEDIA_RECORDING)) return err;
  return new VaError(ErrorCodes.MEDIA_RECORDING, `the recording could not be written (${osReason(err)})`, { cause: err });
}

/** An fs error's code (`ENOSPC`, `EEXIST`), else its message: the cause keeps the rest (pino logs it too). */
function osReason(err: unknown): string {
  return (err as NodeJS.ErrnoException | null)?.code ?? (err instanceof Error ? err.message : String(err));
}
