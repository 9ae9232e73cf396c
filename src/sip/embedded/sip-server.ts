/**
 * EmbeddedSipServer: SIP signalling over the npm package `sip` (transport and transactions) with our own UAS dialog
 * layer (RFC 3261 §12-§15): INVITE/ACK/CANCEL/BYE/OPTIONS/INFO and re-INVITE, on UDP and TCP sharing one address and
 * port. Only this folder imports `sip` (DESIGN.md, "Layers").
 *
 * What this layer adds to the package (DESIGN.md, "Known pitfalls"):
 * - 2xx retransmission until the ACK (RFC 3261 §13.3.1.4: T1 doubling to T2; after 64*T1 without an ACK, BYE), and
 *   the same 2xx again for a retransmitted INVITE (the package ignores it once it has sent a 2xx).
 * - Dialogs: To tag, Contact, Record-Route copied into responses; in-dialog requests matched by Call-ID and tags;
 *   BYE built from the dialog state (CSeq, route set, remote target; RFC 3261 §12.2.1.1).
 * - 400 for malformed requests the package would drop silently (when a response can be addressed), 481/405/415/416/
 *   420/482/483/501 where RFC 3261 §8.2 asks for them, and no crash on any input.
 * - Large UDP receive buffers, a raised TCP `maxBytesHeaders` (the package drops a connection as a "Flood attempt"
 *   at about 60 KB pending).
 * - Before the package parses anything (inbound.ts): size limits (513), a per-address flood limit, the syntax the
 *   package needs, and TCP framing in linear time; the RFC 3261 §8.2 checks of request-validation.ts after it.
 */
import { ErrorCodes, VaError } from '../../errors';
import type { IncomingSubscription, SubscriptionDialog, SubscriptionRefresh, SubscriptionSource } from '../../ports/mwi';
import type * as dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { lazyChild } from '../../log';
import { callerUser, diversionUser, parseUriParts, sdpFromBody, uriUser } from './headers';
import { findFreeSipPort } from './free-port';
import { FloodLimiter, type FloodLimitOptions } from './flood-limiter';
import { InboundScreen } from './inbound';
import { DEFAULT_MESSAGE_LIMITS, type MessageLimits, type MessageScan } from './message-limits';
import { isKnownMethod, REASON_PHRASES, validateRequest } from './request-validation';
import { inDialogRequest, type DialogRoute } from './in-dialog-request';
import { CollidedTransactions, TransactionOrigins, sameSentBy, type CollidedTransaction } from './transaction-origins';
import { captureSockets, redirectConsoleInListeners, sendRedirectingConsole } from './socket-capture';
import { randomHex } from '../../util/random-pool';
import {
  isRequest,
  sipPackage,
  type SipFlow,
  type SipMessage,
  type SipNameAddr,
  type SipRequest,
  type SipResponse,
  type SipRouteEntry,
  type SipStack,
} from './sip-package';

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

/** Transport a request arrived on. */
export type SipTransportName = 'udp' | 'tcp';

/** Who ended a dialog: the caller's BYE, our `bye()`, or no ACK for our 2xx within 64*T1. */
export type DialogEndedBy = 'remote' | 'local' | 'timeout';

/** A new call: an INVITE without a To tag. Exactly one final response goes out (the first call wins). */
export interface IncomingInvite {
  readonly callId: string;
  /** User part of P-Asserted-Identity, else of From; null when anonymous (see `callerUser` in headers.ts). */
  readonly fromUser: string | null;
  /** User part of the Request-URI (else of To; `''` when neither has one). */
  readonly toUser: string;
  /** The diverting extension: first Diversion entry (RFC 5806), else History-Info (RFC 7044); see `diversionUser`. */
  readonly diversion?: string;
  /** Where the INVITE came from (the address the 403 allow-list checks). */
  readonly source: { address: string; port: number; transport: SipTransportName };
  /** The SDP offer (from a multipart body too), or null for an INVITE without one. */
  readonly offer: string | null;
  /** True once a CANCEL arrived before our final response (487 was sent). */
  readonly cancelled: boolean;
  /**
   * Final error response (300-699), with a Retry-After header when `retryAfterSeconds` is given (a 503 when
   * MaxCallsAllowed is reached, RFC 3261 §20.33). A no-op after a final response. @throws RangeError for a status
   * outside 300-699
   */
  reject(status: number, reason?: string, retryAfterSeconds?: number): void;
  /** 180 Ringing (with our To tag). A no-op after a final response. */
  ringing(): void;
  /**
   * 200 OK with `answerSdp`, retransmitted (T1 doubling to T2) until the ACK; after 64*T1 without one: BYE and
   * `onEnded('timeout')`. Called again: the same Dialog. Called after a final response (CANCEL, reject, stop): a
   * Dialog that has already ended (`onEnded` fires at once with `remote`, cause `cancelled`, or `local`).
   */
  accept(answerSdp: string): Dialog;
  /* For an INVITE without SDP (`offer` null) `answerSdp` is our offer, and the caller's answer comes in the ACK. */
  /** Called when the caller cancels before our final response (after 200 to the CANCEL and 487 to the INVITE). */
  onCancel(handler: () => void): void;
}

/** An established call (UAS side of an INVITE dialog). */
export interface Dialog {
  readonly callId: string;
  /**
   * In-dialog INFO (e.g. `application/dtmf-relay`): `respond` sends the final response (200 usually; 415 for a body
   * type you refuse). Without a handler, or if `respond` is not called within `infoTimeoutMs`: 200 / 500.
   */
  onInfo(handler: (contentType: string, body: string, respond: (status: number) => void) => void): void;
  /**
   * re-INVITE (hold, media change, session refresh): return the answer SDP (200, retransmitted until the ACK) or null
   * (488). `offer` is null for an offerless re-INVITE: return an offer then. Without a handler: 200 with the last SDP.
   */
  onReinvite(handler: (offer: string | null) => string | null): void;
  /** Called once when the dialog ends; called at once (asynchronously) when registered after the end. */
  onEnded(handler: (by: DialogEndedBy, cause?: string) => void): void;
  /**
   * Called once when the ACK for our 2xx arrives (RFC 3261 §13.3.1.4: the call is established); at once
   * (asynchronously) when registered after it. Never called for a dialog that ended unconfirmed. `ackSdp` is the SDP
   * the ACK carried (null without one): the caller's answer when the INVITE had no offer and the 2xx carried ours
   * (late offer, RFC 3261 §13.2.1, §14).
   */
  onConfirmed(handler: (ackSdp: string | null) => void): void;
  /**
   * Ends the call with an in-dialog BYE. Resolves on its final response or after 64*T1. Before the ACK the BYE waits
   * for the ACK or the 64*T1 limit (RFC 3261 §15). Idempotent; resolves at once after the caller's BYE.
   */
  bye(): Promise<void>;
  /** True once the ACK for our 2xx arrived. */
  readonly confirmed: boolean;
}

