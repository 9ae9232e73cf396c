/**
 * The directory file's schema (YAML, validated with zod). Keys are camelCase; values follow the Exchange / Teams
 * cmdlets' ranges and defaults (telephony-facts.md §2.4–2.8, cmdlet docs [D-POL] [D-DP] [D-GW] [D-UMMBX] [T-USER]
 * [T-TEN]). Unknown keys are refused so that a typo is reported rather than silently ignored.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { LOCALES, type Locale as DomainLocale } from '../domain/locale';
import { TestingSchema } from './testing-schema';

/** `Unlimited` or a whole number within [min, max]: the shape of PINLifetime and LogonFailuresBeforePINReset. */
export function unlimitedOr(min: number, max: number) {
  return z.union([z.literal('Unlimited'), z.number().int().min(min).max(max)]);
}

/** A string of decimal digits (extensions, PINs, conference IDs). */
export const digitString = (what: string) => z.string().regex(/^[0-9]+$/, `${what} must contain only the digits 0-9`);

/** A telephone number as dialled: E.164 with optional `+`, or plain digits (access numbers are at most 32 characters, [D-DP]). */
export const PHONE_NUMBER = /^\+?[0-9]{2,32}$/;
export const phoneNumber = z.string().regex(PHONE_NUMBER, 'must be a telephone number: digits, optionally starting with +');

export const Locale = z.enum(LOCALES);
export type Locale = DomainLocale;

export const VoipSecurity = z.enum(['Unsecured', 'SIPSecured', 'Secured']);
export type VoipSecurity = z.infer<typeof VoipSecurity>;

export const GatewayStatus = z.enum(['Enabled', 'Disabled', 'NoNewCalls']);
export type GatewayStatus = z.infer<typeof GatewayStatus>;

export const SmsNotificationOption = z.enum(['None', 'VoiceMail', 'VoiceMailAndMissedCalls']);
export type SmsNotificationOption = z.infer<typeof SmsNotificationOption>;

/** UM dial plan ([D-DP], [D-NDP]); defaults are Exchange's. */
export const DialPlanSchema = z
  .object({
    name: z.string().min(1).max(64),
    numberOfDigitsInExtension: z.number().int().min(1).max(20),
    accessNumbers: z.array(phoneNumber).default([]),
    voipSecurity: VoipSecurity.default('Unsecured'),
    logonFailuresBeforeDisconnect: z.number().int().min(1).max(20).default(3),
    inputFailuresBeforeDisconnect: z.number().int().min(1).max(20).default(3),
    maxRecordingDurationMinutes: z.number().int().min(1).max(100).default(20),
    recordingIdleTimeoutSeconds: z.number().int().min(2).max(10).default(5),
    defaultLanguage: Locale.default('en-US'),
  })
  .strict();
export type DialPlan = z.infer<typeof DialPlanSchema>;

/** UM IP gateway ([D-GW], [D-NGW]); listed in failover order. */
export const GatewaySchema = z
  .object({
    name: z.string().min(1).max(64),
    address: z.string().min(1).max(255),
    port: z.number().int().min(0).max(65535).default(5060),
    dialPlan: z.string().min(1),
    messageWaitingIndicatorAllowed: z.boolean().default(true),
    status: GatewayStatus.default('Enabled'),
  })
  .strict();
export type Gateway = z.infer<typeof GatewaySchema>;

/** UM mailbox policy: PIN, lockout, MWI and SMS settings ([D-POL], telephony-facts.md §2.4). */
export const MailboxPolicySchema = z
  .object({
    name: z.string().min(1).max(64),
    dialPlan: z.string().min(1),
    minPinLength: z.number().int().min(4).max(24).default(6),
    pinLifetimeDays: unlimitedOr(1, 999).default(60),
    pinHistoryCount: z.number().int().min(1).max(20).default(5),
    allowCommonPatterns: z.boolean().default(false),
    logonFailuresBeforePinReset: unlimitedOr(0, 999).default(5),
    maxLogonAttempts: unlimitedOr(1, 999).default(15),
    allowMessageWaitingIndicator: z.boolean().default(true),
    allowSmsNotification: z.boolean().default(true),
    resetPinText: z.string().max(512).default(''),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (!logonResetBelowLockout(p.logonFailuresBeforePinReset, p.maxLogonAttempts)) {
      ctx.addIssue({
        code: 'custom',
        path: ['logonFailuresBeforePinReset'],
        message: 'must be less than maxLogonAttempts (or Unlimited)',
      });
    }
  });
