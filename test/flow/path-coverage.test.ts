/**
 * Path coverage with xstate/graph: for each flow, every final state is reached by a shortest path through the
 * machine, with the effects completing with representative outputs (right and wrong PINs, each menu key, timeouts,
 * hang-ups, failures). `createTestModel` cannot be used on machines with `invoke` (model-code.md), so the
 * traversal's `events` function supplies the results of what each snapshot waits for: `effect.done.<name>` /
 * `effect.error.<name>` for the effects its states handle, `xstate.done.actor.<id>` for the child flows it invoked.
 * Flows that end in one `done` state with a `result` in their context are also checked result by result.
 */
import type { AnyStateMachine } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { callAnsweringFlow } from '../../flows/call-answering.flow';
import { conferenceJoinFlow } from '../../flows/conference-join.flow';
import { firstTimeSetupFlow } from '../../flows/first-time-setup.flow';
import { mailboxMenuFlow } from '../../flows/mailbox-menu.flow';
import { pinChangeFlow } from '../../flows/pin-change.flow';
import { recordingFlow } from '../../flows/recording.flow';
import { signInFlow } from '../../flows/sign-in.flow';
import type { DialPlanInfo, MailboxInfo } from '../../src/flow-kit/effects';
import { DEFAULT_IVR_SETTINGS } from '../../src/flow-kit/ivr';

const settings = { ...DEFAULT_IVR_SETTINGS, maxPromptRepeats: 2 };
const dialPlan: DialPlanInfo = {
  name: 'DP',
  numberOfDigitsInExtension: 5,
  logonFailuresBeforeDisconnect: 2,
  inputFailuresBeforeDisconnect: 2,
  maxRecordingMs: 60_000,
  recordingIdleMs: 5000,
  locale: 'en-US',
};
const mailbox: MailboxInfo = { identity: 'a@b.c', displayName: 'A', extension: '51234', locale: 'en-US', lockedOut: false, greetingFile: null, nameFile: null };
const message = (unheard: boolean) => ({ id: 'm1', caller: '123', receivedAt: 0, durationMs: 1000, unheard, urgent: false, file: '/m.wav' });

const KEYS = ['0', '1', '2', '3', '5', '6', '7', '9', '#', '*'];
/** Representative outputs of every effect and child flow, by `src` name. */
const SAMPLES: Record<string, unknown[]> = {
  play: [{ reason: 'done' }],
  collect: [
    { digits: '', reason: 'timeout' },
    { digits: '', reason: 'terminator', terminator: '*' },
    { digits: '51234', reason: 'terminator', terminator: '#' },
    { digits: '', reason: 'hangup' },
    ...KEYS.map((d) => ({ digits: d, reason: 'max' })),
  ],
  record: [
    { file: '/r.wav', durationMs: 3000, heardSpeech: true, reason: 'terminator', terminator: '#' },
    { file: null, durationMs: 0, heardSpeech: false, reason: 'silence' },
    { file: null, durationMs: 0, heardSpeech: false, reason: 'terminator', terminator: '*' },
    { file: '/r.wav', durationMs: 2000, heardSpeech: true, reason: 'hangup' },
  ],
  joinConference: [{ reason: 'hangup' }],
  lookupExtension: [null, mailbox, { ...mailbox, lockedOut: true }],
  signIn: [
    { outcome: 'ok', mustChangePin: false, firstTimeUser: false },
    { outcome: 'ok', mustChangePin: true, firstTimeUser: true },
    { outcome: 'ok', mustChangePin: true, firstTimeUser: false },
    { outcome: 'locked' },
    { outcome: 'failed', action: 'retry' },
    { outcome: 'failed', action: 'reset' },
    { outcome: 'failed', action: 'lockout' },
  ],
  changePin: [{ ok: true }, { ok: false, rule: 'too-short', minPinLength: 6, historyCount: 5 }],
  listMessages: [[], [message(true)], [message(false)]],
  findMeeting: [
    null,
    { conferenceId: '1234', organizer: 'o', allowPstnOnlyMeetings: false, started: false },
    { conferenceId: '1234', organizer: 'o', allowPstnOnlyMeetings: true, started: false },
    { conferenceId: '1234', organizer: 'o', allowPstnOnlyMeetings: false, started: true },
  ],
  verifyLeaderPin: [true, false],
  pinChange: [{ changed: true }, { changed: false }],
  recording: [{ saved: true }, { saved: false }],
  mailboxMenu: [{ result: 'signed-out' }],
};
const VOID = [undefined];

