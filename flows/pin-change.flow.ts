/**
 * PIN change (OVA personal options key 3, and forced for an expired PIN or a first-time user, [E-CMDS][S1]):
 * new PIN + `#`, the same again + `#`. A policy violation is spoken with its reason (too short, common pattern,
 * extension tail, used before); a mismatch asks again; three failed tries end without changing anything
 * (Asterisk's and Kazoo's limit, telephony-facts.md §3.2). Output: `{ changed }`.
 */
import { assign, setup } from 'xstate';
import type { Locale } from '../src/domain/locale';
import { effectActions, run, type FlowEvent, type IvrSettings, type PinChangeOutcome } from '../src/flow-kit/effects';
import { announce, collectRequest, isNoInput, outputOf } from '../src/flow-kit/ivr';
import type { CollectResult, PromptItem } from '../src/flow-kit/media-types';

/** Failed tries (violation, mismatch, no input) before the change is abandoned. */
export const PIN_CHANGE_TRIES = 3;

export interface PinChangeInput {
  identity: string;
  locale: Locale;
  settings: IvrSettings;
  /** Why the change is asked for: the first prompt differs. */
  reason: 'expired' | 'first-time' | 'requested';
}

interface Ctx extends PinChangeInput {
  failures: number;
  changed: boolean;
  /** The first entry, kept only between the two prompts (never logged; the context is not persisted). */
  firstEntry: string;
  /** What to say before asking again. */
  complaint: PromptItem[];
}

/** The prompts that explain a refused PIN, by rule. */
export function violationPrompts(o: Extract<PinChangeOutcome, { ok: false }>): PromptItem[] {
  switch (o.rule) {
    case 'too-short':
      return ['pin-too-short', { number: o.minPinLength }, 'digits'];
    case 'too-long':
      return ['pin-too-long'];
    case 'common-pattern':
      return ['pin-common-pattern'];
    case 'extension-tail':
      return ['pin-extension-tail'];
    case 'used-before':
      return ['pin-used-before'];
    default:
      return ['invalid-choice'];
  }
}

export const pinChangeFlow = setup({
  types: {
    context: {} as Ctx,
    input: {} as PinChangeInput,
    events: {} as FlowEvent,
    output: {} as { changed: boolean },
  },
  guards: {
    triesLeft: ({ context }) => context.failures + 1 < PIN_CHANGE_TRIES,
  },
  actions: {
    ...effectActions,
    countFailure: assign({ failures: ({ context }) => context.failures + 1 }),
  },
}).createMachine({
  id: 'pinChange',
  context: ({ input }) => ({
    identity: input.identity,
    locale: input.locale,
    settings: input.settings,
    reason: input.reason,
    failures: 0,
    changed: false,
    firstEntry: '',
    complaint: input.reason === 'expired' ? ['pin-expired'] : input.reason === 'first-time' ? ['first-time-welcome'] : [],
  }),
  initial: 'enterNew',
  states: {
    enterNew: {
      entry: run('collect', ({ context }: { context: Ctx }) =>
          collectRequest(context.settings, context.locale, [...context.complaint, 'enter-new-pin'], { max: 24, terminators: '#', flush: true, secret: true })),
      exit: 'effect.cancel',
      on: {
        'effect.done.collect': [
          {
            guard: ({ event }) => isNoInput(outputOf<CollectResult>(event)) || outputOf<CollectResult>(event).digits === '',
            target: 'retryOrGiveUp',
            actions: assign({ complaint: () => ['no-input'] as PromptItem[] }),
          },
          {
            target: 'confirm',
            actions: assign({ firstEntry: ({ event }) => outputOf<CollectResult>(event).digits, complaint: () => [] as PromptItem[] }),
          },
        ],
        'effect.error.collect': 'failed',
      },
    },
    confirm: {
      entry: run('collect', ({ context }: { context: Ctx }) => collectRequest(context.settings, context.locale, ['reenter-new-pin'], { max: 24, terminators: '#', secret: true })),
      exit: 'effect.cancel',
      on: {
        'effect.done.collect': [
          {
            guard: ({ context, event }) => outputOf<CollectResult>(event).digits !== context.firstEntry,
            target: 'retryOrGiveUp',
            actions: assign({ complaint: () => ['pin-mismatch'] as PromptItem[], firstEntry: '' }),
          },
          { target: 'saving' },
        ],
        'effect.error.collect': 'failed',
      },
    },
    saving: {
      entry: run('changePin', ({ context }: { context: Ctx }) => ({ identity: context.identity, pin: context.firstEntry })),
      exit: 'effect.cancel',
      on: {
        'effect.done.changePin': [
          {
            guard: ({ event }) => outputOf<PinChangeOutcome>(event).ok,
            target: 'changed',
            actions: assign({ firstEntry: '', changed: true }),
          },
          {
            target: 'retryOrGiveUp',
            actions: assign({
              firstEntry: '',
              complaint: ({ event }) => violationPrompts(outputOf<Extract<PinChangeOutcome, { ok: false }>>(event)),
            }),
          },
        ],
        'effect.error.changePin': 'failed',
      },
    },
    retryOrGiveUp: {
      always: [
        { guard: 'triesLeft', target: 'enterNew', actions: 'countFailure' },
        { target: 'notChanged', actions: 'countFailure' },
      ],
    },
    changed: announce(['pin-changed'], 'done', { bargeIn: true }),
    notChanged: {
      entry: run('play', ({ context }: { context: Ctx }) => ({ prompts: [...context.complaint, 'pin-not-changed'], locale: context.locale })),
      exit: 'effect.cancel',
      on: {
        'effect.done.play': 'gaveUp',
        'effect.error.play': 'gaveUp',
      },
    },
    failed: { type: 'final' },
    gaveUp: { type: 'final' },
    done: { type: 'final' },
  },
  output: ({ context }) => ({ changed: context.changed }),
});
