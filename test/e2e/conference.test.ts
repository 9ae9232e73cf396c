/**
 * A meeting over real SIP and RTP (issue 6), against `serve` as it runs (`startServer`), with callers that are real
 * SIP user agents with their own RTP (the network simulator's `NetCaller`, on its own RTP engine). What each caller
 * receives is decoded and examined: the lobby's music is real, non-silent RTP; the organizer's 1 kHz tone is found
 * by Goertzel in the participant's received audio, and the participant's tone in the organizer's; a muted caller's
 * tone leaves no energy at its frequency in what the others receive (and is heard again once unmuted); three wrong
 * leader PINs end the call; a leader PIN reset with the cmdlet counts from the next call.
 */
import { ConferenceBridge } from '../../src/media/conference-bridge';
import { toneShare } from '../../src/media/conference-tones';
import { MediaEngine } from '../../src/media/media-engine';
import type { RtpSession, RtpSessionOptions } from '../../src/media/rtp-session';
import { PromptCatalog } from '../../src/prompts/catalog';
import { NetCaller } from '../../src/sim/net/net-caller';
import { SipClient } from '../../src/sip/embedded/sip-client';
import { rms } from './helpers/audio';
import { ReceivedAudio, toneBlocks } from '../media/media-helpers';
import { startIvrServer, type IvrServer } from './helpers/ivr-server';

jest.setTimeout(120_000);

const ROOM = '4455667';
const catalog = PromptCatalog.load();
let t: IvrServer;
let client: SipClient;
let media: MediaEngine;


interface TestCaller {
  net: NetCaller;
  received: ReceivedAudio;
}

/** Places a call to the conferencing number; the caller's received audio is kept with arrival times. */
async function call(from: string | null): Promise<TestCaller> {
  const received = new ReceivedAudio();
  const open = media.openSession.bind(media);
  let session: RtpSession | undefined;
  media.openSession = async (o?: RtpSessionOptions) => (session = await open(o));
  let net: NetCaller;
  try {
    net = await NetCaller.place({
      client,
      target: { transport: 'udp', host: '127.0.0.1', port: t.server.sip.port },
      media,
      mediaAddress: '127.0.0.1',
      catalog,
      locales: ['en-US'],
      now: () => Date.now(),
      to: '+14255550199',
      from,
    });
  } finally {
    media.openSession = open;
  }
  session!.on('audio', (pcm) => received.add(pcm));
  net.watchTones(TONES_HZ);
  live.push(net);
  return { net, received };
}

/** The tones the callers send; every caller listens for them from the start. */
const TONES_HZ = [1000, 1800, 2400];
/** Calls still up, hung up after each test so the next one starts without a meeting. */
const live: NetCaller[] = [];
afterEach(async () => {
  for (const c of live.splice(0)) c.callerHangup();
  await t.until(() => !t.server.runtime.meetings.isStarted(ROOM), 10_000, 'the meeting to end');
});

/** Waits for a prompt id from the start of the call; fails with what was heard. */
async function heard(c: TestCaller, id: string, withinMs = 30_000): Promise<number> {
  const r = await c.net.waitForPrompt(id, 0, withinMs);
  if (typeof r === 'string') throw new Error(`${id}: ${r}; heard ${c.net.heard.map((h) => h.id).join(', ')}`);
  return r.at;
}

/** Presses keys (RFC 4733), 150 ms apart. */
async function press(c: TestCaller, keys: string): Promise<void> {
  expect(await c.net.pressDigits(keys, 150)).toBe(keys.length);
}


/** The level of the `hz` component of the audio, dBov (Goertzel power over 20 ms blocks, averaged). */
function levelAt(pcm: Int16Array, hz: number): number {
  let sum = 0;
  let blocks = 0;
  for (let i = 0; i + 160 <= pcm.length; i += 160) {
    const b = pcm.subarray(i, i + 160);
    const { share } = toneShare(b, hz);
    let e = 0;
    for (const x of b) e += x * x;
    sum += share * (e / 160);
    blocks++;
  }
  return blocks === 0 ? -Infinity : 10 * Math.log10(sum / blocks / (32768 * 32768) + 1e-15);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  t = await startIvrServer();
  client = await SipClient.start({ localAddress: '127.0.0.1' });
  media = await MediaEngine.start({ host: '127.0.0.1', portMin: 0, portMax: 0 });
});
afterAll(async () => {
  await media?.stop();
  await client?.stop();
  await t?.stop();
});

