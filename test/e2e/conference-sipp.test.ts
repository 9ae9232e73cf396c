/**
 * The meeting walk-through of docs/conferencing.md with SIPp (issue 6): two SIPp participants (`sipp/conference-participant.xml`)
 * call the conferencing number, type the conference ID as RFC 4733 digits and wait in the lobby while "talking"
 * (rtp_stream, a tone each); a SIPp organizer (`sipp/conference-organizer.xml`) types the conference ID, `*` and the
 * leader PIN, and talks in the meeting for 15 s. SIPp cannot tell what it hears, so the server's side is looked at:
 * the lobby callers heard the music on hold, the bridge had the three of them, each was heard by the others (frames
 * of its audio went into the mix), and every call ended by its own BYE with the result `left`.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConferenceBridge } from '../../src/media/conference-bridge';
import { sineTone } from '../../src/media/conference-tones';
import { encodeG711 } from '../../src/media/g711';
import { tempDir } from '../helpers';
import { expectSippSuccess, heardIds, sippCall, startIvrServer, type IvrServer } from './helpers/ivr-server';

jest.setTimeout(120_000);

const ROOM = '4455667';
let t: IvrServer;
let dir: string;

beforeAll(async () => {
  t = await startIvrServer();
  dir = tempDir('va-e2e-conf-sipp-');
});
afterAll(async () => {
  await t?.stop();
  if (dir && !process.env.E2E_KEEP) rmSync(dir, { recursive: true, force: true });
});

/** A working directory for one SIPp with its talking file (raw G.711 mu-law of a tone). */
function sippDir(name: string, file: string, hz: number): string {
  const d = path.join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(path.join(d, file), encodeG711(sineTone(hz, 10_000, 6000), 0));
  return d;
}

test('two SIPp participants wait in the lobby; the SIPp organizer starts the meeting with the leader PIN; all three are in the mix', async () => {
  const service = '14255550199';
  const p1 = sippCall(t, 'conference-participant.xml', { service, cwd: sippDir('p1', 'participant.ulaw', 1800), timeoutS: 80 });
  const p2 = sippCall(t, 'conference-participant.xml', { service, cwd: sippDir('p2', 'participant.ulaw', 2400), timeoutS: 80 });
  const inLobby = () => t.calls.filter((c) => c.channel.heard.some((h) => h.id === 'tone:music-on-hold')).length;
  await t.until(() => inLobby() === 2, 30_000, 'two SIPp participants in the lobby');
  const org = sippCall(t, 'conference-organizer.xml', { service, cwd: sippDir('org', 'organizer.ulaw', 1000), timeoutS: 60 });
  await t.until(() => ConferenceBridge.find(t.server.media, ROOM)?.size === 3, 30_000, 'three SIPp callers in the meeting');
  await new Promise((r) => setTimeout(r, 5_000));
  const stats = ConferenceBridge.find(t.server.media, ROOM)!.stats();
  // Each of them talks: 5 s in the meeting is about 250 frames, each one's audio went into the others' mix.
  expect(stats.participants.map((p) => p.framesHeard > 150)).toEqual([true, true, true]);

  const runs = await Promise.all([p1, p2, org]);
  for (const run of runs) expectSippSuccess(t, run);
  await t.until(() => t.calls.length === 3 && t.calls.every((c) => c.record !== null), 15_000, 'the three calls to end');
  const byRole = (role: 'organizer' | 'participant') =>
    t.calls.filter((c) => c.channel.events.some((e) => e.type === 'conference' && e.role === role));
  expect(byRole('participant')).toHaveLength(2);
  expect(byRole('organizer')).toHaveLength(1);
  for (const c of byRole('participant')) expect(heardIds(c)).toEqual(expect.arrayContaining(['conf-welcome', 'conf-organizer-question', 'conf-lobby', 'tone:music-on-hold', 'conf-joining']));
  expect(heardIds(byRole('organizer')[0])).toEqual(expect.arrayContaining(['conf-organizer-question', 'conf-enter-leader-pin', 'conf-joining']));
  expect(t.calls.map((c) => c.record!.result)).toEqual(['left', 'left', 'left']);
  expect(ConferenceBridge.find(t.server.media, ROOM)).toBeUndefined();
  expect(t.server.runtime.meetings.isStarted(ROOM)).toBe(false);
});
