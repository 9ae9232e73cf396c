/**
 * A fake of our drachtio-srf wrapper ({@link DrachtioSrf}, `src/sip/drachtio/srf-types.ts`) for tests: no
 * drachtio-server (none can be installed here), but request, response and dialog objects with the shapes and the
 * behaviour drachtio-srf 5.0.x gives them (read from its `lib/request.js`, `lib/response.js`, `lib/dialog.js`):
 * - headers looked up case-insensitively, several occurrences joined with `,`; `body` is `''` without a body;
 * - `res.send(status, [reason], [opts])`; a second final response is ignored; `finalResponseSent`;
 * - `createUAS` sends 200 with the SDP, calls `wire` with the dialog and resolves with it (before the ACK), rejects
 *   with status 487 when the INVITE was cancelled; a CANCEL emits `cancel` on the request (drachtio-server answers
 *   it and sends 487 itself);
 * - a dialog emits `info`/`modify`/`subscribe` with (req, res), and `destroy` when the far end sends BYE (after
 *   which drachtio-srf has answered 200 and dropped the listeners); `destroy()` sends BYE and drops the listeners;
 * - `request` (in or out of dialog) rejects when not connected; responses arrive as `response` events.
 * The test plays drachtio-server and the network: it places requests and answers what the adapter sends.
 */
import { EventEmitter } from 'node:events';
import type {
  DrachtioSrf,
  SrfConnectOptions,
  SrfDialog,
  SrfIncomingResponse,
  SrfRequest,
  SrfRequestHandler,
  SrfRequestOptions,
  SrfResponse,
  SrfResponseOptions,
} from '../../../src/sip/drachtio/srf-types';

/** Compact header forms drachtio-srf's parser expands (lib/sip-parser/parser.js). */
const COMPACT: Record<string, string> = { f: 'from', t: 'to', i: 'call-id', m: 'contact', l: 'content-length', c: 'content-type', v: 'via', o: 'event' };

/** Header storage as lib/sip-parser/message.js keeps it: one string per name, repeats joined with `,`. */
export class FakeHeaders {
  private readonly map = new Map<string, { name: string; value: string }>();

  constructor(headers: Array<[string, string]> = []) {
    for (const [n, v] of headers) this.add(n, v);
  }

  add(name: string, value: string): void {
    const key = COMPACT[name.toLowerCase()] ?? name.toLowerCase();
    const prev = this.map.get(key);
    this.map.set(key, { name: prev?.name ?? name, value: prev ? `${prev.value},${value}` : value });
  }

  get(name: string): string | undefined {
    return this.map.get(COMPACT[name.toLowerCase()] ?? name.toLowerCase())?.value;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Every header, lower-case names. */
  toObject(): Record<string, string> {
    return Object.fromEntries([...this.map].map(([k, v]) => [k, v.value]));
  }
}

/** An incoming request (lib/request.js). */
export class FakeRequest extends EventEmitter implements SrfRequest {
  readonly headers: FakeHeaders;
  canceled = false;
  /** For an INVITE: the SDP the caller's ACK of the 2xx carries (its answer to our late offer); none when undefined. */
  ackSdp?: string;

  constructor(
    readonly method: string,
    readonly uri: string,
    headers: Array<[string, string]>,
    readonly body = '',
    readonly source_address = '127.0.0.1',
    readonly source_port = 5060,
    readonly protocol = 'udp',
  ) {
    super();
    this.headers = new FakeHeaders(headers);
  }

  get(name: string): string | undefined {
    return this.headers.get(name);
  }

  has(name: string): boolean {
    return this.headers.has(name);
  }

  override on(event: 'cancel', listener: () => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  /** A CANCEL arrived (drachtio-agent emits `cancel` on the pending INVITE; lib/srf.js sets `canceled`). */
  cancel(): void {
    this.canceled = true;
    this.emit('cancel');
  }
}

/** One response the adapter sent. */
export interface SentResponse {
  status: number;
  reason?: string;
  headers: Record<string, string>;
  body?: string;
}

/** The response side of an incoming request (lib/response.js). */
export class FakeResponse implements SrfResponse {
  readonly sent: SentResponse[] = [];
  private finished = false;
  private waiters: Array<(r: SentResponse) => void> = [];

