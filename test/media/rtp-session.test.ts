/**
 * The RTP engine over real UDP sockets on 127.0.0.1 (ports chosen by the system, or a small range that tolerates
 * ports taken by others). Timing assertions are loose on purpose: the suite runs on a busy 2-core machine.
 */
import { createSocket, type Socket } from 'node:dgram';
import { decodeG711, encodeG711 } from '../../src/media/g711';
import { dtmfTone } from '../../src/media/goertzel';
import { MediaEngine, type RtpSession, type SessionDtmf } from '../../src/media/media-engine';
import { DtmfEventSender, serializeTelephoneEvent } from '../../src/media/rfc4733';
import { parseRtp, serializeRtp, type RtpPacket } from '../../src/media/rtp-packet';
import { closeAll, concat, rms, silence, sine, sleep, speechLike, udpSocket, waitFor } from './media-helpers';

jest.setTimeout(20_000);

const HOST = '127.0.0.1';
let engine: MediaEngine;
const sockets: Socket[] = [];

beforeEach(async () => {
  engine = await MediaEngine.start({ host: HOST, portMin: 0, portMax: 0 });
});
afterEach(async () => {
  await engine.stop();
  closeAll(...sockets.splice(0));
});

async function sink(): Promise<{ socket: Socket; port: number; packets: (RtpPacket & { at: number })[] }> {
  const socket = await udpSocket();
  sockets.push(socket);
  const packets: (RtpPacket & { at: number })[] = [];
  socket.on('message', (m) => {
    const p = parseRtp(m);
    if (p) packets.push({ ...p, payload: Uint8Array.from(p.payload), at: Date.now() });
  });
  return { socket, port: socket.address().port, packets };
}

async function pair(te: number | null = 101, pt: 0 | 8 = 0): Promise<[RtpSession, RtpSession]> {
  const a = await engine.openSession();
  const b = await engine.openSession();
  a.setRemote({ address: HOST, port: b.localPort, payloadType: pt, telephoneEventPt: te });
  b.setRemote({ address: HOST, port: a.localPort, payloadType: pt, telephoneEventPt: te });
  return [a, b];
}

function send(s: Socket, port: number, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => s.send(buf, port, HOST, (err) => (err ? reject(err) : resolve())));
}

/** Normalised cross-correlation of two equal-length signals at lag 0. */
function correlation(x: Int16Array, y: Int16Array): number {
  let xy = 0;
  let xx = 0;
  let yy = 0;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    xy += x[i] * y[i];
    xx += x[i] * x[i];
    yy += y[i] * y[i];
  }
  return xy / Math.sqrt(xx * yy || 1);
}