test('lobby music, the organizer starts with the leader PIN, callers hear each other, a muted caller is not heard', async () => {
  // A participant waits in the lobby: the music on hold is real RTP with sound in it.
  const p = await call('+14255550130');
  await press(p, `${ROOM}#`);
  const mohAt = await heard(p, 'tone:music-on-hold');
  await sleep(2_500);
  const music = p.received.between(mohAt + 300, mohAt + 2_300);
  expect(music.length).toBeGreaterThan(0.8 * 2 * 8000); // about 2 s of packets: the music is streamed, not sent once
  expect(rms(music)).toBeGreaterThan(300);
  expect(ConferenceBridge.find(t.server.media, ROOM)).toBeUndefined(); // nobody is in the meeting yet

  // A second participant waits too.
  const q = await call('+14255550132');
  await press(q, `${ROOM}#`);
  await heard(q, 'tone:music-on-hold');

  // The organizer enters the leader PIN: the meeting starts and the lobby joins.
  const o = await call('+14255550131');
  await press(o, `${ROOM}#`);
  await heard(o, 'conf-organizer-question');
  await press(o, '*');
  await heard(o, 'conf-enter-leader-pin');
  await press(o, '90210#');
  await heard(o, 'conf-joining');
  await heard(p, 'conf-joining');
  await heard(q, 'conf-joining');
  await t.until(() => ConferenceBridge.find(t.server.media, ROOM)?.size === 3, 10_000, 'three callers in the bridge');
  await sleep(500);

  // The organizer's 1 kHz tone reaches both participants, found in the audio they received.
  const t1 = Date.now();
  await o.net.speakTone(1000, 2_000);
  expect(await p.net.waitForTone(1000, t1, 3_000)).toMatchObject({ hz: 1000 });
  expect(await q.net.waitForTone(1000, t1, 3_000)).toMatchObject({ hz: 1000 });
  expect(toneBlocks(p.received.between(t1 + 400, t1 + 1_800), 1000)).toBeGreaterThan(0.8);
  expect(toneBlocks(o.received.between(t1 + 400, t1 + 1_800), 1000)).toBe(0); // not back to the organizer

  // The participant's 1.8 kHz tone reaches the organizer.
  const t2 = Date.now();
  await p.net.speakTone(1800, 2_000);
  expect(await o.net.waitForTone(1800, t2, 3_000)).toMatchObject({ hz: 1800 });
  expect(toneBlocks(o.received.between(t2 + 400, t2 + 1_800), 1800)).toBeGreaterThan(0.8);

  // The second participant mutes itself (*6): its 2.4 kHz tone leaves no energy at 2.4 kHz in what the others get.
  await press(q, '*6');
  await heard(q, 'conf-muted');
  await sleep(300);
  const t3 = Date.now();
  await q.net.speakTone(2400, 2_000);
  for (const other of [o, p]) {
    const got = other.received.between(t3 + 200, t3 + 2_000);
    expect(got.length).toBeGreaterThan(8000); // the others still receive the meeting
    expect(toneBlocks(got, 2400)).toBe(0);
    expect(levelAt(got, 2400)).toBeLessThan(-60);
  }
  expect(o.net.heardTones.some((h) => h.hz === 2400)).toBe(false);

  // Unmuted (*6 again), it is heard.
  await press(q, '*6');
  await heard(q, 'conf-unmuted');
  await sleep(1_500);
  const t4 = Date.now();
  await q.net.speakTone(2400, 1_500);
  expect(await o.net.waitForTone(2400, t4, 3_000)).toMatchObject({ hz: 2400 });
  expect(levelAt(o.received.between(t4 + 300, t4 + 1_300), 2400)).toBeGreaterThan(-30);

  // The organizer leaves: the meeting goes on; the last caller ends it.
  const n = t.calls.length;
  o.net.callerHangup();
  await sleep(500);
  expect(ConferenceBridge.find(t.server.media, ROOM)?.size).toBe(2);
  expect(t.server.runtime.meetings.isStarted(ROOM)).toBe(true);
  p.net.callerHangup();
  q.net.callerHangup();
  await t.until(() => t.calls.slice(0, n).every((c) => c.record !== null), 10_000, 'the three calls to end');
  expect(t.calls.slice(0, n).map((c) => c.record!.result)).toEqual(['left', 'left', 'left']);
  expect(t.server.runtime.meetings.isStarted(ROOM)).toBe(false);
  expect(ConferenceBridge.find(t.server.media, ROOM)).toBeUndefined();
  // The server's side of it: the organizer's and the participants' channels heard the entry tones.
  const serverHeard = t.calls.slice(0, n).map((c) => c.channel.heard.map((h) => h.id));
  expect(serverHeard.flat()).toContain('tone:conf-join');
});

test('three wrong leader PINs end the call', async () => {
  const n = t.calls.length;
  const o = await call('+14255550131');
  await press(o, `${ROOM}#`);
  await heard(o, 'conf-organizer-question');
  await press(o, '*');
  for (const pin of ['11111', '22222', '33333']) {
    await heard(o, 'conf-enter-leader-pin');
    await press(o, `${pin}#`);
    await sleep(1_000);
  }
  expect(await o.net.waitForEnd(15_000)).toBe('ivr');
  const server = await t.ended(n);
  expect(server.record!.result).toBe('leader-pin-failed');
  expect(server.channel.heard.filter((h) => h.id === 'conf-leader-pin-incorrect')).toHaveLength(3);
  expect(t.logs.join('\n')).not.toMatch(/11111|22222|33333/); // never log a PIN
});

test('a leader PIN reset with Set-CsOnlineDialInConferencingUser counts from the next call', async () => {
  const r = await t.cmdlet('Set-CsOnlineDialInConferencingUser', 'amos.marble@contoso.com', '-ResetLeaderPIN', '-SendEmail:$false', '--json');
  expect(r.code).toBe(0);
  const newPin: string = (Array.isArray(r.json) ? r.json[0] : r.json).LeaderPin;
  expect(newPin).toMatch(/^[0-9]{5}$/);

  const tryPin = async (pin: string): Promise<string> => {
    const o = await call('+14255550131');
    await press(o, `${ROOM}#`);
    await heard(o, 'conf-organizer-question');
    await press(o, '*');
    await heard(o, 'conf-enter-leader-pin');
    await press(o, `${pin}#`);
    const got = await Promise.race([
      heard(o, 'conf-joining', 10_000).then(() => 'joined'),
      heard(o, 'conf-leader-pin-incorrect', 10_000).then(() => 'refused'),
    ]);
    o.net.callerHangup();
    await o.net.waitForEnd(5_000);
    return got;
  };
  expect(await tryPin('90210')).toBe('refused');
  expect(await tryPin(newPin)).toBe('joined');
});
