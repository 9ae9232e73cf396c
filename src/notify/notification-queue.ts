/**
 * NotificationQueue: delivers SMS and voice-message mails from the durable `notifications` table (issue 5: "A failed
 * send is retried and never silently lost").
 *
 * - {@link NotificationQueue.enqueueSms} / {@link NotificationQueue.enqueueMail} write a `pending` row first, then
 *   try it at once. A row becomes `sent` only after the provider accepted it (webhook 2xx, sink file on disk, SMTP
 *   accepted or outbox file written).
 * - A failed attempt is retried with exponential backoff: 30 s, 60 s, 2 min, ... doubling up to 1 h between attempts,
 *   for `notifications.retryWindowHours` (default 24 h) from the row's creation; the last attempt is made at the
 *   window's end. After it the row is `failed` and an error is logged (code VA_ERR_NOTIFY_FAILED) with the row id,
 *   kind, mailbox and number of attempts, never the text or mail body.
 * - Pending rows are picked up by {@link NotificationQueue.start}, so a restart resumes them. Delivery is at least
 *   once: a crash between the provider's acceptance and the `sent` mark sends that one again after the restart.
 * - Several processes may share the table (two `serve` instances on one data folder behind drachtio-server, or a
 *   server and `simulate --data`): each attempt runs under the row's claim (`NotificationQueueRepository.claim`), so no two
 *   queues attempt one row at once, and each queue also tries the others' rows when they are due (whoever claims
 *   first sends). A claim ends with the attempt's outcome or when its queue stops; one left by a crashed process runs
 *   out after `claimMs` (15 min by default, longer than any provider's own timeouts), and the row is then taken over
 *   by the next queue that looks. A queue looks when it enqueues, when a timer it armed fires, when it starts, and
 *   with `watchIntervalMs` (`serve`: every second) when another process has written to the store (the store's
 *   `watchOtherWriters`), so every running queue knows every row and a dead process's rows are taken over.
 * - The store answers asynchronously: one look at the table (due rows, claims, the next timer) runs at a time, and a
 *   look asked for meanwhile runs after it, so the queue never claims a row twice for itself.
 * - Every timer goes through the injected {@link Clock}: on the simulator's virtual clock a day of retries costs no
 *   real time.
 *
 * PIN mails never come here (they go straight to the mailer): the table must not hold a PIN.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { ErrorCodes } from '../errors';
import type { Clock, TimerHandle } from '../ports/clock';
import type { Mailer, MailMessage } from '../ports/mailer';
import type { SmsMessage, SmsSender } from '../ports/mwi';
import type { NotificationQueueRepository, NotificationRow } from '../ports/store/notifications';

/** First pause after a failed attempt, ms. */
export const DEFAULT_INITIAL_BACKOFF_MS = 30_000;
/** Longest pause between two attempts, ms. */
export const DEFAULT_MAX_BACKOFF_MS = 3_600_000;
/** Attempts running at once (a slow webhook must not hold every other notification back). */
export const DEFAULT_CONCURRENCY = 4;
/**
 * How long an attempt's claim on a row lasts, ms: longer than a provider may take (the webhook's `timeoutSeconds`,
 * nodemailer's 10-minute socket timeout), so only a crashed process's claim runs out.
 */
export const DEFAULT_CLAIM_MS = 15 * 60_000;
/** Node's timers cannot wait longer than this (ms); a longer wait is re-armed. */
const MAX_TIMER_MS = 2_147_000_000;

/** A queued voice-message mail: a mail whose attachments are files (the recording), read when it is sent. */
export interface QueuedMail extends MailMessage {
  /**
   * Appended to the text when an attachment's file is gone at sending time (the user deleted the message by phone
   * before a retry succeeded); the mail then goes without it rather than never.
   */
  attachmentGoneText?: string;
}

/** Options of {@link NotificationQueue}. */
export interface NotificationQueueOptions {
  /** The queue's table (a store's `notifications`). */
  store: NotificationQueueRepository;
  sms: SmsSender;
  mailer: Mailer;
  clock: Clock;
  logger: Logger;
  /** How long a notification is retried from its creation, ms (`notifications.retryWindowHours`). */
  retryWindowMs: number;
  /** First pause after a failure, ms (default {@link DEFAULT_INITIAL_BACKOFF_MS}); doubles per failure. */
  initialBackoffMs?: number;
  /** Longest pause, ms (default {@link DEFAULT_MAX_BACKOFF_MS}). */
  maxBackoffMs?: number;
  /** Attempts at once (default {@link DEFAULT_CONCURRENCY}). */
  concurrency?: number;
  /** How long a claim on a row lasts, ms (default {@link DEFAULT_CLAIM_MS}). */
  claimMs?: number;
  /**
   * Look at the table when another process has written to the store (`watchOtherWriters`; SQLite polls every this
   * many ms); 0 (the default): never, the queue looks only on its own enqueues and timers (one process alone on its
   * store).
   */
  watchIntervalMs?: number;
}

