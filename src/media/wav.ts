/**
 * WAV files for the RTP engine: prompts in (8 kHz mono 16-bit PCM, DESIGN.md "Media"; other formats converted) and
 * recordings out, written atomically (temporary file, fsync, rename: DESIGN.md "Media").
 */
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { WaveFile } from 'wavefile';
import { writeFileAtomic } from '../util/atomic-file';
import { MediaError, MediaErrorCodes } from './errors';

/** The engine's sample rate, Hz. */
export const WAV_SAMPLE_RATE = 8000;

interface CacheEntry {
  mtimeMs: number;
  size: number;
  ino: number;
  pcm: Int16Array;
}

const cache = new Map<string, CacheEntry>();
let cacheBytes = 0;
let cacheLimitBytes = 64 * 1024 * 1024;

/**
 * Sets the cache budget of {@link readWavPcm}, bytes of decoded PCM (default 64 MiB); least recently used files
 * are dropped first. 0 disables the cache.
 */
export function setWavCacheLimit(bytes: number): void {
  cacheLimitBytes = Math.max(0, bytes);
  trimCache();
}

/** Empties the cache of {@link readWavPcm}. */
export function clearWavCache(): void {
  cache.clear();
  cacheBytes = 0;
}

function trimCache(): void {
  for (const [key, e] of cache) {
    if (cacheBytes <= cacheLimitBytes) break;
    cache.delete(key);
    cacheBytes -= e.pcm.byteLength;
  }
}

/**
 * Reads a WAV file as 8 kHz mono 16-bit PCM. 8 kHz mono 16-bit PCM files (the prompt catalog's) are read as they
 * are; other PCM bit depths, float, A-law, μ-law and IMA ADPCM are converted to 16 bits, other rates resampled to
 * 8 kHz (wavefile's cubic interpolation with its low-pass filter), several channels mixed down (average).
 *
 * Results are cached by absolute path and re-read when the file's mtime, size or inode changes (a re-recorded
 * greeting replaced by rename). The returned array is shared with the cache: do not modify it.
 * @param file path of the WAV
 * @param opts `unchanging`: the file does not change while the process runs (the prompt catalog's, whose durations
 *   the catalog also reads once per process): a cached copy is returned without asking the file system again (a
 *   stat per prompt played cost about as much as the rest of starting it)
 * @returns the samples
 * @throws MediaError `VA_ERR_MEDIA_WAV_UNSUPPORTED` when the file cannot be read, is not a WAV file, or has an
 *         encoding that cannot be converted (the message names the file and the reason)
 */
export function readWavPcm(file: string, opts: { unchanging?: boolean } = {}): Int16Array {
  const abs = path.resolve(file);
  const hit = cache.get(abs);
  const reuse = (e: CacheEntry) => {
    cache.delete(abs); // move to the most recently used end
    cache.set(abs, e);
    return e.pcm;
  };
  if (hit && opts.unchanging) return reuse(hit);
  let st;
  try {
    st = statSync(abs);
  } catch (err) {
    throw new MediaError(MediaErrorCodes.WAV_UNSUPPORTED, `${file}: cannot read (${(err as Error).message})`, { cause: err });
  }
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size && hit.ino === st.ino) return reuse(hit);
  const pcm = decodeWav(abs, readFileSync(abs));
  if (hit) {
    cache.delete(abs);
    cacheBytes -= hit.pcm.byteLength;
  }
  if (pcm.byteLength <= cacheLimitBytes) {
    cache.set(abs, { mtimeMs: st.mtimeMs, size: st.size, ino: st.ino, pcm });
    cacheBytes += pcm.byteLength;
    trimCache();
  }
  return pcm;
}

interface WavFmt {
  audioFormat: number;
  numChannels: number;
  sampleRate: number;
  bitsPerSample: number;
}

/**
 * Decodes WAV bytes to 8 kHz mono 16-bit PCM (see {@link readWavPcm}).
 * @param name used in error messages
 * @throws MediaError `VA_ERR_MEDIA_WAV_UNSUPPORTED`
 */
