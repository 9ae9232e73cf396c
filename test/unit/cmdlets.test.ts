/**
 * Every cmdlet through the CLI entry, in process: `main([...], io)` with `--data` and `--config` on each call.
 * Outcomes are read back with the Get- cmdlets (`--json`), by opening the store, or with PinService.signIn.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { CMDLETS } from '../../src/admin/cmdlets';
import { openApp, type App } from '../../src/app';
import { main } from '../../src/cli/main';
import { DirectoryStore } from '../../src/directory/store';
import { captureIo, tempDir, writeConfig } from '../helpers';

interface Ctx {
  data: string;
  config: string;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh data folder and directory file (the demo organisation, optionally patched). */
function fresh(patch?: (doc: any) => void): Ctx {
  const dir = tempDir('va-cmdlets-');
  made.push(dir);
  return { data: path.join(dir, 'data'), config: writeConfig(dir, patch) };
}

async function run(ctx: Ctx, ...args: string[]): Promise<Run> {
  const io = captureIo();
  const code = await main([...args, '--data', ctx.data, '--config', ctx.config], io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** Runs a cmdlet with --json, expects success, returns the parsed output. */
async function json(ctx: Ctx, ...args: string[]): Promise<any[]> {
  const r = await run(ctx, ...args, '--json');
  if (r.code !== 0) throw new Error(`${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Runs a cmdlet, expects success. */
async function ok(ctx: Ctx, ...args: string[]): Promise<Run> {
  const r = await run(ctx, ...args);
  if (r.code !== 0) throw new Error(`${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}

async function withApp<T>(ctx: Ctx, fn: (app: App) => Promise<T> | T): Promise<T> {
  const app = await openApp({ config: ctx.config, data: ctx.data });
  try {
    return await fn(app);
  } finally {
    app.close();
  }
}

async function withStore<T>(ctx: Ctx, fn: (store: DirectoryStore) => T | Promise<T>): Promise<T> {
  const store = DirectoryStore.open(ctx.data, { pinHashCost: 10 });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function signIn(ctx: Ctx, identity: string, pin: string): Promise<string> {
  return withApp(ctx, async (app) => (await app.pins.signIn(identity, pin)).outcome);
}

interface Mail {
  file: string;
  raw: string;
  to: string;
  body: string;
  pin: string | undefined;
}

/** The `.eml` files in `<data>/outbox/`, oldest first. */
function outbox(ctx: Ctx): Mail[] {
  const dir = path.join(ctx.data, 'outbox');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f) => {
      const raw = readFileSync(path.join(dir, f), 'utf8');
      const split = raw.indexOf('\n\n');
      return {
        file: f,
        raw,
        to: /^To: (.*)$/m.exec(raw)?.[1].trim() ?? '',
        body: raw.slice(split + 2),
        pin: /^PIN: (\d+)\s*$/m.exec(raw)?.[1],
      };
    });
}

const RESET_TEXT = 'Your new voice mail PIN follows.';

async function pinStatus(ctx: Ctx, identity: string): Promise<any> {
  const [s] = await json(ctx, 'Get-UMMailboxPIN', '-Identity', identity);
  return s;
}

/** A mailbox row as stored (hash, flags, failures), for "nothing changed" checks; imports the directory on first use. */
function mailboxRow(ctx: Ctx, identity: string) {
  return withApp(ctx, (app) => app.store.getMailbox(identity));
}

// ====================================================================== Get-UMMailboxPIN

describe('Get-UMMailboxPIN', () => {
  test('without -Identity lists every UM-enabled mailbox with the demo flags', async () => {
    const ctx = fresh();
    const all = await json(ctx, 'Get-UMMailboxPIN');
    expect(all.map((s) => s.UserID)).toEqual(['claire@contoso.com', 'david@contoso.com', 'tony@contoso.com']);
    const tony = all.find((s) => s.UserID === 'tony@contoso.com');
    expect(tony).toMatchObject({ PinExpired: true, FirstTimeUser: true, LockedOut: false });
    const david = all.find((s) => s.UserID === 'david@contoso.com');
    expect(david).toMatchObject({ PinExpired: false, FirstTimeUser: false, LockedOut: false });
    for (const s of all) expect(JSON.stringify(s)).not.toMatch(/483920|739164|582047|pinHash|scrypt/);
  });

  test('one mailbox by -Identity, by position and case-insensitively', async () => {
    const ctx = fresh();
    expect(await json(ctx, 'Get-UMMailboxPIN', '-Identity', 'tony@contoso.com')).toHaveLength(1);
    const [byPos] = await json(ctx, 'Get-UMMailboxPIN', 'david@contoso.com');
    expect(byPos.UserID).toBe('david@contoso.com');
    const [upper] = await json(ctx, 'get-ummailboxpin', '-identity', 'TONY@CONTOSO.COM');
    expect(upper.UserID).toBe('tony@contoso.com');
  });

  test('an unknown identity fails with VA_ERR_NOT_FOUND (exit 1)', async () => {
    const ctx = fresh();
    const r = await run(ctx, 'Get-UMMailboxPIN', '-Identity', 'nobody@contoso.com');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VA_ERR_NOT_FOUND');
    expect(r.stdout).toBe('');
  });

  test("the default output is PowerShell's list format with aligned names", async () => {
    const ctx = fresh();
    const r = await ok(ctx, 'Get-UMMailboxPIN');
    const lines = r.stdout.split('\n');
    expect(lines).toContain('UserID        : tony@contoso.com');
    expect(lines).toContain('UserID        : david@contoso.com');
    expect(lines).toContain('PinExpired    : True');
    expect(lines).toContain('FirstTimeUser : False');
    expect(lines).toContain('LockedOut     : False');
    // One block per mailbox, separated by blank lines.
    expect(r.stdout.split(/\n\n/).filter((b) => b.trim() !== '')).toHaveLength(3);
    // Every property line has its colon in the same column.
    const props = lines.filter((l) => l.includes(' : '));
    expect(new Set(props.map((l) => l.indexOf(' : ')))).toEqual(new Set([13]));
  });
});

// ====================================================================== Set-UMMailboxPIN

describe('Set-UMMailboxPIN', () => {
  test.each([
    ['too short', '12345', /at least 6 digits/],
    ['an ascending run', '123456', /run of consecutive digits or one repeated digit/],
    ['a descending run', '654321', /run of consecutive digits/],
    ['one repeated digit', '111111', /repeated digit/],
    ['the tail of the extension (ends with it)', '951235', /extension/],
    ['the tail of the extension (is its last digits)', '1235', /at least 6|extension/],
  ])('-Pin %s is refused with VA_ERR_PIN_POLICY and nothing changes', async (_what, pin, reason) => {
    const ctx = fresh();
    const before = await mailboxRow(ctx, 'david@contoso.com');
    const r = await run(ctx, 'Set-UMMailboxPIN', '-Identity', 'david@contoso.com', '-Pin', pin);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VA_ERR_PIN_POLICY');
    expect(r.stderr).toMatch(reason);
    expect(r.stderr).not.toContain(pin);
    const after = await mailboxRow(ctx, 'david@contoso.com');
    expect(after.pinHash).toBe(before.pinHash);
    expect(after.pinSetAt).toBe(before.pinSetAt);
    expect((await pinStatus(ctx, 'david@contoso.com')).PinExpired).toBe(false);
    expect(outbox(ctx)).toHaveLength(0);
    expect(await signIn(ctx, 'david@contoso.com', '739164')).toBe('ok');
  });

  test('the extension-tail rule applies to a 4-digit tail when the policy allows 4-digit PINs', async () => {
    const ctx = fresh();
    await ok(ctx, 'Set-UMMailboxPolicy', 'Contoso-Policy', '-MinPINLength', '4');
    const r = await run(ctx, 'Set-UMMailboxPIN', 'david@contoso.com', '-Pin', '1235');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/VA_ERR_PIN_POLICY.*extension/);
    expect(await signIn(ctx, 'david@contoso.com', '739164')).toBe('ok');
  });

  test('a valid -Pin is stored (hash only), PinExpired defaults to $true and the PIN is mailed', async () => {
    const ctx = fresh();
    const [out] = await json(ctx, 'Set-UMMailboxPIN', '-Identity', 'david@contoso.com', '-Pin', '246813');
    expect(out).toMatchObject({ UserID: 'david@contoso.com', PinExpired: true, LockedOut: false, PinGenerated: false, EmailSentTo: 'david@contoso.com' });
    expect((await pinStatus(ctx, 'david@contoso.com')).PinExpired).toBe(true);
    expect(await signIn(ctx, 'david@contoso.com', '739164')).toBe('failed');
    expect(await signIn(ctx, 'david@contoso.com', '246813')).toBe('ok');
    const mails = outbox(ctx);
    expect(mails).toHaveLength(1);
    expect(mails[0].to).toBe('david@contoso.com');
    expect(mails[0].pin).toBe('246813');
    expect(mails[0].body).toContain(RESET_TEXT);
  });

  test('without -Pin a PIN of MinPINLength digits is generated, mailed with the ResetPINText, and signs in', async () => {
    const ctx = fresh();
    const [out] = await json(ctx, 'Set-UMMailboxPIN', '-Identity', 'tony@contoso.com');
    expect(out).toMatchObject({ PinGenerated: true, EmailSentTo: 'tony@contoso.com', PinExpired: true });
    const mails = outbox(ctx);
    expect(mails).toHaveLength(1);
    expect(mails[0].to).toBe('tony@contoso.com');
    expect(mails[0].body).toContain(RESET_TEXT);
    expect(mails[0].pin).toMatch(/^\d{6}$/);
    expect(JSON.stringify(out)).not.toContain(mails[0].pin!);
    expect(await signIn(ctx, 'tony@contoso.com', '483920')).toBe('failed');
    expect(await signIn(ctx, 'tony@contoso.com', mails[0].pin!)).toBe('ok');
  });

  test('a generated PIN follows a changed MinPINLength', async () => {
    const ctx = fresh();
    await ok(ctx, 'Set-UMMailboxPolicy', 'Contoso-Policy', '-MinPINLength', '9');
    await ok(ctx, 'Set-UMMailboxPIN', 'tony@contoso.com');
    const [mail] = outbox(ctx);
    expect(mail.pin).toMatch(/^\d{9}$/);
    expect(await signIn(ctx, 'tony@contoso.com', mail.pin!)).toBe('ok');
  });

  test('-PinExpired $false, -PinExpired:$false and -PinExpired false all clear the flag', async () => {
    const ctx = fresh();
    await ok(ctx, 'Set-UMMailboxPIN', '-Identity', 'tony@contoso.com', '-PinExpired', '$false', '-SendEmail', '$false');
    expect((await pinStatus(ctx, 'tony@contoso.com')).PinExpired).toBe(false);
    await ok(ctx, 'Set-UMMailboxPIN', '-Identity', 'tony@contoso.com');
    expect((await pinStatus(ctx, 'tony@contoso.com')).PinExpired).toBe(true);
    await ok(ctx, 'Set-UMMailboxPIN', '-Identity', 'tony@contoso.com', '-PinExpired:$false', '-SendEmail:$false');
    expect((await pinStatus(ctx, 'tony@contoso.com')).PinExpired).toBe(false);
    await ok(ctx, 'Set-UMMailboxPIN', '-Identity', 'tony@contoso.com', '-PinExpired', 'true', '-SendEmail', 'false');
    expect((await pinStatus(ctx, 'tony@contoso.com')).PinExpired).toBe(true);
    await ok(ctx, 'Set-UMMailboxPIN', '-Identity', 'tony@contoso.com', '-PinExpired', 'false', '-SendEmail', 'false');
    expect((await pinStatus(ctx, 'tony@contoso.com')).PinExpired).toBe(false);
    // Only the one call that kept -SendEmail's default mailed a PIN.
    expect(outbox(ctx)).toHaveLength(1);
  });

  test('-LockedOut $true locks the mailbox; a reset with -LockedOut omitted unlocks it', async () => {
    const ctx = fresh();
    await ok(ctx, 'Set-UMMailboxPIN', '-Identity', 'david@contoso.com', '-LockedOut', '$true');
    expect((await pinStatus(ctx, 'david@contoso.com')).LockedOut).toBe(true);
    expect(await signIn(ctx, 'david@contoso.com', '739164')).toBe('locked');
    await ok(ctx, 'Set-UMMailboxPIN', '-Identity', 'david@contoso.com', '-Pin', '246813', '-SendEmail', '$false');
    const s = await pinStatus(ctx, 'david@contoso.com');
    expect(s.LockedOut).toBe(false);
    expect(await signIn(ctx, 'david@contoso.com', '246813')).toBe('ok');
  });

  test('-LockedOut $false unlocks a mailbox locked by failed sign-ins and clears the failure count', async () => {
    const ctx = fresh();
    await ok(ctx, 'Set-UMMailboxPolicy', 'Contoso-Policy', '-LogonFailuresBeforePINReset', 'Unlimited', '-MaxLogonAttempts', '3');
    for (let i = 0; i < 3; i++) expect(await signIn(ctx, 'david@contoso.com', '000001')).toBe('failed');
    expect((await pinStatus(ctx, 'david@contoso.com')).LockedOut).toBe(true);
    await ok(ctx, 'Set-UMMailboxPIN', 'david@contoso.com', '-LockedOut', '$false', '-SendEmail', '$false', '-Pin', '246813');
    expect((await pinStatus(ctx, 'david@contoso.com')).LockedOut).toBe(false);
    expect((await mailboxRow(ctx, 'david@contoso.com')).logonFailures).toBe(0);
    expect(await signIn(ctx, 'david@contoso.com', '246813')).toBe('ok');
  });

  test('-SendEmail $false sends nothing', async () => {
    const ctx = fresh();
    const [out] = await json(ctx, 'Set-UMMailboxPIN', '-Identity', 'tony@contoso.com', '-SendEmail', '$false');
    expect(out.EmailSentTo).toBeNull();
    expect(out.PinGenerated).toBe(true);
    expect(outbox(ctx)).toHaveLength(0);
    expect(await signIn(ctx, 'tony@contoso.com', '483920')).toBe('failed');
  });

  test('-NotifyEmail sends the PIN mail to another address', async () => {
    const ctx = fresh();
    const [out] = await json(ctx, 'Set-UMMailboxPIN', '-Identity', 'tony@contoso.com', '-NotifyEmail', 'admin@contoso.com');
    expect(out.EmailSentTo).toBe('admin@contoso.com');
    const mails = outbox(ctx);
    expect(mails).toHaveLength(1);
    expect(mails[0].to).toBe('admin@contoso.com');
    expect(mails[0].body).toContain(RESET_TEXT);
    expect(await signIn(ctx, 'tony@contoso.com', mails[0].pin!)).toBe('ok');
  });

  test('parameter-name prefixes and any case are accepted', async () => {
    const ctx = fresh();
    await ok(ctx, 'Set-UMMailboxPIN', '-iden', 'tony@contoso.com', '-PinExp', '$false', '-SendE', '$FALSE');
    expect((await pinStatus(ctx, 'tony@contoso.com')).PinExpired).toBe(false);
    await ok(ctx, 'SET-UMMAILBOXPIN', '-IDENTITY', 'TONY@CONTOSO.COM', '-pin', '246813', '-pinexpired', '$True', '-sendemail', 'False');
    expect((await pinStatus(ctx, 'tony@contoso.com')).PinExpired).toBe(true);
    expect(await signIn(ctx, 'tony@contoso.com', '246813')).toBe('ok');
    expect(outbox(ctx)).toHaveLength(0);
  });

  describe('a wrong command line exits 2 and changes nothing', () => {
    test.each([
      ['an unknown parameter', ['-Identity', 'tony@contoso.com', '-Bogus', '1'], /cannot be found that matches parameter name 'Bogus'/],
      ['a missing -Identity', ['-Pin', '246813'], /missing required parameter -Identity/],
      ['a bad Boolean', ['-Identity', 'tony@contoso.com', '-PinExpired', 'maybe'], /-PinExpired: "maybe" is not a Boolean/],
      ['an ambiguous prefix', ['-Identity', 'tony@contoso.com', '-P', '246813'], /-P is ambiguous: it could be -Pin, -PinExpired/],
      ['an ambiguous prefix among -PinExpired and -Pin', ['-Identity', 'tony@contoso.com', '-Pi', '246813'], /-Pi is ambiguous/],
      ['a non-digit PIN', ['-Identity', 'tony@contoso.com', '-Pin', '12a456'], /-Pin: must contain only the digits/],
      ['a bad -NotifyEmail', ['-Identity', 'tony@contoso.com', '-NotifyEmail', 'not-an-address'], /-NotifyEmail: must be an e-mail address/],
      ['a parameter given twice', ['-Identity', 'tony@contoso.com', '-Pin', '246813', '-Pin', '246813'], /more than once/],
      ['a parameter without its value', ['-Identity', 'tony@contoso.com', '-Pin'], /-Pin needs a value/],
      ['an extra positional value', ['tony@contoso.com', 'david@contoso.com'], /positional parameter cannot be found/],
    ])('%s', async (_what, args, reason) => {
      const ctx = fresh();
      const before = await mailboxRow(ctx, 'tony@contoso.com');
      const r = await run(ctx, 'Set-UMMailboxPIN', ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('VA_ERR_CLI_PARAMETER');
      expect(r.stderr).toMatch(reason);
      expect(r.stdout).toBe('');
      const after = await mailboxRow(ctx, 'tony@contoso.com');
      expect(after).toEqual(before);
      expect(outbox(ctx)).toHaveLength(0);
      expect(await signIn(ctx, 'tony@contoso.com', '483920')).toBe('ok');
    });
  });

  test('an unknown identity fails with VA_ERR_NOT_FOUND and mails nothing', async () => {
    const ctx = fresh();
    const r = await run(ctx, 'Set-UMMailboxPIN', '-Identity', 'nobody@contoso.com');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VA_ERR_NOT_FOUND');
    expect(outbox(ctx)).toHaveLength(0);
  });
});

// ====================================================================== Enable-/Disable-/Get-/Set-UMMailbox

describe('Enable-UMMailbox', () => {
  test('creates a mailbox with a generated PIN, PinExpired and FirstTimeUser set, and mails the PIN', async () => {
    const ctx = fresh();
    const [out] = await json(ctx, 'Enable-UMMailbox', '-Identity', 'new@contoso.com', '-Extensions', '51299', '-UMMailboxPolicy', 'contoso-policy', '-DisplayName', 'New User');
    expect(out).toMatchObject({
      Identity: 'new@contoso.com',
      DisplayName: 'New User',
      Extensions: ['51299'],
      UMDialPlan: 'Contoso-DP',
      UMMailboxPolicy: 'Contoso-Policy',
      UMEnabled: true,
      UMSMSNotificationOption: 'None',
    });
    expect(await pinStatus(ctx, 'new@contoso.com')).toMatchObject({ PinExpired: true, FirstTimeUser: true, LockedOut: false });
    expect((await json(ctx, 'Get-UMMailbox')).map((m) => m.Identity)).toContain('new@contoso.com');
    const mails = outbox(ctx);
    expect(mails).toHaveLength(1);
    expect(mails[0].to).toBe('new@contoso.com');
    expect(mails[0].body).toContain(RESET_TEXT);
    expect(mails[0].pin).toMatch(/^\d{6}$/);
    expect(await signIn(ctx, 'new@contoso.com', mails[0].pin!)).toBe('ok');
  });

  test('the display name defaults to the address; -Pin, -PinExpired $false and -NotifyEmail are honoured', async () => {
    const ctx = fresh();
    const [out] = await json(
      ctx, 'Enable-UMMailbox', 'new@contoso.com', '-Extensions', '51299', '-UMMailboxPolicy', 'Contoso-Policy',
      '-Pin', '246813', '-PinExpired', '$false', '-NotifyEmail', 'admin@contoso.com',
    );
    expect(out.DisplayName).toBe('new@contoso.com');
    expect((await pinStatus(ctx, 'new@contoso.com')).PinExpired).toBe(false);
    const [mail] = outbox(ctx);
    expect(mail.to).toBe('admin@contoso.com');
    expect(mail.pin).toBe('246813');
    expect(await signIn(ctx, 'new@contoso.com', '246813')).toBe('ok');
  });

  test('in a dial plan with 4-digit extensions', async () => {
    const ctx = fresh();
    const [out] = await json(ctx, 'Enable-UMMailbox', 'marie@contoso.com', '-Extensions', '4322', '-UMMailboxPolicy', 'Contoso-Paris-Policy');
    expect(out.UMDialPlan).toBe('Contoso-Paris');
    // The same extension may be used again in another dial plan.
    await ok(ctx, 'Enable-UMMailbox', 'other@contoso.com', '-Extensions', '43210', '-UMMailboxPolicy', 'Contoso-Policy');
  });

  test.each([
    ['a wrong extension length', ['new@contoso.com', '-Extensions', '512', '-UMMailboxPolicy', 'Contoso-Policy'], 1, 'VA_ERR_INVALID_SETTING', /must be 5 digits/],
    ['a duplicate extension', ['new@contoso.com', '-Extensions', '51234', '-UMMailboxPolicy', 'Contoso-Policy'], 1, 'VA_ERR_ALREADY_EXISTS', /51234/],
    ['an already enabled identity', ['TONY@contoso.com', '-Extensions', '51299', '-UMMailboxPolicy', 'Contoso-Policy'], 1, 'VA_ERR_ALREADY_EXISTS', /already exists/],
    ['an unknown policy', ['new@contoso.com', '-Extensions', '51299', '-UMMailboxPolicy', 'Nope'], 1, 'VA_ERR_NOT_FOUND', /Nope/],
    ['a PIN breaking the policy', ['new@contoso.com', '-Extensions', '51299', '-UMMailboxPolicy', 'Contoso-Policy', '-Pin', '123456'], 1, 'VA_ERR_PIN_POLICY', /consecutive/],
    ['a missing -Extensions', ['new@contoso.com', '-UMMailboxPolicy', 'Contoso-Policy'], 2, 'VA_ERR_CLI_PARAMETER', /-Extensions/],
    ['a missing -UMMailboxPolicy', ['new@contoso.com', '-Extensions', '51299'], 2, 'VA_ERR_CLI_PARAMETER', /-UMMailboxPolicy/],
    ['a non-digit extension', ['new@contoso.com', '-Extensions', '5a299', '-UMMailboxPolicy', 'Contoso-Policy'], 2, 'VA_ERR_CLI_PARAMETER', /digits/],
    ['an identity that is not an address', ['newuser', '-Extensions', '51299', '-UMMailboxPolicy', 'Contoso-Policy'], 2, 'VA_ERR_CLI_PARAMETER', /e-mail address/],
  ])('%s is refused and nothing is created', async (_what, args, code, errCode, reason) => {
    const ctx = fresh();
    const before = await json(ctx, 'Get-UMMailbox');
    const r = await run(ctx, 'Enable-UMMailbox', ...(args as string[]));
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(errCode);
    expect(r.stderr).toMatch(reason as RegExp);
    expect(await json(ctx, 'Get-UMMailbox')).toEqual(before);
    expect(outbox(ctx)).toHaveLength(0);
  });
});

describe('Disable-UMMailbox', () => {
  test('removes the mailbox, its PIN and its PIN history', async () => {
    const ctx = fresh();
    await ok(ctx, 'Disable-UMMailbox', '-Identity', 'tony@contoso.com');
    expect((await json(ctx, 'Get-UMMailbox')).map((m) => m.Identity)).toEqual(['claire@contoso.com', 'david@contoso.com']);
    const r = await run(ctx, 'Get-UMMailboxPIN', 'tony@contoso.com');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VA_ERR_NOT_FOUND');
    const history = await withStore(ctx, (s) => s.db.prepare('SELECT count(*) AS n FROM pin_history WHERE identity = ?').get('tony@contoso.com') as { n: number });
    expect(history.n).toBe(0);
    // The extension is free again.
    await ok(ctx, 'Enable-UMMailbox', 'tony2@contoso.com', '-Extensions', '51234', '-UMMailboxPolicy', 'Contoso-Policy');
  });

  test('unknown identity -> VA_ERR_NOT_FOUND; missing identity -> exit 2', async () => {
    const ctx = fresh();
    const r = await run(ctx, 'Disable-UMMailbox', 'nobody@contoso.com');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VA_ERR_NOT_FOUND');
    const r2 = await run(ctx, 'Disable-UMMailbox');
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('VA_ERR_CLI_PARAMETER');
    expect(await json(ctx, 'Get-UMMailbox')).toHaveLength(3);
  });
});

describe('Get-UMMailbox / Set-UMMailbox', () => {
  test('Get-UMMailbox lists all or one mailbox', async () => {
    const ctx = fresh();
    const all = await json(ctx, 'Get-UMMailbox');
    expect(all).toHaveLength(3);
    const [tony] = await json(ctx, 'Get-UMMailbox', 'tony@contoso.com');
    expect(tony).toEqual({
      Identity: 'tony@contoso.com',
      DisplayName: 'Tony Smith',
      Extensions: ['51234'],
      UMDialPlan: 'Contoso-DP',
      UMMailboxPolicy: 'Contoso-Policy',
      UMEnabled: true,
      UMSMSNotificationOption: 'None',
      MobileNumber: '+14255550111',
      Language: null,
    });
    const r = await run(ctx, 'Get-UMMailbox', 'nobody@contoso.com');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VA_ERR_NOT_FOUND');
  });

  test('Set-UMMailbox changes the SMS option, mobile number, display name and language', async () => {
    const ctx = fresh();
    const r = await ok(ctx, 'Set-UMMailbox', '-Identity', 'tony@contoso.com', '-UMSMSNotificationOption', 'voicemailandmissedcalls', '-MobileNumber', '+14255550999');
    expect(r.stdout).toBe('');
    await ok(ctx, 'Set-UMMailbox', 'tony@contoso.com', '-DisplayName', 'Anthony Smith', '-Language', 'fr-FR');
    const [tony] = await json(ctx, 'Get-UMMailbox', 'tony@contoso.com');
    expect(tony).toMatchObject({
      UMSMSNotificationOption: 'VoiceMailAndMissedCalls',
      MobileNumber: '+14255550999',
      DisplayName: 'Anthony Smith',
      Language: 'fr-FR',
    });
    // Other settings and the PIN are untouched.
    expect(tony.Extensions).toEqual(['51234']);
    expect(await signIn(ctx, 'tony@contoso.com', '483920')).toBe('ok');
  });

  test('Set-UMMailbox -MobileNumber $null and -Language $null clear them (the dial plan language applies again)', async () => {
    const ctx = fresh();
    await ok(ctx, 'Set-UMMailbox', 'tony@contoso.com', '-Language', 'fr-FR');
    await ok(ctx, 'Set-UMMailbox', 'tony@contoso.com', '-MobileNumber', '$null', '-Language:$NULL');
    const [tony] = await json(ctx, 'Get-UMMailbox', 'tony@contoso.com');
    expect(tony).toMatchObject({ MobileNumber: null, Language: null, DisplayName: 'Tony Smith' });
  });

  test.each([
    ['an invalid -UMSMSNotificationOption', ['tony@contoso.com', '-UMSMSNotificationOption', 'Always'], 2, 'VA_ERR_CLI_PARAMETER', /is not one of None, VoiceMail, VoiceMailAndMissedCalls/],
    ['an invalid -MobileNumber', ['tony@contoso.com', '-MobileNumber', 'call-me'], 2, 'VA_ERR_CLI_PARAMETER', /telephone number/],
    ['an invalid -Language', ['tony@contoso.com', '-Language', 'de-DE'], 2, 'VA_ERR_CLI_PARAMETER', /en-US, fr-FR/],
    ['a policy of another dial plan', ['tony@contoso.com', '-UMMailboxPolicy', 'Contoso-Paris-Policy'], 1, 'VA_ERR_INVALID_SETTING', /dial plan/],
    ['an unknown policy', ['tony@contoso.com', '-UMMailboxPolicy', 'Nope'], 1, 'VA_ERR_NOT_FOUND', /Nope/],
    ['an unknown mailbox', ['nobody@contoso.com', '-MobileNumber', '+14255550999'], 1, 'VA_ERR_NOT_FOUND', /nobody/],
    ['$null for a setting that cannot be cleared', ['tony@contoso.com', '-DisplayName', '$null'], 2, 'VA_ERR_CLI_PARAMETER', /-DisplayName: cannot be \$null/],
  ])('%s is refused and nothing changes', async (_what, args, code, errCode, reason) => {
    const ctx = fresh();
    const before = await json(ctx, 'Get-UMMailbox');
    const r = await run(ctx, 'Set-UMMailbox', ...(args as string[]));
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(errCode);
    expect(r.stderr).toMatch(reason as RegExp);
    expect(await json(ctx, 'Get-UMMailbox')).toEqual(before);
  });
});

// ====================================================================== Get-/Set-UMMailboxPolicy

describe('Get-/Set-UMMailboxPolicy', () => {
  test('Get-UMMailboxPolicy shows the policies with their defaults', async () => {
    const ctx = fresh();
    const all = await json(ctx, 'Get-UMMailboxPolicy');
    expect(all.map((p) => p.Name)).toEqual(['Contoso-Paris-Policy', 'Contoso-Policy']);
    const [paris] = await json(ctx, 'Get-UMMailboxPolicy', 'contoso-paris-policy');
    expect(paris).toEqual({
      Name: 'Contoso-Paris-Policy',
      UMDialPlan: 'Contoso-Paris',
      MinPINLength: 6,
      PINLifetime: '60.00:00:00',
      PINHistoryCount: 5,
      AllowCommonPatterns: false,
      LogonFailuresBeforePINReset: 5,
      MaxLogonAttempts: 15,
      AllowMessageWaitingIndicator: true,
      AllowSMSNotification: true,
      ResetPINText: 'Votre nouveau code confidentiel de messagerie vocale figure ci-dessous.',
    });
    const r = await run(ctx, 'Get-UMMailboxPolicy', 'Nope');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VA_ERR_NOT_FOUND');
  });

  test('Set-UMMailboxPolicy changes every parameter', async () => {
    const ctx = fresh();
    await ok(
      ctx, 'Set-UMMailboxPolicy', '-Identity', 'Contoso-Policy',
      '-MinPINLength', '8', '-PINLifetime', '30', '-PINHistoryCount', '10', '-AllowCommonPatterns', '$true',
      '-LogonFailuresBeforePINReset', '3', '-MaxLogonAttempts', '10', '-AllowMessageWaitingIndicator', '$false',
      '-AllowSMSNotification', '$false', '-ResetPINText', 'Here is your PIN.',
    );
    const [p] = await json(ctx, 'Get-UMMailboxPolicy', 'Contoso-Policy');
    expect(p).toEqual({
      Name: 'Contoso-Policy',
      UMDialPlan: 'Contoso-DP',
      MinPINLength: 8,
      PINLifetime: '30.00:00:00',
      PINHistoryCount: 10,
      AllowCommonPatterns: true,
      LogonFailuresBeforePINReset: 3,
      MaxLogonAttempts: 10,
      AllowMessageWaitingIndicator: false,
      AllowSMSNotification: false,
      ResetPINText: 'Here is your PIN.',
    });
    // The new rules apply: common patterns are allowed, 8 digits are needed, the new text is mailed.
    expect((await run(ctx, 'Set-UMMailboxPIN', 'tony@contoso.com', '-Pin', '123456')).stderr).toMatch(/at least 8/);
    await ok(ctx, 'Set-UMMailboxPIN', 'tony@contoso.com', '-Pin', '12345678');
    expect(outbox(ctx)[0].body).toContain('Here is your PIN.');
    // The other policy is unchanged.
    expect((await json(ctx, 'Get-UMMailboxPolicy', 'Contoso-Paris-Policy'))[0].MinPINLength).toBe(6);
  });

  test('-PINLifetime Unlimited, -LogonFailuresBeforePINReset Unlimited and -MaxLogonAttempts Unlimited', async () => {
    const ctx = fresh();
    await ok(ctx, 'Set-UMMailboxPolicy', 'Contoso-Policy', '-PINLifetime', 'Unlimited');
    expect((await json(ctx, 'Get-UMMailboxPolicy', 'Contoso-Policy'))[0].PINLifetime).toBe('Unlimited');
    await ok(ctx, 'Set-UMMailboxPolicy', 'Contoso-Policy', '-MaxLogonAttempts', 'unlimited', '-LogonFailuresBeforePINReset', '50');
    const [p] = await json(ctx, 'Get-UMMailboxPolicy', 'Contoso-Policy');
    expect(p).toMatchObject({ MaxLogonAttempts: 'Unlimited', LogonFailuresBeforePINReset: 50 });
    await ok(ctx, 'Set-UMMailboxPolicy', 'Contoso-Policy', '-LogonFailuresBeforePINReset', 'Unlimited', '-MaxLogonAttempts', '3');
    expect((await json(ctx, 'Get-UMMailboxPolicy', 'Contoso-Policy'))[0]).toMatchObject({ LogonFailuresBeforePINReset: 'Unlimited', MaxLogonAttempts: 3 });
  });

  test.each([
    ['equal to MaxLogonAttempts', ['-LogonFailuresBeforePINReset', '15']],
    ['above MaxLogonAttempts', ['-LogonFailuresBeforePINReset', '20']],
    ['MaxLogonAttempts lowered to the reset count', ['-MaxLogonAttempts', '5']],
    ['both given, reset not below', ['-LogonFailuresBeforePINReset', '7', '-MaxLogonAttempts', '6', '-MinPINLength', '10']],
  ])('LogonFailuresBeforePINReset >= MaxLogonAttempts (%s) is refused and nothing changes', async (_what, args) => {
    const ctx = fresh();
    const before = await json(ctx, 'Get-UMMailboxPolicy');
    const r = await run(ctx, 'Set-UMMailboxPolicy', 'Contoso-Policy', ...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VA_ERR_INVALID_SETTING');
    expect(r.stderr).toMatch(/logonFailuresBeforePinReset.*less than maxLogonAttempts/);
    expect(await json(ctx, 'Get-UMMailboxPolicy')).toEqual(before);
  });

  test('MinPINLength 4 and 24 are accepted; 3 and 25 are refused', async () => {
    const ctx = fresh();
    for (const n of ['4', '24']) {
      await ok(ctx, 'Set-UMMailboxPolicy', 'Contoso-Policy', '-MinPINLength', n);
      expect((await json(ctx, 'Get-UMMailboxPolicy', 'Contoso-Policy'))[0].MinPINLength).toBe(Number(n));
    }
    for (const n of ['3', '25']) {
      const r = await run(ctx, 'Set-UMMailboxPolicy', 'Contoso-Policy', '-MinPINLength', n);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/VA_ERR_CLI_PARAMETER.*-MinPINLength: must be between 4 and 24/);
      expect((await json(ctx, 'Get-UMMailboxPolicy', 'Contoso-Policy'))[0].MinPINLength).toBe(24);
    }
  });

  test.each([
    [['-PINLifetime', '0'], /-PINLifetime: must be between 1 and 999, or Unlimited/],
    [['-PINLifetime', '1000'], /-PINLifetime/],
    [['-PINLifetime', 'forever'], /not a whole number or Unlimited/],
    [['-PINHistoryCount', '0'], /-PINHistoryCount: must be between 1 and 20/],
    [['-PINHistoryCount', '21'], /-PINHistoryCount/],
    [['-MaxLogonAttempts', '0'], /-MaxLogonAttempts/],
    [['-MinPINLength', 'Unlimited'], /not a whole number/],
    [['-AllowCommonPatterns', 'yes'], /not a Boolean/],
    [['-ResetPINText', 'x'.repeat(513)], /at most 512/],
    [['-Bogus', '1'], /cannot be found/],
    [[], /missing required parameter -Identity/],
  ])('%j is a command-line error (exit 2)', async (args, reason) => {
    const ctx = fresh();
    const before = await json(ctx, 'Get-UMMailboxPolicy');
    const full = args.length ? ['Contoso-Policy', ...args] : [];
    const r = await run(ctx, 'Set-UMMailboxPolicy', ...full);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(reason);
    expect(await json(ctx, 'Get-UMMailboxPolicy')).toEqual(before);
  });

  test('an unknown policy is VA_ERR_NOT_FOUND', async () => {
    const ctx = fresh();
    const r = await run(ctx, 'Set-UMMailboxPolicy', 'Nope', '-MinPINLength', '8');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VA_ERR_NOT_FOUND');
  });
});

// ====================================================================== Get-/Set-UMDialPlan

describe('Get-/Set-UMDialPlan', () => {
  test('Get-UMDialPlan shows all dial plans, one by name, and refuses an unknown one', async () => {
    const ctx = fresh();
    expect((await json(ctx, 'Get-UMDialPlan')).map((d) => d.Name)).toEqual(['Contoso-DP', 'Contoso-Paris']);
    const [paris] = await json(ctx, 'Get-UMDialPlan', '-Identity', 'contoso-paris');
    expect(paris).toEqual({
      Name: 'Contoso-Paris',
      NumberOfDigitsInExtension: 4,
      AccessTelephoneNumbers: ['+33155550100'],
      VoIPSecurity: 'Unsecured',
      LogonFailuresBeforeDisconnect: 3,
      InputFailuresBeforeDisconnect: 3,
      MaxRecordingDuration: 20,
      RecordingIdleTimeout: 5,
      DefaultLanguage: 'fr-FR',
    });
    const r = await run(ctx, 'Get-UMDialPlan', 'Nope');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VA_ERR_NOT_FOUND');
  });

  test('Set-UMDialPlan changes every parameter', async () => {
    const ctx = fresh();
    await ok(
      ctx, 'Set-UMDialPlan', 'Contoso-DP', '-AccessTelephoneNumbers', '+14255550100,+14255550101', '-VoIPSecurity', 'sipsecured',
      '-LogonFailuresBeforeDisconnect', '5', '-InputFailuresBeforeDisconnect', '4', '-MaxRecordingDuration', '10',
      '-RecordingIdleTimeout', '8', '-DefaultLanguage', 'fr-FR',
    );
    const [dp] = await json(ctx, 'Get-UMDialPlan', 'Contoso-DP');
    expect(dp).toEqual({
      Name: 'Contoso-DP',
      NumberOfDigitsInExtension: 5,
      AccessTelephoneNumbers: ['+14255550100', '+14255550101'],
      VoIPSecurity: 'SIPSecured',
      LogonFailuresBeforeDisconnect: 5,
      InputFailuresBeforeDisconnect: 4,
      MaxRecordingDuration: 10,
      RecordingIdleTimeout: 8,
      DefaultLanguage: 'fr-FR',
    });
  });

  test('NumberOfDigitsInExtension changes only while no mailbox uses the dial plan', async () => {
    const ctx = fresh();
    const r = await run(ctx, 'Set-UMDialPlan', 'Contoso-Paris', '-NumberOfDigitsInExtension', '5');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/VA_ERR_INVALID_SETTING.*NumberOfDigitsInExtension/);
    expect((await json(ctx, 'Get-UMDialPlan', 'Contoso-Paris'))[0].NumberOfDigitsInExtension).toBe(4);
    await ok(ctx, 'Disable-UMMailbox', 'claire@contoso.com');
    await ok(ctx, 'Set-UMDialPlan', 'Contoso-Paris', '-NumberOfDigitsInExtension', '5');
    expect((await json(ctx, 'Get-UMDialPlan', 'Contoso-Paris'))[0].NumberOfDigitsInExtension).toBe(5);
  });

  test.each([
    [['Contoso-DP', '-AccessTelephoneNumbers', '+14255550100,call-me'], 2, /"call-me": must be a telephone number/],
    [['Contoso-DP', '-VoIPSecurity', 'TLS'], 2, /Unsecured, SIPSecured, Secured/],
    [['Contoso-DP', '-LogonFailuresBeforeDisconnect', '0'], 2, /between 1 and 20/],
    [['Contoso-DP', '-RecordingIdleTimeout', '1'], 2, /between 2 and 10/],
    [['Contoso-DP', '-MaxRecordingDuration', '101'], 2, /between 1 and 100/],
    [['Contoso-DP', '-DefaultLanguage', 'de-DE'], 2, /en-US, fr-FR/],
    [['Nope', '-VoIPSecurity', 'Secured'], 1, /VA_ERR_NOT_FOUND/],
  ])('%j is refused and nothing changes', async (args, code, reason) => {
    const ctx = fresh();
    const before = await json(ctx, 'Get-UMDialPlan');
    const r = await run(ctx, 'Set-UMDialPlan', ...args);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(reason);
    expect(await json(ctx, 'Get-UMDialPlan')).toEqual(before);
  });
});

// ====================================================================== UM IP gateways

describe('Get-/New-/Set-/Remove-UMIPGateway', () => {
  const names = async (ctx: Ctx) => (await json(ctx, 'Get-UMIPGateway')).map((g) => g.Name);

  test('Get-UMIPGateway lists the gateways in failover order; one by name; unknown -> not found', async () => {
    const ctx = fresh();
    expect(await names(ctx)).toEqual(['gw1', 'gw2', 'gw-paris']);
    const [gw2] = await json(ctx, 'Get-UMIPGateway', 'GW2');
    expect(gw2).toEqual({ Name: 'gw2', Address: '127.0.0.1', Port: 5063, UMDialPlan: 'Contoso-DP', MessageWaitingIndicatorAllowed: true, Status: 'Enabled' });
    const r = await run(ctx, 'Get-UMIPGateway', 'gw9');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VA_ERR_NOT_FOUND');
  });

  test('New-UMIPGateway appends at the end of the failover order with defaults', async () => {
    const ctx = fresh();
    // A host name must resolve (issue 19): localhost does on any machine.
    const [g] = await json(ctx, 'New-UMIPGateway', '-Name', 'gw3', '-Address', 'localhost', '-UMDialPlan', 'contoso-dp');
    expect(g).toEqual({ Name: 'gw3', Address: 'localhost', Port: 5060, UMDialPlan: 'Contoso-DP', MessageWaitingIndicatorAllowed: true, Status: 'Enabled' });
    await ok(ctx, 'New-UMIPGateway', 'gw4', '-Address', '10.0.0.4', '-Port', '5080', '-UMDialPlan', 'Contoso-Paris', '-MessageWaitingIndicatorAllowed', '$false', '-Status', 'Disabled');
    expect(await names(ctx)).toEqual(['gw1', 'gw2', 'gw-paris', 'gw3', 'gw4']);
    expect((await json(ctx, 'Get-UMIPGateway', 'gw4'))[0]).toMatchObject({ Port: 5080, UMDialPlan: 'Contoso-Paris', MessageWaitingIndicatorAllowed: false, Status: 'Disabled' });
  });

  test('New-UMIPGateway without -UMDialPlan uses the only dial plan', async () => {
    const ctx = fresh((doc) => {
      doc.dialPlans = doc.dialPlans.slice(0, 1);
      doc.gateways = doc.gateways.slice(0, 2);
      doc.mailboxPolicies = doc.mailboxPolicies.slice(0, 1);
      doc.mailboxes = doc.mailboxes.slice(0, 2);
    });
    const [g] = await json(ctx, 'New-UMIPGateway', 'gw3', '-Address', '10.0.0.3');
    expect(g.UMDialPlan).toBe('Contoso-DP');
  });

  test.each([
    ['a duplicate name', ['gw1', '-Address', '10.0.0.9', '-UMDialPlan', 'Contoso-DP'], 1, /VA_ERR_ALREADY_EXISTS/],
    ['a duplicate name in another case', ['GW1', '-Address', '10.0.0.9', '-UMDialPlan', 'Contoso-DP'], 1, /VA_ERR_ALREADY_EXISTS/],
    ['an unknown dial plan', ['gw9', '-Address', '10.0.0.9', '-UMDialPlan', 'Nope'], 1, /VA_ERR_NOT_FOUND.*Nope/],
    ['no -UMDialPlan with two dial plans', ['gw9', '-Address', '10.0.0.9'], 2, /-UMDialPlan is required/],
    ['a missing -Address', ['gw9', '-UMDialPlan', 'Contoso-DP'], 2, /missing required parameter -Address/],
    ['a missing -Name', ['-Address', '10.0.0.9', '-UMDialPlan', 'Contoso-DP'], 2, /missing required parameter -Name/],
    ['a bad port', ['gw9', '-Address', '10.0.0.9', '-UMDialPlan', 'Contoso-DP', '-Port', '70000'], 2, /-Port: must be between 0 and 65535/],
    ['a bad status', ['gw9', '-Address', '10.0.0.9', '-UMDialPlan', 'Contoso-DP', '-Status', 'Off'], 2, /Enabled, Disabled, NoNewCalls/],
  ])('New-UMIPGateway with %s is refused and nothing changes', async (_what, args, code, reason) => {
    const ctx = fresh();
    const before = await json(ctx, 'Get-UMIPGateway');
    const r = await run(ctx, 'New-UMIPGateway', ...(args as string[]));
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(reason as RegExp);
    expect(await json(ctx, 'Get-UMIPGateway')).toEqual(before);
  });

  test('Set-UMIPGateway changes settings and renames, keeping the failover order', async () => {
    const ctx = fresh();
    await ok(ctx, 'Set-UMIPGateway', 'gw1', '-Address', '10.0.0.1', '-Port', '5070', '-Status', 'NoNewCalls', '-MessageWaitingIndicatorAllowed', '$false');
    expect((await json(ctx, 'Get-UMIPGateway', 'gw1'))[0]).toEqual({
      Name: 'gw1', Address: '10.0.0.1', Port: 5070, UMDialPlan: 'Contoso-DP', MessageWaitingIndicatorAllowed: false, Status: 'NoNewCalls',
    });
    await ok(ctx, 'Set-UMIPGateway', 'gw1', '-Name', 'gw-primary');
    await ok(ctx, 'Set-UMIPGateway', 'gw2', '-UMDialPlan', 'contoso-paris');
    expect(await names(ctx)).toEqual(['gw-primary', 'gw2', 'gw-paris']);
    expect((await json(ctx, 'Get-UMIPGateway', 'gw-primary'))[0].Port).toBe(5070);
    expect((await json(ctx, 'Get-UMIPGateway', 'gw2'))[0].UMDialPlan).toBe('Contoso-Paris');
  });

  test.each([
    ['a rename to an existing name', ['gw1', '-Name', 'gw2'], 1, /VA_ERR_ALREADY_EXISTS/],
    ['an unknown dial plan', ['gw1', '-UMDialPlan', 'Nope'], 1, /VA_ERR_NOT_FOUND/],
    ['an unknown gateway', ['gw9', '-Port', '5070'], 1, /VA_ERR_NOT_FOUND/],
    ['a bad port', ['gw1', '-Port', 'x'], 2, /not a whole number/],
    ['no identity', ['-Port', '5070'], 2, /missing required parameter -Identity/],
  ])('Set-UMIPGateway with %s is refused and nothing changes', async (_what, args, code, reason) => {
    const ctx = fresh();
    const before = await json(ctx, 'Get-UMIPGateway');
    const r = await run(ctx, 'Set-UMIPGateway', ...(args as string[]));
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(reason as RegExp);
    expect(await json(ctx, 'Get-UMIPGateway')).toEqual(before);
  });

  test('Remove-UMIPGateway removes one gateway and keeps the order of the rest', async () => {
    const ctx = fresh();
    await ok(ctx, 'New-UMIPGateway', 'gw3', '-Address', '10.0.0.3', '-UMDialPlan', 'Contoso-DP');
    await ok(ctx, 'Remove-UMIPGateway', '-Identity', 'GW2');
    expect(await names(ctx)).toEqual(['gw1', 'gw-paris', 'gw3']);
    // A new gateway still goes last.
    await ok(ctx, 'New-UMIPGateway', 'gw2', '-Address', '10.0.0.2', '-UMDialPlan', 'Contoso-DP');
    expect(await names(ctx)).toEqual(['gw1', 'gw-paris', 'gw3', 'gw2']);
    const r = await run(ctx, 'Remove-UMIPGateway', 'gw9');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VA_ERR_NOT_FOUND');
    const r2 = await run(ctx, 'Remove-UMIPGateway');
    expect(r2.code).toBe(2);
    expect(await names(ctx)).toEqual(['gw1', 'gw-paris', 'gw3', 'gw2']);
  });
});

// ====================================================================== dial-in conferencing

describe('Get-/Set-CsOnlineDialInConferencingUser', () => {
  const verifyLeader = (ctx: Ctx, identity: string, pin: string) => withApp(ctx, (app) => app.conferencing.verifyLeaderPin(identity, pin));

  test('Get shows the users with their leader PIN masked', async () => {
    const ctx = fresh();
    const all = await json(ctx, 'Get-CsOnlineDialInConferencingUser');
    expect(all).toEqual([
      { Identity: 'amos.marble@contoso.com', DisplayName: 'Amos Marble', LeaderPin: '*****', AllowPSTNOnlyMeetings: false, ConferenceIds: ['4455667'] },
      { Identity: 'megan.bowen@contoso.com', DisplayName: 'Megan Bowen', LeaderPin: '*****', AllowPSTNOnlyMeetings: true, ConferenceIds: ['7788990'] },
    ]);
    const r = await run(ctx, 'Get-CsOnlineDialInConferencingUser', 'nobody@contoso.com');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VA_ERR_NOT_FOUND');
  });

  test('-ResetLeaderPIN shows a new 5-digit PIN once, mails it (automatic e-mails on), then Get shows *****', async () => {
    const ctx = fresh();
    const [out] = await json(ctx, 'Set-CsOnlineDialInConferencingUser', '-Identity', 'amos.marble@contoso.com', '-ResetLeaderPIN');
    expect(out.LeaderPin).toMatch(/^[0-9]{5}$/);
    const [after] = await json(ctx, 'Get-CsOnlineDialInConferencingUser', 'amos.marble@contoso.com');
    expect(after.LeaderPin).toBe('*****');
    expect(await verifyLeader(ctx, 'amos.marble@contoso.com', out.LeaderPin)).toBe(true);
    expect(await verifyLeader(ctx, 'amos.marble@contoso.com', '90210')).toBe(false);
    const mails = outbox(ctx);
    expect(mails).toHaveLength(1);
    expect(mails[0].to).toBe('amos.marble@contoso.com');
    expect(mails[0].pin).toBe(out.LeaderPin);
    // The list view shows it too, once.
    const r = await ok(ctx, 'Set-CsOnlineDialInConferencingUser', 'megan.bowen@contoso.com', '-ResetLeaderPIN');
    expect(r.stdout).toMatch(/^LeaderPin\s+: [0-9]{5}$/m);
    expect((await ok(ctx, 'Get-CsOnlineDialInConferencingUser', 'megan.bowen@contoso.com')).stdout).toMatch(/^LeaderPin\s+: \*{5}$/m);
  });

  test('no mail when AutomaticallySendEmailsToUsers is false and -SendEmail is absent; -SendEmail mails', async () => {
    const ctx = fresh();
    await ok(ctx, 'Set-CsOnlineDialInConferencingTenantSettings', '-AutomaticallySendEmailsToUsers', '$false');
    const [a] = await json(ctx, 'Set-CsOnlineDialInConferencingUser', 'amos.marble@contoso.com', '-ResetLeaderPIN');
    expect(a.LeaderPin).toMatch(/^[0-9]{5}$/);
    expect(outbox(ctx)).toHaveLength(0);
    const [b] = await json(ctx, 'Set-CsOnlineDialInConferencingUser', 'amos.marble@contoso.com', '-ResetLeaderPIN', '-SendEmail');
    const mails = outbox(ctx);
    expect(mails).toHaveLength(1);
    expect(mails[0].to).toBe('amos.marble@contoso.com');
    expect(mails[0].pin).toBe(b.LeaderPin);
  });

  test('a mail also follows from the tenant setting in a config that turns it on', async () => {
    const ctx = fresh((doc) => {
      doc.conferencing.automaticallySendEmailsToUsers = false;
    });
    await ok(ctx, 'Set-CsOnlineDialInConferencingUser', 'amos.marble@contoso.com', '-ResetLeaderPIN');
    expect(outbox(ctx)).toHaveLength(0);
    await ok(ctx, 'Set-CsOnlineDialInConferencingTenantSettings', '-AutomaticallySendEmailsToUsers', '$true');
    await ok(ctx, 'Set-CsOnlineDialInConferencingUser', 'amos.marble@contoso.com', '-ResetLeaderPIN');
    expect(outbox(ctx)).toHaveLength(1);
  });

  test('-SendEmailToAddress without -SendEmail is a command-line error and resets nothing', async () => {
    const ctx = fresh();
    const r = await run(ctx, 'Set-CsOnlineDialInConferencingUser', 'amos.marble@contoso.com', '-ResetLeaderPIN', '-SendEmailToAddress', 'admin@contoso.com');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/VA_ERR_CLI_PARAMETER.*-SendEmailToAddress needs -SendEmail/);
    expect(r.stdout).toBe('');
    expect(outbox(ctx)).toHaveLength(0);
    expect(await verifyLeader(ctx, 'amos.marble@contoso.com', '90210')).toBe(true);
  });

  test('-SendEmail -SendEmailToAddress mails that address', async () => {
    const ctx = fresh();
    const [out] = await json(ctx, 'Set-CsOnlineDialInConferencingUser', 'amos.marble@contoso.com', '-ResetLeaderPIN', '-SendEmail', '-SendEmailToAddress', 'admin@contoso.com');
    const mails = outbox(ctx);
    expect(mails).toHaveLength(1);
    expect(mails[0].to).toBe('admin@contoso.com');
    expect(mails[0].pin).toBe(out.LeaderPin);
  });

  test('-AllowPSTNOnlyMeetings $true changes only that setting (no PIN shown, no mail)', async () => {
    const ctx = fresh();
    const [out] = await json(ctx, 'Set-CsOnlineDialInConferencingUser', 'amos.marble@contoso.com', '-AllowPSTNOnlyMeetings', '$true');
    expect(out).toMatchObject({ AllowPSTNOnlyMeetings: true, LeaderPin: '*****' });
    expect((await json(ctx, 'Get-CsOnlineDialInConferencingUser', 'amos.marble@contoso.com'))[0].AllowPSTNOnlyMeetings).toBe(true);
    expect(outbox(ctx)).toHaveLength(0);
    expect(await verifyLeader(ctx, 'amos.marble@contoso.com', '90210')).toBe(true);
    await ok(ctx, 'Set-CsOnlineDialInConferencingUser', 'megan.bowen@contoso.com', '-AllowPSTNOnlyMeetings:$false');
    expect((await json(ctx, 'Get-CsOnlineDialInConferencingUser', 'megan.bowen@contoso.com'))[0].AllowPSTNOnlyMeetings).toBe(false);
  });

  test.each([
    ['an unknown user', ['nobody@contoso.com', '-ResetLeaderPIN'], 1, /VA_ERR_NOT_FOUND/],
    ['a bad address', ['amos.marble@contoso.com', '-SendEmail', '-SendEmailToAddress', 'nobody'], 2, /must be an e-mail address/],
    ['a bad Boolean', ['amos.marble@contoso.com', '-AllowPSTNOnlyMeetings', 'sometimes'], 2, /not a Boolean/],
    ['no identity', ['-ResetLeaderPIN'], 2, /missing required parameter -Identity/],
  ])('%s is refused', async (_what, args, code, reason) => {
    const ctx = fresh();
    const r = await run(ctx, 'Set-CsOnlineDialInConferencingUser', ...(args as string[]));
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(reason as RegExp);
    expect(outbox(ctx)).toHaveLength(0);
  });
});

describe('Get-/Set-CsOnlineDialInConferencingTenantSettings', () => {
  test('Get shows the tenant settings', async () => {
    const ctx = fresh();
    expect(await json(ctx, 'Get-CsOnlineDialInConferencingTenantSettings')).toEqual([
      {
        PinLength: 5,
        AutomaticallySendEmailsToUsers: true,
        EnableEntryExitNotifications: true,
        LobbyAdmission: 'Automatic',
        AllowAnonymousMeetingStart: false,
        LobbyAnnouncementIntervalSeconds: 30,
        AccessNumbers: ['+14255550199'],
      },
    ]);
  });

  test('Set changes the meeting settings: entry/exit tones, lobby admission, anonymous start, announcements', async () => {
    const ctx = fresh();
    await ok(
      ctx,
      'Set-CsOnlineDialInConferencingTenantSettings',
      '-EnableEntryExitNotifications', '$false',
      '-LobbyAdmission', 'organizer',
      '-AllowAnonymousMeetingStart', '$true',
      '-LobbyAnnouncementIntervalSeconds', '0',
    );
    expect(await json(ctx, 'Get-CsOnlineDialInConferencingTenantSettings')).toEqual([
      expect.objectContaining({ EnableEntryExitNotifications: false, LobbyAdmission: 'Organizer', AllowAnonymousMeetingStart: true, LobbyAnnouncementIntervalSeconds: 0 }),
    ]);
  });

  test('-PinLength 4 and 12 are accepted; 3 and 13 are refused', async () => {
    const ctx = fresh();
    for (const n of [4, 12]) {
      await ok(ctx, 'Set-CsOnlineDialInConferencingTenantSettings', '-PinLength', String(n));
      expect((await json(ctx, 'Get-CsOnlineDialInConferencingTenantSettings'))[0].PinLength).toBe(n);
    }
    for (const n of ['3', '13', 'five']) {
      const r = await run(ctx, 'Set-CsOnlineDialInConferencingTenantSettings', '-PinLength', n);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('VA_ERR_CLI_PARAMETER');
      expect((await json(ctx, 'Get-CsOnlineDialInConferencingTenantSettings'))[0].PinLength).toBe(12);
    }
  });

  test('after -PinLength 8 a reset leader PIN has 8 digits; existing PINs keep working', async () => {
    const ctx = fresh();
    await ok(ctx, 'Set-CsOnlineDialInConferencingTenantSettings', '-PinLength', '8', '-AutomaticallySendEmailsToUsers', '$false');
    expect(await json(ctx, 'Get-CsOnlineDialInConferencingTenantSettings')).toEqual([
      expect.objectContaining({ PinLength: 8, AutomaticallySendEmailsToUsers: false, AccessNumbers: ['+14255550199'] }),
    ]);
    const verify = (id: string, pin: string) => withApp(ctx, (app) => app.conferencing.verifyLeaderPin(id, pin));
    expect(await verify('megan.bowen@contoso.com', '31415')).toBe(true);
    const [out] = await json(ctx, 'Set-CsOnlineDialInConferencingUser', 'amos.marble@contoso.com', '-ResetLeaderPIN');
    expect(out.LeaderPin).toMatch(/^[0-9]{8}$/);
    expect(await verify('amos.marble@contoso.com', out.LeaderPin)).toBe(true);
  });

  test('unknown parameters and bad Booleans are refused', async () => {
    const ctx = fresh();
    for (const args of [['-Identity', 'x'], ['-AutomaticallySendEmailsToUsers', 'perhaps']]) {
      const r = await run(ctx, 'Set-CsOnlineDialInConferencingTenantSettings', ...args);
      expect(r.code).toBe(2);
    }
    expect((await json(ctx, 'Get-CsOnlineDialInConferencingTenantSettings'))[0]).toMatchObject({ PinLength: 5, AutomaticallySendEmailsToUsers: true });
  });
});

// ====================================================================== Get-VoiceMessage

describe('Get-VoiceMessage', () => {
  test('a mailbox without messages gives [] in JSON and nothing in list format', async () => {
    const ctx = fresh();
    const r = await ok(ctx, 'Get-VoiceMessage', '-Identity', 'tony@contoso.com', '--json');
    expect(JSON.parse(r.stdout)).toEqual([]);
    expect((await ok(ctx, 'Get-VoiceMessage', 'tony@contoso.com')).stdout).toBe('');
  });

  test('a stored message is listed with its fields', async () => {
    const ctx = fresh();
    await json(ctx, 'Get-UMMailbox');
    await withStore(ctx, (s) =>
      s.addVoiceMessage({ identity: 'tony@contoso.com', caller: '+14255550112', receivedAt: Date.UTC(2025, 0, 2, 3, 4, 5), durationMs: 12_345, urgent: true, audioFile: 'voice/x.wav' }),
    );
    const [m] = await json(ctx, 'Get-VoiceMessage', 'tony@contoso.com');
    expect(m).toMatchObject({ From: '+14255550112', Received: '2025-01-02T03:04:05.000Z', DurationSeconds: 12.3, Unheard: true, Urgent: true, AudioFile: 'voice/x.wav' });
  });

  test('unknown mailbox -> VA_ERR_NOT_FOUND; missing identity -> exit 2', async () => {
    const ctx = fresh();
    const r = await run(ctx, 'Get-VoiceMessage', 'nobody@contoso.com');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VA_ERR_NOT_FOUND');
    expect((await run(ctx, 'Get-VoiceMessage')).code).toBe(2);
  });
});

// ====================================================================== the command line itself

describe('command line', () => {
  test('an unknown cmdlet exits 2 with VA_ERR_CLI_UNKNOWN_COMMAND and creates no store', async () => {
    const ctx = fresh();
    const r = await run(ctx, 'Get-Nothing', '-Identity', 'x');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('VA_ERR_CLI_UNKNOWN_COMMAND');
    expect(r.stderr).toContain('Get-Nothing');
    expect(existsSync(path.join(ctx.data, 'voice-access.db'))).toBe(false);
  });

  test('--help on a cmdlet lists its parameters (every cmdlet)', async () => {
    const ctx = fresh();
    for (const c of CMDLETS) {
      const r = await run(ctx, c.name, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(c.name);
      for (const p of c.params) expect(r.stdout).toContain(`-${p.name}`);
    }
    const r = await run(ctx, 'set-ummailboxpin', '-?');
    expect(r.stdout).toMatch(/-Identity \(required\) \(positional\)/);
    expect(r.stdout).toMatch(/-PinExpired\n\s+.*default \$true/);
    expect(existsSync(path.join(ctx.data, 'voice-access.db'))).toBe(false);
  });

  test('no command prints the usage and exits 2; `help` exits 0', async () => {
    const io = captureIo();
    expect(await main([], io)).toBe(2);
    expect(io.stdout).toContain('Set-UMMailboxPIN');
    const io2 = captureIo();
    expect(await main(['help'], io2)).toBe(0);
    for (const c of CMDLETS) expect(io2.stdout).toContain(c.name);
  });

  test('bad global options exit 2', async () => {
    const ctx = fresh();
    expect((await run(ctx, 'Get-UMMailboxPIN', '--bogus')).code).toBe(2);
    const io = captureIo();
    expect(await main(['Get-UMMailboxPIN', '--data'], io)).toBe(2);
    expect(io.stderr).toContain('--data needs a value');
  });

  test('--data=DIR and --config=FILE forms work', async () => {
    const ctx = fresh();
    const io = captureIo();
    expect(await main(['Get-UMMailboxPIN', `--data=${ctx.data}`, `--config=${ctx.config}`, '--json'], io)).toBe(0);
    expect(JSON.parse(io.stdout)).toHaveLength(3);
  });

  test('a missing config file fails with VA_ERR_CONFIG_NOT_FOUND', async () => {
    const ctx = fresh();
    const r = await run({ data: ctx.data, config: path.join(ctx.data, '..', 'missing.yaml') }, 'Get-UMMailboxPIN');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VA_ERR_CONFIG_NOT_FOUND');
  });

  test('the store keeps changes; the directory file is imported only once', async () => {
    const ctx = fresh();
    await ok(ctx, 'Set-UMMailbox', 'tony@contoso.com', '-MobileNumber', '+14255550999');
    await ok(ctx, 'Disable-UMMailbox', 'claire@contoso.com');
    const all = await json(ctx, 'Get-UMMailbox');
    expect(all.map((m) => m.Identity)).toEqual(['david@contoso.com', 'tony@contoso.com']);
    expect(all[1].MobileNumber).toBe('+14255550999');
  });
});
