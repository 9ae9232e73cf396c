/**
 * The UAS core's checks of a request before it is routed (RFC 3261 §8.2: 505, 416, 400, 483, 420), on the message as
 * the `sip` package parsed it and, where the package loses what matters, on the text as received
 * ({@link MessageScan} from message-limits.ts): the package takes the last of two Content-Length values, reads
 * `CSeq: -1 INVITE` as 1, keeps a CSeq number as a float, and accepts `;branch=` or `;;` in a Via or Contact.
 * Pure functions.
 */
import { parseUriParts } from './headers';
import { contentLengthOf, type MessageScan } from './message-limits';
import { sipPackage, type SipFlow, type SipRequest } from './sip-package';

/** Why a request is refused: the status, its reason phrase when not the usual one, extra response headers. */
export interface RequestProblem {
  status: number;
  reason?: string;
  headers?: Record<string, unknown>;
}

/**
 * Methods this UAS knows but does not serve: 405 Method Not Allowed with an Allow header (RFC 3261 §8.2.1). Any
 * other method is not implemented: 501 (§21.5.2; RFC 4475 `esc02`: `RE%47IST%45R` is such a method).
 */
const KNOWN_METHODS = new Set(['REGISTER', 'PRACK', 'UPDATE', 'REFER', 'MESSAGE', 'NOTIFY', 'PUBLISH']);

/** True for a method of RFC 3261 or a common extension that this UAS does not serve (405 rather than 501). */
export function isKnownMethod(method: string): boolean {
  return KNOWN_METHODS.has(method);
}

/** The reason phrases of the statuses this UAS sends (RFC 3261 §21). */
export const REASON_PHRASES: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  183: 'Session Progress',
  200: 'OK',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  420: 'Bad Extension',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  513: 'Message Too Large',
  603: 'Decline',
};

/** The largest CSeq number (RFC 3261 §8.1.1.5: less than 2**31). */
const MAX_CSEQ = 2 ** 31 - 1;
/** The largest Max-Forwards (RFC 3261 §20.22: 0-255). */
const MAX_FORWARDS = 255;

/**
 * RFC 3261 §8.2 checks on a parsed request, in this order: SIP version (505); Content-Length (400: not 1-10 digits,
 * two values that differ, or over UDP more than arrived, §18.3); CSeq (400: not `1*DIGIT LWS method` as written,
 * a number over 2**31-1 (§8.1.1.5), or a method that is not the request's); Call-ID (400); the Request-URI of every
 * method (416 for a scheme other than sip, sips or tel, §8.2.2.1; 400 when it is no URI, or names no host or
 * number); Contact of an INVITE or
 * SUBSCRIBE (400 when it does not follow §25.1); Max-Forwards (400 when not 0-255, 483 at 0 except for OPTIONS,
 * §8.2.2.3 / §16.3); Require (420 with Unsupported, not for CANCEL, §8.2.2.3).
 * @param rq the request as the package parsed it (not an ACK: an ACK is never answered)
 * @param remote where it came from
 * @param raw the scan of its text, when the pre-parse hook saw it (always, unless a test calls this directly)
 * @returns the response to send instead of routing it, or null when it may proceed
 */
export function validateRequest(rq: SipRequest, remote: SipFlow, raw?: MessageScan): RequestProblem | null {
  // RFC 3261 §21.5.7 (505 Version Not Supported): only SIP/2.0 is spoken.
  if (rq.version !== undefined && rq.version !== '2.0') return { status: 505, reason: 'Version Not Supported' };
  if (raw && contentLengthOf(raw) === 'invalid') return { status: 400, reason: 'Bad Content-Length' };
  const cl = rq.headers['content-length'];
  if (cl !== undefined && (!Number.isInteger(cl) || cl < 0)) return { status: 400, reason: 'Bad Content-Length' };
  // Over UDP the package cuts the body to what arrived: a shorter body means the datagram was truncated (§18.3).
  if (remote.protocol === 'UDP' && typeof cl === 'number' && cl > (rq.content ?? '').length) {
    return { status: 400, reason: 'Truncated Body' };
  }
  if (raw && cseqProblem(raw.cseqs, rq.method)) return { status: 400, reason: 'Bad CSeq' };
  const seq = rq.headers.cseq.seq;
  if (String(rq.headers.cseq.method).toUpperCase() !== rq.method.toUpperCase() || !Number.isInteger(seq) || seq < 0 || seq > MAX_CSEQ) {
    return { status: 400, reason: 'Bad CSeq' };
  }
  if (typeof rq.headers['call-id'] !== 'string' || rq.headers['call-id'].trim() === '') return { status: 400, reason: 'Bad Call-ID' };
  const uri = typeof rq.uri === 'string' ? rq.uri : sipPackage().stringifyUri(rq.uri);
  const parts = parseUriParts(uri);
  if (!parts) return /^[a-z][a-z0-9+.-]*:/i.test(uri) ? { status: 416 } : { status: 400, reason: 'Bad Request-URI' };
  // A sip/sips URI names a host, a tel URI a number (RFC 3261 §19.1.1, RFC 3966 §3).
  if (parts.scheme === 'tel' ? !parts.user : !parts.host) return { status: 400, reason: 'Bad Request-URI' };
  if (raw && (rq.method === 'INVITE' || rq.method === 'SUBSCRIBE')) {
    for (const c of raw.contacts) if (contactProblem(c, false)) return { status: 400, reason: 'Bad Contact' };
  }
  const maxForwards = headerString(rq.headers['max-forwards']);
  if (maxForwards !== undefined) {
    const v = maxForwards.trim();
    if (!/^\d{1,3}$/.test(v) || Number(v) > MAX_FORWARDS) return { status: 400, reason: 'Bad Max-Forwards' };
    if (Number(v) === 0 && rq.method !== 'OPTIONS') return { status: 483 };
  }
  const require = headerString(rq.headers.require);
  if (require && rq.method !== 'CANCEL') {
    const unsupported = require.split(',').map((s) => s.trim()).filter(Boolean);
    if (unsupported.length > 0) return { status: 420, headers: { unsupported: unsupported.join(', ') } };
  }
  return null;
}

