/**
 * PIN guessing with concurrent sign-ins (issue 19): wrong PINs for one mailbox entered at once, on one PinService, on
 * two PinService+store pairs opened on one SQLite file, and in two processes on one data folder. The policy is
 * lowered (LogonFailuresBeforePINReset 3, MaxLogonAttempts 6). Whatever the interleaving, at most MaxLogonAttempts
 * PINs are checked (the rest are refused as locked, before any check), the mailbox ends locked with 6 failures,
 * and the automatic reset at the 3rd failure never lifts the lockout nor lowers the count. Sign-ins handed the row
 * their call read (the one-step path) may check more PINs, but exactly as many are answered.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { openApp, type App } from '../../src/app';
import * as pinHash from '../../src/domain/pin-hash';
import type { MailMessage } from '../../src/ports/mailer';
import type { SignInResult } from '../../src/services/pin-service';
import { ROOT, tempDir, writeConfig } from '../helpers';

jest.setTimeout(60_000);

const DAVID = 'david@contoso.com';
const DAVID_PIN = '739164';
const MAX_LOGON_ATTEMPTS = 6;

/** The demo directory with the lowered policy of the issue. */
function lowered(dir: string): string {
  return writeConfig(dir, (doc) => {
    const policy = doc.mailboxPolicies.find((p: { name: string }) => p.name === 'Contoso-Policy');
    policy.logonFailuresBeforePinReset = 3;
    policy.maxLogonAttempts = MAX_LOGON_ATTEMPTS;
  });
}

/**
 * A mailer that keeps mails in memory. With `hold`, each send waits until `release()` (the reset's mail is slow),
 * and `waiting` counts the sends held.
 */
function memoryMailer(hold = false) {
  const sent: MailMessage[] = [];
  const held: Array<() => void> = [];
  return {
    sent,
    get waiting() {
      return held.length;
    },
    release() {
      for (const r of held.splice(0)) r();
    },
    async send(m: MailMessage) {
      if (hold) await new Promise<void>((r) => held.push(r));
      sent.push(m);
    },
  };
}

/** `n` distinct wrong PINs (six digits; none is david's). */
function wrongPins(n: number, first = 100_001): string[] {
  return Array.from({ length: n }, (_, i) => String(first + i));
}

/** How many outcomes of each kind. */
function tally(results: SignInResult[] | string[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const r of results) {
    const k = typeof r === 'string' ? r : r.outcome;
    t[k] = (t[k] ?? 0) + 1;
  }
  return t;
}

const dirs: string[] = [];
const apps: App[] = [];
let verifySpy: jest.SpyInstance;
beforeEach(() => {
  verifySpy = jest.spyOn(pinHash, 'verifyPin');
});
afterEach(() => {
  verifySpy.mockRestore();
  for (const a of apps.splice(0)) a.close();
});
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh folder with the lowered directory; `opens` apps (stores, PinServices) on its one data folder. */
async function openShared(opens: number, mailer = memoryMailer()): Promise<{ apps: App[]; mailer: ReturnType<typeof memoryMailer>; config: string; data: string }> {
  const dir = tempDir();
  dirs.push(dir);
  const config = lowered(dir);
  const data = path.join(dir, 'data');
  const opened: App[] = [];
  for (let i = 0; i < opens; i++) opened.push(await openApp({ config, data, mailer }));
  apps.push(...opened);
  return { apps: opened, mailer, config, data };
}

