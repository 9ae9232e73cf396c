/**
 * A per-source rate limit on new SIP transactions, after Kamailio's `pike` module: at most N requests per window
 * from one IP address; past that, everything from the address is dropped quietly (no response: a response is what a
 * scanner or an amplification attack wants) until a block period ends. UM IP gateways have a limit of their own,
 * much higher, and are never blocked longer than the current window (a burst of calls from the PBX must not cut it
 * off for a minute). Applied before the `sip` package parses anything (issue 19, "SIP input").
 *
 * What counts: each request that starts a new transaction, and anything that is not a response (garbage costs a
 * parse too). What does not: responses; a retransmission of a request already counted (the same method and top Via
 * branch from the same address, seen up to {@link FREE_RETRANSMISSIONS} times within about 32 s, the life of a
 * transaction, RFC 3261 §17); ACKs, which have an allowance of their own equal to the limit (an ACK answers an
 * INVITE that was counted). Memory is bounded: {@link MAX_SOURCES} addresses (beyond that, addresses that are not
 * gateways share one budget) and {@link MAX_REMEMBERED} transactions per address and period.
 */

/** The limit's settings (`sip.floodLimit` in the directory file). */
export interface FloodLimitOptions {
  /** New requests per window allowed from one address that is not a UM IP gateway. */
  requests: number;
  /** The window, ms. */
  windowMs: number;
  /** How long an address over the limit is dropped, ms (gateways: until the window ends). */
  blockMs: number;
  /** New requests per window allowed from a UM IP gateway's address. */
  gatewayRequests: number;
}

/** What to do with a message: hand it on, drop it, or drop it and log that the address is now blocked. */
export type FloodVerdict = 'pass' | 'drop' | 'block';

/** The kind of message for the count: a request (or anything unparseable), an ACK, a response. */
export type FloodKind = 'request' | 'ack' | 'response';

/** How often one transaction's request may come again without counting (RFC 3261 §17: at most 11 sends). */
export const FREE_RETRANSMISSIONS = 11;
/** How long a counted transaction is remembered: two periods of this length (32 s = 64*T1, Timer B/F). */
const REMEMBER_MS = 32_000;
/** Transactions remembered per address and period. */
export const MAX_REMEMBERED = 8192;
/** Addresses tracked at once. */
export const MAX_SOURCES = 65_536;
/** The budget shared by the addresses beyond {@link MAX_SOURCES}. */
const OVERFLOW = '*';

interface Source {
  gateway: boolean;
  windowStart: number;
  count: number;
  acks: number;
  blockedUntil: number;
  lastSeen: number;
  /** Transactions counted in this period, with how often each came again. */
  recent: Map<string, number>;
  older: Map<string, number> | null;
  periodStart: number;
}

/** The limiter; one per SIP server. Not thread-safe (Node has one thread). */
export class FloodLimiter {
  private readonly sources = new Map<string, Source>();

  /**
   * @param opts the limits
   * @param isGateway whether an address is a UM IP gateway's; asked when an address is first seen and at the start
   *   of each of its windows (so a gateway added by a cmdlet counts from the next window)
   * @param now the clock, ms (injectable for tests)
   */
  constructor(
    readonly opts: FloodLimitOptions,
    private readonly isGateway: (address: string) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /** Addresses tracked now (for tests and the stats). */
  get size(): number {
    return this.sources.size;
  }

  /**
   * True while `address` (tracked on its own) is blocked: everything from it is dropped before it is even scanned.
   * An address sharing the overflow budget is told by {@link check}.
   */
  blocked(address: string): boolean {
    const s = this.sources.get(address);
    return !!s && s.blockedUntil > this.now();
  }

  /**
   * Counts one message from `address` and says what to do with it.
   * @param address the source IP address
   * @param kind request (or unparseable), ACK, or response
   * @param txKey the transaction's key as the message names it (method and top Via branch), or null when it has none
   * @returns 'pass'; 'drop' (over the limit, or blocked); 'block' (the first drop of a block period: log it once)
   */
  check(address: string, kind: FloodKind, txKey: string | null): FloodVerdict {
    const now = this.now();
    const s = this.source(address, now);
    s.lastSeen = now;
    if (s.blockedUntil > now) return 'drop';
    if (now - s.windowStart >= this.opts.windowMs) {
      s.windowStart = now;
      s.count = 0;
      s.acks = 0;
      if (address !== OVERFLOW && this.sources.get(address) === s) s.gateway = this.gatewayOf(address);
    }
    if (kind === 'response') return 'pass';
    if (now - s.periodStart >= REMEMBER_MS) {
      s.older = s.recent;
      s.recent = new Map();
      s.periodStart = now;
    }
    const limit = s.gateway ? this.opts.gatewayRequests : this.opts.requests;
    if (kind === 'ack') {
      if (++s.acks <= limit) return 'pass';
    } else {
      const seen = txKey === null ? undefined : (s.recent.get(txKey) ?? s.older?.get(txKey));
      if (seen !== undefined && seen < FREE_RETRANSMISSIONS) {
        s.recent.set(txKey!, seen + 1);
        return 'pass';
      }
      // A new transaction, or one sent more often than RFC 3261 ever does: it counts (and the latter stays counting).
      if (++s.count <= limit) {
        if (txKey !== null && seen === undefined && s.recent.size < MAX_REMEMBERED) s.recent.set(txKey, 0);
        return 'pass';
      }
    }
    s.blockedUntil = s.gateway ? s.windowStart + this.opts.windowMs : now + this.opts.blockMs;
    return 'block';
  }

  /** Whether `address` was a gateway when its window started (for the log line). */
  isGatewaySource(address: string): boolean {
    return this.sources.get(address)?.gateway ?? false;
  }

  /** Forgets addresses that are neither blocked nor seen within the last window and retransmission period. */
  sweep(): void {
    const now = this.now();
    const idle = Math.max(this.opts.windowMs, 2 * REMEMBER_MS);
    for (const [address, s] of this.sources) {
      if (s.blockedUntil <= now && now - s.lastSeen > idle) this.sources.delete(address);
    }
  }

  private gatewayOf(address: string): boolean {
    try {
      return this.isGateway(address);
    } catch {
      return false;
    }
  }

  private source(address: string, now: number): Source {
    let s = this.sources.get(address);
    if (s) return s;
    const gateway = this.gatewayOf(address);
    let key = address;
    if (this.sources.size >= MAX_SOURCES) {
      this.sweep();
      if (this.sources.size >= MAX_SOURCES && !gateway) {
        key = OVERFLOW;
        s = this.sources.get(OVERFLOW);
        if (s) return s;
      }
    }
    s = { gateway, windowStart: now, count: 0, acks: 0, blockedUntil: 0, lastSeen: now, recent: new Map(), older: null, periodStart: now };
    this.sources.set(key, s);
    return s;
  }
}
