/**
 * The store contract: what every implementation of the store ports (`src/ports/store/`) must do, run on SQLite
 * (`DirectoryStore`, the embedded default) and on PostgreSQL (`PostgresStore`, several machines) by
 * `store.contract.test.ts`. Each case opens fresh stores on an empty database with the demo directory imported;
 * `open()` called twice gives two connections to the same database, as two instances would have.
 */
import { loadDirectory } from '../../src/config/load';
import { hashPin } from '../../src/domain/pin-hash';
import type { OpenedStore } from '../../src/directory/opened-store';
import { PinService } from '../../src/services/pin-service';

/** Opens stores on one database. */
export interface StoreHarness {
  /** Another store on the same database (a second instance). */
  open(): Promise<OpenedStore>;
  /** Closes what `open` opened and removes the database. */
  dispose(): Promise<void>;
}

const TONY = 'tony@contoso.com';
const DAVID = 'david@contoso.com';

/** Waits (bounded) for `pred`. */
async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The error code a promise rejects with (or 'resolved'). */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return String((err as { code?: unknown }).code ?? (err as Error).message);
  }
}

/**
 * Registers the contract's cases for one database.
 * @param makeHarness a new empty database per case
 */
export function describeStoreContract(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`store contract: ${name}`, () => {
    let h: StoreHarness;
    let store: OpenedStore;
    const { directory, path: source } = loadDirectory();

    beforeEach(async () => {
      h = await makeHarness();
      store = await h.open();
      expect(await store.isImported()).toBe(false);
      expect(await store.importDirectory(directory, source)).toBe(true);
    }, 30_000);

    afterEach(async () => {
      await h?.dispose();
    });

    test('the first import happens once, also when two instances start at once', async () => {
      expect(await store.importDirectory(directory, source)).toBe(false);
      expect(await store.isImported()).toBe(true);
      expect(await store.meta('organization')).toBe('Contoso');
      const other = await h.open();
      expect(await other.importDirectory(directory, source)).toBe(false);
      expect((await other.snapshotOfStore()).mailboxes.map((m) => m.identity)).toEqual((await store.importedSnapshot())!.mailboxes.map((m) => m.identity).sort());
    });

    test('mailboxes: found case-insensitively, by extension in a dial plan, by caller number; enable and disable', async () => {
      expect((await store.getMailbox('TONY@Contoso.com')).identity).toBe(TONY);
      expect(await store.findMailbox('nobody@contoso.com')).toBeUndefined();
      expect(await codeOf(store.getMailbox('nobody@contoso.com'))).toBe('VA_ERR_NOT_FOUND');
      expect((await store.findMailboxByExtension('51234', 'Contoso-DP'))?.identity).toBe(TONY);
      expect(await store.findMailboxByExtension('51234', 'Contoso-Paris')).toBeUndefined();
      const tony = await store.getMailbox(TONY);
      expect(tony).toMatchObject({ dialPlan: 'Contoso-DP', policy: 'Contoso-Policy', lockedOut: false, logonFailures: 0 });
      const pinHash = await hashPin('847261', 4);
      expect(await codeOf(store.enableMailbox({ identity: 'new@contoso.com', displayName: 'New', extension: '123', policy: 'Contoso-Policy', pinHash, pinExpired: true }))).toBe(
        'VA_ERR_INVALID_SETTING',
      );
      expect(await codeOf(store.enableMailbox({ identity: 'new@contoso.com', displayName: 'New', extension: '51234', policy: 'Contoso-Policy', pinHash, pinExpired: true }))).toBe(
        'VA_ERR_ALREADY_EXISTS',
      );
      const added = await store.enableMailbox({ identity: 'new@contoso.com', displayName: 'New', extension: '51299', policy: 'Contoso-Policy', pinHash, pinExpired: true });
      expect(added).toMatchObject({ firstTimeUser: true, pinExpired: true, dialPlan: 'Contoso-DP' });
      expect(await store.pinHistory('new@contoso.com', 5)).toEqual([pinHash]);
      const changed = await store.updateMailbox('NEW@contoso.com', { displayName: 'Newer', mobileNumber: '14255550199', firstTimeUser: false, language: 'fr-FR' });
      expect(changed).toMatchObject({ displayName: 'Newer', mobileNumber: '14255550199', firstTimeUser: false, language: 'fr-FR' });
      expect((await store.findMailboxByCaller('+14255550199'))?.identity).toBe('new@contoso.com');
      expect((await store.findMailboxByCaller('+151299'))?.identity).toBeUndefined();
      expect(await codeOf(store.updateMailbox('new@contoso.com', { policy: 'Contoso-Paris-Policy' }))).toBe('VA_ERR_INVALID_SETTING');
      await store.disableMailbox('new@contoso.com');
      expect(await store.findMailbox('new@contoso.com')).toBeUndefined();
      expect(await codeOf(store.disableMailbox('new@contoso.com'))).toBe('VA_ERR_NOT_FOUND');
    });

    test('PIN state: a new PIN clears failures and joins the history (20 kept); an automatic reset never lifts a lockout', async () => {
      await store.updateLogonFailures(TONY, (m) => ({ failures: m.logonFailures + 2 }));
      expect((await store.getMailbox(TONY)).logonFailures).toBe(2);
      for (let i = 0; i < 22; i++) await store.setPinHash(TONY, `hash-${i}`, { expired: false, lockedOut: false });
      const m = await store.getMailbox(TONY);
      expect(m).toMatchObject({ pinHash: 'hash-21', logonFailures: 0, lockedOut: false, pinExpired: false });
      expect(await store.pinHistory(TONY, 3)).toEqual(['hash-21', 'hash-20', 'hash-19']);
      expect(await store.pinHistory(TONY, 100)).toHaveLength(20);
      expect(await store.replacePinHash(TONY, 'auto-1', { expired: true, ifPinHash: 'hash-0' })).toBe('pin-changed');
      expect(await store.replacePinHash(TONY, 'auto-1', { expired: true, ifPinHash: 'hash-21' })).toBe('replaced');
      expect(await store.getMailbox(TONY)).toMatchObject({ pinHash: 'auto-1', pinExpired: true });
      await store.setLockedOut(TONY, true);
      expect(await store.replacePinHash(TONY, 'auto-2', { expired: true, ifPinHash: 'auto-1' })).toBe('locked');
      expect((await store.getMailbox(TONY)).pinHash).toBe('auto-1');
      expect((await store.pinStatus(await store.getMailbox(TONY))).LockedOut).toBe(true);
      await store.setLockedOut(TONY, false);
      expect(await store.getMailbox(TONY)).toMatchObject({ lockedOut: false, logonFailures: 0 });
      await store.updateLogonFailures(TONY, () => ({ failures: 1 }));
      await store.clearLogonFailures(TONY);
      expect((await store.getMailbox(TONY)).logonFailures).toBe(0);
    });

    test('a failure-count update handed a stale row (`seen`) loses nothing: decide runs again on the counts written since', async () => {
      const seen = await store.getMailbox(TONY);
      // Another call (or instance) counts two failures after `seen` was read.
      const other = await h.open();
      await other.updateLogonFailures(TONY, (m) => ({ failures: m.logonFailures + 2 }));
      const decided: number[] = [];
      const out = await store.updateLogonFailures(
        TONY,
        (m) => {
          decided.push(m.logonFailures);
          return { failures: m.logonFailures + 1 };
        },
        seen,
      );
      expect(out.failures).toBe(seen.logonFailures + 3);
      expect((await store.getMailbox(TONY)).logonFailures).toBe(seen.logonFailures + 3);
      // The last decision was on the current count, whatever the adapter tried first.
      expect(decided[decided.length - 1]).toBe(seen.logonFailures + 2);
      // An up-to-date `seen` is written as is.
      const now = await store.getMailbox(TONY);
      await store.updateLogonFailures(TONY, (m) => ({ failures: m.logonFailures + 1, lockedOut: true }), now);
      expect(await store.getMailbox(TONY)).toMatchObject({ logonFailures: seen.logonFailures + 4, lockedOut: true });
    });

    test('a failure-count update handed a row whose PIN was replaced since decides on the new PIN hash, never the old', async () => {
      const seen = await store.getMailbox(TONY);
      // An administrator's reset on another instance: a new hash, and the counts as they were (0, unlocked).
      const other = await h.open();
      await other.setPinHash(TONY, 'hash-after-reset', { expired: false, lockedOut: false });
      expect(await other.getMailbox(TONY)).toMatchObject({ logonFailures: seen.logonFailures, lockedOut: seen.lockedOut });
      const out = await store.updateLogonFailures(TONY, (m) => ({ failures: m.logonFailures + 1, hash: m.pinHash }), seen);
      expect(out.hash).toBe('hash-after-reset');
      expect((await store.getMailbox(TONY)).logonFailures).toBe(seen.logonFailures + 1);
    });

    test('compare-and-set of the sign-in state: stored only while the counts, lockout and PIN hash are those seen', async () => {
      const seen = await store.getMailbox(TONY);
      // Unchanged row: a state equal to the one seen is a pure comparison; a new one is stored.
      expect(await store.compareAndSetLogonState(seen, { failures: seen.logonFailures, lockedOut: seen.lockedOut })).toBe(true);
      expect(await store.compareAndSetLogonState(seen, { failures: seen.logonFailures + 1, lockedOut: false })).toBe(true);
      expect((await store.getMailbox(TONY)).logonFailures).toBe(seen.logonFailures + 1);
      // `seen` is now stale (the count moved): nothing is written, whether the new state differs or not.
      expect(await store.compareAndSetLogonState(seen, { failures: 9, lockedOut: true })).toBe(false);
      expect(await store.compareAndSetLogonState(seen, { failures: seen.logonFailures, lockedOut: seen.lockedOut })).toBe(false);
      expect(await store.getMailbox(TONY)).toMatchObject({ logonFailures: seen.logonFailures + 1, lockedOut: false });
      // Another instance replaces the PIN and leaves the counts as they were: the old row no longer matches.
      const fresh = await store.getMailbox(TONY);
      const other = await h.open();
      await other.replacePinHash(TONY, 'hash-by-other', { expired: false, ifPinHash: fresh.pinHash });
      expect(await store.compareAndSetLogonState(fresh, { failures: 0, lockedOut: false })).toBe(false);
      expect(await store.compareAndSetLogonState(fresh, { failures: fresh.logonFailures, lockedOut: false })).toBe(false);
      expect(await store.getMailbox(TONY)).toMatchObject({ logonFailures: fresh.logonFailures, pinHash: 'hash-by-other' });
      // A mailbox that is gone never matches.
      expect(await store.compareAndSetLogonState({ ...fresh, identity: 'nobody@contoso.com' }, { failures: 0, lockedOut: false })).toBe(false);
    });

    test('a sign-in handed the row read at the extension prompt checks the PIN in force now', async () => {
      const mails = { send: async () => undefined };
      const pins = new PinService(store, mails);
      const admin = new PinService(await h.open(), mails);
      await admin.setPin(TONY, { pin: '582947', pinExpired: false, sendEmail: false });
      const seen = await store.getMailbox(TONY);
      // The administrator resets it again while the caller types the PIN they knew.
      await admin.setPin(TONY, { pin: '691358', pinExpired: false, sendEmail: false });
      expect((await pins.signIn(TONY, '582947', seen)).outcome).toBe('failed');
      expect((await pins.signIn(TONY, '691358', seen)).outcome).toBe('ok');
      // A row read while locked is read again: an administrator may have unlocked it since.
      await store.setLockedOut(TONY, true);
      const locked = await store.getMailbox(TONY);
      await admin.setPin(TONY, { pin: '730516', pinExpired: false, lockedOut: false, sendEmail: false });
      expect((await pins.signIn(TONY, '730516', locked)).outcome).toBe('ok');
    });

    test('30 concurrent sign-ins with wrong PINs over two instances, each handed the row of its extension lookup: exactly MaxLogonAttempts (15) answered', async () => {
      const mails = { send: async () => undefined };
      const other = await h.open();
      const services = [new PinService(store, mails), new PinService(other, mails)];
      await services[0].setPin(TONY, { pin: '582947', pinExpired: false, sendEmail: false });
      // Every caller typed the extension before anyone typed a PIN: all hold the same row.
      const seen = await store.getMailbox(TONY);
      const wrong = Array.from({ length: 30 }, (_, i) => String(300_001 + i));
      const results = await Promise.all(wrong.map((pin, i) => services[i % 2].signIn(TONY, pin, seen)));
      const failed = results.filter((r) => r.outcome === 'failed');
      // The contoso policy: MaxLogonAttempts 15 (the automatic resets at 5 and 10 do not lower the count).
      expect({ failed: failed.length, locked: results.filter((r) => r.outcome === 'locked').length }).toEqual({ failed: 15, locked: 15 });
      expect(failed.map((r) => (r.outcome === 'failed' ? r.failures : 0)).sort((a, b) => a - b)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
      expect(await other.getMailbox(TONY)).toMatchObject({ lockedOut: true, logonFailures: 15 });
    }, 30_000);

    test('30 concurrent wrong PINs over two instances: exactly MaxLogonAttempts (6) get a guess before the lockout', async () => {
      const other = await h.open();
      const MAX = 6;
      let guesses = 0;
      const wrongPin = (s: OpenedStore) =>
        s.updateLogonFailures(TONY, (m) => {
          if (m.lockedOut) return { failures: m.logonFailures, lockedOut: true, guessed: false };
          const failures = m.logonFailures + 1;
          return { failures, lockedOut: failures >= MAX, guessed: true };
        });
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => wrongPin(i % 2 ? other : store)));
      guesses = results.filter((r) => r.guessed).length;
      expect(guesses).toBe(MAX);
      expect(await store.getMailbox(TONY)).toMatchObject({ lockedOut: true, logonFailures: MAX });
    }, 30_000);

    test('voice messages: counts for the lamp, heard and deleted, all counts at once, missed calls', async () => {
      const base = { caller: '+14255550123', durationMs: 4000, audioFile: '/recordings/x.wav' };
      const a = await store.addVoiceMessage({ ...base, identity: TONY, receivedAt: 1000, urgent: false });
      const b = await store.addVoiceMessage({ ...base, identity: TONY, receivedAt: 2000, urgent: true });
      await store.addVoiceMessage({ ...base, identity: DAVID, receivedAt: 3000, urgent: false, unheard: false });
      expect(await store.messageCounts(TONY)).toEqual({ newMessages: 2, oldMessages: 0, urgentNew: 1, urgentOld: 0 });
      expect((await store.listVoiceMessages(TONY)).map((v) => v.id)).toEqual([b.id, a.id]);
      expect(await store.setMessageHeard(TONY, b.id, true)).toBe(true);
      expect(await store.setMessageHeard(DAVID, b.id, true)).toBe(false);
      expect(await store.messageCounts(TONY)).toEqual({ newMessages: 1, oldMessages: 1, urgentNew: 0, urgentOld: 1 });
      expect((await store.listVoiceMessages(TONY)).map((v) => [v.id, v.unheard])).toEqual([
        [a.id, true],
        [b.id, false],
      ]);
      const all = await store.allMessageCounts();
      expect(all.get(DAVID)).toEqual({ newMessages: 0, oldMessages: 1, urgentNew: 0, urgentOld: 0 });
      expect(all.get('claire@contoso.com')).toEqual({ newMessages: 0, oldMessages: 0, urgentNew: 0, urgentOld: 0 });
      expect(await store.deleteVoiceMessage(TONY, a.id)).toMatchObject({ id: a.id, receivedAt: 1000, urgent: false });
      expect(await store.deleteVoiceMessage(TONY, a.id)).toBeUndefined();
      await store.addMissedCall(TONY, '+14255550111');
      await store.addMissedCall(TONY, null);
      expect((await store.listMissedCalls(TONY)).map((c) => c.caller)).toEqual([null, '+14255550111']);
    });

    test('dial plans, policies and gateways: validated changes, failover order, names unique case-insensitively', async () => {
      expect((await store.listDialPlans()).map((d) => d.name)).toEqual(['Contoso-DP', 'Contoso-Paris']);
      expect(await codeOf(store.updateDialPlan('contoso-dp', { numberOfDigitsInExtension: 4 }))).toBe('VA_ERR_INVALID_SETTING');
      expect((await store.updateDialPlan('contoso-dp', { logonFailuresBeforeDisconnect: 5 })).logonFailuresBeforeDisconnect).toBe(5);
      expect((await store.getDialPlan('CONTOSO-DP')).logonFailuresBeforeDisconnect).toBe(5);
      expect(await codeOf(store.updatePolicy('Contoso-Policy', { logonFailuresBeforePinReset: 20, maxLogonAttempts: 10 }))).toBe('VA_ERR_INVALID_SETTING');
      expect((await store.updatePolicy('contoso-policy', { minPinLength: 8 })).minPinLength).toBe(8);
      expect((await store.getPolicy('Contoso-Policy')).minPinLength).toBe(8);
      expect(await codeOf(store.newGateway({ name: 'GW1', address: '127.0.0.9', dialPlan: 'Contoso-DP' }))).toBe('VA_ERR_ALREADY_EXISTS');
      expect(await codeOf(store.newGateway({ name: 'gw9', address: '127.0.0.9', dialPlan: 'Nowhere' }))).toBe('VA_ERR_NOT_FOUND');
      await store.newGateway({ name: 'gw9', address: '127.0.0.9', dialPlan: 'contoso-dp' });
      expect((await store.getGateway('GW9')).dialPlan).toBe('Contoso-DP');
      expect((await store.listGateways()).map((g) => g.name)).toEqual(['gw1', 'gw2', 'gw-paris', 'gw9']);
      await store.setGatewayOrder(['GW9', 'gw2']);
      expect((await store.listGateways()).map((g) => g.name)).toEqual(['gw9', 'gw2', 'gw1', 'gw-paris']);
      await store.updateGateway('gw9', { name: 'gw-nine', status: 'NoNewCalls' });
      expect(await codeOf(store.updateGateway('gw-nine', { name: 'GW1' }))).toBe('VA_ERR_ALREADY_EXISTS');
      expect((await store.getGateway('gw-nine')).status).toBe('NoNewCalls');
      await store.removeGateway('gw-nine');
      expect(await codeOf(store.removeGateway('gw-nine'))).toBe('VA_ERR_NOT_FOUND');
      expect((await store.listGateways()).map((g) => g.name)).toEqual(['gw2', 'gw1', 'gw-paris']);
    });

    test('another instance sees settings changes at once (no stale cache), and its watch hears them', async () => {
      const other = await h.open();
      expect((await other.getPolicy('Contoso-Policy')).minPinLength).toBe(6);
      let heard = 0;
      const stop = other.watchOtherWriters({ clock: { now: Date.now, setTimeout, clearTimeout } as never, intervalMs: 20, onChange: () => heard++, onError: () => undefined });
      try {
        await new Promise((r) => setTimeout(r, 100));
        const before = heard;
        await other.setLockedOut(DAVID, false); // its own write: not another writer's
        await new Promise((r) => setTimeout(r, 200));
        expect(heard).toBe(before);
        await store.updatePolicy('Contoso-Policy', { minPinLength: 9 });
        await until(() => heard > before, 5_000, 'the other instance to hear the change');
        expect((await other.getPolicy('Contoso-Policy')).minPinLength).toBe(9);
      } finally {
        stop();
      }
    });

    test('conferencing: tenant settings, leader PIN hash, meetings', async () => {
      const users = await store.listConferencingUsers();
      expect(users.map((u) => u.identity)).toContain('amos.marble@contoso.com');
      const u = await store.updateConferencingUser('AMOS.MARBLE@contoso.com', { leaderPinHash: 'leader-hash', allowPstnOnlyMeetings: true });
      expect(u).toMatchObject({ identity: 'amos.marble@contoso.com', leaderPinHash: 'leader-hash', allowPstnOnlyMeetings: true });
      expect(await codeOf(store.getConferencingUser('nobody@contoso.com'))).toBe('VA_ERR_NOT_FOUND');
      const tenant = await store.getTenantSettings();
      const next = await store.updateTenantSettings({ ...tenant });
      expect(next).toEqual(tenant);
      const meetings = await store.listMeetingsOf('amos.marble@contoso.com');
      if (meetings.length) expect((await store.findMeeting(meetings[0].conferenceId))?.organizer).toBe('amos.marble@contoso.com');
      expect(await store.findMeeting('no-such-meeting')).toBeUndefined();
    });

    test('notifications queue: one of two instances wins a claim; only the holder records an attempt', async () => {
      const other = await h.open();
      const q1 = store.notifications;
      const q2 = other.notifications;
      const row = await q1.add('sms', TONY, { to: '+1', text: 'hello' });
      expect(row).toMatchObject({ status: 'pending', attempts: 0, kind: 'sms', identity: TONY });
      const now = q1.now();
      expect((await q2.due(now, 10)).map((r) => r.id)).toEqual([row.id]);
      const wins = await Promise.all([q1.claim(row.id, 'one', now + 60_000, now), q2.claim(row.id, 'two', now + 60_000, now)]);
      expect(wins.filter(Boolean)).toHaveLength(1);
      const winner = wins[0] ? 'one' : 'two';
      const loser = winner === 'one' ? 'two' : 'one';
      expect(await q2.due(now, 10)).toEqual([]);
      expect(await q1.markRetry(row.id, now + 1000, 'provider down', loser)).toBe(false);
      expect(await q1.markRetry(row.id, now + 1000, 'provider down', winner)).toBe(true);
      expect(await q2.nextDueAt()).toBe(now + 1000);
      expect(await q2.claim(row.id, loser, now + 60_000, now + 1000)).toMatchObject({ claimedBy: loser, attempts: 1 });
      await q2.markSent(row.id);
      expect((await q1.get(row.id))!).toMatchObject({ status: 'sent', attempts: 2, claimedBy: null, lastError: null });
      expect((await q1.list('sent')).map((r) => r.id)).toEqual([row.id]);
      // A claim left by an instance that died runs out, and another takes the row.
      const left = await q1.add('mail', DAVID, { subject: 'x' });
      expect(await q1.claim(left.id, 'dead', now + 500, now)).toBeDefined();
      expect(await q2.claim(left.id, 'alive', now + 60_000, now + 100)).toBeUndefined();
      expect(await q2.claim(left.id, 'alive', now + 60_000, now + 600)).toMatchObject({ claimedBy: 'alive' });
      expect(await q2.markFailed(left.id, 'gave up', 'alive')).toBe(true);
      expect((await q1.get(left.id))!.status).toBe('failed');
    });

    test('MWI delivery claims: one instance sends a change; a dead one\'s claim runs out', async () => {
      const other = await h.open();
      const [a, b] = [store.mwiDeliveries, other.mwiDeliveries];
      const wins = await Promise.all([a.claim(TONY, 'one', 5000, 1000), b.claim(TONY, 'two', 5000, 1000)]);
      expect(wins.filter(Boolean)).toHaveLength(1);
      const holder = wins[0] ? 'one' : 'two';
      expect(await a.claimedUntil(TONY)).toBe(5000);
      expect(await b.claim(TONY, holder, 9000, 2000)).toBe(true);
      expect(await a.claim(TONY, 'three', 9000, 6000)).toBe(false);
      expect(await a.claim(TONY, 'three', 12000, 9000)).toBe(true);
      await b.delivered(TONY, '1/0 (0/0)', 9500);
      expect(await a.lastDelivered(TONY)).toBe('1/0 (0/0)');
      await a.release(TONY, 'someone-else');
      expect(await a.claimedUntil(TONY)).toBe(12000);
      await a.releaseAll('three');
      expect(await a.claimedUntil(TONY)).toBeNull();
      expect(await a.lastDelivered(DAVID)).toBeNull();
    });

    test('API keys: stored by hash, unique names (case-insensitive), seen by another instance, removed', async () => {
      const other = await h.open();
      const k = await store.admin.addApiKey({ name: 'ops', role: 'UM Management', keyHash: 'a'.repeat(64), createdAt: 1000 });
      expect(k).toEqual({ id: expect.any(Number), name: 'ops', role: 'UM Management', createdAt: 1000, lastUsedAt: null });
      expect(await codeOf(other.admin.addApiKey({ name: 'OPS', role: 'View-Only', keyHash: 'b'.repeat(64), createdAt: 1001 }))).toBe('VA_ERR_ALREADY_EXISTS');
      await store.admin.addApiKey({ name: 'auditor', role: 'View-Only', keyHash: 'c'.repeat(64), createdAt: 1002 });
      expect((await other.admin.listApiKeys()).map((x) => x.name)).toEqual(['auditor', 'ops']);
      expect(await other.admin.findApiKeyByHash('a'.repeat(64))).toMatchObject({ name: 'ops', role: 'UM Management' });
      expect(await other.admin.findApiKeyByHash('d'.repeat(64))).toBeUndefined();
      await other.admin.touchApiKey(k.id, 5000);
      expect((await store.admin.findApiKeyByHash('a'.repeat(64)))!.lastUsedAt).toBe(5000);
      expect(JSON.stringify(await store.admin.listApiKeys())).not.toContain('aaaa');
      await store.admin.removeApiKey('Ops');
      expect(await other.admin.findApiKeyByHash('a'.repeat(64))).toBeUndefined();
      expect(await codeOf(store.admin.removeApiKey('ops'))).toBe('VA_ERR_NOT_FOUND');
    });

    test('admin audit log: appended by any instance, searched by cmdlet and dates, newest first, limited', async () => {
      const other = await h.open();
      const line = (at: number, action: string, succeeded = true) => ({
        at,
        who: 'ops',
        address: '127.0.0.1',
        action,
        target: TONY,
        parameters: { PinExpired: true, Sent: ['a', 'b'] },
        succeeded,
        errorCode: succeeded ? null : 'VA_ERR_PIN_POLICY',
      });
      const first = await store.admin.addAuditEntry(line(1000, 'Set-UMMailboxPIN'));
      expect(first).toEqual({ id: expect.any(Number), ...line(1000, 'Set-UMMailboxPIN') });
      await other.admin.addAuditEntry(line(2000, 'Set-UMMailboxPolicy'));
      await other.admin.addAuditEntry({ ...line(3000, 'Set-UMMailboxPIN', false), address: null, target: null, who: 'cli' });
      const all = await store.admin.searchAuditLog({});
      expect(all.map((e) => e.at)).toEqual([3000, 2000, 1000]);
      expect(all[0]).toMatchObject({ who: 'cli', address: null, target: null, succeeded: false, errorCode: 'VA_ERR_PIN_POLICY' });
      expect((await store.admin.searchAuditLog({ cmdlets: ['set-ummailboxpin'] })).map((e) => e.at)).toEqual([3000, 1000]);
      expect((await store.admin.searchAuditLog({ startDate: 1500, endDate: 3000 })).map((e) => e.at)).toEqual([3000, 2000]);
      expect((await store.admin.searchAuditLog({ resultSize: 1 })).map((e) => e.at)).toEqual([3000]);
    });

    test('rehearse: every check runs, nothing stays', async () => {
      const out = await store.rehearse(async (s) => {
        await s.updatePolicy('Contoso-Policy', { minPinLength: 10 });
        await s.newGateway({ name: 'gw-rehearsed', address: '127.0.0.8', dialPlan: 'Contoso-DP' });
        return (await s.getPolicy('Contoso-Policy')).minPinLength;
      });
      expect(out).toBe(10);
      expect((await store.getPolicy('Contoso-Policy')).minPinLength).toBe(6);
      expect((await store.listGateways()).map((g) => g.name)).not.toContain('gw-rehearsed');
      expect(await codeOf(store.rehearse(async (s) => s.updateDialPlan('nowhere', {})))).toBe('VA_ERR_NOT_FOUND');
    });
  });
}
