/**
 * Voice-message mails through a real SMTP receiver (`smtp-server` on 127.0.0.1, an ephemeral port), with the WAV
 * attached byte for byte (issue 5: "each new voice message is delivered to the user's address with the WAV
 * attached"), and the whole path as a user meets it: the real server (`startServer`, what `voice-access serve`
 * runs) with `mail.smtp` and an SMS webhook configured, a caller leaving David a message over SIP and RTP, then the
 * mail arriving at the SMTP server and the text at the webhook.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { openApp } from '../../src/app';
import { encodeWav } from '../../src/media/wav';
import { createNotifications } from '../../src/notify/voice-mail-notifier';
import { runScenarioOverNetwork } from '../../src/sim/net/net-runner';
import { formatTranscript } from '../../src/sim/runner';
import { VirtualClock } from '../../src/sim/virtual-clock';
import { startServerFor } from '../sim/net/net-helpers';
import { tempDir, writeConfig } from '../helpers';
import { FakeSms, memoryLogger } from './notify-helpers';

interface Received {
  to: string[];
  raw: string;
}

const mails: Received[] = [];
let smtp: SMTPServer;
let smtpPort: number;
const texts: { headers: IncomingMessage['headers']; body: unknown }[] = [];
let webhook: Server;
let webhookUrl: string;

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 50 * 1024 * 1024,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((a) => a.address), raw: Buffer.concat(chunks).toString('latin1') });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    smtp.once('error', reject);
    smtp.listen(0, '127.0.0.1', () => resolve());
  });
  smtpPort = (smtp.server.address() as AddressInfo).port;

  webhook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      texts.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', () => resolve()));
  webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/sms`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
  webhook.closeAllConnections();
  await new Promise<void>((resolve) => webhook.close(() => resolve()));
});

beforeEach(() => {
  mails.length = 0;
  texts.length = 0;
});

/** Headers (lower-case names, unfolded) and body of a MIME entity. */
function entity(raw: string): { headers: Map<string, string>; body: string } {
  const m = /\r?\n\r?\n/.exec(raw)!;
  const headers = new Map<string, string>();
  for (const line of raw.slice(0, m.index).replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return { headers, body: raw.slice(m.index + m[0].length) };
}

/** The attachments of a multipart mail: file name, content type and decoded bytes. */
function attachmentsOf(raw: string): { filename: string; type: string; bytes: Buffer }[] {
  const top = entity(raw);
  const boundary = /boundary="?([^";]+)"?/.exec(top.headers.get('content-type') ?? '')?.[1];
  if (!boundary) return [];
  const out: { filename: string; type: string; bytes: Buffer }[] = [];
  for (const part of top.body.split(`--${boundary}`).slice(1)) {
    if (part.startsWith('--')) break;
    const p = entity(part.replace(/^\r?\n/, ''));
    const disposition = p.headers.get('content-disposition') ?? '';
    if (!disposition.startsWith('attachment')) continue;
    expect(p.headers.get('content-transfer-encoding')).toBe('base64');
    out.push({
      filename: /filename="?([^";]+)"?/.exec(disposition)![1],
      type: p.headers.get('content-type')!.split(';')[0],
      bytes: Buffer.from(p.body.replace(/\s+/g, ''), 'base64'),
    });
  }
  return out;
}

/** A 3-second 8 kHz WAV with a tone, like a recording. */
function recordingBytes(): Buffer {
  const pcm = new Int16Array(8000 * 3);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  return encodeWav(pcm);
}

