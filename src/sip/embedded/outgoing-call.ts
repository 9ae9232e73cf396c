/**
 * OutgoingCall: one call placed by {@link SipClient} (`sip-client.ts`, whose module comment describes the UAC's
 * behaviour): its INVITE transaction and dialog, in-dialog requests (BYE, INFO with a CSeq of its own or one reserved
 * in advance), the ACK of every 2xx, and its events. Split out of `sip-client.ts` along the seam between the user
 * agent (sockets, routing, requests from the server) and a call's dialog.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { dialogRequestTarget } from './in-dialog-request';
import { contactUriOf, routeSetOf } from './route-set';
import type { SipClient } from './sip-client';
import type { SipFlow, SipNameAddr, SipRequest, SipResponse, SipRouteEntry } from './sip-package';
/** Where calls go. */
export interface SipTarget {
  transport: 'udp' | 'tcp';
  /** An IP address literal (IPv4, or IPv6 without brackets). */
  host: string;
  port: number;
}

/** What {@link SipClient.call} needs. */
export interface OutgoingCallOptions {
  target: SipTarget;
  /** The dialled number (Request-URI and To user part). */
  to: string;
  /** The caller's number (From user part), or null for `anonymous`. */
  from: string | null;
  /** The extension the call was diverted from: adds `Diversion: <sip:<diversion>@HOST>;reason=no-answer`. */
  diversion?: string;
  /** Our SDP offer. */
  sdp: string;
}

/** Who ended a call's dialog. */
export type CallEndedBy = 'remote' | 'local';

/** Events of an {@link OutgoingCall}. */
export type OutgoingCallEvents = {
  /** A provisional response (100-199). */
  provisional: [status: number, reason: string];
  /** The first 2xx: the dialog is confirmed (ACK sent); the answer SDP. */
  answered: [sdp: string];
  /** The INVITE failed: its final status (3xx-6xx; 408 for no answer in time, 487 after our CANCEL). */
  failed: [status: number, reason: string];
  /** The confirmed dialog ended: the server's BYE (`remote`) or ours (`local`). Emitted once. */
  ended: [by: CallEndedBy];
};

/** The state of an {@link OutgoingCall}. */
export type OutgoingCallState = 'calling' | 'confirmed' | 'failed' | 'ended';

export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO';

