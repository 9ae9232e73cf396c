/**
 * The dial-in conferencing aggregate (Teams / Skype for Business, seed 003): the tenant settings ([T-TEN]), the users
 * enabled for dial-in conferencing with their leader PIN hashes ([T-USER]), and their scheduled meetings.
 *
 * Asynchronous: the embedded SQLite adapter (`directory/conferencing-repository.ts`) answers at once, the PostgreSQL one
 * (`directory/postgres/`) over the network.
 */
import type { ConferencingTenantSettings } from '../../domain/directory-objects';

/** A user enabled for dial-in conferencing ([T-USER]); the leader PIN is kept only as a hash. */
export interface ConferencingUser {
  identity: string;
  displayName: string | null;
  leaderPinHash: string | null;
  allowPstnOnlyMeetings: boolean;
}

/** A scheduled meeting reachable by conference ID. */
export interface Meeting {
  conferenceId: string;
  organizer: string;
  subject: string | null;
}

/** Tenant settings, conferencing users and meetings. Identities compare case-insensitively. */
export interface ConferencingRepository {
  /** The tenant's dial-in conferencing settings (Get-CsOnlineDialInConferencingTenantSettings). */
  getTenantSettings(): Promise<ConferencingTenantSettings>;

  /** Set-CsOnlineDialInConferencingTenantSettings. @returns the settings now @throws VaError VA_ERR_INVALID_SETTING */
  updateTenantSettings(patch: Partial<ConferencingTenantSettings>): Promise<ConferencingTenantSettings>;

  /** All conferencing users, by identity. */
  listConferencingUsers(): Promise<ConferencingUser[]>;

  /** The conferencing user. @throws VaError VA_ERR_NOT_FOUND */
  getConferencingUser(identity: string): Promise<ConferencingUser>;

  /** Changes a conferencing user's leader PIN hash and/or AllowPSTNOnlyMeetings. @throws VaError VA_ERR_NOT_FOUND */
  updateConferencingUser(identity: string, patch: { leaderPinHash?: string; allowPstnOnlyMeetings?: boolean }): Promise<ConferencingUser>;

  /** The meetings an organizer scheduled, by conference ID. */
  listMeetingsOf(organizer: string): Promise<Meeting[]>;

  /** The meeting with this conference ID, or undefined. */
  findMeeting(conferenceId: string): Promise<Meeting | undefined>;
}
