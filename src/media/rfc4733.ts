/**
 * RFC 4733 telephone-event: the 4-byte payload (§2.3), a receiver that turns a stream of event packets into
 * digits, and a sender that produces the packets for one digit.
 *
 * Receiver rules ({@link DtmfEventReceiver}), chosen to count each key press exactly once with the senders met in
 * practice (Asterisk, baresip, SIPp's `dtmf_2833_*.pcap` captures, see DESIGN.md "Known pitfalls"):
 *
 * 1. An event's identity is (SSRC, RTP timestamp, event code). Sequence numbers are never used (SIPp's captures
 *    repeat one sequence number on their three end packets), and the SSRC need not be the audio's (SIPp's digit
 *    captures use their own). Non-DTMF event codes (> 16) are ignored; 16 (flash) is reported as `!`.
 * 2. A packet whose identity is not the current event's starts a new event (RFC 4733 §2.2.1: every packet of an
 *    event carries its start timestamp, so a new timestamp is a new event; the marker bit of §2.2.2 is not
 *    required, it is often lost or never set). If the previous event was still
 *    open (its end never came), it is reported first (`reason: 'interrupted'`).
 * 3. The digit is reported once, on the first packet with the E bit (§2.5.1.4); the end's retransmissions
 *    (normally three copies, SHOULD in §2.5.1.4, any number accepted) are absorbed.
 * 4. An event with no packet for `timeoutMs` (150 ms, Asterisk's `dtmftimeout`) is reported then
 *    (`reason: 'timeout'`): its end packets were lost. A late end for it is absorbed, and a late update whose
 *    duration keeps growing re-opens it without a second report.
 * 5. The same identity seen again after the event has closed is a NEW press (two presses of one digit whose capture
 *    was replayed with the same timestamp) when:
 *    a. the packet is not an end packet and has the marker bit (the first packet of an event, §2.2.2), unless the
 *       event timed out (no end seen) and the packet's duration is larger than the longest seen: that is the same
 *       press continuing after a stall, re-marked by a relay that sets the marker on the first packet after a gap
 *       in the stream as RFC 3551 §4.1 has it for audio talkspurts (counted once, like Asterisk and FreeSWITCH,
 *       which keep an event open while its timestamp continues); or
 *    b. after its end: more than `timeoutMs` passed since the event's last packet (the end retransmissions are
 *       over: no two packets of one event are more than `timeoutMs` apart, rule 4), unless the packet is an end
 *       packet and fewer than three end copies came: then it is a copy the sender sent late (a sender stalled past
 *       `timeoutMs` between its end copies, seen as a doubled digit on a loaded machine); or
 *    c. after an end: the packet is not an end packet and either all three end copies were already received or it
 *       arrives more than `reorderMs` (50 ms) after the first end (a late update re-ordered behind the end arrives
 *       within network jitter of it; a new press cannot start before the end copies are sent); or
 *    d. after a timeout (no end seen): the packet is not an end packet and its duration is not larger than the
 *       longest duration already seen (a continuing press only grows).
 *    Otherwise the packet belongs to the closed event and is absorbed.
 * 6. Events longer than 0xFFFF timestamp units arrive as segments with new timestamps (§2.5.1.3): a packet of the
 *    same SSRC and event, without marker, whose timestamp follows an open event whose duration has nearly reached
 *    0xFFFF, continues that event. Durations are reported in ms: total units / clock rate.
 * 7. Zero-duration events are not reported unless they carry the E bit (§2.3.5: receivers SHOULD ignore
 *    zero-duration non-state events).
 *
 * All times come from the injected {@link Clock}; the receiver arms at most one timer.
 */
import type { Clock, TimerHandle } from '../ports/clock';
import { MediaError, MediaErrorCodes } from './errors';

/** The telephone-event payload (RFC 4733 §2.3). */
export interface TelephoneEvent {
  /** Event code 0..255 (§3: 0-9 digits, 10 `*`, 11 `#`, 12-15 A-D, 16 flash). */
  event: number;
  /** E bit: this packet contains the end of the event (§2.3.2). */
  end: boolean;
  /** Tone power, 0..63, meaning 0 to -63 dBm0 (§2.3.4). */
  volume: number;
  /** Duration so far, in timestamp units (1/8000 s for telephone-event/8000), 0..65535 (§2.3.5). */
  duration: number;
}

/** The DTMF events, indexed by event code 0..16 (RFC 4733 §3.2, table 3; 16 = flash, written `!` as Asterisk does). */
export const DTMF_EVENT_DIGITS = '0123456789*#ABCD!';

