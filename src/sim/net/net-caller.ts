/**
 * NetCaller: a scripted caller over the network — the {@link CallerSide} of a real SIP call with RTP, for
 * `voice-access simulate --target udp:HOST:PORT`. It knows only what a caller can tell from the network:
 * - the call: INVITE with our offer (PCMU, PCMA, telephone-event 101) through a {@link SipClient}; a 2xx answers
 *   it, an error status ends it as the IVR's doing (`ivr refuses the call: 404 Not Found`), the server's BYE ends it;
 * - what it hears: the received RTP, decoded, fed to a {@link PromptRecognizer} (both locales of the catalog); each
 *   prompt recognised goes into the heard-log at the time its first sample arrived. Ids that sound the same
 *   (`digit-1`, `number-1`) are one entry, `digit-1|number-1`, matched by any of them;
 * - recording: the IVR is recording once the beep (`tone:beep`) has been received to its end (the server starts
 *   recording when the beep's last packet leaves);
 * - digits: RFC 4733 telephone-events on our RTP stream (80 ms per key), SIP INFO `application/dtmf-relay`, or
 *   DTMF tones in our audio; with a step's signal options and faults, the packets, tones and requests of
 *   `../dtmf-faults.ts` (the same the in-process caller feeds to the server's decoding);
 * - speech: low-level noise (about -29 dBov, above the server's -40 dBov voice threshold) on our RTP stream; a tone
 *   (`speak: {toneHz}`) is a sine at about -12 dBFS;
 * - tones heard (in a meeting, the others' tones): the frequencies the scenario listens for, found in the received
 *   audio by a Goertzel detector (`media/conference-tones.ts`: 60 ms of a block share of at least a quarter);
 * - hang-up: BYE (CANCEL before the answer).
 * Whether the IVR is collecting a PIN cannot be heard: keys are masked in the transcript while the last prompt
 * heard is about a PIN (its id contains `pin`).
 * Times are the scenario's clock (`now()`): real time, plus the idle time the runner skipped.
 */
import { waitFor } from '../../channel/wait-for';
import { sameTone, sineTone, ToneDetector, ToneTracker, type TrackedTone } from '../../media/conference-tones';
import { G711_SAMPLE_RATE, type G711PayloadType } from '../../media/g711';
import type { MediaEngine } from '../../media/media-engine';
import type { Playback, RtpSession } from '../../media/rtp-session';
import type { ToneId } from '../../flow-kit/media-types';
import type { PromptCatalog } from '../../prompts/catalog';
import { answerOffer, createOffer } from '../../sip/embedded/sdp';
import type { OutgoingCall, SipClient, SipTarget } from '../../sip/embedded/sip-client';
import type { CallerSide, DtmfVia, HeardItem, HeardTone } from '../caller-side';
import type { CallCapture } from './call-capture';
import type { DtmfSignal } from '../dtmf-faults';
import { DTMF_KEYS } from '../sim-call-channel';
import { NET_DTMF_KEY_MS, sendNetKeys, type KeyHost } from './net-keys';

export { NET_DTMF_KEY_MS } from './net-keys';
import { PromptRecognizer } from './prompt-recognizer';
import { fillSpeechNoise, SPEECH_SEED } from '../speech-noise';


/** A prompt heard over the network. */
export interface NetHeard extends HeardItem {
  /** The ids, joined with `|` when several sound the same. */
  id: string;
  /** Every id that sounds like it. */
  ids: string[];
  /** When its first sample arrived (scenario clock, ms since the epoch). */
  at: number;
  /** Its text, in the locale it was recognised in. */
  text: string;
  locale: string;
}

/** A line of a network call's transcript (scenario clock, ms since the epoch). */
export interface NetEvent {
  at: number;
  who: 'ivr' | 'caller' | 'sim';
  text: string;
}

/** What a {@link NetCaller} needs. */
export interface NetCallerOptions {
  client: SipClient;
  target: SipTarget;
  /** Our RTP engine (its host is the address written in our SDP). */
  media: MediaEngine;
  /** The address written in our SDP (the RTP engine's host). */
  mediaAddress: string;
  catalog: PromptCatalog;
  /** Locales whose prompts are recognised. */
  locales: readonly string[];
  /** The scenario clock, ms since the epoch. */
  now: () => number;
  to: string;
  from: string | null;
  diversion?: string;
  /** Told the call's timings as they happen (the load runner's aggregates); nothing is kept for it. */
  observer?: NetCallObserver;
  /** Records the call's SIP messages and RTP packets (`--pcap`): told its Call-ID and RTP session. */
  capture?: CallCapture;
}

