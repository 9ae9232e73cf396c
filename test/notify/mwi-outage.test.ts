/**
 * Issue 19, "Nothing lost", on the virtual clock: every UM IP gateway goes down and comes back while the lamps change.
 * The simulator's gateways (`SimMwiGateways`, as `voice-access simulate` uses them) answer as a mutable table says
 * (`refused`: nothing listens; `timeout`: a black hole), the MwiService is wired as the runner wires it, and the lamp
 * changes are made on the store and announced with `mailboxChanged`, which is what the call runtime does when a
 * message is left, heard or deleted.
 * - Down 3 virtual minutes (less than the 5-minute retry window), then back: every mailbox ends with its right
 *   state, sent as a change (not by the refresh), no delivery is given up, and the states arrive in order (see
 *   `lamp-order.ts`: a subsequence of what the counts went through, intermediate states coalesced, nothing stale).
 * - Down 20 virtual minutes: each mailbox's delivery is given up once its window ran out; once the gateways are
 *   back, the next change sets the lamp right, and the 12-hour refresh does for the mailboxes that did not change.
 * - A gateway that takes the NOTIFYs but whose answers are lost: the lamp may have changed although no delivery was
 *   confirmed; once the delivery is given up, a later change must be sent even when it brings the counts back to
 *   the last confirmed state.
 */
import * as path from 'node:path';
import pino from 'pino';
import type { App } from '../../src/app';
import { parseMessageSummary } from '../../src/domain/message-summary';
import type { MwiEvent } from '../../src/notify/mwi-publisher';
import { MwiService } from '../../src/notify/mwi-service';
import type { MwiNotifyRequest, MwiNotifyResult, MwiTransport } from '../../src/ports/mwi';
import { SimMwiGateways, type SimGatewayBehaviour } from '../../src/sim/sim-mwi';
import type { VirtualClock } from '../../src/sim/virtual-clock';
import { lampOrderProblems, lampText, type LampChange, type LampReceipt } from './lamp-order';
import { openVirtualApp } from './notify-helpers';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAVID = 'david@contoso.com';
const TONY = 'tony@contoso.com';
const CLAIRE = 'claire@contoso.com';
const EVERY_GATEWAY = ['gw1', 'gw2', 'gw-paris'];

