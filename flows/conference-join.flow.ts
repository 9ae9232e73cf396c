/**
 * Conference join: a call to a dial-in conferencing number (seed 003, [T-NOPIN], [T-RESET], telephony-facts.md §1.3,
 * §2.8).
 *
 * conference ID + `#` (an unknown ID asks once more, then the call ends). A meeting already started is joined at
 * once (automatic admission). Otherwise "if you are the organizer, press `*`" -> the organizer enters the leader PIN
 * + `#` (three tries, then the call ends; the PIN is checked against the store on every try, so a PIN reset by the
 * cmdlet counts from the next call) and starts the meeting. A caller who may start it without a PIN
 * ({@link mayStartWithoutPin}: the organizer has AllowPSTNOnlyMeetings, and the caller's number is known unless
 * anonymous callers are allowed) starts it; an anonymous caller who would otherwise have been allowed hears
 * `conf-cannot-start` first. Everyone else waits in the lobby: music on hold, looped, with the lobby announcement
 * every `lobbyAnnouncementMs` of music, until:
 * - automatic admission (the default, the seed's behaviour): the meeting starts, then the lobby joins;
 * - organizer admission: an organizer in the meeting presses `*8`. The organizer question is then asked even when
 *   the meeting has started (an organizer calling back in must not end up in the lobby), and callers who may start
 *   the meeting bypass the lobby.
 * In the meeting, `*6` mutes and unmutes and `*8` admits the lobby (the channel's `joinConference`).
 */
import { assign, setup } from 'xstate';
import type { Locale } from '../src/domain/locale';
import {
  DEFAULT_CONFERENCE_SETTINGS,
  effectActions,
  run,
  type FlowEvent,
  type ConferenceSettings,
  type IvrSettings,
  type MeetingInfo,
} from '../src/flow-kit/effects';
import { announce, collectRequest, isNoInput, outputOf } from '../src/flow-kit/ivr';
import type { CollectResult, ConferenceRole, PromptItem } from '../src/flow-kit/media-types';

/** Leader PIN tries before the call ends (Asterisk ConfBridge and FreeSWITCH `pin-retries`, §3.2–3.3). */
export const LEADER_PIN_TRIES = 3;
/** Unknown conference IDs before the call ends: one retry. */
export const CONFERENCE_ID_TRIES = 2;

export interface ConferenceJoinInput {
  settings: IvrSettings;
  locale: Locale;
  /** The caller's number, null when withheld (anonymous). */
  caller: string | null;
  /** The tenant's conferencing settings; {@link DEFAULT_CONFERENCE_SETTINGS} when absent. */
  conference?: ConferenceSettings;
}

/**
 * May this caller start the meeting without a leader PIN? Only when its organizer has AllowPSTNOnlyMeetings ([T-USER]:
 * non-authenticated users can start meetings), and then not when the caller's number is withheld, unless the tenant
 * allows anonymous callers to (seed 003: "by default, anonymous callers cannot start a meeting").
 */
export function mayStartWithoutPin(meeting: MeetingInfo, caller: string | null, settings: ConferenceSettings): boolean {
  return meeting.allowPstnOnlyMeetings && (caller !== null || settings.allowAnonymousMeetingStart);
}

/** What the lobby plays: music on hold, and the announcement every `lobbyAnnouncementMs` of music (looped). */
export function lobbyLoop(settings: ConferenceSettings): PromptItem[] {
  const music: PromptItem = settings.lobbyAnnouncementMs > 0 ? { tone: 'music-on-hold', ms: settings.lobbyAnnouncementMs } : { tone: 'music-on-hold' };
  return settings.lobbyAnnouncementMs > 0 ? [music, lobbyAnnouncement(settings)] : [music];
}

/** The lobby announcement: "the meeting will start when the organizer joins", or "the organizer will let you in". */
export function lobbyAnnouncement(settings: ConferenceSettings): string {
  return settings.lobbyAdmission === 'organizer' ? 'conf-lobby-admit' : 'conf-lobby';
}

interface Ctx extends Omit<ConferenceJoinInput, 'conference'> {
  conference: ConferenceSettings;
  meeting: MeetingInfo | null;
  idFailures: number;
  pinFailures: number;
  noInputs: number;
  preface: PromptItem[];
  role: ConferenceRole;
  result: 'left' | 'unknown-conference' | 'leader-pin-failed' | 'no-input' | 'hung-up' | 'error';
}

