/**
 * The administrator's cmdlets, with Microsoft's names, parameters and defaults. Shared by the CLI (and later the
 * HTTP API and web page): each takes parsed {@link ParamValues} and returns output objects.
 * Sources: Get-/Set-UMMailboxPIN [D-GETPIN][D-SETPIN], Set-UMMailboxPolicy [D-POL], Set-UMDialPlan [D-DP],
 * New-/Set-UMIPGateway [D-NGW][D-GW], Enable-UMMailbox [E-ENABLE], Set-UMMailbox [D-UMMBX],
 * Set-CsOnlineDialInConferencingUser [T-USER], Set-CsOnlineDialInConferencingTenantSettings [T-TEN] (telephony-facts.md §2).
 */
import type { DialPlan, Gateway, MailboxPolicy } from '../config/schema';
import { PHONE_NUMBER } from '../config/schema';
import type { ConferencingService } from '../services/conferencing-service';
import type { PinService } from '../services/pin-service';
import { deleteVoiceMessage } from '../services/voice-message-service';
import type { OpenedStore } from '../directory/opened-store';
import type { ConferencingUser, Mailbox } from '../ports/store';
import { ErrorCodes, VaError } from '../errors';
import { ADMIN_CMDLETS } from './admin-cmdlets';
import { importDirectoryFile } from './directory-import';
import { checkGatewayAddress, type HostLookup } from './gateway-address';
import type { OutputObject } from './ps-format';
import type { ParamSpec, ParamValues } from './ps-params';

/** What a cmdlet may use. */
export interface AdminContext {
  /** The store, with its directory import (Import-Directory). */
  store: OpenedStore;
  pins: PinService;
  conferencing: ConferencingService;
  /** Resolves UM IP gateway host names (New-/Set-UMIPGateway, Import-Directory); `dns.lookup` when absent. */
  lookupHost?: HostLookup;
  /**
   * Told when a cmdlet changed a mailbox's voice-message counts (Remove-VoiceMessage): the running server's MWI
   * service sends the lamp change. Absent on the command line: the serving process sees the store change itself.
   */
  mailboxChanged?(identity: string): void;
}

/** A cmdlet: its parameters and what it does. */
export interface Cmdlet {
  name: string;
  synopsis: string;
  params: ParamSpec[];
  /** Runs the cmdlet. @returns the objects to print (none for most Set-/Remove- cmdlets) */
  run(ctx: AdminContext, p: ParamValues): Promise<OutputObject[]>;
}

const identity = (help: string, required = true): ParamSpec => ({ name: 'Identity', type: { kind: 'string' }, required, position: 0, help });
const bool = (name: string, help: string): ParamSpec => ({ name, type: { kind: 'bool' }, help });
const int = (name: string, min: number, max: number, help: string): ParamSpec => ({ name, type: { kind: 'int', min, max }, help });
const phoneList = (name: string, help: string): ParamSpec => ({
  name,
  type: { kind: 'stringList', itemPattern: PHONE_NUMBER, itemPatternText: 'must be a telephone number' },
  help,
});
const digitsPattern = { pattern: /^[0-9]+$/, patternText: 'must contain only the digits 0-9' };

// ------------------------------------------------------------------ output shapes

async function pinStatusObject(ctx: AdminContext, m: Mailbox): Promise<OutputObject> {
  const s = await ctx.store.pinStatus(m);
  return { UserID: s.UserID, PinExpired: s.PinExpired, FirstTimeUser: s.FirstTimeUser, LockedOut: s.LockedOut, ObjectState: 'Unchanged', IsValid: true, Identity: m.identity };
}

function mailboxObject(m: Mailbox): OutputObject {
  return {
    Identity: m.identity,
    DisplayName: m.displayName,
    Extensions: [m.extension],
    UMDialPlan: m.dialPlan,
    UMMailboxPolicy: m.policy,
    UMEnabled: true,
    UMSMSNotificationOption: m.smsNotificationOption,
    MobileNumber: m.mobileNumber,
    Language: m.language,
  };
}

