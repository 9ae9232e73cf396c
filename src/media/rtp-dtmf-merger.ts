/**
 * RtpDtmfMerger: the RTP session's DTMF merging (DESIGN.md, "Media"): digits from the three transports of one call,
 * merged and de-duplicated into one stream of key presses. Pure: no I/O, no timer, no clock of its own; the session
 * feeds it the caller's audio and the digits of the other transports with times from its clock (ms), and it calls
 * back `onDigit` once per press.
 * - RFC 4733 digits as the session's {@link DtmfEventReceiver} reports them (one per press: the end packet sent 3x, a
 *   new timestamp, and the same timestamp replayed after its end are decided there, see `rfc4733.ts`).
 * - In-band digits (Goertzel, see `goertzel.ts`), reported when the tone ends. In-band detection is suspended while
 *   RFC 4733 is being received: from any telephone-event packet until `holdoffMs` (2 s) after the last one, or while
 *   an event is open, since a gateway that sends telephone-events often leaves the tone in the audio too. The
 *   detector reports a tone only after it ended, by which time the event packets of the same press have arrived, so
 *   this alone removes the duplicate. As a second guard, a digit from one transport is dropped when the other
 *   transport already reported the same digit with overlapping time (±300 ms).
 * - SIP INFO digits handed in by the signalling layer: they suspend in-band detection the same way. Phones that send
 *   both INFO and RFC 4733 for one key exist (a misconfiguration): a digit from one of the two is dropped when the
 *   other already reported the same digit within ±1 s (INFO may be sent at key-down or key-up). Matching is one to
 *   one, so "55" typed quickly on such a phone is still two digits, and a flash sent by INFO does not hide RFC 4733
 *   digits.
 *
 * Why not {@link DtmfMerger} (`dtmf-merger.ts`, the FreeSWITCH channel's): that one matches the instants at which a
 * media server reported each digit, with the in-band hold-off counted from the last out-of-band *digit*. This one
 * matches each press's time span ([start, end], so an INFO sent at key-down pairs with the RFC 4733 digit of a 3 s
 * press reported at its end), counts the hold-off from the last telephone-event *packet* (and while an event is
 * open, from the receiver's own state), also drops an RFC 4733 digit that repeats an in-band one, pairs in-band and
 * INFO digits with the 1 s INFO slack, matches every pair one to one, and suspends (resets) the Goertzel detector
 * itself rather than filtering its output. Using `DtmfMerger` here would change which digits count.
 */
import { DtmfDetector } from './goertzel';
import type { ReceivedDtmf } from './rfc4733';

/** A digit, whatever transport carried it. */
export interface SessionDtmf {
  /** `0`-`9`, `*`, `#`, `A`-`D`, or `!` (flash). */
  digit: string;
  source: 'rfc4733' | 'inband' | 'info';
  /** Key press length, ms. */
  durationMs: number;
}

/** What the merger reads of the RFC 4733 receiver (a {@link DtmfEventReceiver} is one). */
export interface TelephoneEventActivity {
  /** True while an event is open (started, not ended). */
  readonly active: boolean;
  /** The clock's time of the last telephone-event packet, ms (-Infinity before the first). */
  readonly lastPacketAt: number;
}

/** How long in-band detection stays suspended after the last telephone-event packet or INFO digit, ms (a session's default). */
export const DEFAULT_RFC4733_HOLDOFF_MS = 2000;

/** What an {@link RtpDtmfMerger} needs. */
export interface RtpDtmfMergerOptions {
  /** In-band detection stays suspended this long after the last telephone-event packet or INFO digit, ms. */
  holdoffMs: number;
  /** The session's RFC 4733 receiver, read to suspend in-band detection. */
  telephoneEvents: TelephoneEventActivity;
  /** Called once per key press, in the order they are decided. */
  onDigit: (e: SessionDtmf) => void;
  /** Called when an INFO digit and an RFC 4733 digit turned out to be one press (the session logs it once). */
  onDualTransport: () => void;
}

interface DigitRecord {
  digit: string;
  start: number;
  end: number;
  matched: boolean;
}

/** Overlap slack when pairing an in-band digit with an out-of-band one, ms. */
const DEDUP_SLACK_MS = 300;
/** Overlap slack when pairing a SIP INFO digit with an RFC 4733 or in-band one, ms. */
const INFO_SLACK_MS = 1000;
/** The detector's gap: a tone is reported this long after it ended, ms; pending tones are flushed after this much quiet. */
const INBAND_REPORT_DELAY_MS = 40;
const INBAND_FLUSH_QUIET_MS = 100;
/** Digits remembered per transport for pairing. */
const REMEMBERED = 8;

