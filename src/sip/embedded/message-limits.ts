/**
 * What a SIP message must look like before the `sip` package may parse it (issue 19, "SIP input"). Pure functions on
 * the message text (latin1: one character per byte), each linear in its length.
 *
 * Why: the package's header parsers are regular expressions searched forward (`lastIndex` and `exec` with the `g`
 * flag) from every position after a failed match. On some inputs that is quadratic in a header's length, measured
 * here: a run of 8 KB of white space in a To, From, Via, Contact or Route header costs 40 to 100 ms, 32 KB about 1 s;
 * an Authorization (or WWW-Authenticate ...) token of 8 KB without `=` 40 ms. One 64 KB UDP datagram stalled every
 * call's RTP for about 4 s. So, before the package sees a message:
 * - its size, its number of header fields and its longest header field are checked ({@link MessageLimits}); over a
 *   limit it gets 513 Message Too Large (RFC 3261 §21.5.14) or nothing;
 * - it must parse the way the package parses (start line, `name: value` lines, {@link scanMessage}`.parseable`),
 *   and over a stream the way our framing reads it (Content-Length), otherwise it is malformed (400 or nothing);
 * - {@link prepareForPackage} rewrites the few things that make the package slow or wrong: white space before the
 *   start line is removed (§7.5), runs of white space longer than {@link MAX_WHITESPACE_RUN} inside a header are
 *   replaced by one SP (§25.1 lets a recipient do that with any linear white space), a `%` in the method, a header
 *   name or the CSeq method is written `%25` (the package would unescape `RE%47ISTER` into `REGISTER`; RFC 4475
 *   §3.1.1.5 says it is another, unknown method), and the authentication headers (Authorization,
 *   Proxy-Authorization, WWW-Authenticate, Proxy-Authenticate, Authentication-Info) are left out: neither the
 *   package nor this UAS reads them (it does not authenticate), and their parsers are quadratic.
 */

/** Limits on one SIP message, checked before parsing (`sip.limits` in the directory file). */
export interface MessageLimits {
  /** The largest message, start line to the end of the body, bytes. */
  maxMessageBytes: number;
  /**
   * The most header fields. Each entry of a comma-separated Via, Contact, Route, Record-Route or Path list counts as
   * one (RFC 3261 §7.3.1: such a list on one line is the same as one line per entry).
   */
  maxHeaders: number;
  /** The longest header field (the start line too), folded lines joined, bytes. */
  maxHeaderLineBytes: number;
}

/**
 * The defaults: 64 KB (the largest UDP datagram is a little under it), 256 header fields (an INVITE from a gateway
 * has 15 to 30), 8 KB for one header field (a STIR/SHAKEN Identity header is about 1 KB, a long Record-Route list
 * a few hundred bytes).
 */
export const DEFAULT_MESSAGE_LIMITS: Readonly<MessageLimits> = Object.freeze({
  maxMessageBytes: 64 * 1024,
  maxHeaders: 256,
  maxHeaderLineBytes: 8 * 1024,
});

/** Which limit a message broke (also the `reason` label of `va_sip_messages_rejected_total`). */
export type LimitViolation = 'too-large' | 'too-many-headers' | 'header-too-long';

/** White space runs longer than this (characters) inside a header are replaced by one SP for the package. */
export const MAX_WHITESPACE_RUN = 16;

/** The values a response is addressed with (RFC 3261 §8.2.6.2), each unfolded, as received. */
export interface AddressValues {
  via: string[];
  from?: string;
  to?: string;
  callId?: string;
  cseq?: string;
}

/** One logical header line (folded lines joined) of the scanned text. */
export interface LineSpan {
  /** Index of its first character. */
  start: number;
  /** Index after its last character (its CRLF is not included). */
  end: number;
  /** Index of the colon after the name; -1 for the start line. */
  colon: number;
  /** The name, lower case, compact form expanded; '' for the start line. */
  name: string;
}

