/**
 * Conference join: a call to a dial-in conferencing number (seed 003, [T-NOPIN], [T-RESET], telephony-facts.md §1.3).
 *
 * conference ID + `#` (an unknown ID asks once more, then the call ends) -> a meeting already started: join.
 * Not started: "if you are the organizer, press `*`" -> the organizer enters the leader PIN + `#` (three tries, then
 * the call ends) and starts the meeting. Everyone else waits in the lobby with music on hold until it starts, then
 * joins automatically (the seed's behaviour). When the organizer has AllowPSTNOnlyMeetings, a caller who is not the
 * organizer starts the meeting without a PIN; otherwise callers (anonymous ones included) cannot start it.
 */
import { assign, setup } from 'xstate';
import type { Locale } from '../src/config/schema';
import { channelEffects, conferenceEffects, type CallEvent, type IvrSettings, type MeetingInfo } from '../src/flow-kit/effects';
import { announce, collectRequest, isNoInput, outputOf } from '../src/flow-kit/ivr';
import type { CollectResult, ConferenceRole, PromptItem } from '../src/flow-kit/media-types';

/** Leader PIN tries before the call ends (Asterisk ConfBridge and FreeSWITCH `pin-retries`, §3.2–3.3). */
export const LEADER_PIN_TRIES = 3;
/** Unknown conference IDs before the call ends: one retry. */
export const CONFERENCE_ID_TRIES = 2;

export interface ConferenceJoinInput {
  settings: IvrSettings;
  locale: Locale;
  caller: string | null;
}

