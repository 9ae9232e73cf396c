/**
 * Reference for the simulator benchmark: the sign-in flow alone, on xstate, with every effect answered at once
 * (no channel, no clock, no store). It is the ceiling the simulator's figure can approach.
 */
import { createActor, fromPromise, type AnyStateMachine } from 'xstate';
import { composeFlows } from '../src/runtime/flows';
import { DEFAULT_IVR_SETTINGS } from '../src/flow-kit/ivr';

const answers = [
  { digits: '51235', reason: 'max' },
  { digits: '739164', reason: 'terminator', terminator: '#' },
  { digits: '*', reason: 'max' },
];
const mailbox = { identity: 'david@contoso.com', displayName: 'David', extension: '51235', locale: 'en-US', lockedOut: false, greetingFile: null, nameFile: null };

/** Runs `n` sign-ins through the composed flows with instant fake effects. @returns sign-ins per second */
export async function flowEngineSignIns(n: number): Promise<number> {
  const flows = composeFlows(
    {
      play: fromPromise(async () => ({ reason: 'done' })),
      collect: fromPromise(async ({ input, system }: { input: unknown; system: any }) => {
        void input;
        const i = (system._benchStep = (system._benchStep ?? -1) + 1);
        return answers[Math.min(i, answers.length - 1)];
      }),
      lookupExtension: fromPromise(async () => mailbox),
      signIn: fromPromise(async () => ({ outcome: 'ok', mustChangePin: false, firstTimeUser: false })),
      listMessages: fromPromise(async () => []),
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
      actor.subscribe({ complete: () => resolve(), error: reject });
      actor.start();
    });
  for (let i = 0; i < 200; i++) await run();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await run();
  return (n * 1000) / (performance.now() - t0);
}
