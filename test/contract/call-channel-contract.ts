/**
 * The shared contract of a live {@link CallChannel}'s media (`src/ports/call-channel.ts`, `channel/ivr-channel.ts`),
 * run against every media engine: our RTP engine (the embedded SIP engine in front) and FreeSWITCH (drachtio-server
 * in front, drachtio-fsmrf). The caller is the network simulator's {@link NetCaller}: real SIP and RTP from
 * 127.0.0.1, which recognises the prompts it hears in the audio, sends RFC 4733 or SIP INFO digits, and "speaks"
 * (noise above the voice threshold). The IVR side is driven directly through the channel a {@link CallSource}
 * announced, so each case states an operation and what the caller and the channel must see.
 */
import { existsSync } from 'node:fs';
import pino from 'pino';
import { MediaEngine } from '../../src/media/media-engine';
import { readWavPcm } from '../../src/media/wav';
import type { CallChannel, CallSource, CollectedInput, IncomingCall, PromptStart } from '../../src/ports/call-channel';
import { PromptCatalog } from '../../src/prompts/catalog';
import { NetCaller } from '../../src/sim/net/net-caller';
import { SipClient, type SipTarget } from '../../src/sip/embedded/sip-client';

/** What a harness gives the cases: a call source wired to a media engine, and where callers reach it. */
export interface ChannelHarness {
  source: CallSource;
  target: SipTarget;
  close(): Promise<void>;
}

/** A call in progress: the caller's side and the IVR's channel. */
interface Call {
  caller: NetCaller;
  channel: CallChannel;
}

const catalog = PromptCatalog.load();
const en = 'en-US' as const;