/** What {@link scanMessage} found. */
export interface MessageScan {
  /** Index of the start line: white space before it is skipped (RFC 3261 §7.5). */
  start: number;
  /** Index of the CRLFCRLF ending the headers; -1 when the text has none. */
  headerEnd: number;
  /** Whether the start line is a request's, a response's (`SIP/x.y NNN`) or neither. */
  kind: 'request' | 'response' | 'unknown';
  /** The method token as written (requests). */
  method: string | null;
  /** The first limit broken, or null. */
  violation: LimitViolation | null;
  /** True when the package's `parse` would take every line (see {@link startLineParses}, {@link headerColon}). */
  parseable: boolean;
  /** Header fields, list entries counted ({@link MessageLimits.maxHeaders}). */
  headerCount: number;
  /**
   * The Content-Length (or `l`) values as written, trimmed. Several equal values are one value; see
   * {@link contentLengthOf}.
   */
  contentLengths: string[];
  /** Every Via value, unfolded (also those too long to copy into a response). */
  vias: string[];
  /** Every Contact value, unfolded. */
  contacts: string[];
  /** The CSeq values as written, unfolded. */
  cseqs: string[];
  /** What a response needs, for a raw 400 or 513 (values over `maxHeaderLineBytes` left out). */
  address: AddressValues;
  /** The top Via's branch parameter, when there is one. */
  branch: string | null;
  /** True when {@link prepareForPackage} must rewrite the text. */
  needsRewrite: boolean;
  /** The logical lines (kept for the rewrite). */
  lines: LineSpan[];
}

const COMPACT: Record<string, string> = {
  i: 'call-id',
  m: 'contact',
  e: 'contact-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
};

/** Headers whose comma-separated entries count one each toward {@link MessageLimits.maxHeaders}. */
const LISTS = new Set(['via', 'contact', 'route', 'record-route', 'path']);

/** Headers left out of what the package parses (see the module comment). */
const UNREAD = new Set(['authorization', 'proxy-authorization', 'www-authenticate', 'proxy-authenticate', 'authentication-info']);

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;

/** The characters the package's `\s` matches in a latin1 string: HT, LF, VT, FF, CR, SP, NBSP. */
function isRegexSpace(c: number): boolean {
  return c === SP || (c >= HT && c <= CR) || c === 0xa0;
}

