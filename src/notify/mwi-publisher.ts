/**
 * MwiPublisher: unsolicited message-summary NOTIFYs to a mailbox's UM IP gateways, the Exchange way (seed 004,
 * `../shared/seeds/004_450d0af641c16c9c.txt`; telephony-facts.md §1.4 rows 6, 9, 10, 13):
 * - on each change of a mailbox's counts, a NOTIFY (`Subscription-State: terminated`) to the first gateway of its
 *   dial plan; 2xx is success; 480, any other final status, a timeout or a refused connection moves to the next
 *   gateway; when every gateway failed, another round after a backoff (doubling up to a maximum), for up to the
 *   retry window (5 minutes); then one error event with the mailbox and every attempt;
 * - rapid changes coalesce: one NOTIFY in flight per mailbox; changes meanwhile are sent once it completes, and
 *   every attempt reads the counts afresh, so the latest state is what is sent;
 * - refresh: every mailbox's state is sent again once per refresh interval (12 hours), spread evenly over the
 *   interval rather than in one burst, so lamps recover after a PBX outage;
 * - a change that leaves the counts as last delivered is not sent again, unless a delivery was given up (or cut
 *   short by a stop) since: its NOTIFYs may have reached the PBX without an answer coming back (a timeout, a lost
 *   connection), so what the lamp shows is unknown and the next change is sent whatever it is (issue 19);
 * - with several processes on one data folder ({@link MwiSharedDeliveries}), a mailbox's state is sent by one of them
 *   at a time, and a change is sent once, not once per process. A process that finds the mailbox claimed looks
 *   again when the claim runs out, and sends then unless the state was delivered meanwhile (its claimer may have
 *   died).
 * Every timer runs on the injected {@link Clock}: the simulator's virtual clock runs a 5-minute window or a 12-hour
 * refresh in no real time.
 */
import type { Logger } from 'pino';
import { formatMessageSummary, type MwiState } from '../domain/message-summary';
import { metrics } from '../metrics';
import type { Clock, TimerHandle } from '../ports/clock';
import type { MwiTransport, MwiTransportName } from '../ports/mwi';

/** A value, or a promise of it (the store's answers are promises; tests may answer at once). */
export type Awaitable<T> = T | Promise<T>;

/** One gateway a mailbox's NOTIFY may go to, in failover order. */
export interface MwiGatewayTarget {
  /** The UM IP gateway's name (for logs and scenario expectations). */
  gateway: string;
  host: string;
  port: number;
  transport: MwiTransportName;
}

/** What to send for one mailbox now, or null when nothing is to be sent (see {@link MwiPublisherDeps.resolve}). */
export interface MwiMailboxTarget {
  identity: string;
  extension: string;
  state: MwiState;
  /** Enabled gateways of the mailbox's dial plan that allow MWI, in order; empty: nothing is sent. */
  gateways: MwiGatewayTarget[];
}

/** Why a NOTIFY was sent. */
export type MwiReason = 'change' | 'refresh';

/** One failed try. */
export interface MwiAttempt {
  gateway: string;
  /** ms since the epoch (the clock's time). */
  at: number;
  /** The final status, or 0 when none came. */
  status: number;
  error?: string;
}

/** What the publisher reports (logged by it too). */
export type MwiEvent =
  | { type: 'sent'; identity: string; extension: string; gateway: string; status: number; state: MwiState; messagesWaiting: boolean; reason: MwiReason; at: number }
  | { type: 'attempt-failed'; identity: string; extension: string; attempt: MwiAttempt }
  | { type: 'failed'; identity: string; extension: string; attempts: MwiAttempt[]; at: number };

