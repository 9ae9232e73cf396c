/**
 * References for the simulator benchmark, measured in the same run:
 * - the sign-in flow alone, on xstate, with every effect answered at once (no channel, no clock, no store): the
 *   ceiling the simulator's figure can approach;
 * - the floor under any sign-in on xstate: a bare machine (no context, no actions, no guards) that takes as many
 *   events in as many actors as the sign-in flow does. Whatever a sign-in does besides, it costs at least this.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createActor, setup, type AnyStateMachine } from 'xstate';
import { buildRuntime, openApp } from '../src/app';
import { createLogger } from '../src/log';
import type { CallChannel } from '../src/ports/call-channel';
import { systemClock } from '../src/ports/clock';
import { CallRuntime } from '../src/runtime/call-runtime';
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

/**
 * The effects of one sign-in, in order, by the actor that starts them: the sign-in flow (welcome, extension, lookup,
 * PIN, PIN check), its mailbox-menu child (message list, summary, main menu `*`), the sign-in flow again (goodbye).
 * Each effect's result is one event in; {@link flowEngineSignIns} checks that the flow still starts exactly these.
 */
const SIGN_IN_EFFECTS = { signIn: 5, mailboxMenu: 3, signInAfterMenu: 1 } as const;
export const EFFECTS_PER_SIGN_IN = SIGN_IN_EFFECTS.signIn + SIGN_IN_EFFECTS.mailboxMenu + SIGN_IN_EFFECTS.signInAfterMenu;

/**
 * Runs `n` sign-ins through the composed flows with instant fake effects.
 * @returns sign-ins per second
 * @throws Error when a sign-in does not end signed out, or starts another number of effects than the bare floor
 *   machine takes events (the two references would then measure different things)
 */
export async function flowEngineSignIns(n: number): Promise<number> {
  const steps = new WeakMap<object, number>();
  let effects = 0;
  const counted =
    <A extends unknown[], R>(f: (...args: A) => R) =>
    (...args: A): R => {
      effects++;
      return f(...args);
    };
  const flows = composeFlows(
    {
      play: counted(() => ({ reason: 'done' as const })),
      collect: counted((_input, { system }) => {
        const i = (steps.get(system) ?? -1) + 1;
        steps.set(system, i);
        return answers[Math.min(i, answers.length - 1)];
      }),
      lookupExtension: counted(() => mailbox),
      signIn: counted(() => ({ outcome: 'ok' as const, mustChangePin: false, firstTimeUser: false })),
      listMessages: counted(() => []),
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
  if (effects !== 200 * EFFECTS_PER_SIGN_IN) {
    throw new Error(`a reference sign-in started ${effects / 200} effects; the bare floor machine takes ${EFFECTS_PER_SIGN_IN} events`);
  }
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await run();
  return (n * 1000) / (performance.now() - t0);
}

/**
 * A channel that answers at once: every prompt has played, every collect returns the sign-in's next answer. What a
 * simulator would cost if its channel, clock and caller cost nothing.
 */
export class InstantChannel implements CallChannel {
  readonly callId: string;
  ended = false;
  private step = 0;
  constructor(n: number) {
    this.callId = `instant-${n}`;
  }
  answer = () => Promise.resolve();
  play = () => Promise.resolve({ reason: 'done' as const });
  collect = () => Promise.resolve(answers[Math.min(this.step++, answers.length - 1)]);
  record = () => Promise.reject(new Error('a sign-in records nothing'));
  joinConference = () => Promise.reject(new Error('a sign-in joins no meeting'));
  hangup = () => {
    this.ended = true;
    return Promise.resolve();
  };
  onHangup = () => undefined; // the caller never hangs up first
  onDtmf = () => undefined;
}

/**
 * The ceiling for any simulator: `n` sign-ins through the real {@link CallRuntime} (routing, the store's reads, the
 * flows on xstate, the PIN service's scrypt check and its writes, on a throw-away store of the demo directory with
 * the simulator's PIN hash cost), on a channel that answers every prompt and collect at once, one call after the
 * other. A simulator adds its channel, clock and scripted caller to this.
 * @param pinHashCost the throw-away store's PIN hash cost (log2 N)
 * @returns sign-ins per second
 * @throws Error when a sign-in does not end signed out
 */
export async function runtimeSignIns(n: number, pinHashCost: number, opts: { store?: string; concurrency?: number } = {}): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'va-bench-'));
  const app = await openApp({ config: path.join(__dirname, '..', '..', 'config', 'contoso.yaml'), data: dir, pinHashCost, store: opts.store });
  try {
    const runtime = buildRuntime(app, { clock: systemClock, logger: createLogger({ level: 'silent' }) });
    let calls = 0;
    const run = async () => {
      const record = await runtime.handleCall({ channel: new InstantChannel(calls++), from: '+14255550123', to: '+14255550100' });
      if (record.result !== 'signed-out') throw new Error(`the ceiling's sign-in ended with ${record.result}`);
    };
    // `concurrency` calls at a time, as a server has them (each one's store round trips overlap the others').
    const runMany = async (count: number) => {
      let next = 0;
      const lane = async () => {
        while (next < count) {
          next++;
          await run();
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 1) }, lane));
    };
    await runMany(200);
    const t0 = performance.now();
    await runMany(n);
    return (n * 1000) / (performance.now() - t0);
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const E = { type: 'E' } as const;
/** `count` states named `<name>0`..., each left by event `E` for the next, the last for `next`. */
function chain(name: string, count: number, next: string): Record<string, object> {
  const states: Record<string, object> = {};
  for (let i = 0; i < count; i++) states[`${name}${i}`] = { on: { E: i + 1 < count ? `${name}${i + 1}` : next } };
  return states;
}
const bareMenu = setup({}).createMachine({
  id: 'bareMenu',
  initial: 'm0',
  states: { ...chain('m', SIGN_IN_EFFECTS.mailboxMenu, 'end'), end: { type: 'final' } },
});
const bareSignIn = setup({ actors: { bareMenu } }).createMachine({
  id: 'bareSignIn',
  initial: 's0',
  states: {
    ...chain('s', SIGN_IN_EFFECTS.signIn, 'menu'),
    menu: { invoke: { id: 'menu', src: 'bareMenu', onDone: 'g0' } },
    ...chain('g', SIGN_IN_EFFECTS.signInAfterMenu, 'end'),
    end: { type: 'final' },
  },
});

/**
 * The floor: `n` runs of a bare xstate machine shaped like a sign-in (the events of {@link SIGN_IN_EFFECTS} in a
 * parent actor and one invoked child), sent synchronously: no context, actions, guards, effects or promises.
 * @returns runs per second
 * @throws Error when a run does not reach its final state
 */
export function bareXstateSignIns(n: number): number {
  const run = () => {
    const actor = createActor(bareSignIn);
    actor.start();
    for (let i = 0; i < SIGN_IN_EFFECTS.signIn; i++) actor.send(E);
    const menu = actor.getSnapshot().children.menu;
    if (!menu) throw new Error('the bare machine did not invoke its child');
    for (let i = 0; i < SIGN_IN_EFFECTS.mailboxMenu; i++) menu.send(E);
    for (let i = 0; i < SIGN_IN_EFFECTS.signInAfterMenu; i++) actor.send(E);
    if (actor.getSnapshot().status !== 'done') throw new Error('the bare machine did not reach its final state');
  };
  for (let i = 0; i < 2000; i++) run();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) run();
  return (n * 1000) / (performance.now() - t0);
}
