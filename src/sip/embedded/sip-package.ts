/**
 * The small part of the npm package `sip` (0.0.6, no bundled types) that the embedded stack uses, typed from its
 * source (`node_modules/sip/sip.js`). This file and the rest of `src/sip/embedded/` are the only code that may touch
 * the package (DESIGN.md, "Layers").
 *
 * What the package gives: RFC 3261 parsing/serialisation, UDP and TCP transports on one address and port, and the
 * four transaction state machines (§17). What it does not: dialogs, 2xx retransmission (§13.3.1.4), answering a
 * retransmitted INVITE after a 2xx, any error response for a malformed message (it drops them silently).
 */

/** A parsed SIP or SIPS URI (`parseUri`). `port` is NaN when absent. */
export interface SipUri {
  schema: string;
  user?: string;
  password?: string;
  host: string;
  port?: number;
  params: Record<string, string | null>;
  headers: Record<string, string>;
}

/** A parsed To/From (name-addr or addr-spec): `uri` stays a string. */
export interface SipNameAddr {
  name?: string;
  uri: string;
  params: Record<string, string | null>;
}

/** A parsed Route/Record-Route entry: `uri` is parsed, and undefined when the package could not parse it (IPv6). */
export interface SipRouteEntry {
  name?: string;
  uri: SipUri | string | undefined;
  params: Record<string, string | null>;
}

/** A parsed Via entry; the transport sets `params.received` (and `params.rport` when asked) on requests it receives. */
export interface SipVia {
  version?: string;
  protocol?: string;
  host?: string;
  port?: number;
  params: Record<string, string | null>;
}

/** A parsed CSeq. */
export interface SipCSeq {
  seq: number;
  method: string;
}

/**
 * Headers by lower-case long name (compact forms are expanded). Headers the package has no parser for are the raw
 * value string; several occurrences of such a header are joined with `,`.
 */
export interface SipHeaders {
  via: SipVia[];
  to: SipNameAddr;
  from: SipNameAddr;
  'call-id': string;
  cseq: SipCSeq;
  contact?: SipNameAddr[] | '*';
  route?: SipRouteEntry[];
  'record-route'?: SipRouteEntry[];
  /** A number (NaN when not numeric); set by `stringify` from the content on sending. */
  'content-length'?: number;
  [name: string]: unknown;
}

export interface SipRequest {
  method: string;
  uri: string | SipUri;
  version?: string;
  headers: SipHeaders;
  /** The body as a binary (latin1) string; over UDP cut to Content-Length or to what arrived, whichever is shorter. */
  content?: string;
}

export interface SipResponse {
  status: number;
  reason: string;
  version?: string;
  headers: SipHeaders;
  content?: string;
}

export type SipMessage = SipRequest | SipResponse;

/** Where a message came from / goes to, as the package's transports describe a flow. */
export interface SipFlow {
  /** `UDP` or `TCP` (upper case). */
  protocol: string;
  address: string;
  port: number;
  local: { address: string; port: number };
}

/** Options of `sip.create` that we use. */
export interface SipCreateOptions {
  /** Address both transports bind (and, with `publicAddress` unset, the host of our Via on requests). */
  address: string;
  /** Port for UDP and TCP. Beware: the package turns 0 into 5060. */
  port: number;
  /** Host written into our Via on requests, and compared with Route/Request-URI hosts to detect flow tokens. */
  publicAddress?: string;
  udp?: boolean;
  tcp?: boolean;
  /** Pending bytes on a TCP connection before it is dropped as a "Flood attempt" (package default 60480). */
  maxBytesHeaders?: number;
  /** Largest body accepted on TCP (package default 604800). */
  maxContentLength?: number;
  /** Hooks: `recv` sees every message that parsed and has Via, Call-ID, To, From and CSeq, before transactions do. */
  logger?: {
    recv?: (m: SipMessage, remote: SipFlow) => void;
    send?: (m: SipMessage, target: SipFlow) => void;
    error?: (e: unknown) => void;
  };
}

/** What `sip.create` returns. */
export interface SipStack {
  /**
   * Sends a response (through its server transaction; silently nothing when that transaction is gone) or a request
   * (a new client transaction; `callback` gets provisional and final responses, or a locally made 408/503).
   */
  send(m: SipResponse): void;
  send(m: SipRequest, callback?: (rs: SipResponse) => void): void;
  /** A URI naming a flow (`sip:<token>@<our host>`): a request routed through it goes out on that flow. */
  encodeFlowUri(flow: SipFlow): SipUri;
  hostname(): string;
  /** Ends every transaction and closes the UDP socket and the TCP listener (not open TCP connections). */
  destroy(): void;
}

/** The package's exports that we use. */
export interface SipPackage {
  create(options: SipCreateOptions, onRequest: (rq: SipRequest, remote: SipFlow) => void): SipStack;
  makeResponse(
    rq: SipRequest,
    status: number,
    reason?: string,
    extension?: { headers?: Record<string, unknown>; content?: string },
  ): SipResponse;
  /** Parses one datagram; undefined when the start line or a header line does not parse. Headers may be missing. */
  parse(data: Buffer | string): SipMessage | undefined;
  parseUri(s: string | SipUri): SipUri | undefined;
  stringifyUri(uri: string | SipUri): string;
  stringify(m: SipMessage): string;
}

let loaded: SipPackage | undefined;

/** The `sip` package, typed. */
export function sipPackage(): SipPackage {
  loaded ??= require('sip') as SipPackage;
  return loaded;
}

/**
 * The package's own acceptance test (`checkMessage` in sip.js, not exported): a message it hands to the transaction
 * layer has a method or a status, a non-empty Via list, Call-ID, To, From and CSeq.
 */
export function isCompleteMessage(m: SipMessage | undefined): m is SipMessage {
  if (!m || typeof m !== 'object') return false;
  const h = (m as { headers?: Partial<SipHeaders> }).headers;
  const hasStart = 'method' in m ? !!m.method : (m as SipResponse).status >= 100 && (m as SipResponse).status <= 999;
  return !!(hasStart && h && Array.isArray(h.via) && h.via.length > 0 && h['call-id'] && h.to && h.from && h.cseq);
}

export function isRequest(m: SipMessage): m is SipRequest {
  return typeof (m as SipRequest).method === 'string' && (m as SipRequest).method !== '';
}