/**
 * The digit for an RFC 4733 DTMF event code.
 * @param event code 0..255
 * @returns `0`-`9`, `*`, `#`, `A`-`D`, `!` (flash, 16), or null for any other event
 */
export function eventToDigit(event: number): string | null {
  return Number.isInteger(event) && event >= 0 && event <= 16 ? DTMF_EVENT_DIGITS[event] : null;
}

/**
 * The RFC 4733 event code of a digit (`a`-`d` accepted in lower case).
 * @returns 0..16, or null when `digit` is not one DTMF character
 */
export function digitToEvent(digit: string): number | null {
  if (typeof digit !== 'string' || digit.length !== 1) return null;
  const i = DTMF_EVENT_DIGITS.indexOf(digit.toUpperCase());
  return i >= 0 ? i : null;
}

/**
 * Parses a telephone-event payload (RFC 4733 §2.3). Only the first 4 bytes are read (one event per packet; several
 * events per packet only exist with RFC 2198 redundancy, which this engine does not negotiate). The R bit is ignored
 * (§2.3.3). Never throws.
 * @returns the event, or null when the payload is shorter than 4 bytes
 */
export function parseTelephoneEvent(payload: Uint8Array): TelephoneEvent | null {
  if (!payload || payload.length < 4) return null;
  return {
    event: payload[0],
    end: (payload[1] & 0x80) !== 0,
    volume: payload[1] & 0x3f,
    duration: (payload[2] << 8) | payload[3],
  };
}

/**
 * Serialises a telephone-event payload (RFC 4733 §2.3), R bit 0.
 * @throws MediaError `VA_ERR_MEDIA_ARGUMENT` when event is not 0..255, volume not 0..63 or duration not 0..65535
 */
export function serializeTelephoneEvent(e: TelephoneEvent): Uint8Array {
  const ok = (v: number, max: number) => Number.isInteger(v) && v >= 0 && v <= max;
  if (!ok(e.event, 255) || !ok(e.volume, 63) || !ok(e.duration, 0xffff)) {
    throw new MediaError(MediaErrorCodes.ARGUMENT, `telephone-event out of range: ${JSON.stringify(e)}`);
  }
  return Uint8Array.of(e.event, (e.end ? 0x80 : 0) | e.volume, e.duration >> 8, e.duration & 0xff);
}

/** The RTP header fields the receiver looks at. Sequence numbers are deliberately not among them (rule 1). */
export interface DtmfPacketHeader {
  marker: boolean;
  timestamp: number;
  ssrc: number;
}

/** A digit reported by {@link DtmfEventReceiver}. */
export interface ReceivedDtmf {
  /** `0`-`9`, `*`, `#`, `A`-`D`, or `!` (flash). */
  digit: string;
  /** How long the key was pressed, ms (total duration field / clock rate). */
  durationMs: number;
  /** Why it was reported: its end packet, `timeoutMs` without packets, or the next event starting. */
  reason: 'end' | 'timeout' | 'interrupted';
  ssrc: number;
  /** RTP timestamp of the event's start. */
  timestamp: number;
  /** Clock time of the event's first packet, ms. */
  startedAt: number;
  /** Clock time of the report, ms. */
  reportedAt: number;
}

/** How long an event may go without packets before it is over (rule 4), ms: Asterisk's `dtmftimeout`. */
export const DEFAULT_DTMF_TIMEOUT_MS = 150;

/** Options of {@link DtmfEventReceiver}. */
export interface DtmfEventReceiverOptions {
  /** Time source and timers (DESIGN.md: every timer through the injected Clock). */
  clock: Clock;
  /** Called once per key press. */
  onDigit: (d: ReceivedDtmf) => void;
  /** The telephone-event clock rate, Hz (`telephone-event/8000`): 8000 by default. */
  clockRate?: number;
  /** An event with no packet for this long is over (rule 4), ms. Default 150 (Asterisk `dtmftimeout`). */
  timeoutMs?: number;
  /** How long after an end a re-ordered update may still arrive (rule 5c), ms. Default 50. */
  reorderMs?: number;
}

interface EventState {
  ssrc: number;
  event: number;
  digit: string;
  /** Timestamp of the first segment. */
  firstTs: number;
  /** Timestamp of the current segment (the identity). */
  segTs: number;
  /** Units of the completed segments. */
  prevUnits: number;
  /** Largest duration seen in the current segment. */
  segMax: number;
  state: 'open' | 'ended' | 'timedout';
  reported: boolean;
  firstAt: number;
  lastAt: number;
  endAt: number;
  endCopies: number;
}

