/**
 * Reference for the simulator benchmark: the sign-in flow alone, on xstate, with every effect answered at once
 * (no channel, no clock, no store). It is the ceiling the simulator's figure can approach.
 */
import { createActor, type AnyStateMachine } from 'xstate';
import { composeFlows } from '../src/runtime/flows';
import type { MailboxInfo } from '../src/flow-kit/effects';
import { DEFAULT_IVR_SETTINGS } from '../src/flow-kit/ivr';
import type { CollectResult } from '../src/flow-kit/media-types';

const answers: CollectResult[] = [
  { digits: '51235', reason: 'max' },
  { digits: '739164', reason: 'terminator', terminator: '#' },
  { digits: '*', reason: 'max' },
];
const mailbox: MailboxInfo = { identity: 'david@contoso.com', displayName: 'David', extension: '51235', locale: 'en-US', lockedOut: false, greetingFile: null, nameFile: null };

/** Runs `n` sign-ins through the composed flows with instant fake effects. @returns sign-ins per second */
export async function flowEngineSignIns(n: number): Promise<number> {
  const steps = new WeakMap<object, number>();
  const flows = composeFlows(
    {
      play: () => ({ reason: 'done' }),
      collect: (_input, { system }) => {
        const i = (steps.get(system) ?? -1) + 1;
        steps.set(system, i);
        return answers[Math.min(i, answers.length - 1)];
      },
      lookupExtension: () => mailbox,
      signIn: () => ({ outcome: 'ok', mustChangePin: false, firstTimeUser: false }),
      listMessages: () => [],
    },
    () => undefined,
  );
  const input = {
    settings: DEFAULT_IVR_SETTINGS,
    dialPlan: { name: 'Contoso-DP', numberOfDigitsInExtension: 5, logonFailuresBeforeDisconnect: 3, inputFailuresBeforeDisconnect: 3, maxRecordingMs: 1, recordingIdleMs: 1, locale: 'en-US' },
    caller: '+14255550123',
    callerMailbox: null,
  };
  const run = () =>
    new Promise<void>((resolve, reject) => {
      const actor = createActor(flows.signIn as AnyStateMachine, { input });
      actor.subscribe({
        // A sign-in that did not end signed out measured something else: stop the benchmark.
        complete: () => {
          const result = (actor.getSnapshot().output as { result?: string }).result;
          if (result === 'signed-out') resolve();
          else reject(new Error(`the reference sign-in ended with ${result}`));
        },
        error: reject,
      });
      actor.start();
    });
  for (let i = 0; i < 200; i++) await run();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await run();
  return (n * 1000) / (performance.now() - t0);
}
