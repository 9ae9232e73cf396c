/**
 * Unsolicited MWI from two processes on one data folder (two `serve` instances behind drachtio-server): both watch
 * the store and see every change, but each change reaches the gateways once (`directory/mwi-delivery-store.ts`).
 * Two apps on one data folder and one virtual clock, each with its own MwiService and recording transport.
 */
import * as path from 'node:path';
import { openApp, type App } from '../../src/app';
import { startPostgres, type RunningPostgres } from '../../bench/servers/postgres-server';
import { parseMessageSummary } from '../../src/domain/message-summary';
import { MwiService, mwiClaimMs } from '../../src/notify/mwi-service';
import type { MwiNotifyRequest, MwiNotifyResult, MwiTransport } from '../../src/ports/mwi';
import type { VirtualClock } from '../../src/sim/virtual-clock';
import { FakeMailer, memoryLogger, openVirtualApp, trackStore } from './notify-helpers';

/** A gateway that answers 200 after `latencyMs` of virtual time, or holds each NOTIFY while `hold` is set. */
class RecordingGateway implements MwiTransport {
  readonly sent: { extension: string; body: string; at: number }[] = [];
  hold = false;
  private held: (() => void)[] = [];
  constructor(private readonly clock: VirtualClock) {}
  sendNotify(rq: MwiNotifyRequest): Promise<MwiNotifyResult> {
    this.sent.push({ extension: rq.extension, body: rq.body, at: this.clock.now() });
    if (this.hold) return new Promise((resolve) => this.held.push(() => resolve({ status: 200 })));
    return new Promise((resolve) => this.clock.setTimeout(() => resolve({ status: 200 }), 10));
  }
  /** Answers the NOTIFYs held so far. */
  release(): void {
    for (const r of this.held.splice(0)) r();
  }
}

const apps: App[] = [];
const services: MwiService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
  for (const a of apps.splice(0)) await a.close();
});

function service(app: App, clock: VirtualClock): { mwi: MwiService; gateway: RecordingGateway } {
  const gateway = new RecordingGateway(clock);
  const mwi = new MwiService({
    store: app.store,
    clock,
    logger: memoryLogger().logger,
    transport: gateway,
    settings: app.directory.notifications.mwi,
    accountHost: '127.0.0.1',
    watchIntervalMs: 1000,
  });
  mwi.start();
  services.push(mwi);
  return { mwi, gateway };
}

let pg: RunningPostgres | undefined;
afterAll(async () => {
  await pg?.stop();
}, 30_000);

/** Where the two instances' store is: the first one's data folder, or a new PostgreSQL database. */
type StoreKind = 'SQLite' | 'PostgreSQL';

/** Two instances on one store and clock; A and B are their MWI services. */
async function twoInstances(kind: StoreKind) {
  let store: string | undefined;
  if (kind === 'PostgreSQL') {
    pg ??= await startPostgres();
    store = await pg.createDatabase('mwi_shared');
  }
  const first = await openVirtualApp(undefined, undefined, store);
  apps.push(first.app);
  // With PostgreSQL, a data folder of its own, as on another machine.
  const second = await openApp({ config: first.config, data: store ? `${first.data}-2` : first.data, store, clock: first.clock, mailer: new FakeMailer() });
  apps.push(second);
  trackStore(second);
  const clock = first.clock;
  const a = service(first.app, clock);
  const b = service(second, clock);
  // Each service reads every mailbox's counts when it starts: let both finish before anything changes.
  await clock.advance(0);
  const addMessage = (app: App) =>
    app.store.addVoiceMessage({ identity: 'david@contoso.com', caller: '+14255550123', receivedAt: clock.now(), durationMs: 4000, urgent: false, audioFile: path.join(first.data, 'm.wav') });
  const lamp = (g: RecordingGateway) =>
    g.sent.map((n) => {
      const summary = parseMessageSummary(n.body);
      if (!summary) throw new Error(`not a message-summary body: ${n.body}`);
      return `${n.extension} ${summary.messagesWaiting ? 'on' : 'off'}`;
    });
  /** A third process's store (a cmdlet's) on the same database. */
  const thirdProcess = async () => {
    const app = await openApp({ config: first.config, data: store ? `${first.data}-3` : first.data, store, mailer: new FakeMailer() });
    trackStore(app);
    return app.store;
  };
  return { clock, data: first.data, first: first.app, second, a, b, addMessage, lamp, thirdProcess };
}

