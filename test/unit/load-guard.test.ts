import { LoadGuard } from '../../src/runtime/load-guard';

function logger() {
  const lines: string[] = [];
  return { lines, warn: (_o: object, msg: string) => void lines.push(`warn ${msg}`), info: (_o: object, msg: string) => void lines.push(`info ${msg}`) };
}

describe('LoadGuard (MaxCallsAllowed)', () => {
  it('refuses with 503 and the Retry-After at the limit, and says so once per episode', () => {
    let active = 0;
    const log = logger();
    const guard = new LoadGuard({ maxCallsAllowed: 2, activeCalls: () => active, retryAfterSeconds: 9, logger: log as never });
    expect(guard.check()).toBeNull();
    active = 2;
    expect(guard.check()).toEqual({ admit: false, status: 503, reason: '2 calls up: MaxCallsAllowed (2) reached', retryAfterSeconds: 9 });
    expect(guard.check()?.status).toBe(503);
    active = 1;
    expect(guard.check()).toBeNull();
    expect(guard.check()).toBeNull();
    expect(guard.refused).toBe(2);
    expect(log.lines).toEqual(['warn new calls refused with 503: 2 calls up: MaxCallsAllowed (2) reached', 'info taking new calls again']);
  });

  it('never refuses without a limit', () => {
    const guard = new LoadGuard({ maxCallsAllowed: null, activeCalls: () => 1e6, retryAfterSeconds: 5 });
    expect(guard.check()).toBeNull();
    expect(guard.refused).toBe(0);
  });

  it('rejects settings that make no sense', () => {
    expect(() => new LoadGuard({ maxCallsAllowed: 0, activeCalls: () => 0, retryAfterSeconds: 5 })).toThrow(RangeError);
    expect(() => new LoadGuard({ maxCallsAllowed: 1.5, activeCalls: () => 0, retryAfterSeconds: 5 })).toThrow(/maxCallsAllowed/);
    expect(() => new LoadGuard({ maxCallsAllowed: 3, activeCalls: () => 0, retryAfterSeconds: 0 })).toThrow(/retryAfterSeconds/);
  });
});
