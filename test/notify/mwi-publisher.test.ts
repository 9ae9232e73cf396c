/**
 * MwiPublisher on the virtual clock (issue 5 "Virtual-clock scenarios": the 5-minute failover window runs out and
 * logs; the 12-hour refresh; coalescing), with an in-memory transport standing in for the gateways.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { parseMessageSummary, type MwiState } from '../../src/domain/message-summary';
import { MwiPublisher, type MwiEvent, type MwiGatewayTarget } from '../../src/notify/mwi-publisher';
import type { MwiNotifyRequest, MwiNotifyResult, MwiTransport } from '../../src/ports/mwi';
import { VirtualClock } from '../../src/sim/virtual-clock';

type Behaviour = number | 'timeout' | 'refused';

/** Gateways answer by host; a timeout costs `timeoutMs` of virtual time; every request is kept. */
class ScriptedGateways implements MwiTransport {
  readonly sent: (MwiNotifyRequest & { at: number })[] = [];
  readonly behaviour = new Map<string, Behaviour>();
  constructor(
    private readonly clock: VirtualClock,
    private readonly timeoutMs = 32_000,
    private readonly latencyMs = 10,
  ) {}
  sendNotify(rq: MwiNotifyRequest): Promise<MwiNotifyResult> {
    this.sent.push({ ...rq, at: this.clock.now() });
    const b = this.behaviour.get(rq.host) ?? 200;
    return new Promise((resolve, reject) => {
      if (b === 'refused') return void this.clock.setTimeout(() => reject(new Error(`connect ECONNREFUSED ${rq.host}:${rq.port}`)), 1);
      if (b === 'timeout') return void this.clock.setTimeout(() => reject(new Error('no response within 32 s')), this.timeoutMs);
      this.clock.setTimeout(() => resolve({ status: b }), this.latencyMs);
    });
  }
}

function logCapture() {
  const lines: any[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }));
  return { logger, lines };
}

const gw = (name: string): MwiGatewayTarget => ({ gateway: name, host: `${name}.contoso.com`, port: 5060, transport: 'tcp' });

function setup(opts: { gateways?: MwiGatewayTarget[]; identities?: string[]; timeoutMs?: number } = {}) {
  const clock = new VirtualClock();
  const transport = new ScriptedGateways(clock, opts.timeoutMs);
  const { logger, lines } = logCapture();
  const counts = new Map<string, MwiState>();
  const events: MwiEvent[] = [];
  const gateways = opts.gateways ?? [gw('gw1'), gw('gw2')];
  const identities = opts.identities ?? ['tony@contoso.com'];
  const publisher = new MwiPublisher({
    clock,
    transport,
    logger,
    timings: { retryWindowMs: 5 * 60_000, refreshIntervalMs: 12 * 3_600_000, initialBackoffMs: 2_000, maxBackoffMs: 60_000 },
    resolve: (identity) =>
      identities.includes(identity)
        ? { identity, extension: `5${identities.indexOf(identity)}000`, state: counts.get(identity) ?? { newMessages: 0, oldMessages: 0, urgentNew: 0, urgentOld: 0 }, gateways }
        : null,
    listIdentities: () => identities,
    onEvent: (e) => events.push(e),
  });
  const setCounts = (identity: string, n: number, o: number) => counts.set(identity, { newMessages: n, oldMessages: o, urgentNew: 0, urgentOld: 0 });
  return { clock, transport, publisher, events, lines, setCounts };
}

