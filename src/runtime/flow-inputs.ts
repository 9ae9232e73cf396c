/**
 * What flows are given about the directory, from the store: a dial plan's settings, a mailbox as a flow sees it (no
 * PIN hash), the tenant's conferencing settings (`flow-kit/effects.ts` shapes). Read per call, so a change made by
 * a cmdlet or another instance applies from the next call.
 */
import type { Store, Mailbox } from '../ports/store';
import type { ConferenceSettings, DialPlanInfo, MailboxInfo } from '../flow-kit/effects';

/** The dial plan settings a flow needs, from the store. @throws VaError VA_ERR_NOT_FOUND */
export async function dialPlanInfo(store: Pick<Store, 'getDialPlan'>, name: string): Promise<DialPlanInfo> {
  const d = await store.getDialPlan(name);
  return {
    name: d.name,
    numberOfDigitsInExtension: d.numberOfDigitsInExtension,
    logonFailuresBeforeDisconnect: d.logonFailuresBeforeDisconnect,
    inputFailuresBeforeDisconnect: d.inputFailuresBeforeDisconnect,
    maxRecordingMs: d.maxRecordingDurationMinutes * 60_000,
    recordingIdleMs: d.recordingIdleTimeoutSeconds * 1000,
    locale: d.defaultLanguage,
  };
}

/** A mailbox as a flow sees it (no PIN hash), with its effective language. @throws VaError VA_ERR_NOT_FOUND (dial plan) */
export async function mailboxInfo(store: Pick<Store, 'getDialPlan'>, m: Mailbox): Promise<MailboxInfo> {
  return {
    identity: m.identity,
    displayName: m.displayName,
    extension: m.extension,
    locale: m.language ?? (await store.getDialPlan(m.dialPlan)).defaultLanguage,
    lockedOut: m.lockedOut,
    greetingFile: m.greetingFile,
    nameFile: m.nameFile,
  };
}

/**
 * The tenant's conferencing settings as the conference flow takes them (config `conferencing:`, kept in the store and
 * read per call, so a change applies from the next call).
 */
export async function conferenceSettings(store: Pick<Store, 'getTenantSettings'>): Promise<ConferenceSettings> {
  const t = await store.getTenantSettings();
  return {
    lobbyAdmission: t.lobbyAdmission,
    allowAnonymousMeetingStart: t.allowAnonymousMeetingStart,
    lobbyAnnouncementMs: t.lobbyAnnouncementIntervalSeconds * 1000,
    entryExitTones: t.enableEntryExitNotifications,
  };
}

