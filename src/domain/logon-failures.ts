/**
 * The three failed-sign-in counters of Outlook Voice Access (telephony-facts.md §2.9), as pure rules:
 * - per call: LogonFailuresBeforeDisconnect (dial plan, default 3) sequential failures end the call [D-DP][E-DISC];
 * - across calls: at LogonFailuresBeforePINReset (policy, default 5) sequential failures the PIN is reset to a
 *   generated one and e-mailed [D-POL][E-RESET];
 * - across calls: at MaxLogonAttempts (policy, default 15) the mailbox is locked until an administrator unlocks it
 *   [D-POL][E-LOCK].
 * Our documented choice where the sources are silent (telephony-facts.md §2.9 ASSUMPTION): the cross-call count is
 * not cleared by an automatic reset, so with the defaults failures 5 and 10 reset the PIN and failure 15 locks;
 * a successful sign-in clears it. A reset value of 0 (the cmdlet's range allows it) disables the reset, like Unlimited.
 *
 * Concurrent guesses (issue 19): a PIN check is admitted before its result is used, and counted then as a failure,
 * so that many calls at once (on one instance or several sharing the store) never get more than MaxLogonAttempts
 * answers before the lockout. {@link admitLogonAttempt}, {@link settleWrongPin} and {@link settleRightPin} are the
 * three state changes; the store applies each in one atomic read-modify-write (no await between reading and
 * writing), or the three composed in one compare-and-set on the row as read earlier (`PinService.signIn`).
 */

/** The subset of a UM mailbox policy that governs failed sign-ins. */
export interface LogonFailureRules {
  /** Sequential failures that reset the PIN; `Unlimited` or 0 disables. */
  logonFailuresBeforePinReset: number | 'Unlimited';
  /** Sequential failures that lock the mailbox; `Unlimited` disables. */
  maxLogonAttempts: number | 'Unlimited';
}

/** What a failed sign-in leads to. */
export type LogonFailureAction = 'retry' | 'reset' | 'lockout';

/** The outcome of one more failure: the new sequential count and the action it triggers. */
export interface LogonFailureOutcome {
  failures: number;
  action: LogonFailureAction;
}

/**
 * Applies one failed sign-in to the cross-call counter.
 * @param previousFailures sequential failures before this one (0 after a success or an admin reset)
 * @returns the new count, and `lockout` (at MaxLogonAttempts), `reset` (at each multiple of
 *   LogonFailuresBeforePINReset below the lockout) or `retry`
 */
export function applyLogonFailure(previousFailures: number, rules: LogonFailureRules): LogonFailureOutcome {
  const failures = previousFailures + 1;
  if (rules.maxLogonAttempts !== 'Unlimited' && failures >= rules.maxLogonAttempts) return { failures, action: 'lockout' };
  const reset = rules.logonFailuresBeforePinReset;
  if (reset !== 'Unlimited' && reset > 0 && failures % reset === 0) return { failures, action: 'reset' };
  return { failures, action: 'retry' };
}

/**
 * The per-call rule: whether the call ends after this many sequential failed sign-ins in it.
 * @param failuresInCall failed sign-ins so far in this call; @param limit LogonFailuresBeforeDisconnect (1–20)
 */
export function shouldDisconnect(failuresInCall: number, limit: number): boolean {
  return failuresInCall >= limit;
}

/** The cross-call sign-in state of a mailbox, as stored. */
export interface LogonState {
  /** Sequential failed sign-ins across calls, PIN checks still in progress included (each counts as a failure). */
  failures: number;
  lockedOut: boolean;
}

/** A PIN check that {@link admitLogonAttempt} let in: until it proves right it counts as failure number `failures`. */
export interface LogonAttempt {
  /** The sequential failure this attempt is, if the PIN is wrong (1 = the first). */
  failures: number;
  /** What a wrong PIN leads to at this position ({@link applyLogonFailure}). */
  ifWrong: LogonFailureAction;
}

/** What {@link admitLogonAttempt} decided: the state to store, and whether the PIN may be checked. */
export type LogonAdmission =
  | { admitted: true; attempt: LogonAttempt; next: LogonState }
  | { admitted: false; next: LogonState };

/**
 * Admits one PIN check, before the PIN is checked (issue 19): a locked mailbox refuses it; otherwise it is counted at
 * once as the next sequential failure (provisionally: {@link settleRightPin} clears the count if the PIN is right).
 * When the count has already reached MaxLogonAttempts without a lockout, the checks that make up that count are
 * still in progress on other calls (or their process died): this one is refused, and the mailbox locked, since
 * more than MaxLogonAttempts sequential attempts were made without a success [D-POL][E-LOCK]. So at most
 * MaxLogonAttempts PIN checks are ever answered between two successes (or admin resets).
 * @param state the stored state, read in the same transaction that stores `next`
 * @returns `admitted` with the attempt and the state to store, or not admitted (the caller hears "locked")
 */
export function admitLogonAttempt(state: LogonState, rules: LogonFailureRules): LogonAdmission {
  if (state.lockedOut) return { admitted: false, next: state };
  if (rules.maxLogonAttempts !== 'Unlimited' && state.failures >= rules.maxLogonAttempts) {
    return { admitted: false, next: { failures: state.failures, lockedOut: true } };
  }
  const o = applyLogonFailure(state.failures, rules);
  return { admitted: true, attempt: { failures: o.failures, ifWrong: o.action }, next: { failures: o.failures, lockedOut: false } };
}

/**
 * Settles an admitted attempt whose PIN was wrong: the failure it was counted as stays, and its action applies
 * (`lockout` locks; `reset` is for the caller to carry out: mail, then the PIN). When the count went below the
 * attempt's number meanwhile, a success or an administrator's PIN reset cleared it: the sequence this failure
 * belonged to has ended (and the PIN it was checked against may be gone), so it is not counted again and has no
 * action (`retry`, with the current count). A mailbox locked meanwhile stays locked, and the action is then
 * `lockout` (no PIN reset on a locked mailbox).
 * @param state the stored state, read in the same transaction that stores `next`
 * @returns the state to store, and the sequential failure count and the action
 */
export function settleWrongPin(state: LogonState, attempt: LogonAttempt): { next: LogonState; outcome: LogonFailureOutcome } {
  if (state.failures < attempt.failures) {
    return { next: state, outcome: { failures: state.failures, action: state.lockedOut ? 'lockout' : 'retry' } };
  }
  const lockedOut = state.lockedOut || attempt.ifWrong === 'lockout';
  return { next: { failures: state.failures, lockedOut }, outcome: { failures: attempt.failures, action: lockedOut ? 'lockout' : attempt.ifWrong } };
}

/**
 * Settles an admitted attempt whose PIN was right: the count is cleared (failures must be sequential), unless the
 * mailbox was locked meanwhile: then nothing changes and the sign-in is refused (a sign-in never lifts a lockout;
 * only an administrator does, [E-LOCK][D-SETPIN]).
 * @param state the stored state, read in the same transaction that stores `next`
 * @returns the state to store, and whether the caller is signed in
 */
export function settleRightPin(state: LogonState): { next: LogonState; signedIn: boolean } {
  if (state.lockedOut) return { next: state, signedIn: false };
  return { next: { failures: 0, lockedOut: false }, signedIn: true };
}
