/**
 * The prompt catalog: `prompts/<locale>/catalog.yaml` (prompt id -> text) and one WAV per id
 * (`prompts/<locale>/<id>.wav`, 8 kHz mono 16-bit), plus the tones in `prompts/tones/`. It turns what a flow asks
 * to hear ({@link PromptItem}s) into the concrete files to play, with their texts and durations, following the
 * rules of `flow-kit/media-types.ts` (numbers 0–100 as one word, larger ones digit by digit; times 12-hour in
 * en-US, 24-hour in fr-FR).
 *
 * Loading reads every WAV header once; {@link PromptCatalog.render} then only looks things up, so a simulator can
 * render thousands of calls per second.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import type { PromptItem } from '../flow-kit/media-types';
import { wallClock } from '../util/wall-clock';

/** One thing the caller hears: a catalog prompt, a tone, or a recording. */
export interface RenderedPrompt {
  /** The catalog id (`enter-pin`, `number-5`), `tone:beep` / `tone:music-on-hold` for tones, null for a recording. */
  readonly id: string | null;
  /** What is said: the catalog text, `[beep]` / `[music on hold]` for tones, `[recording]` for a recording. */
  readonly text: string;
  /** The WAV file to play (absolute path). */
  readonly file: string;
  /** How long it plays, ms. */
  readonly durationMs: number;
}

/**
 * The tones in `prompts/tones/`, by {@link PromptItem} `tone` name: the recording beep, music on hold (the lobby),
 * and the conference entry and exit tones (everyone in a meeting hears them when someone joins or leaves).
 */
export const TONES = ['beep', 'music-on-hold', 'conf-join', 'conf-leave'] as const;
export type ToneName = (typeof TONES)[number];

const TONE_TEXT: Record<ToneName, string> = {
  beep: '[beep]',
  'music-on-hold': '[music on hold]',
  'conf-join': '[someone joins]',
  'conf-leave': '[someone leaves]',
};

/** The facts a WAV header gives. */
export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** Bytes of sample data. */
  dataBytes: number;
  /** Length, ms (rounded to the nearest ms). */
  durationMs: number;
}

/**
 * Reads the RIFF header of a PCM WAV file (walks the chunks to `fmt ` and `data`; only the first 4 KiB are read).
 * A `data` size larger than the file (a streamed header) is clipped to the bytes present.
 * @param file path of the WAV
 * @returns its format and duration
 * @throws Error when the file cannot be read or is not a RIFF/WAVE file with `fmt ` and `data` chunks
 */
