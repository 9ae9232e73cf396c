/**
 * MwiSubscriptions: the notifier side of `message-summary` subscriptions (RFC 6665 with the RFC 3842 event
 * package; telephony-facts.md §4.2):
 * - SUBSCRIBE for a mailbox's extension: 200 with the granted `Expires`, then at once a NOTIFY with the current state
 *   (`Subscription-State: active;expires=N`); a NOTIFY on each change; a refresh resets the expiry (and is answered
 *   with a NOTIFY); `Expires: 0` ends it with a `terminated` NOTIFY; at expiry a `terminated;reason=timeout` NOTIFY.
 * - An event package other than message-summary: 489 Bad Event with `Allow-Events`; a duration below the minimum:
 *   423 Interval Too Brief with `Min-Expires`; no mailbox with that extension: 404; a source that is not an
 *   Enabled UM IP gateway: 403 (as for calls: counts are private).
 * - A subscriber answering a NOTIFY with 481 has forgotten the subscription: it is dropped.
 * Subscriptions live in memory only; after a restart the unsolicited refresh rounds restore the lamps.
 */
import type { Logger } from 'pino';
import { formatMessageSummary, type MwiState } from '../domain/message-summary';
import type { Clock, TimerHandle } from '../ports/clock';
import type { IncomingSubscription, SubscriptionDialog, SubscriptionRefresh } from '../ports/mwi';
import type { Awaitable } from './mwi-publisher';

/** RFC 3842: the event package. */
export const MESSAGE_SUMMARY = 'message-summary';

/** Durations in seconds (the directory's `notifications.mwi.subscriptions`). */
export interface SubscriptionTimings {
  defaultExpiresSeconds: number;
  minExpiresSeconds: number;
  maxExpiresSeconds: number;
}

export interface MwiSubscriptionsDeps {
  clock: Clock;
  logger: Logger;
  timings: SubscriptionTimings;
  /** The mailbox an extension names (in any dial plan), or null. */
  findMailbox(extension: string): Awaitable<{ identity: string; extension: string } | null>;
  /** The mailbox's current counts. */
  stateOf(identity: string): Awaitable<MwiState>;
  /** The UM IP gateway allow-list: `accept`, or the status to refuse with. */
  admit(sourceAddress: string): Awaitable<'accept' | 403>;
  /** Reports each NOTIFY sent and its response (tests, transcripts). */
  onNotify?(event: { identity: string; extension: string; subscriptionState: string; status: number; state: MwiState }): void;
}

interface Subscription {
  identity: string;
  extension: string;
  /** The Message-Account URI. */
  account: string;
  dialog: SubscriptionDialog;
  /** Clock time (ms) when it expires. */
  expiresAt: number;
  timer: TimerHandle | null;
  ended: boolean;
}

export class MwiSubscriptions {
  private readonly byIdentity = new Map<string, Set<Subscription>>();
  private stopped = false;

  constructor(private readonly deps: MwiSubscriptionsDeps) {}

  /** How many subscriptions are active. */
  get size(): number {
    let n = 0;
    for (const s of this.byIdentity.values()) n += s.size;
    return n;
  }

  /**
   * Handles a new SUBSCRIBE (see the module comment for the rules). The allow-list and the mailbox are read from the
   * store first; the answer follows.
   * @returns resolves once the SUBSCRIBE is answered; never rejects (a store that fails answers 500, logged)
   */
  async handle(rq: IncomingSubscription, accountHost: string): Promise<void> {
    const { logger } = this.deps;
    if (rq.event !== MESSAGE_SUMMARY) {
      rq.reject(489, { 'Allow-Events': MESSAGE_SUMMARY });
      return;
    }
    let mailbox: { identity: string; extension: string } | null;
    let expires: number | null;
    try {
      const admitted = await this.deps.admit(rq.sourceAddress);
      if (admitted !== 'accept') {
        rq.reject(admitted);
        return;
      }
      expires = this.grant(rq.expires, rq);
      if (expires === null) return;
      mailbox = await this.deps.findMailbox(rq.toUser);
    } catch (err) {
      logger.warn({ err, extension: rq.toUser, source: rq.sourceAddress }, 'mwi subscription: cannot read the store; 500');
      rq.reject(500);
      return;
    }
    if (!mailbox) {
      rq.reject(404);
      return;
    }
    this.start(rq, mailbox, expires, accountHost);
  }

