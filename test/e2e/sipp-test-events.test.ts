/**
 * Issue 22, "Prompt and state events for any test tool", end to end on `serve` (the embedded engine, and drachtio when
 * drachtio-server is installed). A caller that asks for events in its INVITE (`X-VA-Test-Events`) from an address of
 * the directory's `testing.eventsAllowedFrom` (127.0.0.1 here) gets one in-dialog SIP INFO per event
 * (`application/vnd.voice-access.event+json`):
 * - SIPp (`sipp/signin-with-events.xml`) signs in by waiting for the prompt events instead of fixed pauses; its
 *   message trace (`-trace_msg`) holds every INFO the server sent: the prompts in the order the server played them,
 *   `enter-pin` secret and without digits, the PIN in no body;
 * - a raw caller asking for prompts, digits and states gets them in order (each state before its prompts; the
 *   extension as a digits event, the PIN as a secret one) and drives its keys from them;
 * - a raw caller that never answers the INFOs still signs in and reaches the main menu on time; the server stops
 *   sending after a few unanswered INFOs;
 * - a caller from 127.0.0.2 (a UM IP gateway, not on the list) gets its call and no INFO; the refusal is logged once
 *   with its address.
 */
import { readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { SIPP_DEFAULT } from '../sip/helpers/offers';
import { answer, isRequest, isStatus, RawCall, UdpPeer, type RawMessage } from '../sip/helpers/raw-sip';
import { tempDir } from '../helpers';
import { describeCall, describeEngines, expectSippSuccess, heardIds, sippCall, startIvrServer, type IvrServer } from './helpers/ivr-server';

jest.setTimeout(60_000);

const EVENT_TYPE = 'application/vnd.voice-access.event+json';
const PIN = '739164';

/** One event as the server sent it. */
type Ev = Record<string, unknown> & { event: string; seq: number };

/** The INFO requests SIPp received, in order, from its `-trace_msg` file: their Content-Type and body. */
function receivedInfos(trace: string): { type: string; body: string }[] {
  const out: { type: string; body: string }[] = [];
  for (const block of trace.split(/^-{20,}.*$/m)) {
    const m = /message received \[\d+\] bytes :\s*\n\n?([\s\S]*)$/.exec(block);
    if (!m || !/^INFO /.test(m[1])) continue;
    const msg = m[1].replace(/\r?\n/g, '\r\n');
    const end = msg.indexOf('\r\n\r\n');
    const head = end >= 0 ? msg.slice(0, end) : msg;
    const type = /^content-type\s*:\s*(.*)$/im.exec(head)?.[1].trim() ?? '';
    out.push({ type, body: end >= 0 ? msg.slice(end + 4).trim() : '' });
  }
  return out;
}

/** The events of the INFOs a raw peer received (each INFO once: a retransmission has the CSeq of the first). */
function eventsOf(infos: RawMessage[]): Ev[] {
  const seen = new Set<string>();
  const out: Ev[] = [];
  for (const m of infos) {
    const cseq = m.headers.get('cseq')?.[0] ?? '';
    if (seen.has(cseq)) continue;
    seen.add(cseq);
    expect(m.headers.get('content-type')?.[0]).toBe(EVENT_TYPE);
    out.push(JSON.parse(m.body) as Ev);
  }
  return out;
}

/** Sequence numbers 1..n, in order, none missing. */
function expectInOrder(events: Ev[]): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
}

/** Checks that no event carries the PIN or any digits at a PIN prompt. */
function expectNoPin(bodies: string[], events: Ev[]): void {
  for (const b of bodies) expect(b).not.toContain(PIN);
  for (const e of events.filter((x) => x.secret === true)) expect(e).not.toHaveProperty('digits');
}

/**
 * A raw SIP caller on UDP at `address` that asks for test events and (unless `silent`) answers every INFO the server
 * sends with 200; `infos` are the INFOs received so far (retransmissions included), `events` their events.
 */
class EventCaller {
  readonly infos: RawMessage[] = [];
  private running = true;
  private loop: Promise<void> = Promise.resolve();

  private constructor(
    readonly peer: UdpPeer,
    readonly call: RawCall,
    private readonly silent: boolean,
  ) {}

  static async dial(t: IvrServer, o: { address?: string; kinds: string; silent?: boolean }): Promise<EventCaller> {
    const peer = await UdpPeer.open(t.target, o.address ?? '127.0.0.1');
    const c = new EventCaller(peer, new RawCall(peer, t.target, '14255550100'), o.silent === true);
    peer.send(c.call.invite(SIPP_DEFAULT, [['X-VA-Test-Events', o.kinds]]));
    const ok = await peer.expect(isStatus(200, 'INVITE'), 10_000, '200 OK to the INVITE');
    c.call.learn(ok);
    peer.send(c.call.ack());
    c.loop = c.takeInfos();
    return c;
  }

