/**
 * Who is calling, who was dialled and who the call was diverted from, read from SIP header values. Pure functions on
 * strings, shared by every signalling adapter (DESIGN.md, "Layers"): the `sip` package (`sip/embedded/`) and
 * drachtio-srf (`sip/drachtio/`) both hand over these headers as raw text, several occurrences joined with `,`.
 */

/** A name-addr or addr-spec (RFC 3261 §25.1): the URI and the header parameters after it. */
export interface NameAddr {
  displayName?: string;
  uri: string;
  params: Record<string, string | null>;
}

/**
 * Splits a header value holding a comma-separated list (RFC 3261 §7.3.1) at the commas that are outside quotes and
 * angle brackets.
 */
export function splitHeaderList(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '<') depth++;
    else if (c === '>') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      out.push(value.slice(start, i));
      start = i + 1;
    }
  }
  out.push(value.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== '');
}

/** Parses one name-addr (`"Bob" <sip:bob@h>;tag=1`) or addr-spec (`sip:bob@h;tag=1`); null when there is no URI. */
export function parseNameAddr(value: string): NameAddr | null {
  const s = value.trim();
  let displayName: string | undefined;
  let uri: string;
  let rest: string;
  const lt = indexOutsideQuotes(s, '<');
  if (lt >= 0) {
    const gt = s.indexOf('>', lt);
    if (gt < 0) return null;
    const name = s.slice(0, lt).trim();
    if (name) displayName = name.startsWith('"') && name.endsWith('"') ? name.slice(1, -1).replace(/\\(.)/g, '$1') : name;
    uri = s.slice(lt + 1, gt).trim();
    rest = s.slice(gt + 1);
  } else {
    // addr-spec: header parameters start at the first ';' (RFC 3261 §20: URI parameters need the angle brackets).
    const semi = s.indexOf(';');
    uri = (semi >= 0 ? s.slice(0, semi) : s).trim();
    rest = semi >= 0 ? s.slice(semi) : '';
  }
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(uri)) return null;
  return { displayName, uri, params: parseParams(rest) };
}

/** `;a=b;c` -> `{ a: 'b', c: null }` (names lower-cased, quotes kept off). */
export function parseParams(s: string): Record<string, string | null> {
  const params: Record<string, string | null> = {};
  for (const part of s.split(';')) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    const name = (eq >= 0 ? p.slice(0, eq) : p).trim().toLowerCase();
    if (!name) continue;
    let v = eq >= 0 ? p.slice(eq + 1).trim() : null;
    if (v !== null && v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
    params[name] = v;
  }
  return params;
}

/** Parts of a `sip:`/`sips:`/`tel:` URI needed here. */
export interface UriParts {
  scheme: string;
  /** The user part, percent-decoded, without user parameters (`;phone-context=…`); null when absent. */
  user: string | null;
  /** Host without brackets (an IPv6 literal comes out bare), or null for `tel:`. */
  host: string | null;
  /** Port, or null when absent. */
  port: number | null;
  params: Record<string, string | null>;
}

/** Splits a sip/sips/tel URI (RFC 3261 §19.1, RFC 3966); null for other schemes or nonsense. */
export function parseUriParts(uri: string): UriParts | null {
  const m = /^(sips?|tel):(.*)$/i.exec(uri.trim());
  if (!m) return null;
  const scheme = m[1].toLowerCase();
  let rest = m[2];
  const q = rest.indexOf('?');
  if (q >= 0) rest = rest.slice(0, q);
  if (scheme === 'tel') {
    const semi = rest.indexOf(';');
    const number = semi >= 0 ? rest.slice(0, semi) : rest;
    const user = stripVisualSeparators(safeDecode(number));
    return { scheme, user: user || null, host: null, port: null, params: parseParams(semi >= 0 ? rest.slice(semi) : '') };
  }
  const at = rest.lastIndexOf('@');
  let user: string | null = null;
  let hostPart = rest;
  if (at >= 0) {
    user = rest.slice(0, at);
    hostPart = rest.slice(at + 1);
    const colon = user.indexOf(':'); // user:password
    if (colon >= 0) user = user.slice(0, colon);
    const semi = user.indexOf(';'); // user parameters, e.g. ;phone-context= (RFC 3261 §19.1.6)
    if (semi >= 0) user = user.slice(0, semi);
    user = safeDecode(user);
  }
  const semi = hostPart.indexOf(';');
  const hostport = (semi >= 0 ? hostPart.slice(0, semi) : hostPart).trim();
  const hp = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]*))(?::(\d{1,5}))?$/.exec(hostport);
  if (!hp) return null;
  const host = hp[1] ?? hp[2] ?? '';
  const port = hp[3] !== undefined ? Number(hp[3]) : null;
  const params = parseParams(semi >= 0 ? hostPart.slice(semi) : '');
  if (user !== null && params.user === 'phone') user = stripVisualSeparators(user);
  return { scheme, user: user || null, host: host || null, port: port !== null && port > 0 && port < 65536 ? port : null, params };
}

/** The user part of a URI, or null. */
export function uriUser(uri: string): string | null {
  return parseUriParts(uri)?.user ?? null;
}

/** User names that mean "no caller identity" (RFC 3323 §4.1.1.3 `anonymous`, and what gateways commonly send). */
const ANONYMOUS_USERS = new Set(['anonymous', 'restricted', 'unavailable', 'unknown', 'private']);

/** True when a URI names nobody: no user, an anonymous user name, or the `anonymous.invalid` host (RFC 3323). */
export function isAnonymousUri(uri: string): boolean {
  const p = parseUriParts(uri);
  if (!p || !p.user) return true;
  if (ANONYMOUS_USERS.has(p.user.toLowerCase())) return true;
  return (p.host ?? '').toLowerCase() === 'anonymous.invalid';
}

