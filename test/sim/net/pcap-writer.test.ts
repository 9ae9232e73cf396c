/**
 * The pcap of a failed call (issue 22, `--pcap DIR`), without the network: the libpcap headers and the synthesized
 * IPv4/IPv6 and UDP headers byte by byte (lengths, checksums that verify), a packet cut to its snap length, the
 * per-call capture's bounds (the RTP ring keeps the last packets in order; SIP beyond its bound is counted), the
 * Call-ID routing, the TCP stream cutting of the SIP wire tap, and safe file names. Always runs (tshark is not needed:
 * `pcap.test.ts` reads real captures with it).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  CallCapture,
  PCAP_RTP_BUDGET_BYTES,
  PCAP_RTP_PACKETS,
  PCAP_RTP_PACKETS_MIN,
  PCAP_RTP_SLOT_COST,
  PCAP_RTP_SNAP_BYTES,
  PCAP_SIP_MESSAGES_MAX,
  PcapRecorder,
  pcapRtpPacketsFor,
  safeFileName,
  sipCallIdOf,
} from '../../../src/sim/net/call-capture';
import { encodePcap, ipBytes, ipUdpPacket, LINKTYPE_RAW, pcapGlobalHeader, pcapRecordHeader } from '../../../src/sim/net/pcap-writer';
import { SipStreamFramer, udpSendArgs } from '../../../src/sip/embedded/sip-wire-tap';
import { tempDir } from '../../helpers';

/** The Internet checksum over the bytes: 0 when a header with its checksum field filled in verifies. */
function sum16(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const A = { address: '127.0.0.1', port: 5062 };
const B = { address: '10.1.2.3', port: 5060 };

describe('pcap writer', () => {
  it('writes the 24-byte global header: magic, version 2.4, snap length, LINKTYPE_RAW', () => {
    const h = pcapGlobalHeader();
    expect(h).toHaveLength(24);
    expect(h.subarray(0, 4)).toEqual(Buffer.from([0xd4, 0xc3, 0xb2, 0xa1])); // 0xa1b2c3d4 little-endian: microseconds
    expect([h.readUInt16LE(4), h.readUInt16LE(6)]).toEqual([2, 4]);
    expect([h.readInt32LE(8), h.readUInt32LE(12)]).toEqual([0, 0]);
    expect(h.readUInt32LE(16)).toBe(65535);
    expect(h.readUInt32LE(20)).toBe(LINKTYPE_RAW);
    expect(LINKTYPE_RAW).toBe(101);
  });

  it('writes a 16-byte record header: seconds, microseconds, captured and original length', () => {
    const h = pcapRecordHeader(1_700_000_000_123.456, 60, 80);
    expect(h).toHaveLength(16);
    expect([h.readUInt32LE(0), h.readUInt32LE(4), h.readUInt32LE(8), h.readUInt32LE(12)]).toEqual([1_700_000_000, 123_456, 60, 80]);
    // A fraction that rounds up to a whole second carries over.
    const carry = pcapRecordHeader(1_999.9999996, 1, 1);
    expect([carry.readUInt32LE(0), carry.readUInt32LE(4)]).toEqual([2, 0]);
  });

  it('synthesizes IPv4 and UDP headers with the lengths, ports and checksums that verify', () => {
    const payload = Buffer.from('INVITE sip:x@10.1.2.3 SIP/2.0\r\n\r\n');
    const { bytes, originalLength } = ipUdpPacket(A, B, payload);
    expect(bytes).toHaveLength(20 + 8 + payload.length);
    expect(originalLength).toBe(bytes.length);
    expect(bytes[0]).toBe(0x45); // version 4, 5 words
    expect(bytes.readUInt16BE(2)).toBe(28 + payload.length); // total length
    expect(bytes[8]).toBe(64); // TTL
    expect(bytes[9]).toBe(17); // UDP
    expect([...bytes.subarray(12, 16)]).toEqual([127, 0, 0, 1]);
    expect([...bytes.subarray(16, 20)]).toEqual([10, 1, 2, 3]);
    expect(sum16(bytes.subarray(0, 20))).toBe(0); // the header checksum verifies
    const udp = bytes.subarray(20);
    expect([udp.readUInt16BE(0), udp.readUInt16BE(2), udp.readUInt16BE(4)]).toEqual([5062, 5060, 8 + payload.length]);
    expect(udp.subarray(8)).toEqual(payload);
    // The UDP checksum verifies over the pseudo-header (addresses, protocol, UDP length) and the datagram.
    const pseudo = Buffer.concat([bytes.subarray(12, 20), Buffer.from([0, 17]), udp.subarray(4, 6)]);
    expect(udp.readUInt16BE(6)).not.toBe(0);
    expect(sum16(Buffer.concat([pseudo, udp.length % 2 ? Buffer.concat([udp, Buffer.alloc(1)]) : udp]))).toBe(0);
  });

  it('synthesizes IPv6 headers (and maps an IPv4 peer of an IPv6 address)', () => {
    const payload = Buffer.alloc(172, 0xff);
    const { bytes } = ipUdpPacket({ address: '::1', port: 40000 }, { address: '2001:db8::5', port: 40002 }, payload);
    expect(bytes).toHaveLength(40 + 8 + 172);
    expect(bytes[0] >> 4).toBe(6);
    expect(bytes.readUInt16BE(4)).toBe(8 + 172); // payload length
    expect([bytes[6], bytes[7]]).toEqual([17, 64]);
    expect(bytes.subarray(8, 24)).toEqual(ipBytes('::1'));
    expect(ipBytes('::1')).toEqual(Buffer.from([...new Array(15).fill(0), 1]));
    expect(ipBytes('2001:db8::5').toString('hex')).toBe('20010db8000000000000000000000005');
    expect(ipBytes('::ffff:192.0.2.1').toString('hex')).toBe('00000000000000000000ffffc0000201');
    const udp = bytes.subarray(40);
    const pseudo = Buffer.concat([bytes.subarray(8, 40), Buffer.from([0, 0, 0, 8 + 172, 0, 0, 0, 17])]);
    expect(sum16(Buffer.concat([pseudo, udp]))).toBe(0);
    // An IPv4-mapped address beside an IPv4 one is written as IPv4; an IPv4 beside an IPv6 one mapped.
    expect(ipUdpPacket({ address: '::ffff:127.0.0.1', port: 1 }, A, payload).bytes[0]).toBe(0x45);
    expect(ipUdpPacket({ address: '::1', port: 1 }, A, payload).bytes.subarray(24, 40)).toEqual(ipBytes('::ffff:127.0.0.1'));
    expect(() => ipUdpPacket({ address: 'example.com', port: 1 }, A, payload)).toThrow(RangeError);
    expect(() => ipUdpPacket({ address: '127.0.0.1', port: 70000 }, A, payload)).toThrow(RangeError);
  });

  it('writes a cut packet with its original length in the headers and in the record', () => {
    const file = encodePcap([{ atMs: 2_000.5, src: A, dst: B, payload: Buffer.alloc(10, 1), length: 300 }]);
    expect(file).toHaveLength(24 + 16 + 20 + 8 + 10);
    const rec = file.subarray(24, 40);
    expect([rec.readUInt32LE(0), rec.readUInt32LE(4), rec.readUInt32LE(8), rec.readUInt32LE(12)]).toEqual([2, 500, 38, 328]);
    const ip = file.subarray(40);
    expect(ip.readUInt16BE(2)).toBe(328); // IP total length: the original
    expect(ip.readUInt16BE(24)).toBe(308); // UDP length: the original
    expect(ip.readUInt16BE(26)).toBe(0); // no checksum: the bytes to sum are missing
  });
});

describe('call capture', () => {
  const rtp = (n: number, size = 172) => {
    const b = Buffer.alloc(size);
    b.writeUInt32BE(n, 8);
    return b;
  };

  it('keeps the last RTP packets in order, both directions, and cuts long ones at the snap length', () => {
    const c = new CallCapture(100);
    for (let n = 0; n < 250; n++) c.rtp(n % 2 ? 'received' : 'sent', rtp(n), A, B, 1_000 + n);
    expect(c.rtpCount).toBe(100);
    expect(c.rtpDropped).toBe(150);
    const kept = c.packets();
    expect(kept.map((p) => Buffer.from(p.payload).readUInt32BE(8))).toEqual(Array.from({ length: 100 }, (_, i) => 150 + i));
    expect(kept[0]).toMatchObject({ atMs: 1_150, src: A, dst: B, length: 172 });
    expect(kept[1]).toMatchObject({ src: B, dst: A });
    const big = new CallCapture(10);
    big.rtp('sent', rtp(7, 400), A, B, 5);
    const [p] = big.packets();
    expect(p.payload).toHaveLength(PCAP_RTP_SNAP_BYTES);
    expect(p.length).toBe(400);
  });

  it('merges SIP and RTP by time; SIP beyond its bound is counted, not kept', () => {
    const c = new CallCapture(10);
    c.rtp('received', rtp(1), A, B, 20);
    c.sip({ dir: 'sent', data: Buffer.from('INVITE'), local: A, remote: B, atMs: 10 });
    c.sip({ dir: 'received', data: Buffer.from('SIP/2.0 200 OK'), local: A, remote: B, atMs: 30 });
    expect(c.packets().map((p) => [p.atMs, p.src.port])).toEqual([
      [10, 5062],
      [20, 5060],
      [30, 5060],
    ]);
    for (let i = 0; i < PCAP_SIP_MESSAGES_MAX + 5; i++) c.sip({ dir: 'sent', data: Buffer.from('INFO'), local: A, remote: B, atMs: 40 });
    expect(c.sipCount).toBe(PCAP_SIP_MESSAGES_MAX);
    expect(c.sipDropped).toBe(7);
  });

  it('sizes the RTP kept per call from a load\'s concurrency so all calls stay under the budget', () => {
    expect(pcapRtpPacketsFor(1)).toBe(PCAP_RTP_PACKETS);
    const at1000 = pcapRtpPacketsFor(1000);
    expect(at1000).toBeLessThan(PCAP_RTP_PACKETS);
    expect(at1000 * 1000 * PCAP_RTP_SLOT_COST).toBeLessThanOrEqual(PCAP_RTP_BUDGET_BYTES);
    expect(pcapRtpPacketsFor(1_000_000)).toBe(PCAP_RTP_PACKETS_MIN);
  });

  it('finds the Call-ID (long and compact form) and makes safe file names', () => {
    expect(sipCallIdOf(Buffer.from('BYE sip:a@b SIP/2.0\r\nVia: x\r\nCall-ID:  abc@host \r\n\r\nbody\r\ni: no'))).toBe('abc@host');
    expect(sipCallIdOf(Buffer.from('SIP/2.0 200 OK\r\ni:xyz\r\nContent-Length: 0\r\n\r\n'))).toBe('xyz');
    expect(sipCallIdOf(Buffer.from([0x80, 0x00, 0x01]))).toBeNull();
    expect(safeFileName('sign-in-david')).toBe('sign-in-david');
    expect(safeFileName('../a b/c:d')).toBe('a_b_c_d');
    expect(safeFileName('')).toBe('call');
    expect(safeFileName('x'.repeat(300))).toHaveLength(100);
  });

  it('writes a failed call under a unique name, drops a passed one, and routes SIP by Call-ID', async () => {
    const dir = tempDir('va-pcap-unit-');
    const rec = new PcapRecorder(dir, { graceMs: 0 });
    let tap: ((m: any) => void) | null = null;
    rec.tapSip({ setWireTap: (t: any) => (tap = t) } as any);
    const failed = rec.capture();
    failed.follow('one@sim');
    const passed = rec.capture();
    passed.follow('two@sim');
    expect(rec.open).toBe(2);
    const msg = (id: string) => ({ dir: 'sent', transport: 'udp', data: Buffer.from(`INVITE sip:x SIP/2.0\r\nCall-ID: ${id}\r\n\r\n`), local: A, remote: B, atMs: 1 });
    tap!(msg('one@sim'));
    tap!(msg('two@sim'));
    tap!(msg('other@sim'));
    expect([failed.sipCount, passed.sipCount]).toEqual([1, 1]);
    rec.drop(passed);
    const a = await rec.save(failed, 'fail/../x y');
    const again = rec.capture();
    const b = await rec.save(again, 'fail/../x y');
    expect(rec.open).toBe(0);
    expect([path.basename(a!), path.basename(b!)]).toEqual(['fail_.._x_y.pcap', 'fail_.._x_y-2.pcap']);
    expect(rec.written).toBe(2);
    expect(rec.files).toEqual([a, b]);
    const bytes = readFileSync(a!);
    expect(bytes.readUInt32LE(24 + 8)).toBe(20 + 8 + msg('one@sim').data.length); // one record: the INVITE
    expect(bytes).toHaveLength(24 + 16 + 28 + msg('one@sim').data.length);
    // Beyond maxFiles: counted, not written.
    const few = new PcapRecorder(dir, { graceMs: 0, maxFiles: 0 });
    expect(await few.save(few.capture(), 'z')).toBeNull();
    expect(few.notWritten).toBe(1);
  });
});

describe('SIP wire tap', () => {
  it('cuts a TCP stream into messages (bodies by Content-Length, keep-alives skipped) whatever the chunks', () => {
    const one = 'INVITE sip:a@b SIP/2.0\r\nCall-ID: 1\r\nContent-Length: 5\r\n\r\nv=0\r\n';
    const two = 'SIP/2.0 200 OK\r\ni: 1\r\nl: 0\r\n\r\n';
    const stream = Buffer.from(`\r\n\r\n${one}${two}`);
    for (const size of [1, 3, 7, stream.length]) {
      const got: string[] = [];
      const f = new SipStreamFramer((m) => got.push(m.toString('latin1')));
      for (let i = 0; i < stream.length; i += size) f.push(stream.subarray(i, i + size));
      expect(got).toEqual([one, two]);
    }
  });

  it('reads both forms of a dgram send call', () => {
    const b = Buffer.from('hello');
    expect(udpSendArgs([b, 1, 3, 5060, '127.0.0.1'])).toEqual({ data: Buffer.from('ell'), port: 5060, address: '127.0.0.1' });
    expect(udpSendArgs([b, 5060, '::1'])).toEqual({ data: b, port: 5060, address: '::1' });
    expect(udpSendArgs([42])).toBeNull();
  });
});
