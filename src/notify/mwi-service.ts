/**
 * MwiService: the MWI part of issue 5 wired to the store. It decides, for a mailbox, whether and where its lamp
 * state goes (seed 004 [S4] #12, #13, #17, #18; telephony-facts.md §1.4):
 * - nothing when the mailbox's UM mailbox policy has AllowMessageWaitingIndicator $false;
 * - otherwise to the UM IP gateways of its dial plan whose status is Enabled and MessageWaitingIndicatorAllowed is
 *   $true, in the directory's order (first, then failover);
 * - over TCP when the dial plan's VoIPSecurity is Unsecured, over TLS when SIPSecured or Secured.
 * It feeds {@link MwiPublisher} (unsolicited NOTIFYs) and {@link MwiSubscriptions} (SUBSCRIBE/NOTIFY), and notices
 * changes made by other processes sharing the store (the cmdlets, another serve instance) through the store's
 * `watchOtherWriters` (SQLite polls once a second; PostgreSQL is told). The processes that publish share their
 * deliveries through the store (its `mwiDeliveries`): each change reaches the gateways once, from one of them.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { MwiSettingsSchema } from '../config/schema';
import { admitSource } from '../domain/gateway-admission';
import { sameMwiState, type MwiState } from '../domain/message-summary';
import type { Clock } from '../ports/clock';
import type { IncomingSubscription, MwiTransport } from '../ports/mwi';
import type { Store } from '../ports/store';
import { MwiPublisher, mwiSignature, UNCONFIRMED_SIGNATURE, type MwiEvent, type MwiMailboxTarget } from './mwi-publisher';
import { MwiSubscriptions } from './mwi-subscriptions';

/** The directory's `notifications.mwi` section. */
export type MwiSettings = z.infer<typeof MwiSettingsSchema>;

export interface MwiServiceOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  transport: MwiTransport;
  settings: MwiSettings;
  /** Host for the Message-Account of subscriptions (`sip:EXT@HOST`): our SIP address. */
  accountHost: string;
  /** Watch the store for other processes' changes, polling every this many ms (0: never; the simulator). Default 1000. */
  watchIntervalMs?: number;
  onEvent?(event: MwiEvent): void;
  onSubscriptionNotify?(event: { identity: string; extension: string; subscriptionState: string; status: number; state: MwiState }): void;
}

/**
 * Which gateways a mailbox's NOTIFY goes to, and its counts now; null when MWI is off for it.
 * @throws what the store throws (VA_ERR_NOT_FOUND for a policy or dial plan gone meanwhile...)
 */
export async function mwiTargetOf(
  store: Pick<Store, 'findMailbox' | 'getPolicy' | 'getDialPlan' | 'listGateways' | 'messageCounts'>,
  identity: string,
): Promise<MwiMailboxTarget | null> {
  const m = await store.findMailbox(identity);
  if (!m) return null;
  const policy = await store.getPolicy(m.policy);
  if (!policy.allowMessageWaitingIndicator) return null;
  const plan = await store.getDialPlan(m.dialPlan);
  const transport = plan.voipSecurity === 'Unsecured' ? 'tcp' : 'tls';
  const gateways = (await store.listGateways())
    .filter((g) => g.dialPlan.toLowerCase() === plan.name.toLowerCase() && g.status === 'Enabled' && g.messageWaitingIndicatorAllowed)
    .map((g) => ({ gateway: g.name, host: g.address, port: g.port, transport }) as const);
  return { identity: m.identity, extension: m.extension, state: await store.messageCounts(m.identity), gateways };
}

/**
 * How long an instance's claim on a mailbox's lamp lasts, ms: twice `retryWindowMinutes` and twice
 * `notifyTimeoutSeconds`, so that it outlasts the whole delivery it covers (the failover window, then the gateways'
 * last timeouts). Only an instance that died mid-delivery leaves a claim that runs out; another then delivers.
 */
export function mwiClaimMs(settings: { retryWindowMinutes: number; notifyTimeoutSeconds: number }): number {
  return 2 * settings.retryWindowMinutes * 60_000 + 2 * settings.notifyTimeoutSeconds * 1000;
}

