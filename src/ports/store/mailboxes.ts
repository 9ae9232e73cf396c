/**
 * The mailbox aggregate: a UM-enabled mailbox with its PIN state (hash, set time, PinExpired, FirstTimeUser, the
 * lockout, the sequential logon-failure count) and its PIN history. Security state lives here, never only in a call
 * (DESIGN.md, "The call model"). PINs are stored only as hashes (`domain/pin-hash.ts`): nothing here accepts or
 * returns a plaintext PIN.
 *
 * Asynchronous: the embedded SQLite adapter (`directory/mailbox-repository.ts`) answers at once, the PostgreSQL one
 * (`directory/postgres/`) over the network; both keep each read-modify-write one transaction.
 */
import type { Locale } from '../../domain/locale';
import type { SmsNotificationOption } from '../../domain/directory-objects';

/** A UM-enabled mailbox as stored. `pinHash` is the scrypt hash; the PIN itself is never stored. */
export interface Mailbox {
  identity: string;
  displayName: string;
  extension: string;
  dialPlan: string;
  policy: string;
  pinHash: string;
  /** When the current PIN was set, ms since epoch. */
  pinSetAt: number;
  /** The stored PinExpired flag (see {@link MailboxRepository.pinStatus} for the effective value with PINLifetime). */
  pinExpired: boolean;
  firstTimeUser: boolean;
  lockedOut: boolean;
  /** Sequential failed sign-ins across calls (cleared by a success or an admin PIN reset). */
  logonFailures: number;
  smsNotificationOption: SmsNotificationOption;
  mobileNumber: string | null;
  /** Mailbox language override; the dial plan's DefaultLanguage when null. */
  language: Locale | null;
  greetingFile: string | null;
  nameFile: string | null;
}

/** Get-UMMailboxPIN's view of a mailbox ([D-GETPIN], [VOSS] field names). */
export interface PinStatus {
  UserID: string;
  PinExpired: boolean;
  FirstTimeUser: boolean;
  LockedOut: boolean;
}

/** Mailbox fields an administrator may change with Set-UMMailbox. */
export interface MailboxPatch {
  displayName?: string;
  smsNotificationOption?: SmsNotificationOption;
  mobileNumber?: string | null;
  language?: Locale | null;
  policy?: string;
  firstTimeUser?: boolean;
  greetingFile?: string | null;
  nameFile?: string | null;
}

/** What Enable-UMMailbox stores: the new mailbox, its policy's name and its first PIN's hash. */
export interface NewMailbox {
  identity: string;
  displayName: string;
  extension: string;
  policy: string;
  pinHash: string;
  pinExpired: boolean;
}

/** A mailbox as a directory file describes it (Import-Directory), with its initial PIN state; its PIN is not read. */
export interface DirectoryFileMailbox {
  identity: string;
  displayName: string;
  extension: string;
  policy: string;
  pinExpired: boolean;
  firstTimeUser: boolean;
  lockedOut: boolean;
  smsNotificationOption: SmsNotificationOption;
  mobileNumber?: string;
  language?: Locale;
}

/** What an automatic PIN reset's write did ({@link MailboxRepository.replacePinHash}). */
export type PinReplacement = 'replaced' | 'locked' | 'pin-changed';

/** The mailboxes, their PIN state and PIN history. Identities compare case-insensitively. */
export interface MailboxRepository {
  /** All UM-enabled mailboxes, by identity. */
  listMailboxes(): Promise<Mailbox[]>;

  /** The mailbox, or undefined. Identity is case-insensitive. */
  findMailbox(identity: string): Promise<Mailbox | undefined>;

  /** The mailbox. @throws VaError VA_ERR_NOT_FOUND */
  getMailbox(identity: string): Promise<Mailbox>;

  /** The mailbox with this extension, in one dial plan or (when omitted) any. */
  findMailboxByExtension(extension: string, dialPlan?: string): Promise<Mailbox | undefined>;

  /**
   * The mailbox whose mobile number or extension equals a caller's number, with or without its leading `+` (for the
   * own-phone shortcut).
   */
  findMailboxByCaller(callerNumber: string): Promise<Mailbox | undefined>;

  /**
   * UM-enables a mailbox (Enable-UMMailbox [E-ENABLE]). The extension must have the dial plan's digit count.
   * @returns the new mailbox (FirstTimeUser set, not locked)
   * @throws VaError VA_ERR_NOT_FOUND (policy), VA_ERR_ALREADY_EXISTS, VA_ERR_INVALID_SETTING (extension length)
   */
  enableMailbox(m: NewMailbox): Promise<Mailbox>;