/** Final state names of a machine's top level. */
function finalStates(m: AnyStateMachine): string[] {
  return Object.entries(m.root.states)
    .filter(([, s]) => s.type === 'final')
    .map(([k]) => k);
}

/** The effects the snapshot's active states wait for (the `effect.done.<name>` events they handle). */
function awaitedEffects(snapshot: any): string[] {
  const names = new Set<string>();
  for (const node of snapshot._nodes as { on?: Record<string, unknown> }[]) {
    for (const type of Object.keys(node.on ?? {})) if (type.startsWith('effect.done.')) names.add(type.slice('effect.done.'.length));
  }
  return [...names];
}

function eventsFor(snapshot: any, hangup: boolean) {
  const events: any[] = [];
  for (const src of awaitedEffects(snapshot)) {
    for (const output of SAMPLES[src] ?? VOID) events.push({ type: `effect.done.${src}`, output });
    events.push({ type: `effect.error.${src}`, error: new Error('effect failed') });
  }
  for (const [id, ref] of Object.entries<any>(snapshot.children ?? {})) {
    const src = typeof ref.src === 'string' ? ref.src : '';
    for (const output of SAMPLES[src] ?? VOID) events.push({ type: `xstate.done.actor.${id}`, output, actorId: id });
    events.push({ type: `xstate.error.actor.${id}`, error: new Error('effect failed'), actorId: id });
  }
  if (hangup) events.push({ type: 'CALLER_HANGUP' });
  return events;
}

const FLOWS: [string, AnyStateMachine, unknown, boolean, string[]][] = [
  [
    'signIn',
    signInFlow,
    { settings, dialPlan, caller: '1', callerMailbox: mailbox },
    true,
    ['hung-up', 'no-input', 'too-many-input-failures', 'too-many-logon-failures', 'locked-out', 'pin-reset', 'pin-not-changed', 'signed-out', 'error'],
  ],
  ['pinChange', pinChangeFlow, { identity: 'a@b.c', locale: 'en-US', settings, reason: 'expired' }, false, []],
  ['recording', recordingFlow, { identity: 'a@b.c', locale: 'en-US', settings, dialPlan, purpose: 'greeting', allowSkip: true }, false, []],
  ['firstTimeSetup', firstTimeSetupFlow, { identity: 'a@b.c', locale: 'en-US', settings, dialPlan }, false, []],
  ['mailboxMenu', mailboxMenuFlow, { mailbox, locale: 'en-US', settings, dialPlan }, false, ['signed-out', 'no-input', 'too-many-input-failures', 'pin-not-changed', 'error']],
  ['callAnswering', callAnsweringFlow, { mailbox, caller: '1', settings, dialPlan }, true, ['message-left', 'missed-call', 'error']],
  ['conferenceJoin', conferenceJoinFlow, { settings, locale: 'en-US', caller: null }, true, ['left', 'unknown-conference', 'leader-pin-failed', 'no-input', 'hung-up', 'error']],
];

const ONLY = process.env.FLOW;
describe.each(FLOWS.filter((f) => !ONLY || f[0] === ONLY))('%s: every final state is reachable', (_name, machine, input, hangup, results) => {
  const paths = getShortestPaths(machine, { input, events: (s: any) => eventsFor(s, hangup) } as any);
  const finals = paths.filter((p) => p.state.status === 'done');
  const reached = new Set(finals.map((p) => String(p.state.value)));
  const outcomes = new Set(finals.map((p) => (p.state.context as { result?: string }).result));
  it.each(finalStates(machine))('reaches the final state %s', (finalState) => {
    expect(reached.has(finalState)).toBe(true);
  });
  if (results.length)
    it.each(results)('ends with result %s', (result) => {
      expect(outcomes.has(result)).toBe(true);
    });
});

/**
 * Every state that waits for an effect cancels it on exit and handles its failure: otherwise a result could reach a
 * later state, or a failed effect would leave the call waiting for ever.
 */
describe.each(FLOWS.map((f) => [f[0], f[1]] as const))('%s: effect states', (_name, machine) => {
  const states = Object.entries(machine.root.states).filter(([, node]) => Object.keys(node.on).some((t) => t.startsWith('effect.done.')));
  it('has effect states', () => {
    expect(states.length).toBeGreaterThan(0);
  });
  it.each(states.map(([key, node]) => [key, node] as const))('%s cancels on exit and handles effect.error', (_key, node) => {
    expect(node.exit.map((a: any) => a.type ?? a)).toContain('effect.cancel');
    for (const t of Object.keys(node.on).filter((t) => t.startsWith('effect.done.'))) {
      expect(Object.keys(node.on)).toContain(t.replace('effect.done.', 'effect.error.'));
    }
  });
});
