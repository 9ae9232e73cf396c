/**
 * The shared contract of the MWI ports (`src/ports/mwi.ts`): {@link MwiTransport} (unsolicited message-summary
 * NOTIFY to a UM IP gateway) and {@link SubscriptionSource} (SUBSCRIBE for message-summary, in-dialog NOTIFYs,
 * refreshes). Every signalling engine runs the same cases through a harness that plays the gateway and the
 * subscriber on its side of the wire.
 */
import type { IncomingSubscription, MwiTransport, MwiTransportName, SubscriptionDialog, SubscriptionRefresh, SubscriptionSource } from '../../src/ports/mwi';

/** A NOTIFY as the receiving side saw it. */
export interface SeenNotify {
  /** The Request-URI. */
  requestUri: string;
  /** Header values (lower-case names): `to`, `event`, `subscription-state`, `content-type`, ... */
  headers: Record<string, string>;
  body: string;
}

/** A gateway that receives one unsolicited NOTIFY. */
export interface ContractGateway {
  host: string;
  port: number;
  transport: MwiTransportName;
  /** The NOTIFY it received (after answering it as told); rejects when none came. */
  received(timeoutMs?: number): Promise<SeenNotify>;
}

/** What the subscriber saw in response to a SUBSCRIBE. */
export interface SubscribeResponse {
  status: number;
  /** Header values, lower-case names. */
  headers: Record<string, string>;
}

/** The subscriber's side of one subscription. */
export interface ContractSubscriber {
  /** The final response to the initial SUBSCRIBE. */
  response(timeoutMs?: number): Promise<SubscribeResponse>;
  /** The next in-dialog NOTIFY, answered with `status` (default 200). */
  nextNotify(status?: number, timeoutMs?: number): Promise<SeenNotify>;
  /** Sends an in-dialog SUBSCRIBE with `Expires: expires` (0 unsubscribes); resolves with its final response. */
  refresh(expires: number): Promise<SubscribeResponse>;
}

/** What an engine's MWI harness offers the cases. */
export interface MwiHarness {
  transport: MwiTransport;
  subscriptions: SubscriptionSource;
  /**
   * A gateway for `transport.sendNotify`: it answers the NOTIFY with `answer` (a status, with an optional reason
   * phrase), never answers (`silent`: the transport must give up after its timeout, which the harness keeps short),
   * or cannot be reached (`refuse`).
   */
  gateway(answer: { status: number; reason?: string } | 'silent' | 'refuse'): Promise<ContractGateway>;
  /**
   * Sends a new SUBSCRIBE from an Enabled gateway's address for `toUser`'s mailbox (`Event: event`, default
   * `message-summary`; `Expires` when given; From user `fromUser`, default `toUser`).
   */
  subscribe(opts: { toUser: string; fromUser?: string; event?: string; expires?: number }): Promise<ContractSubscriber>;
  /** The address the SUBSCRIBEs come from (what `sourceAddress` must be). */
  subscriberAddress: string;
  close(): Promise<void>;
}

/** A harness factory; null while an engine has no MWI implementation yet. */
export type MwiHarnessFactory = () => Promise<MwiHarness>;

const BODY = 'Messages-Waiting: yes\r\nMessage-Account: sip:51234@127.0.0.1\r\nVoice-Message: 2/8 (0/2)\r\n';

/** Polls until `pred`; rejects after `timeoutMs`. */
async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Answers new subscriptions with `decide`, synchronously in the handler (what every engine supports: the embedded one
 * answers 500 to a SUBSCRIBE its handler left unanswered), and hands them to the test with the dialog, if accepted.
 */
function answerSubscriptions(
  source: SubscriptionSource,
  decide: (s: IncomingSubscription) => SubscriptionDialog | void,
): { next(timeoutMs?: number): Promise<{ incoming: IncomingSubscription; dialog: SubscriptionDialog | undefined }> } {
  const seen: Array<{ incoming: IncomingSubscription; dialog: SubscriptionDialog | undefined }> = [];
  source.onSubscribe((incoming) => void seen.push({ incoming, dialog: decide(incoming) ?? undefined }));
  let taken = 0;
  return {
    async next(timeoutMs = 3000) {
      await until(() => seen.length > taken, timeoutMs, 'the SUBSCRIBE to be announced');
      return seen[taken++];
    },
  };
}

/**
 * Defines the MWI contract's cases for one engine.
 * @param name the engine's name in the test titles
 * @param makeHarness builds a fresh harness per test (closed after it)
 */
