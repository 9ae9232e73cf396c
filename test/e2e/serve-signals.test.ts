/**
 * `voice-access serve` as a process: it logs one `ready` line with its addresses, and SIGTERM ends every call with
 * BYE before it exits 0 (issue 4, "Server"). Issue 19, "Nothing lost": a folder it writes to that cannot be written
 * stops it at start (VA_ERR_DATA_NOT_WRITABLE, exit status 1); SIGTERM and SIGINT end the calls in progress with BYE
 * (a message being recorded is stored), write a `call ended` line for each (with the mailbox) and exit within 5 s,
 * also after a recording failed mid-run (which used to leave the process running for 40 s and more).
 * Needs `npm run build` first (the child runs `bin/voice-access.js`, i.e. `dist/`), as `npm test` does.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { openApp } from '../../src/app';
import { MediaEngine } from '../../src/media/media-engine';
import { readWavPcm } from '../../src/media/wav';
import type { NetCaller } from '../../src/sim/net/net-caller';
import { SipClient } from '../../src/sip/embedded/sip-client';
import { accessNumberCall, divertedCall, shortGreeting, spawnServe, type ServeProcess } from './helpers/serve-process';
import { findFreeSipPort } from '../../src/sip/embedded/free-port';
import { ROOT, tempDir, writeConfig } from '../helpers';
import * as offers from '../sip/helpers/offers';

/** baresip's offer, with its media address on loopback: the real server sends RTP there, and tests stay on 127.0.0.0/8. */
const LOOPBACK_OFFER = offers.BARESIP.replace(/192\.168\.1\.20/g, '127.0.0.1');
import { RawCall, UdpPeer, isStatus } from '../sip/helpers/raw-sip';

jest.setTimeout(40_000);

