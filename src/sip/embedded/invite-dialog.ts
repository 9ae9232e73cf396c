/**
 * The UAS side of an INVITE dialog (RFC 3261 §12.1.1 creation, §12.2.2 requests within it, §13.3.1.4 2xx
 * retransmission, §14.2 re-INVITE, §15 BYE), as the application sees it (`Dialog`), and `EndedDialog` for an
 * `accept()` that came after the final response.
 *
 * The dialog is made when the 2xx to the INVITE goes out (`acceptInvite` in sip-server.ts). Its state:
 *
 * ```
 *      accept(): 2xx sent
 *             |
 *             v
 *        +---------+ -- 64*T1 without an ACK: BYE sent ---------------+
 *        |  early  | -- bye() or stop(): BYE sent (bye() waits --+    |
 *        +---------+    for the ACK or 64*T1)                    |    |
 *             |                                                  v    v
 *             | ACK for the 2xx                               +-------------+
 *             v                 bye() or stop(): BYE sent     |             |
 *        +-----------+ -------------------------------------> | terminating |
 *        | confirmed |                                        |             |
 *        +-----------+                                        +-------------+
 *             |                                                      |
 *             | BYE received (in early too)                          | final response to our BYE, or 64*T1
 *             v                                                      | without one; or a BYE received while
 *        +---------+ <-----------------------------------------------+ ours waited for the ACK
 *        |  ended  |
 *        +---------+
 * ```
 *
 * In `early` the 2xx is retransmitted at T1, 2*T1, ... capped at T2 until the ACK (§13.3.1.4); a retransmitted
 * re-INVITE gets its 2xx again. `onEnded` fires on the way out of `early`/`confirmed` (`remote` for a BYE received,
 * `local` for ours, `timeout` for 64*T1 without an ACK). In `terminating` and `ended`, INFO and re-INVITE get 481.
 * The server's stop() moves every dialog to `ended` once its BYE is answered or after `stopTimeoutMs` (`finish`).
 */
import type { Logger } from 'pino';
import { sdpFromBody } from './headers';
import { inDialogRequest, type InDialogCore } from './in-dialog-request';
import { contactUriOf, routeSetOf } from './route-set';
import type { SipFlow, SipNameAddr, SipRequest, SipResponse, SipRouteEntry } from './sip-package';
import { ALLOW, branchOf, callSafely, dialogKey, headerString, tagOf, withTag } from './uas-common';

/** Who ended a dialog: the caller's BYE, our `bye()`, or no ACK for our 2xx within 64*T1. */
export type DialogEndedBy = 'remote' | 'local' | 'timeout';

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
  /**
   * Sends an in-dialog INFO (RFC 6086; legacy usage, no Info-Package) with this body: the test events of issue 22.
   * @returns the final response's status, or null after 64*T1 without one, when it cannot be sent, or once the
   *   dialog is terminating or has ended (nothing is sent then)
   */
  info(contentType: string, body: string): Promise<number | null>;
  /** True once the ACK for our 2xx arrived. */
  readonly confirmed: boolean;
}

/**
 * Where an INVITE dialog is (see the diagram above): `early` from our 2xx until its ACK, `confirmed` after it,
 * `terminating` once a BYE of ours is out (or waits for the ACK), `ended` at the end.
 */
export type DialogState = 'early' | 'confirmed' | 'terminating' | 'ended';

/** What a dialog needs of the server core (its `Core` in sip-server.ts). */
export interface DialogCore extends InDialogCore {
  readonly opts: { readonly userAgent: string; readonly t1: number; readonly t2: number; readonly infoTimeoutMs: number };
  readonly stats: { retransmitted2xx: number; ackTimeouts: number };
  /** The live dialogs by dialog ID; a dialog removes itself when it ends. */
  readonly dialogs: Map<string, DialogImpl>;
  /** Sends a response to `rq` (our To tag added when the request has none). */
  respond(rq: SipRequest, status: number, reason?: string, headers?: Record<string, unknown>, toTag?: string, content?: string): SipResponse;
  /** Sends a response again (a 2xx retransmission). */
  sendResponse(rs: SipResponse): void;
  /** Our Contact URI for a transport (`UDP`, `TCP`). */
  contactUri(protocol: string): string;
}

/** The INVITE a dialog is made from (a PendingInvite of pending-invite.ts). */
export interface DialogOrigin {
  readonly rq: SipRequest;
  readonly remote: SipFlow;
  readonly callId: string;
  readonly localTag: string;
  readonly log: Logger;
}

/** A 2xx being retransmitted until its ACK (RFC 3261 §13.3.1.4). */
interface Pending2xx {
  rs: SipResponse;
  cseq: number;
  interval: number;
  timer: NodeJS.Timeout;
  deadline: NodeJS.Timeout;
}

/** A Dialog for `accept()` after a final response: already ended. */
export class EndedDialog implements Dialog {
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
  info(): Promise<number | null> {
    return Promise.resolve(null);
  }
}

/** UAS side of an INVITE dialog (RFC 3261 §12.1.1, §12.2.2, §13.3.1.4, §14.2, §15). */
export class DialogImpl implements Dialog {
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
    private readonly core: DialogCore,
    inv: DialogOrigin,
    answerSdp: string,
  ) {
    const rq = inv.rq;
    this.callId = inv.callId;
    this.localTag = inv.localTag;
    this.remoteTag = tagOf(rq.headers.from);
    this.key = dialogKey(this.callId, this.localTag, this.remoteTag);
    this.localAddr = withTag(rq.headers.to, this.localTag);
    this.remoteAddr = { ...rq.headers.from, params: { ...rq.headers.from.params } };
    this.remoteTarget = contactUriOf(rq) ?? `sip:${inv.remote.address}:${inv.remote.port}`;
    this.routeSet = routeSetOf(rq);
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
    const target = contactUriOf(rq);
    if (target) this.remoteTarget = target;
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

  async info(contentType: string, body: string): Promise<number | null> {
    if (this.state === 'terminating' || this.state === 'ended') return null;
    const rs = await this.request('INFO', { headers: { 'content-type': contentType }, content: body });
    return rs?.status ?? null;
  }

  /** Sends an in-dialog request; resolves with the final response, or null after 64*T1 or when it cannot be sent. */
  private request(method: string, extra?: { headers?: Record<string, unknown>; content?: string }): Promise<SipResponse | null> {
    const { callId, localAddr, remoteAddr, remoteTarget, routeSet, source } = this;
    return inDialogRequest(this.core, { callId, localAddr, remoteAddr, remoteTarget, routeSet, source, localCseq: ++this.localCseq }, method, extra);
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
