/**
 * The store caches settings read on every call (dial plans, gateways, policies, the conferencing tenant); a change
 * must still apply from the next read, whether this store or another connection (another process) made it.
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { openApp, type App } from '../../src/app';
import { DirectoryStore, SETTINGS_RECHECK_MS } from '../../src/directory/store';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
import { tempDir, writeConfig } from '../helpers';

describe('settings cache of the store', () => {
  let dir: string;
  let app: App;
  let other: DirectoryStore;

  beforeEach(async () => {
    dir = tempDir();
    app = await openApp({ config: writeConfig(dir), data: path.join(dir, 'data') });
    other = DirectoryStore.open(path.join(dir, 'data')); // a second connection, as a cmdlet in another process
  });

  afterEach(async () => {
    await other.close();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('reads are answered from the cache: the same object until something changes', async () => {
    const a = await app.store.getDialPlan('Contoso-DP');
    expect(await app.store.getDialPlan('contoso-dp')).toBe(a);
    expect(await app.store.getPolicy((await app.store.listPolicies())[0].name)).toBe(await app.store.getPolicy((await app.store.listPolicies())[0].name));
  });

  test("this store's own change is read back at once", async () => {
    const before = await app.store.getDialPlan('Contoso-DP');
    await app.store.updateDialPlan('Contoso-DP', { inputFailuresBeforeDisconnect: before.inputFailuresBeforeDisconnect + 1 });
    expect((await app.store.getDialPlan('Contoso-DP')).inputFailuresBeforeDisconnect).toBe(before.inputFailuresBeforeDisconnect + 1);
    expect((await app.store.listDialPlans()).find((d) => d.name === 'Contoso-DP')!.inputFailuresBeforeDisconnect).toBe(before.inputFailuresBeforeDisconnect + 1);

    const gw = (await app.store.listGateways())[0];
    await app.store.updateGateway(gw.name, { status: 'Disabled' });
    expect((await app.store.listGateways()).find((g) => g.name === gw.name)!.status).toBe('Disabled');
    await app.store.removeGateway(gw.name);
    expect((await app.store.listGateways()).some((g) => g.name === gw.name)).toBe(false);

    await app.store.updateTenantSettings({ allowAnonymousMeetingStart: !(await app.store.getTenantSettings()).allowAnonymousMeetingStart });
    expect((await app.store.getTenantSettings()).allowAnonymousMeetingStart).toBe((await other.getTenantSettings()).allowAnonymousMeetingStart);
  });

  test("another connection's change is read on the next call", async () => {
    const policy = (await app.store.listPolicies())[0];
    const pin = (await app.store.getPolicy(policy.name)).minPinLength;
    const plan = (await app.store.getDialPlan('Contoso-DP')).inputFailuresBeforeDisconnect;
    const gw = (await app.store.listGateways())[0];
    await other.updatePolicy(policy.name, { minPinLength: pin + 1 });
    await other.updateDialPlan('Contoso-DP', { inputFailuresBeforeDisconnect: plan + 2 });
    await other.updateGateway(gw.name, { status: 'NoNewCalls' });
    await pause(SETTINGS_RECHECK_MS + 1); // the other connection's commits are looked for at most once a millisecond
    expect((await app.store.getPolicy(policy.name)).minPinLength).toBe(pin + 1);
    expect((await app.store.getDialPlan('Contoso-DP')).inputFailuresBeforeDisconnect).toBe(plan + 2);
    expect((await app.store.listGateways()).find((g) => g.name === gw.name)!.status).toBe('NoNewCalls');
  });

  test('an unknown name is still an error, also after a cached miss', async () => {
    await expect(app.store.getDialPlan('Nope-DP')).rejects.toThrow(/Nope-DP/);
    await expect(app.store.getDialPlan('Nope-DP')).rejects.toThrow(/Nope-DP/);
  });

  test('callers may change the lists they get without changing the cache', async () => {
    const list = await app.store.listGateways();
    const n = list.length;
    list.pop();
    expect(await app.store.listGateways()).toHaveLength(n);
  });
});
