/**
 * SqliteVoiceMessageRepository: voice messages and missed calls in SQLite (the `voice_messages` and `missed_calls`
 * tables). A message row is written only after its WAV file is on disk (the recorder's job), so a row never lacks
 * its audio.
 *
 * The port is asynchronous; better-sqlite3 is not: each method does its whole work synchronously when called (one
 * transaction for a read-modify-write) and returns a settled promise.
 */
import { randomUUID } from 'node:crypto';
import type { MessageCounts, MissedCall, VoiceMessage, VoiceMessageRepository } from '../ports/store/voice-messages';
import type { Row, SqliteContext } from './sqlite-context';

function toVoiceMessage(r: Row): VoiceMessage {
  return {
    id: r.id as string,
    identity: r.identity as string,
    caller: (r.caller as string | null) ?? null,
    receivedAt: r.received_at as number,
    durationMs: r.duration_ms as number,
    unheard: r.unheard === 1,
    urgent: r.urgent === 1,
    audioFile: r.audio_file as string,
  };
}

export class SqliteVoiceMessageRepository implements VoiceMessageRepository {
  /** @param ctx the store's connection */
  constructor(private readonly ctx: SqliteContext) {}

  /** A mailbox's voice messages: unheard first, newest first within each group. */
  async listVoiceMessages(identity: string): Promise<VoiceMessage[]> {
    return (
      this.ctx.sql('SELECT * FROM voice_messages WHERE identity = ? ORDER BY unheard DESC, received_at DESC, id').all(identity) as Row[]
    ).map(toVoiceMessage);
  }

  /** Stores a voice message row (the audio file must already be on disk). @returns the new message */
  async addVoiceMessage(m: Omit<VoiceMessage, 'id' | 'unheard'> & { unheard?: boolean }): Promise<VoiceMessage> {
    const id = randomUUID();
    this.ctx.sql('INSERT INTO voice_messages (id, identity, caller, received_at, duration_ms, unheard, urgent, audio_file) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(id, m.identity, m.caller, m.receivedAt, m.durationMs, m.unheard === false ? 0 : 1, m.urgent ? 1 : 0, m.audioFile);
    return { ...m, id, unheard: m.unheard !== false };
  }

  /** Marks a message heard or unheard. @returns false when no such message of that mailbox exists */
  async setMessageHeard(identity: string, id: string, heard: boolean): Promise<boolean> {
    return this.ctx.sql('UPDATE voice_messages SET unheard = ? WHERE id = ? AND identity = ?').run(heard ? 0 : 1, id, identity).changes > 0;
  }

  /** Deletes a message row. @returns the deleted message (its audio file is the caller's to remove), or undefined */
  async deleteVoiceMessage(identity: string, id: string): Promise<VoiceMessage | undefined> {
    return this.ctx.transaction(() => {
      const r = this.ctx.sql('SELECT * FROM voice_messages WHERE id = ? AND identity = ?').get(id, identity) as Row | undefined;
      if (!r) return undefined;
      this.ctx.sql('DELETE FROM voice_messages WHERE id = ?').run(id);
      return toVoiceMessage(r);
    });
  }

  /** Counts for MWI (RFC 3842 `Voice-Message: new/old (urgentNew/urgentOld)`). */
  async messageCounts(identity: string): Promise<MessageCounts> {
    const r = this.ctx.sql(
        `SELECT coalesce(sum(unheard), 0) AS n, coalesce(sum(1 - unheard), 0) AS o,
                coalesce(sum(unheard * urgent), 0) AS un, coalesce(sum((1 - unheard) * urgent), 0) AS uo
           FROM voice_messages WHERE identity = ?`,
      )
      .get(identity) as { n: number; o: number; un: number; uo: number };
    return { newMessages: r.n, oldMessages: r.o, urgentNew: r.un, urgentOld: r.uo };
  }

  /**
   * Every mailbox's MWI counts in one query (mailboxes without messages have zero counts), for noticing changes
   * made by another process on the same data folder.
   */
  async allMessageCounts(): Promise<Map<string, MessageCounts>> {
    const rows = this.ctx.sql(
      `SELECT m.identity AS identity, coalesce(sum(v.unheard), 0) AS n, coalesce(sum(1 - v.unheard), 0) AS o,
              coalesce(sum(v.unheard * v.urgent), 0) AS un, coalesce(sum((1 - v.unheard) * v.urgent), 0) AS uo
         FROM mailboxes m LEFT JOIN voice_messages v ON v.identity = m.identity GROUP BY m.identity`,
    ).all() as { identity: string; n: number; o: number; un: number; uo: number }[];
    return new Map(rows.map((r) => [r.identity, { newMessages: r.n, oldMessages: r.o, urgentNew: r.un, urgentOld: r.uo }]));
  }

  /** Records a missed call: the caller hung up without leaving a message (for missed-call notifications). */
  async addMissedCall(identity: string, caller: string | null): Promise<void> {
    this.ctx.sql('INSERT INTO missed_calls (identity, caller, at) VALUES (?, ?, ?)').run(identity, caller, this.ctx.now());
  }

  /** A mailbox's missed calls, newest first. */
  async listMissedCalls(identity: string): Promise<MissedCall[]> {
    return this.ctx.sql('SELECT caller, at FROM missed_calls WHERE identity = ? ORDER BY id DESC').all(identity) as MissedCall[];
  }
}
