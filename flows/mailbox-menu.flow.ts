/**
 * A signed-in caller's mailbox: the summary, the main menu, voice mail and personal options (OVA touch-tone keys,
 * [E-CMDS][E-NAV][UMICH], telephony-facts.md §2.9).
 *
 * - Summary: "you have N new voice messages". Main menu: `1` voice mail, `6` personal options, `0` repeat,
 *   `*` sign out (goodbye).
 * - Voice mail: unheard first, newest first; each message: envelope (from, time) then the audio, then `#` next
 *   (keep), `7` delete, `9` mark unheard, `1` replay, `*` main menu. A message becomes heard once played.
 *   Every change of the counts emits `counts.changed` (the MWI issue publishes it).
 * - Personal options: `2` record the personal greeting, `3` change the PIN, `0` repeat, `*` main menu.
 * Invalid keys count toward InputFailuresBeforeDisconnect; unanswered menus repeat `maxPromptRepeats` times.
 */
import { assign, emit, setup } from 'xstate';
import type { Locale } from '../src/domain/locale';
import {
  effectActions,
  run,
  type CountsChangedEvent,
  type DialPlanInfo,
  type FlowEvent,
  type IvrSettings,
  type MailboxInfo,
  type MessageInfo,
} from '../src/flow-kit/effects';
import { announce, collectRequest, isNoInput, outputOf } from '../src/flow-kit/ivr';
import type { CollectResult, PromptItem } from '../src/flow-kit/media-types';
import { pinChangeFlow } from './pin-change.flow';
import { recordingFlow } from './recording.flow';

export interface MailboxMenuInput {
  mailbox: MailboxInfo;
  locale: Locale;
  settings: IvrSettings;
  dialPlan: DialPlanInfo;
}

interface Ctx extends MailboxMenuInput {
  messages: MessageInfo[];
  index: number;
  noInputs: number;
  inputFailures: number;
  preface: PromptItem[];
  result: 'signed-out' | 'hung-up' | 'no-input' | 'too-many-input-failures' | 'pin-not-changed' | 'error';
}

/** The summary sentence: "You have N new voice message(s)." or "You have no new voice messages." */
export function summaryPrompts(messages: MessageInfo[]): PromptItem[] {
  const n = messages.filter((m) => m.unheard).length;
  if (n === 0) return ['no-new-messages'];
  return ['you-have', { number: n }, n === 1 ? 'new-voice-message' : 'new-voice-messages'];
}

/** A message's envelope and audio: "Message from <number>, received at <time>." then the recording. */
export function messagePrompts(m: MessageInfo): PromptItem[] {
  return ['message-from', m.caller ? { digits: m.caller.replace(/^\+/, '') } : 'unknown-caller', 'received-at', { time: m.receivedAt }, { file: m.file }];
}

const collected = (e: unknown) => outputOf<CollectResult>(e);
const key = (k: string) => ({ event }: { event: unknown }) => collected(event).digits === k;
const current = (c: Ctx) => c.messages[c.index];

