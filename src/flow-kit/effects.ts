/**
 * The named effects every flow may invoke, as xstate promise actors that throw until provided. The runtime
 * (`runtime/effects.ts`) supplies real ones with `machine.provide({ actors })`; tests supply fakes the same way.
 * Inputs and outputs are plain serialisable data, so an actor's context never holds a live object.
 */
import { fromPromise } from 'xstate';
import type { Locale } from '../config/schema';
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

/** The result of one sign-in attempt (see `directory/pin-service.ts`). */
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

const notProvided = (name: string) => async (): Promise<never> => {
  throw new Error(`effect "${name}" was not provided to the flow`);
};

/** Channel effects (the CallChannel port). */
export const channelEffects = {
  play: fromPromise<PlayResult, PlayRequest>(notProvided('play')),
  collect: fromPromise<CollectResult, CollectRequest>(notProvided('collect')),
  record: fromPromise<RecordResult, RecordRequest>(notProvided('record')),
  joinConference: fromPromise<ConferenceResult, JoinConferenceInput>(notProvided('joinConference')),
};

/** Directory effects (store, PIN service). */
export const directoryEffects = {
  lookupExtension: fromPromise<MailboxInfo | null, { extension: string; dialPlan: string }>(notProvided('lookupExtension')),
  signIn: fromPromise<SignInOutcome, { identity: string; pin: string }>(notProvided('signIn')),
  changePin: fromPromise<PinChangeOutcome, { identity: string; pin: string }>(notProvided('changePin')),
  completeFirstTimeSetup: fromPromise<void, { identity: string }>(notProvided('completeFirstTimeSetup')),
  saveRecording: fromPromise<void, { identity: string; purpose: 'greeting' | 'name'; file: string }>(notProvided('saveRecording')),
  listMessages: fromPromise<MessageInfo[], { identity: string }>(notProvided('listMessages')),
  setMessageHeard: fromPromise<void, { identity: string; id: string; heard: boolean }>(notProvided('setMessageHeard')),
  deleteMessage: fromPromise<void, { identity: string; id: string }>(notProvided('deleteMessage')),
  storeMessage: fromPromise<void, { identity: string; caller: string | null; file: string; durationMs: number }>(notProvided('storeMessage')),
  recordMissedCall: fromPromise<void, { identity: string; caller: string | null }>(notProvided('recordMissedCall')),
};

/** Conferencing effects (meetings, leader PIN, lobby). */
export const conferenceEffects = {
  findMeeting: fromPromise<MeetingInfo | null, { conferenceId: string }>(notProvided('findMeeting')),
  verifyLeaderPin: fromPromise<boolean, { conferenceId: string; pin: string }>(notProvided('verifyLeaderPin')),
  /** Starts the meeting; `admitLobby` lets its lobby in at once (automatic admission). */
  startMeeting: fromPromise<void, { conferenceId: string; admitLobby?: boolean }>(notProvided('startMeeting')),
  /**
   * Waits in the lobby until the caller may enter: `until: 'start'` (default, automatic admission) when the meeting
   * starts (at once if it has), `'admitted'` when an organizer admits the lobby (`*8`).
   */
  waitForMeetingStart: fromPromise<void, { conferenceId: string; until?: 'start' | 'admitted' }>(notProvided('waitForMeetingStart')),
};

/** Every named effect; the runtime provides all of them. */
export const allEffects = { ...channelEffects, ...directoryEffects, ...conferenceEffects };
export type EffectName = keyof typeof allEffects;

/** Events the runtime sends to every flow. */
export type CallEvent = { type: 'CALLER_HANGUP' };

/** Emitted by flows when a mailbox's voice-message counts change (the MWI issue publishes these). */
export type CountsChangedEvent = { type: 'counts.changed'; identity: string };
