/**
 * The voice-message aggregate: a mailbox's voice messages (the rows; the audio files are the recorder's) and its
 * missed calls (a caller who hung up without leaving a message), with the counts MWI reports.
 *
 * Asynchronous: the embedded SQLite adapter (`directory/voice-message-repository.ts`) answers at once, the PostgreSQL one
 * (`directory/postgres/`) over the network.
 */

/** A stored voice message. */
export interface VoiceMessage {
  id: string;
  identity: string;
  caller: string | null;
  /** ms since the epoch. */
  receivedAt: number;
  durationMs: number;
  unheard: boolean;
  urgent: boolean;
  /** Path of the WAV file (written before the row). */
  audioFile: string;
}

/** A mailbox's counts for MWI (RFC 3842 `Voice-Message: new/old (urgentNew/urgentOld)`). */
export interface MessageCounts {
  newMessages: number;
  oldMessages: number;
  urgentNew: number;
  urgentOld: number;
}

/** A missed call: who called (null when withheld) and when (ms since the epoch). */
export interface MissedCall {
  caller: string | null;
  at: number;
}

/** Voice messages and missed calls, per mailbox identity (case-insensitive). */
export interface VoiceMessageRepository {
  /** A mailbox's voice messages: unheard first, newest first within each group. */
  listVoiceMessages(identity: string): Promise<VoiceMessage[]>;

  /** Stores a voice message row (the audio file must already be on disk). @returns the new message (unheard unless told) */
  addVoiceMessage(m: Omit<VoiceMessage, 'id' | 'unheard'> & { unheard?: boolean }): Promise<VoiceMessage>;

  /** Marks a message heard or unheard. @returns false when no such message of that mailbox exists */
  setMessageHeard(identity: string, id: string, heard: boolean): Promise<boolean>;

  /** Deletes a message row. @returns the deleted message (its audio file is the caller's to remove), or undefined */
  deleteVoiceMessage(identity: string, id: string): Promise<VoiceMessage | undefined>;

  /** A mailbox's MWI counts. */
  messageCounts(identity: string): Promise<MessageCounts>;

  /** Every mailbox's MWI counts (mailboxes without messages have zero counts), for noticing other processes' changes. */
  allMessageCounts(): Promise<Map<string, MessageCounts>>;

  /** Records a missed call now (for missed-call notifications). */
  addMissedCall(identity: string, caller: string | null): Promise<void>;

  /** A mailbox's missed calls, newest first. */
  listMissedCalls(identity: string): Promise<MissedCall[]>;
}