/** Counters for tests and the benchmark. */
export interface SipServerStats {
  /** New INVITEs (not retransmissions). */
  invites: number;
  /** 2xx responses sent again by the retransmission timer (lost 200 OK or late ACK). */
  retransmitted2xx: number;
  /** Retransmitted INVITEs answered again with our 2xx. */
  repeated2xxForInvite: number;
  /** Dialogs given up after 64*T1 without an ACK. */
  ackTimeouts: number;
  /** Datagrams the package could not parse (keep-alives excluded). */
  malformedDatagrams: number;
  /** 400 responses to malformed requests (raw or parsed). */
  badRequests: number;
  /** TCP connections closed: over a size limit, a broken Content-Length, a flood, or bytes that never framed. */
  tcpConnectionsDropped: number;
  /** Messages over a size limit (answered 513, or dropped when they name no address). */
  oversized: number;
  /** Messages dropped by the flood limit. */
  floodDropped: number;
  /** Requests that reused another sender's branch (RFC 3261 §17.2.3) and were handled outside the package. */
  branchCollisions: number;
}

const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, SUBSCRIBE';
/** A UAS sends 100 Trying when it cannot answer an INVITE within this long, ms (RFC 3261 §8.2.6.1). */
const TRYING_AFTER_MS = 200;
const ACCEPT = 'application/sdp, application/dtmf-relay, application/dtmf, multipart/mixed';
/** How long the package keeps a finished INVITE transaction (64*T1 with its fixed T1 of 500 ms), plus a margin. */
const TRANSACTION_LIFETIME_MS = 33_000;

interface ResolvedOptions {
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

/**
 * The embedded SIP server (UAS). Start it with {@link EmbeddedSipServer.start}; register `onInvite`; stop it with
 * `stop()` (BYE on every dialog, then close).
 */
export class EmbeddedSipServer implements SubscriptionSource {
  private constructor(private readonly core: Core) {}

  /**
   * Binds UDP and TCP on `opts.host`:`opts.port` (port 0: a port free for both) and starts serving.
   * @throws Error when the address/port cannot be bound (after up to 10 candidate ports when `port` is 0)
   */
  static async start(opts: SipServerOptions): Promise<EmbeddedSipServer> {
    const resolved: ResolvedOptions = {
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
    const log = opts.logger.child({ component: 'sip' });
    const attempts = opts.port === 0 ? 10 : 1;
    let lastError: unknown;
    for (let i = 0; i < attempts; i++) {
      const port = opts.port === 0 ? await findFreeSipPort(opts.host) : opts.port;
      const core = new Core(resolved, log, port);
      try {
        await core.bind();
        log.info({ host: opts.host, port, transports: ['udp', 'tcp'] }, 'sip listening');
        return new EmbeddedSipServer(core);
      } catch (e) {
        lastError = e;
        core.abandon();
        if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
      }
    }
    throw new VaError(ErrorCodes.SIP_BIND, `cannot bind SIP on ${opts.host}:${opts.port}: ${(lastError as Error)?.message ?? String(lastError)}`, {
      cause: lastError,
    });
  }

  /** The bound address. */
  get host(): string {
    return this.core.opts.host;
  }

  /** The bound port (UDP and TCP). */
  get port(): number {
    return this.core.port;
  }

  /** Counters since start. */
  get stats(): Readonly<SipServerStats> {
    return this.core.stats;
  }

  /** Registers the handler for new calls (one handler; a later call replaces it). Without one, INVITEs get 503. */
  onInvite(handler: (invite: IncomingInvite) => void): void {
    this.core.inviteHandler = handler;
  }

  /**
   * Registers the handler for new SUBSCRIBEs (RFC 6665; one handler). Without one, SUBSCRIBE gets 489 Bad Event.
   * The handler must answer (reject or accept) synchronously; otherwise 500 goes out.
   */
  onSubscribe(handler: (subscription: IncomingSubscription) => void): void {
    this.core.subscribeHandler = handler;
  }

  /**
   * Refuses new INVITEs (503), answers pending ones 503, sends BYE on every dialog (waiting up to `stopTimeoutMs` for
   * the responses), then closes the sockets and TCP connections. Idempotent.
   */
  stop(): Promise<void> {
    return this.core.stop();
  }
}

interface TcpConn {
  socket: Socket;
}

interface Pending2xx {
  rs: SipResponse;
  cseq: number;
  interval: number;
  timer: NodeJS.Timeout;
  deadline: NodeJS.Timeout;
}

function tagOf(na: SipNameAddr | undefined): string | undefined {
  const t = na?.params?.tag;
  return typeof t === 'string' && t !== '' ? t : undefined;
}

function branchOf(m: SipMessage): string {
  return String(m.headers.via[0]?.params?.branch ?? '');
}

function headerString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function newTag(): string {
  return randomHex(6);
}

function withTag(na: SipNameAddr, tag: string): SipNameAddr {
  // Not `{ ...na.params, tag }`: a key added after a spread costs about 1 us in V8 (see `flow-kit/ivr.ts`).
  const params = Object.assign({}, na.params);
  params.tag = tag;
  return { ...na, params };
}

function inviteKey(m: SipMessage): string {
  return `${m.headers['call-id']}\u0000${tagOf(m.headers.from) ?? ''}\u0000${m.headers.cseq.seq}`;
}

function dialogKey(callId: string, localTag: string, remoteTag: string | undefined): string {
  return `${callId}\u0000${localTag}\u0000${remoteTag ?? ''}`;
}

function connKey(address: string, port: number): string {
  return `${address}|${port}`;
}

/** The server's state and logic (not exported: the public surface is EmbeddedSipServer, IncomingInvite, Dialog). */
class Core {
  readonly stats: SipServerStats = {
    invites: 0,
    retransmitted2xx: 0,
    repeated2xxForInvite: 0,
    ackTimeouts: 0,
    malformedDatagrams: 0,
    badRequests: 0,
    tcpConnectionsDropped: 0,
    oversized: 0,
    floodDropped: 0,
    branchCollisions: 0,
  };
  inviteHandler: ((invite: IncomingInvite) => void) | null = null;
  subscribeHandler: ((subscription: IncomingSubscription) => void) | null = null;
  readonly subscriptions = new Map<string, SubscriptionDialogImpl>();
  readonly invites = new Map<string, PendingInvite>();
  readonly dialogs = new Map<string, DialogImpl>();
  private stack: SipStack | null = null;
  private udp: dgram.Socket | null = null;
  private tcp: Server | null = null;
  private readonly conns = new Map<string, TcpConn>();
  private readonly clientSockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly answered = new WeakSet<SipRequest>();
  /** The checks before the package parses (inbound.ts), and its flood limit. */
  private readonly screen: InboundScreen;
  private readonly limiter: FloodLimiter | null;
  /** The scan of each message's text, for request-validation.ts. */
  private readonly scans = new WeakMap<SipMessage, MessageScan>();
  /** RFC 3261 §17.2.3 matching the package lacks (transaction-origins.ts). */
  private readonly origins = new TransactionOrigins();
  private readonly collided = new CollidedTransactions();
  /** Requests (and their responses) of collided transactions: answered without the package. */
  private readonly collidedRequests = new WeakMap<SipRequest, CollidedTransaction>();
  private readonly collidedResponses = new WeakMap<SipResponse, CollidedTransaction>();
  /** A request whose transaction key another sender holds, kept from the package until afterDelivery. */
  private hidden: { rq: SipRequest; remote: SipFlow; method: string } | null = null;
  private stopping = false;
  private destroyed = false;
  private stopPromise: Promise<void> | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly opts: ResolvedOptions,
    readonly log: Logger,
    readonly port: number,
  ) {
    const limiter = opts.floodLimit ? new FloodLimiter(opts.floodLimit, opts.isGateway) : null;
    this.screen = new InboundScreen(
      { log, stats: this.stats, isStopping: () => this.stopping, afterDelivery: () => this.afterDelivery() },
      opts.limits,
      limiter,
    );
    this.limiter = limiter;
  }

