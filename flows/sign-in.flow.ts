/**
 * Sign-in: a call to an Outlook Voice Access number ([E-OVA], [UMICH], telephony-facts.md §2.9).
 *
 * welcome -> (caller's number matches a mailbox: PIN prompt, `*` gives another extension | extension, the dial
 * plan's digit count, `#` accepted) -> PIN + `#` -> signed in. A wrong PIN is retried; after
 * LogonFailuresBeforeDisconnect failures in this call the caller hears "try again later" and the call ends. The
 * cross-call counters (automatic reset, lockout) are the PIN service's: the caller hears that a new PIN was mailed,
 * or that the mailbox is locked. A locked mailbox is refused before any PIN is asked for. An unknown extension counts
 * toward InputFailuresBeforeDisconnect. Unanswered prompts repeat `maxPromptRepeats` times, then goodbye.
 *
 * Signed in: a forced PIN change (expired or first-time user), first-time setup, then the mailbox menu.
 */
import { assign, setup } from 'xstate';
import type { Locale } from '../src/domain/locale';
import { shouldDisconnect } from '../src/domain/logon-failures';
import {
  effectActions,
  run,
  type DialPlanInfo,
  type FlowEvent,
  type IvrSettings,
  type MailboxInfo,
  type SignInOutcome,
} from '../src/flow-kit/effects';
import { announce, collectRequest, isNoInput, outputOf } from '../src/flow-kit/ivr';
import type { CollectResult, PromptItem } from '../src/flow-kit/media-types';
import { firstTimeSetupFlow } from './first-time-setup.flow';
import { mailboxMenuFlow } from './mailbox-menu.flow';
import { pinChangeFlow } from './pin-change.flow';

export interface SignInInput {
  settings: IvrSettings;
  dialPlan: DialPlanInfo;
  /** The caller's number, or null when withheld. */
  caller: string | null;
  /** The mailbox whose number the caller is calling from, if any (own-phone shortcut, [UMICH]). */
  callerMailbox: MailboxInfo | null;
}

interface Ctx extends SignInInput {
  locale: Locale;
  mailbox: MailboxInfo | null;
  /** Unanswered prompts in a row. */
  noInputs: number;
  /** Unknown extensions in this call (InputFailuresBeforeDisconnect). */
  inputFailures: number;
  /** Wrong PINs in this call (LogonFailuresBeforeDisconnect). */
  logonFailures: number;
  /** What to say before the next question. */
  preface: PromptItem[];
  mustChangePin: boolean;
  firstTimeUser: boolean;
  /** How the call ended, for transcripts and tests. */
  result: string;
}

export type SignInResult =
  | 'hung-up'
  | 'no-input'
  | 'too-many-input-failures'
  | 'too-many-logon-failures'
  | 'locked-out'
  | 'pin-reset'
  | 'pin-not-changed'
  | 'signed-out'
  | 'error';

const collected = (event: unknown) => outputOf<CollectResult>(event);