export function describeMwiContract(name: string, makeHarness: MwiHarnessFactory): void {
  describe(`MWI ports contract: ${name}`, () => {
    let h: MwiHarness;
    beforeEach(async () => {
      h = await makeHarness();
    });
    afterEach(async () => {
      await h.close();
    });

    describe('MwiTransport.sendNotify (unsolicited NOTIFY)', () => {
      test('sends a terminated message-summary NOTIFY to sip:EXTENSION@HOST and returns the 200', async () => {
        const gw = await h.gateway({ status: 200 });
        const result = await h.transport.sendNotify({ host: gw.host, port: gw.port, transport: gw.transport, extension: '51234', body: BODY });
        expect(result.status).toBe(200);
        const seen = await gw.received();
        expect(seen.requestUri).toMatch(new RegExp(`^sip:51234@${gw.host.replace(/\./g, '\\.')}(:${gw.port})?(;|$)`));
        expect(seen.headers.to).toMatch(new RegExp(`sip:51234@${gw.host.replace(/\./g, '\\.')}`));
        expect(seen.headers.event).toBe('message-summary');
        expect(seen.headers['subscription-state']).toMatch(/^terminated/);
        expect(seen.headers['content-type']).toBe('application/simple-message-summary');
        expect(seen.body).toBe(BODY);
      });

      test('a failure status comes back as the status and reason, not an exception', async () => {
        const gw = await h.gateway({ status: 480, reason: 'Temporarily Unavailable' });
        const result = await h.transport.sendNotify({ host: gw.host, port: gw.port, transport: gw.transport, extension: '51234', body: BODY });
        expect(result).toEqual({ status: 480, reason: 'Temporarily Unavailable' });
      });

      test('no final response in time: throws, naming the timeout', async () => {
        const gw = await h.gateway('silent');
        await expect(h.transport.sendNotify({ host: gw.host, port: gw.port, transport: gw.transport, extension: '51234', body: BODY })).rejects.toThrow(/timeout|timed out|no final response/i);
      });

      test('a gateway that cannot be reached: throws', async () => {
        const gw = await h.gateway('refuse');
        await expect(h.transport.sendNotify({ host: gw.host, port: gw.port, transport: gw.transport, extension: '51234', body: BODY })).rejects.toThrow(Error);
      });
    });

    describe('SubscriptionSource (SUBSCRIBE, in-dialog NOTIFY, refresh)', () => {
      test('a new SUBSCRIBE is announced with its event, expires, users and source address', async () => {
        const subs = answerSubscriptions(h.subscriptions, (s) => s.reject(404));
        const sub = await h.subscribe({ toUser: '51234', fromUser: '51234', expires: 3600 });
        const { incoming } = await subs.next();
        expect(incoming.event).toBe('message-summary');
        expect(incoming.expires).toBe(3600);
        expect(incoming.toUser).toBe('51234');
        expect(incoming.fromUser).toBe('51234');
        expect(incoming.sourceAddress.replace(/^::ffff:/, '')).toBe(h.subscriberAddress);
        expect((await sub.response()).status).toBe(404);
      });

      test('reject(489, Allow-Events) reaches the subscriber with the header', async () => {
        const subs = answerSubscriptions(h.subscriptions, (s) => s.reject(489, { 'Allow-Events': 'message-summary' }));
        const sub = await h.subscribe({ toUser: '51234', event: 'presence', expires: 600 });
        const { incoming } = await subs.next();
        expect(incoming.event).toBe('presence');
        const res = await sub.response();
        expect(res.status).toBe(489);
        expect(res.headers['allow-events']).toBe('message-summary');
      });

      test('accept() answers 200 with Expires; notify() sends an in-dialog NOTIFY and returns the answer', async () => {
        const subs = answerSubscriptions(h.subscriptions, (s) => s.accept(3600));
        const sub = await h.subscribe({ toUser: '51234', expires: 7200 });
        const dialog = (await subs.next()).dialog!;
        expect(typeof dialog.id).toBe('string');
        const notified = dialog.notify('active;expires=3600', BODY);
        const res = await sub.response();
        expect(res.status).toBe(200);
        expect(res.headers.expires).toBe('3600');
        const seen = await sub.nextNotify(200);
        expect(seen.headers.event).toBe('message-summary');
        expect(seen.headers['subscription-state']).toBe('active;expires=3600');
        expect(seen.headers['content-type']).toBe('application/simple-message-summary');
        expect(seen.body).toBe(BODY);
        expect(await notified).toBe(200);
        const again = dialog.notify('active;expires=3500', BODY);
        await sub.nextNotify(481);
        expect(await again).toBe(481);
        dialog.close();
      });

      test('a refresh reaches onRefresh with its Expires; accept() answers 200 with the granted Expires; Expires: 0 unsubscribes', async () => {
        const refreshes: SubscriptionRefresh[] = [];
        const subs = answerSubscriptions(h.subscriptions, (s) => {
          const d = s.accept(3600);
          d.onRefresh((r) => {
            refreshes.push(r);
            r.accept(r.expires === 0 ? 0 : 1800);
          });
          return d;
        });
        const sub = await h.subscribe({ toUser: '51234', expires: 3600 });
        const dialog = (await subs.next()).dialog!;
        const first = dialog.notify('active;expires=3600', BODY);
        await sub.response();
        await sub.nextNotify(200);
        await first;
        const refreshed = await sub.refresh(7200);
        expect(refreshes.map((r) => r.expires)).toEqual([7200]);
        expect(refreshed.status).toBe(200);
        expect(refreshed.headers.expires).toBe('1800');
        const gone = await sub.refresh(0);
        expect(refreshes.map((r) => r.expires)).toEqual([7200, 0]);
        expect(gone.status).toBe(200);
        const last = dialog.notify('terminated;reason=timeout', BODY);
        const seen = await sub.nextNotify(200);
        expect(seen.headers['subscription-state']).toBe('terminated;reason=timeout');
        expect(await last).toBe(200);
        dialog.close();
      });

      test('a refresh can be refused (423 with Min-Expires)', async () => {
        const subs = answerSubscriptions(h.subscriptions, (s) => {
          const d = s.accept(3600);
          d.onRefresh((r) => r.reject(423, { 'Min-Expires': '60' }));
          return d;
        });
        const sub = await h.subscribe({ toUser: '51234', expires: 3600 });
        const dialog = (await subs.next()).dialog!;
        const first = dialog.notify('active;expires=3600', BODY);
        await sub.response();
        await sub.nextNotify(200);
        await first;
        const refused = await sub.refresh(10);
        expect(refused.status).toBe(423);
        expect(refused.headers['min-expires']).toBe('60');
        dialog.close();
      });
    });
  });
}