  // ---------------------------------------------------------------- lifecycle

  async bind(): Promise<void> {
    const sip = sipPackage();
    const captured = captureSockets(() =>
      sip.create(
        {
          address: this.opts.host,
          port: this.port,
          publicAddress: this.opts.publicAddress,
          udp: true,
          tcp: true,
          // Messages reach the package whole and within the limits (inbound.ts): its own bounds must not cut them.
          maxBytesHeaders: Math.max(this.opts.maxBytesHeaders, this.opts.limits.maxMessageBytes + 1),
          maxContentLength: Math.max(604_800, this.opts.limits.maxMessageBytes),
          logger: {
            recv: (m, remote) => this.onRecv(m, remote),
            error: (e) => this.log.debug({ err: e }, 'sip stack error'),
          },
        },
        (rq, remote) => this.onRequest(rq, remote),
      ),
    );
    this.stack = captured.result;
    const udp = captured.udp[0];
    const tcp = captured.servers[0];
    if (!udp || !tcp) throw new Error('the sip package did not create a UDP socket and a TCP server');
    this.udp = udp;
    this.tcp = tcp;
    // Permanent listeners first: an 'error' without a listener would crash the process.
    udp.on('error', (err) => this.log.debug({ err }, 'sip udp socket error'));
    tcp.on('error', (err) => this.log.debug({ err }, 'sip tcp server error'));
    await Promise.all([listening(udp, 'listening'), listening(tcp, 'listening')]);
    try {
      udp.setRecvBufferSize(this.opts.socketBufferBytes);
      udp.setSendBufferSize(this.opts.socketBufferBytes);
    } catch (err) {
      this.log.debug({ err }, 'cannot raise the sip udp socket buffers');
    }
    this.screen.attachUdp(udp);
    tcp.on('connection', (socket: Socket) => this.onConnection(socket));
    this.sweepTimer = setInterval(() => this.sweep(), 5000);
    this.sweepTimer.unref();
    this.log.debug(
      { recvBuffer: safe(() => udp.getRecvBufferSize()), sendBuffer: safe(() => udp.getSendBufferSize()) },
      'sip udp buffers',
    );
  }

  /** Cleans up after a failed bind. */
  abandon(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    try {
      this.stack?.destroy();
    } catch {
      /* a socket that never bound may refuse to close */
    }
  }

  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    for (const inv of this.invites.values()) {
      if (!inv.final) this.answerInvite(inv, 503, undefined, { 'retry-after': '30' });
    }
    const byes = [...this.dialogs.values()].map((d) => d.shutdown());
    await Promise.race([Promise.allSettled(byes), delay(this.opts.stopTimeoutMs)]);
    for (const d of [...this.dialogs.values()]) d.finish();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    const udpClosed = this.udp ? listening(this.udp, 'close').catch(() => undefined) : Promise.resolve();
    const tcpClosed = this.tcp ? listening(this.tcp, 'close').catch(() => undefined) : Promise.resolve();
    this.destroyed = true;
    try {
      this.stack?.destroy();
    } catch (err) {
      this.log.debug({ err }, 'sip stack destroy');
    }
    for (const c of this.conns.values()) c.socket.destroy();
    for (const s of this.clientSockets) s.destroy();
    this.conns.clear();
    this.clientSockets.clear();
    await Promise.race([Promise.all([udpClosed, tcpClosed]), delay(1000)]);
    this.log.info({ port: this.port }, 'sip stopped');
  }

  /** Where the package's console.log lines go (see redirectConsoleInListeners). */
  private readonly packageConsole = (line: string): void => {
    if (line.startsWith('Flood')) this.stats.tcpConnectionsDropped++;
    this.log.debug({ line: line.slice(0, 200) }, 'sip package message');
  };