/**
 * Timings of a network call, measured on the monotonic clock (`performance.now()`), ms. Told as they happen, so a
 * load run keeps aggregates only, never per-call lists. No digit typed is ever passed.
 */
export interface NetCallObserver {
  /** The INVITE got its 2xx: `setupMs` from sending the INVITE to the 2xx (call setup time). */
  answered?(setupMs: number): void;
  /**
   * A prompt was recognised in the received audio: `recognitionMs` from its first sample's arrival to its
   * recognition; `afterDigitMs`, for the first prompt that starts after keys were sent, from the end of the last key
   * (its start plus its duration: the RFC 4733 end, the tone's end; by SIP INFO when the request left) to that
   * prompt's first sample.
   */
  prompt?(p: { ids: readonly string[]; recognitionMs: number; afterDigitMs?: number }): void;
}

/** After `conf-joining` has played, how long until the caller counts as in the meeting (the bridge's join), ms. */
const JOIN_MARGIN_MS = 200;

/** How long after a recognised beep's end the recording counts as started when no more audio came, ms. */
const BEEP_END_GRACE_MS = 200;

/** The recording beep's frequency (`prompts/tones/beep.wav`: 1000 Hz for 400 ms). */
const BEEP_HZ = 1000;

/** A pure 1000 Hz tone at least this long is the beep even when its samples were not recognised, samples (300 ms). */
const BEEP_MIN_SAMPLES = 2400;

export class NetCaller implements CallerSide {
  readonly heard: NetHeard[] = [];
  readonly events: NetEvent[] = [];
  /** Tones heard (the frequencies listened for), in order of their start. */
  readonly heardTones: HeardTone[] = [];
  private readonly toneTracker = new ToneTracker();
  /** Tones still sounding, with the tracker's record of each. */
  private readonly openTones = new Map<TrackedTone, HeardTone>();
  private readonly toneObservers = new Set<(t: HeardTone) => void>();
  private readonly opts: NetCallerOptions;
  private session: RtpSession | null = null;
  private call: OutgoingCall | null = null;
  private recognizer: PromptRecognizer | null = null;
  private _ended = false;
  private _endedBy: 'caller' | 'ivr' | null = null;
  private _endedAt: number | null = null;
  private _answered = false;
  private answeredAt = 0;
  /** performance.now() (ms) when the INVITE left; when the last key sent started; when the last key of a `pressDigits`
   * ended, while no prompt has started since (else null). */
  private invitedPerf = 0;
  private keyStartPerf = 0;
  private lastKeyPerf: number | null = null;
  private sipStatus: { status: number; reason: string } | null = null;
  private readonly recordingMarks: number[] = [];
  /** Stream positions (samples) where beeps heard end: recording starts there. */
  private readonly beepEnds: number[] = [];
  /**
   * The beep by its sound: a media server under load that loses or shifts the beep's first packet hides it from the
   * sample-exact recogniser, but not from a tone detector (a pure tone: 80 % of the energy at 1000 Hz).
   */
  private readonly beepDetector = new ToneDetector(BEEP_HZ, { minShare: 0.8, minLevelDbov: -30 });
  private beepToneStart = -1;
  /** Where the last beep the recogniser found started (stream position), so the detector does not count it again. */
  private lastBeepAt = -Infinity;
  private readonly promptObservers = new Set<(h: NetHeard) => void>();
  private readonly recordObservers = new Set<() => void>();
  private readonly endObservers = new Set<() => void>();
  private readonly answerObservers = new Set<(answered: boolean) => void>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private speechSeed = SPEECH_SEED;

  private constructor(opts: NetCallerOptions) {
    this.opts = opts;
  }

  /**
   * Opens an RTP session and sends the INVITE; resolves at once (the call is in progress).
   * @throws MediaError when no RTP port can be bound
   */
  static async place(opts: NetCallerOptions): Promise<NetCaller> {
    const caller = new NetCaller(opts);
    await caller.start();
    return caller;
  }

