/**
 * SimDtmfLine: an in-process call's keys as the server decodes them (issue 22). The simulator has no RTP and no SIP,
 * so instead of re-stating what the server would make of a fault, each key goes through the server's own DTMF
 * decoding, the code an `RtpSession` runs (`media/rtp-session.ts`), on the virtual clock:
 * - RFC 4733: the packets a fault produces (`rfc4733KeyPackets`, the same the network caller sends) are fed, at their
 *   20 ms intervals, to a {@link DtmfEventReceiver} with the session's timeout, and what it reports to the session's
 *   {@link RtpDtmfMerger};
 * - in-band: the step's audio (`inbandStepAudio`, the same samples the network caller plays) goes through G.711
 *   (PCMU, the codec our offer puts first) to the merger's Goertzel detector in 20 ms frames, with the session's
 *   idle flush 100 ms after the last;
 * - SIP INFO: each request (`infoSends`) is checked against the dialog's CSeq rule as the embedded SIP stack applies
 *   it (RFC 3261 §12.2.2: a request with a lower CSeq than the last one is answered 500 and goes no further, see
 *   `sip/embedded/invite-dialog.ts`), and its digit handed to the merger as `RtpCallChannel.infoDigit` does.
 * Plain keys (a step without signal options) are still delivered at once, but through the same merger: an RFC 4733
 * key as the receiver would report it (and, as the next event's first packet would, it ends an event still open),
 * an INFO key as an INFO; so the merger's rules (INFO and RFC 4733 of one press counted once, in-band detection
 * suspended for 2 s after out-of-band keys) hold in-process as they do over the network.
 * Digits are never written to the transcript here: they may be a PIN.
 */
import { decodeG711, encodeG711 } from '../media/g711';
import { DtmfEventReceiver, type ScheduledDtmfPacket } from '../media/rfc4733';
import { DEFAULT_RFC4733_HOLDOFF_MS, RtpDtmfMerger } from '../media/rtp-dtmf-merger';
import type { Clock } from '../ports/clock';
import { inbandStepAudio } from './dtmf-audio';
import { DEFAULT_DTMF_KEY_MS, infoSends, rfc4733KeyPackets, type DtmfSignal } from './dtmf-faults';

/** Samples per RTP packet (20 ms at 8 kHz). */
const FRAME = 160;
/** The send interval, ms. */
const INTERVAL_MS = 20;
/** When the session's tick flushes the in-band detector after the caller's audio stops, ms. */
const IDLE_FLUSH_MS = 100;
/** The SSRC of the simulated caller's RTP stream. */
const SSRC = 0x51a1c0de;
/** A plain RFC 4733 key's packets span this long (80 ms: three updates, the end at 60 ms and two copies), ms. */
const PLAIN_KEY_SPAN_MS = DEFAULT_DTMF_KEY_MS + 2 * INTERVAL_MS;

/** What a {@link SimDtmfLine} needs. */
export interface SimDtmfLineOptions {
  /** The call's (virtual) clock. */
  clock: Clock;
  /** A key press as the server's merger decided it (the channel's `deliverDigit`). */
  deliver: (digit: string) => void;
  /** Adds a line to the call's transcript (never with digits). */
  note: (text: string) => void;
  /** True once the call has ended: nothing more is sent. */
  ended: () => boolean;
}

/** The server-side DTMF decoding of one in-process call; see the module comment. */
export class SimDtmfLine {
  private readonly clock: Clock;
  private readonly opts: SimDtmfLineOptions;
  private readonly rx: DtmfEventReceiver;
  private readonly merger: RtpDtmfMerger;
  /** The media clock's origin: RTP timestamps count 8 per ms from here. */
  private readonly t0: number;
  /** When the last plain RFC 4733 key's packets would have ended (for the merger's in-band hold-off). */
  private plainPacketsUntil = -Infinity;
  /** The highest INFO CSeq the dialog accepted, and the next one this caller uses. */
  private remoteCseq = -1;
  private nextCseq = 0;
  private lastAudioAt = -Infinity;
  private closed = false;

  constructor(opts: SimDtmfLineOptions) {
    this.opts = opts;
    this.clock = opts.clock;
    this.t0 = opts.clock.now();
    this.rx = new DtmfEventReceiver({ clock: this.clock, onDigit: (d) => !this.closed && this.merger.rfc4733(d) });
    const rx = this.rx;
    const line = this;
    this.merger = new RtpDtmfMerger({
      holdoffMs: DEFAULT_RFC4733_HOLDOFF_MS,
      // The receiver's activity, and the plain keys' packets that were never fed to it.
      telephoneEvents: {
        get active() {
          return rx.active;
        },
        get lastPacketAt() {
          return Math.max(rx.lastPacketAt, Math.min(line.clock.now(), line.plainPacketsUntil));
        },
      },
      onDigit: (e) => !this.closed && this.opts.deliver(e.digit),
      onDualTransport: () => this.opts.note('the server counts a key sent both by SIP INFO and RFC 4733 once'),
    });
  }

