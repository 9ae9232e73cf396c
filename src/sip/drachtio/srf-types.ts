/**
 * Our own narrow typings of the parts of drachtio-srf 5.0.x this adapter uses (DESIGN.md, "Reference points": the
 * bundled `lib/@types` are incomplete and partly wrong). Written against the 5.0.29 sources (`lib/srf.js`,
 * `lib/dialog.js`, `lib/request.js`, `lib/response.js`, `lib/drachtio-agent.js`), not its `.d.ts`.
 *
 * {@link DrachtioSrf} is the wrapper the adapter talks to. `drachtio-srf.ts` implements it on the real package (the
 * one cast happens there); tests implement it with fakes of the same shapes. Nothing outside `sip/drachtio/` sees
 * these types.
 */

/** Header access shared by drachtio's request and response objects (`lib/sip-parser/message.js`). */
export interface SrfMessage {
  /**
   * A header's value, looked up case-insensitively (compact forms too); several occurrences come joined with `,`.
   * Undefined when absent.
   */
  get(name: string): string | undefined;
  /** True when the header is present. */
  has(name: string): boolean;
}

/** A SIP request that came in through drachtio-server (`lib/request.js`). */
export interface SrfRequest extends SrfMessage {
  /** Upper-case method, e.g. `INVITE`. */
  readonly method: string;
  /** The Request-URI. */
  readonly uri: string;
  /** The body (`''` when there is none). */
  readonly body: string;
  /** Where drachtio-server received the request from: the network peer's IP address. */
  readonly source_address: string;
  /** The peer's port. */
  readonly source_port: number;
  /** `udp`, `tcp`, `tls`, `ws` or `wss`. */
  readonly protocol: string;
  /** Set by drachtio-srf when a CANCEL for this INVITE arrived. */
  readonly canceled?: boolean;
  /** `cancel`: a CANCEL for this INVITE arrived (drachtio-server has answered it and sent 487 to the INVITE). */
  on(event: 'cancel', listener: () => void): unknown;
}

/** Options of a response (`Response#send(status, [reason], [opts], [callback])`). */
export interface SrfResponseOptions {
  headers?: Record<string, string>;
  body?: string;
}

/** The response side of an incoming request (`lib/response.js`). */
export interface SrfResponse {
  /**
   * Sends a response. A final response (>= 200) may be sent once; a second one is ignored by drachtio-srf.
   * @param status SIP status code (must be one `sip-status` knows, or drachtio-srf throws)
   */
  send(status: number, reason?: string, opts?: SrfResponseOptions): void;
  send(status: number, opts: SrfResponseOptions): void;
  /** True once a final response was sent. */
  readonly finalResponseSent: boolean;
}

/** A response to a request we sent (`lib/response.js`, built by the agent). */
export interface SrfIncomingResponse extends SrfMessage {
  readonly status: number;
  readonly reason: string;
  readonly body?: string;
}

/** Options of a request (`Srf#request`, `Dialog#request`). */
export interface SrfRequestOptions {
  /** The method (drachtio-srf upper-cases it). Required. */
  method: string;
  headers?: Record<string, string>;
  body?: string;
}

/** A SIP dialog (`lib/dialog.js`): an answered INVITE, or an accepted SUBSCRIBE. */
export interface SrfDialog {
  /** drachtio-server's dialog id. */
  readonly id: string;
  /** SIP identifiers of the dialog. */
  readonly sip: { callId: string; localTag: string; remoteTag: string };
  /** False once the dialog has ended. */
  readonly connected: boolean;
  /**
   * `destroy`: the far end ended the dialog (BYE for an INVITE dialog). Not emitted after our own `destroy()`.
   */
  on(event: 'destroy', listener: (req?: SrfRequest) => void): unknown;
  /**
   * In-dialog requests the application answers itself (`res.send`): `info` (INFO), `modify` (a re-INVITE that is
   * not a session refresh), and, on subscription dialogs made by {@link DrachtioSrf.createSubscriptionUAS},
   * `subscribe` (every in-dialog SUBSCRIBE: refreshes and `Expires: 0`).
   */
  on(event: 'info' | 'modify' | 'subscribe', listener: (req: SrfRequest, res: SrfResponse) => void): unknown;
  /** `ack`: the caller's ACK of our 2xx to the INVITE, which drachtio-server passes on (drachtio-srf `lib/dialog.js`). */
  on(event: 'ack', listener: (req: SrfRequest) => void): unknown;
  /**
   * Sends a request inside the dialog and resolves with its final response. The only way to send in-dialog requests:
   * drachtio-srf's per-method shortcuts (`dialog.info()`, `dialog.notify()`) throw (DESIGN.md, "Known pitfalls").
   * Rejects when drachtio-server could not send it (e.g. the dialog is gone).
   */
  request(opts: SrfRequestOptions): Promise<SrfIncomingResponse>;
  /** Ends the dialog: BYE for an INVITE dialog (resolves once it was answered). */
  destroy(opts?: { headers?: Record<string, string> }): Promise<unknown>;
}