/**
 * The pause after the `attempts`-th failed attempt: `initial * 2^(attempts-1)`, at most `max` (ms).
 * @param attempts failed attempts so far, >= 1
 */
export function backoffMs(attempts: number, initialMs = DEFAULT_INITIAL_BACKOFF_MS, maxMs = DEFAULT_MAX_BACKOFF_MS): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, Math.min(attempts - 1, 40)));
}

export class NotificationQueue {
  private readonly inFlight = new Map<number, Promise<void>>();
  private timer: TimerHandle | null = null;
  private timerAt: number | null = null;
  private stopWatch: () => void = () => {};
  private started = false;
  /** After stop(): no attempt starts and no result is written (the row stays pending for the next start). */
  private closed = false;
  /** The look at the table in progress ({@link pump}), or null. */
  private pumping: Promise<void> | null = null;
  /** A look was asked for while one ran: it runs again after. */
  private pumpAgain = false;
  /** Results being written (markSent, markRetry, markFailed): stop() waits for them. */
  private readonly recording = new Set<Promise<void>>();
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly concurrency: number;
  private readonly claimMs: number;
  /** This queue's name in the rows it claims (one per queue object: a restarted process is another owner). */
  readonly owner = randomUUID();

  constructor(private readonly o: NotificationQueueOptions) {
    this.initialBackoffMs = o.initialBackoffMs ?? DEFAULT_INITIAL_BACKOFF_MS;
    this.maxBackoffMs = o.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
    this.concurrency = Math.max(1, o.concurrency ?? DEFAULT_CONCURRENCY);
    this.claimMs = o.claimMs ?? DEFAULT_CLAIM_MS;
  }

  /** True while an attempt or a look at the table is running (the simulator waits for it before moving its clock). */
  get busy(): boolean {
    return this.inFlight.size > 0 || this.pumping !== null;
  }

