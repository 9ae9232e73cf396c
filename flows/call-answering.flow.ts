/**
 * Call answering: a call diverted from a mailbox's extension, or dialled to it ([S4] item 11, [D-DP]).
 * The personal greeting (or the spoken name, or a default naming the extension) -> a beep -> recording until `#`,
 * RecordingIdleTimeout of silence, MaxRecordingDuration, or the caller hanging up (the usual way to finish) ->
 * the message is stored unheard with the caller and duration, and `counts.changed` is emitted. A caller who hangs up
 * before saying anything leaves no message: that is a missed call, recorded as such.
 */
import { assign, emit, setup } from 'xstate';
import {
  effectActions,
  run,
  type FlowEvent,
  type CountsChangedEvent,
  type DialPlanInfo,
  type IvrSettings,
  type MailboxInfo,
} from '../src/flow-kit/effects';
import { outputOf } from '../src/flow-kit/ivr';
import type { PromptItem, RecordResult } from '../src/flow-kit/media-types';

export interface CallAnsweringInput {
  mailbox: MailboxInfo;
  /** The caller's number, or null when withheld. */
  caller: string | null;
  settings: IvrSettings;
  dialPlan: DialPlanInfo;
}

interface Ctx extends CallAnsweringInput {
  callerGone: boolean;
  result: 'message-left' | 'missed-call' | 'error';
}

/** What the caller hears first: the personal greeting, else the name or extension with the default text. */
export function greetingPrompts(m: MailboxInfo): PromptItem[] {
  if (m.greetingFile) return [{ file: m.greetingFile }];
  if (m.nameFile) return [{ file: m.nameFile }, 'greeting-unavailable'];
  return ['greeting-extension-prefix', { digits: m.extension }, 'greeting-unavailable'];
}

const recorded = (e: unknown) => outputOf<RecordResult>(e);
/** While a message is being recorded or stored, the caller hanging up is the normal end, not an abort. */
const keepGoingOnHangup = { CALLER_HANGUP: { actions: 'noteCallerGone' as const } };

export const callAnsweringFlow = setup({
  types: {
    context: {} as Ctx,
    input: {} as CallAnsweringInput,
    events: {} as FlowEvent,
    output: {} as { result: Ctx['result']; identity: string },
    emitted: {} as CountsChangedEvent,
  },
  actions: {
    ...effectActions,
    noteCallerGone: assign({ callerGone: true }),
    /** Named effect: the runtime provides it (to notify MWI); by default it is emitted to the actor's listeners. */
    countsChanged: emit(({ context }) => ({ type: 'counts.changed' as const, identity: context.mailbox.identity })),
  },
}).createMachine({
  id: 'callAnswering',
  context: ({ input }) => ({ mailbox: input.mailbox, caller: input.caller, settings: input.settings, dialPlan: input.dialPlan, callerGone: false, result: 'error' }),
  on: { CALLER_HANGUP: { target: '.missedCall', actions: 'noteCallerGone' } },
  initial: 'greeting',
  states: {
    greeting: {
      entry: run('play', ({ context }: { context: Ctx }) => ({ prompts: greetingPrompts(context.mailbox), locale: context.mailbox.locale, bargeIn: true })),
      exit: 'effect.cancel',
      on: {
        'effect.done.play': 'recording',
        'effect.error.play': 'error',
      },
    },
    recording: {
      entry: run('record', ({ context }: { context: Ctx }) => ({
        prompts: [],
        locale: context.mailbox.locale,
        purpose: 'message' as const,
        beep: true,
        maxMs: context.dialPlan.maxRecordingMs,
        silenceMs: context.dialPlan.recordingIdleMs,
        terminators: '#',
      })),
      exit: 'effect.cancel',
      on: {
        ...keepGoingOnHangup,
        'effect.done.record': [{ guard: ({ event }) => recorded(event).heardSpeech && recorded(event).file !== null, target: 'storing' }, { target: 'missedCall' }],
        'effect.error.record': 'error',
      },
    },
    storing: {
      entry: run('storeMessage', ({ context, event }: { context: Ctx; event: FlowEvent }) => ({
        identity: context.mailbox.identity,
        caller: context.caller,
        file: recorded(event).file!,
        durationMs: recorded(event).durationMs,
      })),
      exit: 'effect.cancel',
      on: {
        ...keepGoingOnHangup,
        'effect.done.storeMessage': {
          target: 'saved',
          actions: [assign({ result: 'message-left' }), 'countsChanged'],
        },
        'effect.error.storeMessage': 'error',
      },
    },
    saved: {
      always: { guard: ({ context }) => context.callerGone, target: 'done' },
      entry: run('play', ({ context }: { context: Ctx }) => ({ prompts: ['message-saved'], locale: context.mailbox.locale, bargeIn: false })),
      exit: 'effect.cancel',
      on: {
        ...keepGoingOnHangup,
        'effect.done.play': 'done',
        'effect.error.play': 'done',
      },
    },
    missedCall: {
      entry: run('recordMissedCall', ({ context }: { context: Ctx }) => ({ identity: context.mailbox.identity, caller: context.caller })),
      exit: 'effect.cancel',
      on: {
        ...keepGoingOnHangup,
        'effect.done.recordMissedCall': { target: 'missed', actions: assign({ result: 'missed-call' }) },
        'effect.error.recordMissedCall': 'error',
      },
    },
    missed: { type: 'final' },
    error: { entry: assign({ result: 'error' }), type: 'final' },
    done: { type: 'final' },
  },
  output: ({ context }) => ({ result: context.result, identity: context.mailbox.identity }),
});
