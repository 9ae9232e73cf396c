/**
 * The dial-in conferencing aggregate (Teams / Skype for Business, seed 003): the tenant settings ([T-TEN]), the users
 * enabled for dial-in conferencing with their leader PIN hashes ([T-USER]), and their scheduled meetings.
 *
 * Synchronous, as the embedded SQLite adapter (`directory/conferencing-repository.ts`) is. A PostgreSQL adapter will
 * need these methods to return promises (issue 20): this interface is the seam where that change is made.
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
  getTenantSettings(): ConferencingTenantSettings;

  /** Set-CsOnlineDialInConferencingTenantSettings. @returns the settings now @throws VaError VA_ERR_INVALID_SETTING */
  updateTenantSettings(patch: Partial<ConferencingTenantSettings>): ConferencingTenantSettings;

  /** All conferencing users, by identity. */
  listConferencingUsers(): ConferencingUser[];

  /** The conferencing user. @throws VaError VA_ERR_NOT_FOUND */
  getConferencingUser(identity: string): ConferencingUser;

  /** Changes a conferencing user's leader PIN hash and/or AllowPSTNOnlyMeetings. @throws VaError VA_ERR_NOT_FOUND */
  updateConferencingUser(identity: string, patch: { leaderPinHash?: string; allowPstnOnlyMeetings?: boolean }): ConferencingUser;

  /** The meetings an organizer scheduled, by conference ID. */
  listMeetingsOf(organizer: string): Meeting[];

  /** The meeting with this conference ID, or undefined. */
  findMeeting(conferenceId: string): Meeting | undefined;
}