  /**
   * A plain key, delivered now through the merger (see the module comment).
   * @param digit `0-9 * # A-D`; @param via how it travels (`rfc4733` or `info`)
   */
  plain(digit: string, via: 'rfc4733' | 'info'): void {
    if (this.closed) return;
    const now = this.clock.now();
    if (via === 'info') {
      this.remoteCseq = this.nextCseq++;
      this.merger.info(digit, DEFAULT_DTMF_KEY_MS, now);
      return;
    }
    this.rx.flush(); // its first packet would end an event still open (the receiver's rule 2)
    this.plainPacketsUntil = now + PLAIN_KEY_SPAN_MS;
    const ts = this.timestampAt(now);
    this.merger.rfc4733({ digit, durationMs: DEFAULT_DTMF_KEY_MS, reason: 'end', ssrc: SSRC, timestamp: ts, startedAt: now, reportedAt: now });
  }

  /**
   * One RFC 4733 key with the signal's faults: its packets fed to the receiver at their intervals from now.
   * @returns resolves once its last packet was fed (or the call ended)
   */
  async rfc4733Key(digit: string, signal: DtmfSignal): Promise<void> {
    const packets = rfc4733KeyPackets(digit, signal);
    const start = this.clock.now();
    const ts = this.timestampAt(start);
    let i = 0;
    while (i < packets.length && !this.stopped()) {
      const slot = packets[i].slot;
      const due = start + slot * INTERVAL_MS - this.clock.now();
      if (due > 0) await this.sleep(due);
      if (this.stopped()) break;
      for (; i < packets.length && packets[i].slot === slot; i++) this.feed(packets[i], ts);
    }
  }

  /**
   * An in-band step: its audio (every key, `gapMs` apart) as 20 ms G.711 frames from now.
   * @returns how many keys' sound had started when it stopped (all of them unless the call ended first)
   */
  async inband(digits: string, gapMs: number, signal: DtmfSignal): Promise<number> {
    const pcm = decodeG711(encodeG711(inbandStepAudio(digits, gapMs, signal), 0), 0);
    const start = this.clock.now();
    let fed = 0;
    for (let k = 0; k * FRAME < pcm.length && !this.stopped(); k++) {
      const due = start + k * INTERVAL_MS - this.clock.now();
      if (due > 0) await this.sleep(due);
      if (this.stopped()) break;
      this.lastAudioAt = this.clock.now();
      this.merger.audio(pcm.subarray(k * FRAME, (k + 1) * FRAME), this.lastAudioAt);
      fed = (k + 1) * INTERVAL_MS;
    }
    const lastAudio = this.lastAudioAt;
    this.clock.setTimeout(() => {
      if (!this.closed) this.merger.idle(this.clock.now(), this.lastAudioAt);
    }, Math.max(0, lastAudio + IDLE_FLUSH_MS - this.clock.now()));
    return fed >= pcm.length / 8 ? digits.length : Math.min(digits.length, Math.ceil(fed / Math.max(gapMs, 1)));
  }

  /**
   * A SIP INFO step with the signal's faults (`infoSends`): each request at its time from now, refused when its
   * CSeq is lower than the last one the dialog accepted.
   * @returns how many keys were sent before the call ended (each key once, however many requests it took)
   */
  async info(digits: string, gapMs: number, signal: DtmfSignal): Promise<number> {
    const sends = infoSends(digits, gapMs, signal.faults);
    const base = this.nextCseq;
    this.nextCseq += Math.max(...sends.map((s) => s.cseq)) + 1;
    const start = this.clock.now();
    const keys = new Set<number>();
    for (const s of sends) {
      const due = start + s.atMs - this.clock.now();
      if (due > 0) await this.sleep(due);
      if (this.stopped()) break;
      const cseq = base + s.cseq;
      if (cseq < this.remoteCseq) {
        this.opts.note('the IVR answers an INFO 500: its CSeq is lower than the last one (out of order, RFC 3261 §12.2.2)');
      } else {
        this.remoteCseq = cseq;
        this.merger.info(s.digit, signal.durationMs, this.clock.now());
      }
      keys.add(s.key);
    }
    return keys.size;
  }

  /** Stops: the receiver's timer is cancelled and nothing more is delivered (the call ended). */
  close(): void {
    this.closed = true;
    this.rx.close();
  }

  private feed(p: ScheduledDtmfPacket, timestamp: number): void {
    this.rx.receive({ marker: p.marker, timestamp, ssrc: SSRC }, p.payload);
  }

  private stopped(): boolean {
    return this.closed || this.opts.ended();
  }

  private timestampAt(now: number): number {
    return (0x1000 + (now - this.t0) * 8) >>> 0;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }
}