  /**
   * Adds a mailbox of a directory file with its initial state (Import-Directory: new mailboxes only). The PIN was
   * checked against the policy and hashed by the caller.
   * @param pinHash the initial PIN's hash, or `unset` for a mailbox without one
   * @throws VaError VA_ERR_NOT_FOUND (policy), VA_ERR_ALREADY_EXISTS, VA_ERR_INVALID_SETTING (extension length)
   */
  addDirectoryMailbox(m: DirectoryFileMailbox, pinHash: string): Promise<Mailbox>;

  /** Removes UM from a mailbox (Disable-UMMailbox); its PIN history goes too, voice messages stay. @throws VaError VA_ERR_NOT_FOUND */
  disableMailbox(identity: string): Promise<void>;

  /**
   * Changes per-mailbox settings (Set-UMMailbox, first-time setup, greeting files). A new policy must belong to the
   * mailbox's dial plan.
   * @throws VaError VA_ERR_NOT_FOUND, VA_ERR_INVALID_SETTING
   */
  updateMailbox(identity: string, patch: MailboxPatch): Promise<Mailbox>;

  /** The effective PIN state of a mailbox, PINLifetime included ([D-GETPIN]). @throws VaError VA_ERR_NOT_FOUND (policy) */
  pinStatus(m: Mailbox): Promise<PinStatus>;

  /** The last `count` PIN hashes of a mailbox, newest first (the current PIN included). */
  pinHistory(identity: string, count: number): Promise<string[]>;

  /**
   * Stores a new PIN hash (an administrator's set, a user's change): sets PinExpired, clears the failure count, sets
   * or clears the lockout, and appends to the PIN history (trimmed to the 20 newest, PINHistoryCount's maximum).
   * @throws VaError VA_ERR_NOT_FOUND
   */
  setPinHash(identity: string, pinHash: string, opts: { expired: boolean; lockedOut: boolean }): Promise<void>;

  /**
   * Stores the PIN hash of an automatic PIN reset (LogonFailuresBeforePINReset, [D-POL][E-RESET]): sets only the
   * hash, its set time, PinExpired and the PIN history; the lockout and the failure count are left as they are, so
   * the reset never lifts a lockout nor lowers the count toward MaxLogonAttempts (issue 19). Checked and written
   * atomically: nothing is written when the mailbox is locked or when its PIN is no longer `ifPinHash` (someone
   * changed it meanwhile: that PIN stands).
   * @param pinHash the new hash; @param opts.ifPinHash the hash the reset replaces
   * @returns `replaced`, or why not: `locked` or `pin-changed`
   * @throws VaError VA_ERR_NOT_FOUND
   */
  replacePinHash(identity: string, pinHash: string, opts: { expired: boolean; ifPinHash: string }): Promise<PinReplacement>;

  /** Sets or clears the lockout without touching the PIN (clearing it also clears the failure count). @throws VaError VA_ERR_NOT_FOUND */
  setLockedOut(identity: string, lockedOut: boolean): Promise<void>;

  /** Clears the failure count after a successful sign-in; writes nothing when it is already 0 (the usual case). */
  clearLogonFailures(identity: string): Promise<void>;

  /**
   * Atomically applies `decide` to the mailbox's current failure count and lockout and stores its result: the read
   * and the write are one transaction (serialised with every other writer of the store, on this instance or
   * another), so concurrent calls never lose a failure or a lockout (issue 19). `decide` must be synchronous (no
   * await between the read and the write); `lockedOut` omitted keeps the current value. Nothing is written when
   * neither value changes.
   * @param seen the mailbox as the caller has just read or written it, when it has it: an adapter whose read and
   *   write are separate round trips (PostgreSQL's compare-and-set) tries its first write against these counts and
   *   reads again only when they changed meanwhile, saving a round trip; the outcome is the same
   * @returns what `decide` returned
   * @throws VaError VA_ERR_NOT_FOUND
   */
  updateLogonFailures<T extends { failures: number; lockedOut?: boolean }>(identity: string, decide: (m: Mailbox) => T, seen?: Mailbox): Promise<T>;

  /**
   * Compare-and-set of the cross-call sign-in state: stores `next` (failure count and lockout) only if the mailbox's
   * stored failure count, lockout and PIN hash are still those of `seen`, in one atomic step (issue 20: a sign-in
   * whose row nobody changed since the caller's extension lookup settles in one round trip). When `next` equals
   * `seen`'s state nothing is written: the comparison alone is made (a read on PostgreSQL, no change notification).
   * @param seen the mailbox as read earlier in this call; @param next the state to store
   * @returns true when the row still matched (and `next` is stored), false when something changed it since or it
   *   is gone (nothing written)
   */
  compareAndSetLogonState(seen: Mailbox, next: { failures: number; lockedOut: boolean }): Promise<boolean>;
}