/** The package's request line (its `parseRequest`), not anchored at the end. Linear: each part is delimited. */
const PACKAGE_REQUEST_LINE = /^([\w\-.!%*_+`'~]+)\s([^\s]+)\sSIP\s*\/\s*(\d+\.\d+)/;
const RESPONSE_PREFIX = /^SIP\/(\d+\.\d+)\s+(\d+)/;

/**
 * True when the package's start-line parser takes `line`: its request pattern, or its response pattern
 * `^SIP\/(\d+\.\d+)\s+(\d+)\s*(.*)\s*$`, which matches when what follows the status code, white space trimmed at
 * both ends, holds no CR or LF (checked here without that pattern, which backtracks quadratically on such a line).
 */
export function startLineParses(line: string): boolean {
  if (line === '') return false;
  if (PACKAGE_REQUEST_LINE.test(line)) return true;
  const m = RESPONSE_PREFIX.exec(line);
  if (!m) return false;
  let i = m[0].length;
  let j = line.length;
  while (i < j && isRegexSpace(line.charCodeAt(i))) i++;
  while (j > i && isRegexSpace(line.charCodeAt(j - 1))) j--;
  for (; i < j; i++) {
    const c = line.charCodeAt(i);
    if (c === CR || c === LF) return false;
  }
  return true;
}

/**
 * True when the package's header-line pattern `^([\S]*?)\s*:\s*([\s\S]*)$` matches `text[start, end)`: the first
 * colon comes before any white space, or the first white space run is followed by the colon. Linear.
 * @returns the index of that colon, or -1
 */
export function headerColon(text: string, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === 58 /* : */) return i;
    if (isRegexSpace(c)) break;
    i++;
  }
  while (i < end && isRegexSpace(text.charCodeAt(i))) i++;
  return i < end && text.charCodeAt(i) === 58 ? i : -1;
}

/** Unfolds a header value (RFC 3261 §7.3.1: CRLF followed by white space is one SP) and trims SP/HTAB. Linear. */
function unfold(v: string): string {
  const s = v.includes('\r\n') ? v.replace(/\r\n[ \t]+/g, ' ') : v;
  let i = 0;
  let j = s.length;
  while (i < j && (s.charCodeAt(i) === SP || s.charCodeAt(i) === HT)) i++;
  while (j > i && (s.charCodeAt(j - 1) === SP || s.charCodeAt(j - 1) === HT)) j--;
  return i === 0 && j === s.length ? s : s.slice(i, j);
}

/** `text[start, end)` without the package's white space at its end (a header name before its colon). Linear. */
function trimEnd(text: string, start: number, end: number): string {
  while (end > start && isRegexSpace(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

/** Entries of a comma-separated list (commas outside quotes and angle brackets, plus one). Linear. */
function listEntries(text: string, start: number, end: number): number {
  let n = 1;
  let quoted = false;
  let angle = false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (quoted) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) quoted = false;
    } else if (c === 34) quoted = true;
    else if (c === 60 /* < */) angle = true;
    else if (c === 62 /* > */) angle = false;
    else if (c === 44 /* , */ && !angle) n++;
  }
  return n;
}

/** The longest run of the package's white space in `text[start, end)` (a fold's CRLF counts). */
function longestSpaceRun(text: string, start: number, end: number): number {
  let longest = 0;
  let run = 0;
  for (let i = start; i < end; i++) {
    if (isRegexSpace(text.charCodeAt(i))) {
      run++;
      if (run > longest) longest = run;
    } else run = 0;
  }
  return longest;
}

/** The top Via's `branch` (first entry of the first Via), or null. */
function branchOf(via: string): string | null {
  const m = /;\s*branch\s*=\s*([^\s;,]+)/i.exec(via);
  return m ? m[1] : null;
}

/**
 * Scans a message (or the part of one that has arrived) once: where its start line and header end are, each logical
 * header line, the limits, whether the package could parse it, and the values a response or a later check needs.
 * Linear in the length of `text`; never throws.
 * @param text the message as latin1 text (one character per byte)
 * @param limits the limits to check
 */
export function scanMessage(text: string, limits: MessageLimits): MessageScan {
  const end = text.length;
  let start = 0;
  while (start < end) {
    const c = text.charCodeAt(start);
    if (c !== CR && c !== LF && c !== SP && c !== HT) break;
    start++;
  }
  const headerEnd = text.indexOf('\r\n\r\n', start);
  const scan: MessageScan = {
    start,
    headerEnd,
    kind: 'unknown',
    method: null,
    violation: null,
    parseable: true,
    headerCount: 0,
    contentLengths: [],
    vias: [],
    contacts: [],
    cseqs: [],
    address: { via: [] },
    branch: null,
    needsRewrite: start > 0,
    lines: [],
  };
  if (end - start > limits.maxMessageBytes) scan.violation = 'too-large';
  const headEnd = headerEnd >= 0 ? headerEnd : end;
  let pos = start;
  let first = true;
  while (pos < headEnd) {
    // A logical line ends at a CRLF not followed by SP or HTAB (the package splits on /\r\n(?![ \t])/).
    let lineEnd = pos;
    for (;;) {
      const crlf = text.indexOf('\r\n', lineEnd);
      if (crlf < 0 || crlf >= headEnd) {
        lineEnd = headEnd;
        break;
      }
      const next = text.charCodeAt(crlf + 2);
      if (crlf + 2 < headEnd && (next === SP || next === HT)) {
        lineEnd = crlf + 2;
        continue;
      }
      lineEnd = crlf;
      break;
    }
    const length = lineEnd - pos;
    if (length > limits.maxHeaderLineBytes && !scan.violation) scan.violation = 'header-too-long';
    if (first) {
      first = false;
      const line = text.slice(pos, lineEnd);
      if (!startLineParses(line)) scan.parseable = false;
      if (RESPONSE_PREFIX.test(line)) scan.kind = 'response';
      else {
        const m = /^([A-Za-z0-9!%*_+`'~.-]+)[ \t]+\S+[ \t]+SIP\//.exec(line);
        if (m) {
          scan.kind = 'request';
          scan.method = m[1];
          if (m[1].includes('%')) scan.needsRewrite = true;
        }
      }
      scan.lines.push({ start: pos, end: lineEnd, colon: -1, name: '' });
    } else {
      const colon = headerColon(text, pos, lineEnd);
      if (colon < 0) {
        scan.parseable = false;
        scan.headerCount++;
        scan.lines.push({ start: pos, end: lineEnd, colon: -1, name: '' });
      } else {
        let name = trimEnd(text, pos, colon).toLowerCase();
        name = COMPACT[name] ?? name;
        if (name.includes('%') || UNREAD.has(name)) scan.needsRewrite = true;
        scan.lines.push({ start: pos, end: lineEnd, colon, name });
        scan.headerCount += LISTS.has(name) ? listEntries(text, colon + 1, lineEnd) : 1;
        const fits = length <= limits.maxHeaderLineBytes;
        switch (name) {
          case 'via': {
            const v = unfold(text.slice(colon + 1, lineEnd));
            scan.vias.push(v);
            if (scan.vias.length === 1) scan.branch = branchOf(v.split(',')[0]);
            if (fits && usable(v)) scan.address.via.push(v);
            break;
          }
          case 'contact':
            scan.contacts.push(unfold(text.slice(colon + 1, lineEnd)));
            break;
          case 'content-length':
            scan.contentLengths.push(unfold(text.slice(colon + 1, lineEnd)));
            break;
          case 'cseq': {
            const v = unfold(text.slice(colon + 1, lineEnd));
            scan.cseqs.push(v);
            if (v.includes('%')) scan.needsRewrite = true;
            if (fits && usable(v) && scan.address.cseq === undefined) scan.address.cseq = v;
            break;
          }
          case 'from':
          case 'to':
          case 'call-id': {
            const key = name === 'call-id' ? 'callId' : name;
            if (fits && scan.address[key] === undefined) {
              const v = unfold(text.slice(colon + 1, lineEnd));
              if (usable(v)) scan.address[key] = v;
            }
            break;
          }
        }
      }
    }
    pos = lineEnd + 2;
  }
  if (!scan.violation && scan.headerCount > limits.maxHeaders) scan.violation = 'too-many-headers';
  // One pass over the headers for a long white space run (a run across a line end only costs a rewrite that finds
  // nothing to cut); most messages have none.
  if (!scan.needsRewrite && scan.lines.length > 1 && LONG_RUN.test(text.slice(scan.lines[1].start, headEnd))) scan.needsRewrite = true;
  return scan;
}