export const signInFlow = setup({
  types: {
    context: {} as Ctx,
    input: {} as SignInInput,
    events: {} as FlowEvent,
    output: {} as { result: SignInResult; identity: string | null },
  },
  actors: {
    pinChange: pinChangeFlow,
    firstTimeSetup: firstTimeSetupFlow,
    mailboxMenu: mailboxMenuFlow,
  },
  guards: {
    repeatsLeft: ({ context }) => context.noInputs + 1 < context.settings.maxPromptRepeats,
    hasCallerMailbox: ({ context }) => context.callerMailbox !== null,
  },
  actions: {
    ...effectActions,
    noInput: assign({ noInputs: ({ context }) => context.noInputs + 1, preface: () => ['no-input'] as PromptItem[] }),
    inputSeen: assign({ noInputs: 0, preface: () => [] as PromptItem[] }),
  },
}).createMachine({
  id: 'signIn',
  context: ({ input }) => ({
    settings: input.settings,
    dialPlan: input.dialPlan,
    caller: input.caller,
    callerMailbox: input.callerMailbox,
    locale: input.callerMailbox?.locale ?? input.dialPlan.locale,
    mailbox: null,
    noInputs: 0,
    inputFailures: 0,
    logonFailures: 0,
    preface: [],
    mustChangePin: false,
    firstTimeUser: false,
    result: 'error',
  }),
  on: { CALLER_HANGUP: { target: '.hungUp' } },
  initial: 'welcome',
  states: {
    welcome: {
      entry: run('play', ({ context }: { context: Ctx }) => ({ prompts: ['welcome'], locale: context.locale, bargeIn: true })),
      exit: 'effect.cancel',
      on: {
        'effect.done.play': [{ guard: 'hasCallerMailbox', target: 'ownMailboxPin' }, { target: 'extension' }],
        'effect.error.play': 'error',
      },
    },
    extension: {
      entry: run('collect', ({ context }: { context: Ctx }) =>
        collectRequest(context.settings, context.locale, [...context.preface, 'enter-extension'], {
          max: context.dialPlan.numberOfDigitsInExtension,
          terminators: '#',
        }),
      ),
      exit: 'effect.cancel',
      on: {
        'effect.done.collect': [
          { guard: ({ event }) => isNoInput(event.output), target: 'extensionNoInput' },
          { target: 'lookingUp', actions: 'inputSeen' },
        ],
        'effect.error.collect': 'error',
      },
    },
    extensionNoInput: {
      always: [{ guard: 'repeatsLeft', target: 'extension', actions: 'noInput' }, { target: 'goodbye', actions: assign({ result: 'no-input' }) }],
    },
    lookingUp: {
      entry: run('lookupExtension', ({ context, event }: { context: Ctx; event: FlowEvent }) => ({ extension: collected(event).digits, dialPlan: context.dialPlan.name })),
      exit: 'effect.cancel',
      on: {
        'effect.done.lookupExtension': [
          {
            guard: ({ event }) => event.output === null,
            target: 'unknownExtension',
            actions: assign({ inputFailures: ({ context }) => context.inputFailures + 1 }),
          },
          {
            target: 'checkLock',
            actions: assign({
              mailbox: ({ event }) => event.output,
              locale: ({ event }) => event.output!.locale,
            }),
          },
        ],
        'effect.error.lookupExtension': 'error',
      },
    },
    unknownExtension: {
      always: [
        {
          guard: ({ context }) => context.inputFailures >= context.dialPlan.inputFailuresBeforeDisconnect,
          target: 'tooManyInputFailures',
        },
        { target: 'extension', actions: assign({ preface: () => ['extension-invalid'] as PromptItem[] }) },
      ],
    },
    tooManyInputFailures: announce(['extension-invalid', 'try-later'], 'goodbye', { entry: assign({ result: 'too-many-input-failures' }) }),
    ownMailboxPin: {
      entry: [
        assign({ mailbox: ({ context }) => context.callerMailbox }),
        run('collect', ({ context }: { context: Ctx }) =>
          collectRequest(context.settings, context.locale, [...context.preface, 'enter-pin-own-mailbox'], { max: 24, terminators: '#*', secret: true }),
        ),
      ],
      exit: 'effect.cancel',
      on: {
        'effect.done.collect': [
          {
            guard: ({ event }) => event.output.terminator === '*' && event.output.digits === '',
            target: 'extension',
            actions: [assign({ mailbox: null, callerMailbox: null }), 'inputSeen'],
          },
          { guard: ({ event }) => isNoInput(event.output), target: 'ownMailboxNoInput' },
          { guard: ({ context }) => context.callerMailbox!.lockedOut, target: 'lockedOut' },
          { target: 'checkingPin', actions: 'inputSeen' },
        ],
        'effect.error.collect': 'error',
      },
    },
    ownMailboxNoInput: {
      always: [{ guard: 'repeatsLeft', target: 'ownMailboxPin', actions: 'noInput' }, { target: 'goodbye', actions: assign({ result: 'no-input' }) }],
    },
    checkLock: {
      always: [{ guard: ({ context }) => context.mailbox!.lockedOut, target: 'lockedOut' }, { target: 'pin' }],
    },
    pin: {
      entry: run('collect', ({ context }: { context: Ctx }) =>
        collectRequest(context.settings, context.locale, [...context.preface, 'enter-pin'], { max: 24, terminators: '#', secret: true }),
      ),
      exit: 'effect.cancel',
      on: {
        'effect.done.collect': [
          { guard: ({ event }) => isNoInput(event.output), target: 'pinNoInput' },
          { target: 'checkingPin', actions: 'inputSeen' },
        ],
        'effect.error.collect': 'error',
      },
    },
    pinNoInput: {
      always: [{ guard: 'repeatsLeft', target: 'pin', actions: 'noInput' }, { target: 'goodbye', actions: assign({ result: 'no-input' }) }],
    },
    checkingPin: {
      // The PIN goes straight from the collect result to the PIN service: it is never kept in the context.
      entry: run('signIn', ({ context, event }: { context: Ctx; event: FlowEvent }) => ({ identity: context.mailbox!.identity, pin: collected(event).digits })),
      exit: 'effect.cancel',
      on: {
        'effect.done.signIn': [
          {
            guard: ({ event }) => event.output.outcome === 'ok',
            target: 'signedIn',
            actions: assign(({ event }) => {
              const o = event.output as Extract<SignInOutcome, { outcome: 'ok' }>;
              return { mustChangePin: o.mustChangePin, firstTimeUser: o.firstTimeUser };
            }),
          },
          { guard: ({ event }) => event.output.outcome === 'locked', target: 'lockedOut' },
          { guard: ({ event }) => (event.output as { action?: string }).action === 'lockout', target: 'lockedOut' },
          { guard: ({ event }) => (event.output as { action?: string }).action === 'reset', target: 'pinReset' },
          {
            guard: ({ context }) => shouldDisconnect(context.logonFailures + 1, context.dialPlan.logonFailuresBeforeDisconnect),
            target: 'tooManyLogonFailures',
            actions: assign({ logonFailures: ({ context }) => context.logonFailures + 1 }),
          },
          {
            target: 'pin',
            actions: assign({ logonFailures: ({ context }) => context.logonFailures + 1, preface: () => ['pin-incorrect'] as PromptItem[] }),
          },
        ],
        'effect.error.signIn': 'error',
      },
    },
    tooManyLogonFailures: announce(['pin-incorrect', 'try-later'], 'goodbye', { entry: assign({ result: 'too-many-logon-failures' }) }),
    lockedOut: announce(['mailbox-locked'], 'goodbye', { entry: assign({ result: 'locked-out' }) }),
    pinReset: announce(['pin-reset-sent'], 'goodbye', { entry: assign({ result: 'pin-reset' }) }),
    signedIn: {
      always: [
        { guard: ({ context }) => context.mustChangePin, target: 'changingPin' },
        { guard: ({ context }) => context.firstTimeUser, target: 'firstTimeSetup' },
        { target: 'mailboxMenu' },
      ],
    },
    changingPin: {
      invoke: {
        src: 'pinChange',
        input: ({ context }) => ({
          identity: context.mailbox!.identity,
          locale: context.locale,
          settings: context.settings,
          reason: context.firstTimeUser ? ('first-time' as const) : ('expired' as const),
        }),
        onDone: [
          { guard: ({ event }) => !outputOf<{ changed: boolean }>(event).changed, target: 'goodbye', actions: assign({ result: 'pin-not-changed' }) },
          { guard: ({ context }) => context.firstTimeUser, target: 'firstTimeSetup' },
          { target: 'mailboxMenu' },
        ],
        onError: 'error',
      },
    },
    firstTimeSetup: {
      invoke: {
        src: 'firstTimeSetup',
        input: ({ context }) => ({
          identity: context.mailbox!.identity,
          locale: context.locale,
          settings: context.settings,
          dialPlan: context.dialPlan,
        }),
        onDone: 'mailboxMenu',
        onError: 'error',
      },
    },
    mailboxMenu: {
      invoke: {
        src: 'mailboxMenu',
        input: ({ context }) => ({ mailbox: context.mailbox!, locale: context.locale, settings: context.settings, dialPlan: context.dialPlan }),
        onDone: [
          { guard: ({ event }) => outputOf<{ result: string }>(event).result === 'hung-up', target: 'hungUp' },
          { target: 'goodbye', actions: assign({ result: ({ event }) => outputOf<{ result: SignInResult }>(event).result }) },
        ],
        onError: 'error',
      },
    },
    goodbye: announce(['goodbye'], 'done'),
    error: { entry: assign({ result: 'error' }), type: 'final' },
    hungUp: { entry: assign({ result: 'hung-up' }), type: 'final' },
    done: { type: 'final' },
  },
  output: ({ context }) => ({ result: context.result as SignInResult, identity: context.mailbox?.identity ?? null }),
});
