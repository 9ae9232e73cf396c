/**
 * The admin center's web pages (issue 21) in a real browser: Debian's Chromium driven by playwright-core, against a
 * real `serve` (startServer with SIP on 127.0.0.1:0 and `--http 127.0.0.1:0`), keys made with New-VaApiKey. Checked
 * from the store, the audit log, the outbox, the API and a SIPp call: sign-in with a session cookie (HttpOnly,
 * SameSite=Strict, Path=/), a PIN typed on the Reset PIN page that then signs in over SIP, Exchange's defaults on that
 * page, unlock, a leader PIN shown once and masked after a reload, policy and gateway edits with the cmdlets'
 * messages, a View-Only key that sees no action and gets 403 when it posts anyway, CSRF refusals, the French pages,
 * a removed key ending its session, and nothing secret in the log. A screenshot of each page goes to
 * test-output/admin-web/.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import * as path from 'node:path';
import { findCmdlet } from '../../src/admin/cmdlets';
import { ADMIN_ROLES, type AdminRole } from '../../src/domain/admin-roles';
import { verifyPin } from '../../src/domain/pin-hash';
import { ROOT, tempDir } from '../helpers';
import { requireSipp } from '../sip/helpers/sipp';
import { openBrowser, SCREENSHOTS, type TestBrowser } from './helpers/browser';
import { describeCall, expectSippSuccess, heardIds, receivedKeys, sippCall, startIvrServer, type IvrServer } from './helpers/ivr-server';
import { writeInfoKeysScenario } from './helpers/sipp-info-scenario';

jest.setTimeout(60_000);

const DAVID = 'david@contoso.com';
const TONY = 'tony@contoso.com';
const CLAIRE = 'claire@contoso.com';
const AMOS = 'amos.marble@contoso.com';

/** `secret` not inside a longer run of digits or key characters. */
const alone = (secret: string) => new RegExp(`(?<![0-9A-Za-z_-])${secret.replace(/[^0-9A-Za-z_-]/g, '')}(?![0-9A-Za-z_-])`);

