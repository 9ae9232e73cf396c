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

/**
 * Builds `400 Bad Request` for a request the stack could not parse, copying its Via, From, To (with a tag added),
 * Call-ID and CSeq lines verbatim.
 * @param raw the datagram as received
 * @param reason the reason phrase (ASCII)
 * @returns the response text, or null when `raw` is not a request (or is an ACK, which is never answered) or lacks
 *   one of those header lines, so no response can be addressed
 */
export function rawBadRequest(raw: Buffer, reason = 'Bad Request'): string | null {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const head = end >= 0 ? text.slice(0, end) : text;
  // Unfold continuation lines (RFC 3261 §7.3.1), then split.
  const lines = head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/);
  const start = REQUEST_LINE.exec(lines[0] ?? '');
  if (!start || start[1].toUpperCase() === 'ACK') return null;
  const found: Record<string, string[]> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = NEEDED[line.slice(0, colon).trim().toLowerCase()];
    const value = line.slice(colon + 1).trim();
    if (!name || value === '' || /[\x00-\x08\x0a-\x1f\x7f]/.test(value)) continue;
    (found[name] ??= []).push(value);
  }
  for (const name of ['Via', 'From', 'To', 'Call-ID', 'CSeq']) if (!found[name]) return null;
  let to = found.To[0];
  if (!/;\s*tag\s*=/i.test(to)) to += `;tag=${randomBytes(6).toString('hex')}`;
  return [
    `SIP/2.0 400 ${reason.replace(/[^\x20-\x7e]/g, '')}`,
    ...found.Via.map((v) => `Via: ${v}`),
    `From: ${found.From[0]}`,
    `To: ${to}`,
    `Call-ID: ${found['Call-ID'][0]}`,
    `CSeq: ${found.CSeq[0]}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}
