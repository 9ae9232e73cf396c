/**
 * PgVoiceMessageRepository: voice messages and missed calls on PostgreSQL (as `../voice-message-repository.ts`). A
 * message row is written only after its WAV file is complete in the recordings folder every instance mounts, so a
 * row never lacks its audio.
 */
import { randomUUID } from 'node:crypto';
import type { MessageCounts, MissedCall, VoiceMessage, VoiceMessageRepository } from '../../ports/store/voice-messages';
import type { PgContext, Row } from './pg-context';

const COLUMNS = 'id, identity::text AS identity, caller, received_at, duration_ms, unheard, urgent, audio_file';

function toVoiceMessage(r: Row): VoiceMessage {
  return {
    id: r.id as string,
    identity: r.identity as string,
    caller: (r.caller as string | null) ?? null,
    receivedAt: r.received_at as number,
    durationMs: r.duration_ms as number,
    unheard: r.unheard as boolean,
    urgent: r.urgent as boolean,
    audioFile: r.audio_file as string,
  };
}

/** The MWI counts of the rows of one mailbox, as SQL (RFC 3842 `Voice-Message: new/old (urgentNew/urgentOld)`). */
const COUNTS = `count(*) FILTER (WHERE v.unheard)::int AS n, count(*) FILTER (WHERE NOT v.unheard)::int AS o,
  count(*) FILTER (WHERE v.unheard AND v.urgent)::int AS un, count(*) FILTER (WHERE NOT v.unheard AND v.urgent)::int AS uo`;

type Counts = { n: number; o: number; un: number; uo: number };
const toCounts = (r: Counts): MessageCounts => ({ newMessages: r.n, oldMessages: r.o, urgentNew: r.un, urgentOld: r.uo });

export class PgVoiceMessageRepository implements VoiceMessageRepository {
  /** @param ctx the store's pool */
  constructor(private readonly ctx: PgContext) {}

  async listVoiceMessages(identity: string): Promise<VoiceMessage[]> {
    return (await this.ctx.rows(`SELECT ${COLUMNS} FROM voice_messages WHERE identity = $1 ORDER BY unheard DESC, received_at DESC, id`, [identity])).map(
      toVoiceMessage,
    );
  }

  async addVoiceMessage(m: Omit<VoiceMessage, 'id' | 'unheard'> & { unheard?: boolean }): Promise<VoiceMessage> {
    const id = randomUUID();
    await this.ctx.query(
      'INSERT INTO voice_messages (id, identity, caller, received_at, duration_ms, unheard, urgent, audio_file) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [id, m.identity, m.caller, m.receivedAt, m.durationMs, m.unheard !== false, m.urgent, m.audioFile],
    );
    return { ...m, id, unheard: m.unheard !== false };
  }

  async setMessageHeard(identity: string, id: string, heard: boolean): Promise<boolean> {
    return ((await this.ctx.query('UPDATE voice_messages SET unheard = $1 WHERE id = $2 AND identity = $3', [!heard, id, identity])).rowCount ?? 0) > 0;
  }

  async deleteVoiceMessage(identity: string, id: string): Promise<VoiceMessage | undefined> {
    const r = await this.ctx.row(`DELETE FROM voice_messages WHERE id = $1 AND identity = $2 RETURNING ${COLUMNS}`, [id, identity]);
    return r ? toVoiceMessage(r) : undefined;
  }

  async messageCounts(identity: string): Promise<MessageCounts> {
    return toCounts((await this.ctx.row<Counts>(`SELECT ${COUNTS} FROM voice_messages v WHERE v.identity = $1`, [identity]))!);
  }

  async allMessageCounts(): Promise<Map<string, MessageCounts>> {
    const rows = await this.ctx.rows<Counts & { identity: string }>(
      `SELECT m.identity::text AS identity, ${COUNTS} FROM mailboxes m LEFT JOIN voice_messages v ON v.identity = m.identity GROUP BY m.identity`,
    );
    return new Map(rows.map((r) => [r.identity, toCounts(r)]));
  }

  async addMissedCall(identity: string, caller: string | null): Promise<void> {
    await this.ctx.query('INSERT INTO missed_calls (identity, caller, at) VALUES ($1, $2, $3)', [identity, caller, this.ctx.now()]);
  }

  listMissedCalls(identity: string): Promise<MissedCall[]> {
    return this.ctx.rows<MissedCall>('SELECT caller, at FROM missed_calls WHERE identity = $1 ORDER BY id DESC', [identity]);
  }
}
