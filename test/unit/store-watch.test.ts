/** watchDataVersion (SQLite's watchOtherWriters): looks at data_version every interval and reports changes only; `since` counts; stop stops. */
import { watchDataVersion } from '../../src/directory/store-watch';
import { VirtualClock } from '../../src/sim/virtual-clock';

function setup(since?: number) {
  const clock = new VirtualClock();
  let version = 7;
  const changes: number[] = [];
  const errors: unknown[] = [];
  const stop = watchDataVersion({
    dataVersion: () => {
      if (version < 0) throw new Error('store closed');
      return version;
    },
    clock,
    intervalMs: 1000,
    since,
    onChange: () => changes.push(clock.now()),
    onError: (err) => errors.push(err),
  });
  return { clock, changes, errors, stop, set: (v: number) => (version = v), t0: clock.now() };
}

test('reports a change at the next look, once, and nothing while the version stands', async () => {
  const w = setup();
  await w.clock.advance(3000);
  expect(w.changes).toEqual([]);
  w.set(8);
  await w.clock.advance(2500);
  expect(w.changes).toEqual([w.t0 + 4000]);
});

test('a version other than `since` is a change at the first look; read errors are reported and the watch goes on', async () => {
  const w = setup(6);
  await w.clock.advance(1000);
  expect(w.changes).toEqual([w.t0 + 1000]);
  w.set(-1);
  await w.clock.advance(1000);
  expect(w.errors).toHaveLength(1);
  w.set(9);
  await w.clock.advance(1000);
  expect(w.changes).toEqual([w.t0 + 1000, w.t0 + 3000]);
});

test('stop clears its timer', async () => {
  const w = setup();
  w.stop();
  w.set(8);
  expect(w.clock.pendingTimers).toBe(0);
  await w.clock.advance(5000);
  expect(w.changes).toEqual([]);
});
