/**
 * The recording writer of an {@link IvrChannel}: names each recording of a call in the recordings folder (creating
 * the folder on first use) and writes its WAV whole or not at all (temporary file, fsync, rename: DESIGN.md "Media"),
 * so a result never names a file that is not complete on disk. Whatever goes wrong on the way (the folder cannot be
 * created, is not a folder, the disk is full; a media server failed) becomes one error, VA_ERR_MEDIA_RECORDING.
 * Also the caller's voice as spans of time, and the cut of those spans to one recording.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, isVaError, VaError } from '../errors';
import { writeFileAtomic, type AtomicWriteOptions } from '../util/atomic-file';

/** A span of the caller's voice, clock ms (absolute in the channel, from the recording's start in `recordingWav`). */
export interface SpeechSegment {
  start: number;
  end: number;
}

/**
 * The caller's voice within one recording: the parts of `speech` inside [t0, tEnd], as ms from `t0`.
 * @param t0 when recording started, @param tEnd when it ended: clock ms since the epoch
 */
export function speechWithin(speech: readonly SpeechSegment[], t0: number, tEnd: number): SpeechSegment[] {
  const parts: SpeechSegment[] = [];
  for (const s of speech) {
    const start = Math.max(s.start, t0);
    const end = Math.min(s.end, tEnd);
    if (end > start) parts.push({ start: start - t0, end: end - t0 });
  }
  return parts;
}

/** Names and writes the recordings of one call. */
export class RecordingWriter {
  private recordings = 0;

  /**
   * @param recordingsDir where recordings are written (created on first use)
   * @param callId the call's id (made safe for a file name)
   * @param write `durable: false` for a folder that lives no longer than the process (the simulator's throw-away one)
   */
  constructor(
    readonly recordingsDir: string,
    private readonly callId: string,
    private readonly write: AtomicWriteOptions = {},
  ) {}

  /**
   * A new file name in the recordings folder (created when missing) for a recording of this call.
   * @param purpose what the recording is for (`greeting`, `message`): part of the file name
   * @throws VaError VA_ERR_MEDIA_RECORDING when the folder cannot be created (e.g. a file is in the way)
   */
  newFile(purpose: string): string {
    try {
      mkdirSync(this.recordingsDir, { recursive: true });
    } catch (err) {
      throw new VaError(ErrorCodes.MEDIA_RECORDING, `cannot create the recordings folder ${this.recordingsDir} (${osReason(err)})`, { cause: err });
    }
    const safeId = this.callId.replace(/[^A-Za-z0-9_.-]/g, '_');
    return path.join(this.recordingsDir, `${safeId}-${purpose}-${++this.recordings}-${randomUUID().slice(0, 8)}.wav`);
  }

  /**
   * Writes a recording under a new name ({@link RecordingWriter.newFile}): temporary file, fsync, rename, so it is
   * complete on disk when this returns.
   * @param wav renders the WAV bytes (called once, after the name is chosen; an error from it fails the write too)
   * @returns the file written
   * @throws VaError VA_ERR_MEDIA_RECORDING when the folder cannot be created or the file cannot be written
   */
  save(purpose: string, wav: () => Buffer): string {
    const file = this.newFile(purpose);
    try {
      writeFileAtomic(file, wav(), this.write);
    } catch (err) {
      throw new VaError(ErrorCodes.MEDIA_RECORDING, `cannot write the recording ${path.basename(file)} into ${this.recordingsDir} (${osReason(err)})`, { cause: err });
    }
    return file;
  }
}

/** `err` as a VA_ERR_MEDIA_RECORDING error (kept as it is when it is one already). */
export function recordingError(err: unknown): VaError {
  if (isVaError(err, ErrorCodes.MEDIA_RECORDING)) return err;
  return new VaError(ErrorCodes.MEDIA_RECORDING, `the recording could not be written (${osReason(err)})`, { cause: err });
}

/** An fs error's code (`ENOSPC`, `EEXIST`), else its message: the cause keeps the rest (pino logs it too). */
function osReason(err: unknown): string {
  return (err as NodeJS.ErrnoException | null)?.code ?? (err instanceof Error ? err.message : String(err));
}