const RECENT_EVENTS = 8;

/**
 * Turns RFC 4733 telephone-event packets into digits; see the module comment for the exact rules.
 * Feed it every packet of the negotiated telephone-event payload type, whatever its SSRC or sequence number.
 */
export class DtmfEventReceiver {
  private readonly clock: Clock;
  private readonly onDigit: (d: ReceivedDtmf) => void;
  private readonly rate: number;
  private readonly timeoutMs: number;
  private readonly reorderMs: number;
  private current: EventState | null = null;
  /** Closed events, newest last (the current one is included once closed). */
  private recent: EventState[] = [];
  private timer: TimerHandle | null = null;
  private timerAt = 0;
  private last = -Infinity;

  constructor(opts: DtmfEventReceiverOptions) {
    this.clock = opts.clock;
    this.onDigit = opts.onDigit;
    this.rate = opts.clockRate ?? 8000;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_DTMF_TIMEOUT_MS;
    this.reorderMs = opts.reorderMs ?? 50;
  }

  /** True while an event is in progress (started, neither ended nor timed out). */
  get active(): boolean {
    return this.current !== null && this.current.state === 'open';
  }

  /** Clock time of the last valid DTMF event packet received, ms (-Infinity before the first). */
  get lastPacketAt(): number {
    return this.last;
  }

  /**
   * Feeds one RTP packet of the telephone-event payload type.
   * @param h the packet's marker bit, timestamp and SSRC
   * @param payload its payload (RFC 4733 §2.3); malformed or non-DTMF payloads are ignored
   * @returns true when the payload was a DTMF event (whether or not it produced a digit)
   */
  receive(h: DtmfPacketHeader, payload: Uint8Array): boolean {
    const te = parseTelephoneEvent(payload);
    if (!te) return false;
    const digit = eventToDigit(te.event);
    if (digit === null) return false;
    const now = this.clock.now();
    this.last = now;
    const ts = h.timestamp >>> 0;
    const ssrc = h.ssrc >>> 0;
    const cur = this.current;

    if (cur && cur.state === 'open') {
      if (cur.ssrc === ssrc && cur.event === te.event) {
        if (cur.segTs === ts) {
          this.update(cur, te, now);
          return true;
        }
        const sinceFirst = (ts - cur.firstTs) >>> 0;
        const sinceSeg = (cur.segTs - cur.firstTs) >>> 0;
        if (sinceFirst < sinceSeg) return true; // a stale packet of an earlier segment of this event
        const adv = (ts - cur.segTs) >>> 0;
        // Rule 6: the next segment of a long event.
        if (!h.marker && cur.segMax >= 0xffff - this.rate && adv > 0 && adv <= cur.segMax + this.rate) {
          cur.prevUnits += adv;
          cur.segTs = ts;
          cur.segMax = 0;
          this.update(cur, te, now);
          return true;
        }
      }
    }

    const known = this.find(ssrc, ts, te.event);
    if (known && known === cur && cur.state === 'open') {
      this.update(cur, te, now);
      return true;
    }
    if (known && !this.isNewPress(known, h.marker, te, now)) {
      this.absorb(known, te, now);
      return true;
    }
    // Rule 2: a new event.
    if (cur && cur.state === 'open') this.closeEvent(cur, 'interrupted', now);
    const ev: EventState = {
      ssrc,
      event: te.event,
      digit,
      firstTs: ts,
      segTs: ts,
      prevUnits: 0,
      segMax: 0,
      state: 'open',
      reported: false,
      firstAt: now,
      lastAt: now,
      endAt: 0,
      endCopies: 0,
    };
    if (known) this.recent = this.recent.filter((e) => e !== known);
    this.current = ev;
    this.update(ev, te, now);
    return true;
  }

  /** Reports the event in progress, if any, now (e.g. when the call ends). */
  flush(): void {
    const cur = this.current;
    if (cur && cur.state === 'open') this.closeEvent(cur, 'interrupted', this.clock.now());
  }

  /** Cancels the timer; an event in progress is dropped. */
  close(): void {
    this.cancelTimer();
    this.current = null;
    this.recent = [];
  }