/** The demo directory on a virtual clock, its MWI as `simulate` runs it, gateways the test takes down and back up. */
async function outage() {
  const { app, clock } = await openVirtualApp();
  const store = app.store;
  const settings = app.directory.notifications.mwi;
  const t0 = clock.now();
  /** How each simulated gateway answers now (absent: 200). */
  const behaviours: Record<string, SimGatewayBehaviour> = {};
  const sim = new SimMwiGateways(clock, () => store.listGateways(), behaviours, settings.notifyTimeoutSeconds * 1000, () => clock.now() - t0);
  /** NOTIFYs accepted (2xx), by extension, in the order they were sent; `at` is when they were sent. */
  const receipts = new Map<string, LampReceipt[]>();
  /** NOTIFYs that reached a gateway whose answer was lost (`applyButLose`), by extension: the PBX saw them too. */
  const unanswered = new Map<string, LampReceipt[]>();
  /** Gateways that apply each NOTIFY but never answer (their answers are lost). */
  const applyButLose = new Set<string>();
  const gatewayName = async (rq: MwiNotifyRequest) => (await store.listGateways()).find((g) => g.address === rq.host && g.port === rq.port)?.name ?? `${rq.host}:${rq.port}`;
  const push = (m: Map<string, LampReceipt[]>, extension: string, r: LampReceipt) => m.set(extension, [...(m.get(extension) ?? []), r]);
  const transport: MwiTransport = {
    async sendNotify(rq: MwiNotifyRequest): Promise<MwiNotifyResult> {
      const at = clock.now();
      const gateway = await gatewayName(rq);
      const summary = parseMessageSummary(rq.body);
      if (!summary) throw new Error(`not a message-summary body: ${rq.body}`);
      const receipt = { at, gateway, state: lampText(summary) };
      if (applyButLose.has(gateway)) {
        push(unanswered, rq.extension, receipt);
        return new Promise((_resolve, reject) => clock.setTimeout(() => reject(new Error('no final response (answer lost)')), settings.notifyTimeoutSeconds * 1000));
      }
      const r = await sim.sendNotify(rq);
      if (r.status >= 200 && r.status < 300) push(receipts, rq.extension, receipt);
      return r;
    },
  };
  const events: (MwiEvent & { rel: number })[] = [];
  const service = () => {
    const s = new MwiService({
      store,
      clock,
      logger: pino({ level: 'silent' }),
      transport,
      settings,
      accountHost: '127.0.0.1',
      watchIntervalMs: 0,
      onEvent: (e) => {
        sim.record(e);
        events.push({ ...e, rel: clock.now() - t0 });
      },
    });
    s.start();
    return s;
  };
  let mwi = service();

  /** Each mailbox's states, from its state at the start. */
  const history = new Map<string, LampChange[]>();
  /** Each mailbox's extension (they do not change). */
  const extensions = new Map<string, string>();
  for (const m of await store.listMailboxes()) {
    history.set(m.identity, [{ at: -Infinity, state: lampText(await store.messageCounts(m.identity)) }]);
    extensions.set(m.identity, m.extension);
  }
  const changed = async (identity: string) => {
    history.get(identity)!.push({ at: clock.now(), state: lampText(await store.messageCounts(identity)) });
    mwi.mailboxChanged(identity);
  };
  const lamp = {
    /** A caller leaves a message (urgent or not). */
    async leave(identity: string, urgent = false) {
      await store.addVoiceMessage({ identity, caller: '+14255550123', receivedAt: clock.now(), durationMs: 4000, urgent, audioFile: path.join(app.dataDir, 'none.wav') });
      await changed(identity);
    },
    /** The user hears the first unheard message (the urgent ones first when `urgent`). */
    async hear(identity: string, urgent = false) {
      const m = (await store.listVoiceMessages(identity)).find((v) => v.unheard && (!urgent || v.urgent))!;
      await store.setMessageHeard(identity, m.id, true);
      await changed(identity);
    },
    /** The user marks a heard message unheard again (Outlook's "mark as unread"). */
    async unhear(identity: string) {
      const m = (await store.listVoiceMessages(identity)).find((v) => !v.unheard)!;
      await store.setMessageHeard(identity, m.id, false);
      await changed(identity);
    },
    /** The user deletes a heard (or an unheard) message. */
    async remove(identity: string, heard: boolean) {
      const m = (await store.listVoiceMessages(identity)).find((v) => v.unheard !== heard)!;
      await store.deleteVoiceMessage(identity, m.id);
      await changed(identity);
    },
  };
  const extensionOf = (identity: string) => extensions.get(identity)!;
  const setGateways = (b: SimGatewayBehaviour | 'up') => {
    for (const g of EVERY_GATEWAY) {
      if (b === 'up') delete behaviours[g];
      else behaviours[g] = b;
    }
  };
  return {
    app,
    clock,
    settings,
    lamp,
    setGateways,
    applyButLose,
    events,
    received: (identity: string) => receipts.get(extensionOf(identity)) ?? [],
    unanswered: (identity: string) => unanswered.get(extensionOf(identity)) ?? [],
    history: (identity: string) => history.get(identity)!,
    truth: async (identity: string) => lampText(await store.messageCounts(identity)),
    rel: (at: number) => at - t0,
    /** Stops the MWI service (as `serve` stops) and starts a new one on the same store (the next start). */
    restart: async () => {
      await mwi.stop();
      mwi = service();
    },
    close: async () => {
      await mwi.stop();
      await app.close();
    },
  };
}

type Outage = Awaited<ReturnType<typeof outage>>;

