/**
 * Who gets a text or a mail (issue 5; seed 004 [S4] rows 19-23, [D-POL] AllowSMSNotification, [D-UMMBX]
 * UMSMSNotificationOption), with the settings changed by the cmdlets as an administrator would:
 * - VoiceMail: a text per new voice message, none for a missed call; VoiceMailAndMissedCalls: both; None: no text.
 * - AllowSMSNotification $false on the policy, or no mobile number: no text.
 * - Every new voice message is mailed to the mailbox with its WAV, unless `notifications.email.voiceMessages` is false.
 * - Texts and mails in the mailbox's language (fr-FR for Claire's dial plan).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { App } from '../../src/app';
import { createNotifications, smsText, voiceMessageMail, type NotifiableEvent, type Notifications } from '../../src/notify/voice-mail-notifier';
import { runAdminAction } from '../../src/sim/runner';
import type { VirtualClock } from '../../src/sim/virtual-clock';
import { FakeMailer, FakeSms, memoryLogger, openVirtualApp } from './notify-helpers';

const AT = Date.UTC(2025, 0, 6, 9, 0, 0);

interface Ctx {
  app: App;
  clock: VirtualClock;
  sms: FakeSms;
  mailer: FakeMailer;
  n: Notifications;
  log: ReturnType<typeof memoryLogger>;
  /** Hands an event to the notifier and lets the queue deliver. */
  event(e: NotifiableEvent): Promise<void>;
  admin(line: string): Promise<string>;
}

const opened: App[] = [];
afterEach(() => {
  while (opened.length) opened.pop()!.close();
});

async function setup(patch: (doc: any) => void = () => {}): Promise<Ctx> {
  const { app, clock } = await openVirtualApp(patch);
  opened.push(app);
  const sms = new FakeSms();
  const mailer = new FakeMailer();
  const log = memoryLogger();
  const n = createNotifications({ store: app.store, mailer, settings: app.directory.notifications, dataDir: app.dataDir, clock, logger: log.logger, sms, timeZone: 'UTC' });
  clock.setBusyCheck(() => n.queue.busy);
  return {
    app,
    clock,
    sms,
    mailer,
    n,
    log,
    async event(e) {
      n.notifier.handle(e);
      await clock.settle();
    },
    admin: (line) => runAdminAction(app, line.split(' ')),
  };
}

const message = (identity: string, caller: string | null, durationMs = 4_200, receivedAt = AT): NotifiableEvent => ({
  type: 'voice-message',
  identity,
  message: { caller, receivedAt, durationMs, audioFile: `/data/recordings/${identity}-1.wav` },
});
const missed = (identity: string, caller: string | null, at = AT): NotifiableEvent => ({ type: 'missed-call', identity, caller, at });

test('VoiceMail (David, the demo): a text and a mail with the WAV per new voice message', async () => {
  const c = await setup();
  const wav = path.join(c.app.dataDir, 'recordings', 'david-1.wav');
  mkdirSync(path.dirname(wav), { recursive: true });
  writeFileSync(wav, 'RIFF....WAVE');
  await c.event({ type: 'voice-message', identity: 'david@contoso.com', message: { caller: '+14255550123', receivedAt: AT, durationMs: 4_200, audioFile: wav } });
  expect(c.sms.sent).toEqual([{ to: '+14255550112', text: 'Voice message from +14255550123, Mon, Jan 6, 9:00 AM, 4 s. Call +14255550100 to listen.' }]);
  expect(c.mailer.sent).toHaveLength(1);
  const mail = c.mailer.sent[0];
  expect(mail.to).toBe('david@contoso.com');
  expect(mail.subject).toBe('Voice Mail from +14255550123 (0:04)');
  expect(mail.text).toContain('You received a voice message from +14255550123.');
  expect(mail.text).toContain('Duration: 4 seconds');
  expect(mail.text).toContain('call +14255550100 and sign in with your extension 51235');
  expect(mail.attachments).toEqual([{ filename: 'voicemail-20250106-090000.wav', path: wav, contentType: 'audio/wav' }]);
});

test('VoiceMail: no text for a missed call; VoiceMailAndMissedCalls (set with Set-UMMailbox): a text', async () => {
  const c = await setup();
  await c.event(missed('david@contoso.com', '+14255550125'));
  expect(c.sms.sent).toEqual([]);
  expect(c.mailer.sent).toEqual([]); // missed calls are not mailed

  await c.admin('Set-UMMailbox -Identity david@contoso.com -UMSMSNotificationOption VoiceMailAndMissedCalls');
  expect(await runAdminAction(c.app, ['Get-UMMailbox', 'david@contoso.com'])).toBe('1 object');
  expect((await c.app.store.getMailbox('david@contoso.com')).smsNotificationOption).toBe('VoiceMailAndMissedCalls');
  await c.event(missed('david@contoso.com', '+14255550125', AT + 5 * 60_000));
  await c.event(missed('david@contoso.com', null, AT + 6 * 60_000));
  expect(c.sms.sent.map((s) => s.text)).toEqual([
    'Missed call from +14255550125, Mon, Jan 6, 9:05 AM. No message was left.',
    'Missed call from unknown caller, Mon, Jan 6, 9:06 AM. No message was left.',
  ]);
  // Voice messages still get their text too.
  await c.event(message('david@contoso.com', '+14255550125'));
  expect(c.sms.sent).toHaveLength(3);
});

