/**
 * The one place where flows are composed: each parent flow gets its child flows, and every flow gets the same
 * effects (`effect.start` / `effect.cancel`, run by one {@link EffectRunner}). The runtime passes real effects;
 * tests pass fakes.
 */
import { callAnsweringFlow } from '../../flows/call-answering.flow';
import { conferenceJoinFlow } from '../../flows/conference-join.flow';
import { firstTimeSetupFlow } from '../../flows/first-time-setup.flow';
import { mailboxMenuFlow } from '../../flows/mailbox-menu.flow';
import { pinChangeFlow } from '../../flows/pin-change.flow';
import { recordingFlow } from '../../flows/recording.flow';
import { signInFlow } from '../../flows/sign-in.flow';
import type { EffectName, MailboxInfo } from '../flow-kit/effects';
import { EffectRunner, type EffectImplementations } from './effect-runner';

/**
 * Provides effects to every flow and wires parents to children.
 * @param effects the implementation of each named effect
 * @param countsChanged called when a flow changes a mailbox's voice-message counts
 * @param onEffectError called with every effect failure (it also reaches the flow as `effect.error.<name>`)
 */
export function composeFlows(
  effects: EffectImplementations,
  countsChanged: (identity: string) => void,
  onEffectError?: (src: EffectName, err: unknown) => void,
) {
  const runner = new EffectRunner(effects, onEffectError);
  const actions = runner.actions;
  const notify = ({ context }: { context: { mailbox: MailboxInfo } }) => countsChanged(context.mailbox.identity);
  const recording = recordingFlow.provide({ actions });
  const pinChange = pinChangeFlow.provide({ actions });
  const firstTimeSetup = firstTimeSetupFlow.provide({ actors: { recording }, actions });
  const mailboxMenu = mailboxMenuFlow.provide({ actors: { recording, pinChange }, actions: { ...actions, countsChanged: notify } });
  return {
    recording,
    pinChange,
    firstTimeSetup,
    mailboxMenu,
    signIn: signInFlow.provide({ actors: { pinChange, firstTimeSetup, mailboxMenu }, actions }),
    callAnswering: callAnsweringFlow.provide({ actions: { ...actions, countsChanged: notify } }),
    conferenceJoin: conferenceJoinFlow.provide({ actions }),
  };
}
