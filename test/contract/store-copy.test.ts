/**
 * Moving from one machine to several: `copySqliteToPostgres` (the `copy-store` command) copies a data folder's SQLite
 * store into an empty PostgreSQL database, PIN state, history, messages and the queue included, and refuses a target
 * that already holds a directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startPostgres, type RunningPostgres } from '../../bench/servers/postgres-server';
import { loadDirectory } from '../../src/config/load';
import { DirectoryStore } from '../../src/directory/store';
import { PostgresStore } from '../../src/directory/postgres/postgres-store';
import { copySqliteToPostgres } from '../../src/directory/postgres/store-copy';
import { main } from '../../src/cli/main';
import { captureIo } from '../helpers';

let pg: RunningPostgres;
let dir: string;
beforeAll(async () => {
  pg = await startPostgres();
  dir = mkdtempSync(path.join(tmpdir(), 'va-copy-'));
}, 60_000);
afterAll(async () => {
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

const TONY = 'tony@contoso.com';

test('a used SQLite store arrives whole in PostgreSQL; a second copy is refused and changes nothing', async () => {
  const data = path.join(dir, 'data');
  const sqlite = DirectoryStore.open(data, { pinHashCost: 4 });
  const { directory, path: source } = loadDirectory();
  await sqlite.importDirectory(directory, source);
  await sqlite.setPinHash(TONY, 'changed-hash', { expired: false, lockedOut: false });
  await sqlite.updateLogonFailures(TONY, () => ({ failures: 2 }));
  await sqlite.setLockedOut('claire@contoso.com', true);
  const message = await sqlite.addVoiceMessage({ identity: TONY, caller: '+14255550123', receivedAt: 1234, durationMs: 3000, urgent: true, audioFile: '/shared/recordings/m.wav' });
  await sqlite.addMissedCall(TONY, '+14255550124');
  await sqlite.updatePolicy('Contoso-Policy', { minPinLength: 7 });
  await sqlite.setGatewayOrder(['gw2']);
  const queued = await sqlite.notifications.add('sms', TONY, { to: '+14255550125', text: 'You have a new voice message' });
  await sqlite.notifications.claim(queued.id, 'old-instance', Date.now() + 60_000, Date.now());
  await sqlite.mwiDeliveries.delivered(TONY, '1/0 (1/0)', 1234);
  await sqlite.admin.addApiKey({ name: 'ops', role: 'UM Management', keyHash: 'f'.repeat(64), createdAt: 1000 });
  await sqlite.admin.addAuditEntry({ at: 2000, who: 'ops', address: '127.0.0.1', action: 'Set-UMMailboxPIN', target: TONY, parameters: { SendEmail: false }, succeeded: true, errorCode: null });
  const expected = {
    mailboxes: await sqlite.listMailboxes(),
    history: await sqlite.pinHistory(TONY, 20),
    messages: await sqlite.listVoiceMessages(TONY),
    missed: await sqlite.listMissedCalls(TONY),
    gateways: (await sqlite.listGateways()).map((g) => g.name),
    policy: await sqlite.getPolicy('Contoso-Policy'),
    snapshot: await sqlite.importedSnapshot(),
  };
  await sqlite.close();

  const url = await pg.createDatabase('copy');
  const report = await copySqliteToPostgres(data, url);
  expect(report).toMatchObject({ mailboxes: expected.mailboxes.length, voice_messages: 1, missed_calls: 1, notifications: 1, mwi_deliveries: 1, api_keys: 1, admin_audit_log: 1 });

  const target = await PostgresStore.open(url, { pinHashCost: 4 });
  try {
    expect(await target.listMailboxes()).toEqual(expected.mailboxes);
    expect(await target.getMailbox(TONY)).toMatchObject({ pinHash: 'changed-hash', logonFailures: 2 });
    expect((await target.getMailbox('claire@contoso.com')).lockedOut).toBe(true);
    expect(await target.pinHistory(TONY, 20)).toEqual(expected.history);
    expect(await target.listVoiceMessages(TONY)).toEqual(expected.messages);
    expect(await target.listMissedCalls(TONY)).toEqual(expected.missed);
    expect((await target.listGateways()).map((g) => g.name)).toEqual(expected.gateways);
    expect(await target.getPolicy('Contoso-Policy')).toEqual(expected.policy);
    expect(await target.importedSnapshot()).toEqual(expected.snapshot);
    expect(await target.admin.findApiKeyByHash('f'.repeat(64))).toMatchObject({ name: 'ops', role: 'UM Management' });
    expect(await target.admin.addApiKey({ name: 'second', role: 'View-Only', keyHash: 'e'.repeat(64), createdAt: 3000 })).toMatchObject({ name: 'second' });
    expect(await target.admin.searchAuditLog({})).toEqual([expect.objectContaining({ who: 'ops', succeeded: true, parameters: { SendEmail: false } })]);
    expect(await target.isImported()).toBe(true);
    // The queue row is there, its old claim released; a new row gets a new id.
    expect(await target.notifications.get(queued.id)).toMatchObject({ status: 'pending', claimedBy: null, identity: TONY });
    expect((await target.notifications.add('mail', TONY, {})).id).toBeGreaterThan(queued.id);
    expect(await target.mwiDeliveries.lastDelivered(TONY)).toBe('1/0 (1/0)');
    expect(await target.deleteVoiceMessage(TONY, message.id)).toMatchObject({ audioFile: '/shared/recordings/m.wav' });
    await target.setPinHash(TONY, 'after-copy', { expired: false, lockedOut: false });
    expect((await target.pinHistory(TONY, 2))[0]).toBe('after-copy');
  } finally {
    await target.close();
  }

  await expect(copySqliteToPostgres(data, url)).rejects.toMatchObject({ code: 'VA_ERR_ALREADY_EXISTS' });
  await expect(copySqliteToPostgres(path.join(dir, 'empty'), await pg.createDatabase('copy2'))).rejects.toMatchObject({ code: 'VA_ERR_NOT_FOUND' });
}, 60_000);

test('voice-access copy-store --to URL: the command prints what it copied, never the password; a bad command line is 2', async () => {
  const data = path.join(dir, 'cli-data');
  const sqlite = DirectoryStore.open(data, { pinHashCost: 4 });
  const { directory, path: source } = loadDirectory();
  await sqlite.importDirectory(directory, source);
  await sqlite.close();
  const url = (await pg.createDatabase('copy_cli')).replace('postgres@', 'postgres:pw-not-shown@');
  let io = captureIo();
  expect(await main(['copy-store', '--to', url, '--data', data, '--json'], io)).toBe(0);
  const out = JSON.parse(io.stdout);
  expect(out).toMatchObject({ From: path.join(data, 'voice-access.db'), mailboxes: 3 });
  expect(out.To).toMatch(/^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/copy_cli_/);
  expect(io.stdout + io.stderr).not.toContain('pw-not-shown');
  io = captureIo();
  expect(await main(['copy-store', '--to', url, '--data', data], io)).toBe(1);
  expect(io.stderr).toMatch(/^VA_ERR_ALREADY_EXISTS: postgresql:\/\/postgres@/);
  expect(io.stderr).not.toContain('pw-not-shown');
  io = captureIo();
  expect(await main(['copy-store', '--data', data], io)).toBe(2);
  expect(io.stderr).toContain('needs --to');
}, 60_000);
