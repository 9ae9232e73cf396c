import {
  DtmfEventReceiver,
  DtmfEventSender,
  digitToEvent,
  eventToDigit,
  parseTelephoneEvent,
  serializeTelephoneEvent,
  type ReceivedDtmf,
  type TelephoneEvent,
} from '../../src/media/rfc4733';
import { ManualClock } from './media-helpers';

const ev = (event: number, end: boolean, duration: number, volume = 10): Uint8Array =>
  serializeTelephoneEvent({ event, end, volume, duration });

function setup(opts: { timeoutMs?: number } = {}) {
  const clock = new ManualClock();
  const got: ReceivedDtmf[] = [];
  const rx = new DtmfEventReceiver({ clock, onDigit: (d) => got.push(d), ...opts });
  const digits = () => got.map((d) => d.digit).join('');
  return { clock, rx, got, digits };
}

type Rx = ReturnType<typeof setup>;

interface PressOpts {
  ts: number;
  ssrc?: number;
  ms?: number;
  marker?: boolean;
  endCopies?: number;
  dropEnd?: boolean;
  dropUpdates?: boolean;
  stepMs?: number;
}

/** Feeds the packets of one key press, 20 ms apart (Asterisk style: updates every 160 units, end x3). */
function press(t: Rx, digit: string, o: PressOpts): void {
  const code = digitToEvent(digit)!;
  const step = o.stepMs ?? 20;
  const total = Math.round((o.ms ?? 100) * 8);
  const units = step * 8;
  const hdr = (marker: boolean) => ({ marker, timestamp: o.ts, ssrc: o.ssrc ?? 0x1234 });
  let first = true;
  if (!o.dropUpdates) {
    for (let d = units; d < total; d += units) {
      t.rx.receive(hdr(first && o.marker !== false), ev(code, false, d));
      first = false;
      t.clock.advance(step);
    }
  }
  if (!o.dropEnd) {
    for (let k = 0; k < (o.endCopies ?? 3); k++) {
      t.rx.receive(hdr(first && o.marker !== false), ev(code, true, total));
      first = false;
      t.clock.advance(step);
    }
  }
}

describe('telephone-event payload (RFC 4733 §2.3)', () => {
  it('round-trips event, E bit, volume and duration', () => {
    const e: TelephoneEvent = { event: 11, end: true, volume: 63, duration: 0xffff };
    expect(parseTelephoneEvent(serializeTelephoneEvent(e))).toEqual(e);
    expect(Array.from(serializeTelephoneEvent({ event: 5, end: false, volume: 10, duration: 800 }))).toEqual([5, 10, 3, 32]);
  });

  it('ignores the R bit and extra bytes, and gives null for short payloads', () => {
    expect(parseTelephoneEvent(Uint8Array.of(1, 0x40 | 0x80 | 7, 0, 160, 9, 9))).toEqual({ event: 1, end: true, volume: 7, duration: 160 });
    expect(parseTelephoneEvent(Uint8Array.of(1, 2, 3))).toBeNull();
    expect(parseTelephoneEvent(new Uint8Array(0))).toBeNull();
  });

  it('refuses out-of-range fields when serialising', () => {
    expect(() => serializeTelephoneEvent({ event: 256, end: false, volume: 0, duration: 0 })).toThrow();
    expect(() => serializeTelephoneEvent({ event: 1, end: false, volume: 64, duration: 0 })).toThrow();
    expect(() => serializeTelephoneEvent({ event: 1, end: false, volume: 0, duration: 70000 })).toThrow();
  });

  it('maps event codes and digits (§3: 10 *, 11 #, 12-15 A-D, 16 flash)', () => {
    expect([...Array(17).keys()].map(eventToDigit).join('')).toBe('0123456789*#ABCD!');
    expect(eventToDigit(17)).toBeNull();
    expect(digitToEvent('*')).toBe(10);
    expect(digitToEvent('#')).toBe(11);
    expect(digitToEvent('d')).toBe(15);
    expect(digitToEvent('!')).toBe(16);
    expect(digitToEvent('x')).toBeNull();
    expect(digitToEvent('12')).toBeNull();
  });
});

