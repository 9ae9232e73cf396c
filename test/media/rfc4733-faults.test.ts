/**
 * The RFC 4733 receiver against the simulator's DTMF faults (issue 22, "DTMF control and fault injection"): each
 * fault's packets written out here, 20 ms apart on a manual clock, and what the IVR must count (the table in
 * docs/simulator.md, "DTMF faults"). Then the send side: the queue that numbers and places a key's packets, and an
 * RTP session sending them over real UDP.
 */
import { DtmfSendQueue } from '../../src/media/dtmf-send-queue';
import { MediaEngine, type SessionDtmf } from '../../src/media/media-engine';
import { DtmfEventReceiver, digitToEvent, scheduleDtmfPlan, serializeTelephoneEvent, type ReceivedDtmf, type ScheduledDtmfPacket } from '../../src/media/rfc4733';
import { parseRtp, type RtpPacket } from '../../src/media/rtp-packet';
import { closeAll, ManualClock, udpSocket, waitFor, sleep } from './media-helpers';
import type { Socket } from 'node:dgram';

/** One packet: at `ms` from the press's start, marker bit, E bit, duration in timestamp units. */
type P = [ms: number, marker: boolean, end: boolean, duration: number];

function receiver() {
  const clock = new ManualClock();
  const got: ReceivedDtmf[] = [];
  const rx = new DtmfEventReceiver({ clock, onDigit: (d) => got.push(d) });
  return { clock, rx, got, digits: () => got.map((d) => d.digit).join('') };
}
type Rx = ReturnType<typeof receiver>;

/** Feeds one press's packets at their times (the clock moves between them), then lets `afterMs` pass. */
function feed(t: Rx, digit: string, ts: number, packets: P[], afterMs = 0): void {
  const event = digitToEvent(digit)!;
  let at = 0;
  for (const [ms, marker, end, duration] of packets) {
    t.clock.advance(ms - at);
    at = ms;
    t.rx.receive({ marker, timestamp: ts, ssrc: 0xabc }, serializeTelephoneEvent({ event, end, volume: 10, duration }));
  }
  t.clock.advance(afterMs);
}

/** An 80 ms press as our sender sends it: updates at 0/20/40 ms (160/320/480 units), the end (640) 3x at 60/80/100. */
const NORMAL: P[] = [
  [0, true, false, 160],
  [20, false, false, 320],
  [40, false, false, 480],
  [60, false, true, 640],
  [80, false, true, 640],
  [100, false, true, 640],
];

