/**
 * Logging: pino, one child logger per call (`callId`, `flow`), as jambonz does. A PIN, a digit string entered in a
 * PIN state, or a PIN hash must never reach a log: these keys are redacted at any depth pino can address, and
 * callers must log digits only under the key `digits` (redacted) — never inside a message string.
 */
import { readEnvironment } from './config/environment';
import pino, { type DestinationStream, type Logger } from 'pino';

/** Keys whose values are replaced by `[redacted]` wherever they appear (top level and one or two levels down). */
export const SECRET_KEYS = ['pin', 'newPin', 'confirmPin', 'leaderPin', 'pinHash', 'leaderPinHash', 'digits', 'password', 'secret'] as const;

/** pino redact paths for {@link SECRET_KEYS}. */
export const REDACT_PATHS: string[] = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** pino level; `VA_LOG_LEVEL` or `info` by default. */
  level?: string;
  /** Where lines go; stdout by default. */
  destination?: DestinationStream;
}

/** Creates the process's root logger with redaction. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? readEnvironment().logLevel ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { name: 'voice-access' },
    },
    opts.destination,
  );
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const noop = () => undefined;

/**
 * A child logger made on first use: `parent.child(bindings)` costs about 8 µs here (pino serialises and redacts
 * the bindings), and a call makes several (SIP dialog, RTP session, flow) that mostly log nothing at the configured
 * level. A method of a level the parent has disabled is a no-op without making the child. Everything else is the
 * real child's.
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  let real: Logger | undefined;
  const child = () => (real ??= parent.child(bindings));
  return new Proxy(parent, {
    get(_target, key) {
      if (real === undefined && typeof key === 'string' && LEVELS.has(key) && !parent.isLevelEnabled(key)) return noop;
      const r = child();
      const v = Reflect.get(r, key, r) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(r) : v;
    },
  });
}

/** The child logger for one call (made when it first logs: see {@link lazyChild}). */
export function callLogger(root: Logger, callId: string, flow: string): Logger {
  return lazyChild(root, { callId, flow });
}
