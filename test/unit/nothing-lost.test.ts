/**
 * Issue 19, "Nothing lost", below the end-to-end tests: a recording that cannot be written fails the record
 * operation with VA_ERR_MEDIA_RECORDING (never a pending operation, never a result without its file); an atomic write
 * that fails leaves no temporary file; `serve`'s start-up check of its folders and its clean-up rule for temporary
 * files left by a crash; the hard bound of its stop; the runtime ending calls at shutdown.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import { Writable } from 'node:stream';
import { buildRuntime, openApp } from '../../src/app';
import { stopWithinBound, writtenFolders } from '../../src/cli/serve';
import { systemClock } from '../../src/ports/clock';
import type { RecordRequest } from '../../src/flow-kit/media-types';
import { PromptCatalog } from '../../src/prompts/catalog';
import { SimCallChannel } from '../../src/sim/sim-call-channel';
import { VirtualClock } from '../../src/sim/virtual-clock';
import { writeFileAtomic } from '../../src/util/atomic-file';
import { assertWritableFolder, removeStaleTempFiles, STALE_TEMP_AGE_MS } from '../../src/util/data-folders';
import { tempDir, writeConfig } from '../helpers';

const catalog = PromptCatalog.load();

const recordReq = (over: Partial<RecordRequest> = {}): RecordRequest => ({
  prompts: [],
  locale: 'en-US',
  purpose: 'message',
  beep: false,
  maxMs: 60_000,
  silenceMs: 5_000,
  terminators: '#',
  ...over,
});

function channel() {
  const clock = new VirtualClock(1_000_000);
  const dir = tempDir('va-lost-');
  const recordings = path.join(dir, 'recordings');
  const ch = new SimCallChannel({ callId: 'c1', clock, catalog, recordingsDir: recordings });
  return { clock, ch, dir, recordings };
}

/** A file where the recordings folder should be. */
function block(recordings: string): void {
  rmSync(recordings, { recursive: true, force: true });
  writeFileSync(recordings, 'in the way\n');
}

describe('a recording that cannot be written', () => {
  it('fails as it starts when the recordings folder cannot be created: VA_ERR_MEDIA_RECORDING, nothing pending', async () => {
    const { clock, ch, recordings } = channel();
    block(recordings);
    const r = ch.record(recordReq());
    await expect(r).rejects.toMatchObject({ code: 'VA_ERR_MEDIA_RECORDING', message: expect.stringContaining(recordings) });
    expect(ch.hasPendingOperation).toBe(false);
    expect(clock.nextTimerAt()).toBeUndefined(); // its silence and max timers are gone
    expect(ch.events.map((e) => (e.type === 'note' ? e.text : e.type))).toContain('recording failed: VA_ERR_MEDIA_RECORDING');
  });

  it('fails when its file cannot be written at the end (silence, #, hang-up): VA_ERR_MEDIA_RECORDING, no file, nothing pending', async () => {
    for (const end of ['silence', 'terminator', 'hangup'] as const) {
      const { clock, ch, recordings } = channel();
      const outcome: { error?: unknown; value?: unknown } = {};
      ch.record(recordReq()).then(
        (v) => (outcome.value = v),
        (e) => (outcome.error = e),
      );
      await clock.advance(100);
      void ch.speak(2_000);
      await clock.advance(2_500);
      block(recordings); // disappears while the caller speaks
      if (end === 'terminator') await ch.pressDigits('#', 0);
      if (end === 'hangup') ch.callerHangup();
      await clock.advance(10_000);
      expect({ end, outcome }).toEqual({ end, outcome: { error: expect.objectContaining({ code: 'VA_ERR_MEDIA_RECORDING' }) } });
      expect(ch.hasPendingOperation).toBe(false);
      expect(clock.nextTimerAt()).toBeUndefined();
      rmSync(recordings, { force: true });
    }
  });

  it('a write that fails leaves no temporary file (the rename fails: a folder has the final name)', () => {
    const dir = tempDir('va-lost-');
    const target = path.join(dir, 'message.wav');
    mkdirSync(path.join(target, 'in-the-way'), { recursive: true });
    expect(() => writeFileAtomic(target, Buffer.from('RIFF'))).toThrow();
    expect(readdirSync(dir)).toEqual(['message.wav']);
  });
});