/** Timings in ms. */
export interface MwiPublisherTimings {
  retryWindowMs: number;
  refreshIntervalMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export interface MwiPublisherDeps {
  clock: Clock;
  transport: MwiTransport;
  logger: Logger;
  timings: MwiPublisherTimings;
  /**
   * The mailbox's current counts and gateways, read at every attempt; null when the mailbox is gone, or its policy
   * has AllowMessageWaitingIndicator $false (then nothing is sent).
   */
  resolve(identity: string): Awaitable<MwiMailboxTarget | null>;
  /** Every mailbox, for the refresh rounds. */
  listIdentities(): Awaitable<string[]>;
  onEvent?(event: MwiEvent): void;
  /** Deliveries shared with the other processes on the data folder; without it, this process alone decides. */
  shared?: MwiSharedDeliveries;
}

/**
 * What the processes on one data folder share about deliveries (`directory/mwi-delivery-store.ts`, bound to this
 * process by `MwiService`). Signatures name a state as delivered: extension, counts and gateways.
 */
export interface MwiSharedDeliveries {
  /**
   * Claims the mailbox's deliveries for this process: `true`, or, when another process is sending its state now,
   * when that claim runs out (ms).
   */
  claim(identity: string): Awaitable<true | { heldUntil: number }>;
  /** The signature of the last state any process delivered for the mailbox, or null. */
  lastDelivered(identity: string): Awaitable<string | null>;
  /**
   * Records a delivered state, or {@link UNCONFIRMED_SIGNATURE} when what the gateways show is unknown (a delivery
   * was given up): the next change is then sent whatever it is.
   */
  delivered(identity: string, signature: string): Awaitable<void>;
  /** Ends this process's claim on the mailbox. */
  release(identity: string): Awaitable<void>;
  /** Ends every claim of this process (it stops). */
  releaseAll(): Awaitable<void>;
}

/**
 * The signature recorded when a delivery was given up or cut short: its NOTIFYs may have reached the PBX without an
 * answer, so the lamp may show a state no delivery confirmed. No state has this signature (real ones are
 * `extension|counts|gateways`), so the next change is never taken for "already delivered".
 */
export const UNCONFIRMED_SIGNATURE = 'unconfirmed';

/**
 * The signature that names a mailbox's state as delivered (shared by the processes on one store): its extension,
 * its counts and its gateways; a change of any of them is a state to send.
 */
export function mwiSignature(target: MwiMailboxTarget): string {
  const { state } = target;
  return `${target.extension}|${state.newMessages}/${state.oldMessages}/${state.urgentNew}/${state.urgentOld}|${target.gateways.map((g) => `${g.host}:${g.port}/${g.transport}`).join(',')}`;
}

interface Job {
  identity: string;
  running: boolean;
  /** A change arrived while a NOTIFY was in flight: send again with the latest counts. */
  dirty: boolean;
  reason: MwiReason;
  timer: TimerHandle | null;
  /** When the current delivery started failing (the retry window counts from the first attempt). */
  windowStart: number | null;
  round: number;
  attempts: MwiAttempt[];
  /**
   * This process may send the mailbox's state: it holds the shared claim (released when the job ends), or nothing
   * is shared.
   */
  claimed: boolean;
}

export class MwiPublisher {
  private readonly jobs = new Map<string, Job>();
  /** The last body each mailbox's gateways accepted, to skip a change that changed nothing. */
  private readonly delivered = new Map<string, string>();
  private refreshTimer: TimerHandle | null = null;
  private refreshStarted = false;
  private refreshQueue: string[] = [];
  /** ms between two mailboxes' refreshes in the current round. */
  private refreshSpacing = 0;
  private stopped = false;
  private readonly idle = new Set<() => void>();
  /** Mailboxes another process had claimed: looked at again when that claim runs out. */
  private readonly rechecks = new Map<string, TimerHandle>();
  /** The shared-delivery writes not finished yet (releases, unconfirmed marks), so a claim follows its release. */
  private readonly writes = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: MwiPublisherDeps) {}

  /**
   * A mailbox's counts (may) have changed: sends its state unless a NOTIFY for it is already in flight (then the
   * latest state follows it) or it is waiting out a backoff (the next attempt reads the latest state).
   */
  changed(identity: string, reason: MwiReason = 'change'): void {
    if (this.stopped) return;
    const job = this.jobs.get(identity);
    if (!job) {
      const fresh: Job = { identity, running: false, dirty: false, reason, timer: null, windowStart: null, round: 0, attempts: [], claimed: false };
      this.jobs.set(identity, fresh);
      void this.run(fresh);
      return;
    }
    // A job exists only while a NOTIFY is in flight or a retry is scheduled (finish() removes it).
    if (reason === 'refresh') job.reason = 'refresh';
    if (job.running) job.dirty = true; // sent once the one in flight completes
    // else: waiting out a backoff; the next attempt reads the latest state
  }

