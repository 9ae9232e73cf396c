/**
 * KnownGateways: admission reads the store at each call (exact); the flood limiter's synchronous "is this a
 * gateway's address?" answers from the list last read, which each admission and each write of another process
 * (the store's watch) read again; a late answer never replaces a newer one.
 */
import type { Gateway } from '../../src/domain/directory-objects';
import type { OtherWritersWatch } from '../../src/ports/store';
import { KnownGateways } from '../../src/runtime/known-gateways';
import { VirtualClock } from '../../src/sim/virtual-clock';

const gw = (name: string, address: string, status: Gateway['status'] = 'Enabled'): Gateway => ({
  name,
  address,
  port: 5060,
  dialPlan: 'Contoso-DP',
  messageWaitingIndicatorAllowed: true,
  status,
});

/** A store whose gateway list the test sets, whose next read may be held, and whose watch the test fires. */
function fakeStore(initial: Gateway[]) {
  let list = initial;
  let nextHold: Promise<void> | null = null;
  let watch: OtherWritersWatch | null = null;
  return {
    set: (l: Gateway[]) => (list = l),
    holdNextRead: () => {
      let release = () => {};
      nextHold = new Promise<void>((r) => (release = r));
      return release;
    },
    otherWriter: () => watch?.onChange(),
    store: {
      async listGateways(): Promise<Gateway[]> {
        const now = list;
        const hold = nextHold;
        nextHold = null;
        if (hold) await hold;
        return now;
      },
      watchOtherWriters(w: OtherWritersWatch) {
        watch = w;
        return () => (watch = null);
      },
    },
  };
}

test('admission reads the store every time; isGateway answers from the last read', async () => {
  const f = fakeStore([gw('gw1', '10.0.0.1')]);
  const known = new KnownGateways(f.store);
  expect(known.isGateway('10.0.0.1')).toBe(false); // nothing read yet
  await known.refresh();
  expect(known.isGateway('::ffff:10.0.0.1')).toBe(true);
  f.set([gw('gw1', '10.0.0.1', 'Disabled'), gw('gw2', '10.0.0.2', 'NoNewCalls')]);
  expect(known.isGateway('10.0.0.1')).toBe(true); // not read again yet
  expect(await known.admit('10.0.0.2')).toMatchObject({ admit: false, status: 503 });
  expect(known.isGateway('10.0.0.1')).toBe(false); // the admission read the new list
  expect(known.isGateway('10.0.0.2')).toBe(true);
});

test("another process's write reads the list again; a stopped watch no longer does", async () => {
  const f = fakeStore([]);
  const known = new KnownGateways(f.store);
  const stop = known.watch(new VirtualClock(), 1000, { warn: () => undefined });
  f.set([gw('gw1', '10.0.0.1')]);
  f.otherWriter();
  await new Promise((r) => setImmediate(r));
  expect(known.isGateway('10.0.0.1')).toBe(true);
  stop();
  f.set([]);
  f.otherWriter();
  await new Promise((r) => setImmediate(r));
  expect(known.isGateway('10.0.0.1')).toBe(true);
});

test('an older read answering late does not replace a newer one', async () => {
  const f = fakeStore([gw('gw1', '10.0.0.1')]);
  const known = new KnownGateways(f.store);
  const release = f.holdNextRead();
  const older = known.refresh(); // reads the list with gw1; its answer is held
  f.set([]);
  await known.refresh(); // a newer read: no gateway
  expect(known.isGateway('10.0.0.1')).toBe(false);
  release();
  expect(await older).toEqual([gw('gw1', '10.0.0.1')]); // the caller still gets what it read
  expect(known.isGateway('10.0.0.1')).toBe(false);
});