  private find(ssrc: number, ts: number, event: number): EventState | null {
    const cur = this.current;
    if (cur && cur.ssrc === ssrc && cur.segTs === ts && cur.event === event) return cur;
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const e = this.recent[i];
      if (e.ssrc === ssrc && e.segTs === ts && e.event === event) return e;
    }
    return null;
  }

  /** Rule 5: does a packet of a closed event's identity start a new press? */
  private isNewPress(ev: EventState, marker: boolean, te: TelephoneEvent, now: number): boolean {
    if (!te.end && marker && (ev.state === 'ended' || te.duration <= ev.segMax)) return true; // 5a
    if (now - ev.lastAt > this.timeoutMs && ev.state === 'ended' && (!te.end || ev.endCopies >= 3)) return true; // 5b
    if (ev.state === 'ended') {
      if (te.end) return false; // a retransmitted end (rule 3)
      return ev.endCopies >= 3 || now - ev.endAt > this.reorderMs; // 5c
    }
    // Timed out without an end (rule 4 / 5d).
    if (te.end) return false; // its late end
    return te.duration <= ev.segMax;
  }

  /** A packet that belongs to a closed event. */
  private absorb(ev: EventState, te: TelephoneEvent, now: number): void {
    if (ev.state === 'ended') {
      if (te.end) {
        ev.endCopies++;
        ev.lastAt = now;
      }
      return; // a re-ordered update: ignored
    }
    // Timed out (already reported).
    ev.lastAt = now;
    ev.segMax = Math.max(ev.segMax, te.duration);
    if (te.end) {
      ev.state = 'ended';
      ev.endAt = now;
      ev.endCopies = 1;
    } else if (ev === this.current) {
      ev.state = 'open'; // a late continuation: open again, already reported
      this.armTimer(now);
    }
  }

  private update(ev: EventState, te: TelephoneEvent, now: number): void {
    ev.lastAt = now;
    if (te.duration > ev.segMax) ev.segMax = te.duration;
    if (te.end) {
      ev.state = 'ended';
      ev.endAt = now;
      ev.endCopies = 1;
      this.remember(ev);
      if (!ev.reported) this.report(ev, 'end', now);
      this.cancelTimer();
    } else {
      this.armTimer(now);
    }
  }

  private closeEvent(ev: EventState, reason: 'timeout' | 'interrupted', now: number): void {
    ev.state = 'timedout';
    this.remember(ev);
    if (!ev.reported && ev.prevUnits + ev.segMax > 0) this.report(ev, reason, now);
    ev.reported = true;
    if (ev === this.current) this.cancelTimer();
  }

  private remember(ev: EventState): void {
    if (!this.recent.includes(ev)) {
      this.recent.push(ev);
      if (this.recent.length > RECENT_EVENTS) this.recent.shift();
    }
  }

  private report(ev: EventState, reason: ReceivedDtmf['reason'], now: number): void {
    ev.reported = true;
    this.onDigit({
      digit: ev.digit,
      durationMs: Math.round(((ev.prevUnits + ev.segMax) * 1000) / this.rate),
      reason,
      ssrc: ev.ssrc,
      timestamp: ev.firstTs,
      startedAt: ev.firstAt,
      reportedAt: now,
    });
  }

  private armTimer(now: number): void {
    const due = now + this.timeoutMs;
    if (this.timer !== null && this.timerAt <= due) return; // the running timer re-checks and re-arms
    this.cancelTimer();
    this.setTimer(this.timeoutMs, due);
  }

  private setTimer(ms: number, due: number): void {
    this.timerAt = due;
    this.timer = this.clock.setTimeout(() => this.onTimer(), ms);
  }

  private onTimer(): void {
    this.timer = null;
    const cur = this.current;
    if (!cur || cur.state !== 'open') return;
    const now = this.clock.now();
    const idle = now - cur.lastAt;
    if (idle >= this.timeoutMs) this.closeEvent(cur, 'timeout', now);
    else this.setTimer(this.timeoutMs - idle, cur.lastAt + this.timeoutMs);
  }

  private cancelTimer(): void {
    if (this.timer !== null) {
      this.clock.clearTimeout(this.timer);
      this.timer = null;
    }
  }
}

/** Options of {@link DtmfEventSender}. */
export interface DtmfEventSenderOptions {
  /** Timestamp clock rate, Hz. Default 8000. */
  clockRate?: number;
  /** Interval between packets, ms (RFC 4733 §2.5.1.2; Asterisk 20 ms = 160 units). Default 20. */
  intervalMs?: number;
  /** Volume field, 0..63 (-dBm0). Default 10, as Asterisk sends. */
  volume?: number;
  /** Copies of the end packet (RFC 4733 §2.5.1.4 SHOULD: three). Default 3. */
  endRepeats?: number;
}

