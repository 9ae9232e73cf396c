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