/**
 * A mailbox's lamp as the admin center shows it (issue 21, "the MWI state per mailbox").
 * `delivery`: whether the gateways were told the state it has now: `current` (the last delivery, by any process on
 * the store, was this state), `stale` (a change is not delivered yet: in flight, waiting out a backoff, or given up),
 * `unconfirmed` (the last delivery was given up or cut short: the lamp is unknown), `never` (nothing delivered yet),
 * `off` (no NOTIFY goes out: the policy's AllowMessageWaitingIndicator is $false, or no Enabled gateway allows MWI).
 */
export interface MwiLampState {
  identity: string;
  extension: string;
  /** The policy's AllowMessageWaitingIndicator. */
  allowed: boolean;
  /** Messages-Waiting: yes when there are new (unheard) messages (RFC 3842). */
  messagesWaiting: boolean;
  state: MwiState;
  /** The UM IP gateways the NOTIFY goes to, in failover order (names). */
  gateways: string[];
  delivery: 'current' | 'stale' | 'unconfirmed' | 'never' | 'off';
  /** A NOTIFY for the mailbox is in flight or waiting for a retry in this process. */
  sending: boolean;
}

export class MwiService {
  readonly publisher: MwiPublisher;
  readonly subscriptions: MwiSubscriptions;
  private readonly known = new Map<string, MwiState>();
  private stopWatch: () => void = () => {};
  private stopped = false;
  /** The snapshot of every mailbox's counts, then each look after another process wrote: one at a time, in order. */
  private looking: Promise<void> = Promise.resolve();
  /** The service's log lines, each with `part: 'mwi'`. */
  private readonly log: Logger;

  constructor(private readonly opts: MwiServiceOptions) {
    const { store, clock, logger, settings } = opts;
    const log = (this.log = logger.child({ part: 'mwi' }));
    const deliveries = store.mwiDeliveries;
    const owner = randomUUID();
    // A claim outlasts a whole delivery (the retry window, then one last round of gateway timeouts: twice the window
    // and twice the NOTIFY timeout, 10 min 64 s with the seed's timings); only a crashed process's claim runs out.
    const claimMs = mwiClaimMs(settings);
    this.publisher = new MwiPublisher({
      clock,
      transport: opts.transport,
      logger: log,
      timings: {
        retryWindowMs: settings.retryWindowMinutes * 60_000,
        refreshIntervalMs: settings.refreshIntervalHours * 3_600_000,
        initialBackoffMs: settings.initialBackoffSeconds * 1000,
        maxBackoffMs: settings.maxBackoffSeconds * 1000,
      },
      resolve: (identity) => mwiTargetOf(store, identity),
      listIdentities: async () => (await store.listMailboxes()).map((m) => m.identity),
      onEvent: opts.onEvent,
      shared: {
        claim: async (identity) => {
          const now = clock.now();
          return (await deliveries.claim(identity, owner, now + claimMs, now)) || { heldUntil: (await deliveries.claimedUntil(identity)) ?? now };
        },
        lastDelivered: (identity) => deliveries.lastDelivered(identity),
        delivered: (identity, signature) => deliveries.delivered(identity, signature, clock.now()),
        release: (identity) => deliveries.release(identity, owner),
        releaseAll: () => deliveries.releaseAll(owner),
      },
    });
    this.subscriptions = new MwiSubscriptions({
      clock,
      logger: log,
      timings: settings.subscriptions,
      findMailbox: async (extension) => {
        const m = await store.findMailboxByExtension(extension);
        return m ? { identity: m.identity, extension: m.extension } : null;
      },
      stateOf: (identity) => store.messageCounts(identity),
      // A draining gateway (NoNewCalls) takes no new calls but may still watch lamps.
      admit: async (address) => {
        const a = admitSource(address, await store.listGateways());
        return a.admit || a.status === 503 ? 'accept' : 403;
      },
      onNotify: opts.onSubscriptionNotify,
    });
  }

  /**
   * Starts the refresh rounds and the watch for other processes' changes: the watch starts first, then every
   * mailbox's counts are read, so a change another process makes meanwhile is seen by the watch's first look.
   */
  start(): void {
    this.publisher.startRefresh();
    const interval = this.opts.watchIntervalMs ?? 1000;
    if (interval > 0 && !this.stopped) {
      const { store, clock } = this.opts;
      const logger = this.log;
      this.stopWatch = store.watchOtherWriters({
        clock,
        intervalMs: interval,
        onChange: () => this.poll(),
        onError: (err) => logger.warn({ err }, 'mwi: cannot read the store for changes'),
      });
      this.looking = this.snapshot().then(
        () => undefined,
        (err: unknown) => logger.warn({ err }, 'mwi: cannot read the store for changes'),
      );
    }
  }