const collected = (e: unknown) => outputOf<CollectResult>(e);

export const conferenceJoinFlow = setup({
  types: {
    context: {} as Ctx,
    input: {} as ConferenceJoinInput,
    events: {} as FlowEvent,
    output: {} as { result: Ctx['result']; conferenceId: string | null; role: ConferenceRole },
  },
  actions: effectActions,
  guards: { repeatsLeft: ({ context }) => context.noInputs + 1 < context.settings.maxPromptRepeats },
}).createMachine({
  id: 'conferenceJoin',
  context: ({ input }) => ({
    settings: input.settings,
    locale: input.locale,
    caller: input.caller,
    conference: input.conference ?? { ...DEFAULT_CONFERENCE_SETTINGS },
    meeting: null,
    idFailures: 0,
    pinFailures: 0,
    noInputs: 0,
    preface: [],
    role: 'participant',
    result: 'error',
  }),
  on: { CALLER_HANGUP: { target: '.hungUp' } },
  initial: 'conferenceId',
  states: {
    conferenceId: {
      entry: run('collect', ({ context }: { context: Ctx }) => collectRequest(context.settings, context.locale, [...context.preface, 'conf-welcome'], { max: 12, terminators: '#' })),
      exit: 'effect.cancel',
      on: {
        'effect.done.collect': [
          { guard: ({ event }) => isNoInput(collected(event)), target: 'conferenceIdNoInput' },
          { target: 'findingMeeting', actions: assign({ noInputs: 0, preface: () => [] as PromptItem[] }) },
        ],
        'effect.error.collect': 'error',
      },
    },
    conferenceIdNoInput: {
      always: [
        { guard: 'repeatsLeft', target: 'conferenceId', actions: assign({ noInputs: ({ context }) => context.noInputs + 1, preface: () => ['no-input'] as PromptItem[] }) },
        { target: 'goodbye', actions: assign({ result: 'no-input' }) },
      ],
    },
    findingMeeting: {
      entry: run('findMeeting', ({ event }: { event: FlowEvent }) => ({ conferenceId: collected(event).digits })),
      exit: 'effect.cancel',
      on: {
        'effect.done.findMeeting': [
          {
            guard: ({ event, context }) => outputOf<MeetingInfo | null>(event) === null && context.idFailures + 1 >= CONFERENCE_ID_TRIES,
            target: 'unknownConference',
          },
          {
            guard: ({ event }) => outputOf<MeetingInfo | null>(event) === null,
            target: 'conferenceId',
            actions: assign({ idFailures: ({ context }) => context.idFailures + 1, preface: () => ['conf-id-invalid'] as PromptItem[] }),
          },
          {
            // Automatic admission: a started meeting is joined at once.
            guard: ({ event, context }) => outputOf<MeetingInfo>(event).started && context.conference.lobbyAdmission === 'automatic',
            target: 'joining',
            actions: assign({ meeting: ({ event }) => outputOf<MeetingInfo>(event) }),
          },
          { target: 'organizerQuestion', actions: assign({ meeting: ({ event }) => outputOf<MeetingInfo>(event) }) },
        ],
        'effect.error.findMeeting': 'error',
      },
    },
    unknownConference: announce(['conf-id-invalid'], 'goodbye', { entry: assign({ result: 'unknown-conference' }) }),
    organizerQuestion: {
      entry: run('collect', ({ context }: { context: Ctx }) => collectRequest(context.settings, context.locale, ['conf-organizer-question'], { max: 1, flush: true })),
      exit: 'effect.cancel',
      on: {
        'effect.done.collect': [
          { guard: ({ event }) => collected(event).digits === '*', target: 'leaderPin' },
          { guard: ({ context }) => mayStartWithoutPin(context.meeting!, context.caller, context.conference), target: 'starting' },
          // AllowPSTNOnlyMeetings, but the caller's number is withheld: anonymous callers cannot start it (seed 003).
          { guard: ({ context }) => context.meeting!.allowPstnOnlyMeetings, target: 'cannotStart' },
          { target: 'lobby' },
        ],
        'effect.error.collect': 'error',
      },
    },
    leaderPin: {
      entry: run('collect', ({ context }: { context: Ctx }) => collectRequest(context.settings, context.locale, [...context.preface, 'conf-enter-leader-pin'], { max: 12, terminators: '#', secret: true })),
      exit: 'effect.cancel',
      on: {
        'effect.done.collect': { target: 'verifyingPin' },
        'effect.error.collect': 'error',
      },
    },
    verifyingPin: {
      // The leader PIN goes from the collect result to the check; it is never kept in the context.
      entry: run('verifyLeaderPin', ({ context, event }: { context: Ctx; event: FlowEvent }) => ({ conferenceId: context.meeting!.conferenceId, pin: collected(event).digits })),
      exit: 'effect.cancel',
      on: {
        'effect.done.verifyLeaderPin': [
          { guard: ({ event }) => outputOf<boolean>(event), target: 'starting', actions: assign({ role: 'organizer', preface: () => [] as PromptItem[] }) },
          { guard: ({ context }) => context.pinFailures + 1 >= LEADER_PIN_TRIES, target: 'leaderPinFailed' },
          {
            target: 'leaderPin',
            actions: assign({ pinFailures: ({ context }) => context.pinFailures + 1, preface: () => ['conf-leader-pin-incorrect'] as PromptItem[] }),
          },
        ],
        'effect.error.verifyLeaderPin': 'error',
      },
    },
    leaderPinFailed: announce(['conf-leader-pin-incorrect'], 'goodbye', { entry: assign({ result: 'leader-pin-failed' }) }),
    cannotStart: announce(['conf-cannot-start'], 'lobby'),
    starting: {
      entry: run('startMeeting', ({ context }: { context: Ctx }) => ({ conferenceId: context.meeting!.conferenceId, admitLobby: context.conference.lobbyAdmission === 'automatic' })),
      exit: 'effect.cancel',
      on: {
        'effect.done.startMeeting': 'joining',
        'effect.error.startMeeting': 'error',
      },
    },
    lobby: {
      entry: run('play', ({ context }: { context: Ctx }) => ({ prompts: [lobbyAnnouncement(context.conference)], locale: context.locale, bargeIn: false })),
      exit: 'effect.cancel',
      on: {
        'effect.done.play': 'waiting',
        'effect.error.play': 'error',
      },
    },
    waiting: {
      // Two effects at once: the wait for the meeting, and the lobby music looping until the state is left.
      entry: [
        run('waitForMeetingStart', ({ context }: { context: Ctx }) => ({
          conferenceId: context.meeting!.conferenceId,
          until: context.conference.lobbyAdmission === 'organizer' ? ('admitted' as const) : ('start' as const),
        })),
        run('play', ({ context }: { context: Ctx }) => ({ prompts: lobbyLoop(context.conference), locale: context.locale, bargeIn: false, loop: true })),
      ],
      exit: 'effect.cancel',
      on: {
        'effect.done.waitForMeetingStart': 'joining',
        'effect.error.waitForMeetingStart': 'error',
      },
    },
    joining: {
      entry: run('play', ({ context }: { context: Ctx }) => ({ prompts: ['conf-joining'], locale: context.locale, bargeIn: false })),
      exit: 'effect.cancel',
      on: {
        'effect.done.play': 'inMeeting',
        'effect.error.play': 'error',
      },
    },
    inMeeting: {
      // Hanging up is how a caller leaves a meeting.
      entry: run('joinConference', ({ context }: { context: Ctx }) => ({
        room: context.meeting!.conferenceId,
        role: context.role,
        locale: context.locale,
        lobbyAdmission: context.conference.lobbyAdmission,
        entryExitTones: context.conference.entryExitTones,
      })),
      exit: 'effect.cancel',
      on: {
        CALLER_HANGUP: { target: 'done', actions: assign({ result: 'left' }) },
        'effect.done.joinConference': { target: 'done', actions: assign({ result: 'left' }) },
        'effect.error.joinConference': 'error',
      },
    },
    goodbye: announce(['goodbye'], 'done'),
    error: { entry: assign({ result: 'error' }), type: 'final' },
    hungUp: { entry: assign({ result: ({ context }) => (context.result === 'error' ? 'hung-up' : context.result) }), type: 'final' },
    done: { type: 'final' },
  },
  output: ({ context }) => ({ result: context.result, conferenceId: context.meeting?.conferenceId ?? null, role: context.role }),
});
