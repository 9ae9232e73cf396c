/**
 * Record a spoken name or the personal greeting, then review it: `#` stops, `1` accepts, `2` records again
 * (OVA recording grammar, [E-NAV]); `*` before saying anything skips when skipping is allowed (first-time setup).
 * Output: `{ saved }`.
 */
import { assign, setup } from 'xstate';
import type { Locale } from '../src/domain/locale';
import { effectActions, run, type DialPlanInfo, type FlowEvent, type IvrSettings } from '../src/flow-kit/effects';
import { announce, collectRequest, isNoInput, outputOf } from '../src/flow-kit/ivr';
import type { CollectResult, PromptItem, RecordResult } from '../src/flow-kit/media-types';

/** Longest greeting: MaxGreetingDuration's default, 5 minutes ([D-POL]); a spoken name is at most 10 s. */
export const MAX_GREETING_MS = 5 * 60_000;
export const MAX_NAME_MS = 10_000;

export interface RecordingInput {
  identity: string;
  locale: Locale;
  settings: IvrSettings;
  dialPlan: DialPlanInfo;
  purpose: 'greeting' | 'name';
  allowSkip: boolean;
}

interface Ctx extends RecordingInput {
  file: string | null;
  noInputs: number;
  preface: PromptItem[];
  saved: boolean;
}

const recorded = (e: unknown) => outputOf<RecordResult>(e);
const collected = (e: unknown) => outputOf<CollectResult>(e);

export const recordingFlow = setup({
  types: { context: {} as Ctx, input: {} as RecordingInput, events: {} as FlowEvent, output: {} as { saved: boolean } },
  actions: effectActions,
  guards: { repeatsLeft: ({ context }) => context.noInputs + 1 < context.settings.maxPromptRepeats },
}).createMachine({
  id: 'recording',
  context: ({ input }) => ({
    identity: input.identity,
    locale: input.locale,
    settings: input.settings,
    dialPlan: input.dialPlan,
    purpose: input.purpose,
    allowSkip: input.allowSkip,
    file: null,
    noInputs: 0,
    preface: [],
    saved: false,
  }),
  initial: 'recording',
  states: {
    recording: {
      entry: run('record', ({ context }: { context: Ctx }) => ({
        prompts: [...context.preface, context.purpose === 'name' ? 'record-name' : 'record-greeting'],
        locale: context.locale,
        purpose: context.purpose,
        beep: true,
        maxMs: context.purpose === 'name' ? MAX_NAME_MS : MAX_GREETING_MS,
        silenceMs: context.dialPlan.recordingIdleMs,
        terminators: context.allowSkip ? '#*' : '#',
      })),
      exit: 'effect.cancel',
      on: {
        'effect.done.record': [
          { guard: ({ event }) => recorded(event).reason === 'hangup', target: 'skipped' },
          { guard: ({ context, event }) => context.allowSkip && recorded(event).terminator === '*' && !recorded(event).heardSpeech, target: 'skipped' },
          {
            guard: ({ event }) => recorded(event).file !== null,
            target: 'review',
            actions: assign({ file: ({ event }) => recorded(event).file, noInputs: 0, preface: () => [] as PromptItem[] }),
          },
          {
            guard: 'repeatsLeft',
            target: 'recording',
            reenter: true,
            actions: assign({ noInputs: ({ context }) => context.noInputs + 1, preface: () => ['no-input'] as PromptItem[] }),
          },
          { target: 'skipped' },
        ],
        'effect.error.record': 'skipped',
      },
    },
    review: {
      entry: run('collect', ({ context }: { context: Ctx }) => collectRequest(context.settings, context.locale, [...context.preface, 'recording-review'], { max: 1, flush: true })),
      exit: 'effect.cancel',
      on: {
        'effect.done.collect': [
          { guard: ({ event }) => collected(event).digits === '1', target: 'saving' },
          { guard: ({ event }) => collected(event).digits === '2', target: 'recording', actions: assign({ preface: () => [] as PromptItem[], file: null }) },
          { guard: ({ event }) => collected(event).reason === 'hangup', target: 'skipped' },
          // Neither 1 nor 2 (no input or another key): ask again, a bounded number of times, then discard.
          { guard: ({ context }) => context.noInputs + 1 >= context.settings.maxPromptRepeats, target: 'skipped' },
          {
            target: 'review',
            reenter: true,
            actions: assign({
              noInputs: ({ context }) => context.noInputs + 1,
              preface: ({ event }) => [isNoInput(collected(event)) ? 'no-input' : 'invalid-choice'] as PromptItem[],
            }),
          },
        ],
        'effect.error.collect': 'skipped',
      },
    },
    saving: {
      entry: run('saveRecording', ({ context }: { context: Ctx }) => ({ identity: context.identity, purpose: context.purpose, file: context.file! })),
      exit: 'effect.cancel',
      on: {
        'effect.done.saveRecording': { target: 'confirmSaved', actions: assign({ saved: true }) },
        'effect.error.saveRecording': 'skipped',
      },
    },
    confirmSaved: announce(['recording-saved'], 'done', { bargeIn: true }),
    skipped: { type: 'final' },
    done: { type: 'final' },
  },
  output: ({ context }) => ({ saved: context.saved }),
});
