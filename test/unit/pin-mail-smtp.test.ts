/**
 * PIN mails through a real SMTP receiver (`smtp-server` on 127.0.0.1, an ephemeral port): Set-UMMailboxPIN's mail,
 * -NotifyEmail, the automatic reset after LogonFailuresBeforePINReset failed sign-ins, and an unreachable server.
 */
import { existsSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import * as path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { openApp } from '../../src/app';
import { main } from '../../src/cli/main';
import { captureIo, tempDir, writeConfig } from '../helpers';

interface Received {
  from: string | undefined;
  to: string[];
  raw: string;
}

const RESET_TEXT = 'Your new voice mail PIN follows.';
const received: Received[] = [];
let server: SMTPServer;
let port: number;

beforeAll(async () => {
  server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
          to: session.envelope.rcptTo.map((a) => a.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  port = (server.server.address() as AddressInfo).port;
});

const made: string[] = [];
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

beforeEach(() => {
  received.length = 0;
});

function setup(smtpPort = port) {
  const dir = tempDir('va-smtp-');
  made.push(dir);
  const config = writeConfig(dir, (doc) => {
    doc.mail = { smtp: { host: '127.0.0.1', port: smtpPort } };
  });
  return { data: path.join(dir, 'data'), config };
}

async function run(ctx: { data: string; config: string }, ...args: string[]) {
  const io = captureIo();
  const code = await main([...args, '--data', ctx.data, '--config', ctx.config], io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

function pinIn(raw: string): string | undefined {
  return /^PIN: (\d+)\r?$/m.exec(raw)?.[1];
}

async function signIn(ctx: { data: string; config: string }, identity: string, pin: string) {
  const app = await openApp(ctx);
  try {
    return await app.pins.signIn(identity, pin);
  } finally {
    app.close();
  }
}

test('Set-UMMailboxPIN mails a generated 6-digit PIN with the ResetPINText to the user over SMTP', async () => {
  const ctx = setup();
  const r = await run(ctx, 'Set-UMMailboxPIN', '-Identity', 'tony@contoso.com', '--json');
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)[0]).toMatchObject({ PinGenerated: true, EmailSentTo: 'tony@contoso.com' });
  expect(received).toHaveLength(1);
  const [mail] = received;
  expect(mail.to).toEqual(['tony@contoso.com']);
  expect(mail.from).toBe('voice-access@localhost');
  expect(mail.raw).toMatch(/^To: tony@contoso\.com\r?$/m);
  expect(mail.raw).toMatch(/^Subject: Your voice mail PIN\r?$/m);
  expect(mail.raw).toContain(RESET_TEXT);
  const pin = pinIn(mail.raw);
  expect(pin).toMatch(/^\d{6}$/);
  // Nothing went to the file outbox.
  expect(existsSync(path.join(ctx.data, 'outbox'))).toBe(false);
  expect((await signIn(ctx, 'tony@contoso.com', '483920')).outcome).toBe('failed');
  expect((await signIn(ctx, 'tony@contoso.com', pin!)).outcome).toBe('ok');
});

test('-NotifyEmail delivers the PIN mail to that address instead', async () => {
  const ctx = setup();
  const r = await run(ctx, 'Set-UMMailboxPIN', '-Identity', 'tony@contoso.com', '-NotifyEmail', 'admin@contoso.com');
  expect(r.code).toBe(0);
  expect(received).toHaveLength(1);
  expect(received[0].to).toEqual(['admin@contoso.com']);
  expect(received[0].raw).toContain(RESET_TEXT);
  const pin = pinIn(received[0].raw);
  expect(pin).toMatch(/^\d{6}$/);
  expect((await signIn(ctx, 'tony@contoso.com', pin!)).outcome).toBe('ok');
});

test('-SendEmail $false sends nothing over SMTP', async () => {
  const ctx = setup();
  expect((await run(ctx, 'Set-UMMailboxPIN', 'tony@contoso.com', '-SendEmail', '$false')).code).toBe(0);
  expect(received).toHaveLength(0);
});

test('the automatic reset after 5 failed sign-ins mails a new PIN through SMTP', async () => {
  const ctx = setup();
  const app = await openApp(ctx);
  try {
    const outcomes = [];
    for (const wrong of ['000001', '000002', '000003', '000004', '000005']) outcomes.push(await app.pins.signIn('david@contoso.com', wrong));
    expect(outcomes.map((o) => (o.outcome === 'failed' ? o.action : o.outcome))).toEqual(['retry', 'retry', 'retry', 'retry', 'reset']);
    expect(received).toHaveLength(1);
    expect(received[0].to).toEqual(['david@contoso.com']);
    expect(received[0].raw).toContain(RESET_TEXT);
    const pin = pinIn(received[0].raw);
    expect(pin).toMatch(/^\d{6}$/);
    expect((await app.pins.signIn('david@contoso.com', '739164')).outcome).toBe('failed');
    const ok = await app.pins.signIn('david@contoso.com', pin!);
    expect(ok.outcome).toBe('ok');
    // The reset PIN must be changed at the next sign-in.
    expect(ok.outcome === 'ok' && ok.mustChangePin).toBe(true);
  } finally {
    app.close();
  }
});

test('an SMTP port with nothing listening fails with VA_ERR_MAIL_SEND (exit 1) and no PIN in the message', async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const deadPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));

  const ctx = setup(deadPort);
  const r = await run(ctx, 'Set-UMMailboxPIN', '-Identity', 'tony@contoso.com', '-Pin', '246813');
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('VA_ERR_MAIL_SEND');
  expect(r.stderr).toContain(`127.0.0.1:${deadPort}`);
  expect(r.stderr).not.toContain('246813');
  expect(r.stdout).toBe('');
  expect(received).toHaveLength(0);
  // The mail goes first, so a failed delivery changes nothing: the PIN the user knows still works.
  const app = await openApp({ config: ctx.config, data: ctx.data });
  try {
    expect(await app.pins.signIn('tony@contoso.com', '483920')).toMatchObject({ outcome: 'ok' });
    expect(await app.pins.signIn('tony@contoso.com', '246813')).toMatchObject({ outcome: 'failed' });
  } finally {
    app.close();
  }
}, 20_000);
