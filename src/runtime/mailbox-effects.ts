/**
 * The effects of the mailbox flows (sign-in, PIN change, first-time setup, the voice mail menus, call answering): the
 * store and the PIN service behind the names the flows call, with the log lines and metrics an operator needs (never
 * a PIN). Part of {@link CallRuntime}, which hands it what it knows of each call ({@link MailboxEffectsHost}).
 */
import { statSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import * as path from 'node:path';
import type { Logger } from 'pino';
import type { Locale } from '../domain/locale';
import { ErrorCodes as RecordingErrorCodes, VaError } from '../errors';
import type { PinChangeOutcome, SignInOutcome } from '../flow-kit/effects';
import { callLogger } from '../log';
import { metrics as serverMetrics } from '../metrics';
import type { CallChannel } from '../ports/call-channel';
import type { Store } from '../ports/store';
import type { Mailbox } from '../ports/store/mailboxes';
import type { PinService } from '../services/pin-service';
import type { MailboxEvent } from './call-runtime';
import type { EffectImplementations } from './effect-runner';
import { mailboxInfo } from './flow-inputs';

/** What the mailbox effects need of the runtime. */
export interface MailboxEffectsHost {
  readonly store: Store;
  readonly pins: PinService;
  readonly logger: Logger;
  /** The channel of the call whose flow runs in `system`. @throws Error when there is none */
  channelOf(system: object): CallChannel;
  /**
   * What the runtime keeps of a running call: the mailbox it is about, and the mailbox rows it read for the flow (by
   * identity; the sign-in takes its row from there once), or undefined once the call has ended.
   */
  callOf(channel: CallChannel): { mailbox: string | null; readonly seen: Map<string, Mailbox> } | undefined;
  /** Logs a recording that could not be written, apologises and ends the call. */
  recordingFailed(channel: CallChannel, locale: Locale, err: unknown): Promise<void>;
  /** Reports a new voice message or missed call (SMS and e-mail notifications). */
  mailboxEvent(event: MailboxEvent): void;
}

/** The effects the mailbox flows name. */
export type MailboxEffects = Pick<
  EffectImplementations,
  | 'lookupExtension'
  | 'signIn'
  | 'changePin'
  | 'completeFirstTimeSetup'
  | 'saveRecording'
  | 'listMessages'
  | 'setMessageHeard'
  | 'deleteMessage'
  | 'storeMessage'
  | 'recordMissedCall'
>;

/** Why `file` cannot be a message's audio (missing, not a file, empty), or null when it can. */
function missingAudio(file: string): string | null {
  try {
    const st = statSync(file);
    return !st.isFile() ? 'not a file' : st.size === 0 ? 'empty' : null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}

/** The mailbox flows' effects on `host`'s store and PIN service. */
export function mailboxEffects(host: MailboxEffectsHost): MailboxEffects {
  const { store, pins } = host;
  return {
    lookupExtension: async (input, { system }) => {
      const m = await store.findMailboxByExtension(input.extension, input.dialPlan);
      if (m) host.callOf(host.channelOf(system))?.seen.set(m.identity, m);
      return m ? mailboxInfo(store, m) : null;
    },
    signIn: async (input, { system }): Promise<SignInOutcome> => {
      // The row read at the extension (or own-number) lookup, once: the PIN check's first guess of the counts.
      const channel = host.channelOf(system);
      const call = host.callOf(channel);
      const seen = call?.seen.get(input.identity);
      call?.seen.delete(input.identity);
      const r = await pins.signIn(input.identity, input.pin, seen);
      // What an operator needs, never the PIN: who signed in, each failure with the running count, the reset, the lockout.
      const log = callLogger(host.logger, channel.callId, 'sign-in');
      const mailbox = input.identity;
      if (r.outcome === 'ok') {
        if (call) call.mailbox = mailbox;
        log.info({ mailbox, mustChangePin: r.mustChangePin, firstTimeUser: r.firstTimeUser }, 'signed in');
        return { outcome: 'ok', mustChangePin: r.mustChangePin, firstTimeUser: r.firstTimeUser };
      }
      if (r.outcome === 'locked') {
        serverMetrics.signInFailures.inc({ outcome: 'locked-out' });
        log.info({ mailbox }, 'sign-in refused: the mailbox is locked out');
        return { outcome: 'locked' };
      }
      log.info({ mailbox, failures: r.failures }, 'wrong PIN');
      serverMetrics.signInFailures.inc({ outcome: 'wrong-pin' });
      if (r.action === 'reset') serverMetrics.pinAutomaticResets.inc();
      if (r.action === 'lockout') serverMetrics.lockouts.inc();
      if (r.action === 'reset') log.info({ mailbox, failures: r.failures }, 'PIN reset automatically after failed sign-ins: the new PIN was mailed');
      if (r.action === 'lockout') log.warn({ mailbox, failures: r.failures }, 'mailbox locked out after failed sign-ins: an administrator must unlock it (Set-UMMailboxPIN)');
      return { outcome: 'failed', action: r.action };
    },
    changePin: async (input): Promise<PinChangeOutcome> => {
      const v = await pins.changePin(input.identity, input.pin);
      if (!v) return { ok: true };
      const policy = await store.getPolicy((await store.getMailbox(input.identity)).policy);
      return { ok: false, rule: v.rule, minPinLength: policy.minPinLength, historyCount: policy.pinHistoryCount };
    },
    completeFirstTimeSetup: async (input) => {
      await store.updateMailbox(input.identity, { firstTimeUser: false });
    },
    saveRecording: async (input) => {
      const before = await store.getMailbox(input.identity);
      const old = input.purpose === 'greeting' ? before.greetingFile : before.nameFile;
      await store.updateMailbox(input.identity, input.purpose === 'greeting' ? { greetingFile: input.file } : { nameFile: input.file });
      if (old && old !== input.file) await unlink(old).catch(() => undefined);
    },
    listMessages: async (input) =>
      (await store.listVoiceMessages(input.identity)).map((v) => ({
        id: v.id,
        caller: v.caller,
        receivedAt: v.receivedAt,
        durationMs: v.durationMs,
        unheard: v.unheard,
        urgent: v.urgent,
        file: v.audioFile,
      })),
    setMessageHeard: async (input) => {
      await store.setMessageHeard(input.identity, input.id, input.heard);
    },
    deleteMessage: async (input) => {
      const gone = await store.deleteVoiceMessage(input.identity, input.id);
      if (gone) await unlink(gone.audioFile).catch(() => undefined);
    },
    storeMessage: async (input, { system }) => {
      // DESIGN.md "Media": the audio is complete on disk (written, fsynced, renamed) before its row; a row never
      // names a file that is not there.
      const missing = missingAudio(input.file);
      if (missing) {
        const err = new VaError(RecordingErrorCodes.MEDIA_RECORDING, `the recording ${path.basename(input.file)} is not on disk (${missing}): no message stored`);
        const channel = host.channelOf(system);
        await host.recordingFailed(channel, (await mailboxInfo(store, await store.getMailbox(input.identity))).locale, err);
        throw err;
      }
      const message = await store.addVoiceMessage({
        identity: input.identity,
        caller: input.caller,
        receivedAt: store.now(),
        durationMs: input.durationMs,
        urgent: false,
        audioFile: input.file,
      });
      serverMetrics.voiceMessagesStored.inc();
      callLogger(host.logger, host.channelOf(system).callId, 'call-answering').info(
        { mailbox: input.identity, messageId: message.id, caller: input.caller, durationMs: input.durationMs, file: path.basename(input.file) },
        'voice message stored',
      );
      host.mailboxEvent({ type: 'voice-message', identity: input.identity, message });
    },
    recordMissedCall: async (input) => {
      await store.addMissedCall(input.identity, input.caller);
      host.mailboxEvent({ type: 'missed-call', identity: input.identity, caller: input.caller, at: store.now() });
    },
  };
}
