/**
 * The named effects every flow may use, and how a flow uses them (DESIGN.md, "The call model": flows name their
 * effects; the runtime provides them).
 *
 * An effect is not an invoked actor: a state starts it with the `effect.start` action on entry (see {@link run}),
 * cancels what it still waits for with `effect.cancel` on exit, and moves on when the result arrives as an event,
 * `effect.done.<name>` with the `output`, or `effect.error.<name>` with the `error`. The runtime provides the two
 * actions (`runtime/effect-runner.ts`) with `machine.provide({ actions })`; tests provide fakes the same way
 * (`test/flow/fake-effects.ts`). Inputs and outputs are plain serialisable data, so a context never holds a live
 * object. (An invoked promise actor per prompt or digit string cost a full child actor each, about half of a call's
 * time in the state engine; events carry the same results for a fraction of it. Child flows stay invoked machines.)
 */
import type { Locale } from '../domain/locale';
import type {
  CollectRequest,
  CollectResult,
  ConferenceResult,
  ConferenceRole,
  PlayRequest,
  PlayResult,
  RecordRequest,
  RecordResult,
} from './media-types';

/** Timeouts and repeats for every wait of a flow (config `ivr:`; telephony-facts.md §5.6). */
export interface IvrSettings {
  /** Time for the first digit after a prompt, ms (default 10 000). */
  firstDigitTimeoutMs: number;
  /** Time between digits, ms (default 5 000). */
  interDigitTimeoutMs: number;
  /** How many times an unanswered prompt is repeated before a goodbye (default 3). */
  maxPromptRepeats: number;
}

/** The dial plan settings a call needs ([D-DP]). */
export interface DialPlanInfo {
  name: string;
  numberOfDigitsInExtension: number;
  logonFailuresBeforeDisconnect: number;
  inputFailuresBeforeDisconnect: number;
  /** MaxRecordingDuration, ms. */
  maxRecordingMs: number;
  /** RecordingIdleTimeout, ms. */
  recordingIdleMs: number;
  /** DefaultLanguage. */
  locale: Locale;
}

/** A mailbox as a flow sees it: no PIN, no hash. */
export interface MailboxInfo {
  identity: string;
  displayName: string;
  extension: string;
  /** The mailbox's language, or its dial plan's. */
  locale: Locale;
  lockedOut: boolean;
  greetingFile: string | null;
  nameFile: string | null;
}

/** The result of one sign-in attempt (see `services/pin-service.ts`). */
export type SignInOutcome =
  | { outcome: 'ok'; mustChangePin: boolean; firstTimeUser: boolean }
  | { outcome: 'locked' }
  | { outcome: 'failed'; action: 'retry' | 'reset' | 'lockout' };

/** Why a chosen PIN was refused, by rule (`domain/pin-policy.ts`), with the policy's minimum length for the prompt. */
export type PinChangeOutcome = { ok: true } | { ok: false; rule: string; minPinLength: number; historyCount: number };

/** A voice message as a flow sees it. */
export interface MessageInfo {
  id: string;
  caller: string | null;
  receivedAt: number;
  durationMs: number;
  unheard: boolean;
  urgent: boolean;
  file: string;
}

/** A meeting reachable by conference ID. */
export interface MeetingInfo {
  conferenceId: string;
  organizer: string;
  /** AllowPSTNOnlyMeetings of the organizer: anyone may start it without a PIN. */
  allowPstnOnlyMeetings: boolean;
  started: boolean;
}

/** Who lets lobby callers into a started meeting (config `conferencing.lobbyAdmission`). */
export type LobbyAdmission = 'automatic' | 'organizer';

/** The tenant's dial-in conferencing settings a conference call needs (config `conferencing:`, seed 003). */
export interface ConferenceSettings {
  /**
   * `automatic` (default, seed 003): when the organizer starts the meeting the lobby joins, and later callers join at
   * once. `organizer`: the organizer admits the lobby with `*8` (Skype for Business AdmitAll, [SFB-DTMF]); callers
   * who cannot start the meeting wait in the lobby until admitted, before and after it starts.
   */
  lobbyAdmission: LobbyAdmission;
  /** May a caller whose number is withheld start a meeting whose organizer has AllowPSTNOnlyMeetings? (seed 003: no) */
  allowAnonymousMeetingStart: boolean;
  /** Music on hold between two lobby announcements, ms; 0: the announcement is played once, on arrival. */
  lobbyAnnouncementMs: number;
  /** Entry and exit tones in the meeting ([T-TEN] EnableEntryExitNotifications, default true). */
  entryExitTones: boolean;
}

/** The defaults of {@link ConferenceSettings} (the seed's behaviour). */
export const DEFAULT_CONFERENCE_SETTINGS: Readonly<ConferenceSettings> = Object.freeze({
  lobbyAdmission: 'automatic',
  allowAnonymousMeetingStart: false,
  lobbyAnnouncementMs: 30_000,
  entryExitTones: true,
});

