/**
 * FreeswitchCallChannel: the {@link CallChannel} of a call whose media is a FreeSWITCH endpoint driven through
 * drachtio-fsmrf (DESIGN.md, "Scale"). The IVR semantics (barge-in, type-ahead, timeouts on our Clock, the record
 * rules, the meeting keys) are {@link IvrChannel}'s, the same as the embedded engine's; only the media differs:
 * - prompts: FreeSWITCH plays the prompt WAVs (`playback`, mod_sndfile), one at a time; a barge-in or a stop is
 *   `uuid_break`. A playback is sent only once the previous one has finished on FreeSWITCH, so a break can only hit
 *   the prompt it was meant for. A break that reaches FreeSWITCH before it has started the playback is lost
 *   (it clears the break flag when an application starts), so a stopped prompt is broken again every
 *   {@link REBREAK_MS} until FreeSWITCH reports it finished: the IVR needs no PLAYBACK_START event, a 6 KB event
 *   per prompt our process would parse;
 * - digits: FreeSWITCH's DTMF events, RFC 2833/4733 (`RTP`) and in-band (`INBAND_AUDIO`, `spandsp_start_dtmf`),
 *   and SIP INFO, which reaches drachtio rather than FreeSWITCH and is handed in with {@link infoDigit}: merged by
 *   {@link DtmfMerger} so one key press counts once;
 * - recording: FreeSWITCH records the caller (`uuid_record`) into a hidden file next to the final one and stops by
 *   itself after `silenceMs` of silence (`RECORD_INITIAL_TIMEOUT_MS`/`RECORD_FINAL_TIMEOUT_MS`); the beep,
 *   terminators and `maxMs` stay ours. The file is then trimmed after the last speech ({@link voiceSpans}) and
 *   written to its final name atomically (temporary file, fsync, rename) before the flow stores the message row; a
 *   file FreeSWITCH could not write is a `VA_ERR_MEDIA_RECORDING` error, never a message without audio. FreeSWITCH
 *   must see the recordings folder at the same path (the same machine, or a shared volume);
 * - meetings: a mod_conference room per meeting (`<roomPrefix><room>@<profile>`); `*6` is the member's mute, a prompt to
 *   this caller alone is a member play (`conference ... play FILE MEMBER`), the entry and exit tones are played to
 *   the room. mod_conference mixes and never returns a member's own voice.
 */
import { existsSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { IvrChannel, type IvrChannelOptions, type MediaServerRecording, type SpeechSegment } from '../../channel/ivr-channel';
import type { Locale } from '../../domain/locale';
import type { ConferenceRole } from '../../flow-kit/media-types';
import type { TimerHandle } from '../../ports/clock';
import type { CallLeg, SignalledChannel } from '../../ports/media-server';
import type { RenderedPrompt } from '../../prompts/catalog';
import { writeFileAtomic } from '../../util/atomic-file';
import { DtmfMerger, type DtmfTransport } from '../dtmf-merger';
import { MediaError, MediaErrorCodes } from '../errors';
import { voiceSpans } from '../voice-activity';
import { encodeWav, readWavPcm, WAV_SAMPLE_RATE } from '../wav';
import type { EslEvent, FsDtmf, FsEndpoint } from './fsmrf-types';

/** What a {@link FreeswitchCallChannel} needs besides the common options. */
export interface FreeswitchCallChannelOptions extends IvrChannelOptions {
  endpoint: FsEndpoint;
  leg: CallLeg;
  logger: Logger;
  /** The mod_conference profile meetings use (`conference.conf.xml`) [default]. */
  conferenceProfile?: string;
  /**
   * What a meeting's room name starts with on FreeSWITCH, before its conference ID [va-]: the same for every instance
   * on one store (they share the meetings), different for another store on the same FreeSWITCH.
   */
  roomPrefix?: string;
  /** How long to wait for FreeSWITCH to close a stopped recording, ms [3000]. */
  recordStopTimeoutMs?: number;
}

/** How long the IVR's BYE waits after a prompt that has just played to its end, ms (a phone's jitter buffer). */
const BYE_DRAIN_MS = 200;

/** How often a stopped prompt that FreeSWITCH has not reported finished is broken again, ms. */
const REBREAK_MS = 40;
/** How many times a stopped prompt is broken again before the channel gives up on it (and logs it). */
const REBREAK_TRIES = 50;

/** The prompt being played by FreeSWITCH. */
interface Playing {
  stopped: boolean;
}

/** This caller's place in a mod_conference room. */
interface Membership {
  name: string;
  memberId: string | null;
  muted: boolean;
  left: boolean;
  tones: boolean;
  /** Settles when FreeSWITCH has joined the caller (or could not). */
  joined: Promise<void>;
}

/** FreeSWITCH's DTMF-Source -> our transport names. */
function transportOf(source: string | undefined): DtmfTransport {
  if (source === 'INBAND_AUDIO') return 'inband';
  if (source === 'ENDPOINT') return 'info';
  return 'rfc4733';
}

export class FreeswitchCallChannel extends IvrChannel implements SignalledChannel {
  private readonly endpoint: FsEndpoint;
  private readonly leg: CallLeg;
  private readonly logger: Logger;
  private readonly conferenceProfile: string;
  private readonly roomPrefix: string;
  private readonly recordStopTimeoutMs: number;
  private readonly merger = new DtmfMerger();
  /** Settles when FreeSWITCH has finished the last application we sent (playbacks and the conference join). */
  private mediaIdle: Promise<void> = Promise.resolve();
  private playing: Playing | null = null;
  private membership: Membership | null = null;
  /** Settles when a recording in progress has been closed by FreeSWITCH (the endpoint is kept until then). */
  private recordingClosed: Promise<unknown> | null = null;
  private released = false;
  /** When the last prompt FreeSWITCH played to its end finished, clock ms. */
  private lastPromptEndAt = -Infinity;

  constructor(options: FreeswitchCallChannelOptions) {
    super(options);
    this.endpoint = options.endpoint;
    this.leg = options.leg;
    this.logger = options.logger;
    this.conferenceProfile = options.conferenceProfile ?? 'default';
    this.roomPrefix = options.roomPrefix ?? 'va-';
    this.recordStopTimeoutMs = options.recordStopTimeoutMs ?? 3000;
    this.endpoint.on('dtmf', (e: FsDtmf) => this.mediaDigit(e));
    this.endpoint.on('destroy', () => {
      // FreeSWITCH ended its leg (it went away, or hung up on us): the call has no media left.
      if (this.ended) return;
      this.logger.warn({ callId: this.callId }, 'the media server ended the call leg; hanging up');
      void this.hangup('media-server');
    });
  }

  /**
   * Prepares a new endpoint for the IVR: no playback terminators of FreeSWITCH's own (barge-in is ours), in-band
   * DTMF detection on (spandsp), RECORD_STOP events on the endpoint's connection.
   */
  static async prepare(endpoint: FsEndpoint): Promise<void> {
    await endpoint.api('uuid_setvar', `${endpoint.uuid} playback_terminators none`);
    endpoint.conn?.subscribe('RECORD_STOP');
    // Events drachtio-fsmrf subscribes to that the IVR never reads. Each carries every channel variable (FreeSWITCH
    // sends these verbose whatever `verbose_events` says), so they were most of the event-socket bytes our process
    // parsed per call (issue 18, CPU per concurrent call): a prompt now costs one such event, its EXECUTE_COMPLETE.
    endpoint.conn?.sendRecv('nixevent CHANNEL_EXECUTE PLAYBACK_START PLAYBACK_STOP CHANNEL_PROGRESS_MEDIA DETECTED_TONE');
    await endpoint.execute('spandsp_start_dtmf');
  }

  /** The signalling saw the caller hang up. */
  callerHungUp(): void {
    this.remoteHangup();
  }

  /** A key from SIP INFO (drachtio got it, not FreeSWITCH): merged with FreeSWITCH's digits. */
  infoDigit(digit: string, _durationMs: number): void {
    if (this.merger.accept(digit, 'info', this.clock.now())) this.deliverDigit(digit);
  }

  private mediaDigit(e: FsDtmf): void {
    const digit = (e.dtmf ?? '').toUpperCase();
    if (digit.length !== 1) return;
    if (this.merger.accept(digit, transportOf(e.source), this.clock.now())) this.deliverDigit(digit);
  }

  /** Runs an API command for this call; failures are logged (the call goes on). */
  private api(command: string, args: string): Promise<string> {
    // After the leg is hung up FreeSWITCH closes the event socket: a command then would only fail (EPIPE).
    if (this.released) return Promise.resolve('-ERR released');
    return this.endpoint.api(command, args).then(
      (evt: EslEvent) => {
        const body = evt?.getBody?.() ?? '';
        if (body.startsWith('-ERR')) this.logger.debug({ callId: this.callId, command, reply: body.trim() }, 'FreeSWITCH refused a command');
        return body;
      },
      (err: unknown) => {
        this.logger.debug({ callId: this.callId, command, err }, 'FreeSWITCH command failed');
        return '-ERR';
      },
    );
  }

  /**
   * Breaks the playback `state` on FreeSWITCH, again every {@link REBREAK_MS} until its EXECUTE_COMPLETE has come
   * (a break that arrived before FreeSWITCH started the playback was cleared by it), at most {@link REBREAK_TRIES}
   * times. Only while `state` is the playback in progress: the next one is sent once this one has finished.
   */
  private breakPlayback(state: Playing, tries = 0): void {
    if (this.playing !== state || this.released) return;
    void this.api('uuid_break', this.endpoint.uuid);
    if (tries >= REBREAK_TRIES) {
      this.logger.warn({ callId: this.callId }, 'FreeSWITCH did not stop a prompt after repeated breaks');
      return;
    }
    this.clock.setTimeout(() => this.breakPlayback(state, tries + 1), REBREAK_MS);
  }

  // ================================================================== prompts

  protected startPrompt(prompt: RenderedPrompt, onEnd: () => void): () => void {
    const member = this.membership;
    const fullMs = (readWavPcm(prompt.file, { unchanging: prompt.id !== null }).length * 1000) / WAV_SAMPLE_RATE;
    let timer: TimerHandle | undefined;
    const state: Playing = { stopped: false };
    const stop = () => {
      if (state.stopped) return;
      state.stopped = true;
      if (timer !== undefined) this.clock.clearTimeout(timer);
      if (member) {
        if (member.memberId && !member.left) void this.api('conference', `${member.name} stop current ${member.memberId}`);
      } else this.breakPlayback(state);
    };
    if (member) {
      // In a meeting the conference application owns the channel: a member play, timed on our clock (from when it
      // is sent: a prompt asked for while FreeSWITCH is still joining the caller waits for the member id).
      const play = () => {
        if (state.stopped || member.left || !member.memberId) return;
        // `nomux`: the prompt replaces the meeting's audio for this caller while it plays, as on the embedded engine.
        void this.api('conference', `${member.name} play ${prompt.file} ${member.memberId} nomux`);
      };
      if (member.memberId) play();
      else void member.joined.then(play);
      timer = this.clock.setTimeout(() => {
        timer = undefined;
        if (!state.stopped) {
          state.stopped = true;
          onEnd();
        }
      }, prompt.durationMs);
      return stop;
    }
    const run = this.mediaIdle.then(() => {
      if (state.stopped || this.ended) return null;
      this.playing = state;
      return this.endpoint.execute('playback', prompt.file);
    });
    // Settles with nothing: keeping the 6 KB EXECUTE_COMPLETE event until the next prompt would let each call's last
    // one outlive the young generation, and the old one then fills with them (a full collection every few seconds).
    const nothing = () => undefined;
    this.mediaIdle = run.then(nothing, nothing).finally(() => {
      if (this.playing === state) this.playing = null;
    });
    run.then(
      (evt) => {
        if (evt && evt.getHeader('Application-Response') === 'FILE NOT FOUND') {
          this.logger.error({ callId: this.callId, file: prompt.file }, 'FreeSWITCH cannot read the prompt');
        }
        if (!state.stopped) {
          state.stopped = true;
          if (timer !== undefined) this.clock.clearTimeout(timer);
          this.lastPromptEndAt = this.clock.now();
          onEnd();
        }
      },
      (err: unknown) => {
        if (!this.ended) this.logger.warn({ callId: this.callId, err }, 'FreeSWITCH could not play a prompt');
        if (!state.stopped) {
          state.stopped = true;
          onEnd();
        }
      },
    );
    if (prompt.durationMs < fullMs - 1) {
      // The catalog cut this one short (a music-on-hold span): stop it there.
      timer = this.clock.setTimeout(() => {
        timer = undefined;
        if (state.stopped) return;
        stop();
        onEnd();
      }, prompt.durationMs);
    }
    return stop;
  }

  // ================================================================== recording

  protected recordingWav(_durationMs: number, _speech: readonly SpeechSegment[]): Buffer {
    // Never called: FreeSWITCH records (startMediaServerRecording).
    throw new MediaError(MediaErrorCodes.RECORDING, 'recordings of a FreeSWITCH call are made by FreeSWITCH');
  }

  protected override startMediaServerRecording(request: { maxMs: number; silenceMs: number; file: string }, onSilence: () => void): MediaServerRecording {
    const uuid = this.endpoint.uuid;
    const raw = path.join(path.dirname(request.file), `.fs-${path.basename(request.file)}`);
    let failed: string | null = null;
    let closed = false;
    let onClosed: () => void = () => undefined;
    const closedEvent = new Promise<void>((resolve) => (onClosed = resolve));
    const conn = this.endpoint.conn;
    const listener = (evt: EslEvent) => {
      if (evt.getHeader('Record-File-Path') !== raw) return;
      const cause = evt.getHeader('Record-Completion-Cause');
      if (cause === 'uri-failure') failed = 'FreeSWITCH could not write the recording';
      closed = true;
      conn?.removeListener(`esl::event::RECORD_STOP::${uuid}`, listener);
      onClosed();
      if (cause === 'success-silence' || cause === 'no-input-timeout') onSilence();
    };
    conn?.on(`esl::event::RECORD_STOP::${uuid}`, listener);
    const limitS = Math.ceil(request.maxMs / 1000) + 1; // our clock ends it at maxMs; FreeSWITCH's limit is a backstop
    const started = this.api('uuid_setvar_multi', `${uuid} RECORD_READ_ONLY=true;RECORD_INITIAL_TIMEOUT_MS=${request.silenceMs};RECORD_FINAL_TIMEOUT_MS=${request.silenceMs}`)
      .then(() => this.api('uuid_record', `${uuid} start ${raw} ${limitS}`))
      .then((reply) => {
        if (!reply.startsWith('+OK')) {
          failed = `FreeSWITCH did not start recording: ${reply.trim().slice(0, 120)}`;
          closed = true;
          onClosed();
        }
      });
    this.recordingClosed = closedEvent;
    let finishing: Promise<{ file: string; durationMs: number } | null> | null = null;
    return {
      finish: () =>
        (finishing ??= (async () => {
          await started;
          if (!closed) {
            await this.api('uuid_record', `${uuid} stop ${raw}`);
            let t: TimerHandle | undefined;
            await Promise.race([closedEvent, new Promise<void>((r) => (t = this.clock.setTimeout(r, this.recordStopTimeoutMs)))]);
            if (t !== undefined) this.clock.clearTimeout(t);
          }
          conn?.removeListener(`esl::event::RECORD_STOP::${uuid}`, listener);
          this.recordingClosed = null;
          return this.settleRecording(raw, request.file, failed);
        })()),
    };
  }

  /**
   * Turns FreeSWITCH's raw file into the stored recording: trimmed after the last speech, written atomically.
   * @throws MediaError VA_ERR_MEDIA_RECORDING when FreeSWITCH failed or the file cannot be read
   */
  private settleRecording(raw: string, file: string, failed: string | null): { file: string; durationMs: number } | null {
    const drop = () => {
      try {
        unlinkSync(raw);
      } catch {
        /* already gone */
      }
    };
    if (failed || !existsSync(raw)) {
      drop();
      throw new MediaError(MediaErrorCodes.RECORDING, `${failed ?? 'FreeSWITCH wrote no recording file'} (${path.basename(file)})`);
    }
    let pcm: Int16Array;
    try {
      pcm = readWavPcm(raw);
    } catch (err) {
      drop();
      throw new MediaError(MediaErrorCodes.RECORDING, `the recording FreeSWITCH wrote cannot be read: ${(err as Error).message}`, { cause: err });
    }
    const spans = voiceSpans(pcm);
    if (spans.length === 0) {
      drop();
      return null;
    }
    const durationMs = spans[spans.length - 1].end;
    writeFileAtomic(file, encodeWav(pcm.subarray(0, Math.round((durationMs * WAV_SAMPLE_RATE) / 1000))));
    drop();
    return { file, durationMs };
  }

  // ================================================================== meetings

  protected override conferenceEnter(room: string, _role: ConferenceRole, opts: { entryExitTones: boolean; locale: Locale }): void {
    this.conferenceLeave();
    const name = `${this.roomPrefix}${room}`.replace(/[^A-Za-z0-9_-]/g, '_');
    if (opts.entryExitTones) void this.api('conference', `${name} play ${this.toneFile('conf-join')}`);
    const joining = this.mediaIdle.then(() => {
      if (m.left || this.ended) return;
      return this.endpoint.join(name, { profile: this.conferenceProfile }).then(({ memberId }) => {
        m.memberId = String(memberId);
        if (m.left) void this.api('conference', `${name} hup ${m.memberId}`);
        else if (m.muted) void this.api('conference', `${name} mute ${m.memberId}`);
      });
    });
    const settled = joining.catch((err: unknown) => {
      if (!this.ended) this.logger.warn({ callId: this.callId, err }, 'FreeSWITCH could not join the caller to the meeting');
    });
    const m: Membership = { name, memberId: null, muted: false, left: false, tones: opts.entryExitTones, joined: settled };
    this.membership = m;
    this.mediaIdle = settled;
  }

  protected override conferenceLeave(): void {
    const m = this.membership;
    if (!m) return;
    this.membership = null;
    m.left = true;
    if (m.memberId) void this.api('conference', `${m.name} hup ${m.memberId}`);
    if (m.tones) void this.api('conference', `${m.name} play ${this.toneFile('conf-leave')}`);
  }

  protected override conferenceMute(muted: boolean): void {
    const m = this.membership;
    if (!m) return;
    m.muted = muted;
    if (m.memberId) void this.api('conference', `${m.name} ${muted ? 'mute' : 'unmute'} ${m.memberId}`);
  }

  private toneFile(tone: 'conf-join' | 'conf-leave'): string {
    return this.catalog.render([{ tone }], 'en-US')[0].file;
  }

  // ================================================================== signalling

  protected override async onAnswer(): Promise<void> {
    await this.leg.answer();
  }

  protected override onEnd(by: 'caller' | 'ivr', cause?: string): void {
    if (by === 'ivr') {
      // FreeSWITCH reports a playback done when its last packet left; the BYE, through drachtio-server, can reach the
      // phone before that packet is out of its jitter buffer, and "Goodbye" loses its end. Give it BYE_DRAIN_MS.
      const wait = this.lastPromptEndAt + BYE_DRAIN_MS - this.clock.now();
      if (wait > 0) this.clock.setTimeout(() => this.leg.hangup(cause), wait);
      else this.leg.hangup(cause);
    }
    this.conferenceLeave();
    // A recording still being closed keeps the endpoint until FreeSWITCH has written it.
    const closing = this.recordingClosed ?? Promise.resolve();
    let t: TimerHandle | undefined;
    void Promise.race([closing, new Promise<void>((r) => (t = this.clock.setTimeout(r, this.recordStopTimeoutMs * 2)))]).then(() => {
      if (t !== undefined) this.clock.clearTimeout(t);
      this.release();
    });
  }

  /** Hangs up FreeSWITCH's leg. Idempotent. */
  private release(): void {
    if (this.released) return;
    this.released = true;
    this.endpoint.destroy().catch((err: unknown) => this.logger.debug({ callId: this.callId, err }, 'FreeSWITCH leg already gone'));
  }
}
