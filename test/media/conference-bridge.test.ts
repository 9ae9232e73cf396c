/**
 * The conference bridge over real RTP on loopback (issue 6): three server-side sessions of one engine in a room,
 * each with a caller on the other end. What each caller receives is decoded and searched for the others' tones with
 * Goertzel: everyone hears the others and not themselves, in their own codec (one caller is a raw UDP socket that
 * speaks PCMA and checks the payload type of what it gets), a muted caller is not heard, entry tones reach the
 * others, and the bridge is gone when the last one leaves.
 */
import { createSocket, type Socket } from 'node:dgram';
import { ConferenceBridge, type ConferenceMember } from '../../src/media/conference-bridge';
import { sineTone } from '../../src/media/conference-tones';
import { decodeG711, encodeG711 } from '../../src/media/g711';
import { MediaEngine } from '../../src/media/media-engine';
import { parseRtp, serializeRtp } from '../../src/media/rtp-packet';
import type { RtpSession } from '../../src/media/rtp-session';
import { ReceivedAudio, toneBlocks } from './media-helpers';

jest.setTimeout(20_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));



let engine: MediaEngine;
beforeEach(async () => {
  engine = await MediaEngine.start({ host: '127.0.0.1', portMin: 0, portMax: 0 });
});
afterEach(async () => {
  await engine.stop();
});

/** A caller on an RtpSession of the same engine, paired with a server-side session. */
async function sessionCaller(pt: 0 | 8): Promise<{ server: RtpSession; client: RtpSession; heard: ReceivedAudio }> {
  const server = await engine.openSession({ inbandDtmf: false });
  const client = await engine.openSession({ inbandDtmf: false });
  server.setRemote({ address: '127.0.0.1', port: client.localPort, payloadType: pt, telephoneEventPt: 101 });
  client.setRemote({ address: '127.0.0.1', port: server.localPort, payloadType: pt, telephoneEventPt: 101 });
  const heard = new ReceivedAudio();
  client.on('audio', (pcm) => heard.add(pcm));
  return { server, client, heard };
}

/** A caller that is a bare UDP socket speaking PCMA: sends RTP by hand and records the payload types it receives. */
async function rawPcmaCaller(): Promise<{ server: RtpSession; socket: Socket; heard: ReceivedAudio; payloadTypes: Set<number>; send(pcm: Int16Array): Promise<void> }> {
  const server = await engine.openSession({ inbandDtmf: false });
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  server.setRemote({ address: '127.0.0.1', port: socket.address().port, payloadType: 8, telephoneEventPt: null });
  const heard = new ReceivedAudio();
  const payloadTypes = new Set<number>();
  socket.on('message', (msg) => {
    const p = parseRtp(msg);
    if (!p) return;
    payloadTypes.add(p.payloadType);
    heard.add(decodeG711(p.payload, p.payloadType as 0 | 8));
  });
  let seq = 1;
  let ts = 1000;
  const send = async (pcm: Int16Array) => {
    for (let i = 0; i + 160 <= pcm.length; i += 160) {
      const payload = encodeG711(pcm.subarray(i, i + 160), 8);
      socket.send(serializeRtp({ marker: i === 0, payloadType: 8, sequenceNumber: seq++ & 0xffff, timestamp: ts, ssrc: 0x1234 }, payload), server.localPort, '127.0.0.1');
      ts += 160;
      await sleep(20);
    }
  };
  return { server, socket, heard, payloadTypes, send };
}

describe('ConferenceBridge', () => {
  it('mixes real RTP: each caller hears the others, not itself, in its own codec; a muted caller is not heard', async () => {
    const a = await sessionCaller(0);
    const b = await rawPcmaCaller();
    const c = await sessionCaller(0);
    const bridge = ConferenceBridge.forRoom(engine, '4455667');
    const sounds: string[] = [];
    const ma = bridge.join(a.server, { label: 'a', onRoomSound: (id) => sounds.push(`a:${id}`) });
    const mb = bridge.join(b.server, { label: 'b', onRoomSound: (id) => sounds.push(`b:${id}`) });
    const mc: ConferenceMember = bridge.join(c.server, { label: 'c', onRoomSound: (id) => sounds.push(`c:${id}`) });
    expect(ConferenceBridge.forRoom(engine, '4455667')).toBe(bridge);
    expect(bridge.size).toBe(3);

    // a says 1 kHz, b says 1.8 kHz (PCMA, by hand), c is muted and says 2.4 kHz.
    mc.setMuted(true);
    expect(mc.muted).toBe(true);
    const t0 = Date.now();
    a.client.play(sineTone(1000, 1500));
    c.client.play(sineTone(2400, 1500));
    await b.send(sineTone(1800, 1500));
    await sleep(200);
    const t1 = Date.now();
    // Skip the first 300 ms (priming, loopback latency).
    const win = (h: ReceivedAudio) => h.between(t0 + 300, t1 - 300);
    expect(toneBlocks(win(a.heard), 1800)).toBeGreaterThan(0.8);
    expect(toneBlocks(win(c.heard), 1000)).toBeGreaterThan(0.8);
    expect(toneBlocks(win(c.heard), 1800)).toBeGreaterThan(0.8);
    expect(toneBlocks(win(b.heard), 1000)).toBeGreaterThan(0.8);
    // Nobody hears themselves; nobody hears the muted caller.
    expect(toneBlocks(win(a.heard), 1000)).toBe(0);
    expect(toneBlocks(win(b.heard), 1800)).toBe(0);
    for (const h of [a.heard, b.heard]) expect(toneBlocks(win(h), 2400)).toBe(0);
    // The PCMA caller gets PCMA.
    expect([...b.payloadTypes]).toEqual([8]);
    const stats = bridge.stats();
    expect(stats.participants.find((p) => p.label === 'c')).toMatchObject({ muted: true, framesHeard: 0 });
    expect(stats.participants.find((p) => p.label === 'a')!.framesHeard).toBeGreaterThan(50);

    // Unmuted, c is heard.
    mc.setMuted(false);
    const t2 = Date.now();
    c.client.play(sineTone(2400, 1000));
    await sleep(1100);
    expect(toneBlocks(a.heard.between(t2 + 300, Date.now() - 200), 2400)).toBeGreaterThan(0.8);

    // An entry tone goes to the others (their heard-logs are told), over the voices.
    ma.playToOthers(sineTone(600, 300), 'tone:conf-join');
    expect(sounds).toEqual(['b:tone:conf-join', 'c:tone:conf-join']);

    ma.leave();
    ma.leave();
    mb.leave();
    expect(ConferenceBridge.find(engine, '4455667')).toBe(bridge);
    c.server.close(); // closing the session leaves the room
    expect(bridge.size).toBe(0);
    expect(ConferenceBridge.find(engine, '4455667')).toBeUndefined();
    b.socket.close();
  });

  it('sends the mix (silence included) while in the room, and nothing once out of it', async () => {
    const a = await sessionCaller(8);
    const b = await sessionCaller(8);
    let packets = 0;
    a.client.on('audio', () => packets++);
    const bridge = ConferenceBridge.forRoom(engine, 'r2');
    const ma = bridge.join(a.server, { label: 'a' });
    bridge.join(b.server, { label: 'b' });
    await sleep(500);
    expect(packets).toBeGreaterThan(15); // about 25 silent packets in 500 ms
    ma.leave();
    await sleep(100);
    const after = packets;
    await sleep(300);
    expect(packets).toBe(after);
  });
});