  /** A one-shot timer, unref'd and cleared by stop(). */
  timer(fn: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      try {
        fn();
      } catch (err) {
        this.log.warn({ err }, 'sip timer handler failed');
      }
    }, ms);
    t.unref();
    this.timers.add(t);
    return t;
  }

  clearTimer(t: NodeJS.Timeout | undefined | null): void {
    if (!t) return;
    clearTimeout(t);
    this.timers.delete(t);
  }

  /** Forgets INVITE records once the package's transaction for them is gone, and idle flood-limit entries. */
  private sweep(): void {
    const now = Date.now();
    for (const [key, inv] of this.invites) {
      if (inv.final && now - inv.finalAt > TRANSACTION_LIFETIME_MS) this.invites.delete(key);
    }
    this.collided.sweep(TRANSACTION_LIFETIME_MS);
    this.limiter?.sweep();
  }

  // ---------------------------------------------------------------- transport hooks

  /**
   * Sees every message the package parsed, before its transaction layer (which swallows some of them). A request
   * whose transaction key another sender holds (RFC 3261 §17.2.3; transaction-origins.ts) is kept from the package
   * (a request without a method is ignored by it) and handled in afterDelivery.
   */
  private onRecv(m: SipMessage, remote: SipFlow): void {
    try {
      const scan = this.screen.take();
      if (scan) this.scans.set(m, scan);
      if (!isRequest(m)) return;
      const method = m.method;
      if (method === 'ACK') this.onAck(m);
      if (this.origins.observe(m) === 'other') {
        this.hidden = { rq: m, remote, method };
        m.method = '';
        return;
      }
      if (method === 'INVITE') {
        if (!tagOf(m.headers.to)) this.onInviteSeenAgain(m);
        else this.findDialog(m)?.reinviteSeenAgain(m);
      }
    } catch (err) {
      this.log.debug({ err }, 'sip receive hook failed');
    }
  }

  /**
   * After the package had a message (inbound.ts): a request kept from it in onRecv is a new transaction (§17.2.3),
   * answered here without the package; its retransmissions get our last response again.
   */
  private afterDelivery(): void {
    const hidden = this.hidden;
    if (!hidden) return;
    this.hidden = null;
    const { rq, remote } = hidden;
    rq.method = hidden.method;
    if (rq.method === 'ACK') return; // onAck had it
    try {
      const known = this.collided.find(rq);
      if (known) {
        if (known.last) this.sendResponse(known.last);
        return;
      }
      this.stats.branchCollisions++;
      this.log.debug({ callId: rq.headers['call-id'], method: rq.method, from: `${remote.address}:${remote.port}` }, "request reuses another sender's branch: a transaction of its own");
      this.collidedRequests.set(rq, this.collided.open(rq, remote));
      this.handleRequest(rq, remote);
    } catch (err) {
      this.log.debug({ err }, 'collided request handling failed');
    }
  }

  private onConnection(socket: Socket): void {
    const address = socket.remoteAddress;
    const port = socket.remotePort;
    if (address === undefined || port === undefined) return;
    const key = connKey(address, port);
    const conn: TcpConn = { socket };
    this.conns.set(key, conn);
    redirectConsoleInListeners(socket, 'data', new Set(), this.packageConsole);
    this.screen.attachConnection(socket);
    socket.on('close', () => {
      if (this.conns.get(key) === conn) this.conns.delete(key);
    });
    if (this.stopping) socket.destroy();
  }

  // ---------------------------------------------------------------- requests

  private onRequest(rq: SipRequest, remote: SipFlow): void {
    if (rq.method === 'ACK') return; // handled in onRecv (the package may swallow some ACKs)
    this.handleRequest(rq, remote);
  }

  private handleRequest(rq: SipRequest, remote: SipFlow): void {
    try {
      this.dispatch(rq, remote);
    } catch (err) {
      this.log.warn({ err, method: rq.method, callId: rq.headers['call-id'] }, 'sip request handling failed');
      if (!this.answered.has(rq)) this.respond(rq, 500);
    }
  }

  private dispatch(rq: SipRequest, remote: SipFlow): void {
    const problem = validateRequest(rq, remote, this.scans.get(rq));
    if (problem) {
      if (problem.status === 400) this.stats.badRequests++;
      this.respond(rq, problem.status, problem.reason, problem.headers);
      return;
    }
    const toTag = tagOf(rq.headers.to);
    const dialog = toTag ? this.findDialog(rq) : undefined;
    switch (rq.method) {
      case 'INVITE':
        if (!toTag) this.onNewInvite(rq, remote);
        else if (dialog) dialog.handleReinvite(rq);
        else this.respond(rq, 481);
        return;
      case 'CANCEL':
        this.onCancel(rq);
        return;
      case 'BYE':
        if (dialog) dialog.handleBye(rq);
        else this.respond(rq, 481);
        return;
      case 'INFO':
        if (dialog) dialog.handleInfo(rq);
        else this.respond(rq, 481);
        return;
      case 'SUBSCRIBE':
        this.onSubscribe(rq, remote, toTag);
        return;
      case 'OPTIONS':
        if (toTag && !dialog) this.respond(rq, 481);
        else this.respond(rq, 200, undefined, { allow: ALLOW, accept: ACCEPT, 'accept-language': 'en, fr' });
        return;
      default:
        // §8.2.1: a method we know but do not serve is 405 with Allow; any other is 501 (§21.5.2).
        if (!isKnownMethod(rq.method)) this.respond(rq, 501);
        else if (toTag && !dialog) this.respond(rq, 481);
        else this.respond(rq, 405, undefined, { allow: ALLOW });
    }
  }

  /** SUBSCRIBE (RFC 6665): a new one goes to the application; one with a To tag refreshes its subscription. */
  private onSubscribe(rq: SipRequest, remote: SipFlow, toTag: string | undefined): void {
    if (toTag) {
      const sub = this.subscriptions.get(dialogKey(rq.headers['call-id'], toTag, tagOf(rq.headers.from)));
      if (sub) sub.handleRefresh(rq);
      else this.respond(rq, 481);
      return;
    }
    if (!this.subscribeHandler) {
      this.respond(rq, 489, 'Bad Event');
      return;
    }
    const incoming = new IncomingSubscribeImpl(this, rq, remote);
    this.subscribeHandler(incoming);
    if (!this.answered.has(rq)) this.respond(rq, 500);
  }

  private findDialog(rq: SipRequest): DialogImpl | undefined {
    const toTag = tagOf(rq.headers.to);
    if (!toTag) return undefined;
    return this.dialogs.get(dialogKey(rq.headers['call-id'], toTag, tagOf(rq.headers.from)));
  }

  private onNewInvite(rq: SipRequest, remote: SipFlow): void {
    const key = inviteKey(rq);
    const existing = this.invites.get(key);
    if (existing) {
      if (existing.branch === branchOf(rq) && sameSentBy(existing.rq, rq)) {
        // A retransmission whose package transaction is gone: the same final response again (§17.2.1).
        if (existing.final) {
          if (existing.final.status < 300) this.stats.repeated2xxForInvite++;
          this.sendResponse(existing.final);
          this.answered.add(rq);
        }
      } else {
        this.respond(rq, 482); // merged request (§8.2.2.2)
      }
      return;
    }
    if (this.stopping) {
      this.respond(rq, 503, undefined, { 'retry-after': '30' });
      return;
    }
    this.stats.invites++;
    const body = sdpFromBody(headerString(rq.headers['content-type']), rq.content);
    const uri = typeof rq.uri === 'string' ? rq.uri : sipPackage().stringifyUri(rq.uri);
    const toUser = parseUriParts(uri)?.user ?? uriUser(rq.headers.to.uri) ?? '';
    const inv = new PendingInvite(this, rq, remote, key, {
      callId: rq.headers['call-id'],
      fromUser: callerUser(rq.headers.from.uri, headerString(rq.headers['p-asserted-identity'])),
      toUser,
      diversion: diversionUser(headerString(rq.headers.diversion), headerString(rq.headers['history-info'])),
      source: { address: remote.address, port: remote.port, transport: remote.protocol.toUpperCase() === 'TCP' ? 'tcp' : 'udp' },
      offer: 'sdp' in body ? body.sdp : null,
    });
    this.invites.set(key, inv);
    if ('unsupported' in body) {
      this.answerInvite(inv, 415, undefined, { accept: 'application/sdp' });
      return;
    }
    if (!this.inviteHandler) {
      this.answerInvite(inv, 503);
      return;
    }
    // RFC 3261 §8.2.6.1: 100 Trying when the final response is not out within 200 ms. An answer sooner (the usual
    // case: the IVR answers within milliseconds) saves a datagram per call, which cost a tenth of a call's setup.
    const tryingMs = Math.min(TRYING_AFTER_MS, this.opts.inviteTimeoutMs);
    inv.guard = this.timer(() => {
      if (inv.final) return;
      if (!inv.provisionalSent) this.answerInvite(inv, 100);
      inv.guard = this.timer(() => {
        if (!inv.final) {
          inv.log.warn({ afterMs: this.opts.inviteTimeoutMs }, 'no final response from the application; 480');
          this.answerInvite(inv, 480);
        }
      }, this.opts.inviteTimeoutMs - tryingMs);
    }, tryingMs);
    try {
      this.inviteHandler(inv);
    } catch (err) {
      inv.log.warn({ err }, 'invite handler failed');
      if (!inv.final) this.answerInvite(inv, 500);
    }
  }

  /** A retransmitted INVITE seen before the transaction layer: after a 2xx the package ignores it, so we resend. */
  private onInviteSeenAgain(rq: SipRequest): void {
    const inv = this.invites.get(inviteKey(rq));
    if (!inv || !inv.final || inv.final.status >= 300 || inv.branch !== branchOf(rq) || !sameSentBy(inv.rq, rq)) return;
    // Goes out only while the package's transaction still exists; once it is gone, onRequest sees the INVITE.
    this.stats.repeated2xxForInvite++;
    this.sendResponse(inv.final);
  }

  private onCancel(rq: SipRequest): void {
    const inv = this.invites.get(inviteKey(rq));
    // §9.2: the CANCEL matches the INVITE's transaction (§17.2.3: branch and sent-by).
    if (!inv || inv.branch !== branchOf(rq) || !sameSentBy(inv.rq, rq)) {
      this.respond(rq, 481);
      return;
    }
    this.respond(rq, 200, undefined, undefined, inv.localTag);
    if (!inv.final) {
      this.answerInvite(inv, 487);
      inv.markCancelled();
    }
  }

  private onAck(ack: SipRequest): void {
    const toTag = tagOf(ack.headers.to);
    if (!toTag) return;
    this.dialogs.get(dialogKey(ack.headers['call-id'], toTag, tagOf(ack.headers.from)))?.handleAck(ack);
  }

  // ---------------------------------------------------------------- responses

  /** Sends a response to `rq` (our To tag added when the request has none, except for 100). */
  respond(rq: SipRequest, status: number, reason?: string, headers?: Record<string, unknown>, toTag?: string, content?: string): SipResponse {
    const rs = sipPackage().makeResponse(rq, status, reason ?? REASON_PHRASES[status] ?? '');
    rs.version = '2.0'; // our responses are SIP/2.0 even to a request that claims another version
    if (status > 100 && !tagOf(rq.headers.to)) rs.headers.to = withTag(rq.headers.to, toTag ?? newTag());
    rs.headers.server = this.opts.userAgent;
    if (headers) Object.assign(rs.headers, headers);
    if (content !== undefined) rs.content = content;
    if (status >= 200) this.answered.add(rq);
    const collided = this.collidedRequests.get(rq);
    if (collided) this.collidedResponses.set(rs, collided);
    this.sendResponse(rs);
    return rs;
  }

  /** Sends a response through the package's server transaction, or directly for a collided transaction. */
  sendResponse(rs: SipResponse): void {
    try {
      const collided = this.collidedResponses.get(rs);
      if (collided) {
        collided.last = rs;
        this.sendDirect(collided.flow, sipPackage().stringify(rs));
      } else this.stack?.send(rs);
    } catch (err) {
      this.log.debug({ err, status: rs.status, callId: rs.headers['call-id'] }, 'sip response not sent');
    }
  }

  /** Writes a message to a flow without the package: the UDP socket, or the TCP connection it came on. */
  private sendDirect(flow: SipFlow, text: string): void {
    if (this.destroyed) return;
    if (flow.protocol.toUpperCase() === 'UDP') this.udp?.send(Buffer.from(text, 'latin1'), flow.port, flow.address, () => undefined);
    else {
      const c = this.conns.get(connKey(flow.address, flow.port));
      if (c && !c.socket.destroyed) c.socket.write(text, 'latin1');
    }
  }

  /** Answers an initial INVITE; returns the response, or null when a final response was already sent. */
  answerInvite(
    inv: PendingInvite,
    status: number,
    reason?: string,
    headers?: Record<string, unknown>,
    content?: string,
  ): SipResponse | null {
    if (inv.final) return null;
    const extra: Record<string, unknown> = Object.assign({}, headers);
    if (status > 100 && status < 300) {
      const rr = inv.rq.headers['record-route'];
      if (Array.isArray(rr) && rr.length > 0) extra['record-route'] = rr.filter((e) => e && e.uri !== undefined);
      extra.contact = [{ uri: this.contactUri(inv.remote.protocol), params: {} }];
    }
    if (status >= 200 && status < 300) extra.allow = ALLOW;
    const rs = this.respond(inv.rq, status, reason, extra, inv.localTag, content);
    if (status >= 200) {
      inv.final = rs;
      inv.finalAt = Date.now();
      this.clearTimer(inv.guard);
      // A CANCEL cannot apply after a final response (except the 487 that a CANCEL itself sends, whose handlers run
      // right after it): the handlers, which hold the call's channel, must not live on with the INVITE's record.
      if (status !== 487) inv.forgetCancelHandlers();
      inv.log.debug({ status }, 'final response to invite');
    } else {
      inv.provisionalSent = true;
    }
    return rs;
  }

  acceptInvite(inv: PendingInvite, answerSdp: string): Dialog {
    if (inv.dialog) return inv.dialog;
    if (inv.final) {
      return new EndedDialog(inv.callId, inv.cancelled ? 'remote' : 'local', inv.cancelled ? 'cancelled' : `already answered ${inv.final.status}`);
    }
    const dialog = new DialogImpl(this, inv, answerSdp);
    const rs = this.answerInvite(inv, 200, 'OK', { 'content-type': 'application/sdp' }, answerSdp);
    inv.dialog = dialog;
    this.dialogs.set(dialog.key, dialog);
    if (rs) dialog.start2xx(rs, inv.rq.headers.cseq.seq);
    return dialog;
  }

  contactUri(protocol: string): string {
    const host = isIP(this.opts.publicAddress) === 6 ? `[${this.opts.publicAddress}]` : this.opts.publicAddress;
    return `sip:${host}:${this.port}${protocol.toUpperCase() === 'TCP' ? ';transport=tcp' : ''}`;
  }

  // ---------------------------------------------------------------- requests we send

  /**
   * Where an in-dialog request goes: over TCP, the connection the INVITE came on while it is open (SIPp, gateways
   * and SBCs expect connection reuse); otherwise the next hop named by the route set or the remote target.
   * @returns the flow, or null when the next hop cannot be resolved
   */
  async nextHop(source: SipFlow, nextHopUri: string): Promise<SipFlow | null> {
    if (source.protocol.toUpperCase() === 'TCP') {
      const c = this.conns.get(connKey(source.address, source.port));
      if (c && !c.socket.destroyed) return source;
    }
    const p = parseUriParts(nextHopUri);
    if (!p || !p.host) return { ...source };
    let address = p.host;
    if (!isIP(address)) {
      try {
        address = (await lookup(address)).address;
      } catch (err) {
        this.log.debug({ err, host: p.host }, 'cannot resolve the next hop');
        return null;
      }
    }
    const transport = (p.params.transport ?? source.protocol).toUpperCase();
    if (transport !== 'UDP' && transport !== 'TCP') return null;
    return { protocol: transport, address, port: p.port ?? 5060, local: { address: this.opts.host, port: this.port } };
  }

  /**
   * Sends a request on `flow` through the package (a client transaction: retransmission over UDP, 408 after 64*T1).
   * The flow is named by a flow-token Route the package strips before sending; routing by host would fail when the
   * peer shares our host string (the package then looks for a flow token in the user part and finds none).
   */
  sendRequest(rq: SipRequest, flow: SipFlow, onResponse: (rs: SipResponse) => void): void {
    if (!this.stack || this.destroyed) return;
    const stack = this.stack;
    rq.headers.route = [{ uri: stack.encodeFlowUri(flow), params: {} }, ...(rq.headers.route ?? [])];
    const reused = flow.protocol.toUpperCase() === 'TCP' ? this.conns.get(connKey(flow.address, flow.port))?.socket : undefined;
    const before = reused ? new Set(reused.rawListeners('error')) : null;
    try {
      sendRedirectingConsole(() => stack.send(rq, onResponse), this.clientSockets, this.packageConsole);
      if (reused && before) redirectConsoleInListeners(reused, 'error', before, this.packageConsole);
    } catch (err) {
      this.log.debug({ err, method: rq.method }, 'sip request not sent');
    }
  }

}