describe.each<StoreKind>(['SQLite', 'PostgreSQL'])('two instances on one %s store', (kind) => {
  // On SQLite the other instance learns of a change at its next look (every second); on PostgreSQL it is told at
  // once and may claim the mailbox first. Either way exactly one of them sends each change.
  test('a change made through one instance is NOTIFYed once, by one of the two', async () => {
    const { clock, first, a, b, addMessage, lamp } = await twoInstances(kind);
    await addMessage(first);
    a.mwi.mailboxChanged('david@contoso.com');
    await clock.advance(5_000); // five looks at the store by each instance
    expect([...lamp(a.gateway), ...lamp(b.gateway)]).toEqual(['51235 on']);
  });

  test('a change made by a third process (a cmdlet) is NOTIFYed once, by whichever instance sees it first', async () => {
    const { clock, data, a, b, lamp, thirdProcess } = await twoInstances(kind);
    const cmdlet = await thirdProcess();
    try {
      await cmdlet.addVoiceMessage({ identity: 'david@contoso.com', caller: null, receivedAt: clock.now(), durationMs: 4000, urgent: false, audioFile: path.join(data, 'm.wav') });
    } finally {
      await cmdlet.close();
    }
    await clock.advance(5_000);
    expect([...lamp(a.gateway), ...lamp(b.gateway)]).toEqual(['51235 on']);
  });

  test('while one instance is still sending a state, the other does not send it too; later changes go once each', async () => {
    const { clock, first, second, a, b, addMessage, lamp } = await twoInstances(kind);
    a.gateway.hold = b.gateway.hold = true; // slow gateways: the sender's NOTIFY is in flight while the other looks
    await addMessage(first);
    a.mwi.mailboxChanged('david@contoso.com');
    await clock.advance(3_000);
    expect([...lamp(a.gateway), ...lamp(b.gateway)]).toEqual(['51235 on']);
    a.gateway.hold = b.gateway.hold = false;
    a.gateway.release();
    b.gateway.release();
    await clock.advance(3_000);
    // David hears the message through B: one of them sends the lamp off, once.
    const [m] = await second.store.listVoiceMessages('david@contoso.com');
    await second.store.setMessageHeard('david@contoso.com', m.id, true);
    b.mwi.mailboxChanged('david@contoso.com');
    await clock.advance(5_000);
    expect([...lamp(a.gateway), ...lamp(b.gateway)].sort()).toEqual(['51235 off', '51235 on']);
  });

  test('a change whose sender died mid-delivery is sent by the other instance when the claim runs out', async () => {
    const { clock, first, a, b, addMessage, lamp } = await twoInstances(kind);
    a.gateway.hold = b.gateway.hold = true; // the sender's NOTIFY never gets an answer: it died while sending
    const t0 = clock.now();
    await addMessage(first);
    a.mwi.mailboxChanged('david@contoso.com');
    await clock.advance(0);
    const [dead, other] = a.gateway.sent.length > 0 ? [a, b] : [b, a];
    expect(lamp(dead.gateway)).toEqual(['51235 on']);
    other.gateway.hold = false;
    const claimMs = mwiClaimMs(first.directory.notifications.mwi);
    await clock.advance(claimMs - 1);
    expect(other.gateway.sent).toEqual([]);
    await clock.advance(1_000);
    expect(lamp(other.gateway)).toEqual(['51235 on']);
    expect(other.gateway.sent[0].at).toBe(t0 + claimMs);
    // Delivered now: the survivor's later looks at the store send nothing more.
    await clock.advance(claimMs);
    expect(other.gateway.sent).toHaveLength(1);
  });
});

test('a claim left by a crashed process runs out; until then the others leave the mailbox to it', () => {
  return openVirtualApp().then(async ({ app, clock }) => {
    apps.push(app);
    const deliveries = app.store.mwiDeliveries;
    const t0 = clock.now();
    expect(await deliveries.claim('david@contoso.com', 'crashed', t0 + 60_000, t0)).toBe(true);
    expect(await deliveries.claim('DAVID@contoso.com', 'other', t0 + 60_000, t0 + 59_999)).toBe(false);
    expect(await deliveries.claimedUntil('david@contoso.com')).toBe(t0 + 60_000);
    expect(await deliveries.claim('david@contoso.com', 'other', t0 + 120_000, t0 + 60_000)).toBe(true);
    await deliveries.release('david@contoso.com', 'crashed'); // not its claim any more: nothing happens
    expect(await deliveries.claim('david@contoso.com', 'third', t0 + 180_000, t0 + 60_001)).toBe(false);
    await deliveries.delivered('david@contoso.com', 'sig-1', t0);
    expect(await deliveries.lastDelivered('david@contoso.com')).toBe('sig-1');
    await deliveries.releaseAll('other');
    expect(await deliveries.claim('david@contoso.com', 'third', t0 + 180_000, t0 + 60_001)).toBe(true);
  });
});
