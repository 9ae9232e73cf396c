/**
 * The options of the embedded SIP server (`EmbeddedSipServer.start` in sip-server.ts) and their defaults: RFC 3261
 * timers T1 and T2 (§17.1.1.1, 2xx retransmission §13.3.1.4), socket buffers, the guards on the application's
 * answers, the size limits (513, §21.5.14; message-limits.ts) and the flood limit (flood-limiter.ts).
 */
import type { Logger } from 'pino';
import type { FloodLimitOptions } from './flood-limiter';
import { DEFAULT_MESSAGE_LIMITS, type MessageLimits } from './message-limits';

/** Options of {@link EmbeddedSipServer.start}. */
export interface SipServerOptions {
  /** Address UDP and TCP bind to (an IP literal; use a specific address, or set `publicAddress`). */
  host: string;
  /** Port for both UDP and TCP; 0 picks one that is free for both. */
  port: number;
  logger: Logger;
  /** `Server`/`User-Agent` header value. Default `voice-access`. */
  userAgent?: string;
  /** Host written in our Via and Contact when `host` is not reachable as such (e.g. `0.0.0.0`). Default `host`. */
  publicAddress?: string;
  /** RFC 3261 timers T1 and T2 in ms for 2xx retransmission (default 500 and 4000); tests shorten them. */
  timers?: { t1Ms?: number; t2Ms?: number };
  /** Requested UDP receive/send buffer in bytes (default 8 MiB; Linux caps it at net.core.rmem_max/wmem_max). */
  socketBufferBytes?: number;
  /** TCP bytes pending in the package's parser before it drops the connection as a flood (default 1 MiB). */
  maxBytesHeaders?: number;
  /** Answer 480 to an INVITE the application left without a final response for this long (ms, default 180 000). */
  inviteTimeoutMs?: number;
  /** Answer 500 to an INFO the application did not respond to within this time (ms, default 5000). */
  infoTimeoutMs?: number;
  /** How long `stop()` waits for the responses to its BYEs (ms, default 2000). */
  stopTimeoutMs?: number;
  /**
   * Size limits checked before parsing (message-limits.ts; over one: 513 Message Too Large, RFC 3261 §21.5.14).
   * Default {@link DEFAULT_MESSAGE_LIMITS}: 64 KB, 256 header fields, 8 KB per header field.
   */
  limits?: Partial<MessageLimits>;
  /** A per-address rate limit on new transactions (flood-limiter.ts). Default: none. */
  floodLimit?: FloodLimitOptions;
  /** Whether an address is a UM IP gateway's (the flood limit's `gatewayRequests` applies). Default: none is. */
  isGateway?: (address: string) => boolean;
}

/** The options with every default applied. */
export interface ResolvedOptions {
  host: string;
  publicAddress: string;
  userAgent: string;
  t1: number;
  t2: number;
  socketBufferBytes: number;
  maxBytesHeaders: number;
  inviteTimeoutMs: number;
  infoTimeoutMs: number;
  stopTimeoutMs: number;
  limits: MessageLimits;
  floodLimit: FloodLimitOptions | null;
  isGateway: (address: string) => boolean;
}

/** `opts` with the defaults of {@link SipServerOptions} applied. */
export function resolveOptions(opts: SipServerOptions): ResolvedOptions {
  return {
    host: opts.host,
    publicAddress: opts.publicAddress ?? opts.host,
    userAgent: opts.userAgent ?? 'voice-access',
    t1: opts.timers?.t1Ms ?? 500,
    t2: opts.timers?.t2Ms ?? 4000,
    socketBufferBytes: opts.socketBufferBytes ?? 8 * 1024 * 1024,
    maxBytesHeaders: opts.maxBytesHeaders ?? 1024 * 1024,
    inviteTimeoutMs: opts.inviteTimeoutMs ?? 180_000,
    infoTimeoutMs: opts.infoTimeoutMs ?? 5000,
    stopTimeoutMs: opts.stopTimeoutMs ?? 2000,
    limits: { ...DEFAULT_MESSAGE_LIMITS, ...opts.limits },
    floodLimit: opts.floodLimit ?? null,
    isGateway: opts.isGateway ?? (() => false),
  };
}