export function decodeWav(name: string, bytes: Uint8Array): Int16Array {
  let wav: WaveFile;
  try {
    wav = new WaveFile(bytes);
  } catch (err) {
    throw new MediaError(MediaErrorCodes.WAV_UNSUPPORTED, `${name}: not a WAV file (${(err as Error).message})`, { cause: err });
  }
  const fmt = wav.fmt as WavFmt;
  const depth = wav.bitDepth;
  if (!(fmt.numChannels >= 1) || !(fmt.sampleRate > 0)) {
    throw new MediaError(MediaErrorCodes.WAV_UNSUPPORTED, `${name}: bad fmt chunk (${fmt.numChannels} channels, ${fmt.sampleRate} Hz)`);
  }
  const raw = (wav.data as { samples: Uint8Array }).samples;
  // Fast path: the catalog's own format.
  if (wav.container === 'RIFF' && depth === '16' && fmt.numChannels === 1 && fmt.sampleRate === WAV_SAMPLE_RATE) {
    const n = raw.length >> 1;
    const out = new Int16Array(n);
    const dv = new DataView(raw.buffer, raw.byteOffset, n * 2);
    for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, true);
    return out;
  }
  try {
    if (depth === '8a') wav.fromALaw('16');
    else if (depth === '8m') wav.fromMuLaw('16');
    else if (depth === '4') wav.fromIMAADPCM('16');
    else if (!['8', '16', '24', '32', '32f', '64'].includes(depth)) {
      throw new Error(`unsupported encoding (format ${fmt.audioFormat}, bit depth ${depth})`);
    }
    if (wav.bitDepth !== '16') wav.toBitDepth('16');
    if ((wav.fmt as WavFmt).sampleRate !== WAV_SAMPLE_RATE) wav.toSampleRate(WAV_SAMPLE_RATE);
    const samples = wav.getSamples(false, Int16Array) as unknown as Int16Array | Int16Array[];
    if (!Array.isArray(samples)) return Int16Array.from(samples);
    const n = samples[0]?.length ?? 0;
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (const ch of samples) sum += ch[i];
      out[i] = Math.round(sum / samples.length);
    }
    return out;
  } catch (err) {
    if (err instanceof MediaError) throw err;
    throw new MediaError(MediaErrorCodes.WAV_UNSUPPORTED, `${name}: cannot convert to 8 kHz mono 16-bit PCM: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Encodes mono 16-bit PCM as a canonical 44-byte-header RIFF/WAVE file.
 * @param pcm samples
 * @param sampleRate Hz, default 8000
 * @returns the file's bytes
 * @throws MediaError `VA_ERR_MEDIA_ARGUMENT` for a sample rate that is not a positive integer
 */
export function encodeWav(pcm: Int16Array, sampleRate = WAV_SAMPLE_RATE): Buffer {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) {
    throw new MediaError(MediaErrorCodes.ARGUMENT, `sample rate must be a positive integer, got ${sampleRate}`);
  }
  const dataBytes = pcm.length * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < pcm.length; i++) out.writeInt16LE(pcm[i], 44 + i * 2);
  return out;
}

/**
 * Writes a recording as a mono 16-bit PCM WAV so that a crash leaves the whole file or none of it (temporary file
 * in the same folder, fsync, rename, fsync of the folder: {@link writeFileAtomic}). Write the database row only
 * after this returns (DESIGN.md "Media").
 * @param file destination path (its folder must exist)
 * @param pcm samples
 * @param sampleRate Hz, default 8000
 * @throws MediaError `VA_ERR_MEDIA_ARGUMENT` for a bad sample rate; the fs error when the write fails
 */
export function writeWavAtomic(file: string, pcm: Int16Array, sampleRate = WAV_SAMPLE_RATE): void {
  writeFileAtomic(file, encodeWav(pcm, sampleRate));
}
