/**
 * MwiService: the MWI part of issue 5 wired to the store. It decides, for a mailbox, whether and where its lamp
 * state goes (seed 004 [S4] #12, #13, #17, #18; telephony-facts.md §1.4):
 * - nothing when the mailbox's UM mailbox policy has AllowMessageWaitingIndicator $false;
 * - otherwise to the UM IP gateways of its dial plan whose status is Enabled and MessageWaitingIndicatorAllowed is
 *   $true, in the directory's order (first, then failover);
 * - over TCP when the dial plan's VoIPSecurity is Unsecured, over TLS when SIPSecured or Secured.
 * It feeds {@link MwiPublisher} (unsolicited NOTIFYs) and {@link MwiSubscriptions} (SUBSCRIBE/NOTIFY), and notices
 * changes made by other processes on the same data folder (the cmdlets, another serve instance) by polling the
 * store's `data_version` once a second. The processes that publish share their deliveries through the store
 * (`directory/mwi-delivery-store.ts`): each change reaches the gateways once, from one of them.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { MwiSettingsSchema } from '../config/schema';
import { MwiDeliveryStore } from '../directory/mwi-delivery-store';
import type { DirectoryStore } from '../directory/store';
import { watchOtherWriters } from '../directory/store-watch';
import { admitSource } from '../domain/gateway-admission';
import { sameMwiState, type MwiState } from '../domain/message-summary';
import type { Clock } from '../ports/clock';
import type { IncomingSubscription, MwiTransport } from '../ports/mwi';
import { MwiPublisher, type MwiEvent, type MwiMailboxTarget } from './mwi-publisher';
import { MwiSubscriptions } from './mwi-subscriptions';

/** The directory's `notifications.mwi` section. */
export type MwiSettings = z.infer<typeof MwiSettingsSchema>;

export interface MwiServiceOptions {
  store: DirectoryStore;
  clock: Clock;
  logger: Logger;
  transport: MwiTransport;
  settings: MwiSettings;
  /** Host for the Message-Account of subscriptions (`sip:EXT@HOST`): our SIP address. */
  accountHost: string;
  /** Poll the store for other processes' changes every this many ms (0: never; the simulator). Default 1000. */
  watchIntervalMs?: number;
  onEvent?(event: MwiEvent): void;
  onSubscriptionNotify?(event: { identity: string; extension: string; subscriptionState: string; status: number; state: MwiState }): void;
}

/** Which gateways a mailbox's NOTIFY goes to, and its counts now; null when MWI is off for it. */
export function mwiTargetOf(store: DirectoryStore, identity: string): MwiMailboxTarget | null {
  const m = store.findMailbox(identity);
  if (!m) return null;
  const policy = store.getPolicy(m.policy);
  if (!policy.allowMessageWaitingIndicator) return null;
  const plan = store.getDialPlan(m.dialPlan);
  const transport = plan.voipSecurity === 'Unsecured' ? 'tcp' : 'tls';
  const gateways = store
    .listGateways()
    .filter((g) => g.dialPlan.toLowerCase() === plan.name.toLowerCase() && g.status === 'Enabled' && g.messageWaitingIndicatorAllowed)
    .map((g) => ({ gateway: g.name, host: g.address, port: g.port, transport }) as const);
  return { identity: m.identity, extension: m.extension, state: store.messageCounts(m.identity), gateways };
}

export class MwiService {
  readonly publisher: MwiPublisher;
  readonly subscriptions: MwiSubscriptions;
  private readonly known = new Map<string, MwiState>();
  private stopWatch: () => void = () => {};
  private stopped = false;

  constructor(private readonly opts: MwiServiceOptions) {
    const { store, clock, logger, settings } = opts;
    const log = logger.child({ part: 'mwi' });
    const deliveries = new MwiDeliveryStore(store);
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
      listIdentities: () => store.listMailboxes().map((m) => m.identity),
      onEvent: opts.onEvent,
      shared: {
        claim: (identity) => {
          const now = clock.now();
          return deliveries.claim(identity, owner, now + claimMs, now) || { heldUntil: deliveries.claimedUntil(identity) ?? now };
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
      findMailbox: (extension) => {
        const m = store.findMailboxByExtension(extension);
        return m ? { identity: m.identity, extension: m.extension } : null;
      },
      stateOf: (identity) => store.messageCounts(identity),
      // A draining gateway (NoNewCalls) takes no new calls but may still watch lamps.
      admit: (address) => {
        const a = admitSource(address, store.listGateways());
        return a.admit || a.status === 503 ? 'accept' : 403;
      },
      onNotify: opts.onSubscriptionNotify,
    });
  }

  /** Starts the refresh rounds and the watch for other processes' changes. */
  start(): void {
    this.publisher.startRefresh();
    const interval = this.opts.watchIntervalMs ?? 1000;
    if (interval > 0 && !this.stopped) {
      const { store, clock, logger } = this.opts;
      const since = this.snapshot().version;
      this.stopWatch = watchOtherWriters({
        dataVersion: () => store.dataVersion(),
        clock,
        intervalMs: interval,
        since,
        onChange: () => this.poll(),
        onError: (err) => logger.warn({ err }, 'mwi: cannot read the store for changes'),
      });
    }
  }

  /** A mailbox's counts changed in this process (the runtime's `countsChanged`, an admin action). */
  mailboxChanged(identity: string): void {
    if (this.stopped) return;
    try {
      this.known.set(identity.toLowerCase(), this.opts.store.messageCounts(identity));
    } catch {
      /* the mailbox may be gone */
    }
    this.publisher.changed(identity);
    this.subscriptions.changed(identity);
  }

  /** A new SUBSCRIBE from the signalling layer. */
  handleSubscribe(rq: IncomingSubscription): void {
    this.subscriptions.handle(rq, this.opts.accountHost);
  }

  /** Stops timers and forgets subscriptions. */
  stop(): void {
    this.stopped = true;
    this.stopWatch();
    this.publisher.stop();
    this.subscriptions.stop();
  }

  /**
   * Reads every mailbox's counts into `known`.
   * @returns the counts by identity, and the store's `data_version` read just before them
   */
  private snapshot(): { version: number; all: Map<string, MwiState> } {
    const version = this.opts.store.dataVersion();
    const all = this.opts.store.allMessageCounts();
    for (const [identity, counts] of all) this.known.set(identity.toLowerCase(), counts);
    return { version, all };
  }

  /** Another process wrote to the store: publishes the mailboxes whose counts it changed. */
  private poll(): void {
    const before = new Map(this.known);
    const { all } = this.snapshot();
    for (const [identity, counts] of all) {
      const old = before.get(identity.toLowerCase());
      if (!old || !sameMwiState(old, counts)) {
        this.publisher.changed(identity);
        this.subscriptions.changed(identity);
      }
    }
  }
}