function policyObject(p: MailboxPolicy): OutputObject {
  return {
    Name: p.name,
    UMDialPlan: p.dialPlan,
    MinPINLength: p.minPinLength,
    PINLifetime: p.pinLifetimeDays === 'Unlimited' ? 'Unlimited' : `${p.pinLifetimeDays}.00:00:00`,
    PINHistoryCount: p.pinHistoryCount,
    AllowCommonPatterns: p.allowCommonPatterns,
    LogonFailuresBeforePINReset: p.logonFailuresBeforePinReset,
    MaxLogonAttempts: p.maxLogonAttempts,
    AllowMessageWaitingIndicator: p.allowMessageWaitingIndicator,
    AllowSMSNotification: p.allowSmsNotification,
    ResetPINText: p.resetPinText,
  };
}

function dialPlanObject(d: DialPlan): OutputObject {
  return {
    Name: d.name,
    NumberOfDigitsInExtension: d.numberOfDigitsInExtension,
    AccessTelephoneNumbers: d.accessNumbers,
    VoIPSecurity: d.voipSecurity,
    LogonFailuresBeforeDisconnect: d.logonFailuresBeforeDisconnect,
    InputFailuresBeforeDisconnect: d.inputFailuresBeforeDisconnect,
    MaxRecordingDuration: d.maxRecordingDurationMinutes,
    RecordingIdleTimeout: d.recordingIdleTimeoutSeconds,
    DefaultLanguage: d.defaultLanguage,
  };
}

function gatewayObject(g: Gateway): OutputObject {
  return {
    Name: g.name,
    Address: g.address,
    Port: g.port,
    UMDialPlan: g.dialPlan,
    MessageWaitingIndicatorAllowed: g.messageWaitingIndicatorAllowed,
    Status: g.status,
  };
}

/** Get-CsOnlineDialInConferencingUser's view: the leader PIN masked as `*****` except right after a reset ([S3] item 7). */
async function conferencingUserObject(ctx: AdminContext, u: ConferencingUser, shownPin?: string): Promise<OutputObject> {
  return {
    Identity: u.identity,
    DisplayName: u.displayName,
    LeaderPin: shownPin ?? (u.leaderPinHash ? '*****' : null),
    AllowPSTNOnlyMeetings: u.allowPstnOnlyMeetings,
    ConferenceIds: (await ctx.store.listMeetingsOf(u.identity)).map((m) => m.conferenceId),
  };
}

/** Every item's output object, in order (one store read after another). */
async function eachOf<T>(list: readonly T[], object: (t: T) => Promise<OutputObject>): Promise<OutputObject[]> {
  const out: OutputObject[] = [];
  for (const t of list) out.push(await object(t));
  return out;
}

/** Maps cmdlet parameter names to schema keys, copying only the parameters that were given. */
function pick<T>(p: ParamValues, map: Record<string, keyof T>): Partial<T> {
  const out: Partial<T> = {};
  for (const [param, key] of Object.entries(map)) if (param in p) (out as Record<keyof T, unknown>)[key] = p[param];
  return out;
}

function one<T>(list: T[], id: string | undefined, match: (t: T) => boolean, kind: string): T[] {
  if (id === undefined) return list;
  const hit = list.filter(match);
  if (hit.length === 0) throw new VaError(ErrorCodes.NOT_FOUND, `no ${kind} "${id}"`);
  return hit;
}

const eq = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

// ------------------------------------------------------------------ the cmdlets

const POLICY_PARAMS: Record<string, keyof MailboxPolicy> = {
  MinPINLength: 'minPinLength',
  PINLifetime: 'pinLifetimeDays',
  PINHistoryCount: 'pinHistoryCount',
  AllowCommonPatterns: 'allowCommonPatterns',
  LogonFailuresBeforePINReset: 'logonFailuresBeforePinReset',
  MaxLogonAttempts: 'maxLogonAttempts',
  AllowMessageWaitingIndicator: 'allowMessageWaitingIndicator',
  AllowSMSNotification: 'allowSmsNotification',
  ResetPINText: 'resetPinText',
};

const DIAL_PLAN_PARAMS: Record<string, keyof DialPlan> = {
  AccessTelephoneNumbers: 'accessNumbers',
  VoIPSecurity: 'voipSecurity',
  LogonFailuresBeforeDisconnect: 'logonFailuresBeforeDisconnect',
  InputFailuresBeforeDisconnect: 'inputFailuresBeforeDisconnect',
  MaxRecordingDuration: 'maxRecordingDurationMinutes',
  RecordingIdleTimeout: 'recordingIdleTimeoutSeconds',
  DefaultLanguage: 'defaultLanguage',
  NumberOfDigitsInExtension: 'numberOfDigitsInExtension',
};