  send(status: number, reasonOrOpts?: string | SrfResponseOptions, maybeOpts?: SrfResponseOptions): void {
    if (typeof status !== 'number' || status < 100 || status > 699) throw new Error('Response#send: status is required and must be a valid sip response code');
    if (this.finished) return; // drachtio-srf ignores a second final response
    const reason = typeof reasonOrOpts === 'string' ? reasonOrOpts : undefined;
    const opts = (typeof reasonOrOpts === 'object' ? reasonOrOpts : maybeOpts) ?? {};
    const r: SentResponse = { status, reason, headers: { ...(opts.headers ?? {}) }, body: opts.body };
    this.sent.push(r);
    if (status >= 200) {
      this.finished = true;
      for (const w of this.waiters.splice(0)) w(r);
    }
  }

  get finalResponseSent(): boolean {
    return this.finished;
  }

  /** The final response, when sent. */
  get final(): SentResponse | undefined {
    return this.sent.find((r) => r.status >= 200);
  }

  /** Resolves with the final response (at once when already sent); rejects after `timeoutMs`. */
  waitFinal(timeoutMs = 3000): Promise<SentResponse> {
    const f = this.final;
    if (f) return Promise.resolve(f);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no final response within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((r) => {
        clearTimeout(t);
        resolve(r);
      });
    });
  }
}

/** A response to something the adapter sent. */
export class FakeIncomingResponse implements SrfIncomingResponse {
  private readonly headers: FakeHeaders;
  constructor(
    readonly status: number,
    readonly reason: string,
    headers: Array<[string, string]> = [],
    readonly body = '',
  ) {
    this.headers = new FakeHeaders(headers);
  }
  get(name: string): string | undefined {
    return this.headers.get(name);
  }
  has(name: string): boolean {
    return this.headers.has(name);
  }
}

/** A request the adapter sent (in or out of a dialog), waiting for the test to answer it. */
export interface OutgoingRequest {
  uri: string | null;
  method: string;
  headers: Record<string, string>;
  body: string;
  /** Answers it (a final response settles it). */
  respond(status: number, reason?: string): void;
}

const REASONS: Record<number, string> = { 100: 'Trying', 200: 'OK', 202: 'Accepted', 408: 'Request Timeout', 480: 'Temporarily Unavailable', 481: 'Call/Transaction Does Not Exist', 486: 'Busy Here', 503: 'Service Unavailable' };

