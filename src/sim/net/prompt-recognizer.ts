/**
 * Recognises catalog prompts in the audio a caller receives, so a scenario run over the network checks what the
 * caller actually hears (issue 4, "Scenarios over the network").
 *
 * The IVR sends each prompt's WAV samples as G.711; on loopback nothing is lost, so the caller decodes exactly
 * decode(encode(samples)). A prompt's start is found by its fingerprint: the first {@link FINGERPRINT_SAMPLES}
 * samples after its leading silence, as they come out of a G.711 round trip in the call's codec. The received stream
 * is scanned with a rolling hash (Rabin-Karp), so a prompt is found wherever it starts, packet-aligned or not.
 * Many prompts begin alike ("Please enter your PIN" / "Please enter your new PIN"), so a hit opens a match that
 * follows every prompt with that beginning, sample by sample, and drops those the audio leaves. It is reported
 * when one prompt is left, when a prompt has played to its end, or when the audio leaves them all (a prompt cut
 * short by barge-in: every prompt that fitted so far is reported). A prompt whose first packets were lost or damaged
 * (a loaded media server, a lossy network: the receiver fills a missing packet with silence) is still found by a
 * second fingerprint {@link SECOND_FINGERPRINT_AT} samples into its sound, and followed from there. Prompts with the same audio (`digit-1` and
 * `number-1` are both "one") are one candidate: a match lists every id that sounds like it (with its locale). The
 * fingerprint tables are built once per catalog folder, locales and codec, and shared by every recognizer.
 */
import { decodeG711, encodeG711, type G711PayloadType } from '../../media/g711';
import { readWavPcm } from '../../media/wav';
import { TONES, type PromptCatalog } from '../../prompts/catalog';

/** Samples a fingerprint covers: 20 ms at 8 kHz. */
export const FINGERPRINT_SAMPLES = 160;

/** Where a prompt's second fingerprint starts, samples after its first sound (40 ms: two packets may be lost). */
export const SECOND_FINGERPRINT_AT = 320;

/** A prompt heard in the received audio. */
export interface RecognizedPrompt {
  /** Every prompt id whose audio starts this way (`tone:beep`, `tone:music-on-hold`, `tone:conf-join`... for the tones). */
  ids: string[];
  /** The same, with the locale of each (a tone's locale is the first locale it was found in). */
  sources: { id: string; locale: string }[];
  /** Where it starts in the received stream, in samples from the first sample fed. */
  atSample: number;
  /** The length of the longest candidate's audio (leading silence included), samples. */
  lengthSamples: number;
}

const BASE = 257;
const MOD = 2_147_483_629; // a prime below 2^31: products stay exact in doubles

/** Leading samples that decode to (near) silence are skipped, so every fingerprint starts on sound. */
function firstSound(pcm: Int16Array): number {
  for (let i = 0; i < pcm.length; i++) if (Math.abs(pcm[i]) > 64) return i;
  return pcm.length;
}

function hashOf(values: Int16Array, from: number, n: number): number {
  let h = 0;
  for (let i = 0; i < n; i++) h = (h * BASE + (values[from + i] & 0xffff)) % MOD;
  return h;
}

interface Candidate {
  ids: string[];
  sources: { id: string; locale: string }[];
  /** The prompt as received, from its first sound on. */
  audio: Int16Array;
  /** Samples of leading silence before the first sound (to report where the prompt began). */
  lead: number;
}

/** A fingerprint: the candidates whose audio has these samples at `at` samples from its first sound. */
interface Fingerprint {
  samples: Int16Array;
  /** 0 for the first fingerprint, {@link SECOND_FINGERPRINT_AT} for the second. */
  at: number;
  candidates: Candidate[];
}

/** A match being followed: where its first sound was, and the candidates that still fit. */
interface OpenMatch {
  /** Stream position (samples fed) of the first sound. */
  start: number;
  /** Offset from `start` up to which the audio was compared when the match opened (its fingerprint's end). */
  checked: number;
  alive: Candidate[];
}

/** What a recognizer looks up: fingerprints by hash. Built once per catalog, locales and codec, then shared. */
interface Tables {
  byHash: Map<number, Fingerprint[]>;
  /** BASE^(n-1) mod MOD, to remove the oldest sample from the rolling hash. */
  topPower: number;
}

const tablesCache = new Map<string, Tables>();

