/**
 * The durable SMS and mail queue (issue 5: "A failed send is retried and never silently lost"), on a virtual clock:
 * sent at once; a row is `sent` only after the provider accepted it; failures back off 30 s, 60 s, 2 min ... up to
 * 1 h between attempts until the retry window ends, then the row is `failed` and an error is logged (identity,
 * attempts; never the text); pending rows survive a restart; a recording deleted before a retry does not block the mail.
 */
import Database from 'better-sqlite3';
import { mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { openApp } from '../../src/app';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/directory/migrations';
import { backoffMs, DEFAULT_CLAIM_MS, NotificationQueue } from '../../src/notify/notification-queue';
import type { SmsMessage } from '../../src/ports/mwi';
import { VirtualClock } from '../../src/sim/virtual-clock';
import { sqliteOf, tempDir, writeConfig } from '../helpers';
import { FakeMailer, FakeSms, memoryLogger, openVirtualApp } from './notify-helpers';

const HOUR = 3_600_000;
const cleanup: (() => void)[] = [];
afterEach(() => {
  while (cleanup.length) cleanup.pop()!();
});

async function setup(opts: { retryWindowMs?: number; sms?: FakeSms; mailer?: FakeMailer } = {}) {
  const { app, clock, data, config } = await openVirtualApp();
  cleanup.push(() => app.close());
  const log = memoryLogger();
  const sms = opts.sms ?? new FakeSms();
  const mailer = opts.mailer ?? new FakeMailer();
  const rows = app.store.notifications;
  const queue = new NotificationQueue({ store: rows, sms, mailer, clock, logger: log.logger, retryWindowMs: opts.retryWindowMs ?? 24 * HOUR });
  clock.setBusyCheck(() => queue.busy);
  queue.start();
  return { app, clock, data, config, log, sms, mailer, rows, queue };
}

test('backoff: 30 s doubling, at most 1 h', () => {
  expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 20].map((n) => backoffMs(n))).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000, 3_600_000]);
});

test('a text is sent at once and the row is marked sent with one attempt', async () => {
  const { clock, sms, rows, queue, log } = await setup();
  const row = await queue.enqueueSms('david@contoso.com', { to: '+14255550112', text: 'Voice message from +14255550123' });
  expect((await rows.get(row.id))!.status).toBe('pending');
  await clock.settle();
  expect(sms.sent).toEqual([{ to: '+14255550112', text: 'Voice message from +14255550123' }]);
  expect(await rows.get(row.id)).toMatchObject({ status: 'sent', attempts: 1, lastError: null, sentAt: clock.now() });
  expect(log.lines.find((l) => l.msg === 'SMS delivered')).toMatchObject({ identity: 'david@contoso.com', attempts: 1 });
  expect(clock.pendingTimers).toBe(0);
});

test('a row is sent only after the provider accepted it', async () => {
  const { clock, rows, queue } = await setup({
    sms: Object.assign(new FakeSms(), {
      send: () => new Promise<void>((resolve) => (release = resolve)),
    }),
  });
  let release: () => void = () => {};
  // The clock must not wait for the provider here: it is the test that holds it.
  clock.setBusyCheck(() => false);
  const row = await queue.enqueueSms('david@contoso.com', { to: '+14255550112', text: 'x' });
  await clock.settle();
  expect((await rows.get(row.id))!.status).toBe('pending');
  release();
  await queue.idle();
  expect((await rows.get(row.id))!.status).toBe('sent');
});