  /**
   * Starts the refresh rounds: each interval, every mailbox once, evenly spaced (interval / number of mailboxes),
   * in a stable order; the list is read again at the start of each round.
   */
  startRefresh(): void {
    if (this.refreshStarted || this.stopped) return;
    this.refreshStarted = true;
    this.scheduleNextRefresh();
  }

  private scheduleNextRefresh(): void {
    if (this.stopped) return;
    if (this.refreshQueue.length === 0) {
      // The round's list is read from the store first; the timer is armed once it is there.
      void this.startRound().then(
        () => this.armRefresh(),
        (err: unknown) => {
          this.deps.logger.warn({ err }, 'mwi: cannot list the mailboxes for the refresh round; trying again in one interval');
          this.refreshSpacing = this.deps.timings.refreshIntervalMs;
          this.armRefresh();
        },
      );
      return;
    }
    this.armRefresh();
  }

  /** Reads the mailboxes of a new refresh round, in a stable order, and spreads them over the interval. */
  private async startRound(): Promise<void> {
    const interval = this.deps.timings.refreshIntervalMs;
    this.refreshQueue = (await this.deps.listIdentities()).slice().sort();
    this.refreshSpacing = this.refreshQueue.length > 0 ? interval / this.refreshQueue.length : interval;
  }

  /** Arms the timer of the next refresh of the round. */
  private armRefresh(): void {
    if (this.stopped || this.refreshTimer !== null) return;
    const spacing = this.refreshSpacing;
    this.refreshTimer = this.deps.clock.setTimeout(() => {
      this.refreshTimer = null;
      const next = this.refreshQueue.shift();
      if (next !== undefined) this.changed(next, 'refresh');
      this.scheduleNextRefresh();
    }, spacing);
  }