function buildTables(catalog: PromptCatalog, locales: readonly string[], payloadType: G711PayloadType): Tables {
  const byHash = new Map<number, Fingerprint[]>();
  let p = 1;
  for (let i = 0; i < FINGERPRINT_SAMPLES - 1; i++) p = (p * BASE) % MOD;
  const files = new Map<string, { id: string; locale: string }[]>();
  const add = (file: string, id: string, locale: string) => {
    const list = files.get(file) ?? [];
    if (!list.some((x) => x.id === id)) list.push({ id, locale });
    files.set(file, list);
  };
  for (const locale of locales) {
    for (const id of catalog.ids(locale)) add(catalog.render([id], locale)[0].file, id, locale);
    for (const tone of TONES) add(catalog.render([{ tone }], locale)[0].file, `tone:${tone}`, locale);
  }
  const byAudio = new Map<string, Candidate>();
  const byPrefix = new Map<string, Fingerprint>();
  for (const [file, sources] of files) {
    const heard = decodeG711(encodeG711(readWavPcm(file), payloadType), payloadType);
    const lead = firstSound(heard);
    if (heard.length - lead < FINGERPRINT_SAMPLES) continue;
    const audio = heard.slice(lead);
    const audioKey = audio.join(',');
    const same = byAudio.get(audioKey);
    if (same) {
      for (const src of sources) {
        if (!same.ids.includes(src.id)) same.ids.push(src.id);
        if (!same.sources.some((x) => x.id === src.id && x.locale === src.locale)) same.sources.push(src);
      }
      continue;
    }
    const candidate: Candidate = { ids: [...new Set(sources.map((x) => x.id))], sources: [...sources], audio, lead };
    byAudio.set(audioKey, candidate);
    for (const at of [0, SECOND_FINGERPRINT_AT]) {
      if (audio.length < at + FINGERPRINT_SAMPLES) continue;
      const samples = audio.slice(at, at + FINGERPRINT_SAMPLES);
      // A second fingerprint that recurs in its own audio (a steady tone: every period looks alike) would find the
      // prompt again and again while it plays: such prompts are found by their first fingerprint only.
      if (at > 0 && recursIn(audio, samples, at)) continue;
      const prefixKey = `${at}:${samples.join(',')}`;
      const fp = byPrefix.get(prefixKey);
      if (fp) fp.candidates.push(candidate);
      else {
        const created: Fingerprint = { samples, at, candidates: [candidate] };
        byPrefix.set(prefixKey, created);
        const h = hashOf(samples, 0, FINGERPRINT_SAMPLES);
        byHash.set(h, [...(byHash.get(h) ?? []), created]);
      }
    }
  }
  return { byHash, topPower: p };
}

/** True when `samples` occur in `audio` at another offset than `at`. */
function recursIn(audio: Int16Array, samples: Int16Array, at: number): boolean {
  const n = samples.length;
  const want = hashOf(samples, 0, n);
  let p = 1;
  for (let i = 0; i < n - 1; i++) p = (p * BASE) % MOD;
  let h = hashOf(audio, 0, n);
  for (let i = 0; ; i++) {
    if (i !== at && h === want && audio.subarray(i, i + n).every((v, k) => v === samples[k])) return true;
    if (i + n >= audio.length) return false;
    h = (h - (((audio[i] & 0xffff) * p) % MOD) + MOD) % MOD;
    h = (h * BASE + (audio[i + n] & 0xffff)) % MOD;
  }
}

export class PromptRecognizer {
  private readonly byHash: Map<number, Fingerprint[]>;
  /** BASE^(n-1) mod MOD, to remove the oldest sample from the rolling hash. */
  private readonly topPower: number;
  private readonly window: Int16Array;
  private filled = 0;
  private pos = 0;
  private hash = 0;
  /** Samples fed so far. */
  private fed = 0;
  private open: OpenMatch[] = [];
  /** Where each candidate was last matched from (its first sound's stream position): a second fingerprint of a prompt found by its first is not a new prompt. */
  private readonly lastStart = new Map<Candidate, number>();

