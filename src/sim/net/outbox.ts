/**
 * The server's outbox as the network simulator reads it: `<data>/outbox/*.eml`, written by the nodemailer mailer
 * when the directory file configures no SMTP server. A scenario's `email` expectations are checked against the mails
 * that appeared in the outbox during its run (files there before are left out).
 *
 * The parser understands what nodemailer writes: RFC 5322 headers (folded lines; RFC 2047 encoded words in
 * `Subject`), a `text/plain` body in 7bit, 8bit, quoted-printable or base64, or such a part in a `multipart/*` body.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

/** One mail of the outbox. */
export interface OutboxMail {
  file: string;
  /** The first address of `To`, lower case. */
  to: string;
  subject: string;
  /** The text/plain body (empty when the mail has none). */
  text: string;
  /** The file's modification time, ms since the epoch. */
  mtimeMs: number;
}

/** The `.eml` files in `<dataDir>/outbox/` (names only, sorted); empty when the folder does not exist. */
export function listOutbox(dataDir: string): string[] {
  try {
    return readdirSync(path.join(dataDir, 'outbox'))
      .filter((f) => f.endsWith('.eml'))
      .sort();
  } catch {
    return [];
  }
}

/** Reads the outbox mails whose file names are not in `before`, oldest file first. */
export function readNewMails(dataDir: string, before: ReadonlySet<string>): OutboxMail[] {
  const out: OutboxMail[] = [];
  for (const name of listOutbox(dataDir)) {
    if (before.has(name)) continue;
    const file = path.join(dataDir, 'outbox', name);
    try {
      out.push({ ...parseEml(readFileSync(file)), file, mtimeMs: statSync(file).mtimeMs });
    } catch {
      // a file removed meanwhile
    }
  }
  return out.sort((a, b) => a.mtimeMs - b.mtimeMs);
}

/** Parses an RFC 5322 message as nodemailer writes it. */
export function parseEml(bytes: Buffer | string): { to: string; subject: string; text: string } {
  const raw = typeof bytes === 'string' ? bytes : bytes.toString('latin1');
  const { headers, body } = splitMessage(raw);
  const toHeader = decodeWords(headers.get('to') ?? '');
  const addr = /<([^>]+)>/.exec(toHeader)?.[1] ?? toHeader.split(',')[0];
  return { to: addr.trim().toLowerCase(), subject: decodeWords(headers.get('subject') ?? ''), text: textOf(headers, body) };
}

/** Headers (lower-case names, folded lines joined; the first occurrence wins) and the body (latin1 string). */
function splitMessage(raw: string): { headers: Map<string, string>; body: string } {
  const m = /\r?\n\r?\n/.exec(raw);
  const head = m ? raw.slice(0, m.index) : raw;
  const body = m ? raw.slice(m.index + m[0].length) : '';
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

/** The parameter `name` of a header value (`multipart/mixed; boundary="x"`). */
function param(value: string, name: string): string | undefined {
  const m = new RegExp(`;\\s*${name}\\s*=\\s*("([^"]*)"|[^;\\s]+)`, 'i').exec(value);
  return m ? (m[2] ?? m[1]) : undefined;
}

function textOf(headers: Map<string, string>, body: string): string {
  const type = headers.get('content-type') ?? 'text/plain';
  const media = type.split(';')[0].trim().toLowerCase();
  if (media.startsWith('multipart/')) {
    const boundary = param(type, 'boundary');
    if (!boundary) return '';
    for (const part of body.split(`--${boundary}`).slice(1)) {
      if (part.startsWith('--')) break;
      const p = splitMessage(part.replace(/^\r?\n/, ''));
      const text = textOf(p.headers, p.body);
      if (text !== '') return text;
    }
    return '';
  }
  if (media !== 'text/plain') return '';
  const charset = (param(type, 'charset') ?? 'utf-8').toLowerCase();
  const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  let bytes: Buffer;
  if (encoding === 'base64') bytes = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  else if (encoding === 'quoted-printable') bytes = decodeQuotedPrintable(body);
  else bytes = Buffer.from(body, 'latin1');
  return decodeCharset(bytes, charset);
}

function decodeQuotedPrintable(s: string): Buffer {
  const text = s.replace(/=\r?\n/g, '');
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(text.charCodeAt(i) & 0xff);
  }
  return Buffer.from(out);
}

function decodeCharset(bytes: Buffer, charset: string): string {
  return charset === 'iso-8859-1' || charset === 'latin1' || charset === 'us-ascii' ? bytes.toString('latin1') : bytes.toString('utf8');
}

/** Decodes RFC 2047 encoded words; adjacent ones (only whitespace between) are joined before decoding. */
export function decodeWords(value: string): string {
  const re = /=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g;
  const parts: ({ text: string } | { charset: string; bytes: number[] })[] = [];
  let last = 0;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    const between = value.slice(last, m.index);
    const prev = parts[parts.length - 1];
    const charset = m[1].toLowerCase().split('*')[0];
    const bytes = m[2].toUpperCase() === 'B' ? [...Buffer.from(m[3], 'base64')] : [...decodeQuotedPrintable(m[3].replace(/_/g, ' '))];
    if (prev && 'bytes' in prev && /^\s*$/.test(between) && prev.charset === charset) prev.bytes.push(...bytes);
    else {
      if (between !== '' && !(prev && 'bytes' in prev && /^\s*$/.test(between))) parts.push({ text: between });
      parts.push({ charset, bytes });
    }
    last = re.lastIndex;
  }
  parts.push({ text: value.slice(last) });
  return parts.map((p) => ('bytes' in p ? decodeCharset(Buffer.from(p.bytes), p.charset) : p.text)).join('');
}