describe('DtmfEventReceiver', () => {
  it('reports a press once, on its first end packet, with its duration', () => {
    const t = setup();
    press(t, '5', { ts: 1000, ms: 100 });
    expect(t.got).toHaveLength(1);
    expect(t.got[0]).toMatchObject({ digit: '5', durationMs: 100, reason: 'end', timestamp: 1000, ssrc: 0x1234 });
  });

  it('counts the end packet sent 3x (or 5x) once', () => {
    const t = setup();
    press(t, '7', { ts: 1000, endCopies: 3 });
    press(t, '8', { ts: 3000, endCopies: 5 });
    expect(t.digits()).toBe('78');
  });

  it('counts end copies spaced 50 ms or 100 ms apart (slower senders) once', () => {
    const t = setup();
    press(t, '2', { ts: 10, stepMs: 50 });
    const h = { marker: true, timestamp: 5000, ssrc: 0x1234 };
    t.rx.receive(h, ev(3, false, 160));
    for (let i = 0; i < 3; i++) {
      t.clock.advance(100);
      t.rx.receive({ ...h, marker: false }, ev(3, true, 960));
    }
    expect(t.digits()).toBe('23');
  });

  it('counts SIPp-style end packets that share one sequence number, from another SSRC than the audio, once', () => {
    // The receiver never sees sequence numbers; feed three identical end packets (same seq in the capture).
    const t = setup();
    const h = { marker: false, timestamp: 5000, ssrc: 0xdeadbeef };
    t.rx.receive({ ...h, marker: true }, ev(1, false, 160));
    t.clock.advance(20);
    for (let i = 0; i < 3; i++) {
      t.rx.receive(h, ev(1, true, 800));
      t.clock.advance(20);
    }
    expect(t.digits()).toBe('1');
  });

  it('counts the same key pressed twice as two digits when a capture is replayed with the SAME timestamp', () => {
    const t = setup();
    press(t, '1', { ts: 42, ssrc: 7 });
    t.clock.advance(500);
    press(t, '1', { ts: 42, ssrc: 7 });
    expect(t.digits()).toBe('11');
  });

  it('... also when the replay follows immediately (marker) or lost its marker', () => {
    const t = setup();
    press(t, '4', { ts: 42 });
    press(t, '4', { ts: 42 }); // right after the third end packet, with marker
    press(t, '4', { ts: 42, marker: false }); // no marker, right after again
    t.clock.advance(300);
    press(t, '4', { ts: 42, marker: false }); // no marker, after a pause
    expect(t.digits()).toBe('4444');
  });

  it('... and when a replayed press has lost all its updates (its end arrives after the end retransmissions stopped)', () => {
    const t = setup();
    press(t, '9', { ts: 42 });
    t.clock.advance(400);
    press(t, '9', { ts: 42, dropUpdates: true });
    expect(t.digits()).toBe('99');
  });

  it('absorbs end copies a stalled sender sends more than 150 ms after the first (one press, not two)', () => {
    const t = setup();
    press(t, '5', { ts: 42, endCopies: 1 });
    t.clock.advance(300); // the sender's tick stalled between its end copies
    for (let i = 0; i < 2; i++) t.rx.receive({ marker: false, timestamp: 42, ssrc: 0x1234 }, ev(5, true, 800));
    expect(t.digits()).toBe('5');
    // All three copies seen: a later end of the same identity is a replayed press again (rule 5b).
    t.clock.advance(300);
    t.rx.receive({ marker: false, timestamp: 42, ssrc: 0x1234 }, ev(5, true, 800));
    expect(t.digits()).toBe('55');
  });

  it('keeps a re-ordered update that arrives just after the end inside the same press', () => {
    const t = setup();
    const h = { marker: false, timestamp: 900, ssrc: 1 };
    t.rx.receive({ ...h, marker: true }, ev(3, false, 160));
    t.clock.advance(20);
    t.rx.receive(h, ev(3, true, 480)); // end overtook the 320 update
    t.clock.advance(5);
    t.rx.receive(h, ev(3, false, 320)); // late update
    t.clock.advance(15);
    t.rx.receive(h, ev(3, true, 480));
    t.clock.advance(20);
    t.rx.receive(h, ev(3, true, 480));
    expect(t.digits()).toBe('3');
  });

  it('reports a press whose end was lost after 150 ms without packets, and absorbs its late end', () => {
    const t = setup();
    press(t, '6', { ts: 100, ms: 200, dropEnd: true });
    expect(t.got).toHaveLength(0);
    t.clock.advance(140);
    expect(t.got).toHaveLength(1);
    expect(t.got[0]).toMatchObject({ digit: '6', reason: 'timeout' });
    expect(t.got[0].durationMs).toBeGreaterThanOrEqual(160);
    // its end packets arrive late
    for (let i = 0; i < 3; i++) t.rx.receive({ marker: false, timestamp: 100, ssrc: 0x1234 }, ev(6, true, 1600));
    expect(t.digits()).toBe('6');
    expect(t.clock.pending).toBe(0);
  });

  it('the timeout follows the injected clock: nothing before 150 ms of silence', () => {
    const t = setup({ timeoutMs: 150 });
    t.rx.receive({ marker: true, timestamp: 1, ssrc: 1 }, ev(2, false, 160));
    for (let i = 0; i < 20; i++) {
      t.clock.advance(100); // packets keep coming every 100 ms: still one press
      t.rx.receive({ marker: false, timestamp: 1, ssrc: 1 }, ev(2, false, 160 * (i + 2)));
    }
    expect(t.got).toHaveLength(0);
    t.clock.advance(149);
    expect(t.got).toHaveLength(0);
    t.clock.advance(2);
    expect(t.digits()).toBe('2');
    expect(t.got[0].durationMs).toBe(Math.round((160 * 21 * 1000) / 8000));
  });

  it('a press whose end was lost is reported when the next event starts', () => {
    const t = setup();
    press(t, '1', { ts: 100, dropEnd: true });
    press(t, '2', { ts: 2000 });
    expect(t.got.map((d) => [d.digit, d.reason])).toEqual([
      ['1', 'interrupted'],
      ['2', 'end'],
    ]);
  });

  it('a new timestamp is a new event even without the marker bit', () => {
    const t = setup();
    press(t, '5', { ts: 100, marker: false });
    press(t, '5', { ts: 900, marker: false });
    expect(t.digits()).toBe('55');
  });

  it('a late continuation after a timeout re-opens the press without a second digit', () => {
    const t = setup();
    const h = { marker: false, timestamp: 10, ssrc: 1 };
    t.rx.receive({ ...h, marker: true }, ev(0, false, 160));
    t.clock.advance(200); // timeout: reported
    expect(t.digits()).toBe('0');
    t.rx.receive(h, ev(0, false, 1760)); // the stream resumes, duration still growing
    t.clock.advance(20);
    t.rx.receive(h, ev(0, true, 1920));
    t.clock.advance(300);
    expect(t.digits()).toBe('0');
  });

  it('an end packet alone (every update lost) is a press', () => {
    const t = setup();
    press(t, '#', { ts: 77, dropUpdates: true });
    expect(t.got[0]).toMatchObject({ digit: '#', reason: 'end', durationMs: 100 });
  });

  it('ignores non-DTMF events, short payloads and zero-duration events without end', () => {
    const t = setup();
    expect(t.rx.receive({ marker: true, timestamp: 1, ssrc: 1 }, ev(40, true, 800))).toBe(false);
    expect(t.rx.receive({ marker: true, timestamp: 1, ssrc: 1 }, Uint8Array.of(1, 2))).toBe(false);
    t.rx.receive({ marker: true, timestamp: 5, ssrc: 1 }, ev(4, false, 0));
    t.clock.advance(500);
    expect(t.got).toHaveLength(0);
  });

  it('reports flash (event 16) as !', () => {
    const t = setup();
    press(t, '!', { ts: 5 });
    expect(t.digits()).toBe('!');
  });

  it('joins the segments of an event longer than 0xFFFF units (RFC 4733 §2.5.1.3)', () => {
    const t = setup();
    const h = (ts: number, marker = false) => ({ marker, timestamp: ts, ssrc: 9 });
    t.rx.receive(h(1000, true), ev(8, false, 160));
    for (let d = 320; d < 0xffff; d += 8000) {
      t.clock.advance(100);
      t.rx.receive(h(1000), ev(8, false, d));
    }
    t.clock.advance(100);
    t.rx.receive(h(1000), ev(8, false, 0xffff));
    t.clock.advance(20);
    const ts2 = 1000 + 0xffff;
    t.rx.receive(h(ts2), ev(8, false, 160));
    t.clock.advance(20);
    for (let i = 0; i < 3; i++) t.rx.receive(h(ts2), ev(8, true, 800));
    expect(t.digits()).toBe('8');
    expect(t.got[0].durationMs).toBe(Math.round(((0xffff + 800) * 1000) / 8000));
  });

  it('treats a different SSRC with the same timestamp as a different event', () => {
    const t = setup();
    press(t, '3', { ts: 100, ssrc: 1 });
    press(t, '3', { ts: 100, ssrc: 2, marker: false });
    expect(t.digits()).toBe('33');
  });

  it('ignores a stale end retransmission of the previous digit that arrives after the next digit started', () => {
    const t = setup();
    press(t, '1', { ts: 100, endCopies: 2 });
    t.rx.receive({ marker: true, timestamp: 2000, ssrc: 0x1234 }, ev(2, false, 160));
    t.rx.receive({ marker: false, timestamp: 100, ssrc: 0x1234 }, ev(1, true, 800)); // late third copy
    t.clock.advance(20);
    t.rx.receive({ marker: false, timestamp: 2000, ssrc: 0x1234 }, ev(2, true, 320));
    expect(t.digits()).toBe('12');
  });

  it('flush reports an open press; close drops it and its timer', () => {
    const t = setup();
    t.rx.receive({ marker: true, timestamp: 1, ssrc: 1 }, ev(7, false, 160));
    expect(t.rx.active).toBe(true);
    t.rx.flush();
    expect(t.digits()).toBe('7');
    t.rx.receive({ marker: true, timestamp: 500, ssrc: 1 }, ev(8, false, 160));
    t.rx.close();
    t.clock.advance(1000);
    expect(t.digits()).toBe('7');
    expect(t.clock.pending).toBe(0);
  });
});

