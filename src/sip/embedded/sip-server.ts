/**
 * EmbeddedSipServer: SIP signalling over the npm package `sip` (transport and transactions) with our own UAS dialog
 * layer (RFC 3261 §12-§15): INVITE/ACK/CANCEL/BYE/OPTIONS/INFO/SUBSCRIBE and re-INVITE, on UDP and TCP sharing one
 * address and port. Only this folder imports `sip` (DESIGN.md, "Layers").
 *
 * This file is the UAS core (RFC 3261 §8.2, §17.2.3): it dispatches each request to the piece that serves it,
 * builds and sends the responses, and keeps the INVITE records that recognise retransmissions. The pieces:
 * - sip-transport.ts: the sockets (UDP and TCP through the package), behind inbound.ts (size limits, flood limit,
 *   syntax, TCP framing; flood-limiter.ts, message-limits.ts);
 * - request-validation.ts: the RFC 3261 §8.2 checks after parsing (400, 416, 420, 483, 505; 405 or 501);
 * - transaction-origins.ts: requests that reuse another sender's branch (§17.2.3), answered here without the package;
 * - pending-invite.ts: a new call until its final response (IncomingInvite; 100 Trying, 487, 480, 503);
 * - invite-dialog.ts: the INVITE dialog (Dialog): 2xx retransmission until the ACK (§13.3.1.4; after 64*T1 without
 *   one, BYE), the same 2xx again for a retransmitted INVITE, re-INVITE, INFO, BYE;
 * - subscription-dialog.ts: SUBSCRIBE and the NOTIFYs of a subscription dialog (RFC 6665);
 * - route-set.ts: route set, remote target and next hop (§12.1.1, §12.2.1.1), shared with sip-client.ts;
 *   in-dialog-request.ts builds and sends the in-dialog requests;
 * - uas-common.ts: tags, dialog keys, the Allow list.
 * It re-exports the public names of those pieces, so importers need only this file.
 */
import { ErrorCodes, VaError } from '../../errors';
import { parseTestEventsHeader } from '../../domain/test-events';
import type { IncomingSubscription, SubscriptionSource } from '../../ports/mwi';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { callerUser, diversionUser, parseUriParts, sdpFromBody, uriUser } from './headers';
import { findFreeSipPort } from './free-port';
import type { MessageScan } from './message-limits';
import { resolveOptions, type ResolvedOptions, type SipServerOptions } from './server-options';
import { isKnownMethod, REASON_PHRASES, validateRequest } from './request-validation';
import { CollidedTransactions, TransactionOrigins, sameSentBy, type CollidedTransaction } from './transaction-origins';
import { delay, SipTransport } from './sip-transport';
import { PendingInvite, type IncomingInvite } from './pending-invite';
import { DialogImpl, EndedDialog, type Dialog } from './invite-dialog';
import { IncomingSubscribeImpl, type SubscriptionDialogImpl } from './subscription-dialog';
import { nextHopFlow, recordRouteOf } from './route-set';
import { ALLOW, branchOf, dialogKey, headerString, inviteKey, newTag, tagOf, withTag } from './uas-common';
import { isRequest, sipPackage, type SipFlow, type SipMessage, type SipRequest, type SipResponse } from './sip-package';

export type { DialogEndedBy, Dialog } from './invite-dialog';
export type { IncomingInvite, SipTransportName } from './pending-invite';
export type { SipServerOptions } from './server-options';

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