/** Waits for items pushed to a queue. */
class Queue<T> {
  private readonly items: T[] = [];
  private waiters: Array<(t: T) => void> = [];
  push(t: T): void {
    const w = this.waiters.shift();
    if (w) w(t);
    else this.items.push(t);
  }
  next(timeoutMs: number, what: string): Promise<T> {
    const t = this.items.shift();
    if (t !== undefined) return Promise.resolve(t);
    return new Promise((resolve, reject) => {
      const w = (x: T) => {
        clearTimeout(timer);
        resolve(x);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((f) => f !== w);
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }
  get length(): number {
    return this.items.length;
  }
}

let dialogSeq = 0;

/** A dialog (lib/dialog.js). */
export class FakeDialog extends EventEmitter implements SrfDialog {
  readonly id: string;
  readonly sip: { callId: string; localTag: string; remoteTag: string };
  connected = true;
  /** Set when the adapter called destroy() (BYE sent). */
  destroyed = false;
  /** In-dialog requests the adapter sent (NOTIFY, ...), answered by the test. */
  readonly requests = new Queue<OutgoingRequest>();
  private destroyWaiters: Array<() => void> = [];

  constructor(
    private readonly owner: FakeSrf,
    readonly req: FakeRequest,
    /** The 2xx that created it. */
    readonly created: SentResponse,
  ) {
    super();
    const callId = req.get('Call-ID') ?? '';
    const fromTag = /;\s*tag=([^;>\s]+)/.exec(req.get('From') ?? '')?.[1] ?? '';
    this.id = `${callId};from-tag=${fromTag}#${++dialogSeq}`;
    this.sip = { callId, remoteTag: fromTag, localTag: `fake${dialogSeq}` };
  }

  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  request(opts: SrfRequestOptions): Promise<FakeIncomingResponse> {
    if (!this.owner.connected) return Promise.reject(new Error('drachtio-agent: socket connection closed'));
    if (!this.connected) return Promise.reject(Object.assign(new Error('unable to find dialog for dialog id provided'), { code: 'ENODIALOG' }));
    return new Promise((resolve) => {
      const method = opts.method.toUpperCase();
      this.requests.push({
        uri: null,
        method,
        headers: { ...(opts.headers ?? {}) },
        body: opts.body ?? '',
        respond: (status, reason) => {
          if (status < 200) return;
          const res = new FakeIncomingResponse(status, reason ?? REASONS[status] ?? '');
          // lib/dialog.js: the response to a terminating NOTIFY ends a subscription dialog.
          if (method === 'NOTIFY' && /terminated/.test(opts.headers?.['Subscription-State'] ?? '')) {
            this.connected = false;
            this.owner.removeDialog(this);
            this.emit('destroy');
            this.removeAllListeners();
          }
          resolve(res);
        },
      });
    });
  }

  destroy(): Promise<unknown> {
    if (this.destroyed || !this.connected) {
      this.destroyed = true;
      return Promise.resolve();
    }
    this.destroyed = true;
    this.connected = false;
    this.owner.removeDialog(this);
    this.removeAllListeners();
    for (const w of this.destroyWaiters.splice(0)) w();
    return Promise.resolve({ method: 'BYE' });
  }

  /** Resolves when the adapter called destroy() (BYE); rejects after `timeoutMs`. */
  waitDestroyed(timeoutMs = 3000): Promise<void> {
    if (this.destroyed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`the dialog was not destroyed within ${timeoutMs} ms`)), timeoutMs);
      this.destroyWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** The far end sent BYE: drachtio-srf answers 200, emits `destroy` and drops the listeners. */
  remoteBye(): void {
    if (!this.connected) return;
    this.connected = false;
    this.owner.removeDialog(this);
    const bye = new FakeRequest('BYE', this.req.uri, [['Call-ID', this.sip.callId]]);
    this.emit('destroy', bye, 'normal release');
    this.removeAllListeners();
  }

  /**
   * An in-dialog request from the far end, delivered as drachtio-srf does: `info` after a setImmediate, `modify` and
   * `subscribe` at once; with no listener drachtio-srf answers on its own (200; 489 for SUBSCRIBE).
   * @returns the response the adapter sent
   */
  async receive(event: 'info' | 'modify' | 'subscribe', method: string, headers: Array<[string, string]>, body = ''): Promise<SentResponse> {
    const req = new FakeRequest(method, this.req.uri, [['Call-ID', this.sip.callId], ...headers], body, this.req.source_address, this.req.source_port);
    const res = new FakeResponse();
    if (event === 'info') await new Promise((r) => setImmediate(r));
    if (!this.emit(event, req, res)) res.send(event === 'subscribe' ? 489 : 200);
    return res.waitFinal();
  }
}

/** The fake drachtio-srf wrapper. */
export class FakeSrf extends EventEmitter implements DrachtioSrf {
  /** What `connect` was called with (the test checks the secret goes nowhere else). */
  connectOptions: SrfConnectOptions | null = null;
  connected = false;
  closed = false;
  private inviteHandler: SrfRequestHandler | null = null;
  private subscribeHandler: SrfRequestHandler | null = null;
  /** Dialogs created and not ended. */
  readonly dialogs = new Set<FakeDialog>();
  /** Every dialog ever created, in order. */
  readonly allDialogs: FakeDialog[] = [];
  /** Requests sent outside a dialog, answered by the test. */
  readonly outgoing = new Queue<OutgoingRequest>();
  /** When set, `request` rejects with this message (drachtio-server answered NOK). */
  refuseRequests: string | null = null;
  /** When true, a dialog's `ack` (the caller's ACK) is not emitted by itself: the test emits it. */
  holdAck = false;
  /** When true, drachtio-server's confirmations of our 200 OKs wait for {@link confirmHeld}. */
  holdConfirmations = false;
  private held: Array<() => void> = [];
  private dialogWaiters: Array<(d: FakeDialog) => void> = [];

  constructor(opts: { connected?: boolean } = {}) {
    super();
    this.connected = opts.connected ?? true;
  }

  // ------------------------------------------------------------------ DrachtioSrf

  connect(opts: SrfConnectOptions): void {
    this.connectOptions = opts;
  }

  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  invite(handler: SrfRequestHandler): void {
    this.inviteHandler = handler;
  }

  subscribe(handler: SrfRequestHandler): void {
    this.subscribeHandler = handler;
  }

  async createUAS(
    req: SrfRequest,
    res: SrfResponse,
    opts: { localSdp: string; headers?: Record<string, string> },
    wire: (dialog: SrfDialog) => void,
  ): Promise<SrfDialog> {
    const fr = req as FakeRequest;
    const fs = res as FakeResponse;
    await Promise.resolve(); // lib/srf.js awaits the SDP before it sends
    if (fr.canceled) throw Object.assign(new Error('Request Terminated'), { status: 487 });
    if (!this.connected) throw new Error('drachtio-agent:sendResponse: socket connection closed');
    if (fs.finalResponseSent) throw new Error('Response#send: final response already sent');
    fs.send(200, { headers: { ...(opts.headers ?? {}) }, body: opts.localSdp });
    await this.confirmation(); // drachtio-server confirms the 200 later
    const d = this.addFakeDialog(fr, fs.final!);
    wire(d);
    // The caller's ACK, as drachtio-server passes it on (a turn later); `holdAck` keeps it back for a test.
    if (!this.holdAck) setImmediate(() => d.emit('ack', FakeSrf.ackFor(fr)));
    return d;
  }

  /** The caller's ACK of the 2xx to `invite`, with its answer SDP when the INVITE had none (late offer). */
  static ackFor(invite: FakeRequest): FakeRequest {
    const sdp = invite.ackSdp;
    return new FakeRequest('ACK', invite.uri, sdp ? [['Content-Type', 'application/sdp']] : [], sdp ?? '', invite.source_address, invite.source_port);
  }

  async createSubscriptionUAS(req: SrfRequest, res: SrfResponse, opts: { headers: Record<string, string> }, wire: (dialog: SrfDialog) => void): Promise<SrfDialog> {
    const fr = req as FakeRequest;
    const fs = res as FakeResponse;
    if (!this.connected) throw new Error('drachtio-agent:sendResponse: socket connection closed');
    fs.send(200, { headers: opts.headers });
    await Promise.resolve();
    const d = this.addFakeDialog(fr, fs.final!);
    wire(d);
    // The caller's ACK, as drachtio-server passes it on (a turn later); `holdAck` keeps it back for a test.
    if (!this.holdAck) setImmediate(() => d.emit('ack', {}));
    return d;
  }

  async request(uri: string, opts: SrfRequestOptions, onResponse: (res: SrfIncomingResponse) => void): Promise<void> {
    if (!this.connected) throw new Error('cannot call app#request in unconnected state');
    if (this.refuseRequests) throw new Error(this.refuseRequests);
    this.outgoing.push({
      uri,
      method: opts.method.toUpperCase(),
      headers: { ...(opts.headers ?? {}) },
      body: opts.body ?? '',
      // Responses come from the network, after drachtio-server confirmed the request.
      respond: (status, reason) => setImmediate(() => onResponse(new FakeIncomingResponse(status, reason ?? REASONS[status] ?? ''))),
    });
  }

  removeDialog(dialog: SrfDialog): void {
    this.dialogs.delete(dialog as FakeDialog);
  }

  /** Routes take effect at once here (the test delivers requests itself). */
  async routesConfirmed(): Promise<void> {}

  close(): void {
    this.closed = true;
    this.connected = false;
  }

  // ------------------------------------------------------------------ the test's side

  /** Releases the confirmations held by {@link holdConfirmations}. */
  confirmHeld(): void {
    for (const r of this.held.splice(0)) r();
  }

  private confirmation(): Promise<void> {
    if (!this.holdConfirmations) return Promise.resolve();
    return new Promise((r) => this.held.push(r));
  }

  /** Delivers a new INVITE (or SUBSCRIBE) as drachtio-server would; returns the response object to watch. */
  deliver(req: FakeRequest): FakeResponse {
    const res = new FakeResponse();
    const handler = req.method === 'SUBSCRIBE' ? this.subscribeHandler : this.inviteHandler;
    if (!handler) res.send(404); // lib/proto.js: no route -> 404
    else handler(req, res);
    return res;
  }

  /** Resolves with the next dialog created (or the last one when it already exists and `existing`). */
  nextDialog(timeoutMs = 3000): Promise<FakeDialog> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no dialog within ${timeoutMs} ms`)), timeoutMs);
      this.dialogWaiters.push((d) => {
        clearTimeout(t);
        resolve(d);
      });
    });
  }

  /** The dialog created for a request, waiting for it. */
  async dialogFor(req: FakeRequest, timeoutMs = 3000): Promise<FakeDialog> {
    const found = this.allDialogs.find((d) => d.req === req);
    if (found) return found;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const d = await this.nextDialog(Math.max(1, deadline - Date.now()));
      if (d.req === req) return d;
    }
  }

  private addFakeDialog(req: FakeRequest, created: SentResponse): FakeDialog {
    const d = new FakeDialog(this, req, created);
    this.dialogs.add(d);
    this.allDialogs.push(d);
    for (const w of this.dialogWaiters.splice(0)) w(d);
    return d;
  }
}