describe('MediaEngine', () => {
  it('binds even ports in its range, and says clearly when the range is exhausted', async () => {
    const base = 40000 + 2 * Math.floor(Math.random() * 9000);
    const e = await MediaEngine.start({ host: HOST, portMin: base, portMax: base + 3 });
    try {
      const opened: RtpSession[] = [];
      let error: unknown;
      for (let i = 0; i < 3 && !error; i++) {
        try {
          opened.push(await e.openSession());
        } catch (err) {
          error = err;
        }
      }
      expect(error).toMatchObject({ code: 'VA_ERR_MEDIA_NO_PORT', message: expect.stringContaining(`${base}-${base + 3}`) });
      for (const s of opened) {
        expect(s.localPort % 2).toBe(0);
        expect(s.localPort).toBeGreaterThanOrEqual(base);
        expect(s.localPort).toBeLessThanOrEqual(base + 3);
      }
      expect(e.sessionCount).toBe(opened.length);
    } finally {
      await e.stop();
    }
    expect(e.sessionCount).toBe(0);
    await expect(e.openSession()).rejects.toMatchObject({ code: 'VA_ERR_MEDIA_CLOSED' });
  });

  it('skips a port of its range that another socket holds', async () => {
    const base = 40000 + 2 * Math.floor(Math.random() * 9000);
    const squatter = await new Promise<Socket | null>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(null));
      s.bind(base, HOST, () => resolve(s));
    });
    if (!squatter) return; // someone else has it: nothing to prove with this base
    sockets.push(squatter);
    const e = await MediaEngine.start({ host: HOST, portMin: base, portMax: base + 2 });
    try {
      const s = await e.openSession().catch((err: { code: string }) => err);
      if ('localPort' in s) expect(s.localPort).toBe(base + 2);
      else expect(s.code).toBe('VA_ERR_MEDIA_NO_PORT'); // base + 2 taken by another process meanwhile
    } finally {
      await e.stop();
    }
  });

  it('refuses bad options', async () => {
    await expect(MediaEngine.start({ host: '', portMin: 0, portMax: 0 })).rejects.toThrow(/host/);
    await expect(MediaEngine.start({ host: HOST, portMin: 3000, portMax: 2000 })).rejects.toThrow(/invalid/);
    await expect(MediaEngine.start({ host: HOST, portMin: 3001, portMax: 3001 })).rejects.toThrow(/no even port/);
    // 192.0.2.1 (TEST-NET-1) is not a local address: binding fails at once, nothing is sent anywhere.
    const e = await MediaEngine.start({ host: '192.0.2.1', portMin: 0, portMax: 0 });
    await expect(e.openSession()).rejects.toMatchObject({ code: 'VA_ERR_MEDIA_BIND' });
    await e.stop();
  });

  it('runs one shared tick and reports its deviation from the deadlines', async () => {
    const [a] = await pair();
    a.play(silence(300));
    await sleep(400);
    const st = engine.tickStats();
    expect(st.ticks).toBeGreaterThanOrEqual(5);
    expect(st.p50Ms).toBeGreaterThanOrEqual(0);
    expect(st.p99Ms).toBeGreaterThanOrEqual(st.p50Ms);
    expect(st.maxMs).toBeGreaterThanOrEqual(st.p99Ms);
  });
});