/** `Srf#connect` options (inbound connection: we connect to drachtio-server's admin port). */
export interface SrfConnectOptions {
  host: string;
  port: number;
  secret: string;
}

/** Handler of new requests of one method (`srf.invite(...)`, `srf.subscribe(...)`). */
export type SrfRequestHandler = (req: SrfRequest, res: SrfResponse) => void;

/**
 * What the adapter uses of an `Srf` instance, plus two things drachtio-srf lacks (implemented in `drachtio-srf.ts`):
 * a 200 OK subscription dialog ({@link createSubscriptionUAS}) and a shutdown that also stops a reconnect loop
 * ({@link close}).
 */
export interface DrachtioSrf {
  /** Starts connecting (and reconnecting, with backoff) to drachtio-server's admin port. */
  connect(opts: SrfConnectOptions): void;
  /**
   * `connect`: an authentication attempt finished: `err` null and drachtio-server's SIP addresses (`hostport`, e.g.
   * `udp/127.0.0.1:5060,tcp/127.0.0.1:5060`) on success; `err` set when the secret was refused.
   */
  on(event: 'connect', listener: (err: Error | null, hostport?: string) => void): unknown;
  /** `error`: the admin connection failed (refused, reset); drachtio-srf then retries. */
  on(event: 'error', listener: (err: Error) => void): unknown;
  /** `reconnecting`: the next connection attempt is scheduled. */
  on(event: 'reconnecting', listener: (opts: { delay: number; attempt: number }) => void): unknown;
  /** `close`: the admin connection closed. */
  on(event: 'close', listener: () => void): unknown;
  /**
   * `dropped-message`: a message on the admin connection could not be read and was dropped; the connection goes on
   * (our guard on drachtio-srf's wire protocol, `wire-guard.ts`; not a drachtio-srf event).
   */
  on(event: 'dropped-message', listener: (err: Error) => void): unknown;
  /** Registers the handler of new INVITEs (those without a To tag; re-INVITEs go to their dialog). */
  invite(handler: SrfRequestHandler): void;
  /** Registers the handler of new SUBSCRIBEs (in-dialog ones go to their dialog). */
  subscribe(handler: SrfRequestHandler): void;
  /**
   * Answers an INVITE with 200 OK and `localSdp`; resolves with the dialog once the 200 was sent (not on the ACK).
   * `wire` is called with the dialog first, synchronously, before anything else can reach it: drachtio-srf hands
   * in-dialog requests that arrive in the same read as the 200's confirmation to the dialog at once, before a
   * promise continuation would run. Rejects when the caller cancelled first (a SipError with status 487) or
   * drachtio-server could not send it.
   */
  createUAS(
    req: SrfRequest,
    res: SrfResponse,
    opts: { localSdp: string; headers?: Record<string, string> },
    wire: (dialog: SrfDialog) => void,
  ): Promise<SrfDialog>;
  /**
   * Answers a SUBSCRIBE with 200 OK (RFC 6665 §4.2.1.1; drachtio-srf's `createUAS` would send the deprecated 202) and
   * `headers` (`Expires` is required); resolves with the subscription dialog, on which every in-dialog SUBSCRIBE
   * (refresh or `Expires: 0`) is emitted as `subscribe` for the application to answer. `wire` as for `createUAS`.
   */
  createSubscriptionUAS(req: SrfRequest, res: SrfResponse, opts: { headers: Record<string, string> }, wire: (dialog: SrfDialog) => void): Promise<SrfDialog>;
  /**
   * Sends a request outside any dialog; resolves once drachtio-server sent it. Every response (provisional and
   * final) is passed to `onResponse`, which is registered before anything can arrive (drachtio-srf's promise form
   * resolves a turn late, and a response in the same read as the confirmation would be lost). Rejects when it could
   * not be sent (not connected, no transport for the URI, a URI of its own).
   */
  request(uri: string, opts: SrfRequestOptions, onResponse: (res: SrfIncomingResponse) => void): Promise<void>;
  /** Forgets a dialog we no longer serve (drachtio-srf's dialog map). */
  removeDialog(dialog: SrfDialog): void;
  /**
   * Resolves once drachtio-server has taken the routes registered so far (`invite`, `subscribe`): until then it
   * answers new requests 503 itself ("No providers available") or hands them to other instances. drachtio-srf
   * sends its `route` requests without waiting for the answers; this is a round trip on the admin connection behind
   * them (drachtio-server handles one connection's messages in order). Resolves at once when not connected, and
   * after `timeoutMs` (ms) at the latest; never rejects.
   */
  routesConfirmed(timeoutMs: number): Promise<void>;
  /** Closes the admin connection and stops reconnecting. Idempotent. */
  close(): void;
  /**
   * The drachtio-srf `Srf` instance itself, opaque, for a media framework built on it (drachtio-fsmrf creates its
   * FreeSWITCH endpoints through drachtio-server with it); undefined for a fake.
   */
  readonly native?: unknown;
}