/** Server-side state of an initial INVITE; the application sees it as IncomingInvite. */
class PendingInvite implements IncomingInvite {
  readonly callId: string;
  readonly fromUser: string | null;
  readonly toUser: string;
  readonly diversion?: string;
  readonly source: { address: string; port: number; transport: SipTransportName };
  readonly offer: string | null;
  readonly branch: string;
  readonly localTag = newTag();
  readonly log: Logger;
  final: SipResponse | null = null;
  finalAt = 0;
  provisionalSent = false;
  dialog: DialogImpl | null = null;
  guard: NodeJS.Timeout | undefined;
  private cancelledFlag = false;
  private cancelHandlers: Array<() => void> = [];

  constructor(
    private readonly core: Core,
    readonly rq: SipRequest,
    readonly remote: SipFlow,
    readonly key: string,
    fields: Pick<IncomingInvite, 'callId' | 'fromUser' | 'toUser' | 'diversion' | 'source' | 'offer'>,
  ) {
    this.callId = fields.callId;
    this.fromUser = fields.fromUser;
    this.toUser = fields.toUser;
    if (fields.diversion !== undefined) this.diversion = fields.diversion;
    this.source = fields.source;
    this.offer = fields.offer;
    this.branch = branchOf(rq);
    this.log = lazyChild(core.log, { callId: this.callId });
  }