test('a failing provider is retried with backoff until it recovers; nothing is lost', async () => {
  const sms = new FakeSms();
  sms.fail = 3;
  const { clock, rows, queue, log } = await setup({ sms });
  const t0 = clock.now();
  const row = await queue.enqueueSms('david@contoso.com', { to: '+14255550112', text: 'Voice message from +14255550123, 4 s.' });
  await clock.settle();
  expect(sms.tried).toHaveLength(1);
  expect(await rows.get(row.id)).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: t0 + 30_000, lastError: 'provider down (503)' });
  await clock.advance(29_999);
  expect(sms.tried).toHaveLength(1);
  await clock.advance(1);
  expect(sms.tried).toHaveLength(2);
  expect(await rows.get(row.id)).toMatchObject({ attempts: 2, nextAttemptAt: t0 + 30_000 + 60_000 });
  await clock.advance(60_000);
  expect(await rows.get(row.id)).toMatchObject({ attempts: 3, nextAttemptAt: t0 + 90_000 + 120_000 });
  await clock.advance(120_000);
  expect(sms.sent).toHaveLength(1);
  expect(await rows.get(row.id)).toMatchObject({ status: 'sent', attempts: 4, lastError: null });
  const warnings = log.lines.filter((l) => l.msg === 'SMS not delivered; will retry');
  expect(warnings.map((w) => w.retryInMs)).toEqual([30_000, 60_000, 120_000]);
  // Logs name the mailbox and the attempts, never the text.
  expect(log.text()).not.toContain('Voice message from');
  expect(clock.pendingTimers).toBe(0);
});

test('after the retry window the row is failed and an error names the mailbox and the attempts', async () => {
  const sms = new FakeSms();
  sms.failAlways = true;
  const { clock, rows, queue, log } = await setup({ sms, retryWindowMs: 2 * HOUR });
  const t0 = clock.now();
  const row = await queue.enqueueSms('david@contoso.com', { to: '+14255550112', text: 'Missed call from +14255550125' });
  await clock.advance(3 * HOUR);
  const r = (await rows.get(row.id))!;
  expect(r.status).toBe('failed');
  // 0, 30 s, 1.5 min, 3.5 min, 7.5 min, 15.5 min, 31.5 min, 63.5 min, then the window's end at 2 h: 9 attempts.
  expect(r.attempts).toBe(9);
  expect(sms.tried).toHaveLength(9);
  expect(r.lastError).toBe('provider down (503)');
  const errors = log.lines.filter((l) => l.level === 50);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ code: 'VA_ERR_NOTIFY_FAILED', identity: 'david@contoso.com', kind: 'sms', attempts: 9, notification: row.id });
  expect(log.text()).not.toContain('Missed call from');
  expect(clock.pendingTimers).toBe(0);
  // The last attempt was exactly at the window's end.
  expect(clock.now()).toBe(t0 + 3 * HOUR);
  expect((await rows.list('failed')).map((x) => x.id)).toEqual([row.id]);
});

test('pending rows are picked up after a restart, including ones due long ago', async () => {
  const dir = tempDir('va-queue-');
  const config = writeConfig(dir);
  const data = path.join(dir, 'data');
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));

  // First run: the provider is down; the process stops with the text still pending.
  const clock1 = new VirtualClock();
  const app1 = await openApp({ config, data, clock: clock1, mailer: new FakeMailer() });
  const down = new FakeSms();
  down.failAlways = true;
  const smtpDown = new FakeMailer();
  smtpDown.fail = 1000;
  const q1 = new NotificationQueue({ store: app1.store.notifications, sms: down, mailer: smtpDown, clock: clock1, logger: memoryLogger().logger, retryWindowMs: 24 * HOUR });
  clock1.setBusyCheck(() => q1.busy);
  q1.start();
  const row = await q1.enqueueSms('david@contoso.com', { to: '+14255550112', text: 'hello' });
  const mail = await q1.enqueueMail('david@contoso.com', { to: 'david@contoso.com', subject: 'Voice Mail from +1', text: 'x' });
  await clock1.settle();
  await q1.stop();
  app1.close();

  // Second run, two hours later: both are delivered at once.
  const clock2 = new VirtualClock(clock1.now() + 2 * HOUR);
  const app2 = await openApp({ config, data, clock: clock2, mailer: new FakeMailer() });
  cleanup.push(() => app2.close());
  const up = new FakeSms();
  const mailer = new FakeMailer();
  const rows = app2.store.notifications;
  expect((await rows.list('pending')).map((r) => r.id).sort()).toEqual([row.id, mail.id].sort());
  const q2 = new NotificationQueue({ store: rows, sms: up, mailer, clock: clock2, logger: memoryLogger().logger, retryWindowMs: 24 * HOUR });
  clock2.setBusyCheck(() => q2.busy);
  q2.start();
  await clock2.settle();
  expect(up.sent).toEqual([{ to: '+14255550112', text: 'hello' }]);
  expect(mailer.sent.map((m) => m.subject)).toEqual(['Voice Mail from +1']);
  expect(await rows.get(row.id)).toMatchObject({ status: 'sent', attempts: 2 });
  expect(await rows.list('pending')).toEqual([]);
});