test('the voice-message mail reaches the SMTP server with the WAV attached, bytes equal to the recording', async () => {
  const dir = tempDir('va-vmail-');
  const config = writeConfig(dir, (doc) => {
    doc.mail = { smtp: { host: '127.0.0.1', port: smtpPort } };
  });
  const clock = new VirtualClock(Date.UTC(2025, 0, 6, 9, 0, 0));
  const app = await openApp({ config, data: path.join(dir, 'data'), clock });
  try {
    const wav = path.join(app.dataDir, 'recordings', 'david-1.wav');
    mkdirSync(path.dirname(wav), { recursive: true });
    writeFileSync(wav, recordingBytes());
    const n = createNotifications({
      store: app.store,
      mailer: app.mailer, // the configured one: SMTP
      settings: app.directory.notifications,
      dataDir: app.dataDir,
      clock,
      logger: memoryLogger().logger,
      sms: new FakeSms(),
      timeZone: 'UTC',
    });
    clock.setBusyCheck(() => n.queue.busy);
    const message = await app.store.addVoiceMessage({ identity: 'david@contoso.com', caller: '+14255550123', receivedAt: clock.now(), durationMs: 3_000, urgent: false, audioFile: wav });
    n.notifier.handle({ type: 'voice-message', identity: 'david@contoso.com', message });
    await clock.settle();
    await n.queue.idle();
    expect(mails).toHaveLength(1);
    const [mail] = mails;
    expect(mail.to).toEqual(['david@contoso.com']);
    expect(mail.raw).toMatch(/^Subject: Voice Mail from \+14255550123 \(0:03\)\r?$/m);
    expect(mail.raw).toMatch(/^From: Voice Access <voice-access@localhost>\r?$/m);
    const files = attachmentsOf(mail.raw);
    expect(files.map((f) => [f.filename, f.type])).toEqual([['voicemail-20250106-090000.wav', 'audio/wav']]);
    expect(files[0].bytes.equals(readFileSync(wav))).toBe(true);
    expect((await app.store.notifications.list()).map((r) => [r.kind, r.status])).toEqual([
      ['mail', 'sent'],
      ['sms', 'sent'],
    ]);
    await n.stop();
  } finally {
    app.close();
  }
});

test('as a user meets it: a caller leaves David a message on the real server; the mail (SMTP) and the text (webhook) arrive', async () => {
  const dir = tempDir('va-vmail-net-');
  const scenario = path.join(dir, 'leave-message.yaml');
  writeFileSync(
    scenario,
    `name: a caller leaves David a message
calls:
  - id: caller
    from: "+14255550123"
    to: "+14255550100"
    diversion: "51235"
    steps:
      - expectRecording: true
      - speak: { seconds: 2 }
      - dtmf: "#"
      - expectPrompt: message-saved
      - expectHangup: { within: 10s }
expect:
  - result: { call: caller, is: message-left }
  - mailbox: david@contoso.com
    voiceMessages: { total: 1, unheard: 1 }
`,
  );
  const server = await startServerFor(scenario, (doc) => {
    doc.mail = { smtp: { host: '127.0.0.1', port: smtpPort } };
    doc.notifications = { sms: { provider: 'webhook', webhook: { url: webhookUrl, headers: { Authorization: 'Bearer demo' } } } };
  });
  try {
    const report = await runScenarioOverNetwork(scenario, { target: server.target(), data: server.data, config: server.config, results: server.results });
    if (!report.passed) console.log(report.calls.map(formatTranscript).join('\n'));
    expect(report.failures).toEqual([]);
    // Delivery follows the message at once; allow the server a moment.
    for (let i = 0; i < 100 && (mails.length === 0 || texts.length === 0); i++) await new Promise((r) => setTimeout(r, 50));
    expect(texts).toHaveLength(1);
    expect(texts[0].headers.authorization).toBe('Bearer demo');
    expect(texts[0].body).toEqual({ to: '+14255550112', text: expect.stringMatching(/^Voice message from \+14255550123, .+, \d+ s\. Call \+14255550100 to listen\.$/) });
    expect(mails).toHaveLength(1);
    expect(mails[0].to).toEqual(['david@contoso.com']);
    const recording = (await server.server.app.store.listVoiceMessages('david@contoso.com'))[0].audioFile;
    const [wav] = attachmentsOf(mails[0].raw);
    expect(wav.type).toBe('audio/wav');
    expect(wav.filename).toMatch(/^voicemail-\d{8}-\d{6}\.wav$/);
    expect(wav.bytes.equals(readFileSync(recording))).toBe(true);
    expect(wav.bytes.subarray(0, 4).toString('latin1')).toBe('RIFF');
  } finally {
    await server.stop();
  }
}, 60_000);