export type MailboxPolicy = z.infer<typeof MailboxPolicySchema>;

/**
 * The rule "LogonFailuresBeforePINReset must be less than MaxLogonAttempts" ([D-POL], [E-LOCK]); `Unlimited`
 * reset always passes; an `Unlimited` lockout admits any finite reset value.
 */
export function logonResetBelowLockout(reset: number | 'Unlimited', max: number | 'Unlimited'): boolean {
  if (reset === 'Unlimited' || max === 'Unlimited') return true;
  return reset < max;
}

/** A UM-enabled mailbox as written in the directory file. `pin` is the initial PIN; only its hash is stored. */
export const MailboxSchema = z
  .object({
    identity: z.string().email('must be an e-mail address (the primary SMTP address)'),
    displayName: z.string().min(1).max(256),
    extension: digitString('extension'),
    policy: z.string().min(1),
    pin: digitString('pin').optional(),
    pinExpired: z.boolean().default(true),
    firstTimeUser: z.boolean().default(true),
    lockedOut: z.boolean().default(false),
    smsNotificationOption: SmsNotificationOption.default('None'),
    mobileNumber: phoneNumber.optional(),
    language: Locale.optional(),
  })
  .strict();
export type MailboxEntry = z.infer<typeof MailboxSchema>;

export const OrganizerSchema = z
  .object({
    identity: z.string().email('must be an e-mail address'),
    displayName: z.string().min(1).optional(),
    leaderPin: digitString('leaderPin').optional(),
    allowPstnOnlyMeetings: z.boolean().default(false),
  })
  .strict();

export const MeetingSchema = z
  .object({
    conferenceId: digitString('conferenceId').min(4).max(12),
    organizer: z.string().email(),
    subject: z.string().optional(),
  })
  .strict();

/** Teams / Skype dial-in conferencing ([T-USER], [T-TEN], seed 003). */
export const ConferencingSchema = z
  .object({
    accessNumbers: z.array(phoneNumber).default([]),
    pinLength: z.number().int().min(4).max(12).default(5),
    automaticallySendEmailsToUsers: z.boolean().default(true),
    /**
     * Who lets lobby callers into a started meeting: `automatic` (seed 003: the lobby joins when the organizer starts
     * the meeting) or `organizer` (the organizer presses `*8`, Skype for Business AdmitAll).
     */
    lobbyAdmission: z.enum(['automatic', 'organizer']).default('automatic'),
    /** May callers whose number is withheld start a meeting whose organizer has AllowPSTNOnlyMeetings? (seed 003: no) */
    allowAnonymousMeetingStart: z.boolean().default(false),
    /** Seconds of music on hold between two lobby announcements; 0: announced once, on arrival. */
    lobbyAnnouncementIntervalSeconds: z.number().int().min(0).max(3600).default(30),
    /** EnableEntryExitNotifications ([T-TEN], default true): a tone when someone joins or leaves a meeting. */
    enableEntryExitNotifications: z.boolean().default(true),
    organizers: z.array(OrganizerSchema).default([]),
    meetings: z.array(MeetingSchema).default([]),
  })
  .strict();