interface Ctx extends ConferenceJoinInput {
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
    events: {} as CallEvent,
    output: {} as { result: Ctx['result']; conferenceId: string | null; role: ConferenceRole },
  },
  actors: { ...channelEffects, ...conferenceEffects },
  guards: { repeatsLeft: ({ context }) => context.noInputs + 1 < context.settings.maxPromptRepeats },
}).createMachine({
  id: 'conferenceJoin',
  context: ({ input }) => ({ ...input, meeting: null, idFailures: 0, pinFailures: 0, noInputs: 0, preface: [], role: 'participant', result: 'error' }),
  on: { CALLER_HANGUP: { target: '.hungUp' } },
  initial: 'conferenceId',
  states: {
    conferenceId: {
      invoke: {
        src: 'collect',
        input: ({ context }) => collectRequest(context.settings, context.locale, [...context.preface, 'conf-welcome'], { max: 12, terminators: '#' }),
        onDone: [
          { guard: ({ event }) => isNoInput(collected(event)), target: 'conferenceIdNoInput' },
          { target: 'findingMeeting', actions: assign({ noInputs: 0, preface: () => [] as PromptItem[] }) },
        ],
        onError: 'error',
      },
    },
    conferenceIdNoInput: {
      always: [
        { guard: 'repeatsLeft', target: 'conferenceId', actions: assign({ noInputs: ({ context }) => context.noInputs + 1, preface: () => ['no-input'] as PromptItem[] }) },
        { target: 'goodbye', actions: assign({ result: 'no-input' }) },
      ],
    },
    findingMeeting: {
      invoke: {
        src: 'findMeeting',
        input: ({ event }) => ({ conferenceId: collected(event).digits }),
        onDone: [
          {
            guard: ({ event, context }) => outputOf<MeetingInfo | null>(event) === null && context.idFailures + 1 >= CONFERENCE_ID_TRIES,
            target: 'unknownConference',
          },
          {
            guard: ({ event }) => outputOf<MeetingInfo | null>(event) === null,
            target: 'conferenceId',
            actions: assign({ idFailures: ({ context }) => context.idFailures + 1, preface: () => ['conf-id-invalid'] as PromptItem[] }),
          },
          { guard: ({ event }) => outputOf<MeetingInfo>(event).started, target: 'joining', actions: assign({ meeting: ({ event }) => outputOf<MeetingInfo>(event) }) },
          { target: 'organizerQuestion', actions: assign({ meeting: ({ event }) => outputOf<MeetingInfo>(event) }) },
        ],
        onError: 'error',
      },
    },
    unknownConference: { entry: assign({ result: 'unknown-conference' }), ...announce(['conf-id-invalid'], 'goodbye') },
    organizerQuestion: {
      invoke: {
        src: 'collect',
        input: ({ context }) => collectRequest(context.settings, context.locale, ['conf-organizer-question'], { max: 1, flush: true }),
        onDone: [
          { guard: ({ event }) => collected(event).digits === '*', target: 'leaderPin' },
          { guard: ({ context }) => context.meeting!.allowPstnOnlyMeetings, target: 'starting' },
          { target: 'lobby' },
        ],
        onError: 'error',
      },
    },
    leaderPin: {
      invoke: {
        src: 'collect',
        input: ({ context }) => collectRequest(context.settings, context.locale, [...context.preface, 'conf-enter-leader-pin'], { max: 12, terminators: '#', secret: true }),
        onDone: { target: 'verifyingPin' },
        onError: 'error',
      },
    },
    verifyingPin: {
      // The leader PIN goes from the collect result to the check; it is never kept in the context.
      invoke: {
        src: 'verifyLeaderPin',
        input: ({ context, event }) => ({ conferenceId: context.meeting!.conferenceId, pin: collected(event).digits }),
        onDone: [
          { guard: ({ event }) => outputOf<boolean>(event), target: 'starting', actions: assign({ role: 'organizer', preface: () => [] as PromptItem[] }) },
          { guard: ({ context }) => context.pinFailures + 1 >= LEADER_PIN_TRIES, target: 'leaderPinFailed' },
          {
            target: 'leaderPin',
            actions: assign({ pinFailures: ({ context }) => context.pinFailures + 1, preface: () => ['conf-leader-pin-incorrect'] as PromptItem[] }),
          },
        ],
        onError: 'error',
      },
    },
    leaderPinFailed: { entry: assign({ result: 'leader-pin-failed' }), ...announce(['conf-leader-pin-incorrect'], 'goodbye') },
    starting: {
      invoke: {
        src: 'startMeeting',
        input: ({ context }) => ({ conferenceId: context.meeting!.conferenceId }),
        onDone: 'joining',
        onError: 'error',
      },
    },
    lobby: {
      invoke: {
        src: 'play',
        input: ({ context }) => ({ prompts: ['conf-lobby'], locale: context.locale, bargeIn: false }),
        onDone: 'waiting',
        onError: 'error',
      },
    },
    waiting: {
      invoke: [
        { src: 'waitForMeetingStart', input: ({ context }) => ({ conferenceId: context.meeting!.conferenceId }), onDone: 'joining', onError: 'error' },
        { src: 'play', input: ({ context }) => ({ prompts: [{ tone: 'music-on-hold' as const }], locale: context.locale, bargeIn: false, loop: true }) },
      ],
    },
    joining: {
      invoke: {
        src: 'play',
        input: ({ context }) => ({ prompts: ['conf-joining'], locale: context.locale, bargeIn: false }),
        onDone: 'inMeeting',
        onError: 'error',
      },
    },
    inMeeting: {
      // Hanging up is how a caller leaves a meeting.
      on: { CALLER_HANGUP: { target: 'done', actions: assign({ result: 'left' }) } },
      invoke: {
        src: 'joinConference',
        input: ({ context }) => ({ room: context.meeting!.conferenceId, role: context.role }),
        onDone: { target: 'done', actions: assign({ result: 'left' }) },
        onError: 'error',
      },
    },
    goodbye: announce(['goodbye'], 'done'),
    error: { entry: assign({ result: 'error' }), type: 'final' },
    hungUp: { entry: assign({ result: ({ context }) => (context.result === 'error' ? 'hung-up' : context.result) }), type: 'final' },
    done: { type: 'final' },
  },
  output: ({ context }) => ({ result: context.result, conferenceId: context.meeting?.conferenceId ?? null, role: context.role }),
});
