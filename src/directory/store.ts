/**
 * DirectoryStore: the directory (dial plans, UM IP gateways, UM mailbox policies, mailboxes, voice messages,
 * conferencing) in SQLite under the data folder. Synchronous (better-sqlite3); every change runs in an IMMEDIATE
 * transaction so that the CLI and a running server can share the folder. PINs are stored only as hashes
 * (see `domain/pin-hash.ts`); nothing here accepts or returns a plaintext PIN.
 */
import type Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import {
  ConferencingSchema,
  DialPlanSchema,
  GatewaySchema,
  MailboxPolicySchema,
  type DialPlan,
  type Directory,
  type Gateway,
  type Locale,
  type MailboxEntry,
  type MailboxPolicy,
  type SmsNotificationOption,
} from '../config/schema';
import { describeIssues } from '../config/load';
import { ErrorCodes, VaError } from '../errors';
import { hashPin } from '../domain/pin-hash';
import { checkPin, isPinExpired } from '../domain/pin-policy';
import { snapshotOfDirectory, type DirectorySnapshot } from './directory-snapshot';
import type { Clock } from '../ports/clock';
import { systemClock } from '../ports/clock';
import { openDatabase } from './db';
import type { z } from 'zod';

/** A UM-enabled mailbox as stored. `pinHash` is the scrypt hash; the PIN itself is never stored. */
export interface Mailbox {
  identity: string;
  displayName: string;
  extension: string;
  dialPlan: string;
  policy: string;
  pinHash: string;
  /** When the current PIN was set, ms since epoch. */
  pinSetAt: number;
  /** The stored PinExpired flag (see {@link DirectoryStore.pinStatus} for the effective value with PINLifetime). */
  pinExpired: boolean;
  firstTimeUser: boolean;
  lockedOut: boolean;
  /** Sequential failed sign-ins across calls (cleared by a success or an admin PIN reset). */
  logonFailures: number;
  smsNotificationOption: SmsNotificationOption;
  mobileNumber: string | null;
  /** Mailbox language override; the dial plan's DefaultLanguage when null. */
  language: Locale | null;
  greetingFile: string | null;
  nameFile: string | null;
}

/** Get-UMMailboxPIN's view of a mailbox ([D-GETPIN], [VOSS] field names). */
export interface PinStatus {
  UserID: string;
  PinExpired: boolean;
  FirstTimeUser: boolean;
  LockedOut: boolean;
}

/** A stored voice message. */
export interface VoiceMessage {
  id: string;
  identity: string;
  caller: string | null;
  receivedAt: number;
  durationMs: number;
  unheard: boolean;
  urgent: boolean;
  audioFile: string;
}

/** Tenant-wide dial-in conferencing settings ([T-TEN]). */
export type ConferencingTenantSettings = Omit<z.infer<typeof ConferencingSchema>, 'organizers' | 'meetings'>;

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

/** Options for {@link DirectoryStore.open}. */
export interface StoreOptions {
  /** Time source for PIN set/expiry times; the system clock by default. */
  clock?: Pick<Clock, 'now'>;
  /** scrypt cost (log2 N) for new PIN hashes; 14 by default. */
  pinHashCost?: number;
}

type Row = Record<string, unknown>;

/** How long a check of another connection's commits (`data_version`) stands for the settings cache, real ms. */
export const SETTINGS_RECHECK_MS = 1;

/**
 * The mailbox columns, in the order {@link toMailbox} reads them. Mailbox rows are read as arrays (better-sqlite3's
 * raw mode): a row object of sixteen columns cost twice the query, on every call.
 */
const MAILBOX_COLUMNS =
  'identity, display_name, extension, dial_plan, policy, pin_hash, pin_set_at, pin_expired, first_time_user, locked_out, logon_failures, sms_notification_option, mobile_number, language, greeting_file, name_file';

function toMailbox(r: unknown[]): Mailbox {
  return {
    identity: r[0] as string,
    displayName: r[1] as string,
    extension: r[2] as string,
    dialPlan: r[3] as string,
    policy: r[4] as string,
    pinHash: r[5] as string,
    pinSetAt: r[6] as number,
    pinExpired: r[7] === 1,
    firstTimeUser: r[8] === 1,
    lockedOut: r[9] === 1,
    logonFailures: r[10] as number,
    smsNotificationOption: r[11] as SmsNotificationOption,
    mobileNumber: (r[12] as string | null) ?? null,
    language: (r[13] as Locale | null) ?? null,
    greetingFile: (r[14] as string | null) ?? null,
    nameFile: (r[15] as string | null) ?? null,
  };
}

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

/** Validates a settings object with a zod schema, naming the entity and the bad key on failure. */
function validated<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new VaError(ErrorCodes.INVALID_SETTING, `${what}: ${describeIssues(r.error.issues)}`);
  return r.data;
}

/** The meta key of the snapshot of the directory file the store was imported from. */
const SNAPSHOT_KEY = 'imported_snapshot';

/**
 * Refuses a directory whose initial PINs break their mailbox policies (`domain/pin-policy.ts`: length, common
 * patterns, the extension's tail), naming every such mailbox, its key path and the rule, never the PIN.
 * @param source the directory file, for the message
 * @param only when given, only the mailboxes it accepts are checked (Import-Directory: the new ones)
 * @throws VaError VA_ERR_PIN_POLICY
 */
export function assertDirectoryPins(dir: Pick<Directory, 'mailboxes' | 'mailboxPolicies'>, source: string, only?: (m: MailboxEntry) => boolean): void {
  const policies = new Map(dir.mailboxPolicies.map((p) => [p.name.toLowerCase(), p]));
  const problems = dir.mailboxes.flatMap((m, i) => {
    const policy = policies.get(m.policy.toLowerCase());
    if (m.pin === undefined || !policy || (only && !only(m))) return [];
    const v = checkPin(m.pin, policy, m.extension);
    return v ? [`mailboxes[${i}].pin of ${m.identity}: ${v.message} (UM mailbox policy ${policy.name})`] : [];
  });
  if (problems.length) throw new VaError(ErrorCodes.PIN_POLICY, `${source}: initial PINs that break their UM mailbox policy\n${problems.join('\n')}`);
}