  /** The SIP Call-ID (the server logs its result under it). */
  get callId(): string {
    return this.call?.callId ?? '';
  }

  /** The final status of the INVITE, once known. */
  get inviteStatus(): { status: number; reason: string } | null {
    return this.sipStatus;
  }

  get answered(): boolean {
    return this._answered;
  }

  get ended(): boolean {
    return this._ended;
  }

  get endedBy(): 'caller' | 'ivr' | null {
    return this._endedBy;
  }

  get endedAt(): number | null {
    return this._endedAt;
  }

  /** Heuristic: the last prompt heard asks for (or is about) a PIN. */
  get collectingSecret(): boolean {
    const last = this.heard[this.heard.length - 1];
    return !!last && last.ids.some((id) => /pin/i.test(id));
  }

  annotate(who: 'caller' | 'sim', text: string): void {
    this.log(who, text);
  }

  // ------------------------------------------------------------------ call set-up

  private async start(): Promise<void> {
    const { opts } = this;
    const session = await opts.media.openSession({ inbandDtmf: false });
    this.session = session;
    opts.capture?.tapRtp(session);
    const sdp = createOffer({ address: opts.mediaAddress, port: session.localPort, username: 'voice-access-sim' });
    this.invitedPerf = performance.now();
    const call = opts.client.call({ target: opts.target, to: opts.to, from: opts.from, diversion: opts.diversion, sdp });
    this.call = call;
    opts.capture?.follow(call.callId); // before the INVITE leaves: the package sends it on the next tick
    this.log('caller', `calls ${opts.to} from ${opts.from ?? 'anonymous'}${opts.diversion ? ` (diverted from ${opts.diversion})` : ''}: ${call.callId}`);
    call.on('provisional', (status, reason) => {
      if (status !== 100) this.log('ivr', `${status} ${reason}`);
    });
    call.on('answered', (answerSdp) => this.onAnswered(answerSdp));
    call.on('failed', (status, reason) => {
      this.sipStatus = { status, reason };
      this.end('ivr', `the IVR refuses the call: ${status} ${reason}`);
    });
    call.on('ended', (by) => {
      if (by === 'remote') this.end('ivr', 'hangs up (BYE)');
    });
  }

  private onAnswered(answerSdp: string): void {
    const session = this.session!;
    this.sipStatus = { status: 200, reason: 'OK' };
    // The answer is an SDP like an offer: the same reading gives the server's address, codec and telephone-event.
    const negotiated = answerOffer(answerSdp, { address: this.opts.mediaAddress, port: session.localPort });
    if (!negotiated) {
      this.log('sim', 'the answer has no usable audio stream (PCMU or PCMA): hanging up');
      this._answered = true;
      this.callerHangup();
      return;
    }
    const r = negotiated.remote;
    session.setRemote({ address: r.address, port: r.port, payloadType: r.payloadType, telephoneEventPt: r.telephoneEventPt });
    this.recognizer = new PromptRecognizer(this.opts.catalog, this.opts.locales, r.payloadType as G711PayloadType);
    session.on('audio', (pcm) => this.onAudio(pcm));
    this._answered = true;
    this.answeredAt = this.opts.now();
    this.opts.observer?.answered?.(performance.now() - this.invitedPerf);
    this.log('ivr', `answers (${r.payloadType === 0 ? 'PCMU' : 'PCMA'}${r.telephoneEventPt === null ? ', no telephone-event' : ''})`);
    for (const o of [...this.answerObservers]) o(true);
  }

  /** Resolves true once answered, false when the call ended first. */
  private whenAnswered(): Promise<boolean> {
    if (this._answered && !this._ended) return Promise.resolve(true);
    if (this._ended) return Promise.resolve(false);
    return new Promise((resolve) => {
      const o = (answered: boolean) => {
        this.answerObservers.delete(o);
        resolve(answered);
      };
      this.answerObservers.add(o);
    });
  }

  // ------------------------------------------------------------------ what the caller hears