  get cancelled(): boolean {
    return this.cancelledFlag;
  }

  reject(status: number, reason?: string, retryAfterSeconds?: number): void {
    if (!Number.isInteger(status) || status < 300 || status > 699) throw new RangeError(`not a final error status: ${status}`);
    this.core.answerInvite(this, status, reason, retryAfterSeconds === undefined ? undefined : { 'retry-after': String(retryAfterSeconds) });
  }

  ringing(): void {
    this.core.answerInvite(this, 180);
  }

  accept(answerSdp: string): Dialog {
    return this.core.acceptInvite(this, answerSdp);
  }

  onCancel(handler: () => void): void {
    if (this.cancelledFlag) process.nextTick(() => callSafely(this.log, handler));
    else this.cancelHandlers.push(handler);
  }

  /** Drops the cancel handlers (after a final response; the record is kept 33 s for retransmissions). */
  forgetCancelHandlers(): void {
    this.cancelHandlers = [];
  }

  markCancelled(): void {
    this.cancelledFlag = true;
    this.log.debug('invite cancelled');
    const handlers = this.cancelHandlers;
    this.cancelHandlers = [];
    for (const h of handlers) callSafely(this.log, h);
  }
}

/** A Dialog for `accept()` after a final response: already ended. */
class EndedDialog implements Dialog {
  readonly confirmed = false;
  constructor(
    readonly callId: string,
    private readonly by: DialogEndedBy,
    private readonly cause: string,
  ) {}
  onInfo(): void {}
  onReinvite(): void {}
  onConfirmed(): void {}
  onEnded(handler: (by: DialogEndedBy, cause?: string) => void): void {
    process.nextTick(() => handler(this.by, this.cause));
  }
  bye(): Promise<void> {
    return Promise.resolve();
  }
}

type DialogState = 'early' | 'confirmed' | 'terminating' | 'ended';

/** UAS side of an INVITE dialog (RFC 3261 §12.1.1, §12.2.2, §13.3.1.4, §14.2, §15). */
class DialogImpl implements Dialog {
  readonly callId: string;
  readonly key: string;
  private state: DialogState = 'early';
  private acked = false;
  private readonly localTag: string;
  private readonly remoteTag: string | undefined;
  /** Our identity: the INVITE's To, with our tag. */
  private readonly localAddr: SipNameAddr;
  /** The caller's identity: the INVITE's From (with its tag). */
  private readonly remoteAddr: SipNameAddr;
  private remoteTarget: string;
  private readonly routeSet: SipRouteEntry[];
  private localCseq: number;
  private remoteCseq: number;
  private readonly initialCseq: number;
  private readonly source: SipFlow;
  private localSdp: string;
  private readonly log: Logger;
  private pending2xx: Pending2xx | null = null;
  private infoHandler: ((contentType: string, body: string, respond: (status: number) => void) => void) | null = null;
  private reinviteHandler: ((offer: string | null) => string | null) | null = null;
  private endedHandlers: Array<(by: DialogEndedBy, cause?: string) => void> = [];
  private confirmedHandlers: Array<(ackSdp: string | null) => void> = [];
  /** The SDP the ACK carried: the caller's answer when the INVITE had no offer (RFC 3261 §13.2.1). */
  private ackSdp: string | null = null;
  private endedWith: { by: DialogEndedBy; cause?: string } | null = null;
  private byePromise: Promise<void> | null = null;
  private deferredBye: { send: () => void; resolve: () => void } | null = null;

  constructor(
    private readonly core: Core,
    inv: PendingInvite,
    answerSdp: string,
  ) {
    const rq = inv.rq;
    this.callId = inv.callId;
    this.localTag = inv.localTag;
    this.remoteTag = tagOf(rq.headers.from);
    this.key = dialogKey(this.callId, this.localTag, this.remoteTag);
    this.localAddr = withTag(rq.headers.to, this.localTag);
    this.remoteAddr = { ...rq.headers.from, params: { ...rq.headers.from.params } };
    const contact = Array.isArray(rq.headers.contact) ? rq.headers.contact[0] : undefined;
    this.remoteTarget = contact?.uri ?? `sip:${inv.remote.address}:${inv.remote.port}`;
    const rr = rq.headers['record-route'];
    this.routeSet = Array.isArray(rr) ? rr.filter((e) => e && e.uri !== undefined).map((e) => ({ ...e })) : [];
    this.initialCseq = rq.headers.cseq.seq;
    this.remoteCseq = rq.headers.cseq.seq;
    this.localCseq = 1 + Math.floor(Math.random() * 10_000);
    this.source = inv.remote;
    this.localSdp = answerSdp;
    this.log = inv.log;
  }

  get confirmed(): boolean {
    return this.acked;
  }

  onInfo(handler: (contentType: string, body: string, respond: (status: number) => void) => void): void {
    this.infoHandler = handler;
  }

  onReinvite(handler: (offer: string | null) => string | null): void {
    this.reinviteHandler = handler;
  }

  onEnded(handler: (by: DialogEndedBy, cause?: string) => void): void {
    const ended = this.endedWith;
    if (ended) process.nextTick(() => callSafely(this.log, () => handler(ended.by, ended.cause)));
    else this.endedHandlers.push(handler);
  }

  onConfirmed(handler: (ackSdp: string | null) => void): void {
    if (this.acked) process.nextTick(() => callSafely(this.log, () => handler(this.ackSdp)));
    else if (this.state !== 'ended') this.confirmedHandlers.push(handler);
  }

  bye(): Promise<void> {
    if (this.byePromise) return this.byePromise;
    if (this.state === 'ended') return Promise.resolve();
    this.state = 'terminating';
    const promise = new Promise<void>((resolve) => {
      if (!this.acked && this.pending2xx) {
        // §15: no BYE before the ACK for our 2xx (or the end of its retransmissions).
        this.deferredBye = { send: () => void this.sendBye().then(resolve), resolve };
        return;
      }
      void this.sendBye().then(resolve);
    });
    this.byePromise = promise;
    this.emitEnded('local');
    return promise;
  }

