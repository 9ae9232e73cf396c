/**
 * Lists of IP addresses and CIDR prefixes (RFC 4632 for IPv4, RFC 4291 §2.3 for IPv6), for allow-lists such as the
 * directory's `testing.eventsAllowedFrom` (issue 22, "Prompt and state events for any test tool"). Pure: no DNS, no
 * sockets. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack socket reports for an IPv4 peer)
 * matches as the IPv4 address it carries.
 */
import { isIP } from 'node:net';

/** One parsed entry: the address bits as bytes (4 for IPv4, 16 for IPv6) and how many leading bits must match. */
interface Prefix {
  bytes: Uint8Array;
  bits: number;
}

/**
 * The 4 or 16 bytes of an IP literal as `net.isIP` accepts it (an IPv6 zone `%eth0` is dropped, an embedded dotted
 * quad read); `::ffff:a.b.c.d` stays 16 bytes. Null when it is not an IP address.
 */
export function ipLiteralBytes(address: string): Buffer | null {
  const family = isIP(address);
  if (family === 4) return Buffer.from(address.split('.').map(Number));
  if (family !== 6) return null;
  let text = address.replace(/%.*$/, '');
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1].split('.').map(Number);
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** The address's bytes, an IPv4-mapped IPv6 address as its 4 IPv4 bytes (brackets allowed); null when it is no IP address. */
export function ipBytes(address: string): Uint8Array | null {
  const bytes = ipLiteralBytes(address.trim().replace(/^\[(.*)\]$/, '$1'));
  if (!bytes || bytes.length === 4) return bytes;
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.subarray(12) : bytes;
}

/**
 * Parses one entry: an IP address (`192.0.2.7`, `2001:db8::7`) or a CIDR prefix (`192.0.2.0/24`, `2001:db8::/32`).
 * @returns the prefix, or a sentence saying what is wrong with the entry
 */
function parseEntry(entry: string): Prefix | string {
  const m = /^([^/]+)(?:\/([0-9]{1,3}))?$/.exec(entry.trim());
  if (!m) return `"${entry}" is not an IP address or a CIDR prefix (ADDRESS or ADDRESS/BITS)`;
  const bytes = ipBytes(m[1]);
  if (!bytes) return `"${m[1]}" is not an IPv4 or IPv6 address`;
  const max = bytes.length * 8;
  // A prefix written on an IPv4-mapped address counts its bits from the mapped IPv4 address' first bit.
  let bits = m[2] === undefined ? max : Number(m[2]);
  if (m[2] !== undefined && bytes.length === 4 && m[1].includes(':')) bits -= 96;
  if (bits < 0 || bits > max) return `"${entry}": the prefix length must be 0-${max}`;
  return { bytes, bits };
}

/**
 * Checks the entries of an address list.
 * @param entries IP addresses and CIDR prefixes
 * @returns one message per bad entry, with its index (empty when every entry is good)
 */
export function addressListErrors(entries: readonly string[]): { index: number; message: string }[] {
  const out: { index: number; message: string }[] = [];
  entries.forEach((e, index) => {
    const p = parseEntry(e);
    if (typeof p === 'string') out.push({ index, message: p });
  });
  return out;
}

/** Does `address` fall within `p`? */
function within(address: Uint8Array, p: Prefix): boolean {
  if (address.length !== p.bytes.length) return false;
  let bits = p.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((address[i] & mask) !== (p.bytes[i] & mask)) return false;
  }
  return true;
}

/** A parsed address list: {@link AddressList.matches} answers whether an address is on it. */
export class AddressList {
  private constructor(private readonly prefixes: readonly Prefix[]) {}

  /**
   * Parses a list of IP addresses and CIDR prefixes.
   * @param entries e.g. `['127.0.0.1', '10.0.0.0/8', '2001:db8::/32']`; empty: a list that matches nothing
   * @throws Error naming the first bad entry (validate with {@link addressListErrors} first for all of them)
   */
  static parse(entries: readonly string[]): AddressList {
    const prefixes: Prefix[] = [];
    for (const e of entries) {
      const p = parseEntry(e);
      if (typeof p === 'string') throw new Error(p);
      prefixes.push(p);
    }
    return new AddressList(prefixes);
  }

  /** True when the list has no entry (it matches nothing). */
  get empty(): boolean {
    return this.prefixes.length === 0;
  }

  /**
   * Is `address` on the list?
   * @param address an IP address (no port); an IPv6 one may be in brackets
   * @returns false for anything that is not an IP address
   */
  matches(address: string): boolean {
    if (this.prefixes.length === 0) return false;
    const bytes = ipBytes(address);
    return bytes !== null && this.prefixes.some((p) => within(bytes, p));
  }
}