export const mailboxMenuFlow = setup({
  types: {
    context: {} as Ctx,
    input: {} as MailboxMenuInput,
    events: {} as FlowEvent,
    output: {} as { result: Ctx['result'] },
    emitted: {} as CountsChangedEvent,
  },
  actors: {
    pinChange: pinChangeFlow,
    recording: recordingFlow,
  },
  guards: {
    noInput: ({ event }) => isNoInput(collected(event)),
    repeatsLeft: ({ context }) => context.noInputs + 1 < context.settings.maxPromptRepeats,
    hungUp: ({ event }) => collected(event).reason === 'hangup',
    failuresLeft: ({ context }) => context.inputFailures + 1 < context.dialPlan.inputFailuresBeforeDisconnect,
  },
  actions: {
    ...effectActions,
    countNoInput: assign({ noInputs: ({ context }) => context.noInputs + 1, preface: () => ['no-input'] as PromptItem[] }),
    countInvalid: assign({ inputFailures: ({ context }) => context.inputFailures + 1, noInputs: 0, preface: () => ['invalid-choice'] as PromptItem[] }),
    inputSeen: assign({ noInputs: 0, preface: () => [] as PromptItem[] }),
    noteHangup: assign({ result: 'hung-up' as const }),
    /** Named effect: the runtime provides it (to notify MWI); by default it is emitted to the actor's listeners. */
    countsChanged: emit(({ context }) => ({ type: 'counts.changed' as const, identity: context.mailbox.identity })),
  },
}).createMachine({
  id: 'mailboxMenu',
  context: ({ input }) => ({
    mailbox: input.mailbox,
    locale: input.locale,
    settings: input.settings,
    dialPlan: input.dialPlan,
    messages: [],
    index: 0,
    noInputs: 0,
    inputFailures: 0,
    preface: [],
    result: 'signed-out',
  }),
  initial: 'loading',
  states: {
    loading: {
      entry: run('listMessages', ({ context }: { context: Ctx }) => ({ identity: context.mailbox.identity })),
      exit: 'effect.cancel',
      on: {
        'effect.done.listMessages': { target: 'summary', actions: assign({ messages: ({ event }) => outputOf<MessageInfo[]>(event) }) },
        'effect.error.listMessages': 'error',
      },
    },
    summary: {
      entry: run('play', ({ context }: { context: Ctx }) => ({ prompts: summaryPrompts(context.messages), locale: context.locale, bargeIn: true })),
      exit: 'effect.cancel',
      on: {
        'effect.done.play': 'mainMenu',
        'effect.error.play': 'error',
      },
    },
    mainMenu: {
      entry: run('collect', ({ context }: { context: Ctx }) => collectRequest(context.settings, context.locale, [...context.preface, 'main-menu'], { max: 1 })),
      exit: 'effect.cancel',
      on: {
        'effect.done.collect': [
          { guard: 'hungUp', target: 'done', actions: 'noteHangup' },
          { guard: key('1'), target: 'voiceMailLoading', actions: 'inputSeen' },
          { guard: key('6'), target: 'personalOptions', actions: 'inputSeen' },
          { guard: key('0'), target: 'mainMenu', reenter: true, actions: 'inputSeen' },
          { guard: key('*'), target: 'done', actions: 'inputSeen' },
          { guard: 'noInput', target: 'mainMenuNoInput' },
          { guard: 'failuresLeft', target: 'mainMenu', reenter: true, actions: 'countInvalid' },
          { target: 'tooManyInputFailures' },
        ],
        'effect.error.collect': 'error',
      },
    },
    mainMenuNoInput: {
      always: [{ guard: 'repeatsLeft', target: 'mainMenu', actions: 'countNoInput' }, { target: 'done', actions: assign({ result: 'no-input' }) }],
    },
    voiceMailLoading: {
      entry: run('listMessages', ({ context }: { context: Ctx }) => ({ identity: context.mailbox.identity })),
      exit: 'effect.cancel',
      on: {
        'effect.done.listMessages': [
          { guard: ({ event }) => outputOf<MessageInfo[]>(event).length === 0, target: 'noMessages' },
          { target: 'playingMessage', actions: assign({ messages: ({ event }) => outputOf<MessageInfo[]>(event), index: 0 }) },
        ],
        'effect.error.listMessages': 'error',
      },
    },
    noMessages: announce(['no-messages'], 'mainMenu', { bargeIn: true }),
    playingMessage: {
      entry: run('play', ({ context }: { context: Ctx }) => ({ prompts: messagePrompts(current(context)), locale: context.locale, bargeIn: true })),
      exit: 'effect.cancel',
      on: {
        'effect.done.play': [{ guard: ({ context }) => current(context).unheard, target: 'markingHeard' }, { target: 'messageMenu' }],
        'effect.error.play': 'error',
      },
    },
    markingHeard: {
      entry: run('setMessageHeard', ({ context }: { context: Ctx }) => ({ identity: context.mailbox.identity, id: current(context).id, heard: true })),
      exit: 'effect.cancel',
      on: {
        'effect.done.setMessageHeard': {
          target: 'messageMenu',
          actions: [
            assign({ messages: ({ context }) => context.messages.map((m, i) => (i === context.index ? { ...m, unheard: false } : m)) }),
            'countsChanged',
          ],
        },
        'effect.error.setMessageHeard': 'error',
      },
    },
    messageMenu: {
      entry: run('collect', ({ context }: { context: Ctx }) => collectRequest(context.settings, context.locale, [...context.preface, 'voicemail-menu'], { max: 1 })),
      exit: 'effect.cancel',
      on: {
        'effect.done.collect': [
          { guard: 'hungUp', target: 'done', actions: 'noteHangup' },
          { guard: key('#'), target: 'nextMessage', actions: 'inputSeen' },
          { guard: key('7'), target: 'deleting', actions: 'inputSeen' },
          { guard: key('9'), target: 'markingUnheard', actions: 'inputSeen' },
          { guard: key('1'), target: 'playingMessage', actions: 'inputSeen' },
          { guard: key('*'), target: 'mainMenu', actions: 'inputSeen' },
          { guard: 'noInput', target: 'messageMenuNoInput' },
          { guard: 'failuresLeft', target: 'messageMenu', reenter: true, actions: 'countInvalid' },
          { target: 'tooManyInputFailures' },
        ],
        'effect.error.collect': 'error',
      },
    },
    messageMenuNoInput: {
      always: [{ guard: 'repeatsLeft', target: 'messageMenu', actions: 'countNoInput' }, { target: 'done', actions: assign({ result: 'no-input' }) }],
    },
    nextMessage: {
      always: [
        { guard: ({ context }) => context.index + 1 < context.messages.length, target: 'playingMessage', actions: assign({ index: ({ context }) => context.index + 1 }) },
        { target: 'noMoreMessages' },
      ],
    },
    noMoreMessages: announce(['no-more-messages'], 'mainMenu', { bargeIn: true }),
    deleting: {
      entry: run('deleteMessage', ({ context }: { context: Ctx }) => ({ identity: context.mailbox.identity, id: current(context).id })),
      exit: 'effect.cancel',
      on: {
        'effect.done.deleteMessage': {
          target: 'deleted',
          actions: [
            assign({ messages: ({ context }) => context.messages.filter((_, i) => i !== context.index), index: ({ context }) => context.index - 1 }),
            'countsChanged',
          ],
        },
        'effect.error.deleteMessage': 'error',
      },
    },
    deleted: announce(['message-deleted'], 'nextMessage', { bargeIn: true }),
    markingUnheard: {
      entry: run('setMessageHeard', ({ context }: { context: Ctx }) => ({ identity: context.mailbox.identity, id: current(context).id, heard: false })),
      exit: 'effect.cancel',
      on: {
        'effect.done.setMessageHeard': {
          target: 'markedUnheard',
          actions: [
            assign({ messages: ({ context }) => context.messages.map((m, i) => (i === context.index ? { ...m, unheard: true } : m)) }),
            'countsChanged',
          ],
        },
        'effect.error.setMessageHeard': 'error',
      },
    },
    markedUnheard: announce(['message-marked-unheard'], 'nextMessage', { bargeIn: true }),
    personalOptions: {
      entry: run('collect', ({ context }: { context: Ctx }) => collectRequest(context.settings, context.locale, [...context.preface, 'personal-options-menu'], { max: 1 })),
      exit: 'effect.cancel',
      on: {
        'effect.done.collect': [
          { guard: 'hungUp', target: 'done', actions: 'noteHangup' },
          { guard: key('2'), target: 'recordingGreeting', actions: 'inputSeen' },
          { guard: key('3'), target: 'changingPin', actions: 'inputSeen' },
          { guard: key('0'), target: 'personalOptions', reenter: true, actions: 'inputSeen' },
          { guard: key('*'), target: 'mainMenu', actions: 'inputSeen' },
          { guard: 'noInput', target: 'personalOptionsNoInput' },
          { guard: 'failuresLeft', target: 'personalOptions', reenter: true, actions: 'countInvalid' },
          { target: 'tooManyInputFailures' },
        ],
        'effect.error.collect': 'error',
      },
    },
    personalOptionsNoInput: {
      always: [
        { guard: 'repeatsLeft', target: 'personalOptions', actions: 'countNoInput' },
        { target: 'done', actions: assign({ result: 'no-input' }) },
      ],
    },
    recordingGreeting: {
      invoke: {
        src: 'recording',
        input: ({ context }) => ({
          identity: context.mailbox.identity,
          locale: context.locale,
          settings: context.settings,
          dialPlan: context.dialPlan,
          purpose: 'greeting' as const,
          allowSkip: false,
        }),
        onDone: 'personalOptions',
        onError: 'error',
      },
    },
    changingPin: {
      invoke: {
        src: 'pinChange',
        input: ({ context }) => ({ identity: context.mailbox.identity, locale: context.locale, settings: context.settings, reason: 'requested' as const }),
        onDone: [
          { guard: ({ event }) => outputOf<{ changed: boolean }>(event).changed, target: 'personalOptions' },
          { target: 'done', actions: assign({ result: 'pin-not-changed' }) },
        ],
        onError: 'error',
      },
    },
    tooManyInputFailures: announce(['invalid-choice', 'try-later'], 'done', { entry: assign({ result: 'too-many-input-failures' as const }) }),
    error: { entry: assign({ result: 'error' }), type: 'final' },
    done: { type: 'final' },
  },
  output: ({ context }) => ({ result: context.result }),
});
