/**
 * IvrChannel: the IVR side of the {@link CallChannel} port, written once for every channel (the simulator's, the
 * RTP one and the FreeSWITCH one). Subclasses supply the media: how a prompt plays (`startPrompt`), the caller's
 * digits (`deliverDigit`), voice (`speechStarted`/`speechEnded`, or whole spans), the recorded audio
 * (`recordingWav`, or a media server's own recording), answering and hanging up (`onAnswer`, `onEnd`). Every prompt
 * that starts is kept in a heard-log with its start time, id and text, and everything that happens in an event log
 * (`channel-journal.ts`), so transcripts and tests can say what the caller heard.
 *
 * Semantics (the port's contract, made exact). Each operation is a pending {@link Operation} (`operation.ts`), and
 * its rules are in its own file: play (`play-operation.ts`), collect (`collect-operation.ts`), record
 * (`record-operation.ts`, writing through `recording-writer.ts`), joinConference (`conference-operation.ts`). For all:
 * - Digits typed during a prompt barge in and are kept as type-ahead for the next operation.
 * - After either side ends the call every pending and later operation resolves at once with `hangup`.
 * - A new operation while one is pending stops the old one as an abort would (and notes it in the log).
 * - `onHangup` listeners are called synchronously when the caller hangs up, before the `hangup` results of pending
 *   operations reach their awaiting code (those settle as promises, a microtask later). A flow therefore learns of
 *   the hang-up first and never mistakes an operation's `hangup` result for input (an empty collect); a flow that
 *   must finish what it was doing (call answering keeps a message the caller ended by hanging up) handles the event
 *   in that state and then receives the operation's result.
 *
 * This module re-exports the public names it exported when it held all of those files, so importers keep importing
 * from here.
 */
import type { CallChannel, CancelSignal, CollectedInput, PromptStart } from '../ports/call-channel';
import type { Clock } from '../ports/clock';
import type { Locale } from '../domain/locale';
import type {
  CollectRequest,
  CollectResult,
  ConferenceOptions,
  ConferenceResult,
  ConferenceRole,
  PlayRequest,
  PlayResult,
  RecordRequest,
  RecordResult,
  ToneId,
} from '../flow-kit/media-types';
import { PromptCatalog, type RenderedPrompt } from '../prompts/catalog';
import { ChannelJournal, type ChannelEvent, type HeardPrompt, type OperationKind } from './channel-journal';
import { runCollect, type CollectHost } from './collect-operation';
import { runConference, type ConferenceHost } from './conference-operation';
import { Operation } from './operation';
import { runPlay } from './play-operation';
import { runRecord, type MediaServerRecording, type RecordHost } from './record-operation';
import { RecordingWriter, type SpeechSegment } from './recording-writer';
import { arrayListeners, waitFor } from './wait-for';

export { CONFERENCE_COMMAND_MS } from './conference-operation';
export type { ChannelEvent, HeardPrompt, OperationKind } from './channel-journal';
export { Operation } from './operation';
export type { MediaServerRecording } from './record-operation';
export type { SpeechSegment } from './recording-writer';

/** Keys a caller can press. */
export const DTMF_KEYS = '0123456789*#ABCD';

/** What the channel lends its operations: every host interface of the operation files, in one object. */
type ChannelHost = CollectHost & RecordHost & ConferenceHost;

/** What every IvrChannel needs. */
export interface IvrChannelOptions {
  callId: string;
  /** The clock every prompt, timeout and recording runs on (a VirtualClock in the simulator). */
  clock: Clock;
  /** Renders prompt items; the repository's catalog when undefined. */
  catalog?: PromptCatalog;
  /** Where recordings are written (created on first use). */
  recordingsDir: string;
  /**
   * fsync each recording (default true). False only where the folder lives no longer than the process (the
   * simulator's throw-away data folder): the file is still written whole before its row, not waited on the disk for.
   */
  durableRecordings?: boolean;
}

export abstract class IvrChannel implements CallChannel {
  readonly callId: string;
  protected readonly clock: Clock;
  protected readonly catalog: PromptCatalog;
  private readonly writer: RecordingWriter;
  private readonly journal = new ChannelJournal();
  /** What the operation files may touch of this channel (they cannot reach its protected members). */
  private readonly host: ChannelHost;

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

  private readonly hangupListeners: (() => void)[] = [];
  private readonly dtmfListeners: ((digit: string) => void)[] = [];
  private readonly endObservers: (() => void)[] = [];

  /** Every prompt that started, in order. */
  readonly heard: HeardPrompt[] = this.journal.heard;
  /** Everything that happened, in order. */
  readonly events: ChannelEvent[] = this.journal.events;

