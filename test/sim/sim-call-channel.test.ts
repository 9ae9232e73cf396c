import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { WaveFile } from 'wavefile';
import type { CollectRequest, RecordRequest } from '../../src/flow-kit/media-types';
import { PromptCatalog } from '../../src/prompts/catalog';
import { SimCallChannel } from '../../src/sim/sim-call-channel';
import { VirtualClock } from '../../src/sim/virtual-clock';
import { tempDir } from '../helpers';

const catalog = PromptCatalog.load();
const dur = (id: string) => catalog.render([id], 'en-US')[0].durationMs;
const BEEP = catalog.render([{ tone: 'beep' }], 'en-US')[0].durationMs;
const T0 = 1_000_000;

function setup() {
  const clock = new VirtualClock(T0);
  const dir = tempDir('va-chan-');
  const ch = new SimCallChannel({ callId: 'c1', clock, catalog, recordingsDir: dir });
  return { clock, ch, dir };
}

/** Follows a promise: its value and the virtual time it settled at (relative to T0). */
function track<T>(clock: VirtualClock, p: Promise<T>) {
  const t: { value?: T; at?: number; error?: unknown } = {};
  p.then(
    (v) => {
      t.value = v;
      t.at = clock.now() - T0;
    },
    (e) => (t.error = e),
  );
  return t;
}

const collectReq = (over: Partial<CollectRequest> = {}): CollectRequest => ({
  prompts: [],
  locale: 'en-US',
  max: 5,
  terminators: '#',
  firstDigitTimeoutMs: 10_000,
  interDigitTimeoutMs: 5_000,
  ...over,
});

const recordReq = (over: Partial<RecordRequest> = {}): RecordRequest => ({
  prompts: [],
  locale: 'en-US',
  purpose: 'message',
  beep: false,
  maxMs: 60_000,
  silenceMs: 5_000,
  terminators: '#',
  ...over,
});

function readWav(file: string) {
  const wav = new WaveFile(readFileSync(file));
  const fmt = wav.fmt as { sampleRate: number; numChannels: number; bitsPerSample: number; audioFormat: number };
  const samples = wav.getSamples(false, Int16Array) as unknown as Int16Array;
  return { fmt, samples, ms: (samples.length / fmt.sampleRate) * 1000 };
}