describe('concurrent wrong PINs for one mailbox', () => {
  it('on one PinService: 12 at once check at most MaxLogonAttempts PINs, the rest are refused, the mailbox is locked', async () => {
    const { apps: [app] } = await openShared(1);
    const results = await Promise.all(wrongPins(12).map((pin) => app.pins.signIn(DAVID, pin)));
    const t = tally(results);
    expect(verifySpy.mock.calls.length).toBeLessThanOrEqual(MAX_LOGON_ATTEMPTS);
    expect(t).toEqual({ failed: verifySpy.mock.calls.length, locked: 12 - verifySpy.mock.calls.length });
    expect(await app.store.getMailbox(DAVID)).toMatchObject({ lockedOut: true, logonFailures: MAX_LOGON_ATTEMPTS });
    // Locked: even the right PIN is refused, without a check.
    const checks = verifySpy.mock.calls.length;
    expect(await app.pins.signIn(DAVID, DAVID_PIN)).toEqual({ outcome: 'locked' });
    expect(verifySpy.mock.calls.length).toBe(checks);
  });

  it('30 at once, repeated: never more than MaxLogonAttempts checks, and the lockout always holds', async () => {
    for (let run = 0; run < 4; run++) {
      const { apps: [app] } = await openShared(1);
      verifySpy.mockClear();
      const results = await Promise.all(wrongPins(30, 200_001 + run * 100).map((pin) => app.pins.signIn(DAVID, pin)));
      expect({ run, checks: verifySpy.mock.calls.length, failed: tally(results).failed }).toEqual({ run, checks: MAX_LOGON_ATTEMPTS, failed: MAX_LOGON_ATTEMPTS });
      expect({ run, ...(await app.store.getMailbox(DAVID)) }).toMatchObject({ run, lockedOut: true, logonFailures: MAX_LOGON_ATTEMPTS });
    }
  });

  it('on two PinService+store instances on one SQLite file: 12 at once, split between them', async () => {
    const { apps: [a, b] } = await openShared(2);
    const pins = wrongPins(12);
    const results = await Promise.all(pins.map((pin, i) => (i % 2 ? b : a).pins.signIn(DAVID, pin)));
    expect(verifySpy.mock.calls.length).toBeLessThanOrEqual(MAX_LOGON_ATTEMPTS);
    expect(tally(results).failed).toBe(verifySpy.mock.calls.length);
    for (const s of [a, b]) expect(await s.store.getMailbox(DAVID)).toMatchObject({ lockedOut: true, logonFailures: MAX_LOGON_ATTEMPTS });
  });

  it('the automatic reset whose mail is slow does not lift a lockout recorded meanwhile, nor lower the count', async () => {
    const mailer = memoryMailer(true);
    const { apps: [a, b] } = await openShared(2, mailer);
    const before = (await a.store.getMailbox(DAVID)).pinHash;
    // Failures 1-3, one after another: the 3rd resets the PIN, and its mail is held.
    expect(await a.pins.signIn(DAVID, '100001')).toMatchObject({ outcome: 'failed', failures: 1 });
    expect(await b.pins.signIn(DAVID, '100002')).toMatchObject({ outcome: 'failed', failures: 2 });
    const third = a.pins.signIn(DAVID, '100003');
    const deadline = Date.now() + 10_000;
    while (mailer.waiting === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(mailer.waiting).toBe(1);
    // Meanwhile failures 4-6 on the other instance lock the mailbox.
    for (const pin of ['100004', '100005', '100006']) await b.pins.signIn(DAVID, pin);
    expect(await b.store.getMailbox(DAVID)).toMatchObject({ lockedOut: true, logonFailures: 6 });
    mailer.release();
    // The reset finds the lockout: the caller hears the lockout, the PIN is not replaced, the lockout stays.
    expect(await third).toEqual({ outcome: 'failed', failures: 3, action: 'lockout' });
    expect(await a.store.getMailbox(DAVID)).toMatchObject({ lockedOut: true, logonFailures: 6, pinHash: before });
  });

  it('the automatic reset does not overwrite a PIN an administrator set while its mail was being sent', async () => {
    const held = memoryMailer(true);
    const { apps: [a], config, data } = await openShared(1, held);
    const admin = await openApp({ config, data, mailer: memoryMailer() });
    apps.push(admin);
    for (const pin of ['100001', '100002']) await a.pins.signIn(DAVID, pin);
    const third = a.pins.signIn(DAVID, '100003');
    const deadline = Date.now() + 10_000;
    while (held.waiting === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await admin.pins.setPin(DAVID, { pin: '582047', pinExpired: false });
    held.release();
    expect(await third).toEqual({ outcome: 'failed', failures: 3, action: 'retry' });
    expect(await a.pins.signIn(DAVID, '582047')).toMatchObject({ outcome: 'ok', mustChangePin: false });
  });

  it('a right PIN entered at once with wrong ones signs in, and the count ends cleared whatever the order', async () => {
    for (let run = 0; run < 5; run++) {
      const { apps: [app] } = await openShared(1);
      const results = await Promise.all([...wrongPins(3).map((pin) => app.pins.signIn(DAVID, pin)), app.pins.signIn(DAVID, DAVID_PIN)]);
      expect({ run, r: results[3].outcome }).toEqual({ run, r: 'ok' });
      expect({ run, r: results.slice(0, 3).map((r) => r.outcome) }).toEqual({ run, r: ['failed', 'failed', 'failed'] });
      // Admitted in order, the three wrong PINs came before the success: none counts after it.
      expect({ run, ...(await app.store.getMailbox(DAVID)) }).toMatchObject({ run, lockedOut: false, logonFailures: 0 });
    }
  });
});

describe('concurrent sign-ins handed the row read at the extension prompt (the one-step path)', () => {
  it('30 wrong PINs at once, repeated: exactly MaxLogonAttempts are answered, the rest are refused, the lockout holds', async () => {
    for (let run = 0; run < 4; run++) {
      const { apps: [app] } = await openShared(1);
      const seen = await app.store.getMailbox(DAVID);
      const results = await Promise.all(wrongPins(30, 500_001 + run * 100).map((pin) => app.pins.signIn(DAVID, pin, seen)));
      // A check whose row had changed is discarded unanswered: only the answers are bounded, and they are exact.
      expect({ run, ...tally(results) }).toEqual({ run, failed: MAX_LOGON_ATTEMPTS, locked: 30 - MAX_LOGON_ATTEMPTS });
      const counts = results.flatMap((r) => (r.outcome === 'failed' ? [r.failures] : [])).sort((a, b) => a - b);
      expect({ run, counts }).toEqual({ run, counts: [1, 2, 3, 4, 5, 6] });
      expect({ run, ...(await app.store.getMailbox(DAVID)) }).toMatchObject({ run, lockedOut: true, logonFailures: MAX_LOGON_ATTEMPTS });
    }
  });

  it('on two instances on one SQLite file: 12 at once, split between them, each with its own row', async () => {
    const { apps: [a, b] } = await openShared(2);
    const seen = [await a.store.getMailbox(DAVID), await b.store.getMailbox(DAVID)];
    const results = await Promise.all(wrongPins(12).map((pin, i) => [a, b][i % 2].pins.signIn(DAVID, pin, seen[i % 2])));
    expect(tally(results)).toEqual({ failed: MAX_LOGON_ATTEMPTS, locked: 12 - MAX_LOGON_ATTEMPTS });
    for (const s of [a, b]) expect(await s.store.getMailbox(DAVID)).toMatchObject({ lockedOut: true, logonFailures: MAX_LOGON_ATTEMPTS });
  });

  it('a right PIN among wrong ones signs in; the failures left are only those answered after it', async () => {
    for (let run = 0; run < 20; run++) {
      const { apps: [app] } = await openShared(1);
      const seen = await app.store.getMailbox(DAVID);
      const order: string[] = [];
      const attempt = (pin: string) => app.pins.signIn(DAVID, pin, seen).then((r) => (order.push(r.outcome), r));
      // Two wrong PINs, below LogonFailuresBeforePINReset (3): a third settled before the right one would reset the
      // PIN it knows, and it would rightly fail.
      const results = await Promise.all([...wrongPins(2).map(attempt), attempt(DAVID_PIN)]);
      expect({ run, r: results.map((r) => r.outcome) }).toEqual({ run, r: ['failed', 'failed', 'ok'] });
      // Only a wrong PIN answered after the success can still count (one admitted before it was cleared by it).
      const after = order.length - 1 - order.indexOf('ok');
      const m = await app.store.getMailbox(DAVID);
      expect({ run, lockedOut: m.lockedOut, atMostAfter: m.logonFailures <= after }).toEqual({ run, lockedOut: false, atMostAfter: true });
    }
  });

  it('a right PIN with nothing counted writes nothing; a wrong one is counted once', async () => {
    const { apps: [app] } = await openShared(1);
    const seen = await app.store.getMailbox(DAVID);
    const cas = jest.spyOn(app.store, 'compareAndSetLogonState');
    const update = jest.spyOn(app.store, 'updateLogonFailures');
    expect(await app.pins.signIn(DAVID, DAVID_PIN, seen)).toMatchObject({ outcome: 'ok' });
    expect(cas.mock.calls).toEqual([[seen, { failures: 0, lockedOut: false }]]);
    expect(await app.pins.signIn(DAVID, '100001', seen)).toEqual({ outcome: 'failed', failures: 1, action: 'retry' });
    expect(cas.mock.calls[1]).toEqual([seen, { failures: 1, lockedOut: false }]);
    expect(update).not.toHaveBeenCalled();
    expect((await app.store.getMailbox(DAVID)).logonFailures).toBe(1);
  });
});

describe('concurrent wrong PINs from two processes on one data folder', () => {
  /** Starts a worker (`test/helpers/sign-in-worker.ts`) and resolves once it is ready. */
  function worker(args: string[]): Promise<{ child: ChildProcessWithoutNullStreams; result: Promise<{ outcomes: string[]; checks: number }> }> {
    const child = spawn(process.execPath, ['-r', path.join(ROOT, 'test', 'helpers', 'ts-register.js'), path.join(ROOT, 'test', 'helpers', 'sign-in-worker.ts'), ...args], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const killer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    let onReady: () => void;
    const ready = new Promise<void>((r) => (onReady = r));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.startsWith('ready\n')) onReady();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const result = new Promise<{ outcomes: string[]; checks: number }>((resolve, reject) => {
      child.on('close', (code, signal) => {
        clearTimeout(killer);
        onReady();
        if (code !== 0) return reject(new Error(`worker exited ${code ?? signal}: ${stderr}`));
        resolve(JSON.parse(stdout.split('\n').filter(Boolean).pop()!));
      });
    });
    return Promise.race([ready.then(() => ({ child, result })), result.then(() => ({ child, result }))]);
  }

  it('15 at once in each of two processes: at most MaxLogonAttempts checks in all, the mailbox is locked', async () => {
    const { apps: [app], config, data } = await openShared(1);
    const workers = await Promise.all([worker([config, data, DAVID, '15', '300001']), worker([config, data, DAVID, '15', '400001'])]);
    for (const w of workers) w.child.stdin.end('go\n');
    const [r1, r2] = await Promise.all(workers.map((w) => w.result));
    const checks = r1.checks + r2.checks;
    const t = tally([...r1.outcomes, ...r2.outcomes]);
    expect(checks).toBeLessThanOrEqual(MAX_LOGON_ATTEMPTS);
    expect(t).toEqual({ failed: checks, locked: 30 - checks });
    expect(await app.store.getMailbox(DAVID)).toMatchObject({ lockedOut: true, logonFailures: MAX_LOGON_ATTEMPTS });
  });
});
