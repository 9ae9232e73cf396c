/**
 * Media on FreeSWITCH (issue 18): `serve --sip-engine drachtio --media freeswitch` behind a real drachtio-server, each
 * call's media an endpoint on a real FreeSWITCH (drachtio-fsmrf), called by SIPp, a raw SIP caller and baresip. One
 * FreeSWITCH serves the whole file; each test starts its own server with its own drachtio-server (drachtio-server
 * hands a new INVITE to any application connected to it), except the two instances of the last test, which share one.
 * - In-band DTMF: SIPp sends the keys as tone pairs in its audio (rtp_stream, PCMU only, no telephone-event):
 *   FreeSWITCH's detector (spandsp) hands each key once, david signs in and hears the main menu.
 * - The SDP answer a caller gets names FreeSWITCH's RTP address and a port of its RTP range, and RTP comes from
 *   there: our process has no RTP session for the call.
 * - A message left by baresip (dialling david's extension) lights the lamp on a TCP gateway (SIPp UAS).
 * - A meeting of two baresip phones: the one in the lobby hears the music; once the organizer has typed the leader
 *   PIN each hears the other's tone (Goertzel), never its own.
 * - Two instances of voice-access on one data folder and directory file, behind one drachtio-server and one
 *   FreeSWITCH: a message left through one is heard through the other; and the same with each instance on a data
 *   folder of its own and one PostgreSQL store, as on two machines (issue 20).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { meetingRoomPrefix } from '../../src/cli/serve';
import * as path from 'node:path';
import * as dgram from 'node:dgram';
import { greetingPrompts } from '../../flows/call-answering.flow';
import { sineTone } from '../../src/media/conference-tones';
import { encodeG711 } from '../../src/media/g711';
import { readWavPcm } from '../../src/media/wav';
import { PromptCatalog } from '../../src/prompts/catalog';
import { mailboxInfo } from '../../src/runtime/call-runtime';
import { runScenarioOverNetwork } from '../../src/sim/net/net-runner';
import { findFreeSipPort } from '../../src/sip/embedded/free-port';
import { startPostgres } from '../../bench/servers/postgres-server';
import { tempDir } from '../helpers';
import { describeWithServers, eslApi, startFreeswitch, type RunningFreeswitch } from '../helpers/real-servers';
import { h, isStatus, RawCall, UdpPeer } from '../sip/helpers/raw-sip';
import { dtmfTones, rms, speechLike } from './helpers/audio';
import { BaresipPhone } from './helpers/baresip';
import { freeswitchChannels, freeswitchMedia } from './helpers/freeswitch';
import {
  describeCall,
  dialUri,
  expectSippSuccess,
  heardIds,
  receivedKeys,
  sippCall,
  startIvrServer,
  type IvrServer,
  type ObservedCall,
} from './helpers/ivr-server';
import { killSippGateways, startSippGateway } from './helpers/sipp-gateway';
import { musicBlocks, toneBlocks } from './helpers/tones';

jest.setTimeout(90_000);

const ROOM = '4455667';

/** The c= address and the audio m= port of an SDP body. */
function sdpAudio(sdp: string): { address: string | null; port: number | null; payloads: string[] } {
  const c = /^c=IN IP4 (\S+)/m.exec(sdp);
  const m = /^m=audio (\d+) RTP\/AVP ([\d ]+)/m.exec(sdp);
  return { address: c?.[1] ?? null, port: m ? Number(m[1]) : null, payloads: m ? m[2].trim().split(/\s+/) : [] };
}