test('SIGTERM sends BYE on a call in progress, then the server exits 0', async () => {
  const dir = tempDir('va-signals-');
  const port = await findFreeSipPort('127.0.0.1');
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'bin', 'voice-access.js'), 'serve', '--config', writeConfig(dir), '--data', path.join(dir, 'data'), '--sip-port', String(port), '--rtp-ports', '31000-31999'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const killer = setTimeout(() => child.kill('SIGKILL'), 35_000);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    for (let i = 0; i < 100 && !out.includes('"msg":"ready"'); i++) await new Promise((r) => setTimeout(r, 100));
    const ready = JSON.parse(out.split('\n').find((l) => l.includes('"msg":"ready"'))!);
    expect(ready.sip).toEqual([`udp:127.0.0.1:${port}`, `tcp:127.0.0.1:${port}`]);

    const target = { address: '127.0.0.1', port };
    const peer = await UdpPeer.open(target);
    try {
      const call = new RawCall(peer, target, '14255550100');
      peer.send(call.invite(LOOPBACK_OFFER));
      const ok = await peer.expect(isStatus(200, 'INVITE'), 10_000, 'the 200 OK');
      call.learn(ok);
      peer.send(call.ack());
      child.kill('SIGTERM');
      const bye = await peer.expect((m) => m.method === 'BYE', 10_000, 'the BYE');
      peer.send(
        `SIP/2.0 200 OK\r\n${bye.raw
          .split('\r\n')
          .filter((l) => /^(via|from|to|call-id|cseq):/i.test(l))
          .join('\r\n')}\r\nContent-Length: 0\r\n\r\n`,
      );
      expect(await exited).toBe(0);
      expect(out).toContain('"msg":"stopped"');
    } finally {
      await peer.close();
    }
  } finally {
    clearTimeout(killer);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Issue 19, "Nothing lost": folders checked at start, calls ended and logged at shutdown, a bounded stop.

/** `serve` on a fresh port and the given data folder, with the RTP range of this file. */
function serve(config: string, data: string, port: number): ServeProcess {
  return spawnServe(['--config', config, '--data', data, '--sip-port', String(port), '--rtp-ports', '31000-31999'], 40_000);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a folder serve writes to that cannot be written (a file in its way): exit status 1 with VA_ERR_DATA_NOT_WRITABLE, naming it', async () => {
  const dir = tempDir('va-signals-');
  const config = writeConfig(dir);
  const cases: Array<{ role: string; blocked: string; data: string }> = [];
  for (const role of ['data', 'recordings', 'outbox', 'sms']) {
    const data = path.join(dir, `data-${role}`);
    const blocked = role === 'data' ? data : path.join(data, role);
    mkdirSync(path.dirname(blocked), { recursive: true });
    writeFileSync(blocked, 'a file where a folder should be\n');
    cases.push({ role, blocked, data });
  }
  const runs = await Promise.all(
    cases.map(async (c) => {
      const p = serve(config, c.data, await findFreeSipPort('127.0.0.1'));
      try {
        const { code } = await p.exited;
        return { role: c.role, code, ready: p.out.includes('"msg":"ready"'), err: p.err };
      } finally {
        p.kill();
      }
    }),
  );
  for (const [i, r] of runs.entries()) {
    expect({ role: r.role, code: r.code, ready: r.ready }).toEqual({ role: r.role, code: 1, ready: false });
    expect(r.err).toContain('VA_ERR_DATA_NOT_WRITABLE');
    expect(r.err).toContain(`the ${r.role} folder ${cases[i].blocked} is not writable`);
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('SIGTERM and SIGINT with calls in progress', () => {
  let client: SipClient;
  let media: MediaEngine;
  const live: NetCaller[] = [];
  beforeAll(async () => {
    client = await SipClient.start({ localAddress: '127.0.0.1' });
    media = await MediaEngine.start({ host: '127.0.0.1', portMin: 0, portMax: 0 });
  });
  afterEach(() => {
    for (const c of live.splice(0)) c.callerHangup();
  });
  afterAll(async () => {
    await client?.stop();
    await media?.stop();
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} while a caller records a message and another signs in: BYE to both, the message is stored, a call ended line for each, exit 0 within 5 s`, async () => {
      const dir = tempDir('va-signals-');
      const config = writeConfig(dir);
      const data = path.join(dir, 'data');
      await shortGreeting(config, data, dir);
      const port = await findFreeSipPort('127.0.0.1');
      const p = serve(config, data, port);
      try {
        await p.line((l) => l.msg === 'ready', 15_000, 'the ready line');
        const recording = await divertedCall(client, media, port, '+14255550160');
        live.push(recording);
        expect(await recording.waitForRecording(0, 15_000)).toBe(1);
        const signingIn = await accessNumberCall(client, media, port, '+14255550161');
        live.push(signingIn);
        expect(await signingIn.waitForPrompt('enter-extension', 0, 15_000)).toMatchObject({ ids: expect.arrayContaining(['enter-extension']) });
        await recording.speak(1500);
        const signalledAt = Date.now();
        process.kill(p.pid, signal);
        // Both callers get the IVR's BYE; the process exits 0, within the bound.
        expect(await recording.waitForEnd(5_000)).toBe('ivr');
        expect(await signingIn.waitForEnd(5_000)).toBe('ivr');
        const exit = await p.exited;
        expect({ code: exit.code, signal: exit.signal, withinBound: exit.at - signalledAt <= 5_000, out: exit.code === 0 ? '' : p.out.slice(-3000) }).toEqual({
          code: 0,
          signal: null,
          withinBound: true,
          out: '',
        });
        // One `call ended` line per call, ended by the shutdown, with the mailbox where it is known.
        const ended = p.lines().filter((l) => l.msg === 'call ended');
        expect(ended).toHaveLength(2);
        expect(ended.find((l) => l.callId === recording.callId)).toMatchObject({ endedBy: 'shutdown', result: 'message-left', mailbox: 'david@contoso.com', flow: 'call-answering' });
        expect(ended.find((l) => l.callId === signingIn.callId)).toMatchObject({ endedBy: 'shutdown', flow: 'sign-in' });
        expect(p.lines().filter((l) => l.level >= 50)).toEqual([]);
        expect(p.out).toContain('"msg":"stopped"');
        // The message being recorded was kept: its row names a complete WAV as long as its duration.
        const app = await openApp({ config, data });
        try {
          const [message, ...more] = await app.store.listVoiceMessages('david@contoso.com');
          expect(more).toEqual([]);
          expect(message.caller).toBe('+14255550160');
          expect(message.durationMs).toBeGreaterThan(1000);
          expect(Math.abs((readWavPcm(message.audioFile).length * 1000) / 8000 - message.durationMs)).toBeLessThanOrEqual(20);
        } finally {
          app.close();
        }
      } finally {
        p.kill();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('a recording that cannot be written mid-run (the recordings folder replaced by a file): logged with its code and call id, the call ends, SIGTERM exits 0 within 5 s', async () => {
    const dir = tempDir('va-signals-');
    const config = writeConfig(dir);
    const data = path.join(dir, 'data');
    await shortGreeting(config, data, dir);
    const port = await findFreeSipPort('127.0.0.1');
    const p = serve(config, data, port);
    try {
      await p.line((l) => l.msg === 'ready', 15_000, 'the ready line');
      const caller = await divertedCall(client, media, port, '+14255550162');
      live.push(caller);
      expect(await caller.waitForRecording(0, 15_000)).toBe(1);
      // The server makes the folder when the recording starts, which may be a moment after the beep was heard: if
      // it did so after the folder was removed, remove it again (bounded).
      for (let attempt = 1; ; attempt++) {
        rmSync(path.join(data, 'recordings'), { recursive: true, force: true });
        try {
          writeFileSync(path.join(data, 'recordings'), 'a file in the way\n');
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EISDIR' || attempt >= 10) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      await caller.speak(1500);
      caller.callerHangup(); // as SIPp did: the message ends with BYE
      const failure = await p.line((l) => l.level >= 50 && l.callId === caller.callId, 10_000, 'the recording failure');
      expect(failure).toMatchObject({ code: 'VA_ERR_MEDIA_RECORDING', callId: caller.callId });
      expect(await p.line((l) => l.msg === 'call ended' && l.callId === caller.callId, 10_000, 'the call ended line')).toMatchObject({
        result: 'error',
        mailbox: 'david@contoso.com',
      });
      const signalledAt = Date.now();
      process.kill(p.pid, 'SIGTERM');
      const exit = await p.exited;
      expect({ code: exit.code, withinBound: exit.at - signalledAt <= 5_000 }).toEqual({ code: 0, withinBound: true });
      expect(p.lines().filter((l) => l.level >= 50)).toEqual([failure]);
      const app = await openApp({ config, data });
      try {
        expect(await app.store.listVoiceMessages('david@contoso.com')).toEqual([]);
      } finally {
        app.close();
      }
    } finally {
      p.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
