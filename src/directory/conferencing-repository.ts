/**
 * SqliteConferencingRepository: dial-in conferencing in SQLite: the tenant settings (`conferencing_tenant`, one row
 * of JSON validated by the directory file's schema, cached like the other settings), the conferencing users with
 * their leader PIN hashes (`conferencing_users`) and the meetings (`meetings`).
 *
 * The port is asynchronous; better-sqlite3 is not: each method does its whole work synchronously when called (one
 * transaction for a change) and returns a settled promise.
 */
import { ConferencingSchema } from '../config/schema';
import type { ConferencingTenantSettings } from '../domain/directory-objects';
import type { ConferencingRepository, ConferencingUser, Meeting } from '../ports/store/conferencing';
import { notFound, validated, type Row, type SqliteContext } from './sqlite-context';

function toConferencingUser(r: Row): ConferencingUser {
  return {
    identity: r.identity as string,
    displayName: (r.display_name as string | null) ?? null,
    leaderPinHash: (r.leader_pin_hash as string | null) ?? null,
    allowPstnOnlyMeetings: r.allow_pstn_only_meetings === 1,
  };
}

function toMeeting(r: Row): Meeting {
  return { conferenceId: r.conference_id as string, organizer: r.organizer as string, subject: (r.subject as string | null) ?? null };
}

export class SqliteConferencingRepository implements ConferencingRepository {
  /** @param ctx the store's connection */
  constructor(private readonly ctx: SqliteContext) {}

  /** The tenant's dial-in conferencing settings ([T-TEN]); a copy, the defaults when none are stored. */
  async getTenantSettings(): Promise<ConferencingTenantSettings> {
    return this.getTenantSettingsSync();
  }

  /** {@link getTenantSettings}, synchronously (inside a transaction). */
  private getTenantSettingsSync(): ConferencingTenantSettings {
    const tenant = this.ctx.cachedSettings('conferencing tenant', () => {
      const r = this.ctx.sql('SELECT settings FROM conferencing_tenant WHERE id = 1').get() as Row | undefined;
      const { organizers: _o, meetings: _m, ...rest } = this.ctx.settings('ConferencingSchema', ConferencingSchema, (r?.settings as string | undefined) ?? '{}');
      return rest;
    });
    return { ...tenant };
  }

  /** Set-CsOnlineDialInConferencingTenantSettings. @throws VaError VA_ERR_INVALID_SETTING */
  async updateTenantSettings(patch: Partial<ConferencingTenantSettings>): Promise<ConferencingTenantSettings> {
    return this.ctx.transaction(() => {
      const next = validated(ConferencingSchema, { ...this.getTenantSettingsSync(), ...patch }, 'dial-in conferencing tenant settings');
      const { organizers: _o, meetings: _m, ...tenant } = next;
      this.ctx.sql('INSERT OR REPLACE INTO conferencing_tenant (id, settings) VALUES (1, ?)').run(JSON.stringify(tenant));
      this.ctx.settingsWritten();
      return tenant;
    });
  }

  /** All conferencing users, by identity. */
  async listConferencingUsers(): Promise<ConferencingUser[]> {
    return (this.ctx.sql('SELECT * FROM conferencing_users ORDER BY identity').all() as Row[]).map(toConferencingUser);
  }

  /** The conferencing user. @throws VaError VA_ERR_NOT_FOUND */
  async getConferencingUser(identity: string): Promise<ConferencingUser> {
    return this.getConferencingUserSync(identity);
  }

  /** {@link getConferencingUser}, synchronously (inside a transaction). @throws VaError VA_ERR_NOT_FOUND */
  private getConferencingUserSync(identity: string): ConferencingUser {
    const r = this.ctx.sql('SELECT * FROM conferencing_users WHERE identity = ?').get(identity) as Row | undefined;
    if (!r) throw notFound('dial-in conferencing user', identity);
    return toConferencingUser(r);
  }

  /** Changes a conferencing user's leader PIN hash and/or AllowPSTNOnlyMeetings. @throws VaError VA_ERR_NOT_FOUND */
  async updateConferencingUser(identity: string, patch: { leaderPinHash?: string; allowPstnOnlyMeetings?: boolean }): Promise<ConferencingUser> {
    return this.ctx.transaction(() => {
      const u = this.getConferencingUserSync(identity);
      if (patch.leaderPinHash !== undefined)
        this.ctx.sql('UPDATE conferencing_users SET leader_pin_hash = ? WHERE identity = ?').run(patch.leaderPinHash, u.identity);
      if (patch.allowPstnOnlyMeetings !== undefined)
        this.ctx.sql('UPDATE conferencing_users SET allow_pstn_only_meetings = ? WHERE identity = ?').run(patch.allowPstnOnlyMeetings ? 1 : 0, u.identity);
      return this.getConferencingUserSync(identity);
    });
  }

  /** The meetings an organizer scheduled. */
  async listMeetingsOf(organizer: string): Promise<Meeting[]> {
    return (this.ctx.sql('SELECT * FROM meetings WHERE organizer = ? ORDER BY conference_id').all(organizer) as Row[]).map(toMeeting);
  }

  /** The meeting with this conference ID, or undefined. */
  async findMeeting(conferenceId: string): Promise<Meeting | undefined> {
    const r = this.ctx.sql('SELECT * FROM meetings WHERE conference_id = ?').get(conferenceId) as Row | undefined;
    return r ? toMeeting(r) : undefined;
  }
}