function notFound(kind: string, name: string): VaError {
  return new VaError(ErrorCodes.NOT_FOUND, `no ${kind} "${name}"`);
}

/** Mailbox fields an administrator may change with Set-UMMailbox. */
export interface MailboxPatch {
  displayName?: string;
  smsNotificationOption?: SmsNotificationOption;
  mobileNumber?: string | null;
  language?: Locale | null;
  policy?: string;
  firstTimeUser?: boolean;
  greetingFile?: string | null;
  nameFile?: string | null;
}

export class DirectoryStore {
  private readonly clock: Pick<Clock, 'now'>;
  /** scrypt cost (log2 N) used for new PIN hashes. */
  readonly pinHashCost: number;

  /** Prepared statements by SQL text: preparing costs more than running most of these queries. */
  private readonly statements = new Map<string, Database.Statement>();
  /** Parsed settings by their stored JSON, so repeated reads of a policy or dial plan skip JSON and zod. */
  private readonly parsed = new Map<string, unknown>();

  private constructor(
    readonly db: Database.Database,
    readonly dataDir: string,
    options: StoreOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.pinHashCost = options.pinHashCost ?? 14;
  }

  /**
   * Opens the store in a data folder (creating and migrating it when needed).
   * @throws VaError VA_ERR_STORE_OPEN
   */
  static open(dataDir: string, options: StoreOptions = {}): DirectoryStore {
    return new DirectoryStore(openDatabase(dataDir), dataDir, options);
  }

  /** Closes the database handle. */
  close(): void {
    this.db.close();
  }

  /**
   * The prepared statement for `text`, prepared once per store; the stores of other tables on this database
   * (`notification-store.ts`, `mwi-delivery-store.ts`) use it too.
   */
  sql(text: string): Database.Statement {
    let st = this.statements.get(text);
    if (!st) {
      st = this.db.prepare(text);
      this.statements.set(text, st);
    }
    return st;
  }

  /**
   * Parses stored settings JSON with a schema, once per kind and distinct JSON text (a change stores new JSON, so
   * the cache never serves stale settings). The result is frozen: callers copy before changing.
   */
  private settings<T extends object>(kind: string, schema: { parse(v: unknown): T }, json: string): T {
    const key = `${kind}|${json}`;
    let v = this.parsed.get(key) as T | undefined;
    if (v === undefined) {
      v = Object.freeze(schema.parse(JSON.parse(json)));
      if (this.parsed.size > 1000) this.parsed.clear();
      this.parsed.set(key, v);
    }
    return v;
  }

  /**
   * Settings read on every call (dial plans, UM IP gateways, mailbox policies, the conferencing tenant), parsed,
   * by query. They change rarely: the cache is emptied when this store writes any of them
   * ({@link settingsWritten}) and when another connection (a cmdlet in another process, a second instance) has
   * committed (SQLite's `data_version` moved), so a change still applies from the next call. `data_version` is
   * asked at most once per {@link SETTINGS_RECHECK_MS} of real time: a call reads several settings at once, and
   * each ask is a read of the WAL index.
   */
  private readonly settingsCache = new Map<string, unknown>();
  private settingsCacheVersion = -1;
  private settingsCheckedAt = -Infinity;

  private cachedSettings<T>(key: string, load: () => T): T {
    const now = performance.now();
    if (now - this.settingsCheckedAt >= SETTINGS_RECHECK_MS) {
      this.settingsCheckedAt = now;
      const version = this.sql('PRAGMA data_version').pluck().get() as number;
      if (version !== this.settingsCacheVersion) {
        this.settingsCache.clear();
        this.settingsCacheVersion = version;
      }
    }
    let v = this.settingsCache.get(key) as T | undefined;
    if (v === undefined) {
      v = load();
      this.settingsCache.set(key, v);
    }
    return v;
  }

  /** This store changed settings: cached ones are read again. */
  private settingsWritten(): void {
    this.settingsCache.clear();
  }

  /** Current time in ms from the store's clock. */
  now(): number {
    return this.clock.now();
  }

  /** One reusable transaction wrapper (better-sqlite3 prepares BEGIN/COMMIT per wrapper; nested calls use savepoints). */
  private readonly tx = (() => {
    let wrapper: ((fn: () => unknown) => unknown) & { immediate(fn: () => unknown): unknown };
    return () => (wrapper ??= this.db.transaction((fn: () => unknown) => fn()) as typeof wrapper);
  })();

  /** Runs `fn` in one IMMEDIATE transaction (other writers wait on the busy timeout). */
  transaction<T>(fn: () => T): T {
    return this.tx().immediate(fn) as T;
  }

  // ---------------------------------------------------------------- import

  /** True once a directory file has been imported into this store. */
  isImported(): boolean {
    return this.sql(`SELECT 1 FROM meta WHERE key = 'imported_at'`).get() !== undefined;
  }