/** Mail delivery; without `smtp` mail is written as `.eml` files to `<data>/outbox/`. */
export const MailSchema = z
  .object({
    from: z.string().min(3).default('Voice Access <voice-access@localhost>'),
    smtp: z
      .object({
        host: z.string().min(1),
        port: z.number().int().min(1).max(65535),
        secure: z.boolean().default(false),
        user: z.string().optional(),
        password: z.string().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/**
 * MWI settings (issue 5; seed 004 [S4] #6, #12, #13): the failover window, the refresh interval, the per-attempt
 * timeout, the client certificate for SIP over TLS, and the subscription durations (RFC 6665 §4.2.1.1; RFC 3842
 * §3.4 gives 3600 s as the default).
 */
export const MwiSettingsSchema = z
  .object({
    /** Gateways are tried in turn, with backoff, for this long before the failure is logged (seed: 5 minutes). */
    retryWindowMinutes: z.number().min(0.1).max(1440).default(5),
    /** Every mailbox's state is sent again at least this often, spread over the interval (seed: 12 hours). */
    refreshIntervalHours: z.number().min(0.01).max(168).default(12),
    /** How long one NOTIFY waits for its final response (s); RFC 3261 Timer F is 64*T1 = 32 s. */
    notifyTimeoutSeconds: z.number().min(0.1).max(64).default(32),
    /** First pause after every gateway failed once (s); doubles up to `maxBackoffSeconds`. */
    initialBackoffSeconds: z.number().min(0.01).max(300).default(2),
    maxBackoffSeconds: z.number().min(0.01).max(3600).default(60),
    /** SIP over TLS (dial plans with VoIPSecurity SIPSecured or Secured): PEM files, relative to the directory file. */
    tls: z
      .object({
        certFile: z.string().min(1).optional(),
        keyFile: z.string().min(1).optional(),
        /** CA that signed the gateways' certificates; the system's CAs when absent. */
        caFile: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    subscriptions: z
      .object({
        defaultExpiresSeconds: z.number().int().min(1).default(3600),
        /** Shorter requests get 423 Interval Too Brief with Min-Expires (RFC 6665 §4.2.1.1). */
        minExpiresSeconds: z.number().int().min(1).default(60),
        maxExpiresSeconds: z.number().int().min(1).default(86_400),
      })
      .strict()
      .default(() => ({ defaultExpiresSeconds: 3600, minExpiresSeconds: 60, maxExpiresSeconds: 86_400 })),
  })
  .strict();

/** SMS provider: a file sink under the data folder (default) or an HTTP webhook (POST JSON `{to, text}`). */
export const SmsSettingsSchema = z
  .object({
    provider: z.enum(['file', 'webhook']).default('file'),
    webhook: z
      .object({
        url: z.string().url(),
        headers: z.record(z.string(), z.string()).default({}),
        timeoutSeconds: z.number().min(0.1).max(120).default(10),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.provider === 'webhook' && !s.webhook) ctx.addIssue({ code: 'custom', path: ['webhook'], message: 'is required when provider is webhook' });
  });

/** Notifications of new voice messages and missed calls (issue 5). */
export const NotificationsSchema = z
  .object({
    mwi: MwiSettingsSchema.default(() => MwiSettingsSchema.parse({})),
    sms: SmsSettingsSchema.default(() => SmsSettingsSchema.parse({})),
    email: z
      .object({
        /** Deliver each new voice message to the user's address with the WAV attached (as Exchange UM does). */
        voiceMessages: z.boolean().default(true),
      })
      .strict()
      .default(() => ({ voiceMessages: true })),
    /** A failed SMS or mail is retried with backoff for this long, then kept as failed and logged as an error. */
    retryWindowHours: z.number().min(0.01).max(168).default(24),
  })
  .strict();
export type NotificationSettings = z.infer<typeof NotificationsSchema>;

/** Settings that are not directory objects; read from the file on every start (never imported into the store). */
export const SecuritySchema = z
  .object({
    /**
     * log2 of scrypt's cost parameter N for PIN hashes (14 = 16384, node's default). Values below 10 are meant for
     * throw-away simulation stores (load tests of the flows), never for a store that holds real users.
     */
    pinHashCost: z.number().int().min(1).max(20).default(14),
  })
  .strict();

/** Timeouts and repeats of every IVR wait (telephony-facts.md §5.6: first digit 10 s; between digits). */
export const IvrSchema = z
  .object({
    firstDigitTimeoutSeconds: z.number().min(1).max(60).default(10),
    interDigitTimeoutSeconds: z.number().min(1).max(30).default(5),
    /** Unanswered prompts are repeated this many times before a goodbye. */
    maxPromptRepeats: z.number().int().min(1).max(10).default(3),
  })
  .strict();

/**
 * Size limits on one SIP message, checked before it is parsed (`sip.limits`; the embedded engine, issue 19): over
 * one, 513 Message Too Large (RFC 3261 §21.5.14), or nothing when the message names no address to answer. Each
 * entry of a comma-separated Via, Contact, Route, Record-Route or Path list counts as one header field.
 */
export const SipLimitsSchema = z
  .object({
    /** The largest message, start line to end of body, bytes (64 KB: a little over the largest UDP datagram). */
    maxMessageBytes: z.number().int().min(1024).max(1024 * 1024).default(64 * 1024),
    /** The most header fields (a gateway's INVITE has 15 to 30). */
    maxHeaders: z.number().int().min(16).max(10_000).default(256),
    /** The longest header field, folded lines joined, bytes (a STIR/SHAKEN Identity header is about 1 KB). */
    maxHeaderLineBytes: z.number().int().min(256).max(64 * 1024).default(8 * 1024),
  })
  .strict();

/**
 * A per-address rate limit on new SIP transactions (`sip.floodLimit`; the embedded engine, issue 19; Kamailio's
 * pike): past `requests` new requests within `windowMs` from one address, everything from it is dropped quietly for
 * `blockMs` (one log line per address and block). UM IP gateways' addresses have `gatewayRequests` and are dropped
 * only until their window ends. Retransmissions, ACKs and responses do not count.
 */
export const SipFloodLimitSchema = z
  .object({
    /** `false` turns the limit off. */
    enabled: z.boolean().default(true),
    requests: z.number().int().min(1).default(50),
    windowMs: z.number().int().min(100).max(60_000).default(1000),
    blockMs: z.number().int().min(0).max(3_600_000).default(60_000),
    /** Enough for the 12,000 new transactions a second (6,000 calls) SIPp reached over TCP here. */
    gatewayRequests: z.number().int().min(1).default(20_000),
  })
  .strict();

/**
 * The SIP signalling engine `voice-access serve` uses (issue 7): `embedded` (SIP on our own UDP/TCP socket, the
 * default) or `drachtio` (a drachtio-server in front, SIP only; media stays in our RTP engine). `serve`'s
 * `--sip-engine`, `--drachtio HOST:PORT` and `--drachtio-secret` (or `VA_DRACHTIO_SECRET`) override these.
 */
export const SipSettingsSchema = z
  .object({
    engine: z.enum(['embedded', 'drachtio']).default('embedded'),
    /**
     * The most concurrent calls `serve` takes; more get 503 with a Retry-After (Exchange's `Set-UMService
     * -MaxCallsAllowed`; `runtime/load-guard.ts`). Absent or null: no limit but the RTP port range.
     */
    maxCallsAllowed: z.number().int().min(1).nullable().default(null),
    /**
     * Retry-After of the 503 for a new call refused because a resource ran out (maxCallsAllowed, memoryBudgetMB,
     * RTP ports, the store), s.
     */
    retryAfterSeconds: z.number().int().min(1).max(3600).default(5),
    /**
     * The process' resident memory (RSS) above which new calls get 503 with a Retry-After, MB; calls in progress go
     * on (issue 19, `runtime/load-guard.ts`). Absent or null: no budget.
     */
    memoryBudgetMB: z.number().int().min(16).nullable().default(null),
    limits: SipLimitsSchema.default(() => SipLimitsSchema.parse({})),
    floodLimit: SipFloodLimitSchema.default(() => SipFloodLimitSchema.parse({})),
    drachtio: z
      .object({
        /** drachtio-server's admin address (`<admin>` in drachtio.conf.xml). */
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(1).max(65535).default(9022),
        /** The shared secret (`<admin secret="...">`); never logged. Needed with engine `drachtio`, here or on the command line. */
        secret: z.string().min(1).optional(),
        /** How long `serve` keeps trying to reach drachtio-server at start before it gives up (VA_ERR_DRACHTIO_CONNECT). */
        connectTimeoutSeconds: z.number().min(1).max(600).default(10),
      })
      .strict()
      .default(() => ({ host: '127.0.0.1', port: 9022, connectTimeoutSeconds: 10 })),
  })
  .strict();
export type SipSettings = z.infer<typeof SipSettingsSchema>;

/** One FreeSWITCH media server's event socket (`mod_event_socket`: `event_socket.conf.xml`). */
export const FreeswitchServerSchema = z
  .object({
    host: z.string().min(1),
    /** Event socket port. */
    port: z.number().int().min(1).max(65535).default(8021),
    /** The event socket's password; never logged. Also `VA_FREESWITCH_SECRET` or `--freeswitch-secret` (for all). */
    secret: z.string().min(1).optional(),
  })
  .strict();

/**
 * Where calls' media runs (issue 18): `embedded` (our RTP engine, the default) or `freeswitch` (FreeSWITCH endpoints
 * through drachtio-fsmrf; needs the drachtio SIP engine). `serve`'s `--media`, `--freeswitch HOST:PORT` (repeatable)
 * and `--freeswitch-secret` (or `VA_FREESWITCH_SECRET`) override these.
 */
export const MediaSettingsSchema = z
  .object({
    engine: z.enum(['embedded', 'freeswitch']).default('embedded'),
    /** The media servers; calls are spread over the ones that are up (round robin). */
    freeswitch: z.array(FreeswitchServerSchema).default([]),
    /** FreeSWITCH's SIP profile for endpoints (drachtio-fsmrf's default). */
    profile: z.string().min(1).default('drachtio_mrf'),
    /** The mod_conference profile meetings use. */
    conferenceProfile: z.string().min(1).default('default'),
    /**
     * Where drachtio-fsmrf listens for FreeSWITCH's outbound event-socket connections (one per call): an address of
     * this machine that FreeSWITCH reaches. Default: `--sip-host`.
     */
    listenAddress: z.string().min(1).optional(),
    /**
     * Endpoints being created on one FreeSWITCH at once, at most; a call that finds every server up at the bound
     * gets 503 at once rather than waiting on a saturated FreeSWITCH (`FreeswitchPool`).
     */
    maxPendingEndpoints: z.number().int().min(1).max(10_000).default(20),
  })
  .strict();
export type MediaSettings = z.infer<typeof MediaSettingsSchema>;

/**
 * Where the store is (issue 20): absent, SQLite in the data folder (`<data>/voice-access.db`, one machine); `url`
 * a PostgreSQL database that instances on several machines share. `serve --store URL`, a cmdlet's `--store URL` and
 * `VA_STORE_URL` override it. A password in the URL is never logged; prefer `VA_STORE_URL` or libpq's `PGPASSWORD`
 * to keep it out of the file.
 */
export const StoreSettingsSchema = z
  .object({
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\/[^/\s]+\/[^\s]+$/i, 'must be postgresql://USER@HOST:PORT/DATABASE')
      .optional(),
    /** Most connections of one instance's pool (transactions) to PostgreSQL; two pipelined ones and a listening one come on top. */
    maxConnections: z.number().int().min(2).max(500).default(10),
    /**
     * Longest one statement outside a transaction may run on PostgreSQL, ms (0: no limit); past it the statement is
     * cancelled and the call gets VA_ERR_STORE_UNAVAILABLE rather than waiting, with the statements behind it, on a
     * lock held by a stuck transaction.
     */
    statementTimeoutMs: z.number().int().min(0).max(3_600_000).default(30_000),
  })
  .strict();
export type StoreSettings = z.infer<typeof StoreSettingsSchema>;

/**
 * The admin center's HTTP API (issue 21, docs/admin-center.md): `listen` is HOST:PORT (`127.0.0.1:8080`; port 0 picks
 * a free one). Off when absent; `serve --http` and `--no-http` override it. Keep it on loopback (or behind a TLS
 * reverse proxy): API keys travel in the Authorization header.
 */
export const HttpSettingsSchema = z
  .object({
    listen: z
      .string()
      .regex(/^(\[[0-9A-Fa-f:.]+\]|[^:\s\[\]]+):([0-9]{1,5})$/, 'must be HOST:PORT, e.g. 127.0.0.1:8080')
      .optional(),
  })
  .strict();
export type HttpSettings = z.infer<typeof HttpSettingsSchema>;

const DirectoryObject = z
  .object({
    organization: z.string().min(1),
    defaultLocale: Locale.default('en-US'),
    dialPlans: z.array(DialPlanSchema).min(1, 'at least one dial plan is needed'),
    gateways: z.array(GatewaySchema).default([]),
    mailboxPolicies: z.array(MailboxPolicySchema).default([]),
    mailboxes: z.array(MailboxSchema).default([]),
    conferencing: ConferencingSchema.default(() => ConferencingSchema.parse({})),
    mail: MailSchema.default(() => MailSchema.parse({})),
    security: SecuritySchema.default(() => SecuritySchema.parse({})),
    ivr: IvrSchema.default(() => IvrSchema.parse({})),
    notifications: NotificationsSchema.default(() => NotificationsSchema.parse({})),
    sip: SipSettingsSchema.default(() => SipSettingsSchema.parse({})),
    media: MediaSettingsSchema.default(() => MediaSettingsSchema.parse({})),
    store: StoreSettingsSchema.default(() => StoreSettingsSchema.parse({})),
    http: HttpSettingsSchema.default(() => HttpSettingsSchema.parse({})),
    testing: TestingSchema.default(() => TestingSchema.parse({})),
  })
  .strict();

/** The whole directory file, with its cross-references checked. */
export const DirectorySchema = DirectoryObject.superRefine(checkReferences);
export type Directory = z.infer<typeof DirectorySchema>;

/** Cross-references: names unique, every reference resolves, extensions fit their dial plan and are unique. */
function checkReferences(dir: z.infer<typeof DirectoryObject>, ctx: z.RefinementCtx): void {
  const unique = (list: { name: string }[], key: string) => {
    const seen = new Set<string>();
    list.forEach((item, i) => {
      const k = item.name.toLowerCase();
      if (seen.has(k)) ctx.addIssue({ code: 'custom', path: [key, i, 'name'], message: `duplicate name "${item.name}"` });
      seen.add(k);
    });
  };
  unique(dir.dialPlans, 'dialPlans');
  unique(dir.gateways, 'gateways');
  unique(dir.mailboxPolicies, 'mailboxPolicies');
  const plans = new Map(dir.dialPlans.map((p) => [p.name.toLowerCase(), p]));
  const policies = new Map(dir.mailboxPolicies.map((p) => [p.name.toLowerCase(), p]));
  dir.gateways.forEach((g, i) => {
    const plan = plans.get(g.dialPlan.toLowerCase());
    if (!plan) ctx.addIssue({ code: 'custom', path: ['gateways', i, 'dialPlan'], message: `no dial plan named "${g.dialPlan}"` });
    // [D-GW]: an FQDN is required when the linked dial plan is SIP Secured or Secured (TLS checks the name).
    else if (plan.voipSecurity !== 'Unsecured' && isIP(g.address) !== 0)
      ctx.addIssue({
        code: 'custom',
        path: ['gateways', i, 'address'],
        message: `must be a host name (the TLS certificate's name), not an IP address: dial plan ${plan.name} is ${plan.voipSecurity}`,
      });
  });
  dir.mailboxPolicies.forEach((p, i) => {
    if (!plans.has(p.dialPlan.toLowerCase()))
      ctx.addIssue({ code: 'custom', path: ['mailboxPolicies', i, 'dialPlan'], message: `no dial plan named "${p.dialPlan}"` });
  });
  const identities = new Set<string>();
  const extensions = new Map<string, string>();
  dir.mailboxes.forEach((m, i) => {
    const id = m.identity.toLowerCase();
    if (identities.has(id)) ctx.addIssue({ code: 'custom', path: ['mailboxes', i, 'identity'], message: `duplicate identity "${m.identity}"` });
    identities.add(id);
    const policy = policies.get(m.policy.toLowerCase());
    if (!policy) {
      ctx.addIssue({ code: 'custom', path: ['mailboxes', i, 'policy'], message: `no mailbox policy named "${m.policy}"` });
      return;
    }
    const plan = plans.get(policy.dialPlan.toLowerCase());
    if (plan && m.extension.length !== plan.numberOfDigitsInExtension)
      ctx.addIssue({
        code: 'custom',
        path: ['mailboxes', i, 'extension'],
        message: `must have ${plan.numberOfDigitsInExtension} digits (dial plan ${plan.name})`,
      });
    const key = `${policy.dialPlan.toLowerCase()}/${m.extension}`;
    if (extensions.has(key))
      ctx.addIssue({ code: 'custom', path: ['mailboxes', i, 'extension'], message: `extension ${m.extension} is already used by ${extensions.get(key)}` });
    extensions.set(key, m.identity);
    if (m.pin !== undefined && m.pin.length < policy.minPinLength)
      ctx.addIssue({ code: 'custom', path: ['mailboxes', i, 'pin'], message: `must have at least ${policy.minPinLength} digits (policy ${policy.name})` });
  });
  const organizers = new Set(dir.conferencing.organizers.map((o) => o.identity.toLowerCase()));
  dir.conferencing.meetings.forEach((m, i) => {
    if (!organizers.has(m.organizer.toLowerCase()))
      ctx.addIssue({ code: 'custom', path: ['conferencing', 'meetings', i, 'organizer'], message: `no organizer "${m.organizer}"` });
  });
  const ids = new Set<string>();
  dir.conferencing.meetings.forEach((m, i) => {
    if (ids.has(m.conferenceId))
      ctx.addIssue({ code: 'custom', path: ['conferencing', 'meetings', i, 'conferenceId'], message: `duplicate conference ID ${m.conferenceId}` });
    ids.add(m.conferenceId);
  });
}