function headerString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/**
 * Checks CSeq values as written (RFC 3261 §20.16: `1*DIGIT LWS Method`; §8.1.1.5: the number is below 2**31). The
 * check is on the text: the package reads `-1 INVITE` as 1 and keeps `36893488147419103232` as a rounded float
 * (RFC 4475 `scalar02`).
 * @param values every CSeq header value of the request, unfolded
 * @param method the request's method (as the package gives it; CSeq's method must be the same)
 * @returns what is wrong, or null
 */
export function cseqProblem(values: readonly string[], method: string): string | null {
  if (values.length === 0) return 'no CSeq';
  let first: string | null = null;
  for (const v of values) {
    const m = /^(\d{1,10})[ \t]+([A-Za-z0-9!%*_+`'~.-]+)$/.exec(v);
    if (!m) return 'not a number and a method';
    if (Number(m[1]) > MAX_CSEQ) return 'number over 2**31-1';
    if (m[2] !== method) return 'method differs from the request';
    const norm = `${Number(m[1])} ${m[2]}`;
    if (first !== null && first !== norm) return 'two different CSeq values';
    first = norm;
  }
  return null;
}

// ---------------------------------------------------------------- Via and Contact syntax (RFC 3261 §25.1)

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** RFC 3261 §25.1 token characters, by code (a table: this runs on every Via of every message). */
const TOKEN = new Uint8Array(128);
for (let c = 0; c < 128; c++) if (isAlnum(c) || "-.!%*_+`'~".includes(String.fromCharCode(c))) TOKEN[c] = 1;

function isTokenChar(c: number): boolean {
  return c < 128 && TOKEN[c] === 1;
}

/** A read position in a header value (unfolded), with the RFC 3261 §25.1 pieces this file needs. Linear. */
class Cursor {
  i = 0;
  constructor(readonly s: string) {}

  get end(): boolean {
    return this.i >= this.s.length;
  }

  peek(): number {
    return this.s.charCodeAt(this.i);
  }

  /** SWS: optional SP/HTAB. */
  sws(): void {
    while (this.i < this.s.length && (this.peek() === 32 || this.peek() === 9)) this.i++;
  }

  /** LWS: at least one SP/HTAB. */
  lws(): boolean {
    const from = this.i;
    this.sws();
    return this.i > from;
  }

  eat(ch: string): boolean {
    if (this.s[this.i] !== ch) return false;
    this.i++;
    return true;
  }

  token(): string | null {
    const from = this.i;
    while (this.i < this.s.length && isTokenChar(this.peek())) this.i++;
    return this.i > from ? this.s.slice(from, this.i) : null;
  }

  /** host = hostname / IPv4address / IPv6reference (a token-like run, or `[` hex, `:` and `.` `]`). */
  host(): string | null {
    if (this.s[this.i] === '[') {
      const close = this.s.indexOf(']', this.i);
      if (close < 0 || !/^\[[0-9A-Fa-f:.]+\]$/.test(this.s.slice(this.i, close + 1))) return null;
      const h = this.s.slice(this.i, close + 1);
      this.i = close + 1;
      return h;
    }
    const from = this.i;
    while (this.i < this.s.length && (isAlnum(this.peek()) || this.peek() === 45 || this.peek() === 46)) this.i++;
    return this.i > from ? this.s.slice(from, this.i) : null;
  }

  /** quoted-string: `"` (qdtext / quoted-pair)* `"`. */
  quoted(): boolean {
    if (!this.eat('"')) return false;
    while (this.i < this.s.length) {
      const c = this.peek();
      if (c === 92 /* \ */) {
        if (this.i + 1 >= this.s.length) return false;
        this.i += 2;
      } else if (c === 34) {
        this.i++;
        return true;
      } else this.i++;
    }
    return false;
  }

  /** gen-value = token / host / quoted-string. */
  genValue(): boolean {
    if (this.s[this.i] === '"') return this.quoted();
    if (this.s[this.i] === '[') return this.host() !== null;
    return this.token() !== null;
  }

  /**
   * `*( SEMI generic-param )`: each parameter a token, with a value after `=` (never empty); `valued` names those
   * that must have one.
   * @returns what is wrong, or null
   */
  params(valued: ReadonlySet<string>): string | null {
    for (;;) {
      const save = this.i;
      this.sws();
      if (!this.eat(';')) {
        this.i = save;
        return null;
      }
      this.sws();
      const name = this.token();
      if (!name) return 'an empty parameter';
      const beforeEq = this.i;
      this.sws();
      if (this.eat('=')) {
        this.sws();
        if (!this.genValue()) return `an empty or bad value of ${name}`;
      } else {
        this.i = beforeEq;
        if (valued.has(name.toLowerCase())) return `${name} without a value`;
      }
    }
  }
}

const VIA_VALUED = new Set(['branch', 'received', 'maddr', 'ttl']);
const CONTACT_VALUED = new Set(['q', 'expires']);

/**
 * Checks a Via header value (one line, unfolded, possibly a comma-separated list) against RFC 3261 §25.1:
 * `sent-protocol LWS sent-by *(SEMI via-params)` per entry, a `branch`, `received`, `maddr` or `ttl` with a value,
 * no empty parameter (`;;`, `;branch=`), no stray separator. Linear.
 * @returns what is wrong, or null
 */
export function viaProblem(value: string): string | null {
  const c = new Cursor(value);
  for (;;) {
    c.sws();
    for (let part = 0; part < 3; part++) {
      if (part > 0) {
        c.sws();
        if (!c.eat('/')) return 'sent-protocol is not name/version/transport';
        c.sws();
      }
      if (!c.token()) return 'sent-protocol is not name/version/transport';
    }
    if (!c.lws()) return 'no space before sent-by';
    if (!c.host()) return 'no sent-by host';
    const save = c.i;
    c.sws();
    if (c.eat(':')) {
      c.sws();
      const from = c.i;
      while (!c.end && c.peek() >= 48 && c.peek() <= 57) c.i++;
      if (c.i === from || c.i - from > 5) return 'bad sent-by port';
    } else c.i = save;
    const p = c.params(VIA_VALUED);
    if (p) return p;
    c.sws();
    if (c.end) return null;
    if (!c.eat(',')) return 'stray characters';
  }
}

/**
 * Checks a Contact header value (one line, unfolded) against RFC 3261 §25.1: `*` (when `allowStar`), or entries
 * `(name-addr / addr-spec) *(SEMI contact-params)` separated by commas; a name-addr is an optional display name (tokens
 * or a quoted string) then `<URI>` with no white space inside the brackets; a URI is `scheme:` and more; `q` and
 * `expires` have values; no empty parameter and no stray separator. Linear.
 * @returns what is wrong, or null
 */
export function contactProblem(value: string, allowStar: boolean): string | null {
  const c = new Cursor(value);
  c.sws();
  if (c.s.slice(c.i).trim() === '*') return allowStar ? null : '* is for REGISTER only';
  for (;;) {
    c.sws();
    const start = c.i;
    let bracketed = false;
    if (c.s[c.i] === '"') {
      if (!c.quoted()) return 'unterminated display name';
      c.sws();
      if (!c.eat('<')) return 'no <URI> after the display name';
      bracketed = true;
    } else {
      // Display-name tokens, then `<`; otherwise, from the start again, an addr-spec.
      while (c.token()) c.sws();
      if (c.eat('<')) bracketed = true;
      else c.i = start;
    }
    if (bracketed) {
      const close = c.s.indexOf('>', c.i);
      if (close < 0) return 'no > after the URI';
      const uri = c.s.slice(c.i, close);
      if (!/^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"]+$/.test(uri)) return 'not a URI between < and >';
      c.i = close + 1;
    } else {
      const from = c.i;
      while (!c.end && !/[\s;,<>"]/.test(c.s[c.i])) c.i++;
      if (!/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(c.s.slice(from, c.i))) return 'not a URI';
    }
    const p = c.params(CONTACT_VALUED);
    if (p) return p;
    c.sws();
    if (c.end) return null;
    if (!c.eat(',')) return 'stray characters';
  }
}
