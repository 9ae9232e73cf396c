/**
 * SDP offer/answer for every signalling adapter on our RTP engine (embedded SIP and drachtio): RFC 3264 on RFC 4566
 * descriptions: G.711 PCMU (payload type 0) or PCMA (8) at 8000 Hz, ptime 20, and `telephone-event/8000` (RFC 4733)
 * for DTMF. Offers are parsed with `sdp-transform`; our answers, a handful of lines of a fixed shape, are written
 * by {@link writeDescription} in `sdp-transform`'s own line order (a test holds the two equal): its general writer
 * cost three times the parse, on every call. Pure functions: no I/O.
 */
import { isIP } from 'node:net';
import { parse, write, type MediaDescription, type SessionDescription } from 'sdp-transform';
import { isUsableTelephoneEventPt } from '../media/rtp-session';

/** An SDP direction attribute, from the point of view of the side that wrote it (RFC 3264 §5.1). */
export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** What the answerer learns about the offerer's audio stream. */
export interface RemoteMedia {
  /** Where to send RTP: the offer's `c=` address (media level, else session level); `0.0.0.0` for RFC 2543 hold. */
  address: string;
  /** The offer's RTP port for the chosen audio stream. */
  port: number;
  /** 0 = PCMU, 8 = PCMA: the first of the two in the offerer's order of preference. */
  payloadType: 0 | 8;
  /** The offer's payload type for `telephone-event/8000`, or null when it offered none (then DTMF is in-band or INFO). */
  telephoneEventPt: number | null;
  /**
   * The offerer's direction, as it wrote it (`a=sendonly` means it will only send: it holds us). A `c=` of
   * `0.0.0.0` (RFC 2543 hold, RFC 3264 §8.4) means the offerer will not receive, so `sendrecv` becomes `sendonly`
   * and `recvonly` becomes `inactive`.
   */
  direction: MediaDirection;
  /** The offer's `a=ptime` in ms, or null when absent (the sender may use any packet time; SIPp's PCMA capture is 30 ms). */
  ptime: number | null;
}

/** Our side of the media session. */
export interface LocalMedia {
  /** Our RTP address as the peer must reach it (IPv4 or IPv6 literal). */
  address: string;
  /** Our RTP port (even, by convention). */
  port: number;
  /** `o=` session id; keep it stable for the whole call so re-INVITE answers are recognised. Default: from the clock. */
  sessionId?: string;
  /** `o=` session version; increase it whenever the description changes (RFC 3264 §8). Default 1. */
  sessionVersion?: number;
  /** `o=` user name. Default `voice-access`. */
  username?: string;
}

/** The answer text and what it agreed with the offerer. */
export interface SdpAnswerResult {
  answer: string;
  remote: RemoteMedia;
}

/** Protocols we can speak on an audio stream (plain RTP; no SRTP, so `RTP/SAVP` streams are refused). */
const RTP_PROTOCOLS = new Set(['RTP/AVP', 'RTP/AVPF']);

/**
 * Answers an SDP offer (RFC 3264 §6): picks the first audio stream (non-zero port, plain RTP) that offers PCMU (0)
 * or PCMA (8), in the offerer's order, plus its `telephone-event/8000` payload type when offered. Every other
 * stream is refused with port 0, so the answer has as many `m=` lines as the offer, in the same order.
 * @param offer the offer's SDP text
 * @param local our RTP address and port (and `o=` line fields)
 * @returns the answer (`a=ptime:20`, `a=rtpmap` for the codec and telephone-event, `a=fmtp:<pt> 0-15`, the mirror of
 *   the offer's direction) and the remote media; null when the offer cannot be parsed, has no usable audio stream
 *   (a port outside 1..65535, a connection address that is not an IP address or not of our address's IP version),
 *   or offers neither PCMU nor PCMA (the caller answers 488 Not Acceptable Here, RFC 3261 §13.3.1.3).
 */
