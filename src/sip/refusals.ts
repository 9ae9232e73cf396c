/**
 * How a signalling adapter (`sip/embedded/`, `sip/drachtio/`) answers a new call it cannot take, shared so both
 * engines answer alike (issue 19, "Out of resources is 503, not 500"): a resource that is exhausted or unavailable
 * (RTP ports, MaxCallsAllowed, the memory budget, the store, the media servers) is the server's state, not the
 * caller's fault nor a bug, so the caller is told 503 Service Unavailable with a Retry-After (RFC 3261 §21.5.4,
 * §20.33) and may try again or elsewhere; the log gets one line with the code (no stack trace per call) and
 * `va_calls_refused_total{reason}` counts it. Anything else that fails while a call is set up is a bug: 500, logged
 * with its stack.
 */
import type { Logger } from 'pino';
import { exhaustedBy } from '../errors';
import { noteExhausted } from '../metrics';

/** The Retry-After of a 503 when the directory names none (`sip.retryAfterSeconds`'s default), s. */
export const DEFAULT_RETRY_AFTER_S = 30;

/** A final response to a new call. */
export interface Refusal {
  status: number;
  /** The reason phrase. */
  reason: string;
  /** Retry-After, s (503 only). */
  retryAfterSeconds?: number;
}

/**
 * The answer to a call whose set-up threw `err`: 503 with Retry-After when a resource ran out (logged and counted
 * by {@link noteExhausted}), else 500 (logged at error with the stack: a bug).
 */
export function refusalForSetupError(err: unknown, log: Pick<Logger, 'warn' | 'error'>, retryAfterSeconds = DEFAULT_RETRY_AFTER_S): Refusal {
  const exhausted = exhaustedBy(err);
  if (exhausted) {
    noteExhausted(log, exhausted);
    return { status: 503, reason: 'Service Unavailable', retryAfterSeconds };
  }
  log.error({ err }, 'cannot set up the call');
  return { status: 500, reason: 'Server Internal Error' };
}

/**
 * The final response for a call the IVR ends before answering it, by the runtime's hang-up cause: `not-found` (the
 * number routes nowhere) 404; `unavailable` (a resource ran out after the call was handed on) and `shutdown` 503
 * with Retry-After; anything else 480 Temporarily Unavailable.
 */
export function refusalForHangupCause(cause: string | undefined, retryAfterSeconds = DEFAULT_RETRY_AFTER_S): Refusal {
  if (cause === 'not-found') return { status: 404, reason: 'Not Found' };
  if (cause === 'unavailable' || cause === 'shutdown') return { status: 503, reason: 'Service Unavailable', retryAfterSeconds };
  return { status: 480, reason: 'Temporarily Unavailable' };
}
