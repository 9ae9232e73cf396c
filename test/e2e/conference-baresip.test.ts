/**
 * A meeting held by three real phones (issue 6, "done when"): two baresip participants and a baresip organizer call
 * the conferencing number of the running server and type the conference ID (and the organizer the leader PIN) as
 * RFC 4733 digits when the IVR asks. Each phone's microphone is a WAV: the first participant says a 1.8 kHz tone, the
 * organizer a 1 kHz tone, the second participant nothing. What each phone heard (baresip's `sndfile` dump of the
 * decoded audio) is examined with Goertzel: the participants heard the music on hold in the lobby; each phone heard
 * the others' tones and not its own.
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { ConferenceBridge } from '../../src/media/conference-bridge';
import { sineTone } from '../../src/media/conference-tones';
import { readWavPcm } from '../../src/media/wav';
import { tempDir } from '../helpers';
import { rms } from './helpers/audio';
import { BaresipPhone } from './helpers/baresip';
import { describeCall, dialUri, type IvrServer, type ObservedCall, startIvrServer } from './helpers/ivr-server';
import { musicBlocks, toneBlocks } from './helpers/tones';

jest.setTimeout(90_000);

const ROOM = '4455667';
let t: IvrServer;
let dir: string;

beforeAll(async () => {
  t = await startIvrServer();
  dir = tempDir('va-e2e-conf-baresip-');
});
afterAll(async () => {
  await t?.stop();
  if (dir && !process.env.E2E_KEEP) rmSync(dir, { recursive: true, force: true });
});

test('two baresip participants and a baresip organizer hold a meeting: lobby music, then each hears the others', async () => {
  const dial = dialUri(t, '14255550199');
  const start = (name: string, user: string, mic?: Int16Array) =>
    BaresipPhone.start({ dir: path.join(dir, name), proxy: t.target, dial, user, quitAfterS: 80, mic });
  const phones: BaresipPhone[] = [];
  const explain = () => `${t.explain()}\n${phones.map((p) => p.log.replace(/\[\d+:\d+:\d+\] audio=[^\n]*?(?=\[|\n|$)/g, '').slice(-800)).join('\n---\n')}`;
  const fail = (e: Error) => Promise.reject(new Error(`${e.message}\n${explain()}`));
  const heard = (call: ObservedCall, id: string) => call.channel.heard.some((p) => p.id === id);
  /** The n-th call the server got, once it has heard `id`. */
  const when = async (n: number, id: string, ms = 20_000) => {
    await t.until(() => t.calls.length > n, 15_000, `call #${n + 1}`).catch(fail);
    await t.until(() => heard(t.calls[n], id), ms, `call #${n + 1} to hear ${id}`).catch(fail);
    return t.calls[n];
  };
  try {
    // The first participant: conference ID, no key at "if you are the organizer", the lobby.
    const p1 = await start('p1', '14255550130', sineTone(1800, 80_000, 6000));
    phones.push(p1);
    await when(0, 'conf-welcome');
    await p1.type(`${ROOM}#`, 300);
    await when(0, 'tone:music-on-hold');
    // The second participant.
    const p2 = await start('p2', '14255550132');
    phones.push(p2);
    await when(1, 'conf-welcome');
    await p2.type(`${ROOM}#`, 300);
    await when(1, 'tone:music-on-hold');
    await new Promise((r) => setTimeout(r, 3_000)); // some music for the record
    // The organizer: conference ID, `*`, the leader PIN.
    const org = await start('org', '14255550131', sineTone(1000, 80_000, 6000));
    phones.push(org);
    await when(2, 'conf-welcome');
    await org.type(`${ROOM}#`, 300);
    await when(2, 'conf-organizer-question');
    await org.type('*', 300);
    await when(2, 'conf-enter-leader-pin');
    await org.type('90210#', 300);
    await when(2, 'conf-joining');
    await t.until(() => ConferenceBridge.find(t.server.media, ROOM)?.size === 3, 15_000, 'three phones in the meeting').catch(fail);
    await new Promise((r) => setTimeout(r, 5_000)); // the meeting
    expect(t.calls.slice(0, 3).map((c) => c.channel.events.some((e) => e.type === 'conference'))).toEqual([true, true, true]);
    expect(t.calls[2].channel.events.find((e) => e.type === 'conference')).toMatchObject({ room: ROOM, role: 'organizer' });
  } finally {
    for (const p of phones) await p.quit();
  }
  await t.until(() => t.calls.slice(0, 3).every((c) => c.record !== null), 15_000, 'the calls to end').catch(fail);
  for (const c of t.calls.slice(0, 3)) expect({ why: describeCall(c), result: c.record!.result }).toEqual({ why: describeCall(c), result: 'left' });

  // What each phone heard.
  const [p1, p2, org] = phones.map((p) => {
    const files = p.heardFiles();
    expect(files).toHaveLength(1);
    return readWavPcm(files[0]);
  });
  const measured = {
    p1: { music: musicBlocks(p1), tone1000: toneBlocks(p1, 1000), tone1800: toneBlocks(p1, 1800) },
    p2: { music: musicBlocks(p2), tone1000: toneBlocks(p2, 1000), tone1800: toneBlocks(p2, 1800) },
    org: { tone1000: toneBlocks(org, 1000), tone1800: toneBlocks(org, 1800) },
  };
  if (process.env.E2E_DEBUG) console.log(measured);
  // The lobby's music: real sound, the chords of music-on-hold.wav (a second of it at least).
  expect(rms(p1)).toBeGreaterThan(300);
  expect(measured.p1.music).toBeGreaterThan(50);
  expect(measured.p2.music).toBeGreaterThan(50);
  // In the meeting (5 s, 250 blocks): each phone heard the others' tones for seconds, and never its own.
  expect(measured.p1.tone1000).toBeGreaterThan(100);
  expect(measured.p2.tone1000).toBeGreaterThan(100);
  expect(measured.p2.tone1800).toBeGreaterThan(100);
  expect(measured.org.tone1800).toBeGreaterThan(100);
  expect(measured.p1.tone1800).toBe(0);
  expect(measured.org.tone1000).toBe(0);
});