/** A UAS sends 100 Trying when it cannot answer an INVITE within this long, ms (RFC 3261 §8.2.6.1). */
const TRYING_AFTER_MS = 200;
const ACCEPT = 'application/sdp, application/dtmf-relay, application/dtmf, multipart/mixed';
/** How long the package keeps a finished INVITE transaction (64*T1 with its fixed T1 of 500 ms), plus a margin. */
const TRANSACTION_LIFETIME_MS = 33_000;

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
    const resolved = resolveOptions(opts);
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
   * The handler answers (reject or accept) before it returns, or before the promise it returns settles; otherwise
   * 500 goes out.
   */
  onSubscribe(handler: (subscription: IncomingSubscription) => void | Promise<void>): void {
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

/**
 * The server's state and logic (not exported: the public surface is EmbeddedSipServer, IncomingInvite, Dialog). It is
 * the `InviteCore`, `DialogCore`, `SubscriptionCore` and `InDialogCore` of the pieces, and the `TransportHost` of
 * sip-transport.ts.
 */
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
  subscribeHandler: ((subscription: IncomingSubscription) => void | Promise<void>) | null = null;
  readonly subscriptions = new Map<string, SubscriptionDialogImpl>();
  readonly invites = new Map<string, PendingInvite>();
  readonly dialogs = new Map<string, DialogImpl>();
  private readonly transport: SipTransport;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly answered = new WeakSet<SipRequest>();
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
  private stopPromise: Promise<void> | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly opts: ResolvedOptions,
    readonly log: Logger,
    readonly port: number,
  ) {
    this.transport = new SipTransport(opts, this, port);
  }

  // ---------------------------------------------------------------- lifecycle

  async bind(): Promise<void> {
    await this.transport.bind();
    this.sweepTimer = setInterval(() => this.sweep(), 5000);
    this.sweepTimer.unref();
  }

  /** Cleans up after a failed bind. */
  abandon(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.transport.abandon();
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
    await this.transport.close();
    this.log.info({ port: this.port }, 'sip stopped');
  }

  /** True once stop() began (TransportHost). */
  isStopping(): boolean {
    return this.stopping;
  }

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
    this.transport.sweep();
  }

  // ---------------------------------------------------------------- transport hooks

  /**
   * Sees every message the package parsed, before its transaction layer (which swallows some of them). A request
   * whose transaction key another sender holds (RFC 3261 §17.2.3; transaction-origins.ts) is kept from the package
   * (a request without a method is ignored by it) and handled in afterDelivery.
   */
  onRecv(m: SipMessage, remote: SipFlow): void {
    try {
      const scan = this.transport.takeScan();
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
  afterDelivery(): void {
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

  // ---------------------------------------------------------------- requests

  onRequest(rq: SipRequest, remote: SipFlow): void {
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
    const handled = this.subscribeHandler(incoming);
    if (!(handled instanceof Promise)) {
      if (!this.answered.has(rq)) this.respond(rq, 500);
      return;
    }
    // The handler reads the store first: its answer comes when that is done.
    void handled
      .catch((err: unknown) => this.log.warn({ err, method: rq.method, callId: rq.headers['call-id'] }, 'sip request handling failed'))
      .then(() => {
        if (!this.answered.has(rq) && !this.stopping) this.respond(rq, 500);
      });
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
      testEvents: parseTestEventsHeader(headerString(rq.headers['x-va-test-events'])),
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
        this.transport.sendDirect(collided.flow, sipPackage().stringify(rs));
      } else this.transport.sendResponse(rs);
    } catch (err) {
      this.log.debug({ err, status: rs.status, callId: rs.headers['call-id'] }, 'sip response not sent');
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
      const rr = recordRouteOf(inv.rq);
      if (rr) extra['record-route'] = rr;
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
  nextHop(source: SipFlow, nextHopUri: string): Promise<SipFlow | null> {
    if (source.protocol.toUpperCase() === 'TCP' && this.transport.hasConnection(source.address, source.port)) return Promise.resolve(source);
    return nextHopFlow(nextHopUri, source, { address: this.opts.host, port: this.port }, this.log);
  }

  /** Sends a request on `flow` as a client transaction of the package (sip-transport.ts). */
  sendRequest(rq: SipRequest, flow: SipFlow, onResponse: (rs: SipResponse) => void): void {
    this.transport.sendRequest(rq, flow, onResponse);
  }
}