  /** Accepts an admitted SUBSCRIBE for `mailbox` and sends its first NOTIFY (or its only one, for a fetch). */
  private start(rq: IncomingSubscription, mailbox: { identity: string; extension: string }, expires: number, accountHost: string): void {
    const { logger } = this.deps;
    if (this.stopped) {
      rq.reject(503); // stopped while the store answered: the process is going away
      return;
    }
    const dialog = rq.accept(expires);
    const sub: Subscription = {
      identity: mailbox.identity,
      extension: mailbox.extension,
      account: `sip:${mailbox.extension}@${accountHost}`,
      dialog,
      expiresAt: this.deps.clock.now() + expires * 1000,
      timer: null,
      ended: false,
    };
    logger.info({ identity: sub.identity, extension: sub.extension, expires, from: rq.fromUser, source: rq.sourceAddress }, 'mwi subscription');
    dialog.onRefresh((refresh) => this.refresh(sub, refresh));
    if (expires === 0) {
      // A fetch (RFC 6665 §4.4.3): one NOTIFY with the state, and the subscription is over.
      void this.end(sub, 'terminated;reason=timeout');
      return;
    }
    let set = this.byIdentity.get(sub.identity);
    if (!set) this.byIdentity.set(sub.identity, (set = new Set()));
    set.add(sub);
    this.arm(sub);
    void this.notify(sub);
  }

  /** The mailbox's counts changed: a NOTIFY on each of its subscriptions. */
  changed(identity: string): void {
    for (const sub of this.byIdentity.get(identity) ?? []) void this.notify(sub);
  }

  /** Forgets every subscription (no NOTIFY: the process is going away). */
  stop(): void {
    this.stopped = true;
    for (const set of this.byIdentity.values()) {
      for (const sub of set) {
        sub.ended = true;
        if (sub.timer !== null) this.deps.clock.clearTimeout(sub.timer);
        sub.dialog.close();
      }
    }
    this.byIdentity.clear();
  }

  /** The duration to grant (s), or null after refusing with 423. */
  private grant(requested: number | undefined, rq: Pick<IncomingSubscription, 'reject'>): number | null {
    const { timings } = this.deps;
    if (requested === undefined) return Math.min(timings.defaultExpiresSeconds, timings.maxExpiresSeconds);
    if (requested === 0) return 0;
    if (requested < timings.minExpiresSeconds) {
      rq.reject(423, { 'Min-Expires': String(timings.minExpiresSeconds) });
      return null;
    }
    return Math.min(requested, timings.maxExpiresSeconds);
  }

  private refresh(sub: Subscription, refresh: SubscriptionRefresh): void {
    if (sub.ended) {
      refresh.reject(481);
      return;
    }
    const expires = this.grant(refresh.expires, refresh);
    if (expires === null) return;
    refresh.accept(expires);
    if (expires === 0) {
      this.deps.logger.info({ identity: sub.identity, extension: sub.extension }, 'mwi subscription ended by the subscriber');
      void this.end(sub, 'terminated;reason=timeout');
      return;
    }
    sub.expiresAt = this.deps.clock.now() + expires * 1000;
    this.arm(sub);
    void this.notify(sub);
  }

  private arm(sub: Subscription): void {
    const { clock } = this.deps;
    if (sub.timer !== null) clock.clearTimeout(sub.timer);
    sub.timer = clock.setTimeout(() => {
      sub.timer = null;
      this.deps.logger.info({ identity: sub.identity, extension: sub.extension }, 'mwi subscription expired');
      void this.end(sub, 'terminated;reason=timeout');
    }, Math.max(0, sub.expiresAt - clock.now()));
  }

  private forget(sub: Subscription): void {
    sub.ended = true;
    if (sub.timer !== null) this.deps.clock.clearTimeout(sub.timer);
    sub.timer = null;
    const set = this.byIdentity.get(sub.identity);
    set?.delete(sub);
    if (set && set.size === 0) this.byIdentity.delete(sub.identity);
  }

  private async end(sub: Subscription, subscriptionState: string): Promise<void> {
    this.forget(sub);
    await this.send(sub, subscriptionState);
    sub.dialog.close();
  }

  private async notify(sub: Subscription): Promise<void> {
    if (sub.ended) return;
    const remaining = Math.max(0, Math.round((sub.expiresAt - this.deps.clock.now()) / 1000));
    const status = await this.send(sub, `active;expires=${remaining}`);
    if (status === 481 && !sub.ended) {
      this.deps.logger.info({ identity: sub.identity, extension: sub.extension }, 'mwi subscriber answered 481; subscription dropped');
      this.forget(sub);
      sub.dialog.close();
    }
  }

  private async send(sub: Subscription, subscriptionState: string): Promise<number> {
    let state: MwiState;
    try {
      state = await this.deps.stateOf(sub.identity);
    } catch {
      state = { newMessages: 0, oldMessages: 0, urgentNew: 0, urgentOld: 0 };
    }
    let status = 0;
    try {
      status = await sub.dialog.notify(subscriptionState, formatMessageSummary(sub.account, state));
    } catch (err) {
      this.deps.logger.debug({ err, identity: sub.identity }, 'mwi subscription notify failed');
    }
    this.deps.onNotify?.({ identity: sub.identity, extension: sub.extension, subscriptionState, status, state });
    return status;
  }
}
