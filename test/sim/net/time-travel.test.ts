/**
 * Time travel in the store (scenarios over the network: `start: 61d`, `advance:`): every stored time moves back by
 * the amount, in one transaction, and the schema has no time column (`*_at`, `*_until`, `at`) the list misses.
 */
import * as path from 'node:path';
import { openApp } from '../../../src/app';
import { STORED_META_TIMES, STORED_TIMES } from '../../../src/directory/time-travel';
import { sqliteOf, tempDir, writeConfig } from '../../helpers';

const DAY = 86_400_000;

test('every column of the schema that holds a time is moved', async () => {
  const dir = tempDir('va-tt-');
  const app = await openApp({ config: writeConfig(dir), data: path.join(dir, 'data') });
  try {
    const db = sqliteOf(app).db;
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[];
    const timeColumns: string[] = [];
    for (const { name } of tables) {
      for (const c of db.prepare(`PRAGMA table_info(${name})`).all() as { name: string }[]) {
        if (c.name === 'at' || c.name.endsWith('_at') || c.name.endsWith('_until')) timeColumns.push(`${name}.${c.name}`);
      }
    }
    expect(timeColumns.sort()).toEqual(STORED_TIMES.map((t) => `${t.table}.${t.column}`).sort());
    expect(STORED_META_TIMES).toContain('imported_at');
  } finally {
    await app.close();
  }
});

test('a PIN set now is 61 days old after travelling 61 days; messages and missed calls move too', async () => {
  const dir = tempDir('va-tt-');
  const app = await openApp({ config: writeConfig(dir), data: path.join(dir, 'data') });
  try {
    const store = app.store;
    const david = await store.getMailbox('david@contoso.com');
    expect((await store.pinStatus(david)).PinExpired).toBe(false);
    await store.addVoiceMessage({ identity: david.identity, caller: '+1', receivedAt: 10 * DAY, durationMs: 1000, urgent: false, audioFile: '/x.wav' });
    await store.addMissedCall(david.identity, null);
    const missedAt = (await store.listMissedCalls(david.identity))[0].at;
    const imported = Number(await store.meta('imported_at'));

    const rows = await app.timeTravel(61 * DAY);
    expect(rows).toBeGreaterThan(3);
    const after = await store.getMailbox('david@contoso.com');
    expect(after.pinSetAt).toBe(david.pinSetAt - 61 * DAY);
    expect((await store.pinStatus(after)).PinExpired).toBe(true); // PINLifetime 60 days
    expect((await store.listVoiceMessages(david.identity))[0].receivedAt).toBe(10 * DAY - 61 * DAY);
    expect((await store.listMissedCalls(david.identity))[0].at).toBe(missedAt - 61 * DAY);
    expect(Number(await store.meta('imported_at'))).toBe(imported - 61 * DAY);
    expect(await app.timeTravel(0)).toBe(0);
  } finally {
    await app.close();
  }
});

test('claims made before travelling (a text being sent, a lamp being notified) have run out after it', async () => {
  const dir = tempDir('va-tt-');
  const app = await openApp({ config: writeConfig(dir), data: path.join(dir, 'data') });
  try {
    const now = app.store.now();
    const queue = app.store.notifications;
    const row = await queue.add('sms', 'david@contoso.com', { to: '+14255550112', text: 'x' });
    expect(await queue.claim(row.id, 'server', now + 15 * 60_000, now)).toBeDefined();
    const mwi = app.store.mwiDeliveries;
    expect(await mwi.claim('david@contoso.com', 'server', now + 11 * 60_000, now)).toBe(true);
    // Before travelling, another process must leave both alone.
    expect(await queue.claim(row.id, 'simulator', now + 15 * 60_000, now)).toBeUndefined();
    expect(await mwi.claim('david@contoso.com', 'simulator', now + 11 * 60_000, now)).toBe(false);
    await app.timeTravel(DAY);
    expect((await queue.get(row.id))!.claimedUntil).toBe(now + 15 * 60_000 - DAY);
    expect(await queue.claim(row.id, 'simulator', now + 15 * 60_000, now)).toBeDefined();
    expect(await mwi.claim('david@contoso.com', 'simulator', now + 11 * 60_000, now)).toBe(true);
  } finally {
    await app.close();
  }
});
