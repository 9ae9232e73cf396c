import { applyLogonFailure, shouldDisconnect } from '../../src/domain/logon-failures';

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