  private async takeInfos(): Promise<void> {
    while (this.running) {
      let m: RawMessage;
      try {
        m = await this.peer.expect(isRequest('INFO'), 500, 'INFO');
      } catch {
        continue;
      }
      this.infos.push(m);
      if (!this.silent) this.peer.send(answer(m));
    }
  }

  get events(): Ev[] {
    return eventsOf(this.infos);
  }

  /** Waits until an event matching `pred` has come. */
  async waitFor(t: IvrServer, what: string, pred: (e: Ev) => boolean, timeoutMs = 15_000): Promise<void> {
    await t.until(() => this.events.some(pred), timeoutMs, `${what}; events: ${JSON.stringify(this.events)}`);
  }

  /** Presses keys as SIP INFO (application/dtmf-relay), each answered before the next. */
  async press(keys: string): Promise<void> {
    for (const k of keys) {
      this.peer.send(this.call.inDialog('INFO', `Signal=${k}\r\nDuration=160\r\n`, [['Content-Type', 'application/dtmf-relay']]));
      await this.peer.expect(isStatus(200, 'INFO'), 5000, `200 to the key ${k}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  /** Hangs up (BYE) and closes the socket. */
  async bye(): Promise<void> {
    this.peer.send(this.call.inDialog('BYE'));
    await this.peer.expect(isStatus(200, 'BYE'), 5000, '200 to the BYE').catch(() => undefined);
    await this.close();
  }

  async close(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.peer.close();
  }
}

describeEngines(
  'prompt and state events over SIP INFO',
  (engine) => {
    let t: IvrServer;

    beforeAll(async () => {
      t = await startIvrServer({
        engine,
        patch: (doc) => {
          doc.testing = { eventsAllowedFrom: ['127.0.0.1/32'] };
          // 127.0.0.2 may call (a UM IP gateway) but is not on the events' allow-list.
          doc.gateways.push({ name: 'gw-lab', address: '127.0.0.2', port: 5070, dialPlan: 'Contoso-DP', messageWaitingIndicatorAllowed: false });
        },
      });
    }, 60_000);
    afterAll(async () => {
      await t?.stop();
    }, 30_000);

    test('SIPp signs in by waiting for the prompt events; every INFO is an event, in order, never the PIN', async () => {
      const n = t.calls.length;
      const dir = tempDir('va-e2e-events-');
      const trace = path.join(dir, 'messages.log');
      try {
        const run = await sippCall(t, 'signin-with-events.xml', { extra: ['-trace_msg', '-message_file', trace] });
        expectSippSuccess(t, run);
        const call = await t.ended(n);
        const why = describeCall(call);
        expect({ why, flow: call.record!.flow, identity: call.record!.identity }).toEqual({ why, flow: 'sign-in', identity: 'david@contoso.com' });
        const infos = receivedInfos(readFileSync(trace, 'latin1'));
        expect(infos.length).toBeGreaterThanOrEqual(4);
        for (const i of infos) expect(i.type).toBe(EVENT_TYPE);
        const events = infos.map((i) => JSON.parse(i.body) as Ev);
        expectInOrder(events);
        expectNoPin(infos.map((i) => i.body), events);
        // Only prompt events were asked for; they are the prompts the server played, in its order, up to the menu.
        expect(events.every((e) => e.event === 'prompt')).toBe(true);
        const ids = events.map((e) => e.prompt);
        expect({ why, ids }).toEqual({ why, ids: heardIds(call).slice(0, ids.length) });
        expect(ids.slice(0, 3)).toEqual(['welcome', 'enter-extension', 'enter-pin']);
        expect(ids[ids.length - 1]).toBe('main-menu');
        expect(events[0]).toEqual({ event: 'prompt', prompt: 'welcome', locale: 'en-US', flow: 'signIn', state: 'welcome', seq: 1 });
        expect(events[1]).toEqual({ event: 'prompt', prompt: 'enter-extension', locale: 'en-US', flow: 'signIn', state: 'extension', seq: 2 });
        expect(events[2]).toEqual({ event: 'prompt', prompt: 'enter-pin', locale: 'en-US', flow: 'signIn', state: 'pin', secret: true, seq: 3 });
        expect(events[events.length - 1]).toMatchObject({ prompt: 'main-menu', flow: 'mailboxMenu' });
        expect(t.logs.some((l) => l.includes(PIN))).toBe(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('a raw caller gets prompts, digits and states in order, and drives its keys from them', async () => {
      const n = t.calls.length;
      const c = await EventCaller.dial(t, { kinds: 'Prompts, DIGITS, states' });
      try {
        await c.waitFor(t, 'the enter-extension prompt', (e) => e.prompt === 'enter-extension');
        await c.press('51235');
        await c.waitFor(t, 'the enter-pin prompt', (e) => e.prompt === 'enter-pin');
        await c.press(`${PIN}#`);
        await c.waitFor(t, 'the main menu', (e) => e.prompt === 'main-menu');
        await c.press('2'); // not a choice of the main menu: the next prompt event carries the accepted digit
        await c.waitFor(t, 'the prompt after the menu choice', (e) => e.event === 'prompt' && e.digits === '2');
      } finally {
        await c.bye();
      }
      const call = await t.ended(n);
      const why = describeCall(call);
      const events = c.events;
      expectInOrder(events);
      expectNoPin(c.infos.map((m) => m.body), events);
      expect(events[0]).toEqual({ event: 'state', flow: 'signIn', state: 'welcome', seq: 1 });
      expect(events[1]).toEqual({ event: 'prompt', prompt: 'welcome', locale: 'en-US', flow: 'signIn', state: 'welcome', seq: 2 });
      const digits = events.filter((e) => e.event === 'digits');
      expect({ why, digits: digits.slice(0, 2) }).toEqual({
        why,
        digits: [
          { event: 'digits', digits: '51235', reason: 'max', flow: 'signIn', state: 'extension', seq: expect.any(Number) },
          { event: 'digits', secret: true, reason: 'terminator', flow: 'signIn', state: 'pin', seq: expect.any(Number) },
        ],
      });
      // Each prompt event names the state entered last (a state event comes before the prompts of its state).
      let state: Ev | undefined;
      for (const e of events) {
        if (e.event === 'state') state = e;
        if (e.event === 'prompt' && e.flow === state?.flow) expect({ prompt: e.prompt, state: e.state }).toEqual({ prompt: e.prompt, state: state?.state });
      }
      const pin = events.find((e) => e.prompt === 'enter-pin')!;
      expect(pin).toEqual({ event: 'prompt', prompt: 'enter-pin', locale: 'en-US', flow: 'signIn', state: 'pin', secret: true, seq: pin.seq });
      expect(events.some((e) => e.event === 'state' && e.flow === 'mailboxMenu')).toBe(true);
    });

