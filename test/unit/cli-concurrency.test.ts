/**
 * Concurrent use of one data folder by real `voice-access` processes (`node bin/voice-access.js`, which runs the
 * compiled `dist/`): simultaneous first starts import the directory exactly once, and simultaneous writers and
 * readers all succeed without losing a change (WAL, busy timeout, IMMEDIATE transactions).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { openApp } from '../../src/app';
import { DirectoryStore } from '../../src/directory/store';
import { ROOT, tempDir, writeConfig } from '../helpers';

const BIN = path.join(ROOT, 'bin', 'voice-access.js');
/** Per process; the busy timeout is 15 s, but nothing here should come close. */
const PROCESS_TIMEOUT_MS = 20_000;

jest.setTimeout(60_000);

interface Result {
  args: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts one CLI process; resolves when it exits, killing it after PROCESS_TIMEOUT_MS. */
function cli(args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${PROCESS_TIMEOUT_MS} ms]`;
      child.kill('SIGKILL');
    }, PROCESS_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ args, code, signal, stdout, stderr });
    });
  });
}

function describeFailures(results: Result[]): string {
  return results
    .filter((r) => r.code !== 0)
    .map((r) => `${r.args.join(' ')} -> ${r.code ?? r.signal}\n${r.stderr}`)
    .join('\n');
}

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

beforeAll(() => {
  // `npm test` builds first; a bare `npx jest` may run before any build.
  if (!existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
      cwd: ROOT,
      stdio: 'inherit',
      timeout: 120_000,
    });
  }
});

test('6 processes started at once on an empty data folder all succeed and import the directory once', async () => {
  const dir = tempDir('va-conc-first-');
  made.push(dir);
  const data = path.join(dir, 'data');
  const config = writeConfig(dir);
  const g = ['--data', data, '--config', config];
  const results = await Promise.all([
    cli(['Get-UMMailboxPIN', '--json', ...g]),
    cli(['Get-UMMailboxPIN', '--json', ...g]),
    cli(['Get-UMMailbox', '--json', ...g]),
    cli(['Get-UMIPGateway', '--json', ...g]),
    cli(['Get-UMMailboxPIN', '-Identity', 'tony@contoso.com', '--json', ...g]),
    cli(['Get-CsOnlineDialInConferencingUser', '--json', ...g]),
  ]);
  expect(describeFailures(results)).toBe('');
  expect(JSON.parse(results[0].stdout).map((s: { UserID: string }) => s.UserID)).toEqual(['claire@contoso.com', 'david@contoso.com', 'tony@contoso.com']);
  expect(JSON.parse(results[1].stdout)).toHaveLength(3);
  expect(JSON.parse(results[2].stdout)).toHaveLength(3);
  expect(JSON.parse(results[3].stdout)).toHaveLength(3);
  expect(JSON.parse(results[4].stdout)).toHaveLength(1);
  expect(JSON.parse(results[5].stdout)).toHaveLength(2);

  const store = DirectoryStore.open(data);
  try {
    const count = (table: string) => (store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    expect((await store.listMailboxes()).map((m) => m.identity)).toEqual(['claire@contoso.com', 'david@contoso.com', 'tony@contoso.com']);
    expect(count('mailboxes')).toBe(3);
    expect(count('pin_history')).toBe(3);
    expect(count('dial_plans')).toBe(2);
    expect(count('ip_gateways')).toBe(3);
    expect(count('mailbox_policies')).toBe(2);
    expect(count('conferencing_users')).toBe(2);
    expect(count('meetings')).toBe(2);
    expect(count('conferencing_tenant')).toBe(1);
    expect(store.db.prepare(`SELECT count(*) AS n FROM meta WHERE key = 'imported_at'`).get()).toEqual({ n: 1 });
  } finally {
    await store.close();
  }
});

test('8 concurrent writers, each changing something different, and 4 concurrent readers all succeed; every change is kept', async () => {
  const dir = tempDir('va-conc-write-');
  made.push(dir);
  const data = path.join(dir, 'data');
  const config = writeConfig(dir);
  const g = ['--data', data, '--config', config];
  // Import once, so that the processes below contend on writes, not on the first import.
  (await openApp({ config, data })).close();

  const writers = [
    ['Set-UMMailbox', '-Identity', 'tony@contoso.com', '-UMSMSNotificationOption', 'VoiceMailAndMissedCalls'],
    ['Set-UMMailbox', '-Identity', 'david@contoso.com', '-MobileNumber', '+14255550777'],
    ['Set-UMMailbox', '-Identity', 'claire@contoso.com', '-DisplayName', 'Claire D.'],
    ['Set-UMMailboxPIN', '-Identity', 'tony@contoso.com', '-Pin', '246813', '-SendEmail', '$false', '-PinExpired', '$false'],
    ['Set-UMMailboxPIN', '-Identity', 'david@contoso.com', '-Pin', '975318', '-SendEmail', '$false'],
    ['Set-UMMailboxPIN', '-Identity', 'claire@contoso.com', '-Pin', '826451', '-SendEmail', '$false', '-PinExpired', '$false'],
    ['Set-UMIPGateway', '-Identity', 'gw2', '-Port', '5090', '-Status', 'NoNewCalls'],
    ['Set-UMMailboxPolicy', '-Identity', 'Contoso-Paris-Policy', '-PINHistoryCount', '7'],
  ];
  const readers = Array.from({ length: 4 }, () => ['Get-UMMailboxPIN', '--json']);
  const results = await Promise.all([...writers, ...readers].map((args) => cli([...args, ...g])));
  expect(describeFailures(results)).toBe('');
  for (const r of results.slice(writers.length)) {
    const list = JSON.parse(r.stdout) as { UserID: string }[];
    expect(list.map((s) => s.UserID)).toEqual(['claire@contoso.com', 'david@contoso.com', 'tony@contoso.com']);
  }

  const app = await openApp({ config, data });
  try {
    const tony = await app.store.getMailbox('tony@contoso.com');
    const david = await app.store.getMailbox('david@contoso.com');
    const claire = await app.store.getMailbox('claire@contoso.com');
    expect(tony.smsNotificationOption).toBe('VoiceMailAndMissedCalls');
    expect(tony.pinExpired).toBe(false);
    expect(david.mobileNumber).toBe('+14255550777');
    expect(david.pinExpired).toBe(true);
    expect(claire.displayName).toBe('Claire D.');
    expect(claire.pinExpired).toBe(false);
    expect(await app.store.getGateway('gw2')).toMatchObject({ port: 5090, status: 'NoNewCalls' });
    expect((await app.store.listGateways()).map((x) => x.name)).toEqual(['gw1', 'gw2', 'gw-paris']);
    expect((await app.store.getPolicy('Contoso-Paris-Policy')).pinHistoryCount).toBe(7);
    expect(await app.store.pinHistory('tony@contoso.com', 20)).toHaveLength(2);
    expect((await app.pins.signIn('tony@contoso.com', '246813')).outcome).toBe('ok');
    expect((await app.pins.signIn('david@contoso.com', '975318')).outcome).toBe('ok');
    expect((await app.pins.signIn('claire@contoso.com', '826451')).outcome).toBe('ok');
  } finally {
    app.close();
  }
  // -SendEmail $false everywhere: no mail.
  expect(existsSync(path.join(data, 'outbox'))).toBe(false);
});