/** What the `joinConference` effect gets from the conference flow (plain data; the runtime adds the hooks). */
export interface JoinConferenceInput {
  room: string;
  role: ConferenceRole;
  locale?: Locale;
  lobbyAdmission?: LobbyAdmission;
  entryExitTones?: boolean;
}

/**
 * Every named effect: its input and its output. `play`, `collect`, `record` and `joinConference` act on the call's
 * channel (the CallChannel port); the others on the store, the PIN service and the meetings.
 */
export interface EffectSignatures {
  play: { input: PlayRequest; output: PlayResult };
  collect: { input: CollectRequest; output: CollectResult };
  record: { input: RecordRequest; output: RecordResult };
  joinConference: { input: JoinConferenceInput; output: ConferenceResult };
  lookupExtension: { input: { extension: string; dialPlan: string }; output: MailboxInfo | null };
  signIn: { input: { identity: string; pin: string }; output: SignInOutcome };
  changePin: { input: { identity: string; pin: string }; output: PinChangeOutcome };
  completeFirstTimeSetup: { input: { identity: string }; output: void };
  saveRecording: { input: { identity: string; purpose: 'greeting' | 'name'; file: string }; output: void };
  listMessages: { input: { identity: string }; output: MessageInfo[] };
  setMessageHeard: { input: { identity: string; id: string; heard: boolean }; output: void };
  deleteMessage: { input: { identity: string; id: string }; output: void };
  storeMessage: { input: { identity: string; caller: string | null; file: string; durationMs: number }; output: void };
  recordMissedCall: { input: { identity: string; caller: string | null }; output: void };
  findMeeting: { input: { conferenceId: string }; output: MeetingInfo | null };
  verifyLeaderPin: { input: { conferenceId: string; pin: string }; output: boolean };
  /** Starts the meeting; `admitLobby` lets its lobby in at once (automatic admission). */
  startMeeting: { input: { conferenceId: string; admitLobby?: boolean }; output: void };
  /**
   * Waits in the lobby until the caller may enter: `until: 'start'` (default, automatic admission) when the meeting
   * starts (at once if it has), `'admitted'` when an organizer admits the lobby (`*8`).
   */
  waitForMeetingStart: { input: { conferenceId: string; until?: 'start' | 'admitted' }; output: void };
}

/** The name of a named effect. */
export type EffectName = keyof EffectSignatures;
/** What an effect is given. */
export type EffectInput<K extends EffectName> = EffectSignatures[K]['input'];
/** What an effect produces. */
export type EffectOutput<K extends EffectName> = EffectSignatures[K]['output'];

/** What `effect.start` is given: the effect's name and its input. */
export interface EffectRequest<K extends EffectName = EffectName> {
  src: K;
  input: EffectInput<K>;
}

/** An effect finished: its output, to the flow that started it. */
export type EffectDoneEvent = { [K in EffectName]: { type: `effect.done.${K}`; output: EffectOutput<K> } }[EffectName];
/** An effect failed (it threw or rejected). */
export type EffectErrorEvent = { [K in EffectName]: { type: `effect.error.${K}`; error: unknown } }[EffectName];

/** Events the runtime sends to every flow. */
export type CallEvent = { type: 'CALLER_HANGUP' };

/** Every event a flow receives: the call's, and its effects' results. */
export type FlowEvent = CallEvent | EffectDoneEvent | EffectErrorEvent;

/**
 * The two actions every flow declares in its `setup()` (spread `effectActions` into `actions`). Until provided,
 * starting an effect throws, so a flow run without a runtime fails loudly; cancelling is a no-op.
 */
export const effectActions = {
  'effect.start': (_: unknown, params: EffectRequest): void => {
    throw new Error(`effect "${params.src}" was not provided to the flow`);
  },
  'effect.cancel': (): void => {},
};

/**
 * The entry action that starts an effect (`entry: run('collect', ({ context }) => ...)`); the state also says
 * `exit: 'effect.cancel'` and handles `effect.done.<name>` (and `effect.error.<name>`). The input is computed from
 * the context and the event that entered the state, as an invoke's input would be.
 * @param src the effect's name; @param input its input, or a function of `{ context, event }`
 */
export function run<K extends EffectName, TContext>(
  src: K,
  input: EffectInput<K> | ((args: { context: TContext; event: FlowEvent }) => EffectInput<K>),
): { type: 'effect.start'; params: (args: { context: TContext; event: FlowEvent }) => EffectRequest<K> } {
  const compute = typeof input === 'function' ? (input as (args: { context: TContext; event: FlowEvent }) => EffectInput<K>) : () => input;
  return { type: 'effect.start', params: (args) => ({ src, input: compute(args) }) };
}

/** Emitted by flows when a mailbox's voice-message counts change (the MWI issue publishes these). */
export type CountsChangedEvent = { type: 'counts.changed'; identity: string };
