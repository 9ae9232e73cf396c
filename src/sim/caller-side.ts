/**
 * CallerSide: what a scripted caller (`runSteps` in `scripted-caller.ts`) does and observes on a call. Two
 * implementations:
 * - {@link SimCallChannel} (in-process, on the virtual clock): the IVR's own heard-log, exact and deterministic;
 * - `NetCaller` (`net/net-caller.ts`, over SIP and RTP, in real time): what a caller can tell from the network
 *   alone, prompts recognised in the received audio.
 * The step semantics (README, "What each step does (exactly)") are written once, against this interface.
 */
import type { DtmfSignal } from './dtmf-faults';

/**
 * How a `dtmf` step sends its keys: RFC 4733 telephone-events on the RTP stream, SIP INFO requests, or DTMF tones in
 * the audio. In-process a plain key is delivered at once through the server's DTMF merger; a key with signal options
 * or a fault goes through the server's own decoding (see `sim-dtmf.ts`).
 */
export type DtmfVia = 'rfc4733' | 'info' | 'inband';

/** A prompt the caller heard start. */
export interface HeardItem {
  /** Position in the heard-log. */
  index: number;
  /** The prompt id (`tone:beep` for the beep); null for a recording. Over the network, ids that sound the same are joined with `|`. */
  id: string | null;
  /** The locale it was played in (over the network: the locale it was recognised in). */
  locale?: string;
}

/** A tone a caller heard (in a meeting: another caller's `speak: {toneHz}`), on the scenario clock (ms since the epoch). */
export interface HeardTone {
  /** Its frequency, Hz (over the network: the frequency that was listened for). */
  hz: number;
  /** When it started being heard. */
  at: number;
  /** When it stopped being heard (may lie ahead; Infinity while it sounds, over the network). */
  end: number;
  /** Who it came from (a call id), when the caller can know it (in-process). */
  from?: string;
}

export interface CallerSide {
  /** True once either side ended the call (or it was never answered). */
  readonly ended: boolean;
  /** Who ended it, or null while it is up. */
  readonly endedBy: 'caller' | 'ivr' | null;
  /** When it ended (the scenario clock, ms since the epoch), or null. */
  readonly endedAt: number | null;
  /** Every prompt heard start, in order. */
  readonly heard: readonly HeardItem[];
  /** True while the IVR collects a secret (a PIN): the transcript then masks the keys pressed. */
  readonly collectingSecret: boolean;
  /** Adds a line to the call's transcript. */
  annotate(who: 'caller' | 'sim', text: string): void;
  /**
   * Presses keys: the first now, the next ones `gapMs` apart (from one key's start to the next's). Plain keys
   * without `signal`; with it, each key held `signal.durationMs`, at its level, with its faults (`dtmf-faults.ts`).
   * @returns how many keys were pressed before the call ended
   */
  pressDigits(digits: string, gapMs: number, via?: DtmfVia, signal?: DtmfSignal): Promise<number>;
  /** Talks for `ms` (less when the call ends meanwhile). */
  speak(ms: number): Promise<void>;
  /** Sends a pure tone of `hz` for `ms` as the caller's voice (in a meeting the others hear it, unless muted). */
  speakTone(hz: number, ms: number): Promise<void>;
  /** Every tone heard so far, in order of its start. */
  readonly heardTones: readonly HeardTone[];
  /** Listens for these frequencies from now on (over the network only what is listened for is found). Optional. */
  watchTones?(hz: readonly number[]): void;
  /**
   * Waits until a tone of `hz` (±2 %) is heard at some moment at or after `sinceMs` (scenario clock): one sounding
   * already counts.
   */
  waitForTone(hz: number, sinceMs: number, withinMs: number): Promise<HeardTone | 'timeout' | 'ended'>;
  /** The scenario clock now, ms since the epoch. */
  now(): number;
  /** Waits `ms`, or less when the call ends first. */
  sleepWhileUp(ms: number): Promise<void>;
  /** Hangs up; a no-op when the call has ended. */
  callerHangup(): void;
  /** Waits for a prompt with `id` at heard-log position `from` or later (one heard already counts). */
  waitForPrompt(id: string, from: number, withinMs: number): Promise<HeardItem | 'timeout' | 'ended'>;
  /** Waits until recording number `from + 1` starts (one started already counts); resolves with the count. */
  waitForRecording(from: number, withinMs: number): Promise<number | 'timeout' | 'ended'>;
  /** The heard-log length when recording number `n` (from 0) started. */
  heardIndexAtRecording(n: number): number;
  /**
   * Waits until the caller is in a meeting: the IVR's bridge has taken it in (in-process), or `conf-joining` has
   * played to its end (over the network, where the bridge takes the caller in then). One already joined counts.
   */
  waitForMeeting(withinMs: number): Promise<'in' | 'timeout' | 'ended'>;
  /** Waits until the call ends; who ended it, or `'timeout'`. */
  waitForEnd(withinMs: number): Promise<'caller' | 'ivr' | 'timeout'>;
}
