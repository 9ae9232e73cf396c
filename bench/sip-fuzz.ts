/**
 * SIP messages as fuzzers and broken gateways send them (issue 19, "SIP input"), shared by the mutation test
 * (`test/e2e/sip-mutation.test.ts`) and the attacker of the soak bench (`bench/attacker.ts`): junk header values,
 * huge and negative integers (RFC 4475 scalar02, ncl), odd Request-URI schemes, escaped tokens (esc02), broken SDP
 * offers, and one-to-three random breakages of a message's text. Pure: every choice comes from the `Rng` given.
 */

/** A source of choices: a seeded one in tests (`test/helpers.ts` seededRandom), Math.random in the bench. */
export interface Rng {
  /** A number in [0, 1). */
  next(): number;
  pick<T>(a: readonly T[]): T;
}

/** An Rng on Math.random (the bench: every run different). */
export const mathRandom: Rng = { next: () => Math.random(), pick: (a) => a[Math.floor(Math.random() * a.length)] };

/** Header values that break parsers. */
export const JUNK = ['', ' ', '\x00', '\xff\xfe', '-1', '4294967296', '99999999999999999999', '<>', '<sip:>', 'sip:@', ';;;', '"unterminated', '%zz', 'a'.repeat(3000), ',,,', 'SIP/2.0/UDP', 'NaN', '€', '\r\n\r\n', '<tel:+1>', '*'];

/** Huge and negative integers, for CSeq, Content-Length, Max-Forwards and Expires (RFC 4475 scalar02, ncl). */
export const INTEGERS = ['-1', '0', '2147483647', '2147483648', '4294967296', '99999999999999999999', '36893488147419103232', '1e3', '0x10', '007', '-0', ' 5 '];

/** Request-URI schemes a server may be sent. */
export const SCHEMES = ['mailto:ivr@127.0.0.1', 'urn:service:sos', 'http://127.0.0.1/', 'sips:14255550100@127.0.0.1', 'tel:+14255550100', 'tel:', 'sip:', 'im:ivr@x', 'x-unknown:1', 'sip:%31%34255550100@127.0.0.1'];

/** Tokens with % (RFC 4475 esc02: never unescaped). */
export const ESCAPED_METHODS = ['RE%47IST%45R', 'INV%49TE', 'OPTIONS%', '%', 'B%59E'];

/** A G.711 + telephone-event offer receiving at 127.0.0.1:`port`. */
export const sdpOffer = (port: number): string =>
  ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP 0 8 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=ptime:20', 'a=sendrecv', ''].join('\r\n');

/** Offers broken the ways gateways and fuzzers break them. */
export const BREAK_SDP: Array<(s: string, r: Rng) => string> = [
  (s) => s.replace(/m=audio \d+/, 'm=audio 0'),
  (s) => s.replace(/m=audio \d+/, 'm=audio 70000'),
  (s) => s.replace(/m=audio \d+/, 'm=audio -5'),
  (s) => s.replace(/c=IN IP4 [^\r]+/, 'c=IN IP4 gateway.invalid'),
  (s) => s.replace(/c=[^\r]+\r\n/, ''),
  (s) => s.replace(/c=IN IP4 [^\r]+/, 'c=IN IP4 0.0.0.0'),
  (s) => s.replace('RTP/AVP 0 8 101', 'RTP/AVP'),
  (s) => s.replace('RTP/AVP 0 8 101', 'RTP/AVP 101'),
  (s) => s.replace('RTP/AVP 0 8 101', 'RTP/SAVP 0'),
  (s) => s.replace('a=ptime:20', 'a=ptime:0'),
  (s) => s.replace('a=ptime:20', 'a=ptime:100000'),
  (s) => s.replace(/101/g, '200'),
  (s) => s.replace(/101/g, '13'),
  (s) => s.replace('telephone-event/8000', 'telephone-event/0'),
  (s) => s.replace(/m=audio[^\r]*\r\n/, ''),
  (s, r) => s.slice(0, Math.floor(r.next() * s.length)),
  (s) => s.replace('a=sendrecv', 'a=inactive'),
  (s) => s.replace(/\r\n/g, '\n'),
];

/** A SIP message: start line, headers (a Content-Length is added unless given), body. */
export function sipMessage(startLine: string, headers: Array<[string, string]>, body = ''): string {
  const lines = [startLine, ...headers.map(([n, v]) => `${n}: ${v}`)];
  if (!headers.some(([n]) => n.toLowerCase() === 'content-length')) lines.push(`Content-Length: ${Buffer.byteLength(body, 'latin1')}`);
  return lines.join('\r\n') + '\r\n\r\n' + body;
}

/** One to three random breakages of a message's text: a byte flipped, a line dropped or doubled, junk, truncation. */
export function breakMessage(text: string, r: Rng): string {
  let t = text;
  for (let i = 0, n = 1 + Math.floor(r.next() * 3); i < n; i++) {
    const lines = t.split('\r\n');
    const k = 1 + Math.floor(r.next() * Math.max(1, lines.length - 1));
    const x = r.next();
    if (x < 0.15) {
      const b = Buffer.from(t, 'latin1');
      b[Math.floor(r.next() * b.length)] = Math.floor(r.next() * 256);
      t = b.toString('latin1');
    } else if (x < 0.3) {
      lines.splice(k, 1);
      t = lines.join('\r\n');
    } else if (x < 0.45) {
      lines.splice(k, 0, lines[k] ?? '');
      t = lines.join('\r\n');
    } else if (x < 0.7) {
      const l = lines[k] ?? '';
      const c = l.indexOf(':');
      lines[k] = c > 0 ? `${l.slice(0, c + 2)}${r.pick(JUNK)}` : r.pick(JUNK);
      t = lines.join('\r\n');
    } else if (x < 0.8) {
      t = t.slice(0, Math.floor(r.next() * t.length));
    } else if (x < 0.9) {
      lines[k] = (lines[k] ?? '') + r.pick(JUNK);
      t = lines.join('\r\n');
    } else {
      t = t.replace(/Content-Length: \d+/, `Content-Length: ${r.pick(['0', '-1', '99999', '3', 'x'])}`);
    }
  }
  return t;
}