/** The RTP session's DTMF merging; see the module comment. */
export class RtpDtmfMerger {
  private readonly holdoffMs: number;
  private readonly te: TelephoneEventActivity;
  private readonly onDigit: (e: SessionDtmf) => void;
  private readonly onDualTransport: () => void;
  /** Made at the first audio (most calls that end at once never need it). */
  private detector: DtmfDetector | null = null;
  private detectorSuspended = false;
  private detectorPending = false;
  private lastInfoAt = -Infinity;
  private readonly rfcDigits: DigitRecord[] = [];
  private readonly inbandDigits: DigitRecord[] = [];
  private readonly infoDigits: DigitRecord[] = [];

  constructor(opts: RtpDtmfMergerOptions) {
    this.holdoffMs = opts.holdoffMs;
    this.te = opts.telephoneEvents;
    this.onDigit = opts.onDigit;
    this.onDualTransport = opts.onDualTransport;
  }

  /**
   * The caller's decoded audio, for in-band detection (skipped, and the detector reset, while out-of-band digits
   * are being received).
   * @param pcm 8 kHz samples of one packet; @param now the clock's time, ms
   */
  audio(pcm: Int16Array, now: number): void {
    const det = (this.detector ??= new DtmfDetector());
    if (this.outOfBandActive(now)) {
      if (!this.detectorSuspended) {
        det.reset();
        this.detectorSuspended = true;
        this.detectorPending = false;
      }
      return;
    }
    if (this.detectorSuspended) {
      det.reset();
      this.detectorSuspended = false;
    }
    this.detectorPending = true;
    for (const d of det.feed(pcm)) this.inbandDigit(d.digit, d.durationMs, now);
  }

  /**
   * Reports a tone still held by the detector once the caller's audio stopped (no packet for 100 ms): called from
   * the session's tick.
   * @param now the clock's time, ms; @param lastAudioAt when the last audio or CN packet arrived, ms
   */
  idle(now: number, lastAudioAt: number): void {
    if (this.detectorPending && this.detector && now - lastAudioAt >= INBAND_FLUSH_QUIET_MS) {
      this.detectorPending = false;
      for (const d of this.detector.flush()) this.inbandDigit(d.digit, d.durationMs, now);
    }
  }

  /** A press as the RFC 4733 receiver reported it (its `startedAt`/`reportedAt` on the clock, ms). */
  rfc4733(d: ReceivedDtmf): void {
    if (this.matchOther(this.infoDigits, d.digit, d.startedAt, d.reportedAt, INFO_SLACK_MS)) return this.onDualTransport();
    if (this.matchOther(this.inbandDigits, d.digit, d.startedAt, d.reportedAt, DEDUP_SLACK_MS)) return;
    this.remember(this.rfcDigits, d.digit, d.startedAt, d.reportedAt);
    this.onDigit({ digit: d.digit, source: 'rfc4733', durationMs: d.durationMs });
  }

  /**
   * A digit from a SIP INFO (`parseInfoDtmf`).
   * @param digit as parsed; @param durationMs as parsed, ms; @param now the clock's time when it arrived, ms
   */
  info(digit: string, durationMs: number, now: number): void {
    this.lastInfoAt = now;
    const start = now - durationMs;
    if (this.matchOther(this.rfcDigits, digit, start, now, INFO_SLACK_MS)) return this.onDualTransport();
    if (this.matchOther(this.inbandDigits, digit, start, now, INFO_SLACK_MS)) return;
    this.remember(this.infoDigits, digit, start, now);
    this.onDigit({ digit, source: 'info', durationMs });
  }

  private outOfBandActive(now: number): boolean {
    const last = Math.max(this.te.lastPacketAt, this.lastInfoAt);
    return this.te.active || now - last < this.holdoffMs;
  }

  private inbandDigit(digit: string, durationMs: number, now: number): void {
    if (this.outOfBandActive(now)) return;
    // The tone ended about 40 ms (the detector's gap) before it is reported.
    const end = now - INBAND_REPORT_DELAY_MS;
    const start = end - durationMs;
    if (this.matchOther(this.rfcDigits, digit, start, end, DEDUP_SLACK_MS)) return;
    if (this.matchOther(this.infoDigits, digit, start, end, INFO_SLACK_MS)) return;
    this.remember(this.inbandDigits, digit, start, end);
    this.onDigit({ digit, source: 'inband', durationMs });
  }

  /** Finds the oldest unmatched digit of another transport overlapping [start, end] (± slack, ms); marks it matched. */
  private matchOther(list: DigitRecord[], digit: string, start: number, end: number, slack: number): boolean {
    for (const r of list) {
      if (!r.matched && r.digit === digit && r.start - slack <= end && start <= r.end + slack) {
        r.matched = true;
        return true;
      }
    }
    return false;
  }

  private remember(list: DigitRecord[], digit: string, start: number, end: number): void {
    list.push({ digit, start, end, matched: false });
    if (list.length > REMEMBERED) list.shift();
  }
}