describe('the RFC 4733 receiver against the DTMF faults', () => {
  it('lose-end: a press without end packets counts once, 150 ms after its last packet', () => {
    const t = receiver();
    feed(t, '4', 1000, NORMAL.slice(0, 3), 100);
    expect(t.got).toHaveLength(0); // 100 ms after the last update: still pressed
    t.clock.advance(60);
    expect(t.got).toMatchObject([{ digit: '4', reason: 'timeout' }]);
  });

  it('lose-end: "44" with every end lost is two presses (a new timestamp is a new event); the next key ends the first', () => {
    const t = receiver();
    feed(t, '4', 1000, NORMAL.slice(0, 3), 110); // the next key starts 150 ms after this one
    feed(t, '4', 2200, NORMAL.slice(0, 3), 110);
    expect(t.got.map((d) => d.reason)).toEqual(['interrupted']);
    t.clock.advance(100);
    expect(t.digits()).toBe('44');
  });

  it('single-end: one end packet instead of three counts once', () => {
    const t = receiver();
    feed(t, '5', 1000, NORMAL.slice(0, 4), 500);
    expect(t.got).toMatchObject([{ digit: '5', reason: 'end', durationMs: 80 }]);
  });

  it('end-only: the three end packets alone, the first marked, count once', () => {
    const t = receiver();
    feed(t, '6', 1000, [[60, true, true, 640], [80, false, true, 640], [100, false, true, 640]], 500);
    expect(t.got).toMatchObject([{ digit: '6', reason: 'end', durationMs: 80 }]);
  });

  it('duplicate-event: the whole event again right after its end, same timestamp, marker first: counts twice', () => {
    const t = receiver();
    feed(t, '4', 1000, [...NORMAL, ...NORMAL.map(([ms, ...rest]) => [ms + 120, ...rest] as P)], 500);
    expect(t.digits()).toBe('44');
  });

  it('duplicate-packets: every packet twice (a duplicating network) counts once', () => {
    const t = receiver();
    feed(t, '7', 1000, NORMAL.flatMap((p) => [p, p]), 500);
    expect(t.digits()).toBe('7');
  });

  it('split-marker: a press that stalls 200 ms and resumes with the marker set again counts once (it counted twice before)', () => {
    // 120 ms press: updates 160..800 at 0..80 ms, end 960 at 100/120/140 ms; the second half 200 ms late, re-marked.
    const t = receiver();
    feed(
      t,
      '4',
      1000,
      [
        [0, true, false, 160],
        [20, false, false, 320],
        [40, false, false, 480],
        [260, true, false, 640],
        [280, false, false, 800],
        [300, false, true, 960],
        [320, false, true, 960],
        [340, false, true, 960],
      ],
      500,
    );
    expect(t.got).toHaveLength(1);
    expect(t.got[0]).toMatchObject({ digit: '4', reason: 'timeout' }); // counted when it stalled, not again
  });

  it('split-marker without a stall: the marker mid-press of an open event changes nothing', () => {
    const t = receiver();
    feed(t, '4', 1000, [[0, true, false, 160], [20, false, false, 320], [40, true, false, 480], [60, false, true, 640], [80, false, true, 640], [100, false, true, 640]], 500);
    expect(t.digits()).toBe('4');
  });

  it('... but a replay after a timeout (marker, the duration starting over) is still a new press', () => {
    const t = receiver();
    feed(t, '9', 1000, NORMAL.slice(0, 3), 300); // its ends lost: counted by the timeout
    feed(t, '9', 1000, NORMAL, 500); // the same capture replayed: same timestamp, marker, 160 again
    expect(t.digits()).toBe('99');
  });

  it('reorder: the second update before the marked first, the end before the last update: counts once', () => {
    const t = receiver();
    feed(t, '8', 1000, [[20, false, false, 320], [20, true, false, 160], [60, false, true, 640], [60, false, false, 480], [80, false, true, 640], [100, false, true, 640]], 500);
    expect(t.got).toMatchObject([{ digit: '8', reason: 'end', durationMs: 80 }]);
  });
});

describe('DtmfSendQueue', () => {
  const pkt = (slot: number, seq: number, marker = false): ScheduledDtmfPacket => ({ slot, seq, marker, payload: Uint8Array.of(1, 10, 0, 160) });

  it('sends each key\'s packets in their intervals with the key\'s timestamp and its own numbering, then moves the sequence on', async () => {
    const q = new DtmfSendQueue();
    const sent: [number, number, number][] = [];
    const send = (_m: boolean, ts: number, _p: Uint8Array, seq: number) => (sent.push([q.pending ? ts : -1, seq, sent.length]), true);
    const done = q.enqueue([pkt(1, 1), pkt(1, 0, true), pkt(3, 2)]);
    let seq = 100;
    const busy: boolean[] = [];
    for (let tick = 0; tick < 4; tick++) {
      const r = q.tick(5000 + tick * 160, seq, send);
      busy.push(r.busy);
      seq = r.seq;
    }
    await done;
    expect(sent.map(([ts, s]) => [ts, s])).toEqual([
      [5000, 101],
      [5000, 100],
      [5000, 102],
    ]);
    expect(busy).toEqual([true, true, true, true]); // the empty intervals (0 and 2) pause audio too
    expect(seq).toBe(103);
    expect(q.pending).toBe(false);
    expect(q.tick(9999, seq, send)).toEqual({ busy: false, sent: false, seq: 103 });
  });

  it('refuses no packets, slots out of order and malformed payloads; clear settles queued keys', async () => {
    const q = new DtmfSendQueue();
    expect(() => q.enqueue([])).toThrow(/at least one/);
    expect(() => q.enqueue([pkt(2, 0), pkt(1, 1)])).toThrow(/out of order/);
    expect(() => q.enqueue([{ ...pkt(0, 0), payload: Uint8Array.of(1) }])).toThrow(/malformed/);
    const p = q.enqueue(scheduleDtmfPlan([{ marker: true, end: true, event: { event: 1, end: true, volume: 10, duration: 160 }, payload: Uint8Array.of(1, 0x8a, 0, 160) }]));
    q.clear();
    await expect(p).resolves.toBeUndefined();
  });
});