/** The kinds of stateless attack message {@link attackMessage} writes. */
export type AttackKind = 'invite' | 'options' | 'junk' | 'huge' | 'integers' | 'escaped' | 'scheme';

/** What an attack message is built from. */
export interface AttackContext {
  /** The server's SIP port (on 127.0.0.1). */
  port: number;
  /** A well-formed INVITE (with an offer) to break. */
  invite: string;
  /** Call-ID, From and Via-bearing headers of a request of `method`. */
  headers(method: string): Array<[string, string]>;
}

/**
 * One message of `kind`: a broken INVITE or OPTIONS, junk, very long or too many header fields (over the limits:
 * 513, or just under them), a huge or negative integer in CSeq, Content-Length, Max-Forwards or Expires, an escaped
 * method or header name, an odd Request-URI scheme.
 */
export function attackMessage(kind: AttackKind, r: Rng, ctx: AttackContext): string {
  const { port, invite } = ctx;
  if (kind === 'invite') return breakMessage(invite, r);
  if (kind === 'options') return breakMessage(sipMessage(`OPTIONS sip:x@127.0.0.1 SIP/2.0`, ctx.headers('OPTIONS')), r);
  if (kind === 'junk') return r.pick(['INVITE', 'SIP/2.0 200 OK', 'ACK * SIP/2.0\r\nVia: x\r\n\r\n', 'REGISTER sip:127.0.0.1 SIP/2.0\r\nContent-Length: 5\r\n\r\nabc']) + r.pick(JUNK);
  if (kind === 'huge') {
    const x = r.next();
    const size = r.pick([4000, 8000, 9000, 20_000, 50_000]);
    const extra: Array<[string, string]> =
      x < 0.3
        ? [[r.pick(['Subject', 'Contact', 'Route', 'X-Long', 'Authorization']), `<sip:a@127.0.0.1>${r.pick([' ', 'a', ';a', ',<sip:b@h>']).repeat(Math.floor(size / 10))}`]]
        : x < 0.6
          ? Array.from({ length: r.pick([100, 250, 257, 400]) }, (_, k) => [`X-H${k}`, 'v'] as [string, string])
          : [[r.pick(['Contact', 'Route', 'Via']), Array.from({ length: r.pick([100, 255, 300]) }, (_, k) => `<sip:r${k}@127.0.0.1;lr>`).join(',')]];
    const base = r.next() < 0.5 ? invite : sipMessage(`OPTIONS sip:x@127.0.0.1 SIP/2.0`, ctx.headers('OPTIONS'));
    return base.replace('Max-Forwards: 70', ['Max-Forwards: 70', ...extra.map(([n, v]) => `${n}: ${v}`)].join('\r\n')).slice(0, 65_000);
  }
  if (kind === 'integers') {
    const field = r.pick(['CSeq', 'Content-Length', 'Max-Forwards', 'Expires'] as const);
    const n = r.pick(INTEGERS);
    const text = r.next() < 0.5 ? invite : sipMessage(`${r.pick(['OPTIONS', 'SUBSCRIBE'])} sip:14255550100@127.0.0.1:${port} SIP/2.0`, [...ctx.headers('OPTIONS'), ['Event', 'message-summary']]);
    const method = /^(\S+)/.exec(text)![1];
    const fixed = text.replace(/CSeq: 1 OPTIONS/, `CSeq: 1 ${method}`);
    if (field === 'CSeq') return fixed.replace(/CSeq: \d+ /, `CSeq: ${n} `);
    if (field === 'Content-Length') return fixed.replace(/Content-Length: \d+/, `Content-Length: ${n}`);
    if (field === 'Max-Forwards') return fixed.replace('Max-Forwards: 70', `Max-Forwards: ${n}`);
    return fixed.replace('Max-Forwards: 70', `Max-Forwards: 70\r\nExpires: ${n}`);
  }
  if (kind === 'escaped') {
    const m = r.pick(ESCAPED_METHODS);
    const text = sipMessage(`${m} sip:14255550100@127.0.0.1:${port} SIP/2.0`, ctx.headers(m));
    return r.next() < 0.5 ? text : text.replace('Max-Forwards', r.pick(['Max%2DForwards', 'Max-Forwards%', 'C%53eq']));
  }
  const m = r.pick(['INVITE', 'OPTIONS', 'BYE', 'INFO', 'SUBSCRIBE', 'MESSAGE']);
  const text = m === 'INVITE' ? invite : sipMessage(`${m} sip:x@127.0.0.1 SIP/2.0`, ctx.headers(m));
  return text.replace(/^(\S+) \S+/, `$1 ${r.pick(SCHEMES)}`);
}
