/**
 * kill -9 while messages are recorded (issue 19, "Nothing lost"): `serve` runs as a child process; 20 callers diverted
 * to david's extension leave messages at once (our SIP callers, `NetCaller`, each speaking 1 to 4.8 s, then hanging
 * up); `serve` gets SIGKILL while about half of them are still speaking; a temporary file as a crash in the middle of
 * an atomic write leaves it (`.<name>.wav.<pid>.<hex>.tmp`, half a WAV) and an abandoned FreeSWITCH raw recording are
 * there too. `serve` is started again on the same data folder: it removes the temporary files (and says how many),
 * and the store holds only complete messages: every row's WAV decodes, is whole (the RIFF sizes match the file) and
 * is as long as the row's duration; every caller who had hung up a second before the kill has a message; no temporary
 * file is left. Bounded (a hard SIGKILL timer per process); every process is stopped by PID at the end.
 * Needs `npm run build` first (the child runs `bin/voice-access.js`, i.e. `dist/`), as `npm test` does.
 */
import { readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { openApp } from '../../src/app';
import { MediaEngine } from '../../src/media/media-engine';
import { readWavPcm } from '../../src/media/wav';
import type { NetCaller } from '../../src/sim/net/net-caller';
import { findFreeSipPort } from '../../src/sip/embedded/free-port';
import { SipClient } from '../../src/sip/embedded/sip-client';
import { tempDir, writeConfig } from '../helpers';
import { divertedCall, shortGreeting, spawnServe, type ServeProcess } from './helpers/serve-process';

jest.setTimeout(60_000);

const CALLERS = 20;
/** How long caller `i` speaks before hanging up, ms. */
const speaksMs = (i: number) => 1000 + 200 * i;
/** When `serve` is killed, ms after the last caller's recording started: callers 0-9 have hung up, 10-19 speak. */
const KILL_AFTER_MS = 2_900;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Is `file` a whole WAV: RIFF size + 8 = file size, and the data chunk ends at the end of the file? */
function wholeWav(file: string): boolean {
  const b = readFileSync(file);
  if (b.length < 44 || b.toString('ascii', 0, 4) !== 'RIFF' || b.readUInt32LE(4) + 8 !== b.length) return false;
  let at = 12;
  while (at + 8 <= b.length) {
    const id = b.toString('ascii', at, at + 4);
    const size = b.readUInt32LE(at + 4);
    if (id === 'data') return at + 8 + size === b.length;
    at += 8 + size + (size % 2);
  }
  return false;
}

test('SIGKILL while 20 callers record: after a restart only complete messages, no temporary file left', async () => {
  const dir = tempDir('va-kill9-');
  const config = writeConfig(dir);
  const data = path.join(dir, 'data');
  const recordings = path.join(data, 'recordings');
  await shortGreeting(config, data, dir);
  const processes: ServeProcess[] = [];
  const callers: NetCaller[] = [];
  let client: SipClient | undefined;
  let media: MediaEngine | undefined;
  try {
    const port = await findFreeSipPort('127.0.0.1');
    const first = spawnServe(['--config', config, '--data', data, '--sip-port', String(port), '--rtp-ports', '32000-32999'], 45_000);
    processes.push(first);
    await first.line((l) => l.msg === 'ready', 15_000, 'the first ready line');
    client = await SipClient.start({ localAddress: '127.0.0.1' });
    media = await MediaEngine.start({ host: '127.0.0.1', portMin: 0, portMax: 0 });

    // 20 callers at once; each speaks its time once the IVR records, then hangs up (that ends its message).
    for (let i = 0; i < CALLERS; i++) callers.push(await divertedCall(client, media, port, `+1425555${String(1000 + i)}`));
    const hungUpAt: Array<number | null> = callers.map(() => null);
    const recordingFrom = await Promise.all(
      callers.map(async (c, i) => {
        const r = await c.waitForRecording(0, 15_000);
        if (r !== 1) throw new Error(`caller ${i}: no recording (${r}): ${c.events.map((e) => e.text).join('; ')}`);
        const at = Date.now();
        void c.speak(speaksMs(i)).then(() => {
          if (c.ended) return;
          hungUpAt[i] = Date.now();
          c.callerHangup();
        });
        return at;
      }),
    );
    const killAt = Math.max(...recordingFrom) + KILL_AFTER_MS;
    await sleep(killAt - Date.now());
    // What a crash in the middle of a write leaves (the process dies before its rename): half a WAV under the
    // temporary name of the killed process; and a FreeSWITCH raw recording nobody settled, untouched for an hour.
    const halfWav = `.crashed-message-1-0123abcd.wav.${first.pid}.deadbeef.tmp`;
    writeFileSync(path.join(recordings, halfWav), Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(40, 1)]));
    const raw = '.fs-abandoned-message-1-4567cdef.wav';
    writeFileSync(path.join(recordings, raw), Buffer.alloc(1000));
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(path.join(recordings, raw), hourAgo, hourAgo);
    process.kill(first.pid, 'SIGKILL');
    const killedAt = Date.now();
    expect((await first.exited).signal).toBe('SIGKILL');
    const speaking = hungUpAt.filter((t) => t === null).length;
    expect(speaking).toBeGreaterThanOrEqual(5); // the kill came while messages were being recorded
    expect(first.lines().filter((l) => l.msg === 'call ended').length).toBeGreaterThanOrEqual(1); // and some had finished
    for (const c of callers) c.callerHangup(); // the rest: their server is gone

    // The same data folder, again.
    const second = spawnServe(['--config', config, '--data', data, '--sip-port', String(await findFreeSipPort('127.0.0.1')), '--rtp-ports', '32000-32999'], 30_000);
    processes.push(second);
    await second.line((l) => l.msg === 'ready', 15_000, 'the second ready line');
    const cleanup = second.lines().find((l) => l.msg === 'temporary files left by an earlier run removed');
    // The two planted files, and any the kill itself left (a message being written at that instant): temporary
    // names only, never a message's WAV.
    expect(cleanup).toMatchObject({ files: expect.arrayContaining([path.join('recordings', halfWav), path.join('recordings', raw)]) });
    const removedFiles = (cleanup as { files: string[] }).files;
    expect(cleanup).toMatchObject({ removed: removedFiles.length });
    expect(removedFiles.filter((f) => !/^recordings\/\.([^/]+\.tmp|fs-[^/]+\.wav)$/.test(f))).toEqual([]);
    process.kill(second.pid, 'SIGTERM');
    expect((await second.exited).code).toBe(0);

    // Only complete messages: each row's WAV is whole, decodes, and is as long as the row says.
    const app = await openApp({ config, data });
    let messages;
    try {
      messages = await app.store.listVoiceMessages('david@contoso.com');
    } finally {
      app.close();
    }
    expect(messages.length).toBeGreaterThanOrEqual(1);
    expect(messages.length).toBeLessThanOrEqual(CALLERS);
    for (const m of messages) {
      const why = `${m.caller}: ${m.audioFile} (${m.durationMs} ms)`;
      expect({ why, whole: wholeWav(m.audioFile) }).toEqual({ why, whole: true });
      const seconds = readWavPcm(m.audioFile).length / 8000;
      expect({ why, lengthMs: Math.round(seconds * 1000) }).toEqual({ why, lengthMs: expect.closeTo(m.durationMs, -1) });
      const i = Number(m.caller!.slice(-4)) - 1000;
      expect({ why, spokeAbout: Math.abs(m.durationMs - speaksMs(i)) <= 1000 }).toEqual({ why, spokeAbout: true });
    }
    // Every caller who had hung up a second before the kill has its message.
    const stored = new Set(messages.map((m) => m.caller));
    const settled = callers.map((_, i) => i).filter((i) => hungUpAt[i] !== null && hungUpAt[i]! < killedAt - 1000);
    if (process.env.E2E_DEBUG) {
      console.log({ speakingAtKill: speaking, hungUpBefore1s: settled.length, messages: messages.map((m) => `${m.caller} ${m.durationMs} ms`), cleanup });
    }
    expect(settled.length).toBeGreaterThanOrEqual(3);
    expect(settled.filter((i) => !stored.has(`+1425555${1000 + i}`))).toEqual([]);
    // No temporary file left; every final WAV in the folder (a message's, or one written just before the kill whose
    // row never came) is whole.
    const names = readdirSync(recordings);
    expect(names.filter((n) => n.startsWith('.') || n.endsWith('.tmp'))).toEqual([]); // temporary names are hidden (`.x.wav.<pid>.<hex>.tmp`, `.fs-x.wav`)
    for (const n of names.filter((x) => x.endsWith('.wav'))) expect({ n, whole: wholeWav(path.join(recordings, n)) }).toEqual({ n, whole: true });
  } finally {
    for (const c of callers) c.callerHangup();
    await client?.stop();
    await media?.stop();
    for (const p of processes) p.kill();
    await Promise.all(processes.map((p) => p.exited));
    rmSync(dir, { recursive: true, force: true });
  }
});
