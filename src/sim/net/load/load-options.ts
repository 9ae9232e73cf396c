/**
 * The options of a load run (`voice-access simulate --target udp:HOST:PORT --calls N --rate R/s ...`, issue 22,
 * "Load runs"), parsed and checked here so the command line and the tests give the same errors. Every error names
 * the option (`--rate must be more than 0 calls a second, e.g. 10/s (got "0/s")`).
 */
import { ErrorCodes, VaError } from '../../../errors';
import { formatDuration, parseDuration } from '../../duration';

/** Default interval of the plain progress line when the output is not a terminal, ms. */
export const LOAD_PROGRESS_INTERVAL_MS = 5_000;
/** Refresh interval of the live line on a terminal, ms. */
export const LOAD_LIVE_REFRESH_MS = 1_000;
/** Most calls a load may start: bounds the counters and the run. */
export const LOAD_MAX_CALLS = 100_000_000;
/** Most calls a second. */
export const LOAD_MAX_RATE = 10_000;
/** Most calls at once (each holds an RTP port and a SIP dialog). */
export const LOAD_MAX_CONCURRENCY = 20_000;
/** Longest `--duration`: 7 days, ms. */
export const LOAD_MAX_DURATION_MS = 7 * 86_400_000;

/** A load run's shape, checked by {@link checkLoadShape}. */
export interface LoadShape {
  /** Calls to start in all (a call is one run of a scenario file, picked round robin). */
  calls: number;
  /** New calls a second at most. */
  ratePerSecond: number;
  /** Calls in progress at most (default {@link defaultConcurrency}). */
  concurrency: number;
  /** Stop starting calls after this long, ms (undefined: only `calls` bounds the run). */
  durationMs?: number;
  /** Stop early once more than this many calls failed (undefined: never). */
  maxFailures?: number;
  /** Interval of the plain progress line (not a terminal), ms (default {@link LOAD_PROGRESS_INTERVAL_MS}). */
  progressIntervalMs: number;
}

/** Raised for a bad load option (`VA_ERR_CLI_PARAMETER`); `option` is its name (`--rate`), which starts the message. */
export class LoadOptionError extends VaError {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(ErrorCodes.CLI_PARAMETER, `${option} ${message}`);
    this.name = 'LoadOptionError';
  }
}

/**
 * Parses `--rate`: `R/s` or a plain number (calls a second), `R/m` (a minute) or `R/h` (an hour); fractions allowed.
 * @returns calls a second, more than 0 and at most {@link LOAD_MAX_RATE}
 * @throws LoadOptionError naming `--rate`
 */
export function parseRate(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(?:\/\s*(s|sec|m|min|h))?\s*$/i.exec(text);
  if (!m) throw new LoadOptionError('--rate', `must be calls a second such as 10/s or 10 (or per minute: 30/m) (got "${text}")`);
  const per = (m[2] ?? 's').toLowerCase();
  const rate = Number(m[1]) / (per.startsWith('h') ? 3600 : per.startsWith('m') ? 60 : 1);
  if (!(rate > 0)) throw new LoadOptionError('--rate', `must be more than 0 calls a second, e.g. 10/s (got "${text}")`);
  if (rate > LOAD_MAX_RATE) throw new LoadOptionError('--rate', `must be at most ${LOAD_MAX_RATE}/s (got "${text}")`);
  return rate;
}

/**
 * Parses a whole number option (`--calls`, `--concurrency`, `--max-failures`).
 * @param min the smallest value allowed; @param max the largest
 * @throws LoadOptionError naming the option
 */
export function parseWholeNumber(option: string, text: string, min: number, max: number): number {
  if (!/^\s*\d+\s*$/.test(text)) throw new LoadOptionError(option, `must be a whole number (got "${text}")`);
  const n = Number(text);
  if (n < min || n > max) throw new LoadOptionError(option, `must be ${min === max ? min : `from ${min} to ${max}`} (got "${text}")`);
  return n;
}

/**
 * Parses `--duration` (`10m`, `30s`, `1h30m`).
 * @returns ms, more than 0 and at most 7 days
 * @throws LoadOptionError naming `--duration`
 */
export function parseLoadDuration(text: string, option = '--duration'): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new LoadOptionError(option, `must be a duration such as 30s, 10m or 1h (got "${text}")`);
  if (!(ms > 0)) throw new LoadOptionError(option, `must be more than 0 (got "${text}")`);
  if (ms > LOAD_MAX_DURATION_MS) throw new LoadOptionError(option, `must be at most ${formatDuration(LOAD_MAX_DURATION_MS)} (got "${text}")`);
  return ms;
}

/** The default `--concurrency`: enough for the rate with calls of about a minute, within 1 to 1,000. */
export function defaultConcurrency(ratePerSecond: number): number {
  return Math.max(1, Math.min(1_000, Math.ceil(ratePerSecond * 60)));
}

/**
 * Checks a load run's shape as given on the command line (the values parsed already).
 * @param given `--calls`, `--rate`, `--concurrency`, `--duration`, `--max-failures`, the hidden `--progress-interval`
 * @returns the shape with defaults filled in
 * @throws LoadOptionError when `--rate` is missing, or `--calls` and `--duration` both are
 */
export function checkLoadShape(given: {
  calls?: number;
  ratePerSecond?: number;
  concurrency?: number;
  durationMs?: number;
  maxFailures?: number;
  progressIntervalMs?: number;
}): LoadShape {
  if (given.ratePerSecond === undefined) throw new LoadOptionError('--rate', 'is needed for a load run (--calls or --duration), e.g. --rate 10/s');
  if (given.calls === undefined && given.durationMs === undefined) {
    throw new LoadOptionError('--calls', 'or --duration is needed with --rate: how many calls, or for how long (e.g. --calls 1000 or --duration 10m)');
  }
  return {
    calls: given.calls ?? LOAD_MAX_CALLS,
    ratePerSecond: given.ratePerSecond,
    concurrency: given.concurrency ?? defaultConcurrency(given.ratePerSecond),
    ...(given.durationMs !== undefined ? { durationMs: given.durationMs } : {}),
    ...(given.maxFailures !== undefined ? { maxFailures: given.maxFailures } : {}),
    progressIntervalMs: given.progressIntervalMs ?? LOAD_PROGRESS_INTERVAL_MS,
  };
}