describe('MwiPublisher', () => {
  it('sends the state to the first gateway, with the RFC 3842 body naming the extension at that gateway', async () => {
    const t = setup();
    t.setCounts('tony@contoso.com', 2, 8);
    t.publisher.changed('tony@contoso.com');
    await t.clock.runUntilIdle(60_000);
    expect(t.transport.sent).toHaveLength(1);
    const rq = t.transport.sent[0];
    expect(rq).toMatchObject({ host: 'gw1.contoso.com', extension: '50000', transport: 'tcp' });
    expect(rq.body).toBe('Messages-Waiting: yes\r\nMessage-Account: sip:50000@gw1.contoso.com\r\nVoice-Message: 2/8 (0/0)\r\n');
    expect(t.events.map((e) => e.type)).toEqual(['sent']);
  });

  it('fails over to the next gateway on 480, a timeout or a refused connection, in order', async () => {
    for (const failure of [480, 'timeout', 'refused', 503] as Behaviour[]) {
      const t = setup();
      t.transport.behaviour.set('gw1.contoso.com', failure);
      t.setCounts('tony@contoso.com', 1, 0);
      t.publisher.changed('tony@contoso.com');
      await t.clock.runUntilIdle(600_000);
      expect(t.transport.sent.map((s) => s.host)).toEqual(['gw1.contoso.com', 'gw2.contoso.com']);
      const sent = t.events.find((e) => e.type === 'sent');
      expect(sent).toMatchObject({ gateway: 'gw2', status: 200, messagesWaiting: true });
    }
  });

  it('keeps trying the gateways in turn, with backoff, for the 5-minute window, then logs one error with the attempts', async () => {
    const t = setup();
    t.transport.behaviour.set('gw1.contoso.com', 480);
    t.transport.behaviour.set('gw2.contoso.com', 'refused');
    t.setCounts('tony@contoso.com', 1, 0);
    const start = t.clock.now();
    t.publisher.changed('tony@contoso.com');
    await t.clock.runUntilIdle(3_600_000);
    const failed = t.events.filter((e) => e.type === 'failed');
    expect(failed).toHaveLength(1);
    const f = failed[0] as Extract<MwiEvent, { type: 'failed' }>;
    // the window is 5 minutes from the first attempt; the last round happens at its end, not after
    expect(f.at - start).toBeGreaterThanOrEqual(5 * 60_000);
    expect(f.at - start).toBeLessThan(5 * 60_000 + 1_000);
    expect(f.attempts.length).toBe(t.transport.sent.length);
    // gateways alternate: gw1, gw2, gw1, gw2, ...
    t.transport.sent.forEach((s, i) => expect(s.host).toBe(i % 2 === 0 ? 'gw1.contoso.com' : 'gw2.contoso.com'));
    // backoff doubles between rounds (2 s, 4 s, 8 s, ...) and stays at most 60 s
    const rounds = t.transport.sent.filter((_, i) => i % 2 === 0).map((s) => s.at);
    const gaps = rounds.slice(1).map((at, i) => at - rounds[i]);
    expect(gaps[0]).toBeGreaterThanOrEqual(2_000);
    expect(gaps[1]).toBeGreaterThanOrEqual(4_000);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(60_000 + 1_000);
    expect(rounds.length).toBeGreaterThan(5);
    const error = t.lines.find((l) => l.level === 50);
    expect(error).toMatchObject({ identity: 'tony@contoso.com', extension: '50000' });
    expect(error.attempts).toHaveLength(f.attempts.length);
    expect(error.attempts[0]).toMatchObject({ gateway: 'gw1', status: 480 });
    expect(error.attempts[1].error).toMatch(/ECONNREFUSED/);
  });

  it('a gateway that recovers within the window gets the state, and no error is logged', async () => {
    const t = setup();
    t.transport.behaviour.set('gw1.contoso.com', 'timeout');
    t.transport.behaviour.set('gw2.contoso.com', 480);
    t.setCounts('tony@contoso.com', 1, 0);
    t.publisher.changed('tony@contoso.com');
    await t.clock.advance(2 * 60_000);
    t.transport.behaviour.set('gw2.contoso.com', 200);
    await t.clock.runUntilIdle(3_600_000);
    expect(t.events.filter((e) => e.type === 'failed')).toHaveLength(0);
    expect(t.events.filter((e) => e.type === 'sent')).toHaveLength(1);
    expect(t.lines.filter((l) => l.level >= 50)).toHaveLength(0);
  });

  it('coalesces rapid changes: one NOTIFY in flight, then one with the latest state', async () => {
    const t = setup();
    t.setCounts('tony@contoso.com', 1, 0);
    t.publisher.changed('tony@contoso.com');
    for (let n = 2; n <= 6; n++) {
      t.setCounts('tony@contoso.com', n, 0);
      t.publisher.changed('tony@contoso.com');
    }
    await t.clock.runUntilIdle(60_000);
    const bodies = t.transport.sent.map((s) => parseMessageSummary(s.body)!);
    expect(bodies.map((b) => b.newMessages)).toEqual([1, 6]);
  });

  it('a change that leaves the counts as delivered sends nothing; a refresh sends anyway', async () => {
    const t = setup();
    t.setCounts('tony@contoso.com', 1, 0);
    t.publisher.changed('tony@contoso.com');
    await t.clock.runUntilIdle(60_000);
    t.publisher.changed('tony@contoso.com');
    await t.clock.runUntilIdle(60_000);
    expect(t.transport.sent).toHaveLength(1);
    t.publisher.changed('tony@contoso.com', 'refresh');
    await t.clock.runUntilIdle(60_000);
    expect(t.transport.sent).toHaveLength(2);
  });

  it('refreshes every mailbox once per 12 hours, spread over the interval rather than in one burst', async () => {
    const identities = ['a@contoso.com', 'b@contoso.com', 'c@contoso.com', 'd@contoso.com'];
    const t = setup({ identities, gateways: [gw('gw1')] });
    const start = t.clock.now();
    t.publisher.startRefresh();
    await t.clock.advance(24 * 3_600_000 + 1);
    t.publisher.stop();
    const times = t.transport.sent.map((s) => s.at - start);
    expect(times).toHaveLength(8); // every mailbox twice in 24 hours
    const perMailbox = new Map<string, number[]>();
    for (const s of t.transport.sent) perMailbox.set(s.extension, [...(perMailbox.get(s.extension) ?? []), s.at - start]);
    expect(perMailbox.size).toBe(4);
    for (const at of perMailbox.values()) {
      expect(at).toHaveLength(2);
      expect(at[1] - at[0]).toBeLessThanOrEqual(12 * 3_600_000);
    }
    // spread: consecutive refreshes are 3 hours apart (12 h / 4 mailboxes)
    times.slice(1).forEach((at, i) => expect(at - times[i]).toBe(3 * 3_600_000));
    expect(t.events.every((e) => e.type === 'sent' && e.reason === 'refresh')).toBe(true);
  });

  it('sends nothing for a mailbox without MWI (resolve gives null) or without gateways', async () => {
    const t = setup({ gateways: [] });
    t.publisher.changed('tony@contoso.com');
    t.publisher.changed('nobody@contoso.com');
    await t.clock.runUntilIdle(60_000);
    expect(t.transport.sent).toHaveLength(0);
    expect(t.publisher.busy).toBe(false);
  });
});