/** One packet of a digit, to be sent one per `intervalMs`, all with the RTP timestamp of the event's start. */
export interface DtmfPacketPlan {
  /** Set on the first packet only (RFC 4733 §2.2.2). */
  marker: boolean;
  /** True for the end packet and its copies. */
  end: boolean;
  event: TelephoneEvent;
  /** The serialised 4-byte payload. */
  payload: Uint8Array;
}

/**
 * One telephone-event packet of a key press placed in time, as {@link RtpSession.sendDtmfPackets} sends it: a plan's
 * packets one per interval ({@link scheduleDtmfPlan}), or moved, repeated, dropped or re-marked by a test of the
 * receiver (the simulator's DTMF faults). Every packet carries the event's start timestamp (RFC 4733 §2.2.1).
 */
export interface ScheduledDtmfPacket {
  /** The send interval it leaves in, counted from the event's first (0); several packets may share one. */
  slot: number;
  /** Its place in the sender's numbering: its RTP sequence number is the first packet's plus this (RFC 3550 §5.1). */
  seq: number;
  /** The RTP marker bit (RFC 4733 §2.2.2: set on an event's first packet). */
  marker: boolean;
  /** The 4-byte telephone-event payload (§2.3). */
  payload: Uint8Array;
}

/**
 * A plan's packets as a sender sends them: packet i in interval i, numbered i.
 * @param plan from {@link DtmfEventSender.plan}
 */
export function scheduleDtmfPlan(plan: readonly DtmfPacketPlan[]): ScheduledDtmfPacket[] {
  return plan.map((p, i) => ({ slot: i, seq: i, marker: p.marker, payload: p.payload }));
}

/** Longest digit {@link DtmfEventSender} sends in one segment, ms (0xFFFF units at 8000 Hz is 8.19 s). */
export const MAX_DTMF_SEND_MS = 8000;

/**
 * Produces the RFC 4733 packets for one key press (§2.5.1): the first with the marker bit, then an update every
 * `intervalMs` whose duration grows by one interval, then the end packet (E bit, final duration) `endRepeats` times
 * at the same interval. The caller sends them one per interval with one RTP timestamp (the event's start) and
 * consecutive sequence numbers.
 */
export class DtmfEventSender {
  private readonly rate: number;
  private readonly intervalMs: number;
  private readonly volume: number;
  private readonly endRepeats: number;

  constructor(opts: DtmfEventSenderOptions = {}) {
    this.rate = opts.clockRate ?? 8000;
    this.intervalMs = opts.intervalMs ?? 20;
    this.volume = opts.volume ?? 10;
    this.endRepeats = opts.endRepeats ?? 3;
  }

  /**
   * The packets for one digit.
   * @param digit `0`-`9`, `*`, `#`, `A`-`D` (either case) or `!` (flash)
   * @param durationMs how long the key is held, ms, 1..{@link MAX_DTMF_SEND_MS}
   * @returns `ceil(durationMs / intervalMs) - 1` updates followed by `endRepeats` end packets
   * @throws MediaError `VA_ERR_MEDIA_ARGUMENT` for another digit or a duration out of range
   */
  plan(digit: string, durationMs: number): DtmfPacketPlan[] {
    const event = digitToEvent(digit);
    if (event === null) throw new MediaError(MediaErrorCodes.ARGUMENT, `not a DTMF digit: ${JSON.stringify(digit)}`);
    if (!Number.isFinite(durationMs) || durationMs < 1 || durationMs > MAX_DTMF_SEND_MS) {
      throw new MediaError(MediaErrorCodes.ARGUMENT, `DTMF duration must be 1..${MAX_DTMF_SEND_MS} ms, got ${durationMs}`);
    }
    const unitsPerInterval = Math.round((this.intervalMs * this.rate) / 1000);
    const total = Math.min(0xffff, Math.round((durationMs * this.rate) / 1000));
    const steps = Math.max(1, Math.ceil(total / unitsPerInterval));
    const out: DtmfPacketPlan[] = [];
    const push = (end: boolean, duration: number) => {
      const ev: TelephoneEvent = { event, end, volume: this.volume, duration };
      out.push({ marker: out.length === 0, end, event: ev, payload: serializeTelephoneEvent(ev) });
    };
    for (let k = 1; k < steps; k++) push(false, k * unitsPerInterval);
    for (let k = 0; k < this.endRepeats; k++) push(true, total);
    return out;
  }
}