test('AllowSMSNotification $false (Set-UMMailboxPolicy): no text; the mail still goes', async () => {
  const c = await setup();
  await c.admin('Set-UMMailboxPolicy -Identity Contoso-Policy -AllowSMSNotification $false');
  expect((await c.app.store.getPolicy('Contoso-Policy')).allowSmsNotification).toBe(false);
  await c.event(message('david@contoso.com', '+14255550123'));
  await c.admin('Set-UMMailbox -Identity david@contoso.com -UMSMSNotificationOption VoiceMailAndMissedCalls');
  await c.event(missed('david@contoso.com', '+14255550123'));
  expect(c.sms.sent).toEqual([]);
  expect(c.mailer.sent.map((m) => m.to)).toEqual(['david@contoso.com']);
  // Back on: the next message is texted.
  await c.admin('Set-UMMailboxPolicy -Identity Contoso-Policy -AllowSMSNotification $true');
  await c.event(message('david@contoso.com', '+14255550123'));
  expect(c.sms.sent).toHaveLength(1);
});

test('option None (Tony, the default) or no mobile number: no text', async () => {
  const c = await setup();
  await c.event(message('tony@contoso.com', '+14255550123'));
  await c.event(missed('tony@contoso.com', '+14255550123'));
  expect(c.sms.sent).toEqual([]);
  expect(c.mailer.sent.map((m) => m.to)).toEqual(['tony@contoso.com']);

  // Claire has an option but no mobile number.
  await c.admin('Set-UMMailbox -Identity claire@contoso.com -UMSMSNotificationOption VoiceMail');
  await c.event(message('claire@contoso.com', '+14255550123'));
  expect(c.sms.sent).toEqual([]);
  expect(c.log.lines.some((l) => l.msg === 'no SMS: the policy does not allow it or the mailbox has no mobile number' && l.hasMobileNumber === false)).toBe(true);
});

test("texts and mails are in the mailbox's language: French for Claire (Contoso-Paris)", async () => {
  const c = await setup();
  await c.admin('Set-UMMailbox -Identity claire@contoso.com -UMSMSNotificationOption VoiceMailAndMissedCalls -MobileNumber +33612345678');
  await c.event(message('claire@contoso.com', null, 61_000));
  await c.event(missed('claire@contoso.com', '+14255550112'));
  expect(c.sms.sent).toEqual([
    { to: '+33612345678', text: "Message vocal de numéro masqué, lun. 6 janv., 09:00, 61 s. Appelez le +33155550100 pour l'écouter." },
    // A caller whose number is a user's is named (David's mobile).
    { to: '+33612345678', text: "Appel manqué de David Jones (+14255550112), lun. 6 janv., 09:00. Aucun message n'a été laissé." },
  ]);
  expect(c.mailer.sent[0].subject).toBe('Message vocal de numéro masqué (1:01)');
  expect(c.mailer.sent[0].text).toContain('Durée : 61 secondes');
  // A mailbox language overrides the dial plan's.
  await c.admin('Set-UMMailbox -Identity claire@contoso.com -Language en-US');
  await c.event(missed('claire@contoso.com', '+14255550123'));
  expect(c.sms.sent[2].text).toBe('Missed call from +14255550123, Mon, Jan 6, 9:00 AM. No message was left.');
});

test('notifications.email.voiceMessages: false turns the voice-message mail off', async () => {
  const c = await setup((doc) => {
    doc.notifications = { email: { voiceMessages: false } };
  });
  await c.event(message('david@contoso.com', '+14255550123'));
  expect(c.mailer.sent).toEqual([]);
  expect(c.sms.sent).toHaveLength(1);
});

test('an event for an unknown mailbox is logged, not thrown', async () => {
  const c = await setup();
  await c.event(message('nobody@contoso.com', '+1'));
  expect(c.sms.tried).toEqual([]);
  expect(c.log.lines.some((l) => l.msg === 'no mailbox to notify' && l.identity === 'nobody@contoso.com')).toBe(true);
});

test('smsText and voiceMessageMail: durations round to whole seconds (at least 1); no access number, no call-back line', () => {
  expect(smsText({ locale: 'en-US', caller: '+1', at: AT, durationMs: 400, timeZone: 'UTC' })).toBe('Voice message from +1, Mon, Jan 6, 9:00 AM, 1 s.');
  const mail = voiceMessageMail({ locale: 'en-US', caller: '+1', callerName: 'Tony Smith', at: AT, durationMs: 754_000, timeZone: 'UTC' }, 'x@contoso.com', 'a.wav', '51234');
  expect(mail.subject).toBe('Voice Mail from Tony Smith (12:34)');
  expect(mail.text).toContain('from Tony Smith (+1).');
  expect(mail.text).not.toContain('To listen by phone');
});