  /**
   * Starts delivering: the pending rows already in the table (left by an earlier run) are tried when due. Idempotent.
   */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.pump();
    this.watch();
  }

  /** Pumps whenever another process has written to the store, checked every `watchIntervalMs` (see the options). */
  private watch(): void {
    const interval = this.o.watchIntervalMs ?? 0;
    if (interval <= 0) return;
    const { store, clock, logger } = this.o;
    this.stopWatch = store.watchOtherWriters({
      clock,
      intervalMs: interval,
      onChange: () => this.pump(),
      onError: (err) => logger.warn({ err }, "notification queue: cannot read the store for other processes' rows"),
    });
  }

  /**
   * Queues a text and tries it at once (when started).
   * @param identity the mailbox it is about (logs); @param sms the number (E.164) and text
   * @returns the row
   * @throws what the store throws (nothing is queued then)
   */
  async enqueueSms(identity: string, sms: SmsMessage): Promise<NotificationRow> {
    const row = await this.o.store.add('sms', identity, { to: sms.to, text: sms.text } satisfies SmsMessage);
    this.pump();
    return row;
  }

  /**
   * Queues a mail and tries it at once (when started). Attachments must be files (`path`), not content: the row keeps
   * the path and the file is read when the mail is sent.
   * @returns the row
   * @throws what the store throws (nothing is queued then)
   */
  async enqueueMail(identity: string, mail: QueuedMail): Promise<NotificationRow> {
    const row = await this.o.store.add('mail', identity, mail);
    this.pump();
    return row;
  }

  /** Resolves when no attempt and no look at the table is running (tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0 || this.pumping) await Promise.allSettled([...this.inFlight.values(), this.pumping]);
  }

  /**
   * Stops: no new attempt, the retry timer is cleared, and running attempts get up to `graceMs` (real time: this is
   * shutdown, not a notification rule) to finish and record their result. An attempt still running after that has
   * its row left pending and its claim released, to be sent again after the next start (or by another process now).
   */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopWatch();
    if (this.timer !== null) this.o.clock.clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = null;
    this.started = false;
    const running = Promise.allSettled([...this.inFlight.values(), this.pumping]);
    let t: NodeJS.Timeout | undefined;
    await Promise.race([running, new Promise<void>((resolve) => (t = setTimeout(resolve, graceMs).unref()))]);
    clearTimeout(t);
    this.closed = true;
    await Promise.allSettled([...this.recording]);
    try {
      await this.o.store.release(this.owner);
    } catch (err) {
      // The store is already closed: the claims run out by themselves (claimMs).
      this.o.logger.warn({ err }, 'notification queue: cannot release its claims');
    }
  }

  /**
   * Starts every due row there is room for, then arms the timer for the next one: one look at a time; a look asked
   * for while one runs follows it.
   */
  private pump(): void {
    if (!this.started || this.closed) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    const looks = async () => {
      do {
        this.pumpAgain = false;
        await this.look();
      } while (this.pumpAgain && this.started && !this.closed);
    };
    this.pumping = looks().finally(() => {
      this.pumping = null;
    });
  }

  /** One look at the table ({@link pump}); never rejects (a failing store is logged). */
  private async look(): Promise<void> {
    const { store, clock, logger } = this.o;
    try {
      const free = this.concurrency - this.inFlight.size;
      if (free > 0) {
        const now = clock.now();
        const rows = (await store.due(now, free + this.inFlight.size)).filter((r) => !this.inFlight.has(r.id));
        let started = 0;
        for (const due of rows) {
          if (started === free || !this.started || this.closed) break;
          // Another process may have claimed it since it was read: then it is that process's to send.
          const row = await store.claim(due.id, this.owner, now + this.claimMs, now);
          if (!row) continue;
          this.attempt(row);
          started++;
        }
      }
      if (this.started && !this.closed) await this.arm();
    } catch (err) {
      // The store is closed or failing: the rows stay pending in the table for the next start.
      logger.error({ err }, 'notification queue: cannot read the queue');
    }
  }

  private async arm(): Promise<void> {
    const { store, clock } = this.o;
    const next = await store.nextDueAt(new Set(this.inFlight.keys()));
    if (!this.started || this.closed) return;
    // Due now but no room: a running attempt's end pumps again.
    const at = next === undefined || next <= clock.now() ? null : next;
    if (at === this.timerAt) return;
    if (this.timer !== null) clock.clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = at;
    if (at === null) return;
    this.timer = clock.setTimeout(
      () => {
        this.timer = null;
        this.timerAt = null;
        this.pump();
      },
      Math.min(at - clock.now(), MAX_TIMER_MS),
    );
  }

  private attempt(row: NotificationRow): void {
    const p = this.deliver(row)
      .then(
        () => this.recorded(this.record(row, null)),
        (err: unknown) => this.recorded(this.record(row, err)),
      )
      .finally(() => {
        this.inFlight.delete(row.id);
        this.pump();
      });
    this.inFlight.set(row.id, p);
  }

  /** Hands the row's payload to its provider; rejects when the provider did not take it. */
  private async deliver(row: NotificationRow): Promise<void> {
    const payload = JSON.parse(row.payload) as unknown;
    if (row.kind === 'sms') {
      const sms = payload as SmsMessage;
      await this.o.sms.send({ to: sms.to, text: sms.text });
      return;
    }
    const { attachmentGoneText, ...mail } = payload as QueuedMail;
    const attachments = mail.attachments ?? [];
    const present = attachments.filter((a) => a.path === undefined || existsSync(a.path));
    if (present.length < attachments.length) {
      this.o.logger.warn({ notification: row.id, identity: row.identity, missing: attachments.length - present.length }, 'voice-message mail: the recording is gone; sending the mail without it');
      mail.attachments = present;
      if (attachmentGoneText) mail.text = `${mail.text}\n\n${attachmentGoneText}\n`;
    }
    await this.o.mailer.send(mail);
  }

  /** Keeps a result being written until it is (stop() waits for it). */
  private recorded(p: Promise<void>): Promise<void> {
    this.recording.add(p);
    return p.finally(() => this.recording.delete(p));
  }

  /** Records an attempt's outcome: sent, retry later, or failed for good. Never rejects (a failing store is logged). */
  private async record(row: NotificationRow, err: unknown): Promise<void> {
    if (this.closed) return;
    const { store, clock, logger } = this.o;
    const attempts = row.attempts + 1;
    const about = { notification: row.id, kind: row.kind, identity: row.identity, attempts };
    try {
      if (err === null) {
        await store.markSent(row.id);
        logger.info(about, `${row.kind === 'sms' ? 'SMS' : 'mail'} delivered`);
        return;
      }
      const reason = err instanceof Error ? err.message : String(err);
      const now = clock.now();
      const deadline = row.createdAt + this.o.retryWindowMs;
      if (now >= deadline) {
        if (!(await store.markFailed(row.id, reason, this.owner))) return this.lostClaim(row, about);
        logger.error(
          { ...about, code: ErrorCodes.NOTIFY_FAILED, error: reason, retryWindowMs: this.o.retryWindowMs },
          `${row.kind === 'sms' ? 'SMS' : 'mail'} not delivered within the retry window: given up`,
        );
        return;
      }
      const next = Math.min(now + backoffMs(attempts, this.initialBackoffMs, this.maxBackoffMs), deadline);
      if (!(await store.markRetry(row.id, next, reason, this.owner))) return this.lostClaim(row, about);
      logger.warn({ ...about, error: reason, retryInMs: next - now }, `${row.kind === 'sms' ? 'SMS' : 'mail'} not delivered; will retry`);
    } catch (e) {
      logger.error({ ...about, err: e }, 'notification queue: cannot record the outcome (the row stays pending)');
    }
  }

  /** A failed attempt outlived its claim: the queue that took the row over records the outcome. */
  private lostClaim(row: NotificationRow, about: Record<string, unknown>): void {
    this.o.logger.warn(about, `${row.kind === 'sms' ? 'SMS' : 'mail'} attempt failed after its claim ran out; another queue has the row`);
  }
}
