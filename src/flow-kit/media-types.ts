/**
 * What a flow asks of a call, as data: prompts to play, digits to collect, audio to record. These are the inputs
 * and outputs of the {@link CallChannel} port's operations, and of the flows' named effects (`play`, `collect`,
 * `record`), so flows stay pure and any channel (simulator, SIP/RTP, drachtio) can serve them.
 */
import type { Locale } from '../domain/locale';

/** The tones of `prompts/tones/` (`src/prompts/catalog.ts` TONES). */
export type ToneId = 'beep' | 'music-on-hold' | 'conf-join' | 'conf-leave';

/**
 * One part of what the caller hears. Sentences are built from parts where numbers are spoken (DESIGN.md, prompts):
 * - a prompt id from `prompts/<locale>/catalog.yaml` (`'enter-pin'`);
 * - `{ number }`: a cardinal (0–100 spoken as one word, larger ones digit by digit);
 * - `{ digits }`: each digit spoken (extensions, caller numbers);
 * - `{ time }`: a time of day (ms since epoch) in the locale's manner (12-hour en-US, 24-hour fr-FR);
 * - `{ file }`: a recorded WAV (greetings, names, messages);
 * - `{ tone }`: a tone from `prompts/tones/` (beep, music on hold, conference entry and exit); `{ tone, ms }` plays it
 *   for `ms` (repeated, the last repetition cut), e.g. 30 s of music on hold between two lobby announcements.
 */
export type PromptItem =
  | string
  | { number: number }
  | { digits: string }
  | { time: number }
  | { file: string }
  | { tone: ToneId; ms?: number };

/** Play prompts. */
export interface PlayRequest {
  prompts: PromptItem[];
  locale: Locale;
  /** Does a digit stop the prompt (the digit is kept as type-ahead)? Default true. */
  bargeIn?: boolean;
  /** Repeat until stopped (music on hold). */
  loop?: boolean;
}

/** Why playing stopped. */
export interface PlayResult {
  reason: 'done' | 'barge-in' | 'hangup' | 'stopped';
}

/**
 * Play optional prompts, then collect digits. Digits typed during the prompts barge in and count (type-ahead), as do
 * digits typed before the request unless `flush` is set.
 */
export interface CollectRequest {
  prompts: PromptItem[];
  locale: Locale;
  /** Stop after this many digits (terminators not counted). */
  max: number;
  /** Keys that end input, e.g. `'#'`; the terminator is reported, not included in `digits`. */
  terminators?: string;
  /** Time allowed for the first digit after the prompts end, ms. */
  firstDigitTimeoutMs: number;
  /** Time allowed between digits, ms. */
  interDigitTimeoutMs: number;
  /** Discard digits typed before this request. */
  flush?: boolean;
  /**
   * The digits are a secret (a PIN or leader PIN): channels must never log, trace or show them (DESIGN.md
   * "Conventions": never log a digit string entered in a PIN state).
   */
  secret?: boolean;
}

/** What was collected. */
export interface CollectResult {
  digits: string;
  reason: 'max' | 'terminator' | 'timeout' | 'hangup';
  terminator?: string;
}

/** What a recording is for: where it is kept and how it is named. */
export type RecordingPurpose = 'message' | 'greeting' | 'name';

/** Play optional prompts (and a beep), then record the caller. */
export interface RecordRequest {
  prompts: PromptItem[];
  locale: Locale;
  purpose: RecordingPurpose;
  beep: boolean;
  /** Longest recording, ms (MaxRecordingDuration). */
  maxMs: number;
  /** Silence that ends the recording, ms (RecordingIdleTimeout). */
  silenceMs: number;
  /** Keys that end the recording, e.g. `'#'`; `'*'` can mean "skip". */
  terminators: string;
}

/** A finished recording. */
export interface RecordResult {
  /** The WAV written atomically (temp file, fsync, rename), or null when nothing was recorded. */
  file: string | null;
  /** Length of the recording, ms (trailing silence removed). */
  durationMs: number;
  /** Did the caller say anything (voice energy above the silence level)? */
  heardSpeech: boolean;
  reason: 'terminator' | 'silence' | 'max' | 'hangup';
  terminator?: string;
}

/** A caller's role in a conference. */
export type ConferenceRole = 'organizer' | 'participant';

/** How a conference leg ended. */
export interface ConferenceResult {
  reason: 'hangup' | 'ended' | 'stopped';
}

/**
 * What a conference leg needs besides its room and role: the caller's locale, and the hooks into the meeting's state
 * (the runtime's `MeetingRooms`) for the in-meeting commands. Not serialisable: the runtime builds it from the flow's
 * plain input; flows never hold it.
 */
export interface ConferenceOptions {
  /** The locale of the prompts this caller hears in the meeting (`conf-muted`, lobby notices). Default `en-US`. */
  locale?: Locale;
  /**
   * Entry and exit tones: everyone in the meeting hears `tone:conf-join` / `tone:conf-leave` when someone joins or
   * leaves ([T-TEN] EnableEntryExitNotifications, ToneOnly; default true).
   */
  entryExitTones?: boolean;
  /**
   * `*8` (Skype for Business AdmitAll, [SFB-DTMF]): lets everyone waiting in the lobby in; given for organizers only.
   * @returns how many callers were admitted
   */
  admitLobby?: () => number;
  /**
   * Tells the caller when someone starts waiting in the lobby (organizers, when the organizer admits the lobby);
   * the listener gets how many wait. @returns a function that stops the notices
   */
  onLobbyArrival?: (listener: (waiting: number) => void) => () => void;
}
