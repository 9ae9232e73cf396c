/**
 * The SMS webhook provider against a real local HTTP server (node:http on 127.0.0.1, an ephemeral port): the POST's
 * JSON body and headers; non-2xx, timeout and no-connection failures; and, through the queue on a virtual clock, a
 * webhook answering 500 and then recovering: the text is retried and delivered once, costing no real wait.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isVaError } from '../../src/errors';
import { NotificationQueue } from '../../src/notify/notification-queue';
import { createSmsSender } from '../../src/notify/sms-provider';
import { createWebhookSmsSender, describeUrl } from '../../src/notify/sms-webhook-sender';
import { FakeMailer, memoryLogger, openVirtualApp } from './notify-helpers';

interface Hit {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let base: string;
const hits: Hit[] = [];
/** How the server answers the next requests (status, or 'hang'); the last entry repeats. */
let answers: (number | 'hang')[] = [200];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const a = answers.length > 1 ? answers.shift()! : answers[0];
      if (a === 'hang') return; // never answers
      res.writeHead(a, { 'content-type': 'application/json' });
      res.end(a >= 200 && a < 300 ? '{"id":"sms-1"}' : '{"error":"down"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  hits.length = 0;
  answers = [200];
});

test('POSTs {to, text} as JSON with the configured headers; 2xx is accepted', async () => {
  const sms = createWebhookSmsSender({ url: `${base}/sms?key=s3cret`, headers: { Authorization: 'Bearer t0ken', 'X-Tenant': 'contoso' }, timeoutSeconds: 5 });
  answers = [202];
  await sms.send({ to: '+14255550112', text: 'Voice message from +14255550123, Mon, Jan 6, 9:00 AM, 4 s.' });
  expect(hits).toHaveLength(1);
  const [h] = hits;
  expect(h.method).toBe('POST');
  expect(h.url).toBe('/sms?key=s3cret');
  expect(h.headers['content-type']).toBe('application/json');
  expect(h.headers.authorization).toBe('Bearer t0ken');
  expect(h.headers['x-tenant']).toBe('contoso');
  expect(JSON.parse(h.body)).toEqual({ to: '+14255550112', text: 'Voice message from +14255550123, Mon, Jan 6, 9:00 AM, 4 s.' });
});

test('the directory settings choose the webhook; a configured Content-Type is kept', async () => {
  const sms = createSmsSender(
    { provider: 'webhook', webhook: { url: `${base}/hook`, headers: { 'Content-Type': 'application/json; charset=utf-8' }, timeoutSeconds: 5 } },
    '/nonexistent',
    { now: () => 0 },
  );
  await sms.send({ to: '+33612345678', text: 'Appel manqué de numéro masqué' });
  expect(hits[0].headers['content-type']).toBe('application/json; charset=utf-8');
  expect(JSON.parse(hits[0].body).text).toBe('Appel manqué de numéro masqué');
});

test('a non-2xx answer, a timeout and a refused connection fail with VA_ERR_SMS_SEND, without the text, headers or query', async () => {
  const sms = createWebhookSmsSender({ url: `${base}/sms?key=s3cret`, headers: { Authorization: 'Bearer t0ken' }, timeoutSeconds: 0.3 });
  const failure = async (): Promise<Error> => {
    try {
      await sms.send({ to: '+14255550112', text: 'the text body' });
    } catch (err) {
      return err as Error;
    }
    throw new Error('expected a failure');
  };
  answers = [500];
  const e500 = await failure();
  expect(isVaError(e500, 'VA_ERR_SMS_SEND')).toBe(true);
  expect(e500.message).toBe(`the SMS webhook ${base}/sms answered 500 Internal Server Error`);

  answers = ['hang'];
  const eTimeout = await failure();
  expect(isVaError(eTimeout, 'VA_ERR_SMS_SEND')).toBe(true);
  expect(eTimeout.message).toContain('no answer within 0.3 s');

  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const refused = createWebhookSmsSender({ url: `http://127.0.0.1:${deadPort}/sms`, headers: {}, timeoutSeconds: 2 });
  const eRefused = await refused.send({ to: '+1', text: 'x' }).then(
    () => null,
    (err: Error) => err,
  );
  expect(isVaError(eRefused, 'VA_ERR_SMS_SEND')).toBe(true);
  expect(eRefused!.message).toContain('ECONNREFUSED');

  for (const e of [e500, eTimeout, eRefused!]) {
    expect(e.message).not.toMatch(/the text body|t0ken|s3cret/);
  }
});

test('describeUrl drops the query and credentials', () => {
  expect(describeUrl('https://user:pw@sms.example.com:8443/v1/send?api_key=abc')).toBe('https://sms.example.com:8443/v1/send');
});

test('a webhook answering 500 is retried on the virtual clock until it recovers; the text arrives once', async () => {
  const { app, clock } = await openVirtualApp();
  try {
    const log = memoryLogger();
    const rows = app.store.notifications;
    const queue = new NotificationQueue({
      store: rows,
      sms: createWebhookSmsSender({ url: `${base}/sms`, headers: { 'X-Api-Key': 'k' }, timeoutSeconds: 5 }),
      mailer: new FakeMailer(),
      clock,
      logger: log.logger,
      retryWindowMs: 24 * 3_600_000,
    });
    // The clock waits for the real HTTP exchange before it moves on.
    clock.setBusyCheck(() => queue.busy);
    queue.start();
    answers = [500, 503, 200];
    const realStart = Date.now();
    const t0 = clock.now();
    const row = await queue.enqueueSms('david@contoso.com', { to: '+14255550112', text: 'Voice message from +14255550123' });
    await clock.settle();
    expect(hits).toHaveLength(1);
    expect(await rows.get(row.id)).toMatchObject({ status: 'pending', attempts: 1, lastError: `the SMS webhook ${base}/sms answered 500 Internal Server Error` });
    await clock.advance(30_000);
    expect(hits).toHaveLength(2);
    expect(await rows.get(row.id)).toMatchObject({ status: 'pending', attempts: 2, nextAttemptAt: t0 + 90_000 });
    await clock.advance(60_000);
    expect(hits).toHaveLength(3);
    expect(await rows.get(row.id)).toMatchObject({ status: 'sent', attempts: 3, sentAt: t0 + 90_000 });
    expect(hits.map((h) => JSON.parse(h.body))).toEqual(Array(3).fill({ to: '+14255550112', text: 'Voice message from +14255550123' }));
    // 90 s of retries on the virtual clock cost (far) less than 5 s of real time.
    expect(Date.now() - realStart).toBeLessThan(5_000);
    await clock.advance(24 * 3_600_000);
    expect(hits).toHaveLength(3);
    expect(log.lines.filter((l) => l.msg === 'SMS not delivered; will retry')).toHaveLength(2);
    await queue.stop();
  } finally {
    app.close();
  }
});