describe("serve's folders", () => {
  it('assertWritableFolder creates a missing folder and leaves nothing in it', () => {
    const folder = path.join(tempDir('va-lost-'), 'a', 'b');
    assertWritableFolder({ role: 'recordings', path: folder });
    expect(readdirSync(folder)).toEqual([]);
  });

  it('assertWritableFolder: a file in the way is VA_ERR_DATA_NOT_WRITABLE naming the role, the path and the reason', () => {
    const dir = tempDir('va-lost-');
    writeFileSync(path.join(dir, 'recordings'), 'x');
    expect(() => assertWritableFolder({ role: 'recordings', path: path.join(dir, 'recordings') })).toThrow(
      expect.objectContaining({ code: 'VA_ERR_DATA_NOT_WRITABLE', message: `the recordings folder ${path.join(dir, 'recordings')} is not writable: cannot create the folder (EEXIST)` }),
    );
    expect(() => assertWritableFolder({ role: 'outbox', path: path.join(dir, 'recordings', 'below') })).toThrow(
      expect.objectContaining({ code: 'VA_ERR_DATA_NOT_WRITABLE', message: expect.stringContaining('ENOTDIR') }),
    );
  });

  it('writtenFolders: recordings always; outbox without SMTP; sms with the file provider', () => {
    const base = { dataDir: '/d', recordingsDir: '/d/recordings', directory: { mail: { smtp: undefined }, notifications: { sms: { provider: 'file' } } } } as any;
    expect(writtenFolders(base).map((f) => f.role)).toEqual(['recordings', 'outbox', 'sms']);
    const smtp = { dataDir: '/d', recordingsDir: '/d/recordings', directory: { mail: { smtp: { host: 'h' } }, notifications: { sms: { provider: 'webhook', webhook: { url: 'http://x' } } } } } as any;
    expect(writtenFolders(smtp)).toEqual([{ role: 'recordings', path: path.join('/d', 'recordings') }]);
  });

  it('removeStaleTempFiles removes what a dead or old writer left, keeps what a live one is writing, never a final file', () => {
    const dir = tempDir('va-lost-');
    const dead = 2 ** 22 + 12345; // above Linux's pid_max default: no such process
    const alive = process.ppid; // jest's parent: running, and not this process
    const files = {
      deadWriter: `.a.wav.${dead}.0123abcd.tmp`,
      ownPid: `.b.wav.${process.pid}.0123abcd.tmp`,
      liveFresh: `.c.wav.${alive}.0123abcd.tmp`,
      liveOld: `.d.wav.${alive}.89abcdef.tmp`,
      rawFresh: '.fs-e.wav',
      rawOld: '.fs-f.wav',
      final: 'g.wav',
      finalOld: 'h.wav',
      other: '.hidden-but-not-ours',
    };
    for (const name of Object.values(files)) writeFileSync(path.join(dir, name), 'x');
    const old = new Date(Date.now() - STALE_TEMP_AGE_MS - 60_000);
    for (const name of [files.liveOld, files.rawOld, files.finalOld]) utimesSync(path.join(dir, name), old, old);
    const removed = removeStaleTempFiles(dir);
    expect(removed.sort()).toEqual([files.deadWriter, files.ownPid, files.liveOld, files.rawOld].sort());
    expect(readdirSync(dir).sort()).toEqual([files.liveFresh, files.rawFresh, files.final, files.finalOld, files.other].sort());
    expect(removeStaleTempFiles(path.join(dir, 'missing'))).toEqual([]);
  });
});