    test('a caller that never answers the INFOs still signs in on time; the server stops sending after 3', async () => {
      const n = t.calls.length;
      const c = await EventCaller.dial(t, { kinds: 'prompts,digits,states', silent: true });
      try {
        await t.until(() => t.calls.length > n && heardIds(t.calls[n]).includes('enter-extension'), 15_000, 'the enter-extension prompt');
        await c.press('51235');
        await t.until(() => heardIds(t.calls[n]).includes('enter-pin'), 10_000, 'the enter-pin prompt');
        await c.press(`${PIN}#`);
        const pressed = Date.now();
        await t.until(() => heardIds(t.calls[n]).includes('main-menu'), 10_000, 'the main menu');
        // The flow did not wait for the unanswered INFOs (each waits 2 s): the summary (about 2 s) and the menu.
        expect(Date.now() - pressed).toBeLessThan(6000);
        // The welcome (1.7 s) went straight on to enter-extension while the first INFOs (the state and the prompt
        // of the welcome, 2 s each) waited for answers that never came.
        const heard = t.calls[n].channel.heard;
        const gap = heard.find((p) => p.id === 'enter-extension')!.at - heard.find((p) => p.id === 'welcome')!.at;
        expect(gap).toBeLessThan(2500);
        await t.until(() => t.logs.some((l) => l.includes('test events stopped')), 15_000, 'the server to stop sending events');
        await new Promise((r) => setTimeout(r, 2500));
      } finally {
        await c.bye();
      }
      const call = await t.ended(n);
      expect({ why: describeCall(call), identity: call.record!.identity }).toEqual({ why: describeCall(call), identity: 'david@contoso.com' });
      // At most 3 INFOs (each retransmitted over UDP until its transaction ends), the PIN in none.
      const events = c.events;
      expect(events.length).toBeGreaterThanOrEqual(1);
      expect(events.length).toBeLessThanOrEqual(3);
      expectInOrder(events);
      expectNoPin(c.infos.map((m) => m.body), events);
      const stopped = t.logs.find((l) => l.includes('test events stopped'))!;
      expect(JSON.parse(stopped)).toMatchObject({ callId: call.callId, failures: 3 });
    });

    test('a caller not on testing.eventsAllowedFrom gets its call and no events; the refusal is logged with its address', async () => {
      const n = t.calls.length;
      const c = await EventCaller.dial(t, { address: '127.0.0.2', kinds: 'prompts, digits, states' });
      try {
        await t.until(() => t.calls.length > n && heardIds(t.calls[n]).includes('enter-extension'), 15_000, 'the enter-extension prompt');
        await c.press('51235');
        await t.until(() => heardIds(t.calls[n]).includes('enter-pin'), 10_000, 'the enter-pin prompt');
      } finally {
        await c.bye();
      }
      await t.ended(n);
      expect(c.infos).toEqual([]);
      const refused = t.logs.filter((l) => l.includes('test events refused') && l.includes(t.calls[n].callId));
      expect(refused).toHaveLength(1);
      expect(JSON.parse(refused[0])).toMatchObject({ level: 30, address: '127.0.0.2' });
    });

    test('nothing was logged at error level', () => {
      expect(t.errors).toEqual([]);
    });
  },
  ['embedded', 'drachtio'],
);