  /**
   * Imports a validated directory into an empty store: the first start of a data folder. Later starts keep the
   * store as the cmdlets left it. Safe against concurrent first starts: only one process imports.
   * @returns true when this call imported, false when the store already held a directory
   */
  async importDirectory(dir: Directory, source: string): Promise<boolean> {
    if (this.isImported()) return false;
    const now = this.now();
    const policies = new Map(dir.mailboxPolicies.map((p) => [p.name.toLowerCase(), p]));
    assertDirectoryPins(dir, source);
    // Hash outside the transaction (scrypt is async); a mailbox without an initial PIN gets an unusable hash
    // until an administrator sets one (Set-UMMailboxPIN), as Exchange requires a PIN to sign in.
    const pinHashes = await Promise.all(
      dir.mailboxes.map((m) => (m.pin ? hashPin(m.pin, this.pinHashCost) : Promise.resolve('unset'))),
    );
    const leaderHashes = await Promise.all(
      dir.conferencing.organizers.map((o) => (o.leaderPin ? hashPin(o.leaderPin, this.pinHashCost) : Promise.resolve(null))),
    );
    return this.transaction(() => {
      if (this.isImported()) return false;
      this.settingsWritten();
      const insDp = this.sql('INSERT INTO dial_plans (name, settings) VALUES (?, ?)');
      for (const dp of dir.dialPlans) insDp.run(dp.name, JSON.stringify(dp));
      const insGw = this.sql('INSERT INTO ip_gateways (name, position, settings) VALUES (?, ?, ?)');
      dir.gateways.forEach((g, i) => insGw.run(g.name, i, JSON.stringify(g)));
      const insPol = this.sql('INSERT INTO mailbox_policies (name, settings) VALUES (?, ?)');
      for (const p of dir.mailboxPolicies) insPol.run(p.name, JSON.stringify(p));
      dir.mailboxes.forEach((m, i) => {
        const policy = policies.get(m.policy.toLowerCase())!;
        this.insertMailbox({
          identity: m.identity,
          displayName: m.displayName,
          extension: m.extension,
          dialPlan: policy.dialPlan,
          policy: policy.name,
          pinHash: pinHashes[i],
          pinExpired: m.pinExpired,
          firstTimeUser: m.firstTimeUser,
          lockedOut: m.lockedOut,
          smsNotificationOption: m.smsNotificationOption,
          mobileNumber: m.mobileNumber ?? null,
          language: m.language ?? null,
        });
      });
      const { organizers, meetings, ...tenant } = dir.conferencing;
      this.sql('INSERT INTO conferencing_tenant (id, settings) VALUES (1, ?)').run(JSON.stringify(tenant));
      const insUser = this.sql(
        'INSERT INTO conferencing_users (identity, display_name, leader_pin_hash, allow_pstn_only_meetings) VALUES (?, ?, ?, ?)',
      );
      organizers.forEach((o, i) => insUser.run(o.identity, o.displayName ?? null, leaderHashes[i], o.allowPstnOnlyMeetings ? 1 : 0));
      const insMeeting = this.sql('INSERT INTO meetings (conference_id, organizer, subject) VALUES (?, ?, ?)');
      for (const m of meetings) insMeeting.run(m.conferenceId, m.organizer, m.subject ?? null);
      const insMeta = this.sql('INSERT INTO meta (key, value) VALUES (?, ?)');
      insMeta.run('imported_at', String(now));
      insMeta.run('imported_from', source);
      insMeta.run('organization', dir.organization);
      insMeta.run('default_locale', dir.defaultLocale);
      insMeta.run(SNAPSHOT_KEY, JSON.stringify(snapshotOfDirectory(dir)));
      return true;
    });
  }

  /**
   * What the store was last imported from (the first import, or the last `Import-Directory`): the file's dial plans,
   * gateways, policies and mailboxes without PINs. Undefined for a store imported before snapshots were kept.
   */
  importedSnapshot(): DirectorySnapshot | undefined {
    const json = this.meta(SNAPSHOT_KEY);
    return json === undefined ? undefined : (JSON.parse(json) as DirectorySnapshot);
  }