describe("serve's stop", () => {
  function logger() {
    const lines: Array<Record<string, any>> = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _e, cb) {
          for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
          cb();
        },
      }),
    );
    return { log, lines };
  }

  it('a stop that hangs: after the bound it logs the pending step and calls, and exits 1', async () => {
    const { log, lines } = logger();
    const exits: number[] = [];
    const server = { runtime: { activeCallCount: 2 }, stop: (progress?: (s: string) => void) => (progress?.('sip'), new Promise<void>(() => {})) };
    void stopWithinBound(server as any, log, { boundMs: 150, exit: (c) => exits.push(c), signals: new EventEmitter() });
    await new Promise((r) => setTimeout(r, 400));
    expect(exits).toEqual([1]);
    expect(lines.find((l) => l.level === 50)).toMatchObject({ step: 'sip', calls: 2, handles: expect.any(Array), msg: 'not stopped 150 ms after the signal: exiting' });
  });

  it('a second signal while stopping exits 1 at once', async () => {
    const { log, lines } = logger();
    const exits: number[] = [];
    const signals = new EventEmitter();
    const server = { runtime: { activeCallCount: 0 }, stop: () => new Promise<void>(() => {}) };
    void stopWithinBound(server as any, log, { boundMs: 10_000, exit: (c) => exits.push(c), signals });
    signals.emit('SIGINT', 'SIGINT');
    expect(exits).toEqual([1]);
    expect(lines[0]).toMatchObject({ signal: 'SIGINT', step: 'calls', msg: 'second signal while stopping: exiting now' });
  });

  it('a stop that finishes returns without exiting', async () => {
    const { log } = logger();
    const exits: number[] = [];
    const server = { runtime: { activeCallCount: 0 }, stop: async () => {} };
    await stopWithinBound(server as any, log, { boundMs: 60_000, exit: (c) => exits.push(c), signals: new EventEmitter() });
    expect(exits).toEqual([]);
  });
});

describe('the runtime at shutdown', () => {
  it("a call whose flow does not finish in time still gets its `call ended` line (result unfinished, the mailbox), and new calls are refused", async () => {
    const dir = tempDir('va-lost-');
    const app = await openApp({ config: writeConfig(dir), data: path.join(dir, 'data') });
    const lines: Array<Record<string, any>> = [];
    const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (c.toString().split('\n').filter(Boolean).forEach((l) => lines.push(JSON.parse(l))), cb()) }));
    try {
      const runtime = buildRuntime(app, { clock: systemClock, logger: log });
      const hangups: Array<string | undefined> = [];
      /** A channel whose answer never comes (a stuck signalling leg). */
      const stuck = (callId: string) =>
        ({ callId, ended: false, answer: () => new Promise<void>(() => {}), hangup: async (cause?: string) => void hangups.push(cause), onHangup() {}, onDtmf() {} }) as any;
      void runtime.handleCall({ channel: stuck('stuck-1'), from: '+14255550170', to: '+14255550100', diversion: '51235' });
      await new Promise((r) => setImmediate(r));
      expect(runtime.activeCallCount).toBe(1);
      expect(await runtime.endAllCalls(100)).toEqual(['stuck-1']);
      expect(hangups).toEqual(['shutdown']);
      expect(lines.filter((l) => l.msg === 'call ended')).toEqual([
        expect.objectContaining({ callId: 'stuck-1', result: 'unfinished', endedBy: 'shutdown', mailbox: 'david@contoso.com' }),
      ]);
      // Draining: a new call is ended at once (503 through the signalling's `shutdown` cause), with its line.
      const refused = await runtime.handleCall({ channel: stuck('late-1'), from: '+14255550171', to: '+14255550100' });
      expect(refused).toMatchObject({ result: 'shutdown', flow: 'rejected' });
      expect(hangups).toEqual(['shutdown', 'shutdown']);
      expect(lines.filter((l) => l.msg === 'call ended').map((l) => l.callId)).toEqual(['stuck-1', 'late-1']);
    } finally {
      app.close();
    }
  });
});
