/**
 * The pending INVITE: a new call (an INVITE without a To tag) from its arrival until its final response, as the
 * application sees it (`IncomingInvite`). Exactly one final response goes out, whoever sends it first: the
 * application (reject, accept), a CANCEL (487, RFC 3261 §9.2), the server's guard (100 Trying after 200 ms, §8.2.6.1;
 * 480 when the application never answers) or stop() (503). The record outlives the final response by about 33 s,
 * so that a retransmitted INVITE gets the same response again (§17.2.1, §13.3.1.4). The responses themselves are
 * built by the server core (`answerInvite`, `acceptInvite` in sip-server.ts).
 */
import type { Logger } from 'pino';
import type { TestEventKind } from '../../domain/test-events';
import { lazyChild } from '../../log';
import type { Dialog } from './invite-dialog';
import type { SipFlow, SipRequest, SipResponse } from './sip-package';
import { branchOf, callSafely, newTag } from './uas-common';

/** Transport a request arrived on. */
export type SipTransportName = 'udp' | 'tcp';

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
  /** The test events asked for in `X-VA-Test-Events` (issue 22; `domain/test-events.ts`); empty when none. */
  readonly testEvents: readonly TestEventKind[];
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

/** What a PendingInvite needs of the server core (its `Core` in sip-server.ts). */
export interface InviteCore {
  readonly log: Logger;
  /** Answers the INVITE; null when a final response was already sent. */
  answerInvite(inv: PendingInvite, status: number, reason?: string, headers?: Record<string, unknown>, content?: string): SipResponse | null;
  /** 200 with `answerSdp` and a new dialog (or the dialog already made, or an ended one after a final response). */
  acceptInvite(inv: PendingInvite, answerSdp: string): Dialog;
}

/** Server-side state of an initial INVITE; the application sees it as IncomingInvite. */
export class PendingInvite implements IncomingInvite {
  readonly callId: string;
  readonly fromUser: string | null;
  readonly toUser: string;
  readonly diversion?: string;
  readonly source: { address: string; port: number; transport: SipTransportName };
  readonly offer: string | null;
  readonly testEvents: readonly TestEventKind[];
  readonly branch: string;
  readonly localTag = newTag();
  readonly log: Logger;
  final: SipResponse | null = null;
  finalAt = 0;
  provisionalSent = false;
  dialog: Dialog | null = null;
  guard: NodeJS.Timeout | undefined;
  private cancelledFlag = false;
  private cancelHandlers: Array<() => void> = [];

  constructor(
    private readonly core: InviteCore,
    readonly rq: SipRequest,
    readonly remote: SipFlow,
    readonly key: string,
    fields: Pick<IncomingInvite, 'callId' | 'fromUser' | 'toUser' | 'diversion' | 'source' | 'offer'> & Partial<Pick<IncomingInvite, 'testEvents'>>,
  ) {
    this.callId = fields.callId;
    this.fromUser = fields.fromUser;
    this.toUser = fields.toUser;
    if (fields.diversion !== undefined) this.diversion = fields.diversion;
    this.source = fields.source;
    this.offer = fields.offer;
    this.testEvents = fields.testEvents ?? [];
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
