import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { openApp, type App } from '../../src/app';
import { SCHEMA_VERSION } from '../../src/directory/db';
import { DAY_MS } from '../../src/domain/pin-policy';
import type { MailMessage } from '../../src/ports/mailer';
import { sqliteOf, tempDir, writeConfig } from '../helpers';

/** A mailer that keeps mails in memory (a port fake, for unit tests of the service). */
function memoryMailer() {
  const sent: MailMessage[] = [];
  return { sent, send: async (m: MailMessage) => void sent.push(m) };
}

describe('PinService: sign-in counters across calls', () => {
  let app: App;
  let mail: ReturnType<typeof memoryMailer>;
  let now = Date.UTC(2026, 10, 1);
  beforeEach(async () => {
    const dir = tempDir();
    mail = memoryMailer();
    now = Date.UTC(2026, 10, 1);
    app = await openApp({ config: writeConfig(dir), data: path.join(dir, 'data'), mailer: mail, clock: { now: () => now } });
  });
  afterEach(() => app.close());

  it('a right PIN signs in and says a first-time user must change it', async () => {
    const r = await app.pins.signIn('tony@contoso.com', '483920');
    expect(r).toMatchObject({ outcome: 'ok', mustChangePin: true, firstTimeUser: true });
    const d = await app.pins.signIn('david@contoso.com', '739164');
    expect(d).toMatchObject({ outcome: 'ok', mustChangePin: false });
  });

  it('resets the PIN at 5 failures, mails it with ResetPINText, and the mailed PIN works', async () => {
    for (let i = 1; i <= 4; i++) expect(await app.pins.signIn('david@contoso.com', '000001')).toMatchObject({ outcome: 'failed', failures: i, action: 'retry' });
    expect(mail.sent).toHaveLength(0);
    expect(await app.pins.signIn('david@contoso.com', '000001')).toMatchObject({ outcome: 'failed', failures: 5, action: 'reset' });
    expect(mail.sent).toHaveLength(1);
    expect(mail.sent[0].to).toBe('david@contoso.com');
    expect(mail.sent[0].text).toContain('Your new voice mail PIN follows.');
    const pin = /PIN: (\d+)/.exec(mail.sent[0].text)![1];
    expect(pin).toHaveLength(6);
    expect(await app.pins.signIn('david@contoso.com', '739164')).toMatchObject({ outcome: 'failed', failures: 6 });
    const ok = await app.pins.signIn('david@contoso.com', pin);
    expect(ok).toMatchObject({ outcome: 'ok', mustChangePin: true });
    expect((await app.store.getMailbox('david@contoso.com')).logonFailures).toBe(0);
  });

  it('locks the mailbox at 15 failures; a locked mailbox refuses even the right PIN; an admin reset unlocks', async () => {
    for (let i = 1; i <= 14; i++) await app.pins.signIn('david@contoso.com', '000001');
    expect(mail.sent).toHaveLength(2); // resets at 5 and 10
    expect(await app.pins.signIn('david@contoso.com', '000001')).toMatchObject({ outcome: 'failed', failures: 15, action: 'lockout' });
    expect((await app.store.pinStatus(await app.store.getMailbox('david@contoso.com'))).LockedOut).toBe(true);
    const lastPin = /PIN: (\d+)/.exec(mail.sent[1].text)![1];
    expect(await app.pins.signIn('david@contoso.com', lastPin)).toEqual({ outcome: 'locked' });
    await app.pins.setPin('david@contoso.com', { pin: '582047', pinExpired: false });
    expect(await app.pins.signIn('david@contoso.com', '582047')).toMatchObject({ outcome: 'ok', mustChangePin: false });
  });

  it('a success clears the count, so failures must be consecutive', async () => {
    for (let i = 0; i < 4; i++) await app.pins.signIn('david@contoso.com', '000001');
    await app.pins.signIn('david@contoso.com', '739164');
    for (let i = 0; i < 4; i++) expect((await app.pins.signIn('david@contoso.com', '000001')).outcome).toBe('failed');
    expect(mail.sent).toHaveLength(0);
  });

  it('the PIN expires after PINLifetime days (Get-UMMailboxPIN shows it, sign-in demands a change)', async () => {
    now += 59 * DAY_MS;
    expect(await app.pins.signIn('david@contoso.com', '739164')).toMatchObject({ mustChangePin: false });
    now += 1 * DAY_MS;
    expect((await app.store.pinStatus(await app.store.getMailbox('david@contoso.com'))).PinExpired).toBe(true);
    expect(await app.pins.signIn('david@contoso.com', '739164')).toMatchObject({ outcome: 'ok', mustChangePin: true });
    expect(await app.pins.changePin('david@contoso.com', '582047')).toBeNull();
    expect((await app.store.pinStatus(await app.store.getMailbox('david@contoso.com'))).PinExpired).toBe(false);
  });
});