describe('RtpSession', () => {
  it('PCM played on one session arrives decoded on the other, and a recording captures it', async () => {
    const [a, b] = await pair(101, 8);
    const rec = b.startRecording();
    const tone = concat(sine(440, 600, 9000), sine(880, 400, 6000));
    const started = Date.now();
    const pb = a.play(tone);
    expect(await pb.done).toBe('done');
    const elapsed = Date.now() - started;
    expect(pb.playedMs).toBe(1000);
    await waitFor(() => b.stats.packetsIn >= 50, 2000);
    const got = rec.stop();
    expect(rec.stop()).toBe(got); // idempotent
    // 1 s of audio at 20 ms pacing: ~1 s of wall time (loose), 50 packets.
    expect(elapsed).toBeGreaterThan(700);
    expect(elapsed).toBeLessThan(5000);
    expect(a.stats.packetsOut).toBe(50);
    expect(got.length).toBe(8000);
    const expected = decodeG711(encodeG711(tone, 8), 8);
    expect(correlation(got, expected)).toBeGreaterThan(0.99);
    expect(Math.abs(rms(got) - rms(tone)) / rms(tone)).toBeLessThan(0.05);
  });

  it('sends RFC 3550 packets: 160 samples per 20 ms, sequence +1, timestamp +160, one SSRC, marker on the first after silence', async () => {
    const a = await engine.openSession();
    const s = await sink();
    a.setRemote({ address: HOST, port: s.port, payloadType: 0, telephoneEventPt: null });
    await a.play(sine(500, 400, 5000)).done;
    await sleep(300); // a pause: nothing is sent while nothing plays
    const before = s.packets.length;
    await sleep(200);
    expect(s.packets.length).toBe(before);
    await a.play(sine(500, 200, 5000)).done;
    await waitFor(() => s.packets.length >= 30, 2000);
    const p = s.packets;
    expect(p).toHaveLength(30);
    expect(p.every((x) => x.payloadType === 0 && x.payload.length === 160 && x.ssrc === p[0].ssrc)).toBe(true);
    for (let i = 1; i < p.length; i++) expect(p[i].sequenceNumber).toBe((p[i - 1].sequenceNumber + 1) & 0xffff);
    for (let i = 1; i < 20; i++) expect((p[i].timestamp - p[i - 1].timestamp) >>> 0).toBe(160);
    // after the pause the timestamp jumped by the pause (the media clock runs on), with the marker set
    expect(((p[20].timestamp - p[19].timestamp) >>> 0) % 160).toBe(0);
    expect((p[20].timestamp - p[19].timestamp) >>> 0).toBeGreaterThan(160 * 10);
    expect(p.map((x, i) => (x.marker ? i : -1)).filter((i) => i >= 0)).toEqual([0, 20]);
    // pacing, loosely: 20 packets took about 400 ms
    const span = p[19].at - p[0].at;
    expect(span).toBeGreaterThan(250);
    expect(span).toBeLessThan(2000);
    expect(a.stats.sendIntervalP99DeviationMs).toBeGreaterThanOrEqual(0);
  });

  it('queues prompts in order and stops one on request', async () => {
    const [a] = await pair();
    const first = a.play(sine(300, 200, 3000));
    const second = a.play(sine(300, 3000, 3000));
    const third = a.play(sine(300, 100, 3000));
    expect(await first.done).toBe('done');
    await sleep(100);
    second.stop();
    second.stop();
    expect(await second.done).toBe('stopped');
    expect(second.playedMs).toBeGreaterThan(0);
    expect(second.playedMs).toBeLessThan(3000);
    expect(await third.done).toBe('done');
    a.close();
    expect(await a.play(sine(300, 100, 3000)).done).toBe('stopped');
  });

  it('receives any packet time: PCMA at 30 ms (SIPp g711a.pcap), with a lost packet recorded as silence', async () => {
    const b = await engine.openSession();
    const c = await udpSocket();
    sockets.push(c);
    b.setRemote({ address: HOST, port: c.address().port, payloadType: 8, telephoneEventPt: 101 });
    const rec = b.startRecording();
    const tone = sine(400, 300, 8000); // 10 packets of 240 samples
    for (let i = 0; i < 10; i++) {
      if (i === 4) continue; // lost
      const payload = encodeG711(tone.subarray(i * 240, (i + 1) * 240), 8);
      await send(c, b.localPort, serializeRtp({ payloadType: 8, sequenceNumber: 7 + i, timestamp: 1000 + i * 240, ssrc: 77 }, payload));
    }
    await waitFor(() => b.stats.packetsIn >= 9, 2000);
    const got = rec.stop();
    expect(got.length).toBe(2400);
    expect(rms(got.subarray(4 * 240, 5 * 240))).toBe(0);
    expect(rms(got.subarray(5 * 240, 6 * 240))).toBeGreaterThan(3000);
    expect(correlation(got.subarray(0, 960), tone.subarray(0, 960))).toBeGreaterThan(0.99);
  });

  it('latches: once RTP comes from another address:port than the SDP said, it sends there', async () => {
    const a = await engine.openSession();
    const sdpSide = await sink();
    const real = await sink();
    a.setRemote({ address: HOST, port: sdpSide.port, payloadType: 0, telephoneEventPt: null });
    const latched: unknown[] = [];
    a.on('latch', (l) => latched.push(l));
    a.play(sine(440, 3000, 4000));
    await waitFor(() => sdpSide.packets.length >= 2, 2000);
    // The caller's RTP really comes from another port (NAT).
    for (let i = 0; i < 3; i++) {
      await send(real.socket, a.localPort, serializeRtp({ payloadType: 0, sequenceNumber: i, timestamp: i * 160, ssrc: 5 }, new Uint8Array(160).fill(0xff)));
    }
    expect(await waitFor(() => real.packets.length >= 5, 3000)).toBe(true);
    const sdpCount = sdpSide.packets.length;
    await sleep(100);
    expect(sdpSide.packets.length).toBe(sdpCount);
    expect(latched).toEqual([{ address: HOST, port: real.port }]);
    expect(a.remoteTarget).toEqual({ address: HOST, port: real.port });
  });

  it('never latches to source port 0 (SIPp replays its digit captures from a raw socket so), yet uses the packet', async () => {
    const a = await engine.openSession();
    const caller = await sink();
    a.setRemote({ address: HOST, port: caller.port, payloadType: 0, telephoneEventPt: 101 });
    const latched: unknown[] = [];
    a.on('latch', (l) => latched.push(l));
    const before = a.stats.packetsIn;
    // A datagram from port 0 cannot be sent from a normal socket: hand it to the session's socket as the kernel would.
    const socket = (a as unknown as { socket: import('node:dgram').Socket }).socket;
    const pkt = serializeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 160, ssrc: 9 }, new Uint8Array(160).fill(0xff));
    socket.emit('message', Buffer.from(pkt), { address: HOST, family: 'IPv4', port: 0, size: pkt.length });
    await sleep(50);
    expect(a.stats.packetsIn).toBe(before + 1);
    expect(latched).toEqual([]);
    expect(a.remoteTarget).toEqual({ address: HOST, port: caller.port });
  });

  it('does not let a third party steal a live stream (latches only when the current source is quiet)', async () => {
    const a = await engine.openSession();
    const caller = await sink();
    const intruder = await sink();
    a.setRemote({ address: HOST, port: caller.port, payloadType: 0, telephoneEventPt: null });
    const rtp = (seq: number) => serializeRtp({ payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc: 1 }, new Uint8Array(160).fill(0xff));
    a.play(sine(440, 2000, 4000));
    for (let i = 0; i < 5; i++) {
      await send(caller.socket, a.localPort, rtp(i));
      await send(intruder.socket, a.localPort, rtp(100 + i));
      await sleep(20);
    }
    await sleep(100);
    expect(a.remoteTarget).toEqual({ address: HOST, port: caller.port });
    expect(intruder.packets).toHaveLength(0);
  });

  it('sendDtmf on one session gives exactly one dtmf event on the other', async () => {
    const [a, b] = await pair(101);
    const events: SessionDtmf[] = [];
    b.on('dtmf', (e) => events.push(e));
    await a.sendDtmf('7', 120);
    await a.sendDtmf('#', 60);
    await waitFor(() => events.length >= 2, 2000);
    await sleep(300);
    expect(events).toEqual([
      { digit: '7', source: 'rfc4733', durationMs: 120 },
      { digit: '#', source: 'rfc4733', durationMs: 60 },
    ]);
    await expect(a.sendDtmf('x', 100)).rejects.toMatchObject({ code: 'VA_ERR_MEDIA_ARGUMENT' });
  });

  it('sendDtmf sends marker first, one timestamp per event, the end packet 3x', async () => {
    const a = await engine.openSession();
    const s = await sink();
    a.setRemote({ address: HOST, port: s.port, payloadType: 0, telephoneEventPt: 96 });
    await a.sendDtmf('1', 100);
    await a.sendDtmf('2', 100);
    await waitFor(() => s.packets.length >= 14, 2000);
    const p = s.packets;
    expect(p).toHaveLength(14);
    expect(p.every((x) => x.payloadType === 96)).toBe(true);
    expect(p.map((x) => (x.marker ? 1 : 0)).join('')).toBe('10000001000000');
    expect(new Set(p.slice(0, 7).map((x) => x.timestamp)).size).toBe(1);
    expect(p[7].timestamp).not.toBe(p[0].timestamp);
    expect(p.slice(4, 7).every((x) => (x.payload[1] & 0x80) !== 0)).toBe(true);
  });

  it('sendDtmf without a negotiated telephone-event is refused', async () => {
    const [a] = await pair(null);
    await expect(a.sendDtmf('1', 100)).rejects.toMatchObject({ code: 'VA_ERR_MEDIA_NO_TELEPHONE_EVENT' });
  });

  it('SIPp-style digits: another SSRC than the audio, end packets sharing one sequence number, replayed with the same timestamp', async () => {
    const b = await engine.openSession();
    const c = await udpSocket();
    sockets.push(c);
    b.setRemote({ address: HOST, port: c.address().port, payloadType: 0, telephoneEventPt: 101 });
    const events: SessionDtmf[] = [];
    b.on('dtmf', (e) => events.push(e));
    const capture = async () => {
      // audio from SSRC 1
      await send(c, b.localPort, serializeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 0, ssrc: 1 }, new Uint8Array(160).fill(0xff)));
      // the digit from SSRC 2: updates, then three end packets with ONE sequence number
      const h = { payloadType: 101, timestamp: 8000, ssrc: 2 };
      for (let k = 1; k <= 4; k++) {
        await send(c, b.localPort, serializeRtp({ ...h, marker: k === 1, sequenceNumber: 100 + k }, serializeTelephoneEvent({ event: 3, end: false, volume: 10, duration: k * 160 })));
        await sleep(20);
      }
      for (let k = 0; k < 3; k++) {
        await send(c, b.localPort, serializeRtp({ ...h, sequenceNumber: 105 }, serializeTelephoneEvent({ event: 3, end: true, volume: 10, duration: 800 })));
        await sleep(20);
      }
    };
    await capture();
    await sleep(250);
    await capture(); // the same capture replayed: same timestamp, same sequence numbers
    await waitFor(() => events.length >= 2, 2000);
    await sleep(300);
    expect(events.map((e) => e.digit)).toEqual(['3', '3']);
  });

  it('accepts telephone-events on another dynamic payload type than negotiated (a capture replayed as is)', async () => {
    const b = await engine.openSession();
    const c = await udpSocket();
    sockets.push(c);
    b.setRemote({ address: HOST, port: c.address().port, payloadType: 0, telephoneEventPt: 101 });
    const events: SessionDtmf[] = [];
    b.on('dtmf', (e) => events.push(e));
    for (const [k, p] of new DtmfEventSender().plan('6', 60).entries()) {
      await send(c, b.localPort, serializeRtp({ payloadType: 96, marker: p.marker, sequenceNumber: k, timestamp: 320, ssrc: 3 }, p.payload));
    }
    await waitFor(() => events.length >= 1, 2000);
    expect(events).toEqual([{ digit: '6', source: 'rfc4733', durationMs: 60 }]);
  });

  it('detects in-band DTMF in the audio, once per press', async () => {
    const [a, b] = await pair(null);
    const events: SessionDtmf[] = [];
    b.on('dtmf', (e) => events.push(e));
    await a.play(concat(dtmfTone('4', 120), silence(100), dtmfTone('4', 120), silence(100), dtmfTone('D', 100), silence(200))).done;
    await waitFor(() => events.length >= 3, 2000);
    await sleep(200);
    expect(events.map((e) => `${e.digit}:${e.source}`)).toEqual(['4:inband', '4:inband', 'D:inband']);
  });

  it('a tone that also arrives as telephone-events counts once', async () => {
    const b = await engine.openSession();
    const c = await udpSocket();
    sockets.push(c);
    b.setRemote({ address: HOST, port: c.address().port, payloadType: 0, telephoneEventPt: 101 });
    const events: SessionDtmf[] = [];
    b.on('dtmf', (e) => events.push(e));
    // A gateway that leaves the tone in the audio AND sends RFC 4733 for it.
    const audio = concat(silence(100), dtmfTone('9', 160), silence(200));
    const plan = new DtmfEventSender().plan('9', 160);
    let seq = 0;
    for (let f = 0; f < audio.length / 160; f++) {
      await send(c, b.localPort, serializeRtp({ payloadType: 0, sequenceNumber: seq++, timestamp: f * 160, ssrc: 1 }, encodeG711(audio.subarray(f * 160, (f + 1) * 160), 0)));
      const k = f - 5 - 2; // events start 40 ms after the tone (the gateway's detection delay)
      if (k >= 0 && k < plan.length) {
        await send(c, b.localPort, serializeRtp({ payloadType: 101, marker: plan[k].marker, sequenceNumber: seq++, timestamp: 5 * 160, ssrc: 1 }, plan[k].payload));
      }
      await sleep(20);
    }
    await waitFor(() => events.length >= 1, 2000);
    await sleep(400);
    expect(events).toEqual([{ digit: '9', source: 'rfc4733', durationMs: 160 }]);
  });

  it('SIP INFO digits are merged: the same key also sent as RFC 4733 counts once, other keys still count', async () => {
    const [a, b] = await pair(101);
    const events: SessionDtmf[] = [];
    b.on('dtmf', (e) => events.push(e));
    b.injectInfoDtmf('5', 100); // a misconfigured phone: INFO at key-down...
    await a.sendDtmf('5', 100); // ...and RFC 4733 for the same press
    b.injectInfoDtmf('!', 100); // a flash by INFO...
    await a.sendDtmf('8', 100); // ...does not hide the RFC 4733 digits that follow
    await waitFor(() => events.length >= 3, 2000);
    await sleep(300);
    expect(events.map((e) => `${e.digit}:${e.source}`)).toEqual(['5:info', '!:info', '8:rfc4733']);
  });

  it('hold stops sending; resuming sends again with the marker bit', async () => {
    const a = await engine.openSession();
    const s = await sink();
    a.setRemote({ address: HOST, port: s.port, payloadType: 0, telephoneEventPt: null });
    const pb = a.play(sine(440, 5000, 4000));
    await waitFor(() => s.packets.length >= 5, 2000);
    a.setSending(false);
    await sleep(60);
    const held = s.packets.length;
    await sleep(300);
    expect(s.packets.length).toBe(held);
    a.setSending(true);
    await waitFor(() => s.packets.length >= held + 3, 2000);
    expect(s.packets[held].marker).toBe(true);
    pb.stop();
  });

  it('reports voice activity with a hangover', async () => {
    const [a, b] = await pair();
    const voice: [boolean, number][] = [];
    const t0 = Date.now();
    b.on('voice', (v) => voice.push([v, Date.now() - t0]));
    await a.play(concat(silence(200), speechLike(600, 3, 8000), silence(200))).done;
    await waitFor(() => voice.length >= 2, 3000);
    expect(voice.map((v) => v[0])).toEqual([true, false]);
  });

  it('ignores garbage and unknown payload types without crashing', async () => {
    const b = await engine.openSession();
    const c = await udpSocket();
    sockets.push(c);
    b.setRemote({ address: HOST, port: c.address().port, payloadType: 0, telephoneEventPt: 101 });
    await send(c, b.localPort, Buffer.from('garbage'));
    await send(c, b.localPort, serializeRtp({ payloadType: 34, sequenceNumber: 1, timestamp: 0, ssrc: 1 }, new Uint8Array(10)));
    await send(c, b.localPort, serializeRtp({ payloadType: 101, sequenceNumber: 2, timestamp: 0, ssrc: 1 }, new Uint8Array(2)));
    await send(c, b.localPort, serializeRtp({ payloadType: 97, sequenceNumber: 3, timestamp: 0, ssrc: 1 }, new Uint8Array(20)));
    await waitFor(() => b.stats.packetsIn + b.stats.packetsIgnored >= 4, 2000);
    expect(b.stats.packetsIgnored).toBe(3);
    expect(b.isClosed).toBe(false);
  });

  it('validates the remote media', async () => {
    const a = await engine.openSession();
    expect(() => a.setRemote({ address: HOST, port: 0, payloadType: 0, telephoneEventPt: null })).toThrow(/port/);
    expect(() => a.setRemote({ address: HOST, port: 5000, payloadType: 9 as 0, telephoneEventPt: null })).toThrow(/payload type/);
    expect(() => a.setRemote({ address: HOST, port: 5000, payloadType: 0, telephoneEventPt: 200 })).toThrow(/telephone-event/);
  });

  it('close settles everything and frees the session', async () => {
    const [a] = await pair();
    const pb = a.play(sine(440, 5000, 4000));
    const dtmf = a.sendDtmf('1', 1000);
    const n = engine.sessionCount;
    a.close();
    a.close();
    expect(await pb.done).toBe('stopped');
    await expect(dtmf).resolves.toBeUndefined();
    expect(engine.sessionCount).toBe(n - 1);
    await expect(a.sendDtmf('1', 100)).rejects.toMatchObject({ code: 'VA_ERR_MEDIA_CLOSED' });
  });
});
