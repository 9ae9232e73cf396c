/**
 * libpcap files of UDP packets (`simulate --pcap DIR`, issue 22): the classic format Wireshark and `tshark` read
 * (https://www.tcpdump.org/manpages/pcap-savefile.5.html): a 24-byte global header (magic 0xa1b2c3d4, version 2.4,
 * microsecond timestamps, snap length, link type), then per packet a 16-byte record header (seconds, microseconds,
 * captured length, original length) and the packet. The link type is LINKTYPE_RAW (101): each packet starts with
 * its IP header, synthesized here: IPv4 (RFC 791, header checksum computed) or IPv6 (RFC 8200), then UDP (RFC 768,
 * checksum computed over the pseudo-header; 0, "none", when the packet was cut and its bytes are missing). Lengths in
 * the IP and UDP headers are the original packet's; a packet cut to a snap length has a smaller captured length, as
 * a capture by tcpdump would. All fields are written little-endian except the network headers (big-endian).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import * as path from 'node:path';
import { ipLiteralBytes } from '../../domain/address-list';

/** The link type of raw IPv4/IPv6 packets. */
export const LINKTYPE_RAW = 101;
/** The global header's magic number (microsecond timestamps). */
export const PCAP_MAGIC = 0xa1b2c3d4;
/** The snap length written in the global header, bytes. */
export const PCAP_SNAPLEN = 65_535;
/** Sizes, bytes. */
export const PCAP_GLOBAL_HEADER_BYTES = 24;
export const PCAP_RECORD_HEADER_BYTES = 16;
export const IPV4_HEADER_BYTES = 20;
export const IPV6_HEADER_BYTES = 40;
export const UDP_HEADER_BYTES = 8;

/** An IP address and a UDP port. */
export interface UdpEndpoint {
  address: string;
  port: number;
}

/** One UDP packet to write. */
export interface PcapPacket {
  /** When it was sent or received, ms since the epoch (fractions kept to the microsecond). */
  atMs: number;
  src: UdpEndpoint;
  dst: UdpEndpoint;
  /** The UDP payload, or its first bytes when the packet was cut (see `length`). */
  payload: Uint8Array;
  /** The UDP payload's length on the wire when `payload` holds only its first bytes (default: `payload.length`). */
  length?: number;
}

/**
 * The 24-byte global header: magic, version 2.4, thiszone 0, sigfigs 0, snaplen, link type.
 * @param linkType default {@link LINKTYPE_RAW}
 */
export function pcapGlobalHeader(linkType = LINKTYPE_RAW, snaplen = PCAP_SNAPLEN): Buffer {
  const b = Buffer.alloc(PCAP_GLOBAL_HEADER_BYTES);
  b.writeUInt32LE(PCAP_MAGIC, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(4, 6);
  b.writeInt32LE(0, 8);
  b.writeUInt32LE(0, 12);
  b.writeUInt32LE(snaplen, 16);
  b.writeUInt32LE(linkType, 20);
  return b;
}

/**
 * A 16-byte record header: the time (seconds and microseconds since the epoch), the captured length (the bytes that
 * follow) and the original length.
 * @param atMs ms since the epoch (fractions kept to the microsecond)
 */
export function pcapRecordHeader(atMs: number, capturedLength: number, originalLength: number): Buffer {
  const b = Buffer.alloc(PCAP_RECORD_HEADER_BYTES);
  let sec = Math.floor(atMs / 1000);
  let usec = Math.round((atMs - sec * 1000) * 1000);
  if (usec >= 1_000_000) {
    sec += 1;
    usec -= 1_000_000;
  }
  b.writeUInt32LE(sec >>> 0, 0);
  b.writeUInt32LE(usec, 4);
  b.writeUInt32LE(capturedLength, 8);
  b.writeUInt32LE(originalLength, 12);
  return b;
}

/** The 4 or 16 bytes of an IP address (`::ffff:a.b.c.d` mapped addresses are IPv6). @throws RangeError when it is not an IP literal */
export function ipBytes(address: string): Buffer {
  const bytes = ipLiteralBytes(address);
  if (!bytes) throw new RangeError(`not an IP address: "${address}"`);
  return bytes;
}

/** `::ffff:a.b.c.d` as `a.b.c.d`; other addresses as they are. */
function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1] : address;
}

