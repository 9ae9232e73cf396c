/**
 * The one place where flows are composed: each parent flow gets its child flows, and every flow gets the same
 * effects. The runtime passes real effects; tests pass fakes.
 */
import type { AnyActorLogic } from 'xstate';
import { callAnsweringFlow } from '../../flows/call-answering.flow';
import { conferenceJoinFlow } from '../../flows/conference-join.flow';
import { firstTimeSetupFlow } from '../../flows/first-time-setup.flow';
import { mailboxMenuFlow } from '../../flows/mailbox-menu.flow';
import { pinChangeFlow } from '../../flows/pin-change.flow';
import { recordingFlow } from '../../flows/recording.flow';
import { signInFlow } from '../../flows/sign-in.flow';
import type { MailboxInfo } from '../flow-kit/effects';

/** Implementations of the named effects (`flow-kit/effects.ts`), by name. */
export type EffectActors = Record<string, AnyActorLogic>;

/**
 * Provides effects to every flow and wires parents to children.
 * @param effects actor logic for each named effect
 * @param countsChanged called when a flow changes a mailbox's voice-message counts
 */
export function composeFlows(effects: EffectActors, countsChanged: (identity: string) => void) {
  const notify = ({ context }: { context: { mailbox: MailboxInfo } }) => countsChanged(context.mailbox.identity);
  const recording = recordingFlow.provide({ actors: effects });
  const pinChange = pinChangeFlow.provide({ actors: effects });
  const firstTimeSetup = firstTimeSetupFlow.provide({ actors: { ...effects, recording } });
  const mailboxMenu = mailboxMenuFlow.provide({ actors: { ...effects, recording, pinChange }, actions: { countsChanged: notify } });
  return {
    recording,
    pinChange,
    firstTimeSetup,
    mailboxMenu,
    signIn: signInFlow.provide({ actors: { ...effects, pinChange, firstTimeSetup, mailboxMenu } }),
    callAnswering: callAnsweringFlow.provide({ actors: effects, actions: { countsChanged: notify } }),
    conferenceJoin: conferenceJoinFlow.provide({ actors: effects }),
  };
}