  constructor(options: IvrChannelOptions) {
    this.callId = options.callId;
    this.clock = options.clock;
    this.catalog = options.catalog ?? PromptCatalog.load();
    this.writer = new RecordingWriter(options.recordingsDir, options.callId, { durable: options.durableRecordings ?? true });
    this.host = this.makeHost();
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
    this.journal.promptStarted(this.journal.entry(p, this.clock.now(), 'conference'));
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

  /** Plays prompts to the caller (the rules: `play-operation.ts`). */
  play(request: PlayRequest, signal?: CancelSignal): Promise<PlayResult> {
    this.journal.locale = request.locale;
    return runPlay(this.host, request, signal);
  }

  /** Plays optional prompts, then collects digits (the rules: `collect-operation.ts`). */
  collect(request: CollectRequest, signal?: CancelSignal): Promise<CollectResult> {
    this.journal.locale = request.locale;
    return runCollect(this.host, request, signal);
  }

  /**
   * Plays prompts and a beep, then records the caller (the rules: `record-operation.ts`).
   * @throws VaError VA_ERR_MEDIA_RECORDING (the promise rejects) when the recording cannot be written
   */
  record(request: RecordRequest, signal?: CancelSignal): Promise<RecordResult> {
    this.journal.locale = request.locale;
    return runRecord(this.host, request, signal);
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
  joinConference(room: string, role: ConferenceRole, signal?: CancelSignal, options: ConferenceOptions = {}): Promise<ConferenceResult> {
    this.journal.locale = options.locale ?? 'en-US';
    return runConference(this.host, room, role, signal, options);
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

  /**
   * Calls `listener` synchronously whenever a prompt starts (the port's optional observer, from the heard-log), with
   * the locale of its operation and whether it plays for a secret input (a PIN collect).
   */
  onPromptStart(listener: (prompt: PromptStart) => void): void {
    this.journal.promptObservers.push((p) => listener({ id: p.id, locale: p.locale, op: p.op, secret: p.op === 'collect' && this.secretCollect }));
  }

  /** Calls `listener` whenever a collect finishes (the port's optional observer): never a secret input's digits. */
  onCollected(listener: (input: CollectedInput) => void): void {
    this.journal.collectObservers.push(({ result, secret }) => {
      if (secret) listener({ secret: true, reason: result.reason });
      else listener(result.terminator === undefined ? { secret: false, digits: result.digits, reason: result.reason } : { secret: false, digits: result.digits, reason: result.reason, terminator: result.terminator });
    });
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

  /** True while the IVR collects a secret (a PIN or leader PIN). */
  get collectingSecret(): boolean {
    return this.secretCollect && this.active !== null;
  }

  /** Is an IVR operation pending (the IVR is waiting on the caller or the clock)? */
  get hasPendingOperation(): boolean {
    return this.active !== null;
  }

  /** Digits typed but not yet taken by an operation. */
  get bufferedDigits(): string {
    return this.typeAhead.join('');
  }

  /** Calls `listener` whenever a prompt starts. */
  onPromptStarted(listener: (p: HeardPrompt) => void): void {
    this.journal.promptObservers.push(listener);
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
      events: arrayListeners(this.journal.promptObservers),
      match: (p: HeardPrompt) => (p.id === id ? p : undefined),
      ends: arrayListeners(this.endObservers),
    });
  }

  /** How many recordings have started (after their prompts and beep). */
  get recordingsStarted(): number {
    return this.journal.recordingMarks.length;
  }

  /** The heard-log length when recording number `n` (from 0) started: the index of the first prompt after it. */
  heardIndexAtRecording(n: number): number {
    return this.journal.recordingMarks[n];
  }

  /**
   * Waits until recording number `from + 1` starts (one that started already counts).
   * @param from how many recordings the caller has already seen; @param withinMs clock ms to wait at most
   * @returns the number of recordings started; `'timeout'`; or `'ended'` when the call ended first
   */
  waitForRecording(from: number, withinMs: number): Promise<number | 'timeout' | 'ended'> {
    if (this.journal.recordingMarks.length > from) return Promise.resolve(this.journal.recordingMarks.length);
    if (this._ended) return Promise.resolve('ended');
    return waitFor({
      setTimer: this.setTimer,
      clearTimer: this.clearTimer,
      withinMs,
      events: arrayListeners(this.journal.recordObservers),
      match: () => this.journal.recordingMarks.length,
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
    this.journal.log(e);
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

  /** The object the operation files work through: this channel's state and hooks, read and called at use time. */
  private makeHost(): ChannelHost {
    const ch = this;
    return {
      clock: this.clock,
      catalog: this.catalog,
      journal: this.journal,
      speech: this.speech,
      writer: this.writer,
      get typeAhead() {
        return ch.typeAhead;
      },
      set typeAhead(digits: string[]) {
        ch.typeAhead = digits;
      },
      get secretCollect() {
        return ch.secretCollect;
      },
      set secretCollect(on: boolean) {
        ch.secretCollect = on;
      },
      get conferencePromptUntil() {
        return ch.conferencePromptUntil;
      },
      set conferencePromptUntil(ms: number) {
        ch.conferencePromptUntil = ms;
      },
      log: (e) => this.log(e),
      begin: (kind, signal, whenEnded, whenAborted, start) => this.begin(kind, signal, whenEnded, whenAborted, start),
      startPrompt: (prompt, onEnd) => this.startPrompt(prompt, onEnd),
      onRecordingStart: () => this.onRecordingStart(),
      onRecordingEnd: () => this.onRecordingEnd(),
      recordingWav: (durationMs, speech) => this.recordingWav(durationMs, speech),
      startMediaServerRecording: (request, onSilence) => this.startMediaServerRecording(request, onSilence),
      conferenceEnter: (room, role, opts) => this.conferenceEnter(room, role, opts),
      conferenceLeave: () => this.conferenceLeave(),
      conferenceMute: (muted) => this.conferenceMute(muted),
    };
  }
}