describe('SimCallChannel: play', () => {
  it('plays prompts back to back on the clock and logs when each starts', async () => {
    const { clock, ch } = setup();
    await ch.answer();
    const r = track(clock, ch.play({ prompts: ['welcome', 'enter-extension'], locale: 'en-US' }));
    await clock.advance(60_000);
    expect(r.value).toEqual({ reason: 'done' });
    expect(r.at).toBe(dur('welcome') + dur('enter-extension'));
    expect(ch.heard.map((h) => [h.at - T0, h.id, h.text])).toEqual([
      [0, 'welcome', 'Welcome to Voice Access.'],
      [dur('welcome'), 'enter-extension', 'To access your mailbox, please enter your extension.'],
    ]);
    expect(ch.events[0]).toEqual({ at: T0, type: 'answer' });
  });

  it('stops on a digit when bargeIn and keeps the digit for the next collect', async () => {
    const { clock, ch } = setup();
    const r = track(clock, ch.play({ prompts: ['welcome', 'enter-extension'], locale: 'en-US' }));
    await clock.advance(500);
    ch.pressDigit('5');
    await clock.advance(0);
    expect(r.value).toEqual({ reason: 'barge-in' });
    expect(r.at).toBe(500);
    expect(ch.heard).toHaveLength(1);
    expect(ch.heard[0]).toMatchObject({ id: 'welcome', heardMs: 500, stoppedBy: 'barge-in' });
    expect(ch.bufferedDigits).toBe('5');
    const c = track(clock, ch.collect(collectReq({ max: 1 })));
    await clock.advance(0);
    expect(c.value).toEqual({ digits: '5', reason: 'max' });
  });

  it('keeps digits but goes on playing without bargeIn', async () => {
    const { clock, ch } = setup();
    const r = track(clock, ch.play({ prompts: ['goodbye'], locale: 'en-US', bargeIn: false }));
    await clock.advance(100);
    ch.pressDigit('1');
    await clock.advance(60_000);
    expect(r.value).toEqual({ reason: 'done' });
    expect(r.at).toBe(dur('goodbye'));
    expect(ch.bufferedDigits).toBe('1');
  });

  it('skips a barge-in play when type-ahead is waiting', async () => {
    const { clock, ch } = setup();
    ch.pressDigit('7');
    const r = track(clock, ch.play({ prompts: ['main-menu'], locale: 'en-US' }));
    await clock.advance(0);
    expect(r.value).toEqual({ reason: 'barge-in' });
    expect(ch.heard).toHaveLength(0);
    expect(ch.events.some((e) => e.type === 'skipped')).toBe(true);
  });

  it('loops until aborted (stopped) and stops on hang-up (hangup)', async () => {
    const { clock, ch } = setup();
    const moh = catalog.render([{ tone: 'music-on-hold' }], 'en-US')[0].durationMs;
    const abort = new AbortController();
    const r = track(clock, ch.play({ prompts: [{ tone: 'music-on-hold' }], locale: 'en-US', loop: true }, abort.signal));
    await clock.advance(moh * 2 + 1_000);
    expect(r.value).toBeUndefined();
    expect(ch.heard.map((h) => h.id)).toEqual(['tone:music-on-hold', 'tone:music-on-hold', 'tone:music-on-hold']);
    abort.abort();
    await clock.advance(0);
    expect(r.value).toEqual({ reason: 'stopped' });
    expect(r.at).toBe(moh * 2 + 1_000);

    const r2 = track(clock, ch.play({ prompts: [{ tone: 'music-on-hold' }], locale: 'en-US', loop: true }));
    await clock.advance(100);
    ch.callerHangup();
    await clock.advance(0);
    expect(r2.value).toEqual({ reason: 'hangup' });
    // Every later operation resolves at once with hangup.
    expect(await ch.play({ prompts: ['welcome'], locale: 'en-US' })).toEqual({ reason: 'hangup' });
    expect(await ch.collect(collectReq())).toEqual({ digits: '', reason: 'hangup' });
    expect(await ch.record(recordReq())).toEqual({ file: null, durationMs: 0, heardSpeech: false, reason: 'hangup' });
    expect(await ch.joinConference('r', 'participant')).toEqual({ reason: 'hangup' });
  });

  it('resolves stopped at once for an already aborted signal, and rejects an unknown prompt id', async () => {
    const { ch } = setup();
    const abort = new AbortController();
    abort.abort();
    expect(await ch.play({ prompts: ['welcome'], locale: 'en-US' }, abort.signal)).toEqual({ reason: 'stopped' });
    await expect(ch.play({ prompts: ['nope'], locale: 'en-US' })).rejects.toThrow(/unknown prompt id "nope"/);
    expect(ch.hasPendingOperation).toBe(false);
  });
});

describe('SimCallChannel: collect', () => {
  it('collects type-ahead, then live digits, ending on the terminator', async () => {
    const { clock, ch } = setup();
    ch.pressDigit('1');
    ch.pressDigit('2');
    const c = track(clock, ch.collect(collectReq({ prompts: ['enter-pin'], max: 24 })));
    await clock.advance(0);
    expect(ch.heard).toHaveLength(0); // type-ahead skips the prompt
    await clock.advance(1_000);
    ch.pressDigit('3');
    await clock.advance(1_000);
    ch.pressDigit('#');
    await clock.advance(0);
    expect(c.value).toEqual({ digits: '123', reason: 'terminator', terminator: '#' });
    expect(c.at).toBe(2_000);
  });

  it('flush discards earlier digits', async () => {
    const { clock, ch } = setup();
    ch.pressDigit('9');
    const c = track(clock, ch.collect(collectReq({ flush: true, max: 1 })));
    await clock.advance(100);
    ch.pressDigit('4');
    await clock.advance(0);
    expect(c.value).toEqual({ digits: '4', reason: 'max' });
  });

  it('times out firstDigitTimeoutMs after the prompts end when nothing is typed', async () => {
    const { clock, ch } = setup();
    const c = track(clock, ch.collect(collectReq({ prompts: ['enter-extension'] })));
    await clock.advance(60_000);
    expect(c.value).toEqual({ digits: '', reason: 'timeout' });
    expect(c.at).toBe(dur('enter-extension') + 10_000);
  });

  it('times out interDigitTimeoutMs after the last digit', async () => {
    const { clock, ch } = setup();
    const c = track(clock, ch.collect(collectReq({ prompts: ['enter-extension'] })));
    await clock.advance(1_000);
    ch.pressDigit('5'); // barges in
    await clock.advance(4_000);
    ch.pressDigit('1');
    await clock.advance(60_000);
    expect(c.value).toEqual({ digits: '51', reason: 'timeout' });
    expect(c.at).toBe(1_000 + 4_000 + 5_000);
    expect(ch.heard[0]).toMatchObject({ id: 'enter-extension', heardMs: 1_000, stoppedBy: 'barge-in' });
  });

  it('ends at max, leaving later digits buffered; a terminator first ends with no digits', async () => {
    const { clock, ch } = setup();
    const c = track(clock, ch.collect(collectReq({ max: 3 })));
    const pressing = ch.pressDigits('12345#', 100);
    await clock.advance(1_000);
    await pressing;
    expect(c.value).toEqual({ digits: '123', reason: 'max' });
    const c2 = track(clock, ch.collect(collectReq({ max: 24, terminators: '#*' })));
    await clock.advance(0);
    expect(c2.value).toEqual({ digits: '45', reason: 'terminator', terminator: '#' });
    ch.pressDigit('*');
    const c3 = track(clock, ch.collect(collectReq({ max: 24, terminators: '#*' })));
    await clock.advance(0);
    expect(c3.value).toEqual({ digits: '', reason: 'terminator', terminator: '*' });
  });

  it('returns what it has: timeout on abort, hangup when the caller hangs up', async () => {
    const { clock, ch } = setup();
    const abort = new AbortController();
    const c = track(clock, ch.collect(collectReq(), abort.signal));
    ch.pressDigit('4');
    await clock.advance(1_000);
    abort.abort();
    await clock.advance(0);
    expect(c.value).toEqual({ digits: '4', reason: 'timeout' });
    const c2 = track(clock, ch.collect(collectReq()));
    ch.pressDigit('8');
    await clock.advance(1_000);
    ch.callerHangup();
    await clock.advance(0);
    expect(c2.value).toEqual({ digits: '8', reason: 'hangup' });
  });
});

