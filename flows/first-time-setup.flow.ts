/**
 * First-time setup, after the forced PIN change of a first-time user ([E-NAV], [S1]; order per telephony-facts.md
 * §2.9 ASSUMPTION: PIN first, then name, then greeting): record the spoken name, then the personal greeting; each may
 * be skipped with `*`. FirstTimeUser becomes false when the setup completes (even with both skipped).
 */
import { setup } from 'xstate';
import type { Locale } from '../src/domain/locale';
import { effectActions, run, type DialPlanInfo, type FlowEvent, type IvrSettings } from '../src/flow-kit/effects';
import { announce } from '../src/flow-kit/ivr';
import { recordingFlow, type RecordingInput } from './recording.flow';

export interface FirstTimeSetupInput {
  identity: string;
  locale: Locale;
  settings: IvrSettings;
  dialPlan: DialPlanInfo;
}

/** The recording flow's input for the name or the greeting (skippable here). */
function recordingInput(context: FirstTimeSetupInput, purpose: 'name' | 'greeting'): RecordingInput {
  return { identity: context.identity, locale: context.locale, settings: context.settings, dialPlan: context.dialPlan, purpose, allowSkip: true };
}

export const firstTimeSetupFlow = setup({
  types: { context: {} as FirstTimeSetupInput, input: {} as FirstTimeSetupInput, events: {} as FlowEvent },
  actors: { recording: recordingFlow },
  actions: effectActions,
}).createMachine({
  id: 'firstTimeSetup',
  context: ({ input }) => input,
  initial: 'name',
  states: {
    name: {
      invoke: {
        src: 'recording',
        input: ({ context }) => recordingInput(context, 'name'),
        onDone: 'greeting',
        onError: 'greeting',
      },
    },
    greeting: {
      invoke: {
        src: 'recording',
        input: ({ context }) => recordingInput(context, 'greeting'),
        onDone: 'completing',
        onError: 'completing',
      },
    },
    completing: {
      entry: run('completeFirstTimeSetup', ({ context }: { context: FirstTimeSetupInput }) => ({ identity: context.identity })),
      exit: 'effect.cancel',
      on: {
        'effect.done.completeFirstTimeSetup': 'complete',
        'effect.error.completeFirstTimeSetup': 'done',
      },
    },
    complete: announce(['setup-complete'], 'done'),
    done: { type: 'final' },
  },
});
