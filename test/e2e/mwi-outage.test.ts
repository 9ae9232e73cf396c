/**
 * Issue 19, "Nothing lost", over real sockets: `serve` sends its unsolicited MWI NOTIFYs (SIP over TCP) to three UM
 * IP gateways that are raw TCP listeners on 127.0.0.1; "down" is the listener closed and its connections dropped
 * (the next NOTIFY's connection is refused), "back" is listening again on the same port.
 * The directory file shortens the timings (the scale of the seed's, which the virtual-clock test
 * `test/notify/mwi-outage.test.ts` runs as they are): a retry window of 9 s instead of 5 minutes, a refresh
 * round of 36 s (the smallest allowed) instead of 12 hours, backoff 0.2 s doubling to 1 s.
 * - Down for about 5 s (less than the window), then back: every mailbox's lamp ends right, in order (`lamp-order.ts`;
 *   here with no bound on the lag, as the test cannot see when the server read the counts), nothing given up.
 * - Down for longer than the window: the server gives the deliveries up (one error line each); back, the next change
 *   sets David's lamp right and the refresh round sets Tony's and Claire's.
 * David's changes are made in the server's process and announced as the call runtime announces them; Tony's and
 * Claire's through a second connection to the data folder (a cmdlet, another instance), which the server notices by
 * looking at the store every second. Only the embedded engine: the drachtio engine sends NOTIFYs through
 * drachtio-server (see mwi-sipp.test.ts) and is not needed to test the publisher's outage behaviour.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { parseMessageSummary } from '../../src/domain/message-summary';
import { DirectoryStore } from '../../src/directory/store';
import type { Store } from '../../src/ports/store';
import { lampOrderProblems, lampText, type LampChange, type LampReceipt } from '../notify/lamp-order';
import { answer, onTcpMessages } from '../sip/helpers/raw-sip';
import { startIvrServer, type IvrServer } from './helpers/ivr-server';

jest.setTimeout(120_000);

const DAVID = 'david@contoso.com';
const TONY = 'tony@contoso.com';
const CLAIRE = 'claire@contoso.com';
const WINDOW_S = 9;

/** Orders the NOTIFYs all the gateways accepted (arrival order; two may arrive within one ms). */
let arrivals = 0;

/** A UM IP gateway on 127.0.0.1 over TCP that answers 200 to every NOTIFY and keeps what it accepted; can go down. */
class TcpGateway {
  readonly receipts: (LampReceipt & { extension: string; seq: number })[] = [];
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private constructor(
    readonly name: string,
    public port: number,
  ) {}

  /** Listens on a free port. */
  static async open(name: string): Promise<TcpGateway> {
    const gw = new TcpGateway(name, 0);
    await gw.up();
    return gw;
  }