  private onAudio(pcm: Int16Array): void {
    const rec = this.recognizer;
    if (!rec || this._ended) return;
    const hits = rec.feed(pcm);
    const now = this.opts.now();
    const perfNow = hits.length > 0 ? performance.now() : 0;
    for (const hit of hits) {
      const ago = ((rec.position - hit.atSample) * 1000) / G711_SAMPLE_RATE;
      this.observePrompt(hit.ids, perfNow, ago);
      const first = hit.sources[0];
      const text = first ? this.textOf(first.id, first.locale) : '';
      const h: NetHeard = {
        index: this.heard.length,
        id: hit.ids.join('|'),
        ids: hit.ids,
        // When its first sample arrived, as far as the stream tells (never before the answer: bursts of catch-up packets).
        at: Math.max(this.answeredAt, Math.round(now - ago)),
        text,
        locale: first?.locale ?? '',
      };
      this.heard.push(h);
      this.events.push({ at: h.at, who: 'ivr', text: `plays ${h.id}${h.locale && !h.id.startsWith('tone:') ? ` [${h.locale}]` : ''} "${text}"` });
      if (hit.ids.includes('tone:beep')) {
        this.lastBeepAt = hit.atSample;
        const end = hit.atSample + hit.lengthSamples;
        this.beepEnds.push(end);
        // A media server that records sends nothing after the beep (FreeSWITCH), and the beep's last packet may never
        // come: the recording has started once the beep's time has passed, audio or not.
        const left = Math.max(0, ((end - rec.position) * 1000) / G711_SAMPLE_RATE);
        this.timer(() => this.beepPlayed(Infinity), left + BEEP_END_GRACE_MS);
      }
      for (const o of [...this.promptObservers]) o(h);
    }
    for (const c of this.beepDetector.feed(pcm)) {
      if (c.kind === 'start') this.beepToneStart = c.atSample;
      else if (this.beepToneStart >= 0) {
        const start = this.beepToneStart;
        this.beepToneStart = -1;
        if (c.atSample - start >= BEEP_MIN_SAMPLES && Math.abs(start - this.lastBeepAt) > BEEP_MIN_SAMPLES) this.beepByItsTone(start, rec.position, now);
      }
    }
    this.trackTones(pcm, now);
    this.beepPlayed(rec.position);
  }

  /**
   * Tells the observer about a recognised prompt whose first sample arrived `ago` ms before `perfNow`. One that started
   * before the last key ended (less 40 ms: packet times) is one the keys barged into, not the prompt after them.
   */
  private observePrompt(ids: readonly string[], perfNow: number, ago: number): void {
    const observer = this.opts.observer?.prompt;
    if (!observer) return;
    const after = this.lastKeyPerf === null ? -Infinity : perfNow - ago - this.lastKeyPerf;
    if (after >= -40) this.lastKeyPerf = null;
    observer(after >= -40 ? { ids, recognitionMs: ago, afterDigitMs: Math.max(0, after) } : { ids, recognitionMs: ago });
  }

  /** A beep the recogniser missed, found by its tone (it has ended): heard, and the recording has started. */
  private beepByItsTone(startSample: number, position: number, now: number): void {
    const h: NetHeard = {
      index: this.heard.length,
      id: 'tone:beep',
      ids: ['tone:beep'],
      at: Math.max(this.answeredAt, Math.round(now - ((position - startSample) * 1000) / G711_SAMPLE_RATE)),
      text: this.textOf('tone:beep', this.opts.locales[0] ?? 'en-US'),
      locale: '',
    };
    this.heard.push(h);
    this.events.push({ at: h.at, who: 'ivr', text: `plays tone:beep "${h.text}" (found by its tone)` });
    for (const o of [...this.promptObservers]) o(h);
    this.lastBeepAt = startSample;
    this.beepEnds.push(position);
  }

  /** Marks the recordings whose beep has ended by stream position `position` (Infinity: every beep heard). */
  private beepPlayed(position: number): void {
    while (this.beepEnds.length > 0 && position >= this.beepEnds[0] && !this._ended) {
      this.beepEnds.shift();
      this.recordingMarks.push(this.heard.length);
      this.log('ivr', 'records (the beep has played)');
      for (const o of [...this.recordObservers]) o();
    }
  }