/** Waits until `pred` holds, polling every 20 ms, at most `ms`. */
async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Waits (10 s at most: a media server under the whole suite's load may start late) until the caller heard the beep
 * of the channel's first recording; otherwise fails with what the caller heard and the channel's last events.
 */
async function beepHeard(caller: NetCaller, channel: CallChannel): Promise<void> {
  const started = await caller.waitForRecording(0, 10_000);
  if (started === 1) return;
  const ivr = (channel as { events?: Array<{ at: number; kind?: string; text?: string }> }).events ?? [];
  throw new Error(`no recording started (${started}): ${caller.events.map((e) => `${e.who} ${e.text}`).join('; ')}\nthe IVR's journal: ${JSON.stringify(ivr.slice(-12))}`);
}

/**
 * Registers the contract's cases for one engine.
 * @param makeHarness called once per file (beforeAll)
 */
export function describeCallChannelContract(name: string, makeHarness: () => Promise<ChannelHarness>): void {
  describe(`CallChannel media contract: ${name}`, () => {
    let h: ChannelHarness;
    let client: SipClient;
    let media: MediaEngine;
    const incoming: IncomingCall[] = [];
    const callers: NetCaller[] = [];

    beforeAll(async () => {
      h = await makeHarness();
      h.source.onCall((c) => incoming.push(c));
      client = await SipClient.start({ localAddress: '127.0.0.1', logger: pino({ level: 'silent' }) });
      // A fresh port per call, as a new phone would have: no socket of an earlier call (whose media server endpoint
      // may still be sending) is handed to the next caller.
      media = await MediaEngine.start({ host: '127.0.0.1', portMin: 0, portMax: 0, idleSocketLimit: 0 });
    }, 60_000);

    afterEach(() => {
      for (const c of callers.splice(0)) if (!c.ended) c.callerHangup();
    });

    afterAll(async () => {
      await new Promise((r) => setTimeout(r, 300));
      await client?.stop();
      await media?.stop();
      await h?.close();
    }, 30_000);

    /** Places a call to the access number, answers it, and waits until the caller has the answer. */
    async function call(): Promise<Call> {
      const before = incoming.length;
      const caller = await NetCaller.place({ client, target: h.target, media, mediaAddress: '127.0.0.1', catalog, locales: [en], now: () => Date.now(), to: '14255550100', from: '4255550101' });
      callers.push(caller);
      await until(() => incoming.length > before, 5000, 'the call to be announced');
      const channel = incoming[before].channel;
      await channel.answer();
      await until(() => caller.answered, 5000, 'the caller to get the answer');
      return { caller, channel };
    }

    test('play: the caller hears the prompts in order; play resolves done', async () => {
      const { caller, channel } = await call();
      const r = await channel.play({ prompts: ['welcome', 'goodbye'], locale: en });
      expect(r.reason).toBe('done');
      await until(() => caller.heard.length >= 2, 3000, 'both prompts to be recognised');
      expect(caller.heard.map((p) => p.id)).toEqual(['welcome', 'goodbye']);
      await channel.hangup();
      await until(() => caller.ended, 5000, "the IVR's BYE");
    }, 30_000);

    test('barge-in: an RFC 4733 key stops the prompt at once and is kept for the next collect (type-ahead)', async () => {
      const { caller, channel } = await call();
      const playing = channel.play({ prompts: ['main-menu'], locale: en, bargeIn: true });
      expect(await caller.waitForPrompt('main-menu', 0, 3000)).not.toBe('timeout');
      const t0 = Date.now();
      await caller.pressDigits('1', 100);
      expect((await playing).reason).toBe('barge-in');
      expect(Date.now() - t0).toBeLessThan(1500); // main-menu is about 6 s long
      const got = await channel.collect({ prompts: [], locale: en, max: 1, firstDigitTimeoutMs: 2000, interDigitTimeoutMs: 2000 });
      expect(got).toEqual({ digits: '1', reason: 'max' });
      await channel.hangup();
    }, 30_000);

    test('a prompt stopped just as it is sent does not play on: the next one is heard at once', async () => {
      const { caller, channel } = await call();
      const t0 = Date.now();
      // Stopped before, while and just after the media server starts it (FreeSWITCH drops a break that arrives before
      // it has started the playback): main-menu is about 6 s long, and each must end within moments.
      for (const delayMs of [0, 1, 2, 5, 10, 30]) {
        const stop = new AbortController();
        const playing = channel.play({ prompts: ['main-menu'], locale: en, bargeIn: true }, stop.signal);
        await new Promise((r) => setTimeout(r, delayMs));
        stop.abort();
        expect((await playing).reason).toBe('stopped');
      }
      expect((await channel.play({ prompts: ['goodbye'], locale: en })).reason).toBe('done');
      await until(() => caller.heard.some((p) => p.id === 'goodbye'), 3000, 'goodbye to be recognised');
      expect(Date.now() - t0).toBeLessThan(5000);
      await channel.hangup();
    }, 30_000);

    test('without barge-in the prompt plays on; the key is kept', async () => {
      const { caller, channel } = await call();
      const playing = channel.play({ prompts: ['welcome'], locale: en, bargeIn: false });
      expect(await caller.waitForPrompt('welcome', 0, 3000)).not.toBe('timeout');
      await caller.pressDigits('7', 100);
      expect((await playing).reason).toBe('done');
      const got = await channel.collect({ prompts: [], locale: en, max: 1, firstDigitTimeoutMs: 1000, interDigitTimeoutMs: 1000 });
      expect(got.digits).toBe('7');
      await channel.hangup();
    }, 30_000);

    test('collect: digits by RFC 4733 and SIP INFO, ended by the terminator; each key counted once', async () => {
      const { caller, channel } = await call();
      const keys: string[] = [];
      channel.onDtmf((d) => keys.push(d));
      const collecting = channel.collect({ prompts: ['enter-pin'], locale: en, max: 10, terminators: '#', firstDigitTimeoutMs: 5000, interDigitTimeoutMs: 3000, secret: true });
      await caller.pressDigits('12', 150, 'rfc4733');
      await caller.pressDigits('34', 150, 'info');
      await caller.pressDigits('#', 150, 'rfc4733');
      expect(await collecting).toEqual({ digits: '1234', reason: 'terminator', terminator: '#' });
      expect(keys.join('')).toBe('1234#');
      await channel.hangup();
    }, 30_000);

    test('observers (issue 22): every prompt start with its locale and secret flag; every collect result, never a secret one', async () => {
      const { caller, channel } = await call();
      const prompts: PromptStart[] = [];
      const inputs: CollectedInput[] = [];
      expect(typeof channel.onPromptStart).toBe('function');
      expect(typeof channel.onCollected).toBe('function');
      channel.onPromptStart!((p) => prompts.push(p));
      channel.onCollected!((c) => inputs.push(c));
      expect((await channel.play({ prompts: ['goodbye'], locale: 'fr-FR' })).reason).toBe('done');
      const pin = channel.collect({ prompts: ['enter-pin'], locale: en, max: 10, terminators: '#', firstDigitTimeoutMs: 5000, interDigitTimeoutMs: 3000, secret: true });
      await caller.pressDigits('42#', 150, 'info');
      expect(await pin).toEqual({ digits: '42', reason: 'terminator', terminator: '#' });
      const ext = channel.collect({ prompts: ['enter-extension'], locale: en, max: 2, firstDigitTimeoutMs: 5000, interDigitTimeoutMs: 3000 });
      await caller.pressDigits('51', 150, 'rfc4733');
      expect(await ext).toEqual({ digits: '51', reason: 'max' });
      expect(prompts).toEqual([
        { id: 'goodbye', locale: 'fr-FR', op: 'play', secret: false },
        { id: 'enter-pin', locale: en, op: 'collect', secret: true },
        { id: 'enter-extension', locale: en, op: 'collect', secret: false },
      ]);
      expect(inputs).toEqual([
        { secret: true, reason: 'terminator' },
        { secret: false, digits: '51', reason: 'max' },
      ]);
      await channel.hangup();
    }, 30_000);

    test('collect: the first-digit timeout runs from the end of the prompts', async () => {
      const { channel } = await call();
      const t0 = Date.now();
      const r = await channel.collect({ prompts: [], locale: en, max: 4, firstDigitTimeoutMs: 1500, interDigitTimeoutMs: 1000 });
      expect(r).toEqual({ digits: '', reason: 'timeout' });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
      await channel.hangup();
    }, 30_000);

    test('record: beep, the caller speaks 2 s and presses #: a WAV of about 2 s is on disk', async () => {
      const { caller, channel } = await call();
      const recording = channel.record({ prompts: [], locale: en, purpose: 'message', beep: true, maxMs: 20_000, silenceMs: 4000, terminators: '#' });
      await beepHeard(caller, channel);
      await caller.speak(2000);
      await caller.pressDigits('#', 100);
      const r = await recording;
      expect(r.reason).toBe('terminator');
      expect(r.heardSpeech).toBe(true);
      expect(r.file && existsSync(r.file)).toBe(true);
      expect(Math.abs(r.durationMs - 2000)).toBeLessThan(600);
      const seconds = readWavPcm(r.file!).length / 8000;
      expect(Math.abs(seconds * 1000 - r.durationMs)).toBeLessThan(100);
      await channel.hangup();
    }, 30_000);

    test('record: silence after speech ends it (silenceMs); nothing said leaves no file', async () => {
      const { caller, channel } = await call();
      const recording = channel.record({ prompts: [], locale: en, purpose: 'message', beep: true, maxMs: 20_000, silenceMs: 1500, terminators: '#' });
      await beepHeard(caller, channel);
      await caller.speak(1000);
      const r = await recording;
      expect(r.reason).toBe('silence');
      expect(Math.abs(r.durationMs - 1000)).toBeLessThan(600);
      const empty = await channel.record({ prompts: [], locale: en, purpose: 'message', beep: false, maxMs: 20_000, silenceMs: 1000, terminators: '#' });
      expect(empty).toMatchObject({ file: null, heardSpeech: false, reason: 'silence' });
      await channel.hangup();
    }, 30_000);

    test('joinConference: a caller alone in a meeting presses *6 and hears conf-muted, then *6 again conf-unmuted', async () => {
      const { caller, channel } = await call();
      const inMeeting = channel.joinConference(`contract-${Date.now()}`, 'participant', undefined, { locale: en, entryExitTones: false });
      await new Promise((r) => setTimeout(r, 1000));
      await caller.pressDigits('*6', 150);
      expect(await caller.waitForPrompt('conf-muted', 0, 5000)).not.toBe('timeout');
      await caller.pressDigits('*6', 150);
      expect(await caller.waitForPrompt('conf-unmuted', 0, 5000)).not.toBe('timeout');
      caller.callerHangup();
      expect((await inMeeting).reason).toBe('hangup');
    }, 30_000);

    test("record: the caller's hang-up ends it and keeps the audio", async () => {
      const { caller, channel } = await call();
      let hungUp = false;
      channel.onHangup(() => (hungUp = true));
      const recording = channel.record({ prompts: [], locale: en, purpose: 'message', beep: true, maxMs: 20_000, silenceMs: 5000, terminators: '#' });
      await beepHeard(caller, channel);
      await caller.speak(1500);
      caller.callerHangup();
      const r = await recording;
      expect(hungUp).toBe(true);
      expect(r.reason).toBe('hangup');
      expect(r.file && existsSync(r.file)).toBe(true);
      expect(Math.abs(r.durationMs - 1500)).toBeLessThan(600);
    }, 30_000);
  });
}
