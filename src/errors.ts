/**
 * Errors with a stable machine-readable code (`VA_ERR_<AREA>_<WHAT>`), as in fastify's `lib/errors.js`.
 * docs/error-codes.md keeps the table of codes; add a code there when adding one here.
 */

/** Every error code the project throws on purpose. */
export const ErrorCodes = {
  /** The YAML directory file does not exist or cannot be read. */
  CONFIG_NOT_FOUND: 'VA_ERR_CONFIG_NOT_FOUND',
  /** The YAML directory is not valid YAML, or breaks a rule of the schema; the message names the key path. */
  CONFIG_INVALID: 'VA_ERR_CONFIG_INVALID',
  /** The data folder's store cannot be opened or migrated. */
  STORE_OPEN: 'VA_ERR_STORE_OPEN',
  /**
   * The store cannot be used now: busy or locked past its timeout, out of disk, read-only, an I/O error. A new call
   * gets 503 with Retry-After (issue 19).
   */
  STORE_UNAVAILABLE: 'VA_ERR_STORE_UNAVAILABLE',
  /** A new call was refused with 503: `sip.maxCallsAllowed` calls are up (Exchange's Set-UMService -MaxCallsAllowed). */
  CALL_LIMIT: 'VA_ERR_CALL_LIMIT',
  /** A new call was refused with 503: the process uses more memory than `sip.memoryBudgetMB`. */
  MEMORY_BUDGET: 'VA_ERR_MEMORY_BUDGET',
  /** The named object (mailbox, policy, dial plan, gateway, user) does not exist. */
  NOT_FOUND: 'VA_ERR_NOT_FOUND',
  /** An object with that name or extension already exists. */
  ALREADY_EXISTS: 'VA_ERR_ALREADY_EXISTS',
  /** A PIN breaks the UM mailbox policy (the message says which rule; never the PIN). */
  PIN_POLICY: 'VA_ERR_PIN_POLICY',
  /** The first word on the command line is not a known command or cmdlet. */
  CLI_UNKNOWN_COMMAND: 'VA_ERR_CLI_UNKNOWN_COMMAND',
  /** A cmdlet parameter is unknown, missing, ambiguous, or has an invalid value. */
  CLI_PARAMETER: 'VA_ERR_CLI_PARAMETER',
  /** A setting combination is refused (e.g. LogonFailuresBeforePINReset not below MaxLogonAttempts). */
  INVALID_SETTING: 'VA_ERR_INVALID_SETTING',
  /** A scenario file cannot be read or breaks the scenario format; the message names the file and key path. */
  SIM_SCENARIO_INVALID: 'VA_ERR_SIM_SCENARIO_INVALID',
  /**
   * A scenario file cannot run as a load (`simulate --rate`): it runs `admin:` cmdlets or travels in time, which change
   * the server's store.
   */
  SIM_LOAD_SCENARIO: 'VA_ERR_SIM_LOAD_SCENARIO',
  /**
   * A UM IP gateway address is neither an IP address nor a host name, or (New-/Set-UMIPGateway, Import-Directory) a
   * host name that does not resolve (`dns.lookup`).
   */
  GATEWAY_ADDRESS: 'VA_ERR_GATEWAY_ADDRESS',
  /** SIP could not listen on the address and port (`--sip-host`, `--sip-port`): in use, or not a local address. */
  SIP_BIND: 'VA_ERR_SIP_BIND',
  /** No free even UDP port is left in the RTP port range (`--rtp-ports`). */
  MEDIA_NO_PORT: 'VA_ERR_MEDIA_NO_PORT',
  /** An RTP socket could not be bound for another reason than "in use" (e.g. the host is not a local address). */
  MEDIA_BIND: 'VA_ERR_MEDIA_BIND',
  /** A WAV file cannot be read or converted to 8 kHz mono 16-bit PCM. */
  MEDIA_WAV_UNSUPPORTED: 'VA_ERR_MEDIA_WAV_UNSUPPORTED',
  /** A media argument is out of range (a key that is not DTMF, a negative duration, a bad port range). */
  MEDIA_ARGUMENT: 'VA_ERR_MEDIA_ARGUMENT',
  /** The RTP session or engine is closed. */
  MEDIA_CLOSED: 'VA_ERR_MEDIA_CLOSED',
  /** DTMF could not be sent as RFC 4733: the peer's SDP offered no telephone-event payload type. */
  MEDIA_NO_TELEPHONE_EVENT: 'VA_ERR_MEDIA_NO_TELEPHONE_EVENT',
  /** The media server (FreeSWITCH) could not record the caller: the file was not written or cannot be read. */
  MEDIA_RECORDING: 'VA_ERR_MEDIA_RECORDING',
  /** No media server (FreeSWITCH) is connected, or the one chosen could not set up the call's endpoint. */
  MEDIA_SERVER_UNAVAILABLE: 'VA_ERR_MEDIA_SERVER_UNAVAILABLE',
  /** An e-mail could not be delivered (SMTP refused, or the outbox folder is not writable). */
  MAIL_SEND: 'VA_ERR_MAIL_SEND',
  /** drachtio-server cannot be reached at `--drachtio HOST:PORT` (refused, unreachable, timed out), or is not connected now. */
  DRACHTIO_CONNECT: 'VA_ERR_DRACHTIO_CONNECT',
  /** drachtio-server refused the shared secret (`--drachtio-secret`, `sip.drachtio.secret`). */
  DRACHTIO_AUTH: 'VA_ERR_DRACHTIO_AUTH',
  /** A message from drachtio-server could not be read (a broken frame on the admin connection): dropped, logged. */
  DRACHTIO_MESSAGE: 'VA_ERR_DRACHTIO_MESSAGE',
  /** The SMS provider did not take a text (webhook answered non-2xx, timed out or is unreachable; sink not writable). */
  SMS_SEND: 'VA_ERR_SMS_SEND',
  /** A queued SMS or voice-message mail was still not delivered at the end of `notifications.retryWindowHours`. */
  NOTIFY_FAILED: 'VA_ERR_NOTIFY_FAILED',
  /**
   * `serve` cannot write in a folder it writes to (the data folder, `recordings/`, `outbox/`, `sms/`): a file is in
   * the way, the permissions or a read-only mount refuse it. Checked at start (exit status 1).
   */
  DATA_NOT_WRITABLE: 'VA_ERR_DATA_NOT_WRITABLE',
  /** The HTTP API (issue 21): no API key, or one the store does not know (HTTP 401). */
  HTTP_UNAUTHORIZED: 'VA_ERR_HTTP_UNAUTHORIZED',
  /** The HTTP API: the API key's role does not allow this request (HTTP 403). */
  HTTP_FORBIDDEN: 'VA_ERR_HTTP_FORBIDDEN',
  /** The HTTP API: no such resource (HTTP 404), or the address `--http` / `http.listen` cannot be bound. */
  HTTP: 'VA_ERR_HTTP',
  /** An unexpected error (a bug), answered by the HTTP API as 500 and recorded so in the audit log; the log has it. */
  INTERNAL: 'VA_ERR_INTERNAL',
} as const;

