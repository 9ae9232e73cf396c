/**
 * The directory objects as the rules, the services and the store ports see them: UM dial plans, UM IP gateways, UM
 * mailbox policies and the dial-in conferencing tenant settings, already validated (every default filled in). Plain
 * types, so that `ports/` and `services/` import nothing from `config/` (DESIGN.md, "Layers"). The directory file's
 * zod schemas (`config/schema.ts`) produce exactly these shapes: `directory/schema-types.ts` checks at compile time
 * that the two stay the same.
 */
import type { Locale } from './locale';

/** VoIPSecurity of a dial plan ([D-DP]): Unsecured -> TCP, SIPSecured/Secured -> TLS for MWI (seed 004). */
export type VoipSecurity = 'Unsecured' | 'SIPSecured' | 'Secured';

/** A UM IP gateway's Status ([D-GW]). */
export type GatewayStatus = 'Enabled' | 'Disabled' | 'NoNewCalls';

/** A mailbox's SMS notification choice (Set-UMMailbox -SMSNotificationOption, [D-UMMBX]). */
export type SmsNotificationOption = 'None' | 'VoiceMail' | 'VoiceMailAndMissedCalls';

/** A UM dial plan ([D-DP], [D-NDP]). */
export interface DialPlan {
  name: string;
  /** Digits of every extension in the plan (1–20). */
  numberOfDigitsInExtension: number;
  /** Outlook Voice Access numbers. */
  accessNumbers: string[];
  voipSecurity: VoipSecurity;
  logonFailuresBeforeDisconnect: number;
  inputFailuresBeforeDisconnect: number;
  maxRecordingDurationMinutes: number;
  recordingIdleTimeoutSeconds: number;
  defaultLanguage: Locale;
}

/** A UM IP gateway ([D-GW], [D-NGW]); gateways are kept in failover order. */
export interface Gateway {
  name: string;
  /** IP address or host name. */
  address: string;
  port: number;
  dialPlan: string;
  messageWaitingIndicatorAllowed: boolean;
  status: GatewayStatus;
}

/** A UM mailbox policy: PIN, lockout, MWI and SMS settings ([D-POL], telephony-facts.md §2.4). */
export interface MailboxPolicy {
  name: string;
  dialPlan: string;
  minPinLength: number;
  pinLifetimeDays: number | 'Unlimited';
  pinHistoryCount: number;
  allowCommonPatterns: boolean;
  logonFailuresBeforePinReset: number | 'Unlimited';
  maxLogonAttempts: number | 'Unlimited';
  allowMessageWaitingIndicator: boolean;
  allowSmsNotification: boolean;
  /** The text of the mail that carries a reset PIN (ResetPINText). */
  resetPinText: string;
}

/** Tenant-wide dial-in conferencing settings ([T-TEN], seed 003). */
export interface ConferencingTenantSettings {
  accessNumbers: string[];
  /** Digits of a newly generated leader PIN (4–12). */
  pinLength: number;
  automaticallySendEmailsToUsers: boolean;
  /** Who lets lobby callers in: `automatic` (when the organizer starts the meeting) or `organizer` (`*8`). */
  lobbyAdmission: 'automatic' | 'organizer';
  allowAnonymousMeetingStart: boolean;
  /** Seconds between two lobby announcements; 0: announced once. */
  lobbyAnnouncementIntervalSeconds: number;
  enableEntryExitNotifications: boolean;
}