describe('admin center web pages in Chromium', () => {
  let t: IvrServer;
  let base: string;
  const keys = {} as Record<AdminRole | 'temp', string>;
  const browsers: TestBrowser[] = [];
  const shots: string[] = [];
  const secrets: string[] = [];

  const outbox = () => {
    const dir = path.join(t.data, 'outbox');
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.eml')) : [];
  };
  const browser = async (locale = 'en-US') => {
    const b = await openBrowser(locale);
    browsers.push(b);
    return b;
  };
  /**
   * A full-page screenshot, numbered in the order taken, in test-output/admin-web/ (for docs/images; not an outcome
   * the tests assert). Chromium on a loaded machine sometimes answers "Unable to capture screenshot": tried three
   * times, then left out with a line on stdout.
   */
  const shot = async (b: TestBrowser | Page, name: string) => {
    const file = path.join(SCREENSHOTS, `${String(shots.length + 1).padStart(2, '0')}-${name}.png`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    for (let attempt = 1; ; attempt++) {
      try {
        await ('page' in b ? b.page : b).screenshot({ path: file, fullPage: true });
        shots.push(file);
        return;
      } catch (err) {
        if (attempt === 3) {
          process.stdout.write(`admin web screenshot ${name} left out: ${(err as Error).message.split('\n')[0]}\n`);
          return;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  /**
   * Clicks what follows a link or submits a form and waits for the page it leads to (after any redirect) to load.
   * @returns the status of the first answer (a POST's 303, or a form shown again with 400)
   */
  const go = async (p: Page, click: () => Promise<unknown>): Promise<number> => {
    const first = p.waitForResponse((r) => r.request().isNavigationRequest() && r.request().frame() === p.mainFrame());
    await Promise.all([p.waitForEvent('load'), click()]);
    return (await first).status();
  };
  const signIn = async (b: TestBrowser, key: string) => {
    await b.page.goto(`${base}/`); // the root leads to the admin center
    expect(new URL(b.page.url()).pathname).toBe('/admin/sign-in');
    await b.page.fill('#key', key);
    expect(await go(b.page, () => b.page.click('#sign-in'))).toBe(303);
    expect(b.page.url()).toBe(`${base}/admin/recipients`);
  };

  beforeAll(async () => {
    requireSipp();
    rmSync(SCREENSHOTS, { recursive: true, force: true });
    t = await startIvrServer({ http: '127.0.0.1:0' });
    base = t.server.http!.url;
    for (const role of [...ADMIN_ROLES, 'temp'] as const) {
      const [out] = await findCmdlet('New-VaApiKey')!.run(t.server.app, { Name: role, Role: role === 'temp' ? 'UM Management' : role });
      keys[role] = out.Key as string;
      secrets.push(out.Key as string);
    }
    // Tony has one unheard voice message: his lamp is on.
    const audio = path.join(t.dir, 'message.wav');
    copyFileSync(path.join(ROOT, 'prompts', 'en-US', 'am.wav'), audio);
    await t.server.app.store.addVoiceMessage({ identity: TONY, caller: '+14255550123', receivedAt: Date.now(), durationMs: 1000, urgent: false, audioFile: audio });
  }, 60_000);

  afterAll(async () => {
    for (const b of browsers.splice(0)) await b.close().catch(() => undefined);
    await t?.stop();
    if (shots.length) process.stdout.write(`admin web screenshots (${shots.length}) in ${SCREENSHOTS}\n`);
  }, 30_000);

  test('sign-in: an unknown key is refused; a key gives a session cookie (HttpOnly, SameSite=Strict, Path=/) and the recipients with their PIN status', async () => {
    const b = await browser();
    await b.page.goto(`${base}/admin/recipients`);
    expect(new URL(b.page.url()).pathname).toBe('/admin/sign-in');
    await shot(b, 'sign-in');
    await b.page.fill('#key', 'va_not-a-key');
    expect(await go(b.page, () => b.page.click('#sign-in'))).toBe(401);
    expect(await b.page.textContent('#flash')).toContain('The API key is not known');

    await b.page.fill('#key', keys['UM Management']);
    expect(await go(b.page, () => b.page.click('#sign-in'))).toBe(303);
    expect(b.page.url()).toBe(`${base}/admin/recipients`);
    const cookie = (await b.context.cookies()).find((c) => c.name === 'va_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(cookie!.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    secrets.push(cookie!.value);
    expect(await b.page.textContent('#signed-in-as')).toContain('UM Management');

    const row = (id: string) => b.page.locator(`#recipients tr[data-identity="${id}"]`);
    expect(await b.page.locator('#recipients tbody tr').count()).toBe(3);
    expect(await row(TONY).locator('[data-col=pin-expired]').textContent()).toBe('Yes');
    expect(await row(TONY).locator('[data-col=first-time-user]').textContent()).toBe('Yes');
    expect(await row(DAVID).locator('[data-col=locked-out]').textContent()).toBe('No');
    expect(await row(DAVID).locator('[data-col=pin-expired]').textContent()).toBe('No');
    await shot(b, 'recipients');

    await b.page.fill('input[name=q]', '51235');
    await go(b.page, () => b.page.click('#search'));
    expect(b.page.url()).toBe(`${base}/admin/recipients?q=51235`);
    expect(await b.page.locator('#recipients tbody tr').count()).toBe(1);
    expect(await row(DAVID).count()).toBe(1);
  });

  test('a user\'s UM mailbox settings, PIN status and lamp; Reset PIN has Exchange\'s defaults; a typed PIN the policy refuses is shown with its rule', async () => {
    const b = browsers[0];
    await b.page.goto(`${base}/admin/recipients`);
    await go(b.page, () => b.page.click(`a[href="/admin/recipients/${encodeURIComponent(TONY)}"]`));
    const settings = await b.page.textContent('#mailbox-settings');
    for (const s of ['Tony Smith', TONY, '51234', 'Contoso-DP', 'Contoso-Policy', "the dial plan's (en-US)", '+14255550111']) expect(settings).toContain(s);
    expect(await b.page.textContent('#pin-expired')).toBe('Yes');
    expect(await b.page.textContent('#locked-out')).toBe('No');
    expect(await b.page.textContent('#lamp')).toBe('On: 1 unheard voice message(s)');
    expect(await b.page.locator('#unlock').count()).toBe(0); // not locked out: no Unlock
    await shot(b, 'recipient-details');

    await go(b.page, () => b.page.click('#reset-pin'));
    expect(await b.page.textContent('h1')).toBe('Reset UM Mailbox PIN');
    expect(await b.page.isChecked('#mode-generate')).toBe(true);
    expect(await b.page.isChecked('#mode-type')).toBe(false);
    expect(await b.page.isChecked('#pin-expired-required')).toBe(true);
    expect(await b.page.locator('label', { hasText: 'Require the user to reset their PIN the first time they sign in' }).count()).toBe(1);
    // The progressive script: the PIN field is usable only with "Type a PIN".
    expect(await b.page.isDisabled('#pin')).toBe(true);
    await b.page.check('#mode-type');
    expect(await b.page.isDisabled('#pin')).toBe(false);
    await shot(b, 'reset-pin');

    const before = (await t.server.app.store.getMailbox(TONY)).pinHash;
    await b.page.fill('#pin', '123');
    expect(await go(b.page, () => b.page.click('#save'))).toBe(422);
    expect(await b.page.textContent('#flash')).toContain('the PIN must have at least 6 digits');
    expect(await b.page.isChecked('#mode-type')).toBe(true);
    expect((await t.server.app.store.getMailbox(TONY)).pinHash).toBe(before);
  });

  test('voice messages: the page plays one in its audio player; Delete removes it and its file, and the lamp goes off; the lamp state is sent again (audited)', async () => {
    const b = browsers[0];
    const [message] = await t.server.app.store.listVoiceMessages(TONY);
    await b.page.goto(`${base}/admin/recipients/${encodeURIComponent(TONY)}`);
    expect(await b.page.textContent('#lamp')).toBe('On: 1 unheard voice message(s)');
    const row = b.page.locator(`#voice-messages tr[data-message="${message.id}"]`);
    expect(await row.count()).toBe(1);
    expect(await row.textContent()).toContain('+14255550123');
    // The player: Chromium fetches the WAV with the session cookie, decodes it and plays it to the end.
    // (The element is typed loosely: the tests compile without the DOM library.)
    const played = await row.locator('audio').evaluate(async (a: any) => {
      a.muted = true;
      const ended = new Promise<void>((resolve, reject) => {
        a.addEventListener('ended', () => resolve());
        a.addEventListener('error', () => reject(new Error(`audio error ${a.error?.code}`)));
      });
      await a.play();
      await ended;
      return { duration: a.duration as number, currentTime: a.currentTime as number };
    });
    expect(played.duration).toBeGreaterThan(0.3);
    expect(played.currentTime).toBeCloseTo(played.duration, 1);
    const src = await row.locator('audio').getAttribute('src');
    const audio = await b.context.request.get(`${base}${src}`);
    expect(audio.status()).toBe(200);
    expect(audio.headers()['content-type']).toBe('audio/wav');
    expect(Buffer.compare(await audio.body(), readFileSync(message.audioFile))).toBe(0);
    // Without a session: the sign-in page, not the audio.
    expect((await fetch(`${base}${src}`, { redirect: 'manual' })).status).toBe(303);
    await shot(b, 'recipient-voice-messages');

    await go(b.page, () => b.page.click('#resend-lamp'));
    await b.page.waitForSelector('#flash');
    expect(await b.page.textContent('#flash')).toBe('The lamp state is being sent again.');
    const [resent] = await t.server.app.store.admin.searchAuditLog({ cmdlets: ['Send-VaMwiState'], resultSize: 1 });
    expect(resent).toMatchObject({ who: 'UM Management', target: TONY, succeeded: true });

    await go(b.page, () => row.locator('button.delete-message').click());
    await b.page.waitForSelector('#flash');
    expect(await b.page.textContent('#flash')).toBe('The voice message was deleted.');
    expect(await t.server.app.store.listVoiceMessages(TONY)).toEqual([]);
    expect(existsSync(message.audioFile)).toBe(false);
    expect(await b.page.textContent('#lamp')).toBe('Off');
    const [removed] = await t.server.app.store.admin.searchAuditLog({ cmdlets: ['Remove-VoiceMessage'], resultSize: 1 });
    expect(removed).toMatchObject({ who: 'UM Management', target: TONY, parameters: { Identity: TONY, MessageId: message.id }, succeeded: true });
  });

  test('Reset PIN with "Type a PIN" and the checkbox cleared: the user then signs in over SIP (SIPp) with that PIN and is not asked to change it', async () => {
    const b = browsers[0];
    const pin = '246813';
    secrets.push(pin);
    const mails = outbox().length;
    await b.page.goto(`${base}/admin/recipients/${encodeURIComponent(DAVID)}/reset-pin`);
    await b.page.check('#mode-type');
    await b.page.fill('#pin', pin);
    await b.page.uncheck('#pin-expired-required');
    expect(await go(b.page, () => b.page.click('#save'))).toBe(303);
    expect(b.page.url()).toBe(`${base}/admin/recipients/${encodeURIComponent(DAVID)}`);
    expect(await b.page.textContent('#flash')).toBe(`The PIN was reset and sent to ${DAVID}.`);
    expect(await b.page.textContent('#pin-expired')).toBe('No');
    expect(await b.page.content()).not.toMatch(alone(pin));

    const m = await t.server.app.store.getMailbox(DAVID);
    expect(await verifyPin(pin, m.pinHash)).toBe(true);
    expect({ pinExpired: m.pinExpired, lockedOut: m.lockedOut }).toEqual({ pinExpired: false, lockedOut: false });
    expect(outbox().length).toBe(mails + 1);
    const [audit] = await t.server.app.store.admin.searchAuditLog({ cmdlets: ['Set-UMMailboxPIN'], resultSize: 1 });
    expect(audit).toMatchObject({ who: 'UM Management', address: '127.0.0.1', action: 'Set-UMMailboxPIN', target: DAVID, parameters: { Identity: DAVID, PinExpired: false }, succeeded: true });

    // David calls the Outlook Voice Access number: extension, the new PIN, #; the main menu; * signs out.
    const dir = tempDir('va-web-sipp-');
    const scenario = writeInfoKeysScenario(dir, 'signin-info-david-new-pin', [
      { keys: '51235', pauseAfterMs: 500 },
      { keys: `${pin}#`, pauseAfterMs: 5500 },
      { keys: '*', pauseAfterMs: 0 },
    ]);
    const n = t.calls.length;
    const running = sippCall(t, scenario);
    // While the call runs, the Live calls page lists it: the sign-in flow, and david once his PIN was right.
    const live = await b.context.newPage();
    await t.until(() => t.calls.length > n, 10_000, 'the SIPp call');
    await t.until(async () => {
      await live.goto(`${base}/admin/calls`);
      return (await live.locator('#live-calls tr[data-call] [data-col=mailbox]').allTextContents()).includes(DAVID);
    }, 15_000, 'the call on the Live calls page with its mailbox');
    expect(await live.locator('#live-calls tr[data-call] [data-col=flow]').allTextContents()).toEqual(['sign-in']);
    expect(await live.textContent('#live-calls')).not.toContain(pin);
    await shot(live, 'live-calls');
    await live.close();
    const run = await running;
    expectSippSuccess(t, run);
    const call = await t.ended(n);
    const why = describeCall(call);
    expect({ why, record: call.record }).toEqual({ why, record: { callId: call.callId, flow: 'sign-in', result: 'signed-out', identity: DAVID } });
    expect({ why, keys: receivedKeys(call) }).toEqual({ why, keys: `51235${pin}#*` });
    expect({ why, ids: heardIds(call) }).toEqual({ why, ids: expect.arrayContaining(['main-menu', 'goodbye']) });
    expect(heardIds(call)).not.toContain('invalid-pin');
  });

  test('Reset PIN with the defaults: a generated PIN, mailed, the user must change it; nothing of it on the page', async () => {
    const b = browsers[0];
    const mails = outbox().length;
    const before = (await t.server.app.store.getMailbox(TONY)).pinHash;
    await b.page.goto(`${base}/admin/recipients/${encodeURIComponent(TONY)}/reset-pin`);
    await go(b.page, () => b.page.click('#save'));
    expect(await b.page.textContent('#flash')).toBe(`The PIN was reset and sent to ${TONY}.`);
    const m = await t.server.app.store.getMailbox(TONY);
    expect(m.pinHash).not.toBe(before);
    expect(m.pinExpired).toBe(true);
    expect(outbox().length).toBe(mails + 1);
    const [audit] = await t.server.app.store.admin.searchAuditLog({ cmdlets: ['Set-UMMailboxPIN'], resultSize: 1 });
    expect(audit.parameters).toEqual({ Identity: TONY, PinExpired: true });
  });

  test('Unlock a locked-out mailbox: the button shows only when locked; it resets the PIN (mailed) and unlocks', async () => {
    expect((await t.cmdlet('Set-UMMailboxPIN', '-Identity', CLAIRE, '-LockedOut', '$true')).code).toBe(0);
    const b = browsers[0];
    await b.page.goto(`${base}/admin/recipients`);
    expect(await b.page.locator(`#recipients tr[data-identity="${CLAIRE}"] [data-col=locked-out]`).textContent()).toBe('Yes');
    await b.page.goto(`${base}/admin/recipients/${encodeURIComponent(CLAIRE)}`);
    expect(await b.page.textContent('#locked-out')).toBe('Yes');
    await shot(b, 'recipient-locked-out');
    const mails = outbox().length;
    await go(b.page, () => b.page.click('#unlock'));
    await b.page.waitForSelector('#flash');
    expect(await b.page.textContent('#flash')).toBe(`The mailbox was unlocked; a new PIN was sent to ${CLAIRE}.`);
    expect(await b.page.textContent('#locked-out')).toBe('No');
    expect(await b.page.locator('#unlock').count()).toBe(0);
    expect((await t.server.app.store.getMailbox(CLAIRE)).lockedOut).toBe(false);
    expect(outbox().length).toBe(mails + 1);
  });

  test('Audio conferencing: Reset shows the new leader PIN once; a reload lists it as *****', async () => {
    const b = await browser();
    await signIn(b, keys['Audio Conferencing Administrator']);
    await b.page.goto(`${base}/admin/conferencing`);
    const cell = () => b.page.locator(`#conferencing-users tr[data-identity="${AMOS}"] [data-col=leader-pin]`);
    expect(await cell().textContent()).toBe('*****');
    await shot(b, 'conferencing');
    await go(b.page, () => b.page.locator(`#conferencing-users tr[data-identity="${AMOS}"] button.reset-leader-pin`).click());
    await b.page.waitForSelector('#new-leader-pin');
    const pin = (await b.page.textContent('#new-leader-pin'))!.trim();
    secrets.push(pin);
    expect(pin).toMatch(/^[0-9]{5}$/);
    expect(await cell().textContent()).toBe(pin);
    expect(await t.server.app.conferencing.verifyLeaderPin(AMOS, pin)).toBe(true);
    await shot(b, 'conferencing-new-pin');

    await b.page.reload();
    expect(await b.page.locator('#new-leader-pin').count()).toBe(0);
    expect(await cell().textContent()).toBe('*****');
    expect(await b.page.content()).not.toMatch(alone(pin));
    const [audit] = await t.server.app.store.admin.searchAuditLog({ cmdlets: ['Set-CsOnlineDialInConferencingUser'], resultSize: 1 });
    expect(audit).toMatchObject({ who: 'Audio Conferencing Administrator', target: AMOS, parameters: { Identity: AMOS, ResetLeaderPIN: true }, succeeded: true });
    // This role does not reset mailbox PINs: no such link on a recipient's page.
    await b.page.goto(`${base}/admin/recipients/${encodeURIComponent(DAVID)}`);
    expect(await b.page.locator('#reset-pin').count()).toBe(0);
  });

  test('policies, dial plans and gateways: the cmdlets\' validation messages beside the field, then a change that is saved and audited', async () => {
    const b = browsers[0];
    await b.page.goto(`${base}/admin/policies`);
    await shot(b, 'policies');
    await go(b.page, () => b.page.click('a[href="/admin/policies/Contoso-Policy"]'));
    await shot(b, 'policy-edit');
    await b.page.fill('#f-MinPINLength', '3');
    expect(await go(b.page, () => b.page.click('#save'))).toBe(400);
    expect(await b.page.textContent('[data-param=MinPINLength] .field-error')).toBe('-MinPINLength: must be between 4 and 24');
    expect((await t.server.app.store.getPolicy('Contoso-Policy')).minPinLength).toBe(6);

    await b.page.fill('#f-MinPINLength', '7');
    await b.page.fill('#f-PINLifetime', 'Unlimited');
    await go(b.page, () => b.page.click('#save'));
    expect(await b.page.textContent('#flash')).toBe('Saved.');
    const policy = await t.server.app.store.getPolicy('Contoso-Policy');
    expect({ min: policy.minPinLength, life: policy.pinLifetimeDays, history: policy.pinHistoryCount }).toEqual({ min: 7, life: 'Unlimited', history: 5 });
    const [audit] = await t.server.app.store.admin.searchAuditLog({ cmdlets: ['Set-UMMailboxPolicy'], resultSize: 1 });
    expect(audit).toMatchObject({ who: 'UM Management', target: 'Contoso-Policy', parameters: { Identity: 'Contoso-Policy', MinPINLength: 7, PINLifetime: 'Unlimited' }, succeeded: true });

    await b.page.goto(`${base}/admin/dialplans/Contoso-DP`);
    await b.page.fill('#f-AccessTelephoneNumbers', '+14255550100, not-a-number');
    expect(await go(b.page, () => b.page.click('#save'))).toBe(400);
    expect(await b.page.textContent('[data-param=AccessTelephoneNumbers] .field-error')).toBe('-AccessTelephoneNumbers: "not-a-number": must be a telephone number');
    await shot(b, 'dialplan-error');

    await b.page.goto(`${base}/admin/gateways`);
    await shot(b, 'gateways');
    await b.page.goto(`${base}/admin/gateways/gw2`);
    await b.page.selectOption('#f-Status', 'NoNewCalls');
    await go(b.page, () => b.page.click('#save'));
    expect(await b.page.textContent('#flash')).toBe('Saved.');
    expect((await t.server.app.store.listGateways()).find((g) => g.name === 'gw2')?.status).toBe('NoNewCalls');
  });

  test('the drain switch: NoNewCalls from the Server page (readyz says draining, audited), then Enabled again', async () => {
    const b = browsers[0];
    await b.page.goto(`${base}/admin/server`);
    expect(await b.page.textContent('#server-status')).toBe('Enabled');
    await shot(b, 'server');
    await go(b.page, () => b.page.click('#drain-switch'));
    await b.page.waitForSelector('#flash');
    expect(await b.page.textContent('#flash')).toBe('The status is now NoNewCalls.');
    expect(await b.page.textContent('#server-status')).toBe('NoNewCalls');
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, draining: true });
    await shot(b, 'server-draining');
    await go(b.page, () => b.page.click('#drain-switch'));
    await b.page.waitForSelector('#flash');
    expect(await b.page.textContent('#server-status')).toBe('Enabled');
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const audit = await t.server.app.store.admin.searchAuditLog({ cmdlets: ['Set-UMService'], resultSize: 2 });
    expect(audit.map((a) => [a.who, a.parameters])).toEqual([
      ['UM Management', { Status: 'Enabled' }],
      ['UM Management', { Status: 'NoNewCalls' }],
    ]);
  });

  test('View-Only sees no action at all, and gets 403 when it posts anyway (web form and API); a form without the session\'s token gets 403', async () => {
    expect((await t.cmdlet('Set-UMMailboxPIN', '-Identity', TONY, '-LockedOut', '$true')).code).toBe(0);
    const b = await browser();
    await signIn(b, keys['View-Only']);
    await b.page.goto(`${base}/admin/recipients/${encodeURIComponent(TONY)}`);
    expect(await b.page.textContent('#locked-out')).toBe('Yes');
    expect(await b.page.locator('#reset-pin, #unlock').count()).toBe(0);
    expect(await b.page.locator('main form[method=post], main button').count()).toBe(0);
    await shot(b, 'view-only-recipient');
    await b.page.goto(`${base}/admin/conferencing`);
    expect(await b.page.locator('button.reset-leader-pin').count()).toBe(0);
    await b.page.goto(`${base}/admin/policies/Contoso-Policy`);
    expect(await b.page.locator('form.edit, #save').count()).toBe(0);
    expect(await b.page.textContent('#settings')).toContain('Minimum PIN length');
    await b.page.goto(`${base}/admin/server`);
    expect(await b.page.locator('#drain-switch').count()).toBe(0);
    const resetPage = await b.page.goto(`${base}/admin/recipients/${encodeURIComponent(TONY)}/reset-pin`);
    expect(resetPage!.status()).toBe(403);

    // Posting anyway, with the session's own token (from its sign-out form): 403, nothing changed.
    const before = await t.server.app.store.getMailbox(TONY);
    const csrf = await b.page.getAttribute('header form input[name=_csrf]', 'value');
    const post = (url: string, form: Record<string, string>) => b.context.request.post(`${base}${url}`, { form, maxRedirects: 0 });
    for (const [url, form] of [
      [`/admin/recipients/${encodeURIComponent(TONY)}/unlock`, {}],
      [`/admin/recipients/${encodeURIComponent(TONY)}/reset-pin`, { mode: 'type', pin: '864213', pinExpired: 'true' }],
      [`/admin/conferencing/${encodeURIComponent(AMOS)}/reset-pin`, {}],
      ['/admin/policies/Contoso-Policy', { MinPINLength: '9' }],
      ['/admin/server', { Status: 'NoNewCalls' }],
    ] as const) {
      const r = await post(url, { ...form, _csrf: csrf! });
      expect({ url, status: r.status() }).toEqual({ url, status: 403 });
      expect(await r.text()).toContain('does not allow this');
    }
    const after = await t.server.app.store.getMailbox(TONY);
    expect({ hash: after.pinHash, locked: after.lockedOut }).toEqual({ hash: before.pinHash, locked: true });
    expect((await t.server.app.store.getPolicy('Contoso-Policy')).minPinLength).toBe(7);
    expect(t.server.http && (await (await fetch(`${base}/readyz`)).json())).toMatchObject({ draining: false });
    const api = await fetch(`${base}/api/mailboxes/${TONY}/pin`, { method: 'POST', headers: { authorization: `Bearer ${keys['View-Only']}`, 'content-type': 'application/json' }, body: '{"SendEmail": false}' });
    expect(api.status).toBe(403);
    // The web pages' form parser does not reach the JSON API: a form body there is still 415.
    const form = await fetch(`${base}/api/mailboxes/${TONY}/pin`, { method: 'POST', headers: { authorization: `Bearer ${keys['UM Management']}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'SendEmail=false' });
    expect(form.status).toBe(415);

    // The UM Management session posting without its token, or with another session's: 403, nothing changed.
    const um = browsers[0];
    for (const form of [{} as Record<string, string>, { _csrf: csrf! }]) {
      const r = await um.context.request.post(`${base}/admin/recipients/${encodeURIComponent(TONY)}/unlock`, { form, maxRedirects: 0 });
      expect(r.status()).toBe(403);
    }
    expect((await t.server.app.store.getMailbox(TONY)).lockedOut).toBe(true);
  });

  test('French pages when the browser prefers French, with the seed documents\' wording', async () => {
    const b = await browser('fr-FR');
    await b.page.goto(`${base}/admin/sign-in`);
    expect(await b.page.getAttribute('html', 'lang')).toBe('fr');
    expect(await b.page.textContent('#sign-in')).toBe('Se connecter');
    await shot(b, 'fr-sign-in');
    await b.page.fill('#key', keys['Organization Management']);
    await go(b.page, () => b.page.click('#sign-in'));
    expect(b.page.url()).toBe(`${base}/admin/recipients`);
    expect(await b.page.textContent('h1')).toBe('Destinataires');
    expect(await b.page.textContent('#recipients thead')).toContain('Nouvel utilisateur');
    await shot(b, 'fr-recipients');
    await b.page.goto(`${base}/admin/recipients/${encodeURIComponent(DAVID)}/reset-pin`);
    expect(await b.page.textContent('h1')).toBe('Réinitialiser le code confidentiel de boîte aux lettres de messagerie unifiée');
    const form = await b.page.textContent('form.reset');
    for (const s of ['Générer automatiquement un code confidentiel', 'Taper un code confidentiel', "Exiger que l'utilisateur réinitialise son code confidentiel la première fois qu'il se connecte", 'Enregistrer']) {
      expect(form).toContain(s);
    }
    await shot(b, 'fr-reset-pin');
    await b.page.goto(`${base}/admin/conferencing`);
    expect(await b.page.textContent('h1')).toBe('Conférence Audio');
    expect(await b.page.locator('button.reset-leader-pin').first().textContent()).toBe('Réinitialiser');
    await shot(b, 'fr-conferencing');
  });

  test('a removed key ends its session at the next page; sign-out ends a session', async () => {
    const b = await browser();
    await signIn(b, keys.temp);
    expect((await t.cmdlet('Remove-VaApiKey', 'temp')).code).toBe(0);
    await b.page.goto(`${base}/admin/policies`);
    expect(new URL(b.page.url()).pathname).toBe('/admin/sign-in');
    expect(await b.page.textContent('#flash')).toBe('Your session ended: sign in again.');

    const um = browsers[0];
    await go(um.page, () => um.page.click('#sign-out'));
    expect(um.page.url()).toBe(`${base}/admin/sign-in?out=1`);
    expect(await um.page.textContent('#flash')).toBe('You are signed out.');
    await um.page.goto(`${base}/admin/recipients`);
    expect(new URL(um.page.url()).pathname).toBe('/admin/sign-in');
  });

  test('the log names the keys and the pages, never a key, a PIN or a session id', async () => {
    const log = t.logs.join('\n');
    expect(log).toContain('web: signed in');
    expect(log).toContain('web: request refused');
    for (const s of secrets) expect(log).not.toMatch(alone(s));
  });
});