  /** Feeds the tone tracker; tones that start or end become heard-tone records (times from the stream position). */
  private trackTones(pcm: Int16Array, now: number): void {
    const tracker = this.toneTracker;
    const started = tracker.feed(pcm);
    const timeOf = (sample: number) => Math.max(this.answeredAt, Math.round(now - ((tracker.position - sample) * 1000) / G711_SAMPLE_RATE));
    for (const [tracked, heard] of this.openTones) {
      if (tracked.endSample === Infinity) continue;
      heard.end = timeOf(tracked.endSample);
      this.openTones.delete(tracked);
    }
    for (const t of started) {
      const heard: HeardTone = { hz: t.hz, at: timeOf(t.startSample), end: t.endSample === Infinity ? Infinity : timeOf(t.endSample) };
      this.heardTones.push(heard);
      if (heard.end === Infinity) this.openTones.set(t, heard);
      this.events.push({ at: heard.at, who: 'caller', text: `hears a ${t.hz} Hz tone` });
      for (const o of [...this.toneObservers]) o(heard);
    }
  }

  private textOf(id: string, locale: string): string {
    try {
      if (id.startsWith('tone:')) return this.opts.catalog.render([{ tone: id.slice(5) as ToneId }], locale)[0].text;
      return this.opts.catalog.text(id, locale);
    } catch {
      return '';
    }
  }

  // ------------------------------------------------------------------ what the caller does

  async pressDigits(digits: string, gapMs: number, via: DtmfVia = 'rfc4733', signal?: DtmfSignal): Promise<number> {
    for (const d of digits) if (!DTMF_KEYS.includes(d)) throw new Error(`"${d}" in "${digits}" is not a DTMF key (${DTMF_KEYS})`);
    if (!(await this.whenAnswered())) return 0;
    const sent = await sendNetKeys(this.keyHost(), digits, gapMs, via, signal);
    // The last key is over when its signal ends (the server counts an RFC 4733 key at its first end packet, a tone
    // at its end), or, by INFO, when the request left.
    if (sent > 0 && !this._ended) this.lastKeyPerf = this.keyStartPerf + (via === 'info' ? 0 : (signal?.durationMs ?? NET_DTMF_KEY_MS));
    return sent;
  }

  /** What the key senders (`net-keys.ts`) use of this call. */
  private keyHost(): KeyHost {
    return {
      call: this.call!,
      session: this.session!,
      ended: () => this._ended,
      sleepWhileUp: (ms) => this.sleepWhileUp(ms),
      log: (who, text) => this.log(who, text),
      keyStarted: (perf) => (this.keyStartPerf = perf),
    };
  }

  async speak(ms: number): Promise<void> {
    if (this._ended || ms <= 0) return;
    if (!(await this.whenAnswered())) return;
    const pcm = new Int16Array(Math.round((ms * G711_SAMPLE_RATE) / 1000));
    this.speechSeed = fillSpeechNoise(pcm, this.speechSeed);
    this.log('caller', `speaks for ${ms / 1000}s`);
    const playback: Playback = this.session!.play(pcm);
    await Promise.race([playback.done, this.sleepWhileUp(ms + 100)]);
    playback.stop();
  }

  async speakTone(hz: number, ms: number): Promise<void> {
    if (this._ended || ms <= 0) return;
    if (!(await this.whenAnswered())) return;
    this.log('caller', `sends a ${hz} Hz tone for ${ms / 1000}s`);
    const playback: Playback = this.session!.play(sineTone(hz, ms));
    await Promise.race([playback.done, this.sleepWhileUp(ms + 100)]);
    playback.stop();
  }

  watchTones(hz: readonly number[]): void {
    for (const f of hz) this.toneTracker.watch(f);
  }

  waitForTone(hz: number, sinceMs: number, withinMs: number): Promise<HeardTone | 'timeout' | 'ended'> {
    this.toneTracker.watch(hz);
    const fits = (t: HeardTone) => sameTone(t.hz, hz) && t.end > sinceMs;
    const already = this.heardTones.find(fits);
    if (already) return Promise.resolve(already);
    if (this._ended) return Promise.resolve('ended');
    return waitFor({ ...this.waitTimers(), withinMs, events: this.toneObservers, match: (t: HeardTone) => (fits(t) ? t : undefined), ends: this.endObservers });
  }

  now(): number {
    return this.opts.now();
  }