describe('PinService: a user changing the PIN', () => {
  let app: App;
  beforeEach(async () => {
    const dir = tempDir();
    app = await openApp({ config: writeConfig(dir), data: path.join(dir, 'data'), mailer: memoryMailer() });
  });
  afterEach(() => app.close());

  it('refuses the current PIN and the last PINHistoryCount-1 others, accepts the 6th oldest', async () => {
    const pins = ['582047', '693158', '704269', '815370', '926481'];
    expect((await app.pins.checkNewPin('david@contoso.com', '739164'))?.rule).toBe('used-before');
    for (const p of pins) expect(await app.pins.changePin('david@contoso.com', p)).toBeNull();
    // History (5, current included): 926481 815370 704269 693158 582047 — 739164 has dropped out.
    for (const p of pins) expect((await app.pins.checkNewPin('david@contoso.com', p))?.rule).toBe('used-before');
    expect(await app.pins.checkNewPin('david@contoso.com', '739164')).toBeNull();
  });

  it('a refused PIN changes nothing', async () => {
    expect((await app.pins.changePin('david@contoso.com', '123456'))?.rule).toBe('common-pattern');
    expect((await app.pins.changePin('david@contoso.com', '12345'))?.rule).toBe('too-short');
    expect((await app.pins.changePin('david@contoso.com', '951235'))?.rule).toBe('extension-tail');
    expect(await app.pins.signIn('david@contoso.com', '739164')).toMatchObject({ outcome: 'ok' });
  });

  it('PINHistoryCount 1 refuses only the current PIN', async () => {
    await app.store.updatePolicy('Contoso-Policy', { pinHistoryCount: 1 });
    expect(await app.pins.changePin('david@contoso.com', '582047')).toBeNull();
    expect((await app.pins.checkNewPin('david@contoso.com', '582047'))?.rule).toBe('used-before');
    expect(await app.pins.checkNewPin('david@contoso.com', '739164')).toBeNull();
  });
});

describe('the store', () => {
  it('imports the directory once; later opens keep what the cmdlets changed', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'data');
    const config = writeConfig(dir);
    const a = await openApp({ config, data, mailer: memoryMailer() });
    await a.store.updateMailbox('tony@contoso.com', { smsNotificationOption: 'VoiceMail' });
    a.close();
    const b = await openApp({ config, data, mailer: memoryMailer() });
    expect((await b.store.getMailbox('tony@contoso.com')).smsNotificationOption).toBe('VoiceMail');
    expect(await b.store.listMailboxes()).toHaveLength(3);
    expect(sqliteOf(b).db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(sqliteOf(b).db.pragma('journal_mode', { simple: true })).toBe('wal');
    b.close();
  });

  it('writes the outbox mail atomically (no temporary file is left)', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'data');
    const a = await openApp({ config: writeConfig(dir), data });
    await a.pins.setPin('tony@contoso.com');
    a.close();
    const files = readdirSync(path.join(data, 'outbox'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/\.eml$/);
    const eml = readFileSync(path.join(data, 'outbox', files[0]), 'utf8');
    expect(eml).toMatch(/^To: tony@contoso\.com$/m);
    expect(eml).toMatch(/^Subject: Your voice mail PIN$/m);
  });
});