export function answerOffer(offer: string, local: LocalMedia): SdpAnswerResult | null {
  let session: SessionDescription;
  try {
    session = parse(offer.replace(/\r?\n/g, '\r\n'));
  } catch {
    return null;
  }
  if (!Array.isArray(session.media) || session.media.length === 0) return null;

  let chosen: { index: number; remote: RemoteMedia } | null = null;
  const localFamily = isIP(local.address);
  for (let i = 0; i < session.media.length && !chosen; i++) {
    const remote = acceptableAudio(session, session.media[i], localFamily);
    if (remote) chosen = { index: i, remote };
  }
  if (!chosen) return null;

  const media: MediaDescription[] = session.media.map((m, i) => {
    if (i !== chosen!.index) return refusedStream(m);
    return audioStream(local.port, chosen!.remote.payloadType, chosen!.remote.telephoneEventPt, mirror(chosen!.remote.direction), m.mid);
  });
  const answer = writeDescription(description(local, media));
  return { answer, remote: chosen.remote };
}

/**
 * Writes an offer of our own (for a re-INVITE without an offer, RFC 3261 §14.2, the "late offer" case): PCMU, PCMA
 * and telephone-event 101, sendrecv, ptime 20.
 * @param local our RTP address and port (and `o=` line fields)
 */
export function createOffer(local: LocalMedia, direction: MediaDirection = 'sendrecv'): string {
  const m = audioStream(local.port, 0, 101, direction, undefined);
  m.payloads = '0 8 101';
  m.rtp = [
    { payload: 0, codec: 'PCMU', rate: 8000 },
    { payload: 8, codec: 'PCMA', rate: 8000 },
    { payload: 101, codec: 'telephone-event', rate: 8000 },
  ];
  return write(description(local, [m]));
}

/**
 * Reads the answer to an offer of ours (the ACK of a late-offer INVITE, RFC 3261 §13.2.1): the answerer's audio
 * stream, chosen codec (PCMU or PCMA), telephone-event payload type and direction, by the same rules as an offer.
 * @param answer the answer's SDP text
 * @param local our RTP address (its IP version must match the answer's)
 * @returns the remote media, or null when the answer cannot be parsed or has no usable G.711 audio stream
 */
export function readAnswer(answer: string, local: LocalMedia): RemoteMedia | null {
  return answerOffer(answer, local)?.remote ?? null;
}

/** The direction an answerer writes for an offer's direction (RFC 3264 §6.1). */
export function mirror(direction: MediaDirection): MediaDirection {
  if (direction === 'sendonly') return 'recvonly';
  if (direction === 'recvonly') return 'sendonly';
  return direction;
}

/** @param localFamily the IP version of our RTP address (4 or 6; 0 when it is not an IP address: not checked) */
function acceptableAudio(session: SessionDescription, m: MediaDescription, localFamily: number): RemoteMedia | null {
  // A port is 16 bits (RFC 4566 §5.14): a larger one is a broken offer, not a stream to send to.
  if (m.type !== 'audio' || !Number.isInteger(m.port) || m.port < 1 || m.port > 65535 || !RTP_PROTOCOLS.has(m.protocol)) return null;
  const payloads = String(m.payloads ?? '')
    .trim()
    .split(/\s+/)
    .map((p) => Number(p))
    .filter((p) => Number.isInteger(p));
  const rtp = Array.isArray(m.rtp) ? m.rtp : [];
  const mapped = (pt: number) => rtp.find((r) => r.payload === pt);
  let payloadType: 0 | 8 | null = null;
  for (const pt of payloads) {
    if (pt !== 0 && pt !== 8) continue;
    // A static payload type may come without rtpmap; if it has one, it must say what the static type means.
    const r = mapped(pt);
    const expected = pt === 0 ? 'PCMU' : 'PCMA';
    if (r && (r.codec.toUpperCase() !== expected || (r.rate !== undefined && r.rate !== 8000))) continue;
    payloadType = pt;
    break;
  }
  if (payloadType === null) return null;

  // A telephone-event on a payload type the session reads as audio (or outside 0..127) is ignored, not fatal: the
  // call goes on with in-band and INFO digits.
  const te = rtp.find(
    (r) =>
      r.codec.toLowerCase() === 'telephone-event' && (r.rate ?? 8000) === 8000 && payloads.includes(r.payload) && isUsableTelephoneEventPt(r.payload),
  );
  const connection = m.connection ?? session.connection;
  if (!connection || typeof connection.ip !== 'string' || connection.ip === '') return null;
  const address = connection.ip.split('/')[0]; // multicast TTL suffix, RFC 4566 §5.7
  // An IP address only: a host name (RFC 4566 allows one; gateways send addresses) would be looked up in the DNS
  // for every packet sent, and an unresolvable one fails every send.
  const family = isIP(address);
  if (family === 0) return null;
  const hold = address === '0.0.0.0' || address === '::';
  // Our RTP socket has one IP version: it cannot send to an address of the other (a silent call), unless the
  // offerer holds the call and wants nothing sent.
  if (localFamily !== 0 && family !== localFamily && !hold) return null;
  let direction: MediaDirection = m.direction ?? session.direction ?? 'sendrecv';
  if (hold) {
    direction = direction === 'sendrecv' ? 'sendonly' : direction === 'recvonly' ? 'inactive' : direction;
  }
  const ptime = typeof m.ptime === 'number' && m.ptime > 0 ? m.ptime : null;
  return { address, port: m.port, payloadType, telephoneEventPt: te ? te.payload : null, direction, ptime };
}