const GATEWAY_PARAMS: Record<string, keyof Gateway> = {
  Name: 'name',
  Address: 'address',
  Port: 'port',
  UMDialPlan: 'dialPlan',
  MessageWaitingIndicatorAllowed: 'messageWaitingIndicatorAllowed',
  Status: 'status',
};

const gatewayParams = (forNew: boolean): ParamSpec[] => [
  { name: 'Address', type: { kind: 'string', maxLength: 255 }, required: forNew, help: 'IP address or FQDN of the gateway or IP PBX (a name must resolve)' },
  int('Port', 0, 65535, 'SIP port (default 5060)'),
  { name: 'UMDialPlan', type: { kind: 'string' }, help: 'the UM dial plan the gateway serves' },
  bool('MessageWaitingIndicatorAllowed', 'send MWI NOTIFYs through this gateway (default $true)'),
  { name: 'Status', type: { kind: 'enum', values: ['Enabled', 'Disabled', 'NoNewCalls'] }, help: 'Enabled | Disabled | NoNewCalls' },
];

export const CMDLETS: readonly Cmdlet[] = [
  {
    name: 'Get-UMMailboxPIN',
    synopsis: 'PIN state of one or all UM-enabled mailboxes: expired, first-time user, locked out (never the PIN).',
    params: [identity('the mailbox; all UM-enabled mailboxes when omitted', false)],
    async run(ctx, p) {
      const id = p.Identity as string | undefined;
      const list = id === undefined ? await ctx.store.listMailboxes() : [await ctx.store.getMailbox(id)];
      return eachOf(list, (m) => pinStatusObject(ctx, m));
    },
  },
  {
    name: 'Set-UMMailboxPIN',
    synopsis: 'Resets a mailbox PIN (given, or generated per the policy), e-mails it, and unlocks the mailbox.',
    params: [
      identity('the mailbox'),
      { name: 'Pin', type: { kind: 'string', ...digitsPattern }, help: 'the new PIN (checked against the policy); generated when omitted' },
      bool('PinExpired', 'must the user change the PIN at next sign-in (default $true)'),
      bool('LockedOut', '$true locks the mailbox; omitted or $false unlocks it'),
      bool('SendEmail', 'e-mail the new PIN (default $true); with $false a generated PIN is printed once, as Pin'),
      { name: 'NotifyEmail', type: { kind: 'string', pattern: /^[^@\s]+@[^@\s]+$/, patternText: 'must be an e-mail address' }, help: 'send the PIN mail here instead' },
    ],
    async run(ctx, p) {
      const id = p.Identity as string;
      // -LockedOut $true alone locks the mailbox without touching the PIN ([D-SETPIN] example "lock out").
      if (p.LockedOut === true && p.Pin === undefined && p.PinExpired === undefined) {
        await ctx.store.setLockedOut(id, true);
        return [await pinStatusObject(ctx, await ctx.store.getMailbox(id))];
      }
      const r = await ctx.pins.setPin(id, {
        pin: p.Pin as string | undefined,
        pinExpired: p.PinExpired as boolean | undefined,
        lockedOut: p.LockedOut as boolean | undefined,
        sendEmail: p.SendEmail as boolean | undefined,
        notifyEmail: p.NotifyEmail as string | undefined,
      });
      const out: OutputObject = { ...(await pinStatusObject(ctx, await ctx.store.getMailbox(id))), PinGenerated: r.generated, EmailSentTo: r.emailedTo ?? null };
      // A generated PIN that nobody was mailed is shown here, once (as Exchange does for -SendEmail $false), and
      // nowhere else: it is neither logged nor stored.
      if (r.pin !== undefined) out.Pin = r.pin;
      return [out];
    },
  },
  {
    name: 'Enable-UMMailbox',
    synopsis: 'UM-enables a mailbox with an extension and a UM mailbox policy; the PIN (given or generated) is e-mailed.',
    params: [
      identity('the mailbox (primary SMTP address)'),
      { name: 'Extensions', type: { kind: 'string', ...digitsPattern }, required: true, help: "the extension (the dial plan's digit count)" },
      { name: 'UMMailboxPolicy', type: { kind: 'string' }, required: true, help: 'the UM mailbox policy' },
      { name: 'DisplayName', type: { kind: 'string', maxLength: 256 }, help: 'name spoken and shown (default: the address)' },
      { name: 'Pin', type: { kind: 'string', ...digitsPattern }, help: 'initial PIN; generated when omitted' },
      bool('PinExpired', 'must the user change the PIN at first sign-in (default $true)'),
      { name: 'NotifyEmail', type: { kind: 'string', pattern: /^[^@\s]+@[^@\s]+$/, patternText: 'must be an e-mail address' }, help: 'send the welcome mail here instead' },
    ],
    async run(ctx, p) {
      const id = p.Identity as string;
      if (!/^[^@\s]+@[^@\s]+$/.test(id)) throw new VaError(ErrorCodes.CLI_PARAMETER, '-Identity: must be an e-mail address');
      await ctx.pins.enableMailbox(
        { identity: id, displayName: (p.DisplayName as string | undefined) ?? id, extension: p.Extensions as string, policy: p.UMMailboxPolicy as string },
        { pin: p.Pin as string | undefined, pinExpired: p.PinExpired as boolean | undefined, notifyEmail: p.NotifyEmail as string | undefined },
      );
      return [mailboxObject(await ctx.store.getMailbox(id))];
    },
  },
  {
    name: 'Disable-UMMailbox',
    synopsis: 'Removes Unified Messaging from a mailbox (its PIN and extension go; voice messages stay).',
    params: [identity('the mailbox')],
    async run(ctx, p) {
      await ctx.store.disableMailbox(p.Identity as string);
      return [];
    },
  },
  {
    name: 'Get-UMMailbox',
    synopsis: 'UM settings of one or all UM-enabled mailboxes.',
    params: [identity('the mailbox; all when omitted', false)],
    async run(ctx, p) {
      const id = p.Identity as string | undefined;
      return (id === undefined ? await ctx.store.listMailboxes() : [await ctx.store.getMailbox(id)]).map(mailboxObject);
    },
  },
  {
    name: 'Set-UMMailbox',
    synopsis: 'Changes UM settings of a mailbox: SMS notification option, mobile number, policy, language.',
    params: [
      identity('the mailbox'),
      { name: 'UMSMSNotificationOption', type: { kind: 'enum', values: ['None', 'VoiceMail', 'VoiceMailAndMissedCalls'] }, help: 'None | VoiceMail | VoiceMailAndMissedCalls' },
      {
        name: 'MobileNumber',
        type: { kind: 'string', pattern: PHONE_NUMBER, patternText: 'must be a telephone number' },
        nullable: true,
        help: 'mobile number for SMS notifications, $null to clear it (our addition)',
      },
      { name: 'UMMailboxPolicy', type: { kind: 'string' }, help: 'another policy of the same dial plan' },
      { name: 'DisplayName', type: { kind: 'string', maxLength: 256 }, help: 'display name' },
      {
        name: 'Language',
        type: { kind: 'enum', values: ['en-US', 'fr-FR'] },
        nullable: true,
        help: "prompt language; $null for the dial plan's again (the default; our addition)",
      },
    ],
    async run(ctx, p) {
      await ctx.store.updateMailbox(p.Identity as string, {
        smsNotificationOption: p.UMSMSNotificationOption as Mailbox['smsNotificationOption'] | undefined,
        mobileNumber: p.MobileNumber as string | null | undefined,
        policy: p.UMMailboxPolicy as string | undefined,
        displayName: p.DisplayName as string | undefined,
        language: p.Language as Mailbox['language'] | undefined,
      });
      return [];
    },
  },
  {
    name: 'Get-UMMailboxPolicy',
    synopsis: 'PIN, lockout, MWI and SMS settings of one or all UM mailbox policies.',
    params: [identity('the policy; all when omitted', false)],
    async run(ctx, p) {
      const id = p.Identity as string | undefined;
      return one(await ctx.store.listPolicies(), id, (x) => eq(x.name, id!), 'UM mailbox policy').map(policyObject);
    },
  },
  {
    name: 'Set-UMMailboxPolicy',
    synopsis: 'Changes PIN, lockout, MWI and SMS settings of a UM mailbox policy.',
    params: [
      identity('the policy'),
      int('MinPINLength', 4, 24, 'minimum PIN digits (default 6)'),
      { name: 'PINLifetime', type: { kind: 'unlimitedInt', min: 1, max: 999 }, help: 'days before a PIN expires, or Unlimited (default 60)' },
      int('PINHistoryCount', 1, 20, 'previous PINs that cannot be reused, current included (default 5)'),
      bool('AllowCommonPatterns', 'allow runs and repeated digits (default $false)'),
      { name: 'LogonFailuresBeforePINReset', type: { kind: 'unlimitedInt', min: 0, max: 999 }, help: 'failures before the PIN is reset and mailed, or Unlimited (default 5)' },
      { name: 'MaxLogonAttempts', type: { kind: 'unlimitedInt', min: 1, max: 999 }, help: 'failures before the mailbox locks, or Unlimited (default 15)' },
      bool('AllowMessageWaitingIndicator', 'send MWI for users of this policy (default $true)'),
      bool('AllowSMSNotification', 'allow SMS notifications (default $true)'),
      { name: 'ResetPINText', type: { kind: 'string', maxLength: 512 }, help: 'text of the PIN-reset mail' },
    ],
    async run(ctx, p) {
      await ctx.store.updatePolicy(p.Identity as string, pick<MailboxPolicy>(p, POLICY_PARAMS));
      return [];
    },
  },
  {
    name: 'Get-UMDialPlan',
    synopsis: 'Settings of one or all UM dial plans.',
    params: [identity('the dial plan; all when omitted', false)],
    async run(ctx, p) {
      const id = p.Identity as string | undefined;
      return one(await ctx.store.listDialPlans(), id, (x) => eq(x.name, id!), 'UM dial plan').map(dialPlanObject);
    },
  },
  {
    name: 'Set-UMDialPlan',
    synopsis: 'Changes a UM dial plan: access numbers, VoIP security, per-call failure limits, recording limits, language.',
    params: [
      identity('the dial plan'),
      phoneList('AccessTelephoneNumbers', 'Outlook Voice Access numbers, comma-separated'),
      { name: 'VoIPSecurity', type: { kind: 'enum', values: ['Unsecured', 'SIPSecured', 'Secured'] }, help: 'Unsecured (MWI over TCP) | SIPSecured | Secured (TLS)' },
      int('LogonFailuresBeforeDisconnect', 1, 20, 'failed sign-ins in one call before it ends (default 3)'),
      int('InputFailuresBeforeDisconnect', 1, 20, 'input errors in one call before it ends (default 3)'),
      int('MaxRecordingDuration', 1, 100, 'longest voice message, minutes (default 20)'),
      int('RecordingIdleTimeout', 2, 10, 'silence that ends a recording, seconds (default 5)'),
      { name: 'DefaultLanguage', type: { kind: 'enum', values: ['en-US', 'fr-FR'] }, help: 'prompt language' },
      int('NumberOfDigitsInExtension', 1, 20, 'extension length (only while no mailbox uses the dial plan)'),
    ],
    async run(ctx, p) {
      await ctx.store.updateDialPlan(p.Identity as string, pick<DialPlan>(p, DIAL_PLAN_PARAMS));
      return [];
    },
  },
  {
    name: 'Get-UMIPGateway',
    synopsis: 'UM IP gateways, in failover order.',
    params: [identity('the gateway; all when omitted', false)],
    async run(ctx, p) {
      const id = p.Identity as string | undefined;
      return one(await ctx.store.listGateways(), id, (x) => eq(x.name, id!), 'UM IP gateway').map(gatewayObject);
    },
  },
  {
    name: 'New-UMIPGateway',
    synopsis: 'Adds a UM IP gateway (an IP PBX or VoIP gateway) at the end of the failover order.',
    params: [{ name: 'Name', type: { kind: 'string', maxLength: 64 }, required: true, position: 0, help: 'the gateway name' }, ...gatewayParams(true)],
    async run(ctx, p) {
      const g = pick<Gateway>(p, GATEWAY_PARAMS);
      await checkGatewayAddress(g.address!, '-Address', ctx.lookupHost);
      if (g.dialPlan === undefined) {
        const plans = await ctx.store.listDialPlans();
        if (plans.length !== 1) throw new VaError(ErrorCodes.CLI_PARAMETER, 'New-UMIPGateway: -UMDialPlan is required when there is more than one dial plan');
        g.dialPlan = plans[0].name;
      }
      return [gatewayObject(await ctx.store.newGateway(g as Gateway))];
    },
  },
  {
    name: 'Set-UMIPGateway',
    synopsis: 'Changes a UM IP gateway: address, port, MWI, status.',
    params: [identity('the gateway'), { name: 'Name', type: { kind: 'string', maxLength: 64 }, help: 'a new name' }, ...gatewayParams(false)],
    async run(ctx, p) {
      if (p.Address !== undefined) await checkGatewayAddress(p.Address as string, '-Address', ctx.lookupHost);
      await ctx.store.updateGateway(p.Identity as string, pick<Gateway>(p, GATEWAY_PARAMS));
      return [];
    },
  },
  {
    name: 'Remove-UMIPGateway',
    synopsis: 'Removes a UM IP gateway.',
    params: [identity('the gateway')],
    async run(ctx, p) {
      await ctx.store.removeGateway(p.Identity as string);
      return [];
    },
  },
  {
    name: 'Get-CsOnlineDialInConferencingUser',
    synopsis: 'Dial-in conferencing users; the leader PIN shows as ***** (it is shown once, when reset).',
    params: [identity('the user; all when omitted', false)],
    async run(ctx, p) {
      const id = p.Identity as string | undefined;
      const users = id === undefined ? await ctx.store.listConferencingUsers() : [await ctx.store.getConferencingUser(id)];
      return eachOf(users, (u) => conferencingUserObject(ctx, u));
    },
  },
  {
    name: 'Set-CsOnlineDialInConferencingUser',
    synopsis: 'Resets the leader PIN (shown once, e-mailed) or changes AllowPSTNOnlyMeetings of a conferencing user.',
    params: [
      identity('the user'),
      { name: 'ResetLeaderPIN', type: { kind: 'switch' }, help: 'generate a new leader PIN' },
      { name: 'SendEmail', type: { kind: 'switch' }, help: 'mail the user (needed for -SendEmailToAddress)' },
      { name: 'SendEmailToAddress', type: { kind: 'string', pattern: /^[^@\s]+@[^@\s]+$/, patternText: 'must be an e-mail address' }, help: 'mail this address instead (needs -SendEmail)' },
      bool('AllowPSTNOnlyMeetings', 'let unauthenticated callers start this user\'s meetings (default $false)'),
    ],
    async run(ctx, p) {
      if (p.SendEmailToAddress !== undefined && p.SendEmail !== true)
        throw new VaError(ErrorCodes.CLI_PARAMETER, 'Set-CsOnlineDialInConferencingUser: -SendEmailToAddress needs -SendEmail');
      const r = await ctx.conferencing.setUser(p.Identity as string, {
        resetLeaderPin: p.ResetLeaderPIN === true,
        sendEmail: p.SendEmail as boolean | undefined,
        sendEmailToAddress: p.SendEmailToAddress as string | undefined,
        allowPstnOnlyMeetings: p.AllowPSTNOnlyMeetings as boolean | undefined,
      });
      return [await conferencingUserObject(ctx, r.user, r.leaderPin)];
    },
  },
  {
    name: 'Get-CsOnlineDialInConferencingTenantSettings',
    synopsis: 'Tenant-wide dial-in conferencing settings.',
    params: [],
    async run(ctx) {
      const t = await ctx.store.getTenantSettings();
      return [
        {
          PinLength: t.pinLength,
          AutomaticallySendEmailsToUsers: t.automaticallySendEmailsToUsers,
          EnableEntryExitNotifications: t.enableEntryExitNotifications,
          LobbyAdmission: t.lobbyAdmission === 'organizer' ? 'Organizer' : 'Automatic',
          AllowAnonymousMeetingStart: t.allowAnonymousMeetingStart,
          LobbyAnnouncementIntervalSeconds: t.lobbyAnnouncementIntervalSeconds,
          AccessNumbers: t.accessNumbers,
        },
      ];
    },
  },
  {
    name: 'Set-CsOnlineDialInConferencingTenantSettings',
    synopsis: 'Changes the leader PIN length (new PINs only), automatic e-mails, entry/exit tones and the lobby (from the next call).',
    params: [
      int('PinLength', 4, 12, 'digits of newly generated leader PINs (default 5)'),
      bool('AutomaticallySendEmailsToUsers', 'mail users on PIN reset (default $true)'),
      bool('EnableEntryExitNotifications', 'a tone when someone joins or leaves a meeting (default $true)'),
      { name: 'LobbyAdmission', type: { kind: 'enum', values: ['Automatic', 'Organizer'] }, help: 'Automatic (the lobby joins when the meeting starts) | Organizer (*8); our addition' },
      bool('AllowAnonymousMeetingStart', 'callers with a withheld number may start AllowPSTNOnlyMeetings meetings (default $false); our addition'),
      int('LobbyAnnouncementIntervalSeconds', 0, 3600, 'music between two lobby announcements (default 30; 0: once); our addition'),
    ],
    async run(ctx, p) {
      await ctx.store.updateTenantSettings({
        ...(p.PinLength !== undefined ? { pinLength: p.PinLength as number } : {}),
        ...(p.AutomaticallySendEmailsToUsers !== undefined ? { automaticallySendEmailsToUsers: p.AutomaticallySendEmailsToUsers as boolean } : {}),
        ...(p.EnableEntryExitNotifications !== undefined ? { enableEntryExitNotifications: p.EnableEntryExitNotifications as boolean } : {}),
        ...(p.LobbyAdmission !== undefined ? { lobbyAdmission: String(p.LobbyAdmission).toLowerCase() === 'organizer' ? ('organizer' as const) : ('automatic' as const) } : {}),
        ...(p.AllowAnonymousMeetingStart !== undefined ? { allowAnonymousMeetingStart: p.AllowAnonymousMeetingStart as boolean } : {}),
        ...(p.LobbyAnnouncementIntervalSeconds !== undefined ? { lobbyAnnouncementIntervalSeconds: p.LobbyAnnouncementIntervalSeconds as number } : {}),
      });
      return [];
    },
  },
  {
    name: 'Import-Directory',
    synopsis:
      "Applies a directory file's dial plans, UM mailbox policies, UM IP gateways and new mailboxes to the store (existing mailboxes keep their PIN state and messages); -WhatIf changes nothing (our addition).",
    params: [
      { name: 'Path', type: { kind: 'string' }, required: true, position: 0, help: 'the directory file (YAML), e.g. config/contoso.yaml' },
      { name: 'WhatIf', type: { kind: 'switch' }, help: 'show what would change, change nothing' },
    ],
    async run(ctx, p) {
      return importDirectoryFile(ctx.store, p.Path as string, { whatIf: p.WhatIf === true, lookup: ctx.lookupHost });
    },
  },
  {
    name: 'Get-VoiceMessage',
    synopsis: "A mailbox's voice messages, unheard first (our addition).",
    params: [identity('the mailbox')],
    async run(ctx, p) {
      const m = await ctx.store.getMailbox(p.Identity as string);
      return (await ctx.store.listVoiceMessages(m.identity)).map((v) => ({
        Identity: v.id,
        From: v.caller,
        Received: new Date(v.receivedAt).toISOString(),
        DurationSeconds: Math.round(v.durationMs / 100) / 10,
        Unheard: v.unheard,
        Urgent: v.urgent,
        AudioFile: v.audioFile,
      }));
    },
  },
  {
    name: 'Remove-VoiceMessage',
    synopsis: "Deletes one of a mailbox's voice messages (its audio file too); the lamp follows (our addition).",
    params: [identity('the mailbox'), { name: 'MessageId', type: { kind: 'string', pattern: /^[0-9A-Za-z_-]+$/, patternText: 'must be a message Identity as Get-VoiceMessage prints it' }, required: true, help: "the message (Get-VoiceMessage's Identity)" }],
    async run(ctx, p) {
      await deleteVoiceMessage(ctx.store, p.Identity as string, p.MessageId as string, ctx.mailboxChanged ? (id) => ctx.mailboxChanged!(id) : undefined);
      return [];
    },
  },
  // API keys and Search-AdminAuditLog (issue 21).
  ...ADMIN_CMDLETS,
];

/** Finds a cmdlet by name, case-insensitively (PowerShell's rule). */
export function findCmdlet(name: string): Cmdlet | undefined {
  return CMDLETS.find((c) => eq(c.name, name));
}
