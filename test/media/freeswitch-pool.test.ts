/**
 * The FreeSWITCH media server pool (`src/media/freeswitch/freeswitch-pool.ts`) on real servers: calls refused with
 * 503 while no FreeSWITCH is up, spread round robin over two, a lost one logged and its calls ended while the other
 * takes the new calls, its return logged and used again; and a recording FreeSWITCH could not write, which fails the
 * record operation with VA_ERR_MEDIA_RECORDING and leaves no file. Callers are raw SIP over UDP from 127.0.0.1.
 */
import { createSocket } from 'node:dgram';
import { readdirSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { admitSource } from '../../src/domain/gateway-admission';
import { FreeswitchPool } from '../../src/media/freeswitch/freeswitch-pool';
import { MediaEngine } from '../../src/media/media-engine';
import type { IncomingCall } from '../../src/ports/call-channel';
import { systemClock } from '../../src/ports/clock';
import { PromptCatalog } from '../../src/prompts/catalog';
import { startDrachtioSignalling, type DrachtioSignalling } from '../../src/sip/drachtio/drachtio-signalling';
import { closedPort, tempDir } from '../helpers';
import { DEFAULT_OFFER } from '../contract/call-source-contract';
import { rawSipCaller } from '../contract/embedded-harness';
import { describeWithServers, startDrachtio, startFreeswitch, type RunningDrachtio, type RunningFreeswitch } from '../helpers/real-servers';
import type { UdpPeer } from '../sip/helpers/raw-sip';

const catalog = PromptCatalog.load();

/** Waits until `pred` holds, polling every 50 ms, at most `ms`. */
async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A caller's answer choosing PCMA (and telephone-event 101), receiving at 127.0.0.1:`port`. */
const PCMA_ANSWER = (port: number) =>
  DEFAULT_OFFER.replace('m=audio 49170 RTP/AVP 0 8 101', `m=audio ${port} RTP/AVP 8 101`).replace('a=rtpmap:0 PCMU/8000\r\n', '');

/** The RTP port of an SDP's audio line. */
const audioPort = (sdp: string) => Number(/^m=audio (\d+)/m.exec(sdp)?.[1] ?? NaN);

describeWithServers(['drachtio-server', 'freeswitch'], 'FreeSWITCH media server pool', () => {
  let drachtio: RunningDrachtio;
  const started: RunningFreeswitch[] = [];
  const peers: UdpPeer[] = [];
  let signalling: DrachtioSignalling | null = null;
  let media: MediaEngine;
  const lines: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    }),
  );
  const logged = (msg: string) => lines.filter((l) => l.includes(`"msg":"${msg}"`));

  beforeAll(async () => {
    drachtio = await startDrachtio();
    media = await MediaEngine.start({ host: '127.0.0.1', portMin: 0, portMax: 0 });
  }, 30_000);

  afterEach(async () => {
    await signalling?.stop();
    signalling = null;
    await Promise.all(peers.splice(0).map((p) => p.close()));
    lines.length = 0;
  });

  afterAll(async () => {
    await Promise.all(started.map((f) => f.stop()));
    await media?.stop();
    await drachtio?.stop();
  }, 30_000);

  /** The drachtio engine with a pool on these event sockets; answers every call it is handed. */
  async function engine(servers: Array<{ port: number; secret: string }>, recordingsDir = tempDir('va-pool-rec-')): Promise<IncomingCall[]> {
    const calls: IncomingCall[] = [];
    signalling = await startDrachtioSignalling({
      host: '127.0.0.1',
      port: drachtio.adminPort,
      secret: drachtio.secret,
      media,
      mediaAddress: '127.0.0.1',
      admit: (address) => admitSource(address, [{ name: 'pbx', address: '127.0.0.1', status: 'Enabled' }]),
      clock: systemClock,
      catalog,
      recordingsDir,
      logger,
      openMediaServers: (srf) =>
        FreeswitchPool.start({
          srf,
          servers: servers.map((s) => ({ host: '127.0.0.1', port: s.port, secret: s.secret })),
          listenAddress: '127.0.0.1',
          clock: systemClock,
          catalog,
          recordingsDir,
          logger,
          startTimeoutMs: 1000,
          reconnectMs: 200,
          reconnectMaxMs: 400,
        }),
    });
    signalling.calls.onCall((c) => {
      calls.push(c);
      void c.channel.answer();
    });
    return calls;
  }

  const call = () => rawSipCaller({ address: '127.0.0.1', port: drachtio.sipPort }, '127.0.0.1', { to: '14255550100' }, peers);

  test('no FreeSWITCH up: the call gets 503 with Retry-After, logged with VA_ERR_MEDIA_SERVER_UNAVAILABLE', async () => {
    const calls = await engine([{ port: await closedPort(), secret: 'x' }]);
    expect(signalling!.mediaServers?.available).toBe(false);
    const caller = await call();
    const final = await caller.final(5000);
    expect(final.status).toBe(503);
    expect(calls).toHaveLength(0);
    expect(logged('no media server is up: calls get 503 until one is')).toHaveLength(1);
    expect(logged('call refused with 503: media-server exhausted or unavailable').join('')).toContain('VA_ERR_MEDIA_SERVER_UNAVAILABLE');
  }, 30_000);

  test('two FreeSWITCH: calls alternate; one stopped ends its call and is logged; the other takes the calls; it comes back', async () => {
    const [a, b] = await Promise.all([startFreeswitch(), startFreeswitch()]);
    started.push(a, b);
    const calls = await engine([a, b].map((f) => ({ port: f.eslPort, secret: f.secret })));
    const which = (sdp: string) => ([a, b].find((f) => audioPort(sdp) >= f.rtp.min && audioPort(sdp) <= f.rtp.max) === a ? 'a' : 'b');
    const first = await call();
    const second = await call();
    const owners = [which((await first.final(5000)).sdp), which((await second.final(5000)).sdp)];
    expect([...owners].sort()).toEqual(['a', 'b']);
    const onA = owners[0] === 'a' ? first : second;
    // FreeSWITCH a goes away: its call is ended with BYE, the loss is logged once, new calls go to b.
    await a.stop();
    await onA.byeFromIvr(10_000);
    await until(() => logged('lost the connection to the media server; reconnecting').length === 1, 5000, 'the loss to be logged');
    for (let i = 0; i < 2; i++) {
      const c = await call();
      expect(which((await c.final(5000)).sdp)).toBe('b');
    }
    // a comes back on the same ports: logged, and calls are spread over both again.
    const again = await startFreeswitch({ sameAs: a });
    started.push(again);
    await until(() => logged('media server is back').length === 1, 10_000, 'the return to be logged');
    const seen = new Set<string>();
    for (let i = 0; i < 2; i++) seen.add(which((await (await call()).final(5000)).sdp));
    expect([...seen].sort()).toEqual(['a', 'b']);
    expect(calls.length).toBeGreaterThanOrEqual(6);
  }, 90_000);

  test("late offer: an INVITE without SDP gets FreeSWITCH's offer; the caller's answer in the ACK says where the prompts go", async () => {
    const fs = await startFreeswitch();
    started.push(fs);
    const calls = await engine([{ port: fs.eslPort, secret: fs.secret }]);
    const rtp = createSocket('udp4');
    await new Promise<void>((r) => rtp.bind(0, '127.0.0.1', r));
    const got: { payloadType: number; from: number }[] = [];
    rtp.on('message', (m, rinfo) => got.push({ payloadType: m[1] & 0x7f, from: rinfo.port }));
    try {
      const offerless = await rawSipCaller({ address: '127.0.0.1', port: drachtio.sipPort }, '127.0.0.1', { to: '14255550100', sdp: null, ackSdp: PCMA_ANSWER(rtp.address().port) }, peers);
      const final = await offerless.final(10_000);
      expect(final.status).toBe(200);
      // FreeSWITCH's own offer, from its RTP range.
      expect(audioPort(final.sdp)).toBeGreaterThanOrEqual(fs.rtp.min);
      expect(audioPort(final.sdp)).toBeLessThanOrEqual(fs.rtp.max);
      expect(final.sdp).toMatch(/a=rtpmap:8 PCMA\/8000/);
      await until(() => calls.length === 1, 5000, 'the call');
      const played = calls[0].channel.play({ prompts: ['welcome'], locale: 'en-US' });
      await until(() => got.length >= 10, 10_000, 'RTP from FreeSWITCH at the address of the answer');
      // PCMA, as the answer chose, from FreeSWITCH's offered port.
      expect(new Set(got.map((p) => p.payloadType))).toEqual(new Set([8]));
      expect(new Set(got.map((p) => p.from))).toEqual(new Set([audioPort(final.sdp)]));
      await calls[0].channel.hangup();
      await played;
      await offerless.byeFromIvr(10_000);
      // No answer in the ACK: the call is ended with BYE.
      const bare = await rawSipCaller({ address: '127.0.0.1', port: drachtio.sipPort }, '127.0.0.1', { to: '14255550100', sdp: null }, peers);
      expect((await bare.final(10_000)).status).toBe(200);
      await bare.byeFromIvr(10_000);
    } finally {
      rtp.close();
    }
  }, 60_000);

  test('a recording FreeSWITCH could not write fails with VA_ERR_MEDIA_RECORDING and leaves no file', async () => {
    const fs = await startFreeswitch();
    started.push(fs);
    const dir = tempDir('va-pool-rec-fail-');
    const calls = await engine([{ port: fs.eslPort, secret: fs.secret }], dir);
    const caller = await call();
    expect((await caller.final(5000)).status).toBe(200);
    await until(() => calls.length === 1, 5000, 'the call');
    const channel = calls[0].channel;
    await channel.answer();
    const recording = channel.record({ prompts: [], locale: 'en-US', purpose: 'message', beep: false, maxMs: 1500, silenceMs: 10_000, terminators: '#' });
    // FreeSWITCH's file disappears under it (a full or unmounted volume looks the same to the IVR).
    await until(() => readdirSync(dir).some((f) => f.startsWith('.fs-')), 5000, 'FreeSWITCH to open its file');
    for (const f of readdirSync(dir)) unlinkSync(path.join(dir, f));
    await expect(recording).rejects.toMatchObject({ code: 'VA_ERR_MEDIA_RECORDING' });
    expect(readdirSync(dir)).toEqual([]);
    await channel.hangup();
    await caller.byeFromIvr(5000);
  }, 30_000);
});
