/**
 * G.711 (ITU-T G.711) μ-law and A-law for RTP: PCMU is static payload type 0, PCMA payload type 8, both 8000 Hz
 * mono, one byte per sample (RFC 3551 §4.5.14, table 4).
 *
 * The conversion itself is the `alawmulaw` package's; this module builds lookup tables from it once (65,536 entries
 * to encode, 256 to decode) so that encoding a 20 ms frame for hundreds of calls is a table lookup per sample.
 */
import { alaw, mulaw } from 'alawmulaw';
import { MediaError, MediaErrorCodes } from './errors';

/** RTP payload type of PCMU (G.711 μ-law), RFC 3551 table 4. */
export const PT_PCMU = 0;
/** RTP payload type of PCMA (G.711 A-law), RFC 3551 table 4. */
export const PT_PCMA = 8;
/** The G.711 payload types this engine speaks. */
export type G711PayloadType = typeof PT_PCMU | typeof PT_PCMA;

/** Sample rate of G.711 and of every PCM buffer in `src/media`, Hz. */
export const G711_SAMPLE_RATE = 8000;

/** The byte that decodes to (near) zero: 0xFF for μ-law, 0xD5 for A-law. */
export const G711_SILENCE_BYTE: Readonly<Record<G711PayloadType, number>> = { 0: 0xff, 8: 0xd5 };

let encodeTables: Record<G711PayloadType, Uint8Array> | undefined;
let decodeTables: Record<G711PayloadType, Int16Array> | undefined;

function encTables(): Record<G711PayloadType, Uint8Array> {
  if (!encodeTables) {
    const u = new Uint8Array(65536);
    const a = new Uint8Array(65536);
    for (let i = 0; i < 65536; i++) {
      const s = i - 32768;
      u[i] = mulaw.encodeSample(s) & 0xff;
      a[i] = alaw.encodeSample(s) & 0xff;
    }
    encodeTables = { 0: u, 8: a };
  }
  return encodeTables;
}

function decTables(): Record<G711PayloadType, Int16Array> {
  if (!decodeTables) {
    const u = new Int16Array(256);
    const a = new Int16Array(256);
    for (let i = 0; i < 256; i++) {
      u[i] = mulaw.decodeSample(i);
      a[i] = alaw.decodeSample(i);
    }
    decodeTables = { 0: u, 8: a };
  }
  return decodeTables;
}

/** True when `pt` is PCMU (0) or PCMA (8). */
export function isG711(pt: number): pt is G711PayloadType {
  return pt === PT_PCMU || pt === PT_PCMA;
}

function checkPt(pt: number): asserts pt is G711PayloadType {
  if (!isG711(pt)) throw new MediaError(MediaErrorCodes.ARGUMENT, `payload type ${pt} is not G.711 (0 PCMU or 8 PCMA)`);
}

/**
 * Encodes 16-bit linear PCM (8 kHz) to G.711.
 * @param pcm samples, -32768..32767
 * @param pt 0 (PCMU, μ-law) or 8 (PCMA, A-law)
 * @param out optional destination (at least `pcm.length` bytes), to avoid an allocation per frame
 * @returns one byte per sample (`out` when given, else a new array)
 * @throws MediaError `VA_ERR_MEDIA_ARGUMENT` for another payload type
 */
export function encodeG711(pcm: Int16Array, pt: G711PayloadType, out?: Uint8Array): Uint8Array {
  checkPt(pt);
  const table = encTables()[pt];
  const dst = out ?? new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) dst[i] = table[pcm[i] + 32768];
  return dst;
}

/**
 * Decodes G.711 to 16-bit linear PCM (8 kHz). Any length: a 30 ms PCMA packet gives 240 samples.
 * @param payload the RTP payload, one byte per sample
 * @param pt 0 (PCMU) or 8 (PCMA)
 * @returns one sample per byte
 * @throws MediaError `VA_ERR_MEDIA_ARGUMENT` for another payload type
 */
export function decodeG711(payload: Uint8Array, pt: G711PayloadType): Int16Array {
  checkPt(pt);
  const table = decTables()[pt];
  const out = new Int16Array(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = table[payload[i]];
  return out;
}