  sleepWhileUp(ms: number): Promise<void> {
    if (this._ended) return Promise.resolve();
    return new Promise((resolve) => {
      const onEnd = () => {
        this.clear(t);
        resolve();
      };
      const t = this.timer(() => {
        this.endObservers.delete(onEnd);
        resolve();
      }, ms);
      this.endObservers.add(onEnd);
    });
  }

  callerHangup(): void {
    if (this._ended) return;
    this.end('caller', 'hangs up');
    void this.call?.hangup();
  }

  // ------------------------------------------------------------------ waiting

  waitForPrompt(id: string, from: number, withinMs: number): Promise<NetHeard | 'timeout' | 'ended'> {
    for (let i = from; i < this.heard.length; i++) if (this.heard[i].ids.includes(id)) return Promise.resolve(this.heard[i]);
    if (this._ended) return Promise.resolve('ended');
    return waitFor({
      ...this.waitTimers(),
      withinMs,
      events: this.promptObservers,
      match: (h: NetHeard) => (h.ids.includes(id) ? h : undefined),
      ends: this.endObservers,
    });
  }

  /**
   * In a meeting once `conf-joining` has played to its end (the server's bridge takes the caller in then), with
   * {@link JOIN_MARGIN_MS} for the last packets; the latest `conf-joining` heard counts.
   */
  async waitForMeeting(withinMs: number): Promise<'in' | 'timeout' | 'ended'> {
    const started = this.now();
    let joining = [...this.heard].reverse().find((h) => h.ids.includes('conf-joining'));
    if (!joining) {
      const r = await this.waitForPrompt('conf-joining', this.heard.length, withinMs);
      if (r === 'timeout' || r === 'ended') return r;
      joining = r;
    }
    const end = joining.at + this.opts.catalog.render(['conf-joining'], joining.locale)[0].durationMs + JOIN_MARGIN_MS;
    const wait = end - this.now();
    if (wait > 0) {
      if (this.now() - started + wait > withinMs) return 'timeout';
      await this.sleepWhileUp(wait);
    }
    return this._ended ? 'ended' : 'in';
  }

  waitForRecording(from: number, withinMs: number): Promise<number | 'timeout' | 'ended'> {
    if (this.recordingMarks.length > from) return Promise.resolve(this.recordingMarks.length);
    if (this._ended) return Promise.resolve('ended');
    return waitFor({ ...this.waitTimers(), withinMs, events: this.recordObservers, match: () => this.recordingMarks.length, ends: this.endObservers });
  }

  heardIndexAtRecording(n: number): number {
    return this.recordingMarks[n];
  }

  waitForEnd(withinMs: number): Promise<'caller' | 'ivr' | 'timeout'> {
    if (this._ended) return Promise.resolve(this._endedBy!);
    return waitFor({ ...this.waitTimers(), withinMs, events: this.endObservers, match: () => this._endedBy! }) as Promise<'caller' | 'ivr' | 'timeout'>;
  }

  /** This caller's timers as {@link waitFor} takes them. */
  private waitTimers() {
    return { setTimer: (fn: () => void, ms: number) => this.timer(fn, ms), clearTimer: (h: unknown) => this.clear(h as NodeJS.Timeout) };
  }


  /** Resolves when the call has ended (no bound: the runner hangs up calls that outlive the scenario's timeout). */
  whenEnded(): Promise<void> {
    if (this._ended) return Promise.resolve();
    return new Promise((resolve) => this.endObservers.add(() => resolve()));
  }

  // ------------------------------------------------------------------ internals

  private end(by: 'caller' | 'ivr', text: string): void {
    if (this._ended) return;
    this._ended = true;
    this._endedBy = by;
    this._endedAt = this.opts.now();
    this.log(by, text);
    this.session?.close();
    for (const o of [...this.answerObservers]) o(false);
    for (const o of [...this.endObservers]) o();
    this.endObservers.clear();
  }

  private log(who: NetEvent['who'], text: string): void {
    this.events.push({ at: this.opts.now(), who, text });
  }

  private timer(fn: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, Math.max(0, ms));
    this.timers.add(t);
    return t;
  }

  private clear(t: NodeJS.Timeout): void {
    clearTimeout(t);
    this.timers.delete(t);
  }
}
