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

  afterEach(() => {
    other.close();
    app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('reads are answered from the cache: the same object until something changes', () => {
    const a = app.store.getDialPlan('Contoso-DP');
    expect(app.store.getDialPlan('contoso-dp')).toBe(a);
    expect(app.store.getPolicy(app.store.listPolicies()[0].name)).toBe(app.store.getPolicy(app.store.listPolicies()[0].name));
  });

  test("this store's own change is read back at once", () => {
    const before = app.store.getDialPlan('Contoso-DP');
    app.store.updateDialPlan('Contoso-DP', { inputFailuresBeforeDisconnect: before.inputFailuresBeforeDisconnect + 1 });
    expect(app.store.getDialPlan('Contoso-DP').inputFailuresBeforeDisconnect).toBe(before.inputFailuresBeforeDisconnect + 1);
    expect(app.store.listDialPlans().find((d) => d.name === 'Contoso-DP')!.inputFailuresBeforeDisconnect).toBe(before.inputFailuresBeforeDisconnect + 1);

    const gw = app.store.listGateways()[0];
    app.store.updateGateway(gw.name, { status: 'Disabled' });
    expect(app.store.listGateways().find((g) => g.name === gw.name)!.status).toBe('Disabled');
    app.store.removeGateway(gw.name);
    expect(app.store.listGateways().some((g) => g.name === gw.name)).toBe(false);

    app.store.updateTenantSettings({ allowAnonymousMeetingStart: !app.store.getTenantSettings().allowAnonymousMeetingStart });
    expect(app.store.getTenantSettings().allowAnonymousMeetingStart).toBe(other.getTenantSettings().allowAnonymousMeetingStart);
  });

  test("another connection's change is read on the next call", async () => {
    const policy = app.store.listPolicies()[0];
    const pin = app.store.getPolicy(policy.name).minPinLength;
    const plan = app.store.getDialPlan('Contoso-DP').inputFailuresBeforeDisconnect;
    const gw = app.store.listGateways()[0];
    other.updatePolicy(policy.name, { minPinLength: pin + 1 });
    other.updateDialPlan('Contoso-DP', { inputFailuresBeforeDisconnect: plan + 2 });
    other.updateGateway(gw.name, { status: 'NoNewCalls' });
    await pause(SETTINGS_RECHECK_MS + 1); // the other connection's commits are looked for at most once a millisecond
    expect(app.store.getPolicy(policy.name).minPinLength).toBe(pin + 1);
    expect(app.store.getDialPlan('Contoso-DP').inputFailuresBeforeDisconnect).toBe(plan + 2);
    expect(app.store.listGateways().find((g) => g.name === gw.name)!.status).toBe('NoNewCalls');
  });

  test('an unknown name is still an error, also after a cached miss', () => {
    expect(() => app.store.getDialPlan('Nope-DP')).toThrow(/Nope-DP/);
    expect(() => app.store.getDialPlan('Nope-DP')).toThrow(/Nope-DP/);
  });

  test('callers may change the lists they get without changing the cache', () => {
    const list = app.store.listGateways();
    const n = list.length;
    list.pop();
    expect(app.store.listGateways()).toHaveLength(n);
  });
});
