/**
 * The PIN rules of an Exchange UM mailbox policy: pure functions, no I/O.
 *
 * Sources: Set-UMMailboxPolicy [D-POL] (MinPINLength 4–24 default 6, PINLifetime 1–999 days or Unlimited default 60,
 * PINHistoryCount 1–20 default 5 "including the current PIN", AllowCommonPatterns default $false),
 * "Set Outlook Voice Access PIN security" [E-PINSEC]; see telephony-facts.md §2.4.
 */
import { randomInt } from 'node:crypto';

/** The longest PIN a caller can enter (Exchange accepts up to 24 digits, the MinPINLength maximum). */
export const MAX_PIN_LENGTH = 24;
/** Milliseconds in a day, for PINLifetime. */
export const DAY_MS = 86_400_000;

/** The subset of a UM mailbox policy that governs PIN choice. */
export interface PinRules {
  /** Minimum PIN length in digits, 4–24. */
  minPinLength: number;
  /** False rejects ascending/descending runs, one repeated digit and the extension's tail; true only the tail. */
  allowCommonPatterns: boolean;
}

/** Why a PIN is refused; `rule` is stable (used for prompt choice and tests), `message` is for people. */
export interface PinViolation {
  rule: 'not-digits' | 'too-short' | 'too-long' | 'common-pattern' | 'extension-tail' | 'used-before';
  message: string;
}

/** True when every digit is one more (or every digit one less) than the one before: 123456, 654321. */
export function isSequentialRun(pin: string): boolean {
  if (pin.length < 2) return false;
  const step = pin.charCodeAt(1) - pin.charCodeAt(0);
  if (step !== 1 && step !== -1) return false;
  for (let i = 2; i < pin.length; i++) if (pin.charCodeAt(i) - pin.charCodeAt(i - 1) !== step) return false;
  return true;
}

/** True when the PIN is one digit repeated: 111111. */
export function isRepeatedDigit(pin: string): boolean {
  return pin.length > 1 && /^(\d)\1+$/.test(pin);
}

/**
 * The "suffix of the mailbox extension" rule [E-PINSEC] ("if the extension is 36697, the PIN can't be 6697").
 * Our reading (the docs give only that example): a PIN is refused when it ends with the whole extension
 * (151234 for 51234), or when it is itself the last 4 or more digits of the extension.
 */
export function isExtensionTail(pin: string, extension: string | undefined): boolean {
  if (!extension) return false;
  if (pin.endsWith(extension)) return true;
  return pin.length >= 4 && pin.length <= extension.length && extension.endsWith(pin);
}

/**
 * Checks a candidate PIN against the policy's rules in a fixed order: digits only, length (min, then 24 max),
 * common patterns (when not allowed), extension tail. History is checked by the caller, which holds the hashes
 * (see {@link historyViolation}).
 * @param pin the candidate PIN (never logged, never put into the returned message)
 * @param rules the policy's MinPINLength and AllowCommonPatterns
 * @param extension the mailbox's extension, for the tail rule
 * @returns the first rule broken, or null when the PIN is acceptable
 */
export function checkPin(pin: string, rules: PinRules, extension?: string): PinViolation | null {
  if (!/^[0-9]+$/.test(pin)) return { rule: 'not-digits', message: 'a PIN may contain only the digits 0-9' };
  if (pin.length < rules.minPinLength)
    return { rule: 'too-short', message: `the PIN must have at least ${rules.minPinLength} digits` };
  if (pin.length > MAX_PIN_LENGTH) return { rule: 'too-long', message: `the PIN must have at most ${MAX_PIN_LENGTH} digits` };
  if (!rules.allowCommonPatterns && (isSequentialRun(pin) || isRepeatedDigit(pin)))
    return { rule: 'common-pattern', message: 'the PIN must not be a run of consecutive digits or one repeated digit' };
  if (isExtensionTail(pin, extension))
    return { rule: 'extension-tail', message: 'the PIN must not end with, or be the end of, the extension' };
  return null;
}

/** The violation reported when a PIN matches one of the last PINHistoryCount PINs. */
export function historyViolation(historyCount: number): PinViolation {
  return { rule: 'used-before', message: `the PIN must differ from the last ${historyCount} PINs` };
}

/**
 * Generates a crypto-random PIN of the policy's minimum length that passes {@link checkPin}.
 * @param rules the policy rules; @param extension the mailbox's extension
 * @param avoid optional extra test (e.g. "is in the history"); candidates it accepts are skipped
 */
export function generatePin(rules: PinRules, extension?: string, avoid?: (pin: string) => boolean): string {
  for (let attempt = 0; attempt < 1000; attempt++) {
    let pin = '';
    for (let i = 0; i < rules.minPinLength; i++) pin += String(randomInt(10));
    if (checkPin(pin, rules, extension) === null && !(avoid && avoid(pin))) return pin;
  }
  // Unreachable in practice: with 4+ digits fewer than 1% of candidates break a rule.
  throw new Error('could not generate a PIN that satisfies the policy');
}

/**
 * Whether a PIN must be changed at the next sign-in: the PinExpired flag is set, or PINLifetime has passed since the
 * PIN was set ("UM does not warn before expiry", [E-PINSEC]).
 * @param flag the stored PinExpired flag; @param pinSetAtMs when the PIN was set (ms since epoch)
 * @param lifetimeDays PINLifetime in days, or 'Unlimited'; @param nowMs the current time (ms)
 */
export function isPinExpired(flag: boolean, pinSetAtMs: number, lifetimeDays: number | 'Unlimited', nowMs: number): boolean {
  if (flag) return true;
  if (lifetimeDays === 'Unlimited') return false;
  return nowMs - pinSetAtMs >= lifetimeDays * DAY_MS;
}