describe('DtmfEventSender', () => {
  it('plans marker first, 20 ms updates, then the end packet three times', () => {
    const plan = new DtmfEventSender().plan('9', 100);
    expect(plan.map((p) => [p.marker, p.end, p.event.duration])).toEqual([
      [true, false, 160],
      [false, false, 320],
      [false, false, 480],
      [false, false, 640],
      [false, true, 800],
      [false, true, 800],
      [false, true, 800],
    ]);
    expect(plan.every((p) => p.event.event === 9 && p.event.volume === 10)).toBe(true);
    expect(Array.from(plan[4].payload)).toEqual([9, 0x80 | 10, 3, 32]);
  });

  it('a press shorter than one interval is the end packets alone, the first with the marker', () => {
    const plan = new DtmfEventSender().plan('*', 10);
    expect(plan.map((p) => [p.marker, p.end, p.event.duration])).toEqual([
      [true, true, 80],
      [false, true, 80],
      [false, true, 80],
    ]);
  });

  it('refuses non-digits and out-of-range durations', () => {
    const s = new DtmfEventSender();
    expect(() => s.plan('x', 100)).toThrow(/not a DTMF digit/);
    expect(() => s.plan('1', 0)).toThrow();
    expect(() => s.plan('1', 9000)).toThrow();
  });

  it('what it sends, the receiver counts once per digit', () => {
    const t = setup();
    const s = new DtmfEventSender();
    let ts = 0;
    for (const d of '0123456789*#ABCD') {
      for (const p of s.plan(d, 120)) {
        t.rx.receive({ marker: p.marker, timestamp: ts, ssrc: 5 }, p.payload);
        t.clock.advance(20);
      }
      ts += 160 * 10;
      t.clock.advance(60);
    }
    expect(t.digits()).toBe('0123456789*#ABCD');
    expect(t.got.every((d) => d.durationMs === 120)).toBe(true);
  });
});