export function newToken(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export function tagOf(na: SipNameAddr | undefined): string | undefined {
  const t = na?.params?.tag;
  return typeof t === 'string' && t !== '' ? t : undefined;
}

/** `host` as it goes into a URI (IPv6 literals in brackets). */
export function uriHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** One call placed by a {@link SipClient}: the UAC side of an INVITE dialog. */
export class OutgoingCall extends EventEmitter<OutgoingCallEvents> {
  readonly callId = `${newToken(10)}@voice-access-sim`;
  private readonly localTag = newToken(6);
  private readonly flow: SipFlow;
  private readonly requestUri: string;
  private readonly local: SipNameAddr;
  private remote: SipNameAddr;
  private remoteTarget: string;
  /** The dialog's route set: the 2xx's Record-Route, reversed (RFC 3261 §12.1.2). */
  private routeSet: SipRouteEntry[] = [];
  private cseq = 1;
  private _state: OutgoingCallState = 'calling';
  private invite: SipRequest | null = null;
  private inviteTimer: NodeJS.Timeout | null = null;
  private cancelSent = false;
  private byePromise: Promise<void> | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  private acks = 0;
  private finalStatus: number | null = null;

  /** @internal use {@link SipClient.call} */
  constructor(
    private readonly client: SipClient,
    private readonly opts: OutgoingCallOptions,
  ) {
    super();
    const { target } = opts;
    const host = uriHost(target.host);
    this.flow = client.flowTo(target);
    this.requestUri = `sip:${opts.to}@${host}:${target.port}`;
    this.local = { uri: `sip:${opts.from ?? 'anonymous'}@${uriHost(client.localAddress)}`, params: { tag: this.localTag } };
    this.remote = { uri: this.requestUri, params: {} };
    this.remoteTarget = this.requestUri;
  }

  /** Where the call is. */
  get state(): OutgoingCallState {
    return this._state;
  }

  /** How many ACKs we sent for 2xx responses (1, plus one per retransmitted 2xx). */
  get acksSent(): number {
    return this.acks;
  }

  /** The INVITE's final status, or null while none has come. */
  get status(): number | null {
    return this.finalStatus;
  }

  /** Sends the INVITE. @internal */
  start(): void {
    const { opts } = this;
    const headers: SipRequest['headers'] = {
      via: [],
      to: { ...this.remote, params: {} },
      from: { ...this.local, params: { ...this.local.params } },
      'call-id': this.callId,
      cseq: { seq: this.cseq, method: 'INVITE' },
      contact: [{ uri: this.client.contactUri(opts.from ?? 'anonymous', opts.target.transport), params: {} }],
      'max-forwards': 70,
      allow: ALLOW,
      'user-agent': this.client.userAgent,
      'content-type': 'application/sdp',
    };
    if (opts.diversion !== undefined) headers.diversion = `<sip:${opts.diversion}@${uriHost(opts.target.host)}>;reason=no-answer`;
    const rq: SipRequest = { method: 'INVITE', uri: this.requestUri, headers, content: opts.sdp };
    this.invite = rq;
    this.inviteTimer = this.timer(() => {
      this.inviteTimer = null;
      if (this._state !== 'calling') return;
      this.client.log.info({ callId: this.callId, afterMs: this.client.inviteTimeoutMs }, 'no final response to the INVITE; cancelling');
      this.sendCancel();
      this.fail(408, 'Request Timeout (no final response)');
    }, this.client.inviteTimeoutMs);
    this.client.send(rq, this.flow, (rs) => this.onInviteResponse(rs));
  }

  /** Is `rq` a request of this dialog (Call-ID matched already; our tag in its To)? @internal */
  matches(rq: SipRequest): boolean {
    return tagOf(rq.headers.to) === this.localTag;
  }

  /**
   * Sends an in-dialog INFO (e.g. `application/dtmf-relay` with `Signal=5\r\nDuration=100`).
   * @param options.cseq a CSeq number taken earlier with {@link reserveCseq} (to send requests out of order, as a
   *   test of the other side's RFC 3261 §12.2.2 check); the next number when absent
   * @returns its final status; null when the dialog is not confirmed or no final response came in time
   */
  info(contentType: string, body: string, options: { cseq?: number } = {}): Promise<number | null> {
    if (this._state !== 'confirmed') return Promise.resolve(null);
    return this.request('INFO', { 'content-type': contentType }, body, options.cseq).then((rs) => rs?.status ?? null);
  }

  /**
   * Takes the next `count` CSeq numbers for in-dialog requests sent later with an explicit CSeq ({@link info}'s
   * `cseq`), in any order; later requests without one continue after them.
   * @returns the first of them
   */
  reserveCseq(count = 1): number {
    const first = this.cseq + 1;
    this.cseq += Math.max(1, Math.floor(count));
    return first;
  }

  /**
   * Ends the call: BYE once confirmed (resolves on its final response, or after `requestTimeoutMs`), CANCEL while
   * the INVITE is pending (resolves at once; the INVITE then fails with 487). Idempotent.
   */
  hangup(): Promise<void> {
    if (this._state === 'calling') {
      this.sendCancel();
      return Promise.resolve();
    }
    if (this._state !== 'confirmed') return this.byePromise ?? Promise.resolve();
    this._state = 'ended';
    this.byePromise = this.request('BYE').then(() => this.client.forget(this));
    this.emit('ended', 'local');
    return this.byePromise;
  }

  /** The server's BYE (answered 200 already). @internal */
  remoteBye(): void {
    if (this._state !== 'confirmed') return;
    this._state = 'ended';
    this.emit('ended', 'remote');
    this.client.forget(this);
  }

  /** A 2xx seen by the transport hook: ACKed again when the dialog is already confirmed. @internal */
  onRetransmitted2xx(rs: SipResponse): void {
    if (this.acks > 0 && tagOf(rs.headers.to) === tagOf(this.remote)) this.sendAck();
  }

  /** Clears every timer (the client is stopping). @internal */
  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private onInviteResponse(rs: SipResponse): void {
    if (rs.status < 200) {
      if (this._state === 'calling') this.emit('provisional', rs.status, rs.reason);
      return;
    }
    if (rs.status < 300) {
      if (this.acks > 0) return; // a retransmission: the transport hook has ACKed it
      const tag = tagOf(rs.headers.to);
      this.remote = { ...rs.headers.to, params: { ...rs.headers.to.params } };
      const target = contactUriOf(rs);
      if (target) this.remoteTarget = target;
      this.routeSet = routeSetOf(rs).reverse();
      this.sendAck();
      this.clearInviteTimer();
      if (this._state !== 'calling' || !tag) {
        // Answered after we gave up (CANCEL crossed the 2xx, or no To tag to build a dialog on): end it at once.
        if (tag && this._state !== 'confirmed') void this.request('BYE');
        return;
      }
      this.finalStatus = rs.status;
      this._state = 'confirmed';
      this.emit('answered', rs.content ?? '');
      return;
    }
    this.clearInviteTimer();
    this.fail(rs.status, rs.reason);
  }

  private fail(status: number, reason: string): void {
    if (this._state !== 'calling') return;
    this.finalStatus = status;
    this._state = 'failed';
    this.emit('failed', status, reason);
    this.client.forget(this);
  }

  private clearInviteTimer(): void {
    if (this.inviteTimer) {
      clearTimeout(this.inviteTimer);
      this.timers.delete(this.inviteTimer);
      this.inviteTimer = null;
    }
  }

  private sendAck(): void {
    this.acks++;
    // The ACK of a 2xx is a request of the dialog (§13.2.2.4), with the INVITE's CSeq number.
    this.client.send(this.dialogRequest('ACK', 1), this.flow);
  }

  /**
   * A request of this dialog (§12.2.1.1): Request-URI and Route from the remote target and the route set, the
   * dialog's To, From and Call-ID, CSeq `seq` with `method`, and `extra` headers.
   */
  private dialogRequest(method: string, seq: number, extra: Record<string, unknown> = {}): SipRequest {
    const { uri, route } = dialogRequestTarget(this.remoteTarget, this.routeSet);
    return {
      method,
      uri,
      headers: {
        route,
        via: [],
        to: { ...this.remote, params: { ...this.remote.params } },
        from: { ...this.local, params: { ...this.local.params } },
        'call-id': this.callId,
        cseq: { seq, method },
        'max-forwards': 70,
        'user-agent': this.client.userAgent,
        ...extra,
      },
    };
  }

  /** CANCEL for the pending INVITE (RFC 3261 §9.1: its Request-URI, Call-ID, To, From, CSeq number and top Via). */
  private sendCancel(): void {
    const inv = this.invite;
    if (this.cancelSent || !inv || !inv.headers.via[0]?.host) return;
    this.cancelSent = true;
    const cancel: SipRequest = {
      method: 'CANCEL',
      uri: this.requestUri,
      headers: {
        via: [{ ...inv.headers.via[0], params: { ...inv.headers.via[0].params } }],
        to: { ...inv.headers.to, params: { ...inv.headers.to.params } },
        from: { ...inv.headers.from, params: { ...inv.headers.from.params } },
        'call-id': this.callId,
        cseq: { seq: inv.headers.cseq.seq, method: 'CANCEL' },
        'max-forwards': 70,
        'user-agent': this.client.userAgent,
      },
    };
    this.client.send(cancel, this.flow, () => undefined);
  }

  /** Sends an in-dialog request (CSeq `cseq`, else the next); resolves with its final response, or null after `requestTimeoutMs`. */
  private request(method: string, extra: Record<string, unknown> = {}, content?: string, cseq?: number): Promise<SipResponse | null> {
    const rq = this.dialogRequest(method, cseq ?? ++this.cseq, extra);
    if (content !== undefined) rq.content = content;
    return new Promise<SipResponse | null>((resolve) => {
      let done = false;
      const finish = (rs: SipResponse | null) => {
        if (done) return;
        done = true;
        clearTimeout(t);
        this.timers.delete(t);
        resolve(rs);
      };
      const t = this.timer(() => finish(null), this.client.requestTimeoutMs);
      this.client.send(rq, this.flow, (rs) => {
        if (rs.status >= 200) finish(rs);
      });
    });
  }

  private timer(fn: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
    return t;
  }
}