describeWithServers(['drachtio-server', 'freeswitch'], 'media on FreeSWITCH', () => {
  let fs: RunningFreeswitch;
  let dir: string;
  /** Servers still running (a failed test's are stopped in afterEach). */
  const running: IvrServer[] = [];
  const start = async (o: Parameters<typeof startIvrServer>[0] = {}) => {
    const t = await startIvrServer({ engine: 'freeswitch', freeswitch: fs, ...o });
    running.push(t);
    return t;
  };
  const stopAll = async () => {
    for (const t of running.splice(0).reverse()) await t.stop();
  };

  beforeAll(async () => {
    fs = await startFreeswitch();
    dir = tempDir('va-e2e-fs-media-');
  }, 60_000);
  afterEach(async () => {
    killSippGateways();
    await stopAll();
  }, 30_000);
  afterAll(async () => {
    await stopAll();
    await fs?.stop();
    if (dir && !process.env.E2E_KEEP) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  test('SIPp signs in with in-band DTMF tones (PCMU only): every key once, the main menu, signed out', async () => {
    const t = await start();
    const cwd = path.join(dir, 'inband');
    mkdirSync(cwd, { recursive: true });
    writeFileSync(path.join(cwd, 'dtmf-signin.ulaw'), encodeG711(dtmfTones('51235  739164#', { totalMs: 3000 }), 0));
    writeFileSync(path.join(cwd, 'dtmf-star.ulaw'), encodeG711(dtmfTones('*', { totalMs: 400 }), 0));
    const run = await sippCall(t, 'signin-inband-david.xml', { cwd });
    expectSippSuccess(t, run);
    const call = await t.ended(0);
    const why = describeCall(call);
    expect({ why, record: call.record }).toEqual({ why, record: { callId: call.callId, flow: 'sign-in', result: 'signed-out', identity: 'david@contoso.com' } });
    // Each tone pair is one key press: no key lost, none counted twice.
    expect({ why, keys: receivedKeys(call) }).toEqual({ why, keys: '51235739164#*' });
    const ids = heardIds(call);
    expect({ why, ids }).toEqual({ why, ids: expect.arrayContaining(['no-new-messages', 'main-menu', 'goodbye']) });
    expect(ids.indexOf('main-menu')).toBeGreaterThan(ids.indexOf('no-new-messages'));
  });

  test("the SDP answer's address and port are FreeSWITCH's (its RTP range), and its RTP comes from there", async () => {
    const t = await start();
    const rtp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => rtp.bind(0, '127.0.0.1', () => resolve()));
    const from = new Set<string>();
    rtp.on('message', (_m, rinfo) => from.add(`${rinfo.address}:${rinfo.port}`));
    const peer = await UdpPeer.open(t.target);
    try {
      const call = new RawCall(peer, t.target, '14255550100');
      const offer = [
        'v=0',
        'o=- 1 1 IN IP4 127.0.0.1',
        's=-',
        'c=IN IP4 127.0.0.1',
        't=0 0',
        `m=audio ${rtp.address().port} RTP/AVP 0 101`,
        'a=rtpmap:0 PCMU/8000',
        'a=rtpmap:101 telephone-event/8000',
        'a=fmtp:101 0-15',
        'a=ptime:20',
        'a=sendrecv',
        '',
      ].join('\r\n');
      peer.send(call.invite(offer));
      const ok = await peer.expect(isStatus(200, 'INVITE'), 10_000, '200 OK to the INVITE');
      call.learn(ok);
      peer.send(call.ack());
      expect(h(ok, 'content-type')).toBe('application/sdp');
      const answer = sdpAudio(ok.body);
      expect(answer.address).toBe('127.0.0.1');
      expect({ port: answer.port, inFreeswitchRange: answer.port! >= fs.rtp.min && answer.port! <= fs.rtp.max }).toEqual({ port: answer.port, inFreeswitchRange: true });
      expect(answer.payloads).toEqual(expect.arrayContaining(['0', '101']));
      await t.until(() => t.calls.length === 1 && t.calls[0].channel.heard.length > 0, 10_000, 'the welcome to start');
      await new Promise((r) => setTimeout(r, 1000)); // a second of the welcome
      // FreeSWITCH's channel for the call holds that address and port; our RTP engine has no session for it.
      const uuids = await freeswitchChannels(fs);
      expect(uuids).toHaveLength(1);
      const media = await freeswitchMedia(fs, uuids[0]);
      expect({ local: media.local, remote: media.remote }).toEqual({
        local: { address: '127.0.0.1', port: answer.port },
        remote: { address: '127.0.0.1', port: rtp.address().port },
      });
      expect(t.server.media.sessionCount).toBe(0);
      // The welcome's RTP came from the answer's address and port, and from nowhere else.
      expect([...from]).toEqual([`127.0.0.1:${answer.port}`]);
      peer.send(call.inDialog('BYE'));
      await peer.expect(isStatus(200, 'BYE'), 5000, '200 OK to the BYE');
      const ended = await t.ended(0);
      expect({ why: describeCall(ended), result: ended.record!.result }).toEqual({ why: describeCall(ended), result: 'hung-up' });
    } finally {
      await peer.close();
      rtp.close();
    }
  });

  test('a message left by baresip on david’s extension lights the lamp on a TCP gateway (SIPp)', async () => {
    const gwPort = await findFreeSipPort('127.0.0.1');
    const t = await start({
      patch: (doc) => {
        doc.gateways = doc.gateways.map((g: any) => (g.name === 'gw1' ? { ...g, port: gwPort } : g));
        doc.notifications = { mwi: { notifyTimeoutSeconds: 5, initialBackoffSeconds: 0.5, maxBackoffSeconds: 2 } };
      },
    });
    const gw = startSippGateway(gwPort, { extension: '51235', host: '127.0.0.1', messagesWaiting: 'yes', voiceMessage: '1/0 (0/0)' });
    // The phone talks from the start: through the greeting (no effect) and after the beep (the message).
    const phone = await BaresipPhone.start({ dir: path.join(dir, 'mwi-phone'), proxy: t.target, dial: dialUri(t, '51235'), user: '14255550140', quitAfterS: 60, mic: speechLike(40, 7) });
    const explain = () => `${t.explain()}\nbaresip output (end):\n${phone.log.replace(/\[\d+:\d+:\d+\] audio=[^\n]*?(?=\[|\n|$)/g, '').slice(-1500)}`;
    const fail = (e: Error) => Promise.reject(new Error(`${e.message}\n${explain()}`));
    let call: ObservedCall;
    try {
      await t.until(() => t.calls.length > 0, 15_000, 'the call from baresip').catch(fail);
      call = t.calls[0];
      await t.until(() => call.channel.events.some((e) => e.type === 'record-start'), 30_000, 'the recording to start').catch(fail);
      await new Promise((r) => setTimeout(r, 4000)); // a 4 s message
    } finally {
      await phone.quit(); // hangs up (BYE)
    }
    await t.ended(0, 15_000).catch(fail);
    const why = describeCall(call);
    expect({ why, flow: call.record!.flow, result: call.record!.result, identity: call.record!.identity }).toEqual({ why, flow: 'call-answering', result: 'message-left', identity: 'david@contoso.com' });
    const r = await gw.done;
    if (r.code !== 0) throw new Error(`SIPp gateway exit ${r.code}\nerrors: ${r.errors}\nstderr: ${r.stderr.slice(-1500)}\n${explain()}`);
    const messages = (await t.cmdlet('Get-VoiceMessage', '-Identity', 'david@contoso.com', '--json')).json;
    const list = Array.isArray(messages) ? messages : [messages];
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ From: '14255550140', Unheard: true });
    // FreeSWITCH recorded it: the WAV holds the phone's voice.
    expect(list[0].DurationSeconds).toBeGreaterThanOrEqual(2);
    expect(rms(readWavPcm(list[0].AudioFile))).toBeGreaterThan(300);
  });

  test('two baresip phones in a meeting: lobby music, then after the leader PIN each hears the other and not itself', async () => {
    const t = await start();
    const dial = dialUri(t, '14255550199');
    const phones: BaresipPhone[] = [];
    const explain = () => `${t.explain()}\n${phones.map((p) => p.log.replace(/\[\d+:\d+:\d+\] audio=[^\n]*?(?=\[|\n|$)/g, '').slice(-800)).join('\n---\n')}\nFreeSWITCH log:\n${fs.logTail(20)}`;
    const fail = (e: Error) => Promise.reject(new Error(`${e.message}\n${explain()}`));
    const heard = (call: ObservedCall, id: string) => call.channel.heard.some((p) => p.id === id);
    const when = async (n: number, id: string, ms = 20_000) => {
      await t.until(() => t.calls.length > n, 15_000, `call #${n + 1}`).catch(fail);
      await t.until(() => heard(t.calls[n], id), ms, `call #${n + 1} to hear ${id}`).catch(fail);
      return t.calls[n];
    };
    // The room serve names for this data folder's meeting (cli/serve.ts: the data folder's hash, then the ID).
    const room = `${meetingRoomPrefix(t.server.app)}${ROOM}`;
    const members = async () => {
      const reply = (await eslApi(fs.eslPort, fs.secret, `conference ${room} list count`)).trim();
      return /^\d+$/.test(reply) ? Number(reply) : 0;
    };
    try {
      // The participant (a 1.8 kHz tone): conference ID, no key at "if you are the organizer", the lobby.
      const p1 = await BaresipPhone.start({ dir: path.join(dir, 'p1'), proxy: t.target, dial, user: '14255550130', quitAfterS: 80, mic: sineTone(1800, 80_000, 6000) });
      phones.push(p1);
      await when(0, 'conf-welcome');
      await p1.type(`${ROOM}#`, 300);
      await when(0, 'tone:music-on-hold');
      await new Promise((r) => setTimeout(r, 3_000)); // some music for the record
      // The organizer (a 1 kHz tone): conference ID, `*`, the leader PIN.
      const org = await BaresipPhone.start({ dir: path.join(dir, 'org'), proxy: t.target, dial, user: '14255550131', quitAfterS: 80, mic: sineTone(1000, 80_000, 6000) });
      phones.push(org);
      await when(1, 'conf-welcome');
      await org.type(`${ROOM}#`, 300);
      await when(1, 'conf-organizer-question');
      await org.type('*', 300);
      await when(1, 'conf-enter-leader-pin');
      await org.type('90210#', 300);
      await when(1, 'conf-joining');
      // Both in FreeSWITCH's conference room.
      let n = 0;
      const deadline = Date.now() + 15_000;
      while ((n = await members()) !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      if (n !== 2) await fail(new Error(`FreeSWITCH's room ${room} has ${n} members, not 2`));
      await new Promise((r) => setTimeout(r, 5_000)); // the meeting
      expect(t.calls.slice(0, 2).map((c) => c.channel.events.find((e) => e.type === 'conference'))).toEqual([
        expect.objectContaining({ room: ROOM, role: 'participant' }),
        expect.objectContaining({ room: ROOM, role: 'organizer' }),
      ]);
    } finally {
      for (const p of phones) await p.quit();
    }
    await t.until(() => t.calls.slice(0, 2).every((c) => c.record !== null), 15_000, 'the calls to end').catch(fail);
    for (const c of t.calls.slice(0, 2)) expect({ why: describeCall(c), result: c.record!.result }).toEqual({ why: describeCall(c), result: 'left' });

    const [p1, org] = phones.map((p) => {
      const files = p.heardFiles();
      expect(files).toHaveLength(1);
      return readWavPcm(files[0]);
    });
    const measured = {
      p1: { music: musicBlocks(p1), tone1000: toneBlocks(p1, 1000), tone1800: toneBlocks(p1, 1800) },
      org: { tone1000: toneBlocks(org, 1000), tone1800: toneBlocks(org, 1800) },
    };
    if (process.env.E2E_DEBUG) console.log(measured);
    // The lobby's music: the chords of music-on-hold.wav, a second of it at least.
    expect({ measured, musicOk: measured.p1.music > 50 }).toEqual({ measured, musicOk: true });
    // In the meeting (5 s, 250 blocks): each heard the other's tone for seconds, and never its own.
    expect({
      measured,
      p1HearsOrganizer: measured.p1.tone1000 > 100,
      organizerHearsP1: measured.org.tone1800 > 100,
      p1NotItself: measured.p1.tone1800 === 0,
      organizerNotItself: measured.org.tone1000 === 0,
    }).toEqual({ measured, p1HearsOrganizer: true, organizerHearsP1: true, p1NotItself: true, organizerNotItself: true });
  });

  /**
   * A message left (SIPp) through whichever of `a` and `b` drachtio-server picks is heard through the other one (the
   * network simulator signs in, at most 4 calls until one lands there): the store and the recordings folder are
   * shared, whatever else each instance has of its own.
   */
  async function messageThroughOneHeardThroughOther(a: IvrServer, b: IvrServer, folder: string): Promise<void> {
    expect(b.target).toEqual(a.target);
    const instances = [a, b];
    /** Which instance handled the calls that arrived since `before` (calls per instance), or null for none or both. */
    const handler = (before: number[]): IvrServer | null => {
      const got = instances.filter((t, i) => t.calls.length > before[i]);
      return got.length === 1 ? got[0] : null;
    };
    const counts = () => instances.map((t) => t.calls.length);

    // Leave a message (SIPp, diverted from 51235).
    const store = a.server.app.store;
    const greeting = PromptCatalog.load().render([...greetingPrompts(await mailboxInfo(store, await store.getMailbox('david@contoso.com'))), { tone: 'beep' }], 'en-US');
    const cwd = path.join(dir, folder);
    mkdirSync(cwd, { recursive: true });
    writeFileSync(path.join(cwd, 'speech-4s.ulaw'), encodeG711(speechLike(4), 0));
    let before = counts();
    const run = await sippCall(a, 'leave-message-rtp-stream.xml', { extra: ['-d', String(Math.round(PromptCatalog.durationOf(greeting) + 150))], cwd, timeoutS: 45 });
    const left = handler(before);
    if (!left) throw new Error(`the message call reached ${counts().map((n, i) => n - before[i]).join(' and ')} calls of the two instances`);
    expectSippSuccess(left, run);
    const leaving = await left.ended(left.calls.length - 1);
    expect({ why: describeCall(leaving), result: leaving.record!.result }).toEqual({ why: describeCall(leaving), result: 'message-left' });
    const [message] = (await a.cmdlet('Get-VoiceMessage', '-Identity', 'david@contoso.com', '--json')).json as Array<{ AudioFile: string; Unheard: boolean }>;
    expect(message).toMatchObject({ Unheard: true });

    // Hear it, until a call lands on the other instance (drachtio-server picks the application: at most 4 calls).
    const scenario = path.join(cwd, 'hear.yaml');
    writeFileSync(
      scenario,
      [
        'name: david hears his message',
        'calls:',
        '  - id: david',
        '    from: "+14255550123"',
        '    to: "+14255550100"',
        '    steps:',
        '      - expectPrompt: enter-extension',
        '      - dtmf: "51235"',
        '      - expectPrompt: enter-pin',
        '      - dtmf: "739164#"',
        '      - expectPrompt: main-menu',
        '      - dtmf: "1"',
        '      - expectPrompt: message-from',
        '      - expectPrompt: voicemail-menu',
        '      - hangup: true',
        '',
      ].join('\n'),
    );
    const other = left === a ? b : a;
    let hearing: ObservedCall | null = null;
    const tries: string[] = [];
    for (let i = 0; i < 4 && !hearing; i++) {
      before = counts();
      const report = await runScenarioOverNetwork(scenario, { target: { transport: 'udp', host: a.target.address, port: a.target.port }, data: a.data, store: a.store, config: a.config });
      const by = handler(before);
      tries.push(by === a ? 'a' : by === b ? 'b' : 'none');
      expect({ passed: report.passed, failures: report.failures }).toEqual({ passed: true, failures: [] });
      if (by === other) hearing = await other.ended(other.calls.length - 1);
    }
    if (process.env.E2E_DEBUG) console.log({ left: left === a ? 'a' : 'b', hearingCalls: tries });
    if (!hearing) throw new Error(`the message was left through instance ${left === a ? 'a' : 'b'}; 4 calls to hear it all went to: ${tries.join(', ')}`);
    // The other instance played the recording the first one stored (FreeSWITCH read the same file).
    const why = describeCall(hearing);
    expect({ why, ids: heardIds(hearing) }).toEqual({ why, ids: expect.arrayContaining(['message-from', null, 'voicemail-menu']) });
    expect(hearing.channel.heard.find((p) => p.id === null)?.file).toBe(message.AudioFile);
    expect(hearing.record).toMatchObject({ flow: 'sign-in', identity: 'david@contoso.com' });
    const [after] = (await b.cmdlet('Get-VoiceMessage', '-Identity', 'david@contoso.com', '--json')).json as Array<{ AudioFile: string; Unheard: boolean }>;
    expect(after).toMatchObject({ AudioFile: message.AudioFile, Unheard: false });
  }

  test('two instances on one data folder behind one drachtio-server and one FreeSWITCH: a message left through one is heard through the other', async () => {
    const a = await start();
    const b = await start({ sameAs: a });
    await messageThroughOneHeardThroughOther(a, b, 'two-instances');
  });

  test('two instances as on two machines (a data folder each, one PostgreSQL, the recordings folder shared) behind one drachtio-server and one FreeSWITCH: a message left through one is heard through the other', async () => {
    const pg = await startPostgres();
    try {
      const store = await pg.createDatabase('fs_two_instances');
      const a = await start({ store });
      const b = await start({ sameAs: a });
      expect(b.data).not.toBe(a.data);
      await messageThroughOneHeardThroughOther(a, b, 'two-instances-postgres');
    } finally {
      await stopAll();
      await pg.stop();
    }
  });
});