function refusedStream(m: MediaDescription): MediaDescription {
  const first = String(m.payloads ?? '').trim().split(/\s+/)[0] || '0';
  return { type: m.type, port: 0, protocol: m.protocol, payloads: first, rtp: [], fmtp: [], ...(m.mid ? { mid: m.mid } : {}) };
}

function audioStream(
  port: number,
  payloadType: 0 | 8,
  telephoneEventPt: number | null,
  direction: MediaDirection,
  mid: string | undefined,
): MediaDescription {
  const rtp: MediaDescription['rtp'] = [{ payload: payloadType, codec: payloadType === 0 ? 'PCMU' : 'PCMA', rate: 8000 }];
  const fmtp: MediaDescription['fmtp'] = [];
  if (telephoneEventPt !== null) {
    rtp.push({ payload: telephoneEventPt, codec: 'telephone-event', rate: 8000 });
    fmtp.push({ payload: telephoneEventPt, config: '0-15' });
  }
  return {
    type: 'audio',
    port,
    protocol: 'RTP/AVP',
    payloads: telephoneEventPt === null ? `${payloadType}` : `${payloadType} ${telephoneEventPt}`,
    rtp,
    fmtp,
    ptime: 20,
    direction,
    ...(mid ? { mid } : {}),
  };
}

function description(local: LocalMedia, media: MediaDescription[]): SessionDescription {
  const ipVer = isIP(local.address) === 6 ? 6 : 4;
  return {
    version: 0,
    origin: {
      username: local.username ?? 'voice-access',
      sessionId: local.sessionId ?? String(Date.now()),
      sessionVersion: local.sessionVersion ?? 1,
      netType: 'IN',
      ipVer,
      address: local.address,
    },
    name: 'voice-access',
    connection: { version: ipVer, ip: local.address },
    timing: { start: 0, stop: 0 },
    media,
  };
}

/**
 * Writes a description of the shape this module builds (session `v o s c t`; per stream `m=`, then `a=rtpmap`,
 * `a=fmtp`, `a=mid`, `a=ptime`, the direction) exactly as `sdp-transform`'s `write` does, CRLF after every line.
 * Other fields are not written: use `write` for descriptions of any other shape.
 */
export function writeDescription(d: SessionDescription): string {
  const o = d.origin!;
  let out = `v=${d.version}\r\no=${o.username} ${o.sessionId} ${o.sessionVersion} ${o.netType} IP${o.ipVer} ${o.address}\r\ns=${d.name}\r\n`;
  if (d.connection) out += `c=IN IP${d.connection.version} ${d.connection.ip}\r\n`;
  out += `t=${d.timing!.start} ${d.timing!.stop}\r\n`;
  for (const m of d.media) {
    out += `m=${m.type} ${m.port} ${m.protocol} ${m.payloads}\r\n`;
    for (const r of m.rtp) out += `a=rtpmap:${r.payload} ${r.codec}${r.rate !== undefined ? `/${r.rate}` : ''}\r\n`;
    for (const f of m.fmtp) out += `a=fmtp:${f.payload} ${f.config}\r\n`;
    if (m.mid !== undefined) out += `a=mid:${m.mid}\r\n`;
    if (m.ptime !== undefined) out += `a=ptime:${m.ptime}\r\n`;
    if (m.direction !== undefined) out += `a=${m.direction}\r\n`;
  }
  return out;
}
