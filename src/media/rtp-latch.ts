/**
 * Latching (symmetric RTP, as behind NAT; RFC 4961 §2 and Asterisk's `rtp_symmetric`/"nat=yes" behaviour): an RTP
 * session sends to the SDP address until RTP arrives from another address:port; from then on it sends where the
 * caller's RTP really comes from. To stop a third party from stealing the stream (Asterisk's "RTP bleed"), a new
 * source is latched only when the current one has been quiet for `quietMs` (100 ms by default) or has never sent
 * anything. A packet from source port 0 ("no reply expected", RFC 768: SIPp's `play_pcap_audio` sends its digit
 * captures so, from a raw socket) is never latched on. Pure: fed with the clock's time by the session, which logs and
 * emits the `latch` event.
 */

/** An address to send RTP to. */
export interface RtpAddress {
  address: string;
  port: number;
}

/** Where one session sends, and whether a packet's source moves it; see the module comment. @internal */
export class RtpLatch {
  /** Where packets go now (the SDP address, or the latched source), or null before {@link reset}. Do not modify. */
  target: RtpAddress | null = null;
  /** The target before the last latch (for the log), or null. */
  previous: RtpAddress | null = null;
  /** How many times a new source was latched. */
  count = 0;
  private lastHeard = -Infinity;

  /** @param quietMs a new source is latched only after the current one was quiet this long, ms */
  constructor(private readonly quietMs: number) {}

  /** Sends to the SDP's address from now on, as if nothing had been heard from it yet (a new or changed SDP). */
  reset(address: string, port: number): void {
    this.target = { address, port };
    this.lastHeard = -Infinity;
  }

  /**
   * An accepted RTP packet came from `address:port`.
   * @param now the clock's time, ms
   * @returns true when the target moved to this source (latched), false otherwise
   */
  heard(address: string, port: number, now: number): boolean {
    // Port 0: such a packet's payload counts; its address is not one we could send to.
    if (port === 0) return false;
    const t = this.target;
    if (t === null) return false; // nothing negotiated yet: nothing to send anyway
    if (t.address === address && t.port === port) {
      this.lastHeard = now;
      return false;
    }
    if (now - this.lastHeard < this.quietMs) return false; // the current source is alive
    this.previous = t;
    this.target = { address, port };
    this.lastHeard = now;
    this.count++;
    return true;
  }
}
