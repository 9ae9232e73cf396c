/**
 * Errors thrown on purpose by the RTP engine (`src/media`): {@link VaError}s with the `VA_ERR_MEDIA_*` codes of
 * `src/errors.ts` (listed in the README's table).
 */
import { ErrorCodes, VaError } from '../errors';

/** Every error code the media layer throws (part of the project's {@link ErrorCodes}). */
export const MediaErrorCodes = {
  NO_PORT: ErrorCodes.MEDIA_NO_PORT,
  BIND: ErrorCodes.MEDIA_BIND,
  WAV_UNSUPPORTED: ErrorCodes.MEDIA_WAV_UNSUPPORTED,
  ARGUMENT: ErrorCodes.MEDIA_ARGUMENT,
  CLOSED: ErrorCodes.MEDIA_CLOSED,
  NO_TELEPHONE_EVENT: ErrorCodes.MEDIA_NO_TELEPHONE_EVENT,
  RECORDING: ErrorCodes.MEDIA_RECORDING,
  SERVER_UNAVAILABLE: ErrorCodes.MEDIA_SERVER_UNAVAILABLE,
} as const;

/** One of {@link MediaErrorCodes}' values. */
export type MediaErrorCode = (typeof MediaErrorCodes)[keyof typeof MediaErrorCodes];

/** An error of the media layer with a stable {@link MediaErrorCode}. */
export class MediaError extends VaError {
  /** @param code stable code; @param message human-readable reason */
  constructor(code: MediaErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'MediaError';
  }
}