/** The Internet checksum (RFC 1071) of the parts, as one byte string. */
function internetChecksum(parts: readonly Uint8Array[]): number {
  let sum = 0;
  let odd: number | null = null;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) {
      if (odd === null) odd = p[i];
      else {
        sum += (odd << 8) | p[i];
        odd = null;
      }
    }
  }
  if (odd !== null) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

let ipv4Id = 0;

/**
 * An IP packet (IPv4 when both addresses are IPv4, after unmapping `::ffff:` addresses; else IPv6, an IPv4 address
 * then written mapped) holding a UDP datagram, cut to `payload` when `length` says the datagram was longer.
 * @returns the packet's bytes (headers and `payload`) and its original length
 * @throws RangeError for an address that is not an IP literal or a port outside 0-65535
 */
export function ipUdpPacket(src: UdpEndpoint, dst: UdpEndpoint, payload: Uint8Array, length = payload.length): { bytes: Buffer; originalLength: number } {
  for (const e of [src, dst]) if (!(Number.isInteger(e.port) && e.port >= 0 && e.port <= 65535)) throw new RangeError(`not a UDP port: ${e.port}`);
  const s = unmapped(src.address);
  const d = unmapped(dst.address);
  const v4 = isIPv4(s) && isIPv4(d);
  const srcIp = ipBytes(v4 || !isIPv4(s) ? s : `::ffff:${s}`);
  const dstIp = ipBytes(v4 || !isIPv4(d) ? d : `::ffff:${d}`);
  const udpLength = UDP_HEADER_BYTES + length;
  const cut = length !== payload.length;
  const udp = Buffer.alloc(UDP_HEADER_BYTES);
  udp.writeUInt16BE(src.port, 0);
  udp.writeUInt16BE(dst.port, 2);
  udp.writeUInt16BE(udpLength & 0xffff, 4);
  const pseudo = Buffer.alloc(v4 ? 12 : 40);
  if (v4) {
    srcIp.copy(pseudo, 0);
    dstIp.copy(pseudo, 4);
    pseudo[9] = 17;
    pseudo.writeUInt16BE(udpLength & 0xffff, 10);
  } else {
    srcIp.copy(pseudo, 0);
    dstIp.copy(pseudo, 16);
    pseudo.writeUInt32BE(udpLength, 32);
    pseudo[39] = 17;
  }
  if (!cut) {
    const sum = internetChecksum([pseudo, udp, payload]);
    udp.writeUInt16BE(sum === 0 ? 0xffff : sum, 6);
  }
  let ip: Buffer;
  if (v4) {
    ip = Buffer.alloc(IPV4_HEADER_BYTES);
    ip[0] = 0x45;
    ip.writeUInt16BE((IPV4_HEADER_BYTES + udpLength) & 0xffff, 2);
    ip.writeUInt16BE((ipv4Id = (ipv4Id + 1) & 0xffff), 4);
    ip.writeUInt16BE(0x4000, 6); // don't fragment
    ip[8] = 64;
    ip[9] = 17;
    srcIp.copy(ip, 12);
    dstIp.copy(ip, 16);
    ip.writeUInt16BE(internetChecksum([ip]), 10);
  } else {
    ip = Buffer.alloc(IPV6_HEADER_BYTES);
    ip.writeUInt32BE(0x60000000, 0);
    ip.writeUInt16BE(udpLength & 0xffff, 4);
    ip[6] = 17;
    ip[7] = 64;
    srcIp.copy(ip, 8);
    dstIp.copy(ip, 24);
  }
  return { bytes: Buffer.concat([ip, udp, payload]), originalLength: ip.length + udpLength };
}

/**
 * A whole pcap file of `packets` (in the order given), link type {@link LINKTYPE_RAW}.
 * @throws RangeError as {@link ipUdpPacket}
 */
export function encodePcap(packets: readonly PcapPacket[]): Buffer {
  const parts: Buffer[] = [pcapGlobalHeader()];
  for (const p of packets) {
    const { bytes, originalLength } = ipUdpPacket(p.src, p.dst, p.payload, p.length);
    parts.push(pcapRecordHeader(p.atMs, bytes.length, originalLength), bytes);
  }
  return Buffer.concat(parts);
}

/**
 * Writes `packets` as a pcap file (its folder made when missing; an existing file replaced).
 * @throws RangeError as {@link ipUdpPacket}; the file system's errors
 */
export async function writePcap(file: string, packets: readonly PcapPacket[]): Promise<void> {
  const bytes = encodePcap(packets);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, bytes);
}