export function readWavInfo(file: string): WavInfo {
  const fd = openSync(file, 'r');
  let head: Buffer;
  let size: number;
  try {
    size = statSync(file).size;
    head = Buffer.alloc(Math.min(4096, size));
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (head.length < 12 || head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error(`${file}: not a RIFF/WAVE file`);
  }
  let off = 12;
  let fmt: { channels: number; sampleRate: number; bitsPerSample: number } | undefined;
  while (off + 8 <= head.length) {
    const id = head.toString('ascii', off, off + 4);
    const len = head.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ' && body + 16 <= head.length) {
      fmt = { channels: head.readUInt16LE(body + 2), sampleRate: head.readUInt32LE(body + 4), bitsPerSample: head.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (!fmt) break;
      const dataBytes = Math.min(len, size - body);
      const bytesPerMs = (fmt.sampleRate * fmt.channels * (fmt.bitsPerSample / 8)) / 1000;
      return { ...fmt, dataBytes, durationMs: bytesPerMs > 0 ? Math.round(dataBytes / bytesPerMs) : 0 };
    }
    off = body + len + (len % 2);
  }
  throw new Error(`${file}: no "fmt " and "data" chunks in the first ${head.length} bytes`);
}

/**
 * The repository's `prompts/` folder, found from this module whether it runs from `src/prompts/` (ts-jest) or from
 * `dist/src/prompts/` (compiled).
 */
export function defaultPromptsDir(): string {
  const candidates = [path.resolve(__dirname, '..', '..', 'prompts'), path.resolve(__dirname, '..', '..', '..', 'prompts')];
  return candidates.find((c) => existsSync(path.join(c, 'en-US', 'catalog.yaml'))) ?? candidates[0];
}

interface LocaleCatalog {
  /** id -> rendered prompt (shared, immutable). */
  prompts: Map<string, RenderedPrompt>;
}

const loaded = new Map<string, PromptCatalog>();

/** Prompt texts, files and durations for every locale under one prompts folder. */
export class PromptCatalog {
  private constructor(
    /** The prompts folder (absolute). */
    readonly dir: string,
    private readonly locales: Map<string, LocaleCatalog>,
    private readonly tones: Map<ToneName, RenderedPrompt>,
    /**
     * The IANA time zone times are spoken in (`{ time }` items); the process's (`TZ`) when undefined, as the
     * texts and mails of new voice messages say them.
     */
    readonly timeZone?: string,
  ) {
    if (timeZone !== undefined) wallClock(0, timeZone); // an unknown time zone fails here, not at the first envelope
  }

  /**
   * The same prompts, with times spoken in another time zone (the simulator speaks UTC, so that a scenario hears
   * the same on every machine).
   * @param timeZone an IANA name (`UTC`, `Europe/Paris`)
   * @throws RangeError for a name the runtime does not know
   */
  withTimeZone(timeZone: string): PromptCatalog {
    if (timeZone === this.timeZone) return this;
    return new PromptCatalog(this.dir, this.locales, this.tones, timeZone);
  }

  /**
   * Loads every `<locale>/catalog.yaml` under `promptsDir` and the duration of every WAV it names, and the tones.
   * The result is cached per folder (the files are read once per process).
   * @param promptsDir the prompts folder; the repository's `prompts/` when undefined
   * @throws Error when a catalog is not a map of strings, or a prompt's or tone's WAV is missing or unreadable
   */
  static load(promptsDir?: string): PromptCatalog {
    const dir = path.resolve(promptsDir ?? defaultPromptsDir());
    const cached = loaded.get(dir);
    if (cached) return cached;
    const locales = new Map<string, LocaleCatalog>();
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const catalogFile = path.join(dir, entry.name, 'catalog.yaml');
      if (!existsSync(catalogFile)) continue;
      const parsed: unknown = parse(readFileSync(catalogFile, 'utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${catalogFile}: not a map of prompt id -> text`);
      const prompts = new Map<string, RenderedPrompt>();
      for (const [id, text] of Object.entries(parsed as Record<string, unknown>)) {
        if (typeof text !== 'string') throw new Error(`${catalogFile}: ${id} is not a string`);
        const file = path.join(dir, entry.name, `${id}.wav`);
        prompts.set(id, Object.freeze({ id, text, file, durationMs: readWavInfo(file).durationMs }));
      }
      locales.set(entry.name, { prompts });
    }
    if (locales.size === 0) throw new Error(`${dir}: no <locale>/catalog.yaml found`);
    const tones = new Map<ToneName, RenderedPrompt>();
    for (const t of TONES) {
      const file = path.join(dir, 'tones', `${t}.wav`);
      tones.set(t, Object.freeze({ id: `tone:${t}`, text: TONE_TEXT[t], file, durationMs: readWavInfo(file).durationMs }));
    }
    const catalog = new PromptCatalog(dir, locales, tones);
    loaded.set(dir, catalog);
    return catalog;
  }

  /** The locales that have a catalog (`en-US`, `fr-FR`). */
  get localeNames(): string[] {
    return [...this.locales.keys()];
  }

  /** The ids of a locale's catalog. @throws Error for an unknown locale */
  ids(locale: string): string[] {
    return [...this.catalogOf(locale).prompts.keys()];
  }

  /** The text of one prompt. @throws Error for an unknown locale or id */
  text(id: string, locale: string): string {
    return this.lookup(this.catalogOf(locale), id, locale).text;
  }

  /**
   * Turns prompt items into the prompts to play, in order.
   * - a string: that catalog id;
   * - `{ number }`: an integer 0–100 as `number-N`, a larger one digit by digit (`digit-N`);
   * - `{ digits }`: `digit-0`…`digit-9`, `digit-star`, `digit-pound` (`+`, spaces and dashes are skipped);
   * - `{ time }` (ms since epoch, read in {@link timeZone}): en-US hour 1–12 as a number, the minutes as a number
   *   unless 0, then `am`/`pm`; fr-FR hour 0–23 as a number and `hours` (`hour-1`, `hour-21`: "une heure",
   *   "vingt et une heures"), the minutes unless 0;
   * - `{ file }`: the recording (id null, text `[recording]`, duration from its WAV header);
   * - `{ tone }`: `prompts/tones/<tone>.wav` with id `tone:<tone>`; `{ tone, ms }`: the tone for `ms` (the file
   *   repeated as many whole times as fit, then its beginning cut to the rest: one prompt per repetition, so a
   *   transcript shows each loop of the music on hold).
   * Players play each prompt for its `durationMs` (a cut tone plays the beginning of its file).
   * @param items what the flow asked for; @param locale the catalog to use
   * @returns the prompts (shared objects: do not modify)
   * @throws Error naming the item for an unknown locale, an unknown id, a negative or fractional number, a
   *   character that is not a key, or a recording that cannot be read
   */
  render(items: readonly PromptItem[], locale: string): RenderedPrompt[] {
    const cat = this.catalogOf(locale);
    const out: RenderedPrompt[] = [];
    for (const item of items) {
      if (typeof item === 'string') {
        out.push(this.lookup(cat, item, locale));
      } else if ('number' in item) {
        this.pushNumber(out, cat, item.number, locale);
      } else if ('digits' in item) {
        this.pushDigits(out, cat, item.digits, locale);
      } else if ('time' in item) {
        this.pushTime(out, cat, item.time, locale);
      } else if ('file' in item) {
        let info: WavInfo;
        try {
          info = readWavInfo(item.file);
        } catch (err) {
          throw new Error(`cannot play the recording ${item.file}: ${(err as Error).message}`, { cause: err });
        }
        out.push({ id: null, text: '[recording]', file: path.resolve(item.file), durationMs: info.durationMs });
      } else if ('tone' in item) {
        const tone = this.tones.get(item.tone);
        if (!tone) throw new Error(`unknown tone "${String(item.tone)}" (known: ${TONES.join(', ')})`);
        if (item.ms === undefined) out.push(tone);
        else this.pushToneFor(out, tone, item.ms);
      } else {
        throw new Error(`not a prompt item: ${JSON.stringify(item)}`);
      }
    }
    return out;
  }

  /** Total duration of rendered prompts, ms. */
  static durationOf(prompts: readonly RenderedPrompt[]): number {
    let ms = 0;
    for (const p of prompts) ms += p.durationMs;
    return ms;
  }

  private catalogOf(locale: string): LocaleCatalog {
    const cat = this.locales.get(locale);
    if (!cat) throw new Error(`no prompt catalog for locale "${locale}" in ${this.dir} (known: ${this.localeNames.join(', ')})`);
    return cat;
  }

  private lookup(cat: LocaleCatalog, id: string, locale: string): RenderedPrompt {
    const p = cat.prompts.get(id);
    if (!p) throw new Error(`unknown prompt id "${id}" in the ${locale} catalog (${path.join(this.dir, locale, 'catalog.yaml')})`);
    return p;
  }

  private pushToneFor(out: RenderedPrompt[], tone: RenderedPrompt, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`cannot play ${tone.id} for ${ms} ms`);
    if (tone.durationMs <= 0) return;
    let left = Math.round(ms);
    while (left >= tone.durationMs) {
      out.push(tone);
      left -= tone.durationMs;
    }
    if (left > 0) out.push(Object.freeze({ ...tone, durationMs: left }));
  }

  private pushNumber(out: RenderedPrompt[], cat: LocaleCatalog, n: number, locale: string): void {
    if (!Number.isInteger(n) || n < 0) throw new Error(`cannot speak the number ${n}: only whole numbers from 0 are spoken`);
    if (n <= 100) out.push(this.lookup(cat, `number-${n}`, locale));
    else this.pushDigits(out, cat, String(n), locale);
  }

  private pushDigits(out: RenderedPrompt[], cat: LocaleCatalog, digits: string, locale: string): void {
    for (const ch of digits) {
      if (ch >= '0' && ch <= '9') out.push(this.lookup(cat, `digit-${ch}`, locale));
      else if (ch === '*') out.push(this.lookup(cat, 'digit-star', locale));
      else if (ch === '#') out.push(this.lookup(cat, 'digit-pound', locale));
      else if (ch === '+' || ch === ' ' || ch === '-') continue;
      else throw new Error(`cannot speak "${ch}" in the digit string "${digits}"`);
    }
  }

  private pushTime(out: RenderedPrompt[], cat: LocaleCatalog, epochMs: number, locale: string): void {
    if (!Number.isFinite(epochMs)) throw new Error(`cannot speak the time ${epochMs}`);
    const t = wallClock(epochMs, this.timeZone);
    const h = Number(t.hour);
    const m = Number(t.minute);
    if (locale === 'fr-FR') {
      // "heure" is feminine: 1 h is "une heure" and 21 h "vingt et une heures", not the cardinals "un", "vingt et un".
      if (h === 1 || h === 21) out.push(this.lookup(cat, `hour-${h}`, locale));
      else out.push(this.lookup(cat, `number-${h}`, locale), this.lookup(cat, 'hours', locale));
      if (m !== 0) out.push(this.lookup(cat, `number-${m}`, locale));
      return;
    }
    out.push(this.lookup(cat, `number-${h % 12 === 0 ? 12 : h % 12}`, locale));
    if (m !== 0) out.push(this.lookup(cat, `number-${m}`, locale));
    out.push(this.lookup(cat, h < 12 ? 'am' : 'pm', locale));
  }
}
