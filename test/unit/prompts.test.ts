import { readdirSync, readFileSync, existsSync } from 'fs';
import { join } from 'path';
import { parse } from 'yaml';
import { WaveFile } from 'wavefile';

const PROMPTS = join(__dirname, '..', '..', 'prompts');
const LOCALES = ['en-US', 'fr-FR'] as const;
const TONES = ['beep', 'music-on-hold', 'conf-join', 'conf-leave'] as const;

const SAMPLE_RATE = 8000;
const MIN_SECONDS = 0.1;
const MAX_SECONDS = 20;
/** RMS on the 16-bit scale (full scale 32767); about -50 dBFS, far below any speech or tone we generate. */
const MIN_RMS = 100;

function loadCatalog(locale: string): Record<string, string> {
  const parsed: unknown = parse(readFileSync(join(PROMPTS, locale, 'catalog.yaml'), 'utf8'), {
    uniqueKeys: true,
  });
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${locale}/catalog.yaml is not a map`);
  }
  const catalog: Record<string, string> = {};
  for (const [id, text] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof text !== 'string') throw new Error(`${locale}/catalog.yaml: ${id} is not a string`);
    catalog[id] = text;
  }
  return catalog;
}

interface DecodedWav {
  sampleRate: number;
  numChannels: number;
  bitsPerSample: number;
  audioFormat: number;
  seconds: number;
  rms: number;
}

function decodeWav(path: string): DecodedWav {
  const wav = new WaveFile(readFileSync(path));
  const fmt = wav.fmt as { sampleRate: number; numChannels: number; bitsPerSample: number; audioFormat: number };
  const samples = wav.getSamples(false, Int16Array) as unknown as Int16Array;
  let sumSquares = 0;
  for (const s of samples) sumSquares += s * s;
  return {
    sampleRate: fmt.sampleRate,
    numChannels: fmt.numChannels,
    bitsPerSample: fmt.bitsPerSample,
    audioFormat: fmt.audioFormat,
    seconds: samples.length / fmt.sampleRate,
    rms: samples.length > 0 ? Math.sqrt(sumSquares / samples.length) : 0,
  };
}

function expectPlayableWav(path: string): void {
  expect(existsSync(path)).toBe(true);
  const wav = decodeWav(path);
  expect({ path, sampleRate: wav.sampleRate, numChannels: wav.numChannels, bitsPerSample: wav.bitsPerSample }).toEqual({
    path,
    sampleRate: SAMPLE_RATE,
    numChannels: 1,
    bitsPerSample: 16,
  });
  expect(wav.audioFormat).toBe(1); // PCM
  expect(wav.seconds).toBeGreaterThanOrEqual(MIN_SECONDS);
  expect(wav.seconds).toBeLessThanOrEqual(MAX_SECONDS);
  expect(wav.rms).toBeGreaterThan(MIN_RMS);
}

const catalogs = Object.fromEntries(LOCALES.map((l) => [l, loadCatalog(l)])) as Record<
  (typeof LOCALES)[number],
  Record<string, string>
>;

describe('prompt catalogs', () => {
  it.each(LOCALES)('%s catalog has kebab-case ids and a non-empty single-line text per id', (locale) => {
    const catalog = catalogs[locale];
    expect(Object.keys(catalog).length).toBeGreaterThan(0);
    for (const [id, text] of Object.entries(catalog)) {
      expect(id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect({ id, text: text.trim().length > 0 && !/[\r\n\t]/.test(text) }).toEqual({ id, text: true });
    }
  });

  it('en-US and fr-FR have exactly the same ids', () => {
    const en = Object.keys(catalogs['en-US']).sort();
    const fr = Object.keys(catalogs['fr-FR']).sort();
    expect(fr).toEqual(en);
  });

  it('has the digits, the keypad keys and the numbers 0 to 100', () => {
    for (const locale of LOCALES) {
      const ids = new Set(Object.keys(catalogs[locale]));
      for (let d = 0; d <= 9; d++) expect(ids.has(`digit-${d}`)).toBe(true);
      expect(ids.has('digit-star')).toBe(true);
      expect(ids.has('digit-pound')).toBe(true);
      for (let n = 0; n <= 100; n++) expect(ids.has(`number-${n}`)).toBe(true);
    }
  });

  it('spells French numbers the French way', () => {
    const fr = catalogs['fr-FR'];
    expect(fr['number-21']).toBe('vingt et un');
    expect(fr['number-71']).toBe('soixante et onze');
    expect(fr['number-80']).toBe('quatre-vingts');
    expect(fr['number-81']).toBe('quatre-vingt-un');
    expect(fr['number-99']).toBe('quatre-vingt-dix-neuf');
  });
});

describe('prompt audio', () => {
  describe.each(LOCALES)('%s', (locale) => {
    const ids = Object.keys(catalogs[locale]);

    it.each(ids)('%s.wav is 8 kHz mono 16-bit, 0.1-20 s, not silent', (id) => {
      expectPlayableWav(join(PROMPTS, locale, `${id}.wav`));
    });

    it('has no WAV without a catalog id', () => {
      const known = new Set(ids);
      const stray = readdirSync(join(PROMPTS, locale))
        .filter((f) => f.toLowerCase().endsWith('.wav'))
        .map((f) => f.slice(0, -'.wav'.length))
        .filter((id) => !known.has(id));
      expect(stray).toEqual([]);
    });
  });

  it.each(TONES)('tones/%s.wav is 8 kHz mono 16-bit, 0.1-20 s, not silent', (tone) => {
    expectPlayableWav(join(PROMPTS, 'tones', `${tone}.wav`));
  });
});
