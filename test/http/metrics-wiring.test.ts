/**
 * The metrics `/metrics` serves (issue 21) where no SIP call is needed to see them move: the conference gauges
 * (participants, lobby) from the meeting rooms, the drain switch's refusals from the load guard, the store's query
 * time from the timing proxy (and a method stubbed on the proxied store, as the out-of-resources tests do, then put
 * back), the notification queue's depth and age from a registered reader.
 */
import { counterValue, metrics, registry, watchNotificationQueue } from '../../src/metrics';
import { timedStore } from '../../src/directory/timed-store';
import { LoadGuard } from '../../src/runtime/load-guard';
import { MeetingRooms } from '../../src/runtime/meeting-rooms';

const gauge = async (name: string) => (await registry.getSingleMetric(name)!.get()).values.reduce((s, v) => s + v.value, 0);

test('conference participants and lobby size follow the meeting rooms', async () => {
  const rooms = new MeetingRooms();
  const [p0, l0] = [await gauge('va_conference_participants'), await gauge('va_conference_lobby_size')];
  const left = new AbortController();
  const waiting = rooms.waitForStart('4455667', left.signal).catch(() => 'left');
  const admitted = rooms.waitForStart('4455667');
  expect(await gauge('va_conference_lobby_size')).toBe(l0 + 2);
  left.abort();
  expect(await waiting).toBe('left');
  expect(await gauge('va_conference_lobby_size')).toBe(l0 + 1);
  rooms.start('4455667');
  await admitted;
  rooms.joined('4455667');
  rooms.joined('4455667');
  expect([await gauge('va_conference_participants'), await gauge('va_conference_lobby_size')]).toEqual([p0 + 2, l0]);
  rooms.left('4455667');
  rooms.left('4455667');
  expect(await gauge('va_conference_participants')).toBe(p0);
});

test('the drain switch: NoNewCalls refuses with 503 and Retry-After, counted as draining (not as load); Enabled takes calls again', async () => {
  let active = 3;
  const guard = new LoadGuard({ maxCallsAllowed: 10, activeCalls: () => active, retryAfterSeconds: 9 });
  expect(guard.status).toBe('Enabled');
  expect(guard.check()).toBeNull();
  const before = await counterValue(metrics.callsRefused, { reason: 'draining' });
  expect(guard.setStatus('NoNewCalls')).toBe(true);
  expect(guard.setStatus('NoNewCalls')).toBe(false);
  expect(guard.check()).toMatchObject({ admit: false, status: 503, retryAfterSeconds: 9 });
  expect(await counterValue(metrics.callsRefused, { reason: 'draining' })).toBe(before + 1);
  expect(guard.refused).toBe(0);
  active = 0;
  guard.setStatus('Enabled');
  expect(guard.check()).toBeNull();
});

test('the store timing proxy: each asynchronous call observed by operation, repositories prefixed; a stub assigned and put back works', async () => {
  class FakeStore {
    readonly admin = { async findApiKeyByHash(h: string) { return h === 'x' ? { name: 'k' } : undefined; } };
    private rows = 2;
    async listDialPlans() { return [this.rows]; }
    now() { return 42; }
  }
  const raw = new FakeStore();
  const store = timedStore(raw);
  const count = async (operation: string) => {
    const { values } = await metrics.storeQueryDuration.get();
    return values.find((v) => v.metricName === 'va_store_query_duration_seconds_count' && v.labels.operation === operation)?.value ?? 0;
  };
  const [plans0, keys0] = [await count('listDialPlans'), await count('admin.findApiKeyByHash')];
  expect(store).toBeInstanceOf(FakeStore);
  expect(await store.listDialPlans()).toEqual([2]);
  expect(await store.admin.findApiKeyByHash('x')).toEqual({ name: 'k' });
  expect(store.now()).toBe(42);
  expect([await count('listDialPlans'), await count('admin.findApiKeyByHash'), await count('now')]).toEqual([plans0 + 1, keys0 + 1, 0]);
  // serve-out-of-resources.test.ts: bind the method, stub it, put the bound one back.
  const original = store.listDialPlans.bind(store);
  store.listDialPlans = async () => {
    throw new Error('database is locked');
  };
  await expect(store.listDialPlans()).rejects.toThrow('database is locked');
  store.listDialPlans = original;
  expect(await store.listDialPlans()).toEqual([2]);
});

test('the notification queue gauges: the depth and the oldest row\'s age of every registered queue', async () => {
  const stop = watchNotificationQueue(async () => ({ depth: 3, oldestCreatedAt: 10_000, now: 70_000 }));
  try {
    expect(await gauge('va_notification_queue_depth')).toBe(3);
    expect(await gauge('va_notification_queue_oldest_age_seconds')).toBe(60);
  } finally {
    stop();
  }
  expect(await gauge('va_notification_queue_depth')).toBe(0);
});