const open: Outage[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function start(): Promise<Outage> {
  const o = await outage();
  open.push(o);
  return o;
}

/** Lamps lit before the outage, delivered while every gateway is up. */
async function baseline(o: Outage, clock: VirtualClock): Promise<void> {
  await o.lamp.leave(DAVID);
  await o.lamp.leave(TONY);
  await clock.advance(1 * MINUTE);
  expect(o.received(DAVID).map((r) => r.state)).toEqual(['1/0 (0/0)']);
  expect(o.received(TONY).map((r) => r.state)).toEqual(['1/0 (0/0)']);
}

/**
 * Lamp changes spread over the first 170 s of an outage that started just now, every state of each mailbox a
 * different one (so a stale state could not pass for a later one): messages left (one urgent), heard, deleted.
 */
async function changesDuringOutage(o: Outage, clock: VirtualClock): Promise<void> {
  const at = async (s: number, change: () => Promise<void>, since: number) => {
    await clock.advance(since + s * 1000 - clock.now());
    await change();
  };
  const since = clock.now();
  await at(10, () => o.lamp.leave(DAVID), since); // 2/0
  await at(30, () => o.lamp.leave(TONY), since); // 2/0
  await at(50, () => o.lamp.hear(DAVID), since); // 1/1
  await at(70, () => o.lamp.hear(TONY), since); // 1/1
  await at(90, () => o.lamp.leave(DAVID, true), since); // 2/1 (1/0)
  await at(120, () => o.lamp.remove(TONY, false), since); // 0/1
  await at(150, () => o.lamp.hear(DAVID, true), since); // 1/2 (0/1)
  await at(170, () => o.lamp.leave(CLAIRE), since); // 1/0, behind gw-paris
}

function expectInOrder(o: Outage, identity: string, lagMs: number): void {
  expect({ identity, problems: lampOrderProblems(o.history(identity), o.received(identity), lagMs) }).toEqual({ identity, problems: [] });
}

describe.each([
  ['refused', 'nothing listens: every attempt is refused at once', 1_000],
  // A black hole: each attempt waits the NOTIFY timeout (32 s) before the next gateway; a failover within a round
  // sends what the round read at its start, so a state may be one that ended up to one timeout before it was sent.
  ['timeout', 'a black hole: every attempt times out', 32_000 + 1_000],
] as const)('every UM IP gateway down (%s: %s)', (behaviour, _what, lagMs) => {
  test('for 3 minutes, less than the retry window: every change made meanwhile arrives once they are back, in order', async () => {
    const o = await start();
    const { clock } = o;
    await baseline(o, clock);
    o.setGateways(behaviour);
    const down = clock.now();
    await changesDuringOutage(o, clock);
    await clock.advance(down + 3 * MINUTE - clock.now());
    // Nothing was accepted while they were down.
    for (const who of [DAVID, TONY, CLAIRE]) expect(o.received(who).filter((r) => r.at >= down)).toEqual([]);
    o.setGateways('up');
    // Well within the 5-minute window of the first change (and the NOTIFY timeout a last black-holed try may take).
    await clock.advance(5 * MINUTE);
    for (const who of [DAVID, TONY, CLAIRE]) {
      expect(o.received(who).at(-1)?.state).toBe(await o.truth(who));
      expectInOrder(o, who, lagMs);
    }
    expect(await o.truth(DAVID)).toBe('1/2 (0/1)');
    expect(await o.truth(TONY)).toBe('0/1 (0/0)');
    expect(await o.truth(CLAIRE)).toBe('1/0 (0/0)');
    // Delivered as changes, within the window: nothing was given up, and no refresh was needed.
    expect(o.events.filter((e) => e.type === 'failed')).toEqual([]);
    const last = (who: string) => o.events.filter((e) => e.type === 'sent' && e.identity === who).at(-1);
    for (const who of [DAVID, TONY, CLAIRE]) expect(last(who)).toMatchObject({ reason: 'change' });
    // Changes after the outage go as usual, in order.
    await o.lamp.leave(TONY, true); // 1/1 (1/0): urgent, so not a state Tony had before
    await clock.advance(1 * MINUTE);
    expect(o.received(TONY).at(-1)?.state).toBe(await o.truth(TONY));
    expectInOrder(o, TONY, lagMs);
  });

  test('for 20 minutes: the changes are given up after the window; the next change or the 12-hour refresh sets the lamp right', async () => {
    const o = await start();
    const { clock, settings } = o;
    await baseline(o, clock);
    o.setGateways(behaviour);
    const down = clock.now();
    await changesDuringOutage(o, clock);
    await clock.advance(down + 20 * MINUTE - clock.now());
    for (const who of [DAVID, TONY, CLAIRE]) expect(o.received(who).filter((r) => r.at >= down)).toEqual([]);
    // Each mailbox's delivery was given up once, at the end of the window that started with its first change.
    const failed = o.events.filter((e): e is Extract<MwiEvent, { type: 'failed' }> & { rel: number } => e.type === 'failed');
    expect(failed.map((e) => e.identity).sort()).toEqual([CLAIRE, DAVID, TONY]);
    for (const f of failed) {
      expect(f.attempts.length).toBeGreaterThan(1);
      expect(f.at - f.attempts[0].at).toBeGreaterThanOrEqual(settings.retryWindowMinutes * MINUTE);
    }
    o.setGateways('up');
    const back = clock.now();
    // David's next change carries everything that happened while the gateways were down.
    await o.lamp.remove(DAVID, true); // 1/1 (0/0): one of the two heard messages deleted
    await clock.advance(1 * MINUTE);
    expect(o.received(DAVID).filter((r) => r.at >= back).map((r) => r.state)).toEqual([await o.truth(DAVID)]);
    expect(await o.truth(DAVID)).toBe('1/1 (0/0)');
    // Tony's and Claire's lamps did not change again: the refresh round (every mailbox once in 12 hours) sets them.
    expect(o.received(TONY).filter((r) => r.at >= back)).toEqual([]);
    await clock.advance(settings.refreshIntervalHours * HOUR);
    for (const who of [DAVID, TONY, CLAIRE]) {
      expect(o.received(who).at(-1)?.state).toBe(await o.truth(who));
      expectInOrder(o, who, lagMs);
    }
    const refreshed = o.events.filter((e) => e.type === 'sent' && e.reason === 'refresh' && o.rel(e.at) > o.rel(back)).map((e) => (e as { identity: string }).identity);
    expect(refreshed).toEqual(expect.arrayContaining([TONY, CLAIRE]));
  });
});

test('answers lost for longer than the window: a later change back to the last confirmed state is still sent', async () => {
  const o = await start();
  const { clock } = o;
  await o.lamp.leave(DAVID); // 1/0 confirmed by gw1
  await clock.advance(1 * MINUTE);
  expect(o.received(DAVID).map((r) => r.state)).toEqual(['1/0 (0/0)']);
  // Both gateways of David's dial plan now take each NOTIFY to the PBX but their answers never come back.
  o.applyButLose.add('gw1');
  o.applyButLose.add('gw2');
  await o.lamp.hear(DAVID); // 0/1: the PBX turns the lamp off, but no delivery is confirmed
  await clock.advance(10 * MINUTE);
  expect(o.events.filter((e) => e.type === 'failed').map((e) => (e as { identity: string }).identity)).toEqual([DAVID]);
  expect(o.unanswered(DAVID).at(-1)?.state).toBe('0/1 (0/0)');
  o.applyButLose.clear();
  // David marks the message unheard again: back to the state gw1 last confirmed, but not what the PBX shows now.
  await o.lamp.unhear(DAVID);
  await clock.advance(1 * MINUTE);
  expect(await o.truth(DAVID)).toBe('1/0 (0/0)');
  expect(o.received(DAVID).map((r) => r.state)).toEqual(['1/0 (0/0)', '1/0 (0/0)']);
});

test('a stop while a NOTIFY waits for its answer: after the next start, a change back to the last confirmed state is sent', async () => {
  const o = await start();
  const { clock } = o;
  await o.lamp.leave(DAVID); // 1/0 confirmed by gw1
  await clock.advance(1 * MINUTE);
  o.applyButLose.add('gw1');
  await o.lamp.hear(DAVID); // 0/1 reaches the PBX; its answer is lost
  await clock.advance(10_000); // the NOTIFY still waits for its answer
  await o.restart();
  o.applyButLose.clear();
  await o.lamp.unhear(DAVID);
  await clock.advance(1 * MINUTE);
  expect(o.unanswered(DAVID).map((r) => r.state)).toEqual(['0/1 (0/0)']);
  expect(o.received(DAVID).map((r) => r.state)).toEqual(['1/0 (0/0)', '1/0 (0/0)']);
});

describe('the order checker (lamp-order.ts) itself', () => {
  const history = [
    { at: -Infinity, state: '0/0 (0/0)' },
    { at: 10, state: '1/0 (0/0)' },
    { at: 20, state: '2/0 (0/0)' },
    { at: 30, state: '1/1 (0/0)' },
  ];
  const r = (at: number, state: string) => ({ at, gateway: 'gw1', state });
  test('accepts a coalesced subsequence, a repeat, and a state read up to the lag before it was sent', () => {
    expect(lampOrderProblems(history, [r(11, '1/0 (0/0)'), r(35, '1/1 (0/0)'), r(40, '1/1 (0/0)')], 1)).toEqual([]);
    expect(lampOrderProblems(history, [r(21, '1/0 (0/0)'), r(31, '1/1 (0/0)')], 5)).toEqual([]);
  });
  test('names a stale state, an older state after a newer one, and a wrong final state', () => {
    expect(lampOrderProblems(history, [r(25, '1/0 (0/0)'), r(35, '1/1 (0/0)')], 1)[0]).toMatch(/#1 .*stale/);
    expect(lampOrderProblems(history, [r(25, '2/0 (0/0)'), r(26, '1/0 (0/0)'), r(35, '1/1 (0/0)')], Infinity)[0]).toMatch(/#2 .*older state after a newer one/);
    expect(lampOrderProblems(history, [r(25, '2/0 (0/0)')], 1)).toEqual(["the last accepted state is 2/0 (0/0), the mailbox's final state 1/1 (0/0)"]);
  });
});
