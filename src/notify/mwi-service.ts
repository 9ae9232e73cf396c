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
import { MwiPublisher, type MwiEvent, type MwiMailboxTarget } from './mwi-publisher';
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

export class MwiService {
  readonly publisher: MwiPublisher;
  readonly subscriptions: MwiSubscriptions;
  private readonly known = new Map<string, MwiState>();
  private stopWatch: () => void = () => {};
  private stopped = false;
  /** The snapshot of every mailbox's counts, then each look after another process wrote: one at a time, in order. */
  private looking: Promise<void> = Promise.resolve();

  constructor(private readonly opts: MwiServiceOptions) {
    const { store, clock, logger, settings } = opts;
    const log = logger.child({ part: 'mwi' });
    const deliveries = store.mwiDeliveries;
    const owner = randomUUID();
    // A claim outlasts a whole delivery (the retry window, then one last round of gateway timeouts); only a crashed
    // process's claim runs out.
    const claimMs = 2 * settings.retryWindowMinutes * 60_000 + 60_000;
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
      const { store, clock, logger } = this.opts;
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
        this.opts.logger.warn({ err }, 'mwi: cannot read the store for changes');
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