  /** stop(): BYE now, confirmed or not (the process is going away). */
  shutdown(): Promise<void> {
    if (this.deferredBye) {
      const d = this.deferredBye;
      this.deferredBye = null;
      this.stop2xx();
      d.send();
      return this.byePromise ?? Promise.resolve();
    }
    if (this.byePromise) return this.byePromise;
    if (this.state === 'ended') return Promise.resolve();
    this.stop2xx();
    this.state = 'terminating';
    const promise = this.sendBye();
    this.byePromise = promise;
    this.emitEnded('local', 'shutdown');
    return promise;
  }

  // ------------------------------------------------------------ 2xx retransmission (§13.3.1.4)

  start2xx(rs: SipResponse, cseq: number): void {
    this.stop2xx();
    const t1 = this.core.opts.t1;
    const p: Pending2xx = {
      rs,
      cseq,
      interval: t1,
      timer: this.core.timer(() => this.retransmit2xx(), t1),
      deadline: this.core.timer(() => this.noAck(), 64 * t1),
    };
    this.pending2xx = p;
  }

  private retransmit2xx(): void {
    const p = this.pending2xx;
    if (!p) return;
    this.core.stats.retransmitted2xx++;
    this.core.sendResponse(p.rs);
    p.interval = Math.min(p.interval * 2, this.core.opts.t2);
    p.timer = this.core.timer(() => this.retransmit2xx(), p.interval);
  }

  private stop2xx(): void {
    const p = this.pending2xx;
    if (!p) return;
    this.core.clearTimer(p.timer);
    this.core.clearTimer(p.deadline);
    this.pending2xx = null;
  }

  private noAck(): void {
    this.stop2xx();
    this.core.stats.ackTimeouts++;
    this.log.info({ afterMs: 64 * this.core.opts.t1 }, 'no ACK for our 2xx; ending the call with BYE');
    if (this.deferredBye) {
      const d = this.deferredBye;
      this.deferredBye = null;
      d.send();
      return;
    }
    if (this.state === 'terminating' || this.state === 'ended') return;
    this.state = 'terminating';
    this.byePromise = this.sendBye();
    this.emitEnded('timeout', 'no ACK');
  }

  // ------------------------------------------------------------ requests from the caller

  /** A retransmitted re-INVITE after our 2xx (the package ignores it): that 2xx again, while it awaits its ACK. */
  reinviteSeenAgain(rq: SipRequest): void {
    const p = this.pending2xx;
    if (p && p.cseq === rq.headers.cseq.seq && branchOf(p.rs) === branchOf(rq)) this.core.sendResponse(p.rs);
  }

  handleAck(ack: SipRequest): void {
    const seq = ack.headers.cseq.seq;
    if (this.pending2xx && this.pending2xx.cseq === seq) this.stop2xx();
    if (!this.acked && (seq === this.initialCseq || !this.pending2xx)) {
      this.acked = true;
      const body = sdpFromBody(headerString(ack.headers['content-type']), ack.content);
      this.ackSdp = 'sdp' in body ? body.sdp : null;
      if (this.state === 'early') this.state = 'confirmed';
      this.log.debug('dialog confirmed');
      for (const h of this.confirmedHandlers.splice(0)) callSafely(this.log, () => h(this.ackSdp));
    }
    if (this.deferredBye && !this.pending2xx) {
      const d = this.deferredBye;
      this.deferredBye = null;
      d.send();
    }
  }

  /** §12.2.2: a request with a lower CSeq than the last one is out of order (500). */
  private inOrder(rq: SipRequest): boolean {
    const seq = rq.headers.cseq.seq;
    if (seq < this.remoteCseq) {
      this.core.respond(rq, 500, 'Out of Order CSeq');
      return false;
    }
    this.remoteCseq = seq;
    return true;
  }

  handleBye(rq: SipRequest): void {
    if (!this.inOrder(rq)) return;
    this.core.respond(rq, 200);
    this.stop2xx();
    if (this.deferredBye) {
      // Our BYE was waiting for the ACK; theirs ends the dialog instead.
      const d = this.deferredBye;
      this.deferredBye = null;
      d.resolve();
      this.finish();
      return;
    }
    if (this.state === 'terminating') return; // our BYE is out; it finishes the dialog
    this.log.debug('BYE from the caller');
    this.emitEnded('remote');
    this.finish();
  }

  handleInfo(rq: SipRequest): void {
    if (this.state === 'terminating' || this.state === 'ended') {
      this.core.respond(rq, 481);
      return;
    }
    if (!this.inOrder(rq)) return;
    const handler = this.infoHandler;
    if (!handler) {
      this.core.respond(rq, 200);
      return;
    }
    let responded = false;
    const respond = (status: number) => {
      if (responded) return;
      responded = true;
      this.core.clearTimer(guard);
      const s = Number.isInteger(status) && status >= 200 && status <= 699 ? status : 500;
      this.core.respond(rq, s);
    };
    const guard = this.core.timer(() => {
      this.log.warn('INFO handler did not respond; 500');
      respond(500);
    }, this.core.opts.infoTimeoutMs);
    try {
      // Never log the body: it carries the digits (DESIGN.md, "Logs").
      handler(headerString(rq.headers['content-type']) ?? '', rq.content ?? '', respond);
    } catch (err) {
      this.log.warn({ err }, 'INFO handler failed');
      respond(500);
    }
  }

  handleReinvite(rq: SipRequest): void {
    if (this.state === 'terminating' || this.state === 'ended') {
      this.core.respond(rq, 481);
      return;
    }
    if (!this.inOrder(rq)) return;
    const body = sdpFromBody(headerString(rq.headers['content-type']), rq.content);
    if ('unsupported' in body) {
      this.core.respond(rq, 415, undefined, { accept: 'application/sdp' });
      return;
    }
    let answer: string | null;
    try {
      answer = this.reinviteHandler ? this.reinviteHandler(body.sdp) : this.localSdp;
    } catch (err) {
      this.log.warn({ err }, 're-INVITE handler failed');
      this.core.respond(rq, 500);
      return;
    }
    if (answer === null) {
      this.core.respond(rq, 488);
      return;
    }
    // Target refresh (§12.2.2): a Contact in a re-INVITE replaces the remote target.
    const contact = Array.isArray(rq.headers.contact) ? rq.headers.contact[0] : undefined;
    if (contact?.uri) this.remoteTarget = contact.uri;
    this.localSdp = answer;
    const rs = this.core.respond(
      rq,
      200,
      'OK',
      {
        contact: [{ uri: this.core.contactUri(this.source.protocol), params: {} }],
        allow: ALLOW,
        'content-type': 'application/sdp',
      },
      undefined,
      answer,
    );
    this.start2xx(rs, rq.headers.cseq.seq);
  }

  // ------------------------------------------------------------ requests we send

  private async sendBye(): Promise<void> {
    const rs = await this.request('BYE');
    this.log.debug({ status: rs?.status ?? null }, 'BYE done');
    this.finish();
  }

