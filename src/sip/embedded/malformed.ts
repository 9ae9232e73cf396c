/**
 * Malformed SIP messages: what the `sip` package drops without a word (a start line or header line that does not
 * parse, or a missing Via/Call-ID/To/From/CSeq) still deserves a 400 when the request carries enough to address one
 * (RFC 3261 §8.1.3.3 / §21.4.1: a response copies Via, From, To, Call-ID and CSeq). Pure functions on the raw text.
 */
import { randomBytes } from 'node:crypto';

const REQUEST_LINE = /^([A-Za-z0-9!%*_+`'~.-]+) +(\S+) +SIP\/2\.0 *$/i;
const NEEDED: Record<string, string> = { via: 'Via', v: 'Via', from: 'From', f: 'From', to: 'To', t: 'To', 'call-id': 'Call-ID', i: 'Call-ID', cseq: 'CSeq' };

/** True for what RFC 5626 §3.5.1 keep-alives look like (CRLF, double CRLF) or an empty datagram. */
export function isKeepAlive(data: Buffer): boolean {
  for (const b of data) if (b !== 0x0d && b !== 0x0a && b !== 0x20 && b !== 0x09) return false;
  return true;
}

/** The values a raw response copies (RFC 3261 §8.2.6.2): every Via, the first From, To, Call-ID and CSeq. */
export interface ResponseAddress {
  /** The request's method as written; null when the message is not a request (then nothing is answered). */
  method: string | null;
  via: string[];
  from?: string;
  to?: string;
  callId?: string;
  cseq?: string;
}

/**
 * Builds a response from a request's raw values, without the SIP stack: the status line, every Via, From, To (with
 * a tag added when it has none), Call-ID and CSeq copied verbatim, `extra` header lines, no body.
 * @param address the request's values ({@link ResponseAddress}; `scanMessage` in message-limits.ts gives them)
 * @param status the status code (a final one: 400, 513, ...)
 * @param reason the reason phrase (non-printable characters are dropped)
 * @param extra further header lines, e.g. `['Retry-After: 30']`
 * @returns the response text, or null when `address` is not a request's, is an ACK's (never answered, §17.1.1.3),
 *   or lacks one of those values, so no response can be addressed
 */
export function rawResponse(address: ResponseAddress, status: number, reason: string, extra: string[] = []): string | null {
  if (address.method === null || address.method.toUpperCase() === 'ACK') return null;
  const { from, callId, cseq } = address;
  let to = address.to;
  if (address.via.length === 0 || !from || !to || !callId || !cseq) return null;
  if (!/;\s*tag\s*=/i.test(to)) to += `;tag=${randomBytes(6).toString('hex')}`;
  return [
    `SIP/2.0 ${status} ${reason.replace(/[^\x20-\x7e]/g, '')}`,
    ...address.via.map((v) => `Via: ${v}`),
    `From: ${from}`,
    `To: ${to}`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq}`,
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/**
 * Builds `400 Bad Request` for a request the stack could not parse, copying its Via, From, To (with a tag added),
 * Call-ID and CSeq lines verbatim.
 * @param raw the message as received (a Buffer, or its latin1 text)
 * @param reason the reason phrase (ASCII)
 * @returns the response text, or null when `raw` is not a request (or is an ACK, which is never answered) or lacks
 *   one of those header lines, so no response can be addressed
 */
export function rawBadRequest(raw: Buffer | string, reason = 'Bad Request'): string | null {
  const text = typeof raw === 'string' ? raw : raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const head = end >= 0 ? text.slice(0, end) : text;
  // Unfold continuation lines (RFC 3261 §7.3.1), then split.
  const lines = head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/);
  const start = REQUEST_LINE.exec(lines[0] ?? '');
  if (!start) return null;
  const found: Record<string, string[]> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = NEEDED[line.slice(0, colon).trim().toLowerCase()];
    const value = line.slice(colon + 1).trim();
    if (!name || value === '' || /[\x00-\x08\x0a-\x1f\x7f]/.test(value)) continue;
    (found[name] ??= []).push(value);
  }
  return rawResponse(
    { method: start[1], via: found.Via ?? [], from: found.From?.[0], to: found.To?.[0], callId: found['Call-ID']?.[0], cseq: found.CSeq?.[0] },
    400,
    reason,
  );
}

/** True when `startLine` is a request line a raw response may answer (`METHOD uri SIP/2.0`). */
export function isAnswerableRequestLine(startLine: string): boolean {
  return REQUEST_LINE.test(startLine);
}