  /**
   * Cancels every timer; NOTIFYs in flight complete but are not retried.
   * @returns resolves when the shared deliveries know (the unconfirmed marks and releases are written); never rejects
   */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.refreshTimer !== null) this.deps.clock.clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    for (const job of this.jobs.values()) {
      if (job.timer !== null) this.deps.clock.clearTimeout(job.timer);
      // A NOTIFY in flight or a retry pending: what the gateways show is unknown (for the next start, or another
      // process on the data folder).
      if (job.claimed) this.unconfirmed(job.identity);
    }
    this.jobs.clear();
    for (const t of this.rechecks.values()) this.deps.clock.clearTimeout(t);
    this.rechecks.clear();
    const pending = [...this.writes.values()];
    pending.push(this.sharedCall('release its claims', (shared) => shared.releaseAll()));
    return Promise.all(pending).then(() => undefined);
  }

  /** Resolves when no NOTIFY is in flight or waiting for a retry (tests, the simulator's quiescence). */
  whenIdle(): Promise<void> {
    if (this.jobs.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.add(resolve));
  }

  /** True when a NOTIFY for this mailbox is in flight or a retry of it is scheduled. */
  isSending(identity: string): boolean {
    return this.jobs.has(identity);
  }

  /** True when a NOTIFY is in flight or a retry is scheduled. */
  get busy(): boolean {
    return this.jobs.size > 0;
  }

  private finish(job: Job): void {
    if (job.timer !== null) this.deps.clock.clearTimeout(job.timer);
    if (job.claimed) this.write(job.identity, 'release a claim', (shared) => shared.release(job.identity));
    job.claimed = false;
    this.jobs.delete(job.identity);
    if (this.jobs.size === 0) {
      const waiters = [...this.idle];
      this.idle.clear();
      for (const w of waiters) w();
    }
  }

  /**
   * Calls the shared deliveries; when the store fails, logs and resolves to `fallback`: a process that cannot
   * coordinate sends as if it were alone (a NOTIFY twice is harmless, none is not). Never rejects.
   */
  private async sharedCall<T>(what: string, call: (shared: MwiSharedDeliveries) => Awaitable<T>, fallback?: T): Promise<T | undefined> {
    const shared = this.deps.shared;
    if (!shared) return fallback;
    try {
      return await call(shared);
    } catch (err) {
      this.deps.logger.warn({ err }, `mwi: cannot ${what} in the store; acting alone`);
      return fallback;
    }
  }

  /**
   * A shared-delivery write that nothing waits for now (a release, an unconfirmed mark): kept until written, so that
   * the mailbox's next claim or read follows it and {@link stop} can wait for it.
   */
  private write(identity: string, what: string, call: (shared: MwiSharedDeliveries) => Awaitable<void>): void {
    if (!this.deps.shared) return;
    const before = this.writes.get(identity);
    const p: Promise<unknown> = (before ?? Promise.resolve())
      .then(() => this.sharedCall(what, call))
      .finally(() => {
        if (this.writes.get(identity) === p) this.writes.delete(identity);
      });
    this.writes.set(identity, p);
  }

  /** Runs the mailbox again as a change at `at` (ms), once: a later change then finds the state delivered or not. */
  private recheckAt(identity: string, at: number): void {
    if (this.stopped || this.rechecks.has(identity)) return;
    const { clock } = this.deps;
    const timer = clock.setTimeout(() => {
      this.rechecks.delete(identity);
      this.changed(identity);
    }, Math.max(1, at - clock.now()));
    this.rechecks.set(identity, timer);
  }

  /**
   * Records that the mailbox's lamp may show a state no delivery confirmed (see {@link UNCONFIRMED_SIGNATURE}), here
   * and in the shared deliveries.
   */
  private unconfirmed(identity: string): void {
    this.delivered.set(identity, UNCONFIRMED_SIGNATURE);
    this.write(identity, 'record an unconfirmed delivery', (shared) => shared.delivered(identity, UNCONFIRMED_SIGNATURE));
  }

  /** The last state delivered for the mailbox: by any process when shared, else by this one. */
  private async lastDelivered(identity: string): Promise<string | null | undefined> {
    if (!this.deps.shared) return this.delivered.get(identity);
    await this.writes.get(identity);
    return this.sharedCall('read the last delivered state', (shared) => shared.lastDelivered(identity), this.delivered.get(identity));
  }

  private emit(event: MwiEvent): void {
    if (event.type === 'sent') metrics.mwiNotifies.inc({ gateway: event.gateway, outcome: 'delivered' });
    else if (event.type === 'attempt-failed') metrics.mwiNotifies.inc({ gateway: event.attempt.gateway, outcome: 'failed' });
    else metrics.mwiGivenUp.inc();
    try {
      this.deps.onEvent?.(event);
    } catch (err) {
      this.deps.logger.warn({ err }, 'mwi event listener failed');
    }
  }

  private async run(job: Job): Promise<void> {
    const { clock, transport, logger, timings } = this.deps;
    job.running = true;
    try {
      for (;;) {
        if (this.stopped) return;
        job.dirty = false;
        let target: MwiMailboxTarget | null;
        try {
          target = await this.deps.resolve(job.identity);
        } catch (err) {
          logger.warn({ err, identity: job.identity }, 'mwi: cannot read the mailbox state');
          target = null;
        }
        if (!target || target.gateways.length === 0) {
          this.finish(job);
          return;
        }
        const reason = job.reason;
        const signature = mwiSignature(target);
        if (reason === 'change' && job.attempts.length === 0 && (await this.lastDelivered(job.identity)) === signature) {
          if (!job.dirty) {
            this.finish(job);
            return;
          }
          continue;
        }
        if (this.stopped) return;
        if (!job.claimed) {
          await this.writes.get(job.identity);
          const claim = (await this.sharedCall('claim a mailbox', (shared) => shared.claim(job.identity), true)) ?? true;
          if (this.stopped) {
            // Stopped while claiming: a claim just taken is this process's to release (releaseAll may have run first).
            if (claim === true && this.deps.shared) this.write(job.identity, 'release a claim', (shared) => shared.release(job.identity));
            return;
          }
          if (claim !== true) {
            // Another process is sending this mailbox's state; it watches the store and sends what comes next. Look
            // again when its claim runs out, in case it died before delivering.
            logger.debug({ identity: job.identity, reason, heldUntil: claim.heldUntil }, 'mwi: another process is notifying this mailbox');
            this.recheckAt(job.identity, claim.heldUntil);
            this.finish(job);
            return;
          }
          job.claimed = true;
          // The state may have been delivered by the process whose claim just ended, between the look above and
          // this claim: read it again under the claim, so one change is sent once.
          if (reason === 'change' && job.attempts.length === 0 && this.deps.shared && (await this.lastDelivered(job.identity)) === signature) {
            if (!job.dirty) {
              this.finish(job);
              return;
            }
            continue;
          }
        }
        job.windowStart ??= clock.now();
        let delivered = false;
        for (const gw of target.gateways) {
          const body = formatMessageSummary(`sip:${target.extension}@${gw.host}`, target.state);
          let status = 0;
          let error: string | undefined;
          try {
            const r = await transport.sendNotify({ host: gw.host, port: gw.port, transport: gw.transport, extension: target.extension, body });
            status = r.status;
            if (status < 200 || status >= 300) error = `${r.status} ${r.reason ?? ''}`.trim();
          } catch (err) {
            error = (err as Error).message;
          }
          if (this.stopped) return;
          if (error === undefined) {
            delivered = true;
            this.delivered.set(job.identity, signature);
            await this.sharedCall('record a delivery', (shared) => shared.delivered(job.identity, signature));
            const messagesWaiting = target.state.newMessages > 0;
            logger.info(
              { identity: job.identity, extension: target.extension, gateway: gw.gateway, status, messagesWaiting, newMessages: target.state.newMessages, oldMessages: target.state.oldMessages, reason, failedAttempts: job.attempts.length },
              'mwi notify delivered',
            );
            this.emit({ type: 'sent', identity: job.identity, extension: target.extension, gateway: gw.gateway, status, state: target.state, messagesWaiting, reason, at: clock.now() });
            break;
          }
          const attempt: MwiAttempt = { gateway: gw.gateway, at: clock.now(), status, error };
          job.attempts.push(attempt);
          logger.debug({ identity: job.identity, extension: target.extension, ...attempt }, 'mwi notify failed; next gateway');
          this.emit({ type: 'attempt-failed', identity: job.identity, extension: target.extension, attempt });
        }
        if (delivered) {
          job.attempts = [];
          job.windowStart = null;
          job.round = 0;
          job.reason = 'change';
          if (job.dirty) continue;
          this.finish(job);
          return;
        }
        const elapsed = clock.now() - job.windowStart;
        if (elapsed >= timings.retryWindowMs) {
          logger.error(
            { identity: job.identity, extension: target.extension, attempts: job.attempts, windowMs: timings.retryWindowMs },
            'mwi: every UM IP gateway failed for the whole retry window; the lamp may be wrong',
          );
          this.emit({ type: 'failed', identity: job.identity, extension: target.extension, attempts: job.attempts, at: clock.now() });
          // A timed-out NOTIFY may still have reached the PBX: a later change back to the last confirmed state must
          // be sent, not skipped as already delivered.
          this.unconfirmed(job.identity);
          this.finish(job);
          return;
        }
        job.round++;
        const backoff = Math.min(timings.maxBackoffMs, timings.initialBackoffMs * 2 ** (job.round - 1));
        const delay = Math.max(1, Math.min(backoff, timings.retryWindowMs - elapsed));
        job.running = false;
        job.timer = clock.setTimeout(() => {
          job.timer = null;
          if (!this.stopped) void this.run(job);
        }, delay);
        return;
      }
    } finally {
      job.running = false;
    }
  }
}