  /**
   * @param catalog the prompt catalog; @param locales the locales whose prompts to recognise
   * @param payloadType the call's codec (the round trip decides the exact samples received)
   */
  constructor(catalog: PromptCatalog, locales: readonly string[], payloadType: G711PayloadType) {
    // The tables depend only on the catalog's files, the locales and the codec: built once per process.
    const key = `${catalog.dir}|${locales.join(',')}|${payloadType}`;
    let tables = tablesCache.get(key);
    if (!tables) {
      tables = buildTables(catalog, locales, payloadType);
      tablesCache.set(key, tables);
    }
    this.byHash = tables.byHash;
    this.topPower = tables.topPower;
    this.window = new Int16Array(FINGERPRINT_SAMPLES);
  }

  /** Samples fed so far (the stream position of the next sample). */
  get position(): number {
    return this.fed;
  }

  /** How many distinct prompt sounds are known. */
  get size(): number {
    const all = new Set<Candidate>();
    for (const list of this.byHash.values()) for (const fp of list) for (const c of fp.candidates) all.add(c);
    return all.size;
  }

  /**
   * Feeds received audio, in order (missing packets as zeros).
   * @returns the prompts recognised with this audio, in order of their start
   */
  feed(pcm: Int16Array): RecognizedPrompt[] {
    const out: RecognizedPrompt[] = [];
    const n = FINGERPRINT_SAMPLES;
    for (let i = 0; i < pcm.length; i++) {
      const v = pcm[i];
      this.follow(v, out);
      if (this.filled === n) {
        const oldest = this.window[this.pos] & 0xffff;
        this.hash = (this.hash - ((oldest * this.topPower) % MOD) + MOD) % MOD;
      } else this.filled++;
      this.hash = (this.hash * BASE + (v & 0xffff)) % MOD;
      this.window[this.pos] = v;
      this.pos = (this.pos + 1) % n;
      this.fed++;
      if (this.filled < n) continue;
      const hits = this.byHash.get(this.hash);
      if (!hits) continue;
      for (const fp of hits) {
        if (!this.windowEquals(fp.samples)) continue;
        const start = this.fed - n - fp.at;
        // A second fingerprint finds only a prompt not already found (by either fingerprint) within its own length.
        const alive =
          fp.at === 0 ? [...fp.candidates] : fp.candidates.filter((c) => { const last = this.lastStart.get(c); return last === undefined || start - last >= c.audio.length; });
        if (alive.length === 0) continue;
        for (const c of alive) this.lastStart.set(c, start);
        this.open.push({ start, checked: fp.at + n, alive });
      }
      this.settle(out);
    }
    return out;
  }

  /** Checks sample `v` (at stream position `fed`) against every open match's candidates. */
  private follow(v: number, out: RecognizedPrompt[]): void {
    if (this.open.length === 0) return;
    for (const m of this.open) {
      const offset = this.fed - m.start;
      if (offset < m.checked) continue; // the fingerprint itself was compared already
      const fits = m.alive.filter((c) => offset >= c.audio.length || c.audio[offset] === v);
      if (fits.length === 0) {
        // The audio left every candidate: a prompt cut short, or the next prompt. Report those that fitted.
        this.report(m, m.alive, out);
        m.alive = [];
      } else m.alive = fits;
    }
    this.settle(out);
  }

  /** Reports the matches that are decided: one candidate left, or a candidate played to its end. */
  private settle(out: RecognizedPrompt[]): void {
    for (const m of this.open) {
      if (m.alive.length === 0) continue;
      const offset = this.fed - m.start;
      const complete = m.alive.filter((c) => offset >= c.audio.length);
      if (m.alive.length === 1 || complete.length > 0) {
        this.report(m, complete.length > 0 ? complete : m.alive, out);
        m.alive = [];
      }
    }
    this.open = this.open.filter((m) => m.alive.length > 0);
  }

  private report(m: OpenMatch, candidates: Candidate[], out: RecognizedPrompt[]): void {
    if (candidates.length === 0) return;
    const ids = [...new Set(candidates.flatMap((c) => c.ids))];
    const sources = candidates.flatMap((c) => c.sources).filter((x, i, all) => all.findIndex((y) => y.id === x.id && y.locale === x.locale) === i);
    const lead = Math.min(...candidates.map((c) => c.lead));
    const lengthSamples = Math.max(...candidates.map((c) => c.lead + c.audio.length));
    out.push({ ids, sources, atSample: m.start - lead, lengthSamples });
  }
  private windowEquals(samples: Int16Array): boolean {
    const n = FINGERPRINT_SAMPLES;
    for (let k = 0; k < n; k++) if (this.window[(this.pos + k) % n] !== samples[k]) return false;
    return true;
  }
}
