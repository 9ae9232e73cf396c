/**
 * DtmfMerger: one key press counted once when a media server reports digits from several transports, as the RTP
 * session does for the embedded engine (`rtp-session.ts`, whose rules these are; DESIGN.md, "Media"):
 * - in-band digits are dropped while telephone-events or SIP INFO digits are being received (from any of them until
 *   `outOfBandHoldoffMs` after the last), since a gateway that sends RFC 4733 often leaves the tone in the audio too;
 * - an RFC 4733 digit and an INFO digit for the same key within `infoSlackMs` of each other are one press (a phone
 *   misconfigured to send both); matching is one to one, so "55" typed quickly is still two presses;
 * - an in-band digit is also dropped when another transport reported the same digit within 300 ms.
 * Pure: fed by the caller with times from its clock.
 */

/** Where a digit came from. */
export type DtmfTransport = 'rfc4733' | 'inband' | 'info';

/** The merger's settings, ms. */
export interface DtmfMergerOptions {
  /** How long after the last out-of-band digit in-band ones are ignored [2000]. */
  outOfBandHoldoffMs?: number;
  /** How far apart an RFC 4733 and an INFO digit of one press may be [1000]. */
  infoSlackMs?: number;
}

interface Seen {
  digit: string;
  at: number;
  transport: DtmfTransport;
  matched: boolean;
}

const INBAND_SLACK_MS = 300;

export class DtmfMerger {
  private readonly seen: Seen[] = [];
  private lastOutOfBandAt = -Infinity;
  private readonly holdoffMs: number;
  private readonly infoSlackMs: number;

  constructor(opts: DtmfMergerOptions = {}) {
    this.holdoffMs = opts.outOfBandHoldoffMs ?? 2000;
    this.infoSlackMs = opts.infoSlackMs ?? 1000;
  }

  /**
   * One digit as a transport reported it.
   * @param digit the key; @param transport where it came from; @param now the clock's time, ms
   * @returns true when it is a new key press, false when it repeats one already counted
   */
  accept(digit: string, transport: DtmfTransport, now: number): boolean {
    this.forget(now);
    if (transport === 'inband') {
      if (now - this.lastOutOfBandAt < this.holdoffMs) return false;
      if (this.seen.some((s) => s.digit === digit && s.transport !== 'inband' && Math.abs(now - s.at) <= INBAND_SLACK_MS)) return false;
      this.seen.push({ digit, at: now, transport, matched: false });
      return true;
    }
    this.lastOutOfBandAt = now;
    const other: DtmfTransport = transport === 'info' ? 'rfc4733' : 'info';
    const twin = this.seen.find((s) => !s.matched && s.transport === other && s.digit === digit && now - s.at <= this.infoSlackMs);
    if (twin) {
      twin.matched = true;
      return false;
    }
    this.seen.push({ digit, at: now, transport, matched: false });
    return true;
  }

  private forget(now: number): void {
    const horizon = Math.max(this.infoSlackMs, INBAND_SLACK_MS);
    while (this.seen.length > 0 && now - this.seen[0].at > horizon) this.seen.shift();
  }
}
