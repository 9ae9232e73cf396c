/**
 * RTP fixed header and payload (RFC 3550 §5.1), with CSRC list, header extension (§5.3.1) and padding.
 * Parsing never throws: network input that is not a well-formed RTP version 2 packet gives `null`.
 */

/** A parsed RTP packet. `payload` is a view into the received buffer (no copy). */
export interface RtpPacket {
  /** P bit: the payload was followed by padding (already removed from `payload`). */
  padding: boolean;
  /** X bit: a header extension was present (see `extension`). */
  hasExtension: boolean;
  /** M bit: profile-defined; for audio the first packet of a talkspurt (RFC 3551 §4.1), for telephone-event the first packet of an event (RFC 4733 §2.2.2). */
  marker: boolean;
  /** 0..127 */
  payloadType: number;
  /** 0..65535, wraps. */
  sequenceNumber: number;
  /** 0..2^32-1, in the payload format's clock (8000 Hz for G.711 and telephone-event/8000), wraps. */
  timestamp: number;
  /** Synchronisation source, 0..2^32-1. */
  ssrc: number;
  /** Contributing sources (0..15 entries). */
  csrcs: number[];
  /** The header extension (RFC 3550 §5.3.1), when X is set. */
  extension?: { profile: number; data: Uint8Array };
  /** The payload, padding removed. */
  payload: Uint8Array;
}

/** The fields {@link serializeRtp} needs; the optional ones default to false / empty. */
export interface RtpHeaderInit {
  marker?: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs?: number[];
}

/** Size of the fixed RTP header, bytes. */
export const RTP_HEADER_BYTES = 12;

/**
 * Parses one UDP datagram as RTP (RFC 3550 §5.1). Returns null, never throws, when the datagram is shorter than
 * a header, is not version 2, its CSRC list, extension or padding run past its end, or its second byte is an
 * RTCP packet type 200-204 (what RFC 5761 §4 uses to tell RTCP apart on a multiplexed port).
 * @param buf the datagram
 * @returns the packet (payload as a view into `buf`) or null
 */
export function parseRtp(buf: Uint8Array): RtpPacket | null {
  if (!buf || buf.length < RTP_HEADER_BYTES) return null;
  const b0 = buf[0];
  if (b0 >> 6 !== 2) return null;
  const b1 = buf[1];
  if (b1 >= 200 && b1 <= 204) return null; // RTCP SR/RR/SDES/BYE/APP (RFC 5761 §4)
  const padding = (b0 & 0x20) !== 0;
  const hasExtension = (b0 & 0x10) !== 0;
  const cc = b0 & 0x0f;
  let off = RTP_HEADER_BYTES + cc * 4;
  if (off > buf.length) return null;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const csrcs: number[] = [];
  for (let i = 0; i < cc; i++) csrcs.push(dv.getUint32(RTP_HEADER_BYTES + i * 4));
  let extension: RtpPacket['extension'];
  if (hasExtension) {
    if (off + 4 > buf.length) return null;
    const profile = dv.getUint16(off);
    const words = dv.getUint16(off + 2);
    const end = off + 4 + words * 4;
    if (end > buf.length) return null;
    extension = { profile, data: buf.subarray(off + 4, end) };
    off = end;
  }
  let end = buf.length;
  if (padding) {
    const pad = buf[buf.length - 1];
    if (pad === 0 || off + pad > buf.length) return null;
    end -= pad;
  }
  return {
    padding,
    hasExtension,
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: dv.getUint16(2),
    timestamp: dv.getUint32(4),
    ssrc: dv.getUint32(8),
    csrcs,
    extension,
    payload: buf.subarray(off, end),
  };
}

/**
 * Serialises an RTP packet (RFC 3550 §5.1): version 2, no padding, no extension.
 * Numbers are taken modulo their field size (sequence 16 bits, timestamp and SSRC 32 bits, payload type 7 bits).
 * @param h header fields
 * @param payload payload bytes, copied after the header
 * @returns a new Buffer of 12 + 4·CSRCs + payload bytes
 */
export function serializeRtp(h: RtpHeaderInit, payload: Uint8Array): Buffer {
  const csrcs = h.csrcs ?? [];
  const cc = Math.min(csrcs.length, 15);
  const headerLen = RTP_HEADER_BYTES + cc * 4;
  const out = Buffer.allocUnsafe(headerLen + payload.length);
  out[0] = 0x80 | cc;
  out[1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  out.writeUInt16BE(h.sequenceNumber & 0xffff, 2);
  out.writeUInt32BE(h.timestamp >>> 0, 4);
  out.writeUInt32BE(h.ssrc >>> 0, 8);
  for (let i = 0; i < cc; i++) out.writeUInt32BE(csrcs[i] >>> 0, RTP_HEADER_BYTES + i * 4);
  out.set(payload, headerLen);
  return out;
}