  /** A mailbox's counts changed in this process (the runtime's `countsChanged`, an admin action). */
  mailboxChanged(identity: string): void {
    if (this.stopped) return;
    // What this process changed is known, so a look after another process's write does not take it for theirs.
    this.opts.store.messageCounts(identity).then(
      (counts) => this.known.set(identity.toLowerCase(), counts),
      () => undefined, // the mailbox may be gone
    );
    this.publisher.changed(identity);
    this.subscriptions.changed(identity);
  }

  /**
   * Sends a mailbox's lamp state again, whether or not it changed ("send the lamp state again", issue 21): the same
   * unsolicited NOTIFY as a refresh round's (first gateway, then failover, retried for the window), and a NOTIFY to
   * each of its subscribers.
   * @throws VaError VA_ERR_NOT_FOUND when no such mailbox
   */
  async resend(identity: string): Promise<void> {
    const m = await this.opts.store.getMailbox(identity);
    if (this.stopped) return;
    this.publisher.changed(m.identity, 'refresh');
    this.subscriptions.changed(m.identity);
  }

  /**
   * A mailbox's lamp: its counts, where its NOTIFY goes and whether the gateways have its state (see
   * {@link MwiLampState}).
   * @throws VaError VA_ERR_NOT_FOUND when no such mailbox; what the store throws
   */
  async lampState(identity: string): Promise<MwiLampState> {
    const { store } = this.opts;
    const m = await store.getMailbox(identity);
    const allowed = (await store.getPolicy(m.policy)).allowMessageWaitingIndicator;
    const target = await mwiTargetOf(store, m.identity);
    const state = target?.state ?? (await store.messageCounts(m.identity));
    const last = await store.mwiDeliveries.lastDelivered(m.identity);
    const delivery: MwiLampState['delivery'] =
      !target || target.gateways.length === 0 ? 'off' : last === null ? 'never' : last === UNCONFIRMED_SIGNATURE ? 'unconfirmed' : last === mwiSignature(target) ? 'current' : 'stale';
    return {
      identity: m.identity,
      extension: m.extension,
      allowed,
      messagesWaiting: state.newMessages > 0,
      state: { newMessages: state.newMessages, oldMessages: state.oldMessages, urgentNew: state.urgentNew, urgentOld: state.urgentOld },
      gateways: target?.gateways.map((g) => g.gateway) ?? [],
      delivery,
      sending: this.publisher.isSending(m.identity),
    };
  }

  /**
   * A new SUBSCRIBE from the signalling layer.
   * @returns resolves once it is answered (the allow-list and the mailbox are read from the store first); never rejects
   */
  handleSubscribe(rq: IncomingSubscription): Promise<void> {
    return this.subscriptions.handle(rq, this.opts.accountHost);
  }

  /**
   * Stops timers and forgets subscriptions.
   * @returns resolves when the shared deliveries are told (claims released); never rejects
   */
  stop(): Promise<void> {
    this.stopped = true;
    this.stopWatch();
    const published = this.publisher.stop();
    this.subscriptions.stop();
    return published;
  }

  /**
   * Reads every mailbox's counts into `known`.
   * @returns the counts by identity
   */
  private async snapshot(): Promise<Map<string, MwiState>> {
    const all = await this.opts.store.allMessageCounts();
    for (const [identity, counts] of all) this.known.set(identity.toLowerCase(), counts);
    return all;
  }

  /** Another process wrote to the store: publishes the mailboxes whose counts it changed (after any look in progress). */
  private poll(): void {
    this.looking = this.looking.then(async () => {
      if (this.stopped) return;
      const before = new Map(this.known);
      let all: Map<string, MwiState>;
      try {
        all = await this.snapshot();
      } catch (err) {
        this.log.warn({ err }, 'mwi: cannot read the store for changes');
        return;
      }
      if (this.stopped) return;
      for (const [identity, counts] of all) {
        const old = before.get(identity.toLowerCase());
        if (!old || !sameMwiState(old, counts)) {
          this.publisher.changed(identity);
          this.subscriptions.changed(identity);
        }
      }
    });
  }
}