/**
 * The caller's number: the user part of the first P-Asserted-Identity entry (RFC 3325; our peers are UM IP gateways,
 * a trusted network, so it is used whatever Privacy says), else of the From URI.
 * @returns null when the identity is anonymous (see {@link isAnonymousUri}) or unreadable
 */
export function callerUser(fromUri: string, pAssertedIdentity: string | undefined): string | null {
  if (pAssertedIdentity) {
    for (const entry of splitHeaderList(pAssertedIdentity)) {
      const na = parseNameAddr(entry);
      if (na && parseUriParts(na.uri)) return isAnonymousUri(na.uri) ? null : uriUser(na.uri);
    }
  }
  return isAnonymousUri(fromUri) ? null : uriUser(fromUri);
}

/** One History-Info entry (RFC 7044 §4). */
export interface HistoryInfoEntry {
  uri: string;
  /** `index` (e.g. `1.1.2`), or null when missing. */
  index: string | null;
  /** `mp` (mapped from: the index of the entry whose target was changed to this one), `rc`, `np`. */
  mp: string | null;
  rc: string | null;
  np: string | null;
}

/** Parses a History-Info header value (all occurrences joined with commas) in header order. */
export function parseHistoryInfo(value: string): HistoryInfoEntry[] {
  const out: HistoryInfoEntry[] = [];
  for (const entry of splitHeaderList(value)) {
    const na = parseNameAddr(entry);
    if (!na) continue;
    const p = na.params;
    out.push({ uri: na.uri, index: p.index ?? null, mp: p.mp ?? null, rc: p.rc ?? null, np: p.np ?? null });
  }
  return out;
}

/**
 * The extension the call was diverted from. The rule, in order:
 * 1. The first (topmost: most recent, RFC 5806 §4) Diversion header entry's URI user part.
 * 2. Else History-Info (RFC 7044): the last entry carrying `mp` (its target was mapped, i.e. the call was diverted,
 *    e.g. to voice mail, RFC 7044 §10) names the diverting target by index; that entry's user part.
 * 3. Else the last History-Info entry whose URI has a `target` parameter (RFC 4458, voice mail URI): that target's
 *    user part.
 * 4. Else the last History-Info entry whose URI has a `cause` parameter (RFC 4458): the user part of the entry
 *    before it (its parent, by index when present).
 * A result equal to nothing useful (no user part) is skipped; undefined when there is no diversion.
 * @param diversion the Diversion header value (occurrences joined with commas), if any
 * @param historyInfo the History-Info header value, if any
 */
export function diversionUser(diversion: string | undefined, historyInfo: string | undefined): string | undefined {
  if (diversion) {
    const first = splitHeaderList(diversion)[0];
    const na = first ? parseNameAddr(first) : null;
    const user = na ? uriUser(na.uri) : null;
    if (user) return user;
  }
  if (!historyInfo) return undefined;
  const entries = parseHistoryInfo(historyInfo);
  for (let i = entries.length - 1; i >= 0; i--) {
    const mp = entries[i].mp;
    if (mp === null) continue;
    const from = entries.find((e) => e.index === mp);
    const user = from ? uriUser(from.uri) : null;
    if (user) return user;
  }
  for (let i = entries.length - 1; i >= 0; i--) {
    const target = parseUriParts(entries[i].uri)?.params.target;
    if (target) {
      const user = uriUser(safeDecode(target));
      if (user) return user;
    }
  }
  for (let i = entries.length - 1; i >= 1; i--) {
    if (parseUriParts(entries[i].uri)?.params.cause === undefined) continue;
    const index = entries[i].index;
    const parentIndex = index && index.includes('.') ? index.slice(0, index.lastIndexOf('.')) : null;
    const parent = (parentIndex !== null && entries.find((e) => e.index === parentIndex)) || entries[i - 1];
    const user = uriUser(parent.uri);
    if (user) return user;
  }
  return undefined;
}

/**
 * Extracts the SDP from a request body: the body itself for `application/sdp`, the first `application/sdp` part of a
 * `multipart/mixed` or `multipart/alternative` body (SIP-I/SIP-T gateways add an ISUP part, RFC 3204/5621).
 * @returns `{ sdp }` (null for an empty body) or `{ unsupported: true }` when the body is of another type
 */
export function sdpFromBody(contentType: string | undefined, body: string | undefined): { sdp: string | null } | { unsupported: true } {
  const content = body ?? '';
  if (content.trim() === '') return { sdp: null };
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/sdp' || type === '') return { sdp: content };
  if (type.startsWith('multipart/')) {
    const boundary = parseParams((contentType ?? '').slice((contentType ?? '').indexOf(';') + 1)).boundary;
    if (!boundary) return { unsupported: true };
    for (const part of content.split(`--${boundary}`)) {
      const sep = part.search(/\r?\n\r?\n/);
      if (sep < 0) continue;
      const head = part.slice(0, sep);
      const ct = /^content-type\s*:\s*([^\r\n;]+)/im.exec(head);
      if (ct && ct[1].trim().toLowerCase() === 'application/sdp') {
        const bodyStart = part.slice(sep).replace(/^\r?\n\r?\n/, '');
        return { sdp: bodyStart.replace(/\r?\n$/, '') };
      }
    }
  }
  return { unsupported: true };
}

function indexOutsideQuotes(s: string, ch: string): number {
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ch) return i;
  }
  return -1;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** RFC 3966 visual separators: `-`, `.`, `(`, `)`. */
function stripVisualSeparators(s: string): string {
  return s.replace(/[-.()]/g, '');
}