/** More than {@link MAX_WHITESPACE_RUN} characters of the package's white space in a row. Linear (a fixed count). */
const LONG_RUN = new RegExp(`[\\t\\n\\v\\f\\r \\xa0]{${MAX_WHITESPACE_RUN + 1}}`);

/** A value that can be copied into a response: not empty, no control characters (a header injection). */
function usable(v: string): boolean {
  return v !== '' && !/[\x00-\x08\x0a-\x1f\x7f]/.test(v);
}

/**
 * The Content-Length of a scanned message (RFC 3261 §20.14): null when absent; 'invalid' when a value is not 1 to
 * 10 digits (RFC 4475 `ncl`, `scalar02`: a negative or overlarge value gets 400) or two values differ (RFC 4475
 * `mcl01`: 400).
 */
export function contentLengthOf(scan: MessageScan): number | null | 'invalid' {
  let value: number | null = null;
  for (const v of scan.contentLengths) {
    if (!/^\d{1,10}$/.test(v)) return 'invalid';
    const n = Number(v);
    if (value !== null && n !== value) return 'invalid';
    value = n;
  }
  return value;
}

/**
 * The text to hand to the package: `text` rewritten as the module comment says (leading white space removed, long
 * white space runs in headers replaced by one SP, `%` in the method, header names and CSeq written `%25`,
 * authentication headers left out). The body is not touched. Returns `text` itself when nothing needs changing.
 * @param text the whole message (headers and body) the scan was made of
 * @param scan its {@link scanMessage} result (with `headerEnd` >= 0)
 */
export function prepareForPackage(text: string, scan: MessageScan): string {
  if (!scan.needsRewrite) return text;
  if (scan.headerEnd < 0) return text.slice(scan.start);
  const out: string[] = [];
  for (const l of scan.lines) {
    if (l.name === '') {
      const line = text.slice(l.start, l.end);
      const m = l === scan.lines[0] ? scan.method : null;
      out.push(m !== null && m.includes('%') ? escapePercent(m) + line.slice(m.length) : line);
      continue;
    }
    if (UNREAD.has(l.name)) continue;
    let name = text.slice(l.start, l.colon);
    let value = text.slice(l.colon, l.end);
    if (name.includes('%')) name = escapePercent(name);
    if (l.name === 'cseq' && value.includes('%')) value = escapePercent(value);
    let line = name + value;
    if (longestSpaceRun(line, 0, line.length) > MAX_WHITESPACE_RUN) line = collapseRuns(line);
    out.push(line);
  }
  return out.join('\r\n') + text.slice(scan.headerEnd);
}

/** `%` -> `%25`: the package's `unescape` turns it back into `%`, so the token stays as written. */
function escapePercent(s: string): string {
  return s.replace(/%/g, '%25');
}

/** Replaces each run of white space longer than {@link MAX_WHITESPACE_RUN} by one SP. Linear. */
function collapseRuns(line: string): string {
  let out = '';
  let i = 0;
  let from = 0;
  while (i < line.length) {
    if (!isRegexSpace(line.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i;
    while (j < line.length && isRegexSpace(line.charCodeAt(j))) j++;
    if (j - i > MAX_WHITESPACE_RUN) {
      out += line.slice(from, i) + ' ';
      from = j;
    }
    i = j;
  }
  return out + line.slice(from);
}
