/**
 * The `audio` event of an RTP session (added for the network simulator): the remote's decoded samples in stream
 * order, zeros for lost packets (a timestamp gap up to 1 s), nothing for a late or repeated packet, no filling
 * across a long pause or a new SSRC. RTP is sent by hand from a UDP socket on 127.0.0.1.
 */
import { createSocket, type Socket } from 'node:dgram';
import { decodeG711, encodeG711 } from '../../../src/media/g711';
import { MediaEngine, type RtpSession } from '../../../src/media/media-engine';
import { AUDIO_GAP_FILL_MAX_SAMPLES } from '../../../src/media/rtp-session';
import { serializeRtp } from '../../../src/media/rtp-packet';

let engine: MediaEngine;
let session: RtpSession;
let sender: Socket;
const received: Int16Array[] = [];

beforeAll(async () => {
  engine = await MediaEngine.start({ host: '127.0.0.1', portMin: 0, portMax: 0 });
  session = await engine.openSession({ inbandDtmf: false });
  sender = createSocket('udp4');
  await new Promise<void>((resolve) => sender.bind(0, '127.0.0.1', () => resolve()));
  session.setRemote({ address: '127.0.0.1', port: sender.address().port, payloadType: 0, telephoneEventPt: 101 });
  session.on('audio', (pcm) => received.push(pcm));
});
afterAll(async () => {
  await engine.stop();
  sender.close();
});

/** 160 samples of a constant value, as PCMU. */
const frame = (v: number) => encodeG711(new Int16Array(160).fill(v), 0);
const heard = (v: number) => decodeG711(frame(v), 0)[0];

async function send(packets: { ts: number; seq: number; v: number; ssrc?: number }[]): Promise<Int16Array> {
  received.length = 0;
  for (const p of packets) {
    sender.send(serializeRtp({ payloadType: 0, sequenceNumber: p.seq, timestamp: p.ts, ssrc: p.ssrc ?? 1234 }, frame(p.v)), session.localPort, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 5));
  }
  for (let i = 0; i < 100 && received.reduce((n, a) => n + a.length, 0) === 0; i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50));
  const all = new Int16Array(received.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of received) {
    all.set(a, o);
    o += a.length;
  }
  return all;
}

test('samples in order; a lost packet becomes 160 zeros; late and repeated packets are dropped', async () => {
  const out = await send([
    { ts: 1000, seq: 1, v: 1000 },
    { ts: 1160, seq: 2, v: 2000 },
    // seq 3 (ts 1320) lost
    { ts: 1480, seq: 4, v: 3000 },
    { ts: 1160, seq: 2, v: 2000 }, // repeated
    { ts: 1320, seq: 3, v: 9000 }, // late: its place was filled already
    { ts: 1640, seq: 5, v: 4000 },
  ]);
  expect(out.length).toBe(5 * 160);
  expect([out[0], out[160], out[320], out[480], out[640]]).toEqual([heard(1000), heard(2000), 0, heard(3000), heard(4000)]);
});

test('a pause longer than 1 s is not filled; a new SSRC starts afresh', async () => {
  const out = await send([
    { ts: 50_000, seq: 10, v: 1000, ssrc: 77 },
    { ts: 50_160 + AUDIO_GAP_FILL_MAX_SAMPLES + 160, seq: 11, v: 2000, ssrc: 77 },
    { ts: 5, seq: 1, v: 3000, ssrc: 78 },
  ]);
  expect(out.length).toBe(3 * 160);
  expect([out[0], out[160], out[320]]).toEqual([heard(1000), heard(2000), heard(3000)]);
});
