import { DEFAULT_VIRTUAL_START, VirtualClock } from '../../src/sim/virtual-clock';

describe('VirtualClock', () => {
  it('starts at the given time and stands still until driven', async () => {
    const clock = new VirtualClock(1_000);
    let fired = false;
    clock.setTimeout(() => (fired = true), 0);
    await new Promise((r) => setImmediate(r));
    expect(clock.now()).toBe(1_000);
    expect(fired).toBe(false);
    expect(new VirtualClock().now()).toBe(DEFAULT_VIRTUAL_START);
  });

  it('fires timers by due time, then in creation order, moving now to each', async () => {
    const clock = new VirtualClock(0);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`c@${clock.now()}`), 300);
    clock.setTimeout(() => seen.push(`a@${clock.now()}`), 100);
    clock.setTimeout(() => seen.push(`b1@${clock.now()}`), 200);
    clock.setTimeout(() => seen.push(`b2@${clock.now()}`), 200);
    clock.setTimeout(() => seen.push(`neg@${clock.now()}`), -5);
    await clock.advance(1_000);
    expect(seen).toEqual(['neg@0', 'a@100', 'b1@200', 'b2@200', 'c@300']);
    expect(clock.now()).toBe(1_000);
  });

  it('clearTimeout cancels; unknown and fired handles are ignored', async () => {
    const clock = new VirtualClock(0);
    const seen: number[] = [];
    const a = clock.setTimeout(() => seen.push(1), 10);
    const b = clock.setTimeout(() => seen.push(2), 20);
    clock.clearTimeout(a);
    clock.clearTimeout(a);
    clock.clearTimeout(undefined);
    clock.clearTimeout({});
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(50);
    clock.clearTimeout(b);
    expect(seen).toEqual([2]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('advance(ms) fires only what is due and lands exactly on now + ms', async () => {
    const clock = new VirtualClock(0);
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.now()), 5_000);
    clock.setTimeout(() => seen.push(clock.now()), 5_001);
    await clock.advance(5_000);
    expect(seen).toEqual([5_000]);
    expect(clock.now()).toBe(5_000);
    await clock.advance(0);
    expect(seen).toEqual([5_000]);
    await clock.advance(1);
    expect(seen).toEqual([5_000, 5_001]);
  });

  it('lets promise chains settle between timers (a timer set from a promise callback still fires in order)', async () => {
    const clock = new VirtualClock(0);
    const seen: string[] = [];
    const sleep = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));
    const script = async (name: string, steps: number[]) => {
      for (const ms of steps) {
        await sleep(ms);
        await Promise.resolve();
        seen.push(`${name}@${clock.now()}`);
      }
    };
    void script('x', [100, 100, 100]);
    void script('y', [150, 150]);
    await clock.advance(1_000);
    // y's second timer (set at 150) was created before x's third (set at 200): both due at 300, y first.
    expect(seen).toEqual(['x@100', 'y@150', 'x@200', 'y@300', 'x@300']);
  });

  it('advanceUntil stops when the condition holds, at the limit, or when nothing is left', async () => {
    const clock = new VirtualClock(0);
    let n = 0;
    const tick = () => {
      n++;
      clock.setTimeout(tick, 1_000);
    };
    clock.setTimeout(tick, 1_000);
    expect(await clock.advanceUntil(() => n === 3, 60_000)).toBe(true);
    expect(clock.now()).toBe(3_000);
    expect(await clock.advanceUntil(() => n === 100, 10_500)).toBe(false);
    expect(clock.now()).toBe(13_500);
    expect(n).toBe(13);

    const idle = new VirtualClock(0);
    idle.setTimeout(() => {}, 10);
    expect(await idle.runUntilIdle(1_000)).toBe(true);
    expect(idle.now()).toBe(10);
    expect(await idle.advanceUntil(() => false, 1_000)).toBe(false);
    expect(idle.now()).toBe(10);
  });

  it('waits for busy work before moving time on', async () => {
    let busy = true;
    const clock = new VirtualClock(0, { isBusy: () => busy });
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`timer@${clock.now()}`), 10);
    // Real asynchronous work (like a thread-pool hash) that must be seen before the timer fires.
    setTimeout(() => {
      seen.push(`work@${clock.now()}`);
      busy = false;
    }, 20);
    await clock.advance(100);
    expect(seen).toEqual(['work@0', 'timer@10']);
  });

  it('gives up on a stall after stallMs of real time and reports it', async () => {
    const stalls: number[] = [];
    const clock = new VirtualClock(0, { isBusy: () => true, stallMs: 30, onStall: () => stalls.push(clock.now()) });
    clock.setTimeout(() => {}, 10);
    await clock.advance(20);
    expect(stalls.length).toBeGreaterThan(0);
    expect(clock.now()).toBe(20);
  });

  it('handles many thousands of timers quickly', async () => {
    const clock = new VirtualClock(0);
    let fired = 0;
    const handles = [];
    for (let i = 0; i < 20_000; i++) handles.push(clock.setTimeout(() => fired++, (i * 7919) % 10_000));
    for (let i = 0; i < handles.length; i += 2) clock.clearTimeout(handles[i]);
    const t0 = Date.now();
    let last = -1;
    let ordered = true;
    while (clock.fireNext()) {
      if (clock.now() < last) ordered = false;
      last = clock.now();
    }
    expect(fired).toBe(10_000);
    expect(ordered).toBe(true);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });
});