describe('RtpSession.sendDtmfPackets over UDP', () => {
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

  const ev = (event: number, end: boolean, duration: number) => serializeTelephoneEvent({ event, end, volume: 10, duration });

  it('sends the packets in order, two in one interval back to back, numbered as given, one timestamp per key', async () => {
    const a = await engine.openSession();
    const s = await udpSocket();
    sockets.push(s);
    const got: RtpPacket[] = [];
    s.on('message', (m) => {
      const p = parseRtp(m);
      if (p) got.push({ ...p, payload: Uint8Array.from(p.payload) });
    });
    a.setRemote({ address: HOST, port: s.address().port, payloadType: 0, telephoneEventPt: 101 });
    await a.sendDtmfPackets([
      { slot: 1, seq: 1, marker: false, payload: ev(2, false, 320) },
      { slot: 1, seq: 0, marker: true, payload: ev(2, false, 160) },
      { slot: 3, seq: 3, marker: false, payload: ev(2, true, 480) },
      { slot: 3, seq: 2, marker: false, payload: ev(2, false, 480) },
    ]);
    await a.sendDtmf('3', 40);
    await waitFor(() => got.length >= 4 + 4, 3000);
    await sleep(100);
    const first = got.slice(0, 4);
    const base = first[1].sequenceNumber;
    expect(first.map((p) => (p.sequenceNumber - base) & 0xffff)).toEqual([1, 0, 3, 2]);
    expect(first.map((p) => p.marker)).toEqual([false, true, false, false]);
    expect(new Set(first.map((p) => p.timestamp)).size).toBe(1);
    const next = got.slice(4);
    expect(next).toHaveLength(4); // one update and the end 3x
    expect(next.map((p) => (p.sequenceNumber - base) & 0xffff)).toEqual([4, 5, 6, 7]);
    expect(next[0].timestamp).not.toBe(first[0].timestamp);
    await expect(a.sendDtmfPackets([])).rejects.toMatchObject({ code: 'VA_ERR_MEDIA_ARGUMENT' });
  });

  it('a press split across a marker reset, sent by one session, is one dtmf event on the other', async () => {
    const a = await engine.openSession();
    const b = await engine.openSession();
    a.setRemote({ address: HOST, port: b.localPort, payloadType: 0, telephoneEventPt: 101 });
    b.setRemote({ address: HOST, port: a.localPort, payloadType: 0, telephoneEventPt: 101 });
    const events: SessionDtmf[] = [];
    b.on('dtmf', (e) => events.push(e));
    const stall = 10; // 200 ms without packets: b's receiver counts the press by its 150 ms timeout meanwhile
    await a.sendDtmfPackets([
      { slot: 0, seq: 0, marker: true, payload: ev(4, false, 160) },
      { slot: 1, seq: 1, marker: false, payload: ev(4, false, 320) },
      { slot: 2 + stall, seq: 2, marker: true, payload: ev(4, false, 480) },
      { slot: 3 + stall, seq: 3, marker: false, payload: ev(4, true, 640) },
      { slot: 4 + stall, seq: 4, marker: false, payload: ev(4, true, 640) },
      { slot: 5 + stall, seq: 5, marker: false, payload: ev(4, true, 640) },
    ]);
    await a.sendDtmf('5', 80);
    await waitFor(() => events.length >= 2, 3000);
    await sleep(300);
    expect(events.map((e) => e.digit)).toEqual(['4', '5']);
  });
});
