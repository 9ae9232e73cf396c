import { decodeG711, encodeG711 } from '../../../src/media/g711';
import { readWavPcm } from '../../../src/media/wav';
import { PromptCatalog } from '../../../src/prompts/catalog';
import { PromptRecognizer } from '../../../src/sim/net/prompt-recognizer';

const catalog = PromptCatalog.load();
const file = (id: string, locale = 'en-US') => catalog.render([id], locale)[0].file;
/** What a caller receives for these prompts back to back over PCMU, offset by `pad` samples of silence first. */
function received(ids: string[], pad = 0, pt: 0 | 8 = 0): Int16Array {
  const parts = [new Int16Array(pad), ...ids.map((id) => readWavPcm(file(id)))];
  const all = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return decodeG711(encodeG711(all, pt), pt);
}

describe('PromptRecognizer', () => {
  const rec = () => new PromptRecognizer(catalog, ['en-US', 'fr-FR'], 0);

  it('knows the catalog, both locales and the tones', () => {
    expect(rec().size).toBeGreaterThan(250);
  });

  it('finds prompts played back to back, at any offset, in order', () => {
    const r = rec();
    const audio = received(['welcome', 'enter-extension', 'enter-pin'], 37);
    const found: string[][] = [];
    for (let i = 0; i < audio.length; i += 160) found.push(...r.feed(audio.subarray(i, i + 160)).map((p) => p.ids));
    expect(found.map((ids) => ids[0])).toEqual(['welcome', 'enter-extension', 'enter-pin']);
  });

  it('a prompt whose first packet was lost (silence in its place) is still found, once, where it starts', () => {
    const r = rec();
    const audio = received(['welcome', 'enter-extension', 'main-menu'], 0);
    // The first 20 ms packet of "enter-extension"'s sound never arrived: the receiver plays silence for it.
    const startOf = (id: string) => readWavPcm(file(id)).length;
    const second = startOf('welcome');
    let firstSound = second;
    while (Math.abs(audio[firstSound]) <= 64) firstSound++;
    audio.fill(0, firstSound, firstSound + 160);
    const hits: { ids: string[]; atSample: number }[] = [];
    for (let i = 0; i < audio.length; i += 160) hits.push(...r.feed(audio.subarray(i, i + 160)));
    expect(hits.map((p) => p.ids[0])).toEqual(['welcome', 'enter-extension', 'main-menu']);
    expect(hits[1].atSample).toBe(second);
  });

  it('a prompt found by its first fingerprint is not found again by its second', () => {
    const r = rec();
    const hits = r.feed(received(['enter-extension', 'goodbye'], 100));
    expect(hits.map((p) => p.ids[0])).toEqual(['enter-extension', 'goodbye']);
  });

  it('reports where a prompt starts', () => {
    const r = rec();
    const hits = r.feed(received(['goodbye'], 800));
    expect(hits).toHaveLength(1);
    expect(hits[0].atSample).toBe(800);
  });

  it('lists every id that sounds the same', () => {
    const hits = rec().feed(received(['digit-1']));
    expect(hits[0].ids).toEqual(expect.arrayContaining(['digit-1', 'number-1']));
  });

  it('works for PCMA, and for French prompts', () => {
    const r = new PromptRecognizer(catalog, ['fr-FR'], 8);
    const audio = decodeG711(encodeG711(readWavPcm(file('enter-pin', 'fr-FR')), 8), 8);
    expect(r.feed(audio).map((h) => h.ids[0])).toEqual(['enter-pin']);
  });

  it('finds nothing in silence or noise', () => {
    const r = rec();
    const noise = new Int16Array(16000).map((_, i) => Math.round(Math.sin(i * 0.7) * 3000));
    expect(r.feed(new Int16Array(16000))).toEqual([]);
    expect(r.feed(noise)).toEqual([]);
  });
});

describe('PromptRecognizer with prompts that begin alike', () => {
  it('tells "enter your PIN" from "enter your new PIN"', () => {
    const r = new PromptRecognizer(catalog, ['en-US'], 0);
    expect(r.feed(received(['enter-pin', 'goodbye'])).map((h) => h.ids)).toEqual([['enter-pin'], ['goodbye']]);
    const r2 = new PromptRecognizer(catalog, ['en-US'], 0);
    expect(r2.feed(received(['enter-new-pin', 'goodbye'])).map((h) => h.ids)).toEqual([['enter-new-pin'], ['goodbye']]);
  });

  it('a prompt cut short by barge-in is still reported (with whatever it could be)', () => {
    const r = new PromptRecognizer(catalog, ['en-US'], 0);
    const full = received(['main-menu']);
    const cut = full.subarray(0, Math.floor(full.length / 2));
    const hits = r.feed(new Int16Array([...cut, ...new Int16Array(800), ...received(['goodbye'])]));
    expect(hits.map((h) => h.ids[0])).toEqual(['main-menu', 'goodbye']);
  });
});