  /** Records that the store now reflects this directory file (after `Import-Directory` applied it). */
  recordImportedDirectory(snapshot: DirectorySnapshot, source: string): void {
    const put = this.sql('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    this.transaction(() => {
      put.run(SNAPSHOT_KEY, JSON.stringify(snapshot));
      put.run('imported_from', source);
      put.run('directory_applied_at', String(this.now()));
    });
  }

  /**
   * The store's own directory objects as a snapshot (dial plans, gateways in failover order, policies, mailboxes),
   * to compare a directory file with what the store holds now.
   */
  snapshotOfStore(): DirectorySnapshot {
    return {
      dialPlans: this.listDialPlans().map((d) => ({ ...d })),
      gateways: this.listGateways().map((g) => ({ ...g })),
      mailboxPolicies: this.listPolicies().map((p) => ({ ...p })),
      mailboxes: this.listMailboxes().map((m) => ({
        identity: m.identity,
        displayName: m.displayName,
        extension: m.extension,
        policy: m.policy,
        smsNotificationOption: m.smsNotificationOption,
        mobileNumber: m.mobileNumber,
        language: m.language,
      })),
    };
  }

  /**
   * Runs `fn` in a transaction that is always rolled back: every check the changes make runs, nothing stays
   * (`Import-Directory -WhatIf`). Settings read meanwhile are forgotten afterwards.
   * @returns what `fn` returned; @throws whatever `fn` throws
   */
  rehearse<T>(fn: () => T): T {
    const rollback = Symbol('rollback');
    let out: { value: T } | undefined;
    try {
      this.transaction(() => {
        out = { value: fn() };
        throw rollback;
      });
    } catch (err) {
      if (err !== rollback) throw err;
    } finally {
      this.settingsWritten();
    }
    return out!.value;
  }

  /** Adds a dial plan (Import-Directory). @throws VaError VA_ERR_ALREADY_EXISTS, VA_ERR_INVALID_SETTING */
  addDialPlan(plan: DialPlan): DialPlan {
    return this.transaction(() => {
      const dp = validated(DialPlanSchema, plan, `UM dial plan ${plan.name}`);
      if (this.sql('SELECT 1 FROM dial_plans WHERE name = ?').get(dp.name))
        throw new VaError(ErrorCodes.ALREADY_EXISTS, `a UM dial plan named "${dp.name}" already exists`);
      this.sql('INSERT INTO dial_plans (name, settings) VALUES (?, ?)').run(dp.name, JSON.stringify(dp));
      this.settingsWritten();
      return dp;
    });
  }

  /** Adds a UM mailbox policy of an existing dial plan (Import-Directory). @throws VaError VA_ERR_ALREADY_EXISTS, VA_ERR_NOT_FOUND, VA_ERR_INVALID_SETTING */
  addPolicy(policy: MailboxPolicy): MailboxPolicy {
    return this.transaction(() => {
      const p = validated(MailboxPolicySchema, policy, `UM mailbox policy ${policy.name}`);
      if (this.sql('SELECT 1 FROM mailbox_policies WHERE name = ?').get(p.name))
        throw new VaError(ErrorCodes.ALREADY_EXISTS, `a UM mailbox policy named "${p.name}" already exists`);
      p.dialPlan = this.getDialPlan(p.dialPlan).name;
      this.sql('INSERT INTO mailbox_policies (name, settings) VALUES (?, ?)').run(p.name, JSON.stringify(p));
      this.settingsWritten();
      return p;
    });
  }

  /**
   * Adds a mailbox of a directory file with its initial state (Import-Directory: new mailboxes only). The PIN was
   * checked against the policy and hashed by the caller.
   * @param pinHash the initial PIN's hash, or `unset` for a mailbox without one
   * @throws VaError VA_ERR_NOT_FOUND (policy), VA_ERR_ALREADY_EXISTS, VA_ERR_INVALID_SETTING (extension length)
   */
  addDirectoryMailbox(m: MailboxEntry, pinHash: string): Mailbox {
    return this.transaction(() => {
      const policy = this.getPolicy(m.policy);
      const plan = this.getDialPlan(policy.dialPlan);
      if (m.extension.length !== plan.numberOfDigitsInExtension)
        throw new VaError(ErrorCodes.INVALID_SETTING, `${m.identity}: the extension must have ${plan.numberOfDigitsInExtension} digits (dial plan ${plan.name})`);
      const taken = this.findMailboxByExtension(m.extension, plan.name);
      if (taken) throw new VaError(ErrorCodes.ALREADY_EXISTS, `${m.identity}: extension ${m.extension} of dial plan ${plan.name} is already ${taken.identity}'s`);
      this.insertMailbox({
        identity: m.identity,
        displayName: m.displayName,
        extension: m.extension,
        dialPlan: plan.name,
        policy: policy.name,
        pinHash,
        pinExpired: m.pinExpired,
        firstTimeUser: m.firstTimeUser,
        lockedOut: m.lockedOut,
        smsNotificationOption: m.smsNotificationOption,
        mobileNumber: m.mobileNumber ?? null,
        language: m.language ?? null,
      });
      return this.getMailbox(m.identity);
    });
  }

  /**
   * Puts the named gateways first in the failover order, in the order given; the others follow in their order.
   * @throws VaError VA_ERR_NOT_FOUND for a name that is not a gateway
   */
  setGatewayOrder(names: readonly string[]): void {
    this.transaction(() => {
      const all = this.listGateways().map((g) => g.name);
      const first = names.map((n) => {
        const hit = all.find((a) => a.toLowerCase() === n.toLowerCase());
        if (!hit) throw notFound('UM IP gateway', n);
        return hit;
      });
      const rest = all.filter((a) => !first.includes(a));
      const set = this.sql('UPDATE ip_gateways SET position = ? WHERE name = ?');
      [...first, ...rest].forEach((n, i) => set.run(i, n));
      this.settingsWritten();
    });
  }

  /** A value from the meta table (organization, default_locale, imported_from, imported_at). */
  meta(key: string): string | undefined {
    const r = this.sql('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return r?.value;
  }

  // ---------------------------------------------------------------- dial plans

  listDialPlans(): DialPlan[] {
    const all = this.cachedSettings('dial plans', () =>
      (this.sql('SELECT settings FROM dial_plans ORDER BY name').all() as Row[]).map((r) =>
        this.settings('DialPlanSchema', DialPlanSchema, r.settings as string),
      ),
    );
    return [...all];
  }

  /** @throws VaError VA_ERR_NOT_FOUND */
  getDialPlan(name: string): DialPlan {
    const plan = this.cachedSettings(`dial plan ${name.toLowerCase()}`, () => {
      const r = this.sql('SELECT settings FROM dial_plans WHERE name = ?').get(name) as Row | undefined;
      return r ? this.settings('DialPlanSchema', DialPlanSchema, r.settings as string) : null;
    });
    if (!plan) throw notFound('UM dial plan', name);
    return plan;
  }

  /**
   * Changes a dial plan's settings (Set-UMDialPlan); the name cannot change.
   * @throws VaError VA_ERR_NOT_FOUND, VA_ERR_INVALID_SETTING (names the key)
   */
  updateDialPlan(name: string, patch: Partial<DialPlan>): DialPlan {
    return this.transaction(() => {
      const current = this.getDialPlan(name);
      const next = validated(DialPlanSchema, { ...current, ...patch, name: current.name }, `UM dial plan ${current.name}`);
      if (next.numberOfDigitsInExtension !== current.numberOfDigitsInExtension) {
        const n = this.sql('SELECT count(*) AS n FROM mailboxes WHERE dial_plan = ?').get(current.name) as { n: number };
        if (n.n > 0)
          throw new VaError(ErrorCodes.INVALID_SETTING, `UM dial plan ${current.name}: NumberOfDigitsInExtension cannot change while ${n.n} mailboxes use it`);
      }
      this.sql('UPDATE dial_plans SET settings = ? WHERE name = ?').run(JSON.stringify(next), current.name);
      this.settingsWritten();
      return next;
    });
  }

  // ---------------------------------------------------------------- UM IP gateways

  /** All UM IP gateways in failover order. */
  listGateways(): Gateway[] {
    const all = this.cachedSettings('gateways', () =>
      (this.sql('SELECT settings FROM ip_gateways ORDER BY position, name').all() as Row[]).map((r) =>
        this.settings('GatewaySchema', GatewaySchema, r.settings as string),
      ),
    );
    return [...all];
  }

  /** @throws VaError VA_ERR_NOT_FOUND */
  getGateway(name: string): Gateway {
    const r = this.sql('SELECT settings FROM ip_gateways WHERE name = ?').get(name) as Row | undefined;
    if (!r) throw notFound('UM IP gateway', name);
    return this.settings('GatewaySchema', GatewaySchema, r.settings as string);
  }

  /**
   * Adds a UM IP gateway at the end of the failover order (New-UMIPGateway).
   * @throws VaError VA_ERR_ALREADY_EXISTS, VA_ERR_NOT_FOUND (dial plan), VA_ERR_INVALID_SETTING
   */
  newGateway(gateway: Partial<Gateway> & Pick<Gateway, 'name' | 'address' | 'dialPlan'>): Gateway {
    return this.transaction(() => {
      const g = validated(GatewaySchema, gateway, `UM IP gateway ${gateway.name}`);
      if (this.sql('SELECT 1 FROM ip_gateways WHERE name = ?').get(g.name))
        throw new VaError(ErrorCodes.ALREADY_EXISTS, `a UM IP gateway named "${g.name}" already exists`);
      g.dialPlan = this.getDialPlan(g.dialPlan).name;
      const pos = this.sql('SELECT coalesce(max(position), -1) + 1 AS p FROM ip_gateways').get() as { p: number };
      this.sql('INSERT INTO ip_gateways (name, position, settings) VALUES (?, ?, ?)').run(g.name, pos.p, JSON.stringify(g));
      this.settingsWritten();
      return g;
    });
  }

  /**
   * Changes a gateway (Set-UMIPGateway); a new `name` renames it.
   * @throws VaError VA_ERR_NOT_FOUND, VA_ERR_ALREADY_EXISTS, VA_ERR_INVALID_SETTING
   */
  updateGateway(name: string, patch: Partial<Gateway>): Gateway {
    return this.transaction(() => {
      const current = this.getGateway(name);
      const next = validated(GatewaySchema, { ...current, ...patch }, `UM IP gateway ${current.name}`);
      if (patch.dialPlan !== undefined) next.dialPlan = this.getDialPlan(next.dialPlan).name;
      if (next.name.toLowerCase() !== current.name.toLowerCase() && this.sql('SELECT 1 FROM ip_gateways WHERE name = ?').get(next.name))
        throw new VaError(ErrorCodes.ALREADY_EXISTS, `a UM IP gateway named "${next.name}" already exists`);
      this.sql('UPDATE ip_gateways SET name = ?, settings = ? WHERE name = ?').run(next.name, JSON.stringify(next), current.name);
      this.settingsWritten();
      return next;
    });
  }

  /** Removes a gateway (Remove-UMIPGateway). @throws VaError VA_ERR_NOT_FOUND */
  removeGateway(name: string): void {
    const r = this.sql('DELETE FROM ip_gateways WHERE name = ?').run(name);
    this.settingsWritten();
    if (r.changes === 0) throw notFound('UM IP gateway', name);
  }

  // ---------------------------------------------------------------- UM mailbox policies

  listPolicies(): MailboxPolicy[] {
    return (this.sql('SELECT settings FROM mailbox_policies ORDER BY name').all() as Row[]).map((r) =>
      this.settings('MailboxPolicySchema', MailboxPolicySchema, r.settings as string),
    );
  }

  /** @throws VaError VA_ERR_NOT_FOUND */
  getPolicy(name: string): MailboxPolicy {
    const policy = this.cachedSettings(`policy ${name.toLowerCase()}`, () => {
      const r = this.sql('SELECT settings FROM mailbox_policies WHERE name = ?').get(name) as Row | undefined;
      return r ? this.settings('MailboxPolicySchema', MailboxPolicySchema, r.settings as string) : null;
    });
    if (!policy) throw notFound('UM mailbox policy', name);
    return policy;
  }

  /**
   * Changes a policy (Set-UMMailboxPolicy); name and dial plan cannot change. The combined settings are validated,
   * so LogonFailuresBeforePINReset must stay below MaxLogonAttempts.
   * @throws VaError VA_ERR_NOT_FOUND, VA_ERR_INVALID_SETTING (names the key and rule)
   */
  updatePolicy(name: string, patch: Partial<MailboxPolicy>): MailboxPolicy {
    return this.transaction(() => {
      const current = this.getPolicy(name);
      const next = validated(
        MailboxPolicySchema,
        { ...current, ...patch, name: current.name, dialPlan: current.dialPlan },
        `UM mailbox policy ${current.name}`,
      );
      this.sql('UPDATE mailbox_policies SET settings = ? WHERE name = ?').run(JSON.stringify(next), current.name);
      this.settingsWritten();
      return next;
    });
  }

  // ---------------------------------------------------------------- mailboxes

  private insertMailbox(m: Omit<Mailbox, 'pinSetAt' | 'logonFailures' | 'greetingFile' | 'nameFile'>): void {
    const now = this.now();
    try {
      this.sql(
          `INSERT INTO mailboxes (identity, display_name, extension, dial_plan, policy, pin_hash, pin_set_at, pin_expired,
             first_time_user, locked_out, sms_notification_option, mobile_number, language)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          m.identity,
          m.displayName,
          m.extension,
          m.dialPlan,
          m.policy,
          m.pinHash,
          now,
          m.pinExpired ? 1 : 0,
          m.firstTimeUser ? 1 : 0,
          m.lockedOut ? 1 : 0,
          m.smsNotificationOption,
          m.mobileNumber,
          m.language,
        );
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' || (err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new VaError(ErrorCodes.ALREADY_EXISTS, `${m.identity}: the mailbox or extension ${m.extension} already exists in ${m.dialPlan}`);
      }
      throw err;
    }
    if (m.pinHash !== 'unset') this.sql('INSERT INTO pin_history (identity, pin_hash, set_at) VALUES (?, ?, ?)').run(m.identity, m.pinHash, now);
  }

  /** A prepared mailbox query (`SELECT <columns> FROM mailboxes <where>`) that returns rows as arrays. */
  private mailboxQuery(where: string): Database.Statement {
    return this.sql(`SELECT ${MAILBOX_COLUMNS} FROM mailboxes ${where}`).raw(true);
  }

  /** All UM-enabled mailboxes, by identity. */
  listMailboxes(): Mailbox[] {
    return (this.mailboxQuery('ORDER BY identity').all() as unknown[][]).map(toMailbox);
  }

  /** The mailbox, or undefined. Identity is case-insensitive. */
  findMailbox(identity: string): Mailbox | undefined {
    const r = this.mailboxQuery('WHERE identity = ?').get(identity) as unknown[] | undefined;
    return r ? toMailbox(r) : undefined;
  }

  /** @throws VaError VA_ERR_NOT_FOUND */
  getMailbox(identity: string): Mailbox {
    const m = this.findMailbox(identity);
    if (!m) throw notFound('UM-enabled mailbox', identity);
    return m;
  }

  /** The mailbox with this extension, in one dial plan or (when omitted) any. */
  findMailboxByExtension(extension: string, dialPlan?: string): Mailbox | undefined {
    const r = (
      dialPlan
        ? this.mailboxQuery('WHERE extension = ? AND dial_plan = ?').get(extension, dialPlan)
        : this.mailboxQuery('WHERE extension = ? ORDER BY identity LIMIT 1').get(extension)
    ) as unknown[] | undefined;
    return r ? toMailbox(r) : undefined;
  }

  /**
   * The mailbox whose mobile number or extension equals a caller's number, with or without its leading `+` (for the
   * own-phone shortcut).
   */
  findMailboxByCaller(callerNumber: string): Mailbox | undefined {
    const bare = callerNumber.replace(/^\+/, '');
    const r = this.mailboxQuery('WHERE mobile_number IN (?, ?) OR extension IN (?, ?) ORDER BY identity LIMIT 1').get(bare, callerNumber, bare, callerNumber) as
      | unknown[]
      | undefined;
    return r ? toMailbox(r) : undefined;
  }

  /**
   * UM-enables a mailbox (Enable-UMMailbox). The extension must have the dial plan's digit count.
   * @throws VaError VA_ERR_NOT_FOUND (policy), VA_ERR_ALREADY_EXISTS, VA_ERR_INVALID_SETTING (extension length)
   */
  enableMailbox(m: {
    identity: string;
    displayName: string;
    extension: string;
    policy: string;
    pinHash: string;
    pinExpired: boolean;
  }): Mailbox {
    return this.transaction(() => {
      const policy = this.getPolicy(m.policy);
      const plan = this.getDialPlan(policy.dialPlan);
      if (!/^[0-9]+$/.test(m.extension) || m.extension.length !== plan.numberOfDigitsInExtension)
        throw new VaError(ErrorCodes.INVALID_SETTING, `Extensions: must be ${plan.numberOfDigitsInExtension} digits (dial plan ${plan.name})`);
      this.insertMailbox({
        ...m,
        dialPlan: plan.name,
        policy: policy.name,
        firstTimeUser: true,
        lockedOut: false,
        smsNotificationOption: 'None',
        mobileNumber: null,
        language: null,
      });
      return this.getMailbox(m.identity);
    });
  }

  /** Removes UM from a mailbox (Disable-UMMailbox); its PIN history goes too, voice messages stay. */
  disableMailbox(identity: string): void {
    const r = this.sql('DELETE FROM mailboxes WHERE identity = ?').run(identity);
    if (r.changes === 0) throw notFound('UM-enabled mailbox', identity);
  }

  /**
   * Changes per-mailbox settings (Set-UMMailbox, first-time setup, greeting files).
   * @throws VaError VA_ERR_NOT_FOUND
   */
  updateMailbox(identity: string, patch: MailboxPatch): Mailbox {
    return this.transaction(() => {
      const current = this.getMailbox(identity);
      const cols: Record<keyof MailboxPatch, string> = {
        displayName: 'display_name',
        smsNotificationOption: 'sms_notification_option',
        mobileNumber: 'mobile_number',
        language: 'language',
        policy: 'policy',
        firstTimeUser: 'first_time_user',
        greetingFile: 'greeting_file',
        nameFile: 'name_file',
      };
      if (patch.policy !== undefined) {
        const p = this.getPolicy(patch.policy);
        if (p.dialPlan.toLowerCase() !== current.dialPlan.toLowerCase())
          throw new VaError(ErrorCodes.INVALID_SETTING, `UMMailboxPolicy: ${p.name} belongs to dial plan ${p.dialPlan}, not ${current.dialPlan}`);
        patch = { ...patch, policy: p.name };
      }
      for (const [k, v] of Object.entries(patch) as [keyof MailboxPatch, unknown][]) {
        if (v === undefined) continue;
        const value = typeof v === 'boolean' ? (v ? 1 : 0) : v;
        this.sql(`UPDATE mailboxes SET ${cols[k]} = ? WHERE identity = ?`).run(value, current.identity);
      }
      return this.getMailbox(identity);
    });
  }

  /** The effective PIN state of a mailbox, PINLifetime included ([D-GETPIN]). */
  pinStatus(m: Mailbox): PinStatus {
    const policy = this.getPolicy(m.policy);
    return {
      UserID: m.identity,
      PinExpired: isPinExpired(m.pinExpired, m.pinSetAt, policy.pinLifetimeDays, this.now()),
      FirstTimeUser: m.firstTimeUser,
      LockedOut: m.lockedOut,
    };
  }

  /** The last `count` PIN hashes of a mailbox, newest first (the current PIN included). */
  pinHistory(identity: string, count: number): string[] {
    return (
      this.sql('SELECT pin_hash FROM pin_history WHERE identity = ? ORDER BY id DESC LIMIT ?').all(identity, count) as Row[]
    ).map((r) => r.pin_hash as string);
  }

  /**
   * Stores a new PIN hash: sets PinExpired, clears the failure count, sets or clears the lockout, and appends to
   * the PIN history (trimmed to the 20 newest, PINHistoryCount's maximum).
   */
  setPinHash(identity: string, pinHash: string, opts: { expired: boolean; lockedOut: boolean }): void {
    this.transaction(() => {
      const m = this.getMailbox(identity);
      const now = this.now();
      this.sql('UPDATE mailboxes SET pin_hash = ?, pin_set_at = ?, pin_expired = ?, locked_out = ?, logon_failures = 0 WHERE identity = ?')
        .run(pinHash, now, opts.expired ? 1 : 0, opts.lockedOut ? 1 : 0, m.identity);
      this.appendPinHistory(m.identity, pinHash, now);
    });
  }

  /**
   * Stores the PIN hash of an automatic PIN reset (LogonFailuresBeforePINReset, [D-POL][E-RESET]): sets only the
   * hash, its set time, PinExpired and the PIN history; the lockout and the failure count are left as they are, so
   * the reset never lifts a lockout nor lowers the count toward MaxLogonAttempts (issue 19). Checked and written in
   * one IMMEDIATE transaction: nothing is written when the mailbox is locked (the administrator who unlocks it sets
   * a new PIN anyway, Set-UMMailboxPIN [D-SETPIN]) or when its PIN is no longer `ifPinHash` (an administrator, or
   * another reset, changed it meanwhile: that PIN stands).
   * @param pinHash the new hash; @param opts.ifPinHash the hash the reset replaces
   * @returns `replaced`, or why not: `locked` or `pin-changed`
   * @throws VaError VA_ERR_NOT_FOUND
   */
  replacePinHash(identity: string, pinHash: string, opts: { expired: boolean; ifPinHash: string }): 'replaced' | 'locked' | 'pin-changed' {
    return this.transaction(() => {
      const m = this.getMailbox(identity);
      if (m.lockedOut) return 'locked';
      if (m.pinHash !== opts.ifPinHash) return 'pin-changed';
      const now = this.now();
      this.sql('UPDATE mailboxes SET pin_hash = ?, pin_set_at = ?, pin_expired = ? WHERE identity = ?').run(pinHash, now, opts.expired ? 1 : 0, m.identity);
      this.appendPinHistory(m.identity, pinHash, now);
      return 'replaced';
    });
  }

  /** Appends a PIN hash to the history, trimmed to the 20 newest (PINHistoryCount's maximum). In a transaction. */
  private appendPinHistory(identity: string, pinHash: string, now: number): void {
    this.sql('INSERT INTO pin_history (identity, pin_hash, set_at) VALUES (?, ?, ?)').run(identity, pinHash, now);
    this.sql('DELETE FROM pin_history WHERE identity = ? AND id NOT IN (SELECT id FROM pin_history WHERE identity = ? ORDER BY id DESC LIMIT 20)')
      .run(identity, identity);
  }

  /** Sets or clears the lockout without touching the PIN. */
  setLockedOut(identity: string, lockedOut: boolean): void {
    const r = this.sql('UPDATE mailboxes SET locked_out = ?, logon_failures = CASE WHEN ? = 0 THEN 0 ELSE logon_failures END WHERE identity = ?')
      .run(lockedOut ? 1 : 0, lockedOut ? 1 : 0, identity);
    if (r.changes === 0) throw notFound('UM-enabled mailbox', identity);
  }

  /**
   * Clears the failure count after a successful sign-in, in one statement (atomic on its own): nothing is written when
   * the count is already 0, the usual case, so a sign-in costs no write transaction.
   */
  clearLogonFailures(identity: string): void {
    this.sql('UPDATE mailboxes SET logon_failures = 0 WHERE identity = ? AND logon_failures <> 0').run(identity);
  }

  /**
   * Atomically applies `decide` to the mailbox's current failure count and lockout and stores its result: the read
   * and the write are one IMMEDIATE transaction (which also waits for other processes on the data folder), so
   * concurrent calls, on this instance or another, never lose a failure or a lockout. `decide` must be synchronous
   * (no await between the read and the write); `lockedOut` omitted keeps the current value. Nothing is written when
   * neither value changes.
   * @returns what `decide` returned
   * @throws VaError VA_ERR_NOT_FOUND
   */
  updateLogonFailures<T extends { failures: number; lockedOut?: boolean }>(identity: string, decide: (m: Mailbox) => T): T {
    return this.transaction(() => {
      const m = this.getMailbox(identity);
      const out = decide(m);
      const lockedOut = out.lockedOut ?? m.lockedOut;
      if (out.failures !== m.logonFailures || lockedOut !== m.lockedOut) {
        this.sql('UPDATE mailboxes SET logon_failures = ?, locked_out = ? WHERE identity = ?').run(out.failures, lockedOut ? 1 : 0, m.identity);
      }
      return out;
    });
  }

  // ---------------------------------------------------------------- voice messages

  /** A mailbox's voice messages: unheard first, newest first within each group. */
  listVoiceMessages(identity: string): VoiceMessage[] {
    return (
      this.sql('SELECT * FROM voice_messages WHERE identity = ? ORDER BY unheard DESC, received_at DESC, id').all(identity) as Row[]
    ).map(toVoiceMessage);
  }

  /** Stores a voice message row (the audio file must already be on disk). @returns the new message */
  addVoiceMessage(m: Omit<VoiceMessage, 'id' | 'unheard'> & { unheard?: boolean }): VoiceMessage {
    const id = randomUUID();
    this.sql('INSERT INTO voice_messages (id, identity, caller, received_at, duration_ms, unheard, urgent, audio_file) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(id, m.identity, m.caller, m.receivedAt, m.durationMs, m.unheard === false ? 0 : 1, m.urgent ? 1 : 0, m.audioFile);
    return { ...m, id, unheard: m.unheard !== false };
  }

  /** Marks a message heard or unheard. @returns false when no such message of that mailbox exists */
  setMessageHeard(identity: string, id: string, heard: boolean): boolean {
    return this.sql('UPDATE voice_messages SET unheard = ? WHERE id = ? AND identity = ?').run(heard ? 0 : 1, id, identity).changes > 0;
  }

  /** Deletes a message row. @returns the deleted message (its audio file is the caller's to remove), or undefined */
  deleteVoiceMessage(identity: string, id: string): VoiceMessage | undefined {
    return this.transaction(() => {
      const r = this.sql('SELECT * FROM voice_messages WHERE id = ? AND identity = ?').get(id, identity) as Row | undefined;
      if (!r) return undefined;
      this.sql('DELETE FROM voice_messages WHERE id = ?').run(id);
      return toVoiceMessage(r);
    });
  }

  /** Counts for MWI (RFC 3842 `Voice-Message: new/old (urgentNew/urgentOld)`). */
  messageCounts(identity: string): { newMessages: number; oldMessages: number; urgentNew: number; urgentOld: number } {
    const r = this.sql(
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
  allMessageCounts(): Map<string, { newMessages: number; oldMessages: number; urgentNew: number; urgentOld: number }> {
    const rows = this.sql(
      `SELECT m.identity AS identity, coalesce(sum(v.unheard), 0) AS n, coalesce(sum(1 - v.unheard), 0) AS o,
              coalesce(sum(v.unheard * v.urgent), 0) AS un, coalesce(sum((1 - v.unheard) * v.urgent), 0) AS uo
         FROM mailboxes m LEFT JOIN voice_messages v ON v.identity = m.identity GROUP BY m.identity`,
    ).all() as { identity: string; n: number; o: number; un: number; uo: number }[];
    return new Map(rows.map((r) => [r.identity, { newMessages: r.n, oldMessages: r.o, urgentNew: r.un, urgentOld: r.uo }]));
  }

  /**
   * SQLite's `data_version`: changes when another connection (another process) commits to the database; stays the
   * same for this connection's own writes. Cheap enough to poll every second.
   */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  /** Records a missed call: the caller hung up without leaving a message (for missed-call notifications). */
  addMissedCall(identity: string, caller: string | null): void {
    this.sql('INSERT INTO missed_calls (identity, caller, at) VALUES (?, ?, ?)').run(identity, caller, this.now());
  }

  /** A mailbox's missed calls, newest first. */
  listMissedCalls(identity: string): { caller: string | null; at: number }[] {
    return this.sql('SELECT caller, at FROM missed_calls WHERE identity = ? ORDER BY id DESC').all(identity) as { caller: string | null; at: number }[];
  }

  // ---------------------------------------------------------------- conferencing

  getTenantSettings(): ConferencingTenantSettings {
    const tenant = this.cachedSettings('conferencing tenant', () => {
      const r = this.sql('SELECT settings FROM conferencing_tenant WHERE id = 1').get() as Row | undefined;
      const { organizers: _o, meetings: _m, ...rest } = this.settings('ConferencingSchema', ConferencingSchema, (r?.settings as string | undefined) ?? '{}');
      return rest;
    });
    return { ...tenant };
  }

  /** Set-CsOnlineDialInConferencingTenantSettings. @throws VaError VA_ERR_INVALID_SETTING */
  updateTenantSettings(patch: Partial<ConferencingTenantSettings>): ConferencingTenantSettings {
    return this.transaction(() => {
      const next = validated(ConferencingSchema, { ...this.getTenantSettings(), ...patch }, 'dial-in conferencing tenant settings');
      const { organizers: _o, meetings: _m, ...tenant } = next;
      this.sql('INSERT OR REPLACE INTO conferencing_tenant (id, settings) VALUES (1, ?)').run(JSON.stringify(tenant));
      this.settingsWritten();
      return tenant;
    });
  }

  listConferencingUsers(): ConferencingUser[] {
    return (this.sql('SELECT * FROM conferencing_users ORDER BY identity').all() as Row[]).map(toConferencingUser);
  }

  /** @throws VaError VA_ERR_NOT_FOUND */
  getConferencingUser(identity: string): ConferencingUser {
    const r = this.sql('SELECT * FROM conferencing_users WHERE identity = ?').get(identity) as Row | undefined;
    if (!r) throw notFound('dial-in conferencing user', identity);
    return toConferencingUser(r);
  }

  /** Changes a conferencing user's leader PIN hash and/or AllowPSTNOnlyMeetings. @throws VaError VA_ERR_NOT_FOUND */
  updateConferencingUser(identity: string, patch: { leaderPinHash?: string; allowPstnOnlyMeetings?: boolean }): ConferencingUser {
    return this.transaction(() => {
      const u = this.getConferencingUser(identity);
      if (patch.leaderPinHash !== undefined)
        this.sql('UPDATE conferencing_users SET leader_pin_hash = ? WHERE identity = ?').run(patch.leaderPinHash, u.identity);
      if (patch.allowPstnOnlyMeetings !== undefined)
        this.sql('UPDATE conferencing_users SET allow_pstn_only_meetings = ? WHERE identity = ?').run(patch.allowPstnOnlyMeetings ? 1 : 0, u.identity);
      return this.getConferencingUser(identity);
    });
  }

  /** The meetings an organizer scheduled. */
  listMeetingsOf(organizer: string): Meeting[] {
    return (this.sql('SELECT * FROM meetings WHERE organizer = ? ORDER BY conference_id').all(organizer) as Row[]).map(toMeeting);
  }

  /** The meeting with this conference ID, or undefined. */
  findMeeting(conferenceId: string): Meeting | undefined {
    const r = this.sql('SELECT * FROM meetings WHERE conference_id = ?').get(conferenceId) as Row | undefined;
    return r ? toMeeting(r) : undefined;
  }
}
