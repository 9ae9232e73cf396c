import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { defaultPromptsDir, PromptCatalog, readWavInfo } from '../../src/prompts/catalog';
import { synthesizeWav } from '../../src/sim/sim-call-channel';
import { ROOT } from '../helpers';

// Times below are UTC; the process's own time zone (TZ) is the default of a loaded catalog.
const catalog = PromptCatalog.load().withTimeZone('UTC');
const ids = (items: Parameters<PromptCatalog['render']>[0], locale = 'en-US') => catalog.render(items, locale).map((p) => p.id);
/** 2025-01-06 at hh:mm UTC. */
const at = (hh: number, mm: number) => Date.UTC(2025, 0, 6, hh, mm);

describe('PromptCatalog', () => {
  it('finds the repository prompts folder and loads both locales', () => {
    expect(defaultPromptsDir()).toBe(path.join(ROOT, 'prompts'));
    expect(catalog.localeNames.sort()).toEqual(['en-US', 'fr-FR']);
    expect(catalog.ids('fr-FR').sort()).toEqual(catalog.ids('en-US').sort());
    expect(PromptCatalog.load()).toBe(PromptCatalog.load()); // read once per process
  });

  it('renders an id with its text, file and WAV duration', () => {
    const [p] = catalog.render(['welcome'], 'en-US');
    expect(p.id).toBe('welcome');
    expect(p.text).toBe('Welcome to Voice Access.');
    expect(p.file).toBe(path.join(ROOT, 'prompts', 'en-US', 'welcome.wav'));
    const info = readWavInfo(p.file);
    expect(info).toMatchObject({ sampleRate: 8000, channels: 1, bitsPerSample: 16 });
    expect(p.durationMs).toBe(Math.round(info.dataBytes / 16));
    expect(p.durationMs).toBeGreaterThan(100);
    expect(catalog.render(['welcome'], 'fr-FR')[0].text).toBe('Bienvenue dans Accès vocal.');
  });

  it('throws a clear error for an unknown id or locale', () => {
    expect(() => catalog.render(['welcome', 'no-such-prompt'], 'en-US')).toThrow(/unknown prompt id "no-such-prompt" in the en-US catalog/);
    expect(() => catalog.render(['welcome'], 'de-DE')).toThrow(/no prompt catalog for locale "de-DE"/);
  });

  it('speaks numbers 0-100 as one word and larger ones digit by digit', () => {
    expect(ids([{ number: 0 }, { number: 7 }, { number: 21 }, { number: 100 }])).toEqual(['number-0', 'number-7', 'number-21', 'number-100']);
    expect(ids([{ number: 101 }])).toEqual(['digit-1', 'digit-0', 'digit-1']);
    expect(ids([{ number: 2025 }])).toEqual(['digit-2', 'digit-0', 'digit-2', 'digit-5']);
    expect(catalog.render([{ number: 71 }], 'fr-FR')[0].text).toBe('soixante et onze');
    expect(() => ids([{ number: -1 }])).toThrow(/cannot speak the number -1/);
    expect(() => ids([{ number: 1.5 }])).toThrow(/cannot speak the number 1.5/);
  });

  it('speaks digit strings key by key, skipping + and separators', () => {
    expect(ids([{ digits: '51234' }])).toEqual(['digit-5', 'digit-1', 'digit-2', 'digit-3', 'digit-4']);
    expect(ids([{ digits: '*0#' }])).toEqual(['digit-star', 'digit-0', 'digit-pound']);
    expect(ids([{ digits: '+1 425-5' }])).toEqual(['digit-1', 'digit-4', 'digit-2', 'digit-5', 'digit-5']);
    expect(() => ids([{ digits: '12x' }])).toThrow(/cannot speak "x"/);
  });

  it('speaks times in en-US as a 12-hour clock with A.M./P.M.', () => {
    expect(ids([{ time: at(9, 5) }])).toEqual(['number-9', 'number-5', 'am']);
    expect(ids([{ time: at(14, 30) }])).toEqual(['number-2', 'number-30', 'pm']);
    expect(ids([{ time: at(0, 0) }])).toEqual(['number-12', 'am']);
    expect(ids([{ time: at(12, 0) }])).toEqual(['number-12', 'pm']);
    expect(ids([{ time: at(23, 59) }])).toEqual(['number-11', 'number-59', 'pm']);
  });

  it('speaks times in fr-FR as a 24-hour clock with "heures"', () => {
    expect(ids([{ time: at(9, 5) }], 'fr-FR')).toEqual(['number-9', 'hours', 'number-5']);
    expect(ids([{ time: at(14, 0) }], 'fr-FR')).toEqual(['number-14', 'hours']);
    expect(ids([{ time: at(0, 30) }], 'fr-FR')).toEqual(['number-0', 'hours', 'number-30']);
    // "heure" is feminine: une heure, vingt et une heures.
    expect(ids([{ time: at(1, 10) }], 'fr-FR')).toEqual(['hour-1', 'number-10']);
    expect(ids([{ time: at(21, 0) }], 'fr-FR')).toEqual(['hour-21']);
    expect(catalog.render([{ time: at(14, 30) }], 'fr-FR').map((p) => p.text)).toEqual(['quatorze', 'heures', 'trente']);
  });

  it('speaks times in its time zone: the process\'s by default, as the texts and mails say them', () => {
    const paris = PromptCatalog.load().withTimeZone('Europe/Paris');
    // 21:54 UTC is 22:54 in Paris in winter, 23:54 in summer.
    expect(paris.render([{ time: at(21, 54) }], 'fr-FR').map((p) => p.id)).toEqual(['number-22', 'hours', 'number-54']);
    expect(paris.render([{ time: Date.UTC(2025, 6, 1, 21, 54) }], 'fr-FR').map((p) => p.id)).toEqual(['number-23', 'hours', 'number-54']);
    expect(paris.timeZone).toBe('Europe/Paris');
    expect(paris.withTimeZone('Europe/Paris')).toBe(paris);
    const local = PromptCatalog.load();
    expect(local.timeZone).toBeUndefined();
    const t = at(21, 54);
    expect(local.render([{ time: t }], 'fr-FR').map((p) => p.id)[0]).toBe(
      new Date(t).getHours() === 21 ? 'hour-21' : new Date(t).getHours() === 1 ? 'hour-1' : `number-${new Date(t).getHours()}`,
    );
    expect(() => local.withTimeZone('Mars/Olympus_Mons')).toThrow(RangeError);
  });

  it('renders tones and recordings', () => {
    const [beep, moh] = catalog.render([{ tone: 'beep' }, { tone: 'music-on-hold' }], 'en-US');
    expect(beep).toMatchObject({ id: 'tone:beep', text: '[beep]', file: path.join(ROOT, 'prompts', 'tones', 'beep.wav') });
    expect(beep.durationMs).toBe(Math.round((6444 - 44) / 16));
    expect(moh).toMatchObject({ id: 'tone:music-on-hold', durationMs: 10_000 });

    const dir = mkdtempSync(path.join(tmpdir(), 'va-cat-'));
    const file = path.join(dir, 'greeting.wav');
    writeFileSync(file, synthesizeWav(2_500, [{ start: 0, end: 2_500 }]));
    expect(catalog.render([{ file }], 'en-US')).toEqual([{ id: null, text: '[recording]', file, durationMs: 2_500 }]);
    expect(() => catalog.render([{ file: path.join(dir, 'missing.wav') }], 'en-US')).toThrow(/cannot play the recording/);
  });
});