/** One of {@link ErrorCodes}' values. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * The base class of every error the project throws on purpose. `code` is stable and documented in docs/error-codes.md;
 * `message` is for people and never contains a PIN.
 */
export class VaError extends Error {
  /** @param code stable code from {@link ErrorCodes}; @param message human-readable reason, never a secret */
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'VaError';
  }
}

/** True when `err` is a {@link VaError}, optionally with the given code. */
export function isVaError(err: unknown, code?: ErrorCode): err is VaError {
  return err instanceof VaError && (code === undefined || err.code === code);
}

/** SQLite result codes (better-sqlite3's `SqliteError.code`) that say the store cannot be used now, not that a query is wrong. */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|CORRUPT|NOTADB|PROTOCOL|NOMEM)/;

/**
 * True when `err` says the store is unavailable or exhausted rather than that the request was wrong: a
 * `VA_ERR_STORE_UNAVAILABLE` error, or a store adapter's own error with such a code (SQLite: busy or locked past the
 * busy timeout, disk full, I/O error, read-only, cannot open). Signalling answers a new call 503 for these (issue 19).
 */
export function isStoreUnavailable(err: unknown): boolean {
  if (isVaError(err, ErrorCodes.STORE_UNAVAILABLE)) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && SQLITE_UNAVAILABLE.test(code);
}

/** A resource that was exhausted or unavailable, and the code logged for it. */
export interface Exhausted {
  resource: 'rtp-ports' | 'media-server' | 'store' | 'memory';
  code: ErrorCode;
  /** For the log: what ran out (never a secret). */
  detail: string;
}

/** Operating-system error codes of a socket or file that ran out of descriptors or memory. */
const OS_EXHAUSTED = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);

/**
 * Which resource a call set-up error says was exhausted or unavailable; null for any other error (a bug: 500).
 * @param err what opening the call's media, admitting it or routing it threw
 */
export function exhaustedBy(err: unknown): Exhausted | null {
  const message = err instanceof Error ? err.message : String(err);
  if (isVaError(err, ErrorCodes.MEDIA_NO_PORT)) return { resource: 'rtp-ports', code: err.code, detail: message };
  if (isVaError(err, ErrorCodes.MEDIA_BIND)) {
    const cause = (err.cause as { code?: unknown } | undefined)?.code;
    if (typeof cause === 'string' && OS_EXHAUSTED.has(cause)) return { resource: 'rtp-ports', code: err.code, detail: message };
  }
  if (isVaError(err, ErrorCodes.MEDIA_SERVER_UNAVAILABLE)) return { resource: 'media-server', code: err.code, detail: message };
  if (isStoreUnavailable(err)) return { resource: 'store', code: ErrorCodes.STORE_UNAVAILABLE, detail: message };
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_MEMORY_ALLOCATION_FAILED' || (err instanceof RangeError && /allocation failed/i.test(message))) {
    return { resource: 'memory', code: ErrorCodes.MEMORY_BUDGET, detail: message };
  }
  return null;
}
