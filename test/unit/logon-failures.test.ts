import { admitLogonAttempt, applyLogonFailure, settleRightPin, settleWrongPin, shouldDisconnect } from '../../src/domain/logon-failures';

/** Runs n failures from zero and returns the actions. */
function run(n: number, rules: Parameters<typeof applyLogonFailure>[1]) {
  const actions: string[] = [];
  let failures = 0;
  for (let i = 0; i < n; i++) {
    const o = applyLogonFailure(failures, rules);
    failures = o.failures;
    actions.push(o.action);
  }
  return actions;
}

describe('applyLogonFailure (LogonFailuresBeforePINReset / MaxLogonAttempts)', () => {
  it('with the defaults (5, 15): reset at 5 and 10, lockout at 15', () => {
    const a = run(15, { logonFailuresBeforePinReset: 5, maxLogonAttempts: 15 });
    expect(a.map((x, i) => (x === 'retry' ? null : `${i + 1}:${x}`)).filter(Boolean)).toEqual(['5:reset', '10:reset', '15:lockout']);
  });
  it('resets at exactly N, not before', () => {
    expect(applyLogonFailure(3, { logonFailuresBeforePinReset: 5, maxLogonAttempts: 15 }).action).toBe('retry');
    expect(applyLogonFailure(4, { logonFailuresBeforePinReset: 5, maxLogonAttempts: 15 })).toEqual({ failures: 5, action: 'reset' });
  });
  it('locks at exactly M, and stays locked beyond', () => {
    expect(applyLogonFailure(13, { logonFailuresBeforePinReset: 5, maxLogonAttempts: 15 }).action).toBe('retry');
    expect(applyLogonFailure(14, { logonFailuresBeforePinReset: 5, maxLogonAttempts: 15 }).action).toBe('lockout');
    expect(applyLogonFailure(20, { logonFailuresBeforePinReset: 5, maxLogonAttempts: 15 }).action).toBe('lockout');
  });
  it('a lockout at a multiple of the reset value is a lockout, not a reset', () => {
    expect(applyLogonFailure(9, { logonFailuresBeforePinReset: 5, maxLogonAttempts: 10 }).action).toBe('lockout');
  });
  it('Unlimited or 0 disables the reset; Unlimited disables the lockout', () => {
    expect(run(30, { logonFailuresBeforePinReset: 'Unlimited', maxLogonAttempts: 'Unlimited' }).every((a) => a === 'retry')).toBe(true);
    expect(run(14, { logonFailuresBeforePinReset: 0, maxLogonAttempts: 15 }).every((a) => a === 'retry')).toBe(true);
    expect(run(5, { logonFailuresBeforePinReset: 5, maxLogonAttempts: 'Unlimited' })[4]).toBe('reset');
  });
  it('MaxLogonAttempts 1 locks on the first failure', () => {
    expect(applyLogonFailure(0, { logonFailuresBeforePinReset: 'Unlimited', maxLogonAttempts: 1 }).action).toBe('lockout');
  });
});

describe('shouldDisconnect (LogonFailuresBeforeDisconnect, per call)', () => {
  it('disconnects at the limit, not before', () => {
    expect(shouldDisconnect(2, 3)).toBe(false);
    expect(shouldDisconnect(3, 3)).toBe(true);
    expect(shouldDisconnect(1, 1)).toBe(true);
  });
});

describe('admitting and settling concurrent PIN checks (issue 19)', () => {
  const rules = { logonFailuresBeforePinReset: 3, maxLogonAttempts: 6 } as const;

  it('admits each check as the next failure, refuses at MaxLogonAttempts in progress and locks, refuses a locked mailbox', () => {
    let state = { failures: 0, lockedOut: false };
    const positions: string[] = [];
    for (let i = 0; i < 8; i++) {
      const a = admitLogonAttempt(state, rules);
      state = a.next;
      positions.push(a.admitted ? `${a.attempt.failures}:${a.attempt.ifWrong}` : 'refused');
    }
    // Six checks in progress at once: the seventh is refused and locks, the eighth meets the lockout.
    expect(positions).toEqual(['1:retry', '2:retry', '3:reset', '4:retry', '5:retry', '6:lockout', 'refused', 'refused']);
    expect(state).toEqual({ failures: 6, lockedOut: true });
    expect(admitLogonAttempt({ failures: 0, lockedOut: true }, rules)).toEqual({ admitted: false, next: { failures: 0, lockedOut: true } });
  });

  it('Unlimited MaxLogonAttempts never refuses an unlocked mailbox', () => {
    const a = admitLogonAttempt({ failures: 500, lockedOut: false }, { logonFailuresBeforePinReset: 'Unlimited', maxLogonAttempts: 'Unlimited' });
    expect(a).toMatchObject({ admitted: true, attempt: { failures: 501, ifWrong: 'retry' } });
  });

  it('a wrong PIN keeps its failure and its action; a lockout meanwhile turns a reset into the lockout', () => {
    const attempt = { failures: 3, ifWrong: 'reset' as const };
    expect(settleWrongPin({ failures: 5, lockedOut: false }, attempt)).toEqual({ next: { failures: 5, lockedOut: false }, outcome: { failures: 3, action: 'reset' } });
    expect(settleWrongPin({ failures: 6, lockedOut: true }, attempt)).toEqual({ next: { failures: 6, lockedOut: true }, outcome: { failures: 3, action: 'lockout' } });
    expect(settleWrongPin({ failures: 6, lockedOut: false }, { failures: 6, ifWrong: 'lockout' })).toEqual({
      next: { failures: 6, lockedOut: true },
      outcome: { failures: 6, action: 'lockout' },
    });
  });

  it('a wrong PIN whose count was cleared meanwhile (a success, an admin reset) is not counted again and has no action', () => {
    expect(settleWrongPin({ failures: 0, lockedOut: false }, { failures: 3, ifWrong: 'reset' })).toEqual({
      next: { failures: 0, lockedOut: false },
      outcome: { failures: 0, action: 'retry' },
    });
    expect(settleWrongPin({ failures: 1, lockedOut: false }, { failures: 6, ifWrong: 'lockout' }).next).toEqual({ failures: 1, lockedOut: false });
    expect(settleWrongPin({ failures: 0, lockedOut: true }, { failures: 2, ifWrong: 'retry' }).outcome.action).toBe('lockout');
  });

  it('a right PIN clears the count, but never signs in to (nor unlocks) a mailbox locked meanwhile', () => {
    expect(settleRightPin({ failures: 4, lockedOut: false })).toEqual({ next: { failures: 0, lockedOut: false }, signedIn: true });
    expect(settleRightPin({ failures: 6, lockedOut: true })).toEqual({ next: { failures: 6, lockedOut: true }, signedIn: false });
  });
});