  /** Listens (again) on its port; a few tries 100 ms apart if the port is busy for a moment. */
  async up(): Promise<void> {
    if (this.server) return;
    for (let attempt = 1; ; attempt++) {
      const server = net.createServer((s) => this.serve(s));
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(this.port, '127.0.0.1', () => resolve());
        });
        this.server = server;
        this.port = (server.address() as net.AddressInfo).port;
        return;
      } catch (err) {
        if (attempt >= 20) throw new Error(`gateway ${this.name} cannot listen on 127.0.0.1:${this.port} again: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Stops listening and drops its connections: the next NOTIFY's connection is refused. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    onTcpMessages(socket, (m) => {
      if (m.method !== 'NOTIFY') return;
      const summary = parseMessageSummary(m.body);
      const extension = /^NOTIFY sip:([^@]+)@/.exec(m.startLine)?.[1] ?? '?';
      if (summary) this.receipts.push({ at: Date.now(), seq: ++arrivals, gateway: this.name, extension, state: lampText(summary) });
      socket.write(answer(m, 200, 'OK'));
    });
  }
}

describe('MWI while every UM IP gateway is down, over real sockets [embedded]', () => {
  let t: IvrServer;
  let gateways: TcpGateway[];
  /** A second connection to the data folder: another process's changes. */
  let other: DirectoryStore;
  const history = new Map<string, LampChange[]>();
  /** Each mailbox's extension (they do not change). */
  const extensions = new Map<string, string>();

  beforeAll(async () => {
    gateways = [await TcpGateway.open('gw1'), await TcpGateway.open('gw2'), await TcpGateway.open('gw-paris')];
    const portOf = new Map(gateways.map((g) => [g.name, g.port]));
    t = await startIvrServer({
      patch: (doc) => {
        doc.gateways = doc.gateways.map((g: any) => ({ ...g, port: portOf.get(g.name) ?? g.port }));
        doc.notifications = {
          mwi: { retryWindowMinutes: WINDOW_S / 60, refreshIntervalHours: 0.01, notifyTimeoutSeconds: 2, initialBackoffSeconds: 0.2, maxBackoffSeconds: 1 },
        };
      },
    });
    other = DirectoryStore.open(t.data);
    for (const who of [DAVID, TONY, CLAIRE]) {
      history.set(who, [{ at: -Infinity, state: await truth(who) }]);
      extensions.set(who, (await t.server.app.store.getMailbox(who)).extension);
    }
  }, 60_000);

  afterAll(async () => {
    await other?.close();
    await t?.stop();
    for (const g of gateways ?? []) await g.down();
  }, 30_000);

  const truth = async (who: string) => lampText(await t.server.app.store.messageCounts(who));
  const extensionOf = (who: string) => extensions.get(who)!;
  const received = (who: string) => gateways.flatMap((g) => g.receipts.filter((r) => r.extension === extensionOf(who))).sort((a, b) => a.seq - b.seq);

  /** A change: in the server's process for David (as a call makes it), through the other connection otherwise. */
  async function change(who: string, what: (store: Store) => Promise<unknown>): Promise<void> {
    const at = Date.now();
    if (who === DAVID) {
      await what(t.server.app.store);
      t.server.mwi.mailboxChanged(who);
    } else await what(other);
    history.get(who)!.push({ at, state: await truth(who) });
  }
  const leave = (who: string, urgent = false) =>
    change(who, (s) => s.addVoiceMessage({ identity: who, caller: '+14255550123', receivedAt: Date.now(), durationMs: 4000, urgent, audioFile: path.join(t.data, 'none.wav') }));
  const hear = (who: string, urgent = false) =>
    change(who, async (s) => s.setMessageHeard(who, (await s.listVoiceMessages(who)).find((v) => v.unheard && (!urgent || v.urgent))!.id, true));
  const remove = (who: string, heard: boolean) =>
    change(who, async (s) => s.deleteVoiceMessage(who, (await s.listVoiceMessages(who)).find((v) => v.unheard !== heard)!.id));
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** Waits (bounded) until each mailbox's last accepted NOTIFY carries its counts now. */
  async function lampsRight(who: string[], timeoutMs: number, since = 0): Promise<void> {
    try {
      await t.until(
        async () => {
          for (const w of who) if (received(w).filter((r) => r.at >= since).at(-1)?.state !== (await truth(w))) return false;
          return true;
        },
        timeoutMs,
        `the lamps of ${who.join(', ')} to be right`,
      );
    } catch (err) {
      const got = await Promise.all(who.map(async (w) => `${w} has ${await truth(w)}, its gateways accepted ${JSON.stringify(received(w).map((r) => r.state))}`));
      throw new Error(`${(err as Error).message}: ${got.join('; ')}\n${t.explain()}`);
    }
  }

  function expectInOrder(who: string): void {
    expect({ who, problems: lampOrderProblems(history.get(who)!, received(who), Infinity) }).toEqual({ who, problems: [] });
  }

  /** The server's log lines (parsed) with this message, logged at or after `since` (ms since the epoch). */
  const logLines = (msg: string, since: number) =>
    t.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg && Number(l.time) >= since);
  const GAVE_UP = 'mwi: every UM IP gateway failed for the whole retry window; the lamp may be wrong';

  test('down for less than the retry window, then back: every change made meanwhile arrives, in order', async () => {
    await leave(DAVID); // 1/0
    await leave(TONY); // 1/0
    await lampsRight([DAVID, TONY], 10_000);
    const errorsBefore = t.errors.length;
    await Promise.all(gateways.map((g) => g.down()));
    const down = Date.now();
    await leave(DAVID); // 2/0
    await leave(TONY); // 2/0
    await pause(600);
    await hear(DAVID); // 1/1
    await hear(TONY); // 1/1
    await pause(600);
    await leave(DAVID, true); // 2/1 (1/0)
    await remove(TONY, false); // 0/1
    await leave(CLAIRE); // 1/0, behind gw-paris
    await pause(600);
    await hear(DAVID, true); // 1/2 (0/1)
    // Down about 5 s in all, well inside the 9 s window of the first failed attempt.
    await pause(Math.max(0, down + 5_000 - Date.now()));
    for (const who of [DAVID, TONY, CLAIRE]) expect(received(who).filter((r) => r.at >= down)).toEqual([]);
    await Promise.all(gateways.map((g) => g.up()));
    const back = Date.now();
    await lampsRight([DAVID, TONY, CLAIRE], 15_000);
    for (const who of [DAVID, TONY, CLAIRE]) expectInOrder(who);
    expect(await Promise.all([DAVID, TONY, CLAIRE].map(truth))).toEqual(['1/2 (0/1)', '0/1 (0/0)', '1/0 (0/0)']);
    expect(t.errors.slice(errorsBefore).filter((l) => l.includes(GAVE_UP))).toEqual([]);
    // Each lamp was tried while the gateways were down: its first delivery once they were back followed refused
    // attempts (a refresh due meanwhile joins the same delivery, so its reason may be either).
    // The server logs a delivery once the gateway's 200 reached it: that line may come a moment after the NOTIFY did.
    const firstDelivered = (who: string) => logLines('mwi notify delivered', back).find((l) => l.identity === who);
    await t.until(() => [DAVID, TONY, CLAIRE].every((who) => firstDelivered(who)), 5_000, 'the deliveries to be logged').catch(() => undefined);
    const delivered = logLines('mwi notify delivered', back);
    for (const who of [DAVID, TONY, CLAIRE]) {
      const first = delivered.find((l) => l.identity === who);
      expect({ who, failedAttempts: Number(first?.failedAttempts ?? 0) > 0 }).toEqual({ who, failedAttempts: true });
    }
  });

  test('down for longer than the window: given up; back, the next change or the refresh round sets the lamps right', async () => {
    const errorsBefore = t.errors.length;
    await Promise.all(gateways.map((g) => g.down()));
    const down = Date.now();
    await leave(DAVID); // 2/2 (0/1)
    await leave(TONY, true); // 1/1 (1/0)
    await hear(CLAIRE); // 0/1
    await pause(600);
    await hear(DAVID); // 1/3 (0/1)
    await leave(TONY); // 2/1 (1/0)
    // Wait (bounded) for the server to give each mailbox's delivery up: the window runs out while they are down.
    const gaveUp = (who: string) => t.errors.slice(errorsBefore).some((l) => l.includes(GAVE_UP) && l.includes(`"identity":"${who}"`));
    await t.until(() => [DAVID, TONY, CLAIRE].every(gaveUp), (WINDOW_S + 15) * 1000, 'the deliveries to be given up');
    for (const who of [DAVID, TONY, CLAIRE]) expect(received(who).filter((r) => r.at >= down)).toEqual([]);
    await Promise.all(gateways.map((g) => g.up()));
    const back = Date.now();
    // David's next change carries everything that happened while the gateways were down.
    await remove(DAVID, false); // 0/3 (0/1): the lamp goes off
    await lampsRight([DAVID], 10_000, back);
    expect(await truth(DAVID)).toBe('0/3 (0/1)');
    // Tony's and Claire's lamps did not change again: the refresh round (every mailbox once in 36 s here) sets them.
    await lampsRight([TONY, CLAIRE], 60_000, back);
    expect(await Promise.all([TONY, CLAIRE].map(truth))).toEqual(['2/1 (1/0)', '0/1 (0/0)']);
    for (const who of [DAVID, TONY, CLAIRE]) expectInOrder(who);
    // The server logs a delivery once the gateway's 200 reached it: that line may come a moment after the NOTIFY did.
    const reasons = (who: string) => logLines('mwi notify delivered', back).filter((l) => l.identity === who).map((l) => l.reason);
    await t.until(() => [TONY, CLAIRE].every((who) => reasons(who).includes('refresh')), 5_000, 'the refresh deliveries to be logged').catch(() => undefined);
    for (const who of [TONY, CLAIRE]) expect({ who, reasons: reasons(who) }).toEqual({ who, reasons: expect.arrayContaining(['refresh']) });
  });
});
