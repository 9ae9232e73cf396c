/**
 * PgConferencingRepository: dial-in conferencing on PostgreSQL (as `../conferencing-repository.ts`): the tenant
 * settings (one row of JSON, cached like the other settings), the conferencing users with their leader PIN hashes,
 * and the meetings.
 */
import { ConferencingSchema } from '../../config/schema';
import type { ConferencingTenantSettings } from '../../domain/directory-objects';
import type { ConferencingRepository, ConferencingUser, Meeting } from '../../ports/store/conferencing';
import { notFound, validated } from '../store-rows';
import type { PgContext, Row } from './pg-context';

const USER_COLUMNS = 'identity::text AS identity, display_name, leader_pin_hash, allow_pstn_only_meetings';
const MEETING_COLUMNS = 'conference_id, organizer::text AS organizer, subject';

function toConferencingUser(r: Row): ConferencingUser {
  return {
    identity: r.identity as string,
    displayName: (r.display_name as string | null) ?? null,
    leaderPinHash: (r.leader_pin_hash as string | null) ?? null,
    allowPstnOnlyMeetings: r.allow_pstn_only_meetings as boolean,
  };
}

function toMeeting(r: Row): Meeting {
  return { conferenceId: r.conference_id as string, organizer: r.organizer as string, subject: (r.subject as string | null) ?? null };
}

export class PgConferencingRepository implements ConferencingRepository {
  /** @param ctx the store's pool */
  constructor(private readonly ctx: PgContext) {}

  async getTenantSettings(): Promise<ConferencingTenantSettings> {
    const tenant = await this.ctx.cachedSettings('conferencing tenant', async () => {
      const r = await this.ctx.row<{ settings: string }>('SELECT settings FROM conferencing_tenant WHERE id = 1');
      const { organizers: _o, meetings: _m, ...rest } = this.ctx.settings('ConferencingSchema', ConferencingSchema, r?.settings ?? '{}');
      return rest;
    });
    return { ...tenant };
  }

  async updateTenantSettings(patch: Partial<ConferencingTenantSettings>): Promise<ConferencingTenantSettings> {
    try {
      return await this.ctx.tx(async (c) => {
        const r = await c.query<{ settings: string }>('SELECT settings FROM conferencing_tenant WHERE id = 1 FOR UPDATE');
        const { organizers: _o, meetings: _m, ...current } = ConferencingSchema.parse(JSON.parse(r.rows[0]?.settings ?? '{}'));
        const { organizers: _o2, meetings: _m2, ...tenant } = validated(ConferencingSchema, { ...current, ...patch }, 'dial-in conferencing tenant settings');
        await c.query('INSERT INTO conferencing_tenant (id, settings) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET settings = excluded.settings', [
          JSON.stringify(tenant),
        ]);
        return tenant;
      });
    } finally {
      this.ctx.settingsWritten();
    }
  }

  async listConferencingUsers(): Promise<ConferencingUser[]> {
    return (await this.ctx.rows(`SELECT ${USER_COLUMNS} FROM conferencing_users ORDER BY identity`)).map(toConferencingUser);
  }

  async getConferencingUser(identity: string): Promise<ConferencingUser> {
    const r = await this.ctx.row(`SELECT ${USER_COLUMNS} FROM conferencing_users WHERE identity = $1`, [identity]);
    if (!r) throw notFound('dial-in conferencing user', identity);
    return toConferencingUser(r);
  }

  async updateConferencingUser(identity: string, patch: { leaderPinHash?: string; allowPstnOnlyMeetings?: boolean }): Promise<ConferencingUser> {
    const r = await this.ctx.row(
      `UPDATE conferencing_users SET leader_pin_hash = coalesce($2, leader_pin_hash), allow_pstn_only_meetings = coalesce($3, allow_pstn_only_meetings)
        WHERE identity = $1 RETURNING ${USER_COLUMNS}`,
      [identity, patch.leaderPinHash ?? null, patch.allowPstnOnlyMeetings ?? null],
    );
    if (!r) throw notFound('dial-in conferencing user', identity);
    return toConferencingUser(r);
  }

  async listMeetingsOf(organizer: string): Promise<Meeting[]> {
    return (await this.ctx.rows(`SELECT ${MEETING_COLUMNS} FROM meetings WHERE organizer = $1 ORDER BY conference_id`, [organizer])).map(toMeeting);
  }

  async findMeeting(conferenceId: string): Promise<Meeting | undefined> {
    const r = await this.ctx.row(`SELECT ${MEETING_COLUMNS} FROM meetings WHERE conference_id = $1`, [conferenceId]);
    return r ? toMeeting(r) : undefined;
  }
}