test('a data folder from before claims (schema 2) is migrated, and its pending rows are sent', async () => {
  const dir = tempDir('va-queue-');
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const data = path.join(dir, 'data');
  mkdirSync(data, { recursive: true });
  const old = new Database(path.join(data, 'voice-access.db'));
  old.exec(MIGRATIONS[0].sqlite);
  old.exec(MIGRATIONS[1].sqlite);
  old.pragma('user_version = 2');
  old.prepare(`INSERT INTO notifications (kind, identity, payload, status, attempts, created_at, next_attempt_at) VALUES ('sms', 'david@contoso.com', ?, 'pending', 1, 0, 0)`).run(
    JSON.stringify({ to: '+14255550112', text: 'left before the upgrade' }),
  );
  old.close();

  const clock = new VirtualClock();
  const app = await openApp({ config: writeConfig(dir), data, clock, mailer: new FakeMailer() });
  cleanup.push(() => app.close());
  expect(sqliteOf(app).db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
  const rows = app.store.notifications;
  expect(await rows.list()).toMatchObject([{ status: 'pending', attempts: 1, claimedBy: null, claimedUntil: null }]);
  const sms = new FakeSms();
  const queue = new NotificationQueue({ store: rows, sms, mailer: new FakeMailer(), clock, logger: memoryLogger().logger, retryWindowMs: 24 * HOUR });
  queue.start();
  await queue.idle();
  expect(sms.sent).toEqual([{ to: '+14255550112', text: 'left before the upgrade' }]);
  expect(await rows.list()).toMatchObject([{ status: 'sent', attempts: 2, claimedBy: null }]);
});

test('stop leaves an unanswered attempt pending and unclaimed, to be sent again after the next start', async () => {
  const { clock, rows, queue } = await setup({
    sms: Object.assign(new FakeSms(), { send: () => new Promise<void>(() => {}) }),
  });
  clock.setBusyCheck(() => false);
  const row = await queue.enqueueSms('david@contoso.com', { to: '+14255550112', text: 'x' });
  await clock.settle();
  expect(await rows.get(row.id)).toMatchObject({ claimedBy: queue.owner, claimedUntil: clock.now() + DEFAULT_CLAIM_MS });
  await queue.stop(20);
  expect(await rows.get(row.id)).toMatchObject({ status: 'pending', attempts: 0, claimedBy: null, claimedUntil: null });
});

/** A slow provider: after failing its first `failures` sends, it takes each text only when the test calls `release`. */
class HeldSms extends FakeSms {
  private held: (() => void)[] = [];
  constructor(private failures: number) {
    super();
  }
  override send(m: SmsMessage): Promise<void> {
    this.tried.push(m);
    if (this.failures > 0) {
      this.failures--;
      return Promise.reject(new Error('provider down (503)'));
    }
    return new Promise<void>((resolve) => this.held.push(resolve)).then(() => void this.sent.push(m));
  }
  /** Lets every text held so far through. */
  release(): void {
    for (const r of this.held.splice(0)) r();
  }
}

/**
 * Two queues on one data folder, as two `serve` instances behind drachtio-server have: a second app on the first
 * one's data folder and clock, with its own queue and provider.
 */
async function secondQueue(first: { config: string; data: string; clock: VirtualClock }, sms: FakeSms, watchIntervalMs = 0) {
  const app = await openApp({ config: first.config, data: first.data, clock: first.clock, mailer: new FakeMailer() });
  cleanup.push(() => app.close());
  const queue = new NotificationQueue({
    store: app.store.notifications,
    sms,
    mailer: new FakeMailer(),
    clock: first.clock,
    logger: memoryLogger().logger,
    retryWindowMs: 24 * HOUR,
    watchIntervalMs,
  });
  queue.start();
  return queue;
}

test('two queues on one data folder: a row one of them is sending is not sent by the other', async () => {
  const slow = new HeldSms(0);
  const first = await setup({ sms: slow });
  first.clock.setBusyCheck(() => false);
  const other = new FakeSms();
  const second = await secondQueue(first, other);
  const a = await first.queue.enqueueSms('david@contoso.com', { to: '+14255550112', text: 'from the first' });
  await first.clock.settle();
  expect(slow.tried).toHaveLength(1);
  // The second queue pumps (its own text): the first one's row, still being sent, is not its to send.
  const b = await second.enqueueSms('tony@contoso.com', { to: '+14255550123', text: 'from the second' });
  await first.clock.settle();
  expect(other.tried.map((m) => m.text)).toEqual(['from the second']);
  slow.release();
  await first.queue.idle();
  expect(slow.sent.map((m) => m.text)).toEqual(['from the first']);
  expect([await first.rows.get(a.id), await first.rows.get(b.id)]).toMatchObject([
    { status: 'sent', attempts: 1, claimedBy: null },
    { status: 'sent', attempts: 1, claimedBy: null },
  ]);
  await second.stop();
});

test('two queues on one data folder: a failed row is retried by one queue, the other passing over it while it is sent', async () => {
  // The first queue's provider fails once, then takes its time (a slow webhook) until released.
  const flaky = new HeldSms(1);
  const first = await setup({ sms: flaky });
  const other = new FakeSms();
  const second = await secondQueue(first, other);
  first.clock.setBusyCheck(() => second.busy);
  const row = await first.queue.enqueueSms('david@contoso.com', { to: '+14255550112', text: 'retried' });
  await first.clock.settle();
  expect(await first.rows.get(row.id)).toMatchObject({ status: 'pending', attempts: 1, claimedBy: null });
  // The second queue learns of the row when it next pumps: both now wait for its retry, 30 s on.
  await second.enqueueSms('tony@contoso.com', { to: '+14255550123', text: 'other' });
  await first.clock.advance(30_000);
  expect(flaky.tried.map((m) => m.text)).toEqual(['retried', 'retried']);
  expect(other.tried.map((m) => m.text)).toEqual(['other']);
  flaky.release();
  await first.queue.idle();
  expect(await first.rows.get(row.id)).toMatchObject({ status: 'sent', attempts: 2, claimedBy: null });
  // With the row sent, the second queue's wait for the claim to run out finds nothing to do.
  await first.clock.advance(DEFAULT_CLAIM_MS);
  expect(other.tried.map((m) => m.text)).toEqual(['other']);
  await second.stop();
});

/**
 * A first queue whose process died mid-send (its attempts never end; the clock does not wait for them) and a second
 * queue on the same data folder, with its own provider (`other`).
 */
async function deadFirstAndSecond(watchIntervalMs = 0) {
  const first = await setup({ sms: Object.assign(new FakeSms(), { send: () => new Promise<void>(() => {}) }) });
  const other = new FakeSms();
  const second = await secondQueue(first, other, watchIntervalMs);
  first.clock.setBusyCheck(() => second.busy);
  return { first, other, second };
}

test("a crashed process's claim runs out, and another queue sends the row", async () => {
  const { first, other, second } = await deadFirstAndSecond();
  const t0 = first.clock.now();
  const row = await first.queue.enqueueSms('david@contoso.com', { to: '+14255550112', text: 'orphaned' });
  await first.clock.settle();
  await second.enqueueSms('tony@contoso.com', { to: '+14255550123', text: 'other' });
  await first.clock.advance(DEFAULT_CLAIM_MS - 1);
  expect(other.tried.map((m) => m.text)).toEqual(['other']);
  await first.clock.advance(1);
  expect(other.sent.map((m) => m.text)).toEqual(['other', 'orphaned']);
  expect(await first.rows.get(row.id)).toMatchObject({ status: 'sent', attempts: 1, sentAt: t0 + DEFAULT_CLAIM_MS, claimedBy: null });
  await second.stop();
});

test('a mail whose recording was deleted before a retry goes without the attachment, saying so', async () => {
  const mailer = new FakeMailer();
  mailer.fail = 1;
  const { clock, rows, queue, data, log } = await setup({ mailer });
  const wav = path.join(data, 'gone.wav');
  const row = await queue.enqueueMail('david@contoso.com', {
    to: 'david@contoso.com',
    subject: 'Voice Mail from +14255550123 (0:04)',
    text: 'You received a voice message.',
    attachments: [{ filename: 'voicemail-x.wav', path: wav, contentType: 'audio/wav' }],
    attachmentGoneText: 'The recording was deleted before this mail could be delivered.',
  });
  await clock.advance(30_000);
  expect((await rows.get(row.id))!.status).toBe('sent');
  expect(mailer.sent).toHaveLength(1);
  expect(mailer.sent[0].attachments).toEqual([]);
  expect(mailer.sent[0].text).toContain('The recording was deleted');
  expect(mailer.sent[0]).not.toHaveProperty('attachmentGoneText');
  expect(log.lines.some((l) => String(l.msg).includes('recording is gone'))).toBe(true);
});

test('attempts run a few at a time: a hanging provider does not hold the others back', async () => {
  const slow: (() => void)[] = [];
  const sent: string[] = [];
  const { clock, queue, rows } = await setup({
    sms: Object.assign(new FakeSms(), {
      send: (m: { to: string }) =>
        m.to === 'slow' ? new Promise<void>((resolve) => slow.push(resolve)) : (sent.push(m.to), Promise.resolve()),
    }),
  });
  clock.setBusyCheck(() => false);
  for (let i = 0; i < 3; i++) (await queue.enqueueSms('a@contoso.com', { to: 'slow', text: 'x' }));
  for (let i = 0; i < 5; i++) (await queue.enqueueSms('b@contoso.com', { to: `fast${i}`, text: 'x' }));
  for (let i = 0; i < 5; i++) await clock.settle();
  expect(sent).toEqual(['fast0', 'fast1', 'fast2', 'fast3', 'fast4']);
  slow.forEach((r) => r());
  await queue.idle();
  expect(await rows.list('pending')).toEqual([]);
});

test("watching the store, an idle queue knows another process's rows and takes over a dead one's when its claim runs out", async () => {
  // The second queue enqueues nothing of its own: only its look at the store every second can find the row.
  const { first, other, second } = await deadFirstAndSecond(1000);
  const t0 = first.clock.now();
  const row = await first.queue.enqueueSms('david@contoso.com', { to: '+14255550112', text: 'orphaned' });
  await first.clock.advance(DEFAULT_CLAIM_MS - 1);
  expect(other.tried).toEqual([]);
  await first.clock.advance(1_000);
  expect(other.sent.map((m) => m.text)).toEqual(['orphaned']);
  expect(await first.rows.get(row.id)).toMatchObject({ status: 'sent', attempts: 1, claimedBy: null });
  expect((await first.rows.get(row.id))!.sentAt).toBeLessThanOrEqual(t0 + DEFAULT_CLAIM_MS + 1_000);
  await second.stop();
});

test('without watching, an idle queue never sees the other process\'s row', async () => {
  const { first, other, second } = await deadFirstAndSecond();
  await first.queue.enqueueSms('david@contoso.com', { to: '+14255550112', text: 'orphaned' });
  await first.clock.advance(2 * DEFAULT_CLAIM_MS);
  expect(other.tried).toEqual([]);
  await second.stop();
});
