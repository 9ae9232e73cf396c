/**
 * Voice messages for the administrator (issue 21, "voice messages per mailbox: list, the WAV audio as `audio/wav`,
 * delete, which updates the lamp"): shared by the `Remove-VoiceMessage` cmdlet, the HTTP API and the web pages. The
 * rules are the IVR's own: a message is its row and its WAV file (written before the row, DESIGN.md "Media"); a
 * deletion removes the row, then the file (as the mailbox menu's "delete" does, `runtime/call-runtime.ts`), and a
 * changed count is a lamp change (MWI, seed 004 [S4]).
 */
import { stat, unlink } from 'node:fs/promises';
import { ErrorCodes, VaError } from '../errors';
import type { MailboxRepository } from '../ports/store/mailboxes';
import type { VoiceMessage, VoiceMessageRepository } from '../ports/store/voice-messages';

/** What these functions need of the store (SQLite or PostgreSQL). */
export type VoiceMessageStore = Pick<MailboxRepository, 'getMailbox'> & Pick<VoiceMessageRepository, 'listVoiceMessages' | 'deleteVoiceMessage'>;

/** A message's audio: its row and its WAV file on disk. */
export interface VoiceMessageAudio {
  message: VoiceMessage;
  /** The WAV file's path (8 kHz mono, as recorded). */
  file: string;
  /** Its size, bytes. */
  bytes: number;
}

/**
 * Finds one of a mailbox's voice messages by its id.
 * @param identity the mailbox (case-insensitive); @param id the message's `Identity` as `Get-VoiceMessage` prints it
 * @throws VaError VA_ERR_NOT_FOUND (no such mailbox, or no such message in it)
 */
export async function findVoiceMessage(store: VoiceMessageStore, identity: string, id: string): Promise<VoiceMessage> {
  const m = await store.getMailbox(identity);
  const message = (await store.listVoiceMessages(m.identity)).find((v) => String(v.id) === id);
  if (!message) throw new VaError(ErrorCodes.NOT_FOUND, `no voice message "${id}" in the mailbox ${m.identity}`);
  return message;
}

/**
 * A voice message's audio file, checked to be there (the HTTP API streams it as `audio/wav`).
 * @throws VaError VA_ERR_NOT_FOUND (no such mailbox or message, or its file is missing: the message says which)
 */
export async function voiceMessageAudio(store: VoiceMessageStore, identity: string, id: string): Promise<VoiceMessageAudio> {
  const message = await findVoiceMessage(store, identity, id);
  try {
    const st = await stat(message.audioFile);
    if (!st.isFile()) throw new Error('not a file');
    return { message, file: message.audioFile, bytes: st.size };
  } catch {
    throw new VaError(ErrorCodes.NOT_FOUND, `the audio of voice message "${id}" of ${message.identity} is not in the recordings folder`);
  }
}

/**
 * Deletes a voice message: its row, then its WAV file (a file already gone is no error), then tells
 * `countsChanged` so the lamp follows (the running server's MWI service; another process on the store sees the
 * change through its watch of other writers).
 * @param countsChanged told the mailbox's identity after the row is gone (optional: the command line has none)
 * @returns the deleted message
 * @throws VaError VA_ERR_NOT_FOUND (no such mailbox or message; nothing deleted)
 */
export async function deleteVoiceMessage(store: VoiceMessageStore, identity: string, id: string, countsChanged?: (identity: string) => void): Promise<VoiceMessage> {
  const message = await findVoiceMessage(store, identity, id);
  const gone = await store.deleteVoiceMessage(message.identity, message.id);
  // Deleted meanwhile (a caller in the mailbox menu, another administrator): it is gone all the same.
  if (!gone) throw new VaError(ErrorCodes.NOT_FOUND, `no voice message "${id}" in the mailbox ${message.identity}`);
  await unlink(gone.audioFile).catch(() => undefined);
  countsChanged?.(message.identity);
  return gone;
}