  /** Sends an in-dialog request; resolves with the final response, or null after 64*T1 or when it cannot be sent. */
  private request(method: string): Promise<SipResponse | null> {
    const { callId, localAddr, remoteAddr, remoteTarget, routeSet, source } = this;
    return inDialogRequest(this.core, { callId, localAddr, remoteAddr, remoteTarget, routeSet, source, localCseq: ++this.localCseq }, method);
  }

  // ------------------------------------------------------------ end

  private emitEnded(by: DialogEndedBy, cause?: string): void {
    if (this.endedWith) return;
    this.endedWith = cause === undefined ? { by } : { by, cause };
    // The handlers hold the call (channel, media); the dialog itself stays reachable from its INVITE's record for
    // 33 s. In-dialog requests after the end get the defaults (INFO 200, re-INVITE the last SDP).
    this.confirmedHandlers = [];
    this.infoHandler = null;
    this.reinviteHandler = null;
    const handlers = this.endedHandlers;
    this.endedHandlers = [];
    for (const h of handlers) callSafely(this.log, () => h(by, cause));
  }

  finish(): void {
    this.state = 'ended';
    this.stop2xx();
    if (this.deferredBye) {
      const d = this.deferredBye;
      this.deferredBye = null;
      d.resolve();
    }
    if (!this.endedWith) this.emitEnded('local', 'shutdown');
    if (this.core.dialogs.get(this.key) === this) this.core.dialogs.delete(this.key);
  }
}

/** The `Expires` header as whole seconds; undefined when absent or not a number. */
function expiresOf(rq: SipRequest): number | undefined {
  const v = rq.headers.expires;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  // RFC 3261 §20.19: 0 to 2**32-1 seconds; a larger value (RFC 4475 `scalar02`) is taken as that.
  return Number.isFinite(n) ? Math.min(n, 2 ** 32 - 1) : undefined;
}

/** The package name of an `Event` header (`message-summary;id=1` -> `message-summary`), lower case. */
function eventPackage(rq: SipRequest): string {
  const v = headerString(rq.headers.event) ?? '';
  return v.split(';')[0].trim().toLowerCase();
}

/** A new SUBSCRIBE (RFC 6665 §4.2.1), as {@link IncomingSubscription}. */
class IncomingSubscribeImpl implements IncomingSubscription {
  readonly event: string;
  readonly expires: number | undefined;
  readonly toUser: string;
  readonly fromUser: string | null;
  readonly sourceAddress: string;
  private answered = false;

  constructor(
    private readonly core: Core,
    private readonly rq: SipRequest,
    private readonly remote: SipFlow,
  ) {
    this.event = eventPackage(rq);
    this.expires = expiresOf(rq);
    const uri = typeof rq.uri === 'string' ? rq.uri : sipPackage().stringifyUri(rq.uri);
    this.toUser = parseUriParts(uri)?.user ?? uriUser(rq.headers.to.uri) ?? '';
    this.fromUser = uriUser(rq.headers.from.uri) ?? null;
    this.sourceAddress = remote.address;
  }

  reject(status: number, headers?: Record<string, string>): void {
    if (this.answered) return;
    this.answered = true;
    this.core.respond(this.rq, status, undefined, lowerKeys(headers));
  }

  accept(expiresS: number): SubscriptionDialog {
    const d = new SubscriptionDialogImpl(this.core, this.rq, this.remote);
    if (!this.answered) {
      this.answered = true;
      this.core.respond(this.rq, 200, undefined, { expires: String(expiresS), contact: [{ uri: this.core.contactUri(this.remote.protocol), params: {} }] }, d.localTag);
    }
    if (expiresS > 0) this.core.subscriptions.set(d.key, d);
    return d;
  }
}

function lowerKeys(h: Record<string, string> | undefined): Record<string, unknown> | undefined {
  if (!h) return undefined;
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

/** The notifier side of a subscription dialog (RFC 6665 §4.2.2): in-dialog NOTIFYs, refreshes, unsubscribe. */
class SubscriptionDialogImpl implements SubscriptionDialog {
  readonly id: string;
  readonly key: string;
  readonly localTag = newTag();
  private readonly route: Omit<DialogRoute, 'localCseq'>;
  private localCseq = Math.floor(Math.random() * 10_000);
  private refreshHandler: ((r: SubscriptionRefresh) => void) | null = null;
  private closed = false;

  constructor(
    private readonly core: Core,
    rq: SipRequest,
    remote: SipFlow,
  ) {
    const callId = rq.headers['call-id'];
    this.id = `${callId};${this.localTag}`;
    this.key = dialogKey(callId, this.localTag, tagOf(rq.headers.from));
    const contact = Array.isArray(rq.headers.contact) ? rq.headers.contact[0] : undefined;
    const rr = rq.headers['record-route'];
    this.route = {
      callId,
      localAddr: withTag(rq.headers.to, this.localTag),
      remoteAddr: { ...rq.headers.from, params: { ...rq.headers.from.params } },
      remoteTarget: contact?.uri ?? `sip:${remote.address}:${remote.port}`,
      routeSet: Array.isArray(rr) ? rr.filter((e) => e && e.uri !== undefined).map((e) => ({ ...e })) : [],
      source: remote,
    };
  }

  async notify(subscriptionState: string, body: string): Promise<number> {
    const rs = await inDialogRequest(this.core, { ...this.route, localCseq: ++this.localCseq }, 'NOTIFY', {
      headers: {
        event: 'message-summary',
        'subscription-state': subscriptionState,
        'content-type': 'application/simple-message-summary',
        contact: [{ uri: this.core.contactUri(this.route.source.protocol), params: {} }],
      },
      content: body,
    });
    return rs?.status ?? 0;
  }

  onRefresh(handler: (r: SubscriptionRefresh) => void): void {
    this.refreshHandler = handler;
  }

  /** A SUBSCRIBE in this dialog: a refresh, or `Expires: 0` (unsubscribe). */
  handleRefresh(rq: SipRequest): void {
    const core = this.core;
    let answered = false;
    const refresh: SubscriptionRefresh = {
      expires: expiresOf(rq),
      reject: (status, headers) => {
        if (answered) return;
        answered = true;
        core.respond(rq, status, undefined, lowerKeys(headers));
      },
      accept: (expiresS) => {
        if (answered) return;
        answered = true;
        core.respond(rq, 200, undefined, { expires: String(expiresS), contact: [{ uri: core.contactUri(this.route.source.protocol), params: {} }] });
      },
    };
    if (this.closed || !this.refreshHandler) refresh.reject(481);
    else this.refreshHandler(refresh);
    if (!answered) refresh.reject(500);
  }

  close(): void {
    this.closed = true;
    if (this.core.subscriptions.get(this.key) === this) this.core.subscriptions.delete(this.key);
  }
}

function callSafely(log: Logger, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    log.warn({ err }, 'sip event handler failed');
  }
}

function listening(emitter: NodeJS.EventEmitter, event: 'listening' | 'close', timeoutMs = 5000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onEvent = () => {
      cleanup();
      resolve();
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for '${event}'`));
    }, timeoutMs);
    timer.unref();
    const cleanup = () => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      emitter.off('error', onError);
    };
    emitter.once(event, onEvent);
    emitter.once('error', onError);
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function safe<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    return null;
  }
}

