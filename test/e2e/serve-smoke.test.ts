/**
 * `serve` end to end, smallest form: the real server (store, RTP engine, SIP on UDP and TCP, call runtime) on
 * 127.0.0.1 and free ports, called by SIPp. Richer SIPp and baresip scenarios live beside this file.
 */
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { startServer, type RunningServer } from '../../src/cli/serve';
import { createLogger } from '../../src/log';
import { MediaEngine } from '../../src/media/media-engine';
import { runSipp } from '../sip/helpers/sipp';
import { tempDir, writeConfig } from '../helpers';

let server: RunningServer;

beforeAll(async () => {
  const dir = tempDir('va-serve-');
  server = await startServer({
    config: writeConfig(dir),
    data: path.join(dir, 'data'),
    sipHost: '127.0.0.1',
    sipPort: 0,
    rtpPortMin: 0,
    rtpPortMax: 0,
    logger: createLogger({ level: 'silent' }),
  });
});
afterAll(async () => {
  await server?.stop();
});

test('SIPp calls the access number over UDP and TCP: answered, and ended by its BYE', async () => {
  for (const transport of ['u1', 't1'] as const) {
    const run = await runSipp({
      scenario: { builtin: 'uac' },
      target: { address: '127.0.0.1', port: server.sip.port },
      service: '14255550100',
      transport,
      calls: 3,
      rate: 10,
      timeoutS: 20,
      killAfterMs: 30_000,
    });
    expect({ transport, code: run.code, successful: run.successful, failed: run.failed, errors: run.errors }).toEqual({
      transport,
      code: 0,
      successful: 3,
      failed: 0,
      errors: '',
    });
  }
}, 60_000);

test('an unknown number gets 404 and a non-gateway source 403; the server keeps serving', async () => {
  const unknown = await runSipp({ scenario: { builtin: 'uac' }, target: { address: '127.0.0.1', port: server.sip.port }, service: '19999999', calls: 1, timeoutS: 10, killAfterMs: 20_000 });
  expect(unknown.code).not.toBe(0);
  expect(unknown.errors).toContain('404 Not Found');
  const stranger = await runSipp({
    scenario: { builtin: 'uac' },
    target: { address: '127.0.0.1', port: server.sip.port },
    service: '14255550100',
    localAddress: '127.0.0.2',
    calls: 1,
    timeoutS: 10,
    killAfterMs: 20_000,
  });
  expect(stranger.errors).toContain('403 Forbidden');
  const again = await runSipp({ scenario: { builtin: 'uac' }, target: { address: '127.0.0.1', port: server.sip.port }, service: '14255550100', calls: 1, timeoutS: 10, killAfterMs: 20_000 });
  expect(again.successful).toBe(1);
}, 60_000);

/**
 * An ended call must not stay in memory: the SIP layer keeps each INVITE's record for 33 s (to answer
 * retransmissions), and it used to hold the call's channel, RTP session and flow through its handlers, so a
 * server under load kept every call of the last 33 s (about 24 KB each).
 */
test("an ended call's RTP session and channel are freed although its INVITE's record is kept", async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  let alive = 0;
  const registry = new FinalizationRegistry(() => alive--);
  const open = MediaEngine.prototype.openSession;
  MediaEngine.prototype.openSession = async function (this: MediaEngine, ...args: Parameters<MediaEngine['openSession']>) {
    const session = await open.apply(this, args);
    alive++;
    registry.register(session, 'session');
    return session;
  };
  try {
    const run = await runSipp({
      scenario: { builtin: 'uac' },
      target: { address: '127.0.0.1', port: server.sip.port },
      service: '14255550100',
      calls: 20,
      rate: 50,
      timeoutS: 20,
      killAfterMs: 30_000,
    });
    expect(run.successful).toBe(20);
    expect(alive).toBe(20);
    for (let i = 0; i < 20 && alive > 0; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 50)); // finalizers run after the collection, from the event loop
    }
    expect(alive).toBe(0);
  } finally {
    MediaEngine.prototype.openSession = open;
  }
}, 60_000);