describe('SimCallChannel: record', () => {
  it('plays prompts and the beep, records speech, ends on # with trailing silence trimmed', async () => {
    const { clock, ch, dir } = setup();
    const r = track(clock, ch.record(recordReq({ prompts: ['greeting-unavailable'], beep: true })));
    const start = dur('greeting-unavailable') + BEEP;
    await clock.advance(start + 500);
    const speech = ch.speak(3_000);
    await clock.advance(3_000);
    await speech;
    await clock.advance(1_000);
    ch.pressDigit('#');
    await clock.advance(0);
    expect(r.value).toMatchObject({ durationMs: 3_500, heardSpeech: true, reason: 'terminator', terminator: '#' });
    expect(r.at).toBe(start + 4_500);
    expect(ch.heard.map((h) => h.id)).toEqual(['greeting-unavailable', 'tone:beep']);
    expect(ch.heard[1].at - T0).toBe(dur('greeting-unavailable'));
    const file = r.value!.file!;
    expect(path.dirname(file)).toBe(dir);
    const wav = readWav(file);
    expect(wav.fmt).toMatchObject({ sampleRate: 8000, numChannels: 1, bitsPerSample: 16, audioFormat: 1 });
    expect(wav.ms).toBe(3_500);
    expect(wav.samples.slice(0, 4000).every((s) => s === 0)).toBe(true); // the first 500 ms are silence
    expect(wav.samples.slice(4000).some((s) => s !== 0)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('ends after silenceMs of silence following the last speech', async () => {
    const { clock, ch } = setup();
    const r = track(clock, ch.record(recordReq({ silenceMs: 5_000 })));
    await clock.advance(2_000);
    void ch.speak(1_000);
    await clock.advance(2_000);
    void ch.speak(2_000); // at 4s, until 6s
    await clock.advance(60_000);
    expect(r.value).toMatchObject({ durationMs: 6_000, heardSpeech: true, reason: 'silence' });
    expect(r.at).toBe(11_000);
    expect(readWav(r.value!.file!).ms).toBe(6_000);
  });

  it('ends after silenceMs from the start, with no file, when nothing is said', async () => {
    const { clock, ch, dir } = setup();
    const r = track(clock, ch.record(recordReq({ silenceMs: 5_000 })));
    await clock.advance(60_000);
    expect(r.value).toEqual({ file: null, durationMs: 0, heardSpeech: false, reason: 'silence' });
    expect(r.at).toBe(5_000);
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });

  it('ends at maxMs while the caller is still talking', async () => {
    const { clock, ch } = setup();
    const r = track(clock, ch.record(recordReq({ maxMs: 10_000 })));
    void ch.speak(30_000);
    await clock.advance(60_000);
    expect(r.value).toMatchObject({ durationMs: 10_000, heardSpeech: true, reason: 'max' });
    expect(r.at).toBe(10_000);
    expect(readWav(r.value!.file!).ms).toBe(10_000);
  });

  it('keeps the audio when the caller hangs up mid-recording, and tells onHangup listeners before the result arrives', async () => {
    const { clock, ch } = setup();
    const order: string[] = [];
    ch.onHangup(() => order.push('onHangup'));
    const p = ch.record(recordReq());
    p.then(() => order.push('record resolved'));
    const speech = ch.speak(10_000);
    await clock.advance(4_000);
    ch.callerHangup();
    expect(order).toEqual(['onHangup']); // at once, before the record's result settles
    await speech;
    const r = await p;
    expect(order).toEqual(['onHangup', 'record resolved']);
    expect(r).toMatchObject({ durationMs: 4_000, heardSpeech: true, reason: 'hangup' });
    expect(readWav(r.file!).ms).toBe(4_000);
    expect(ch.ended).toBe(true);
    expect(ch.endedBy).toBe('caller');
  });

  it('a terminator during the prompts (or typed ahead) ends with nothing recorded; other keys are ignored', async () => {
    const { clock, ch } = setup();
    const r = track(clock, ch.record(recordReq({ prompts: ['record-name'], beep: true, terminators: '#*' })));
    await clock.advance(500);
    ch.pressDigit('5');
    await clock.advance(500);
    ch.pressDigit('*');
    await clock.advance(0);
    expect(r.value).toEqual({ file: null, durationMs: 0, heardSpeech: false, reason: 'terminator', terminator: '*' });
    expect(ch.heard.map((h) => h.id)).toEqual(['record-name']);
    ch.pressDigit('*');
    const r2 = track(clock, ch.record(recordReq({ prompts: ['record-name'], beep: true, terminators: '#*' })));
    await clock.advance(0);
    expect(r2.value).toMatchObject({ file: null, reason: 'terminator', terminator: '*' });
    expect(ch.heard).toHaveLength(1);
  });

  it('returns the audio so far when aborted', async () => {
    const { clock, ch } = setup();
    const abort = new AbortController();
    const r = track(clock, ch.record(recordReq(), abort.signal));
    void ch.speak(2_000);
    await clock.advance(3_000);
    abort.abort();
    await clock.advance(0);
    expect(r.value).toMatchObject({ durationMs: 2_000, heardSpeech: true, reason: 'silence' });
    expect(existsSync(r.value!.file!)).toBe(true);
  });
});

describe('SimCallChannel: conference, hang-up, listeners', () => {
  it('joinConference resolves on hang-up or abort', async () => {
    const { clock, ch } = setup();
    const abort = new AbortController();
    const a = track(clock, ch.joinConference('4455667', 'participant', abort.signal));
    await clock.advance(3_600_000);
    expect(a.value).toBeUndefined();
    abort.abort();
    await clock.advance(0);
    expect(a.value).toEqual({ reason: 'stopped' });
    const b = track(clock, ch.joinConference('4455667', 'organizer'));
    await clock.advance(1_000);
    await ch.hangup('normal');
    await clock.advance(0);
    expect(b.value).toEqual({ reason: 'hangup' });
    expect(ch.endedBy).toBe('ivr');
    expect(ch.events.at(-1)).toEqual({ at: T0 + 3_601_000, type: 'hangup', by: 'ivr', cause: 'normal' });
  });

  it('hangup is idempotent; onHangup is only for the caller side; onDtmf sees every key', async () => {
    const { clock, ch } = setup();
    const keys: string[] = [];
    let callerHangups = 0;
    ch.onDtmf((d) => keys.push(d));
    ch.onHangup(() => callerHangups++);
    const pressing = ch.pressDigits('12#', 150);
    expect(keys).toEqual(['1']); // the gaps run on the virtual clock
    await clock.advance(300);
    expect(await pressing).toBe(3);
    expect(keys).toEqual(['1', '2', '#']);
    await ch.hangup();
    await ch.hangup();
    ch.callerHangup();
    await clock.advance(0);
    expect(callerHangups).toBe(0);
    expect(ch.events.filter((e) => e.type === 'hangup')).toHaveLength(1);
    expect(ch.pressDigit('1')).toBe(false);
  });

  it('waitForPrompt counts prompts that already started and reports timeouts and the end of the call', async () => {
    const { clock, ch } = setup();
    void ch.play({ prompts: ['welcome', 'enter-extension'], locale: 'en-US' });
    await clock.advance(dur('welcome') + 10);
    const found = track(clock, ch.waitForPrompt('welcome', 0, 1_000));
    const later = track(clock, ch.waitForPrompt('goodbye', 0, 1_000));
    await clock.advance(5_000);
    expect(found.value).toMatchObject({ id: 'welcome', index: 0 });
    expect(later.value).toBe('timeout');
    const ended = track(clock, ch.waitForPrompt('goodbye', 2, 60_000));
    await clock.advance(100);
    await ch.hangup();
    await clock.advance(0);
    expect(ended.value).toBe('ended');
  });
});
