/**
 * Errors with a stable machine-readable code (`VA_ERR_<AREA>_<WHAT>`), as in fastify's `lib/errors.js`.
 * The README keeps the table of codes; add a code there when adding one here.
 */

/** Every error code the project throws on purpose. */
export const ErrorCodes = {
  /** The YAML directory file does not exist or cannot be read. */
  CONFIG_NOT_FOUND: 'VA_ERR_CONFIG_NOT_FOUND',
  /** The YAML directory is not valid YAML, or breaks a rule of the schema; the message names the key path. */
  CONFIG_INVALID: 'VA_ERR_CONFIG_INVALID',
  /** The data folder's store cannot be opened or migrated. */
  STORE_OPEN: 'VA_ERR_STORE_OPEN',
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
  /** An e-mail could not be delivered (SMTP refused, or the outbox folder is not writable). */
  MAIL_SEND: 'VA_ERR_MAIL_SEND',
} as const;

/** One of {@link ErrorCodes}' values. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * The base class of every error the project throws on purpose. `code` is stable and documented in the README;
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
