/**
 * The SQLite store's transactions around asynchronous work (`rehearse` for Import-Directory -WhatIf, `atomically`
 * for Import-Directory): everything inside is one transaction; a rehearsal leaves nothing, an atomic change leaves
 * all or (when it throws) nothing, and a repository call that fails inside rolls back only its own change. Another
 * connection (a server sharing the data folder) sees nothing until the commit.
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { openApp, type App } from '../../src/app';
import { DirectoryStore, SETTINGS_RECHECK_MS } from '../../src/directory/store';
import type { DialPlan } from '../../src/ports/store';
import { tempDir, writeConfig } from '../helpers';

const plan = (name: string): DialPlan => ({
  name,
  numberOfDigitsInExtension: 3,
  accessNumbers: [],
  voipSecurity: 'Unsecured',
  logonFailuresBeforeDisconnect: 3,
  inputFailuresBeforeDisconnect: 3,
  maxRecordingDurationMinutes: 20,
  recordingIdleTimeoutSeconds: 5,
  defaultLanguage: 'en-US',
});

let dir: string;
let app: App;
let other: DirectoryStore;
const names = async () => (await app.store.listDialPlans()).map((d) => d.name);

beforeEach(async () => {
  dir = tempDir('va-tx-');
  app = await openApp({ config: writeConfig(dir), data: path.join(dir, 'data') });
  other = DirectoryStore.open(path.join(dir, 'data'));
});

afterEach(async () => {
  await other.close();
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a rehearsal runs every change and keeps none', async () => {
  const seen = await app.store.rehearse(async (s) => {
    await s.addDialPlan(plan('Rehearsed-DP'));
    await new Promise((r) => setImmediate(r)); // real asynchronous work inside
    return (await s.listDialPlans()).map((d) => d.name);
  });
  expect(seen).toContain('Rehearsed-DP');
  expect(await names()).not.toContain('Rehearsed-DP');
});

test('an atomic change keeps everything once it resolves; another connection sees it only then', async () => {
  await app.store.atomically(async (s) => {
    await s.addDialPlan(plan('First-DP'));
    await new Promise((r) => setImmediate(r));
    expect((await other.listDialPlans()).map((d) => d.name)).not.toContain('First-DP');
    await s.addDialPlan(plan('Second-DP'));
  });
  expect(await names()).toEqual(expect.arrayContaining(['First-DP', 'Second-DP']));
  await new Promise((r) => setTimeout(r, SETTINGS_RECHECK_MS + 1)); // the other connection's settings cache looks again
  expect((await other.listDialPlans()).map((d) => d.name)).toEqual(expect.arrayContaining(['First-DP', 'Second-DP']));
});

test('an atomic change that throws halfway keeps nothing', async () => {
  await expect(
    app.store.atomically(async (s) => {
      await s.addDialPlan(plan('Kept-DP'));
      await s.updatePolicy('Contoso-Policy', { minPinLength: 2 }); // below the minimum: VA_ERR_INVALID_SETTING
    }),
  ).rejects.toMatchObject({ code: 'VA_ERR_INVALID_SETTING' });
  expect(await names()).not.toContain('Kept-DP');
  // The store is usable afterwards: the transaction is over.
  await app.store.addDialPlan(plan('After-DP'));
  await new Promise((r) => setTimeout(r, SETTINGS_RECHECK_MS + 1));
  expect((await other.listDialPlans()).map((d) => d.name)).toContain('After-DP');
});

test('a repository call failing inside an atomic change rolls back only itself', async () => {
  await app.store.atomically(async (s) => {
    await s.addDialPlan(plan('One-DP'));
    await expect(s.addDialPlan(plan('One-DP'))).rejects.toMatchObject({ code: 'VA_ERR_ALREADY_EXISTS' });
    await s.addDialPlan(plan('Two-DP'));
  });
  expect(await names()).toEqual(expect.arrayContaining(['One-DP', 'Two-DP']));
});
