/**
 * The record operation of an {@link IvrChannel}: the type-ahead buffer is consumed (a terminator in it ends the
 * request at once; other digits are dropped). The prompts play, then the beep (`tone:beep`) when asked; a terminator
 * during them ends the request with nothing recorded; other digits are ignored throughout. Recording ends on a
 * terminator, after `silenceMs` of silence following the last speech (from the start of recording when nothing has
 * been said), at `maxMs`, or when the call ends (`hangup`, audio kept). `durationMs` runs from the start of recording
 * to the end of the last speech (trailing silence trimmed); `file` is null when nothing was said. Abort -> the audio
 * so far, reason `silence`. A recording that cannot be written (the recordings folder cannot be created, is not a
 * folder, is full; or the media server failed) rejects with VA_ERR_MEDIA_RECORDING: never a result naming a file that
 * is not complete on disk, never an operation left pending.
 *
 * The audio comes from the channel's own capture and voice spans (written by {@link RecordingWriter}), or from a
 * media server that records the caller itself ({@link MediaServerRecording}, FreeSWITCH).
 */
import type { CancelSignal } from '../ports/call-channel';
import type { TimerHandle } from '../ports/clock';
import type { RecordRequest, RecordResult } from '../flow-kit/media-types';
import { isVaError } from '../errors';
import { type OperationHost, type Playback, startPlayback } from './operation';
import { recordingError, type RecordingWriter, type SpeechSegment, speechWithin } from './recording-writer';

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

/** What the record operation needs of its channel beyond {@link OperationHost}: its voice, writer and media hooks. */
export interface RecordHost extends OperationHost {
  /** The caller's voice, as spans of the clock's time; `end` is Infinity while the caller is still talking. */
  readonly speech: readonly SpeechSegment[];
  readonly writer: RecordingWriter;
  /** The channel's hooks: see {@link IvrChannel.onRecordingStart} and the others of the same names. */
  onRecordingStart(): void;
  onRecordingEnd(): void;
  recordingWav(durationMs: number, speech: readonly SpeechSegment[]): Buffer;
  startMediaServerRecording(request: { maxMs: number; silenceMs: number; file: string }, onSilence: () => void): MediaServerRecording | null;
}

/**
 * Plays prompts and a beep on `host`'s channel, then records the caller (the rules: see the module comment).
 * @returns the file (null when nothing was said), its duration (ms) and why the recording ended
 * @throws VaError VA_ERR_MEDIA_RECORDING when the recording cannot be written (the promise rejects)
 */
export async function runRecord(host: RecordHost, request: RecordRequest, signal?: CancelSignal): Promise<RecordResult> {
  const prompts = host.catalog.render(request.beep ? [...request.prompts, { tone: 'beep' }] : request.prompts, request.locale);
  const terminators = request.terminators ?? '';
  const nothing = (reason: RecordResult['reason'], terminator?: string): RecordResult =>
    terminator === undefined ? { file: null, durationMs: 0, heardSpeech: false, reason } : { file: null, durationMs: 0, heardSpeech: false, reason, terminator };
  const result = await host.begin<RecordResult>('record', signal, nothing('hangup'), nothing('silence'), (op) => {
    // Type-ahead: a terminator already typed ends the request (e.g. `*` to skip); other keys are dropped.
    const buffered = host.typeAhead;
    host.typeAhead = [];
    const early = buffered.find((d) => terminators.includes(d));
    if (early !== undefined) {
      const rest = buffered.slice(buffered.indexOf(early) + 1);
      host.typeAhead = rest;
      if (prompts.length > 0) host.log({ at: host.clock.now(), type: 'skipped', op: 'record', ids: prompts.map((p) => p.id) });
      op.finish(nothing('terminator', early));
      return;
    }
    let phase: 'prompts' | 'recording' = 'prompts';
    let playback: Playback | null = null;
    let t0 = 0;
    let silenceTimer: TimerHandle | undefined;
    let silenceAt = -1;
    const lastSpeechEnd = () => (host.speech.length > 0 ? host.speech[host.speech.length - 1].end : -Infinity);
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
        if (host.clock.now() >= Math.max(t0, lastSpeechEnd()) + request.silenceMs) stopRecording('silence');
        else armSilence();
      }, due - host.clock.now());
    };
    let external: MediaServerRecording | null = null;
    let settling = false;
    const stopRecording = (reason: RecordResult['reason'], terminator?: string) => {
      if (!external) {
        // A recording that cannot be written fails the operation (VA_ERR_MEDIA_RECORDING), as a media server's does:
        // never a result without its file, never an operation left pending.
        let recorded: RecordResult;
        try {
          recorded = finishRecording(host, request.purpose, t0, host.clock.now(), reason, terminator);
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
      t0 = host.clock.now();
      let file: string;
      try {
        file = host.writer.newFile(request.purpose);
      } catch (err) {
        op.fail(recordingError(err));
        return;
      }
      external = host.startMediaServerRecording({ maxMs: request.maxMs, silenceMs: request.silenceMs, file }, () => stopRecording('silence'));
      if (!external) host.onRecordingStart();
      host.log({ at: t0, type: 'record-start', purpose: request.purpose });
      host.journal.recordingStarted();
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
    playback = startPlayback(host, op, prompts, false, startRecording);
  }).catch((err: unknown) => {
    host.log({ at: host.clock.now(), type: 'note', text: `recording failed: ${isVaError(err) ? err.code : 'error'}` });
    throw err;
  });
  host.log({ at: host.clock.now(), type: 'recorded', result });
  return result;
}

/**
 * Ends a recording the channel made itself at `tEnd`: measures the speech in [t0, tEnd], writes the WAV when there
 * was any (temporary file, fsync, rename: complete on disk before the result exists).
 * @param t0 when recording started, @param tEnd when it ended: clock ms since the epoch
 * @throws VaError VA_ERR_MEDIA_RECORDING when the recordings folder cannot be created or the file cannot be written
 */
function finishRecording(host: RecordHost, purpose: string, t0: number, tEnd: number, reason: RecordResult['reason'], terminator?: string): RecordResult {
  host.onRecordingEnd();
  const parts = speechWithin(host.speech, t0, tEnd);
  const base = terminator === undefined ? { reason } : { reason, terminator };
  if (parts.length === 0) return { file: null, durationMs: 0, heardSpeech: false, ...base };
  const durationMs = parts[parts.length - 1].end;
  const file = host.writer.save(purpose, () => host.recordingWav(durationMs, parts));
  return { file, durationMs, heardSpeech: true, ...base };
}
