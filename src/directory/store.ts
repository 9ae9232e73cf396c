/**
 * DirectoryStore: the directory (dial plans, UM IP gateways, UM mailbox policies, mailboxes, voice messages,
 * conferencing) in SQLite under the data folder. A facade over one repository per aggregate, each implementing its
 * store port (`ports/store/`): {@link SqliteMailboxRepository}, {@link SqliteVoiceMessageRepository},
 * {@link SqliteDirectoryObjectsRepository}, {@link SqliteConferencingRepository}, {@link SqliteSettingsRepository},
 * and the directory import ({@link SqliteDirectoryImport}); the notification queue and the MWI delivery claims
 * (`notification-store.ts`, `mwi-delivery-store.ts`) use the same connection. Every method here delegates.
 *
 * Synchronous (better-sqlite3); every change runs in an IMMEDIATE transaction so that the CLI and a running server
 * can share the folder. PINs are stored only as hashes (see `domain/pin-hash.ts`); nothing here accepts or returns a
 * plaintext PIN.
 */
import type Database from 'better-sqlite3';
import type { Directory } from '../config/schema';
import type { ConferencingTenantSettings, DialPlan, Gateway, MailboxPolicy } from '../domain/directory-objects';
import type { Clock } from '../ports/clock';
import { systemClock } from '../ports/clock';
import type { ConferencingRepository, ConferencingUser, Meeting } from '../ports/store/conferencing';
import type { DirectoryObjectsRepository } from '../ports/store/directory-objects';
import type {
  DirectoryFileMailbox,
  Mailbox,
  MailboxPatch,
  MailboxRepository,
  NewMailbox,
  PinReplacement,
  PinStatus,
} from '../ports/store/mailboxes';
import type { OtherWriters, PinHashing, SettingsRepository, StoreClock } from '../ports/store/settings';
import type { MessageCounts, MissedCall, VoiceMessage, VoiceMessageRepository } from '../ports/store/voice-messages';
import { SqliteConferencingRepository } from './conferencing-repository';
import { openDatabase } from './db';
import type { DirectorySnapshot } from './directory-snapshot';
import { SqliteDirectoryObjectsRepository } from './directory-objects-repository';
import { SqliteMailboxRepository } from './mailbox-repository';
import { SqliteSettingsRepository } from './settings-repository';
import { SqliteContext } from './sqlite-context';
import { SqliteDirectoryImport } from './store-import';
import { SqliteVoiceMessageRepository } from './voice-message-repository';

export type { ConferencingTenantSettings } from '../domain/directory-objects';
export type { ConferencingUser, Meeting } from '../ports/store/conferencing';
export type { Mailbox, MailboxPatch, PinStatus } from '../ports/store/mailboxes';
export type { VoiceMessage } from '../ports/store/voice-messages';
export { SETTINGS_RECHECK_MS } from './sqlite-context';
export { assertDirectoryPins } from './store-import';

/** Options for {@link DirectoryStore.open}. */
export interface StoreOptions {
  /** Time source for PIN set/expiry times; the system clock by default. */
  clock?: Pick<Clock, 'now'>;
  /** scrypt cost (log2 N) for new PIN hashes; 14 by default. */
  pinHashCost?: number;
}

export class DirectoryStore
  implements
    MailboxRepository,
    VoiceMessageRepository,
    DirectoryObjectsRepository,
    ConferencingRepository,
    SettingsRepository,
    PinHashing,
    StoreClock,
    OtherWriters
{
  /** scrypt cost (log2 N) used for new PIN hashes. */
  readonly pinHashCost: number;
  /** The connection, prepared statements, transactions and settings cache the repositories share. */
  readonly context: SqliteContext;
  /** Mailboxes, their PIN state and PIN history. */
  readonly mailboxes: SqliteMailboxRepository;
  /** Voice messages and missed calls. */
  readonly voiceMessages: SqliteVoiceMessageRepository;
  /** Dial plans, UM mailbox policies, UM IP gateways. */
  readonly directoryObjects: SqliteDirectoryObjectsRepository;
  /** Dial-in conferencing: tenant settings, users, meetings. */
  readonly conferencing: SqliteConferencingRepository;
  /** The store's own facts (the `meta` table). */
  readonly settings: SqliteSettingsRepository;
  /** The directory import, snapshots and rehearsal. */
  readonly directoryImport: SqliteDirectoryImport;

  private constructor(
    readonly db: Database.Database,
    readonly dataDir: string,
    options: StoreOptions,
  ) {
    this.pinHashCost = options.pinHashCost ?? 14;
    this.context = new SqliteContext(db, options.clock ?? systemClock);
    this.directoryObjects = new SqliteDirectoryObjectsRepository(this.context);
    this.mailboxes = new SqliteMailboxRepository(this.context, this.directoryObjects);
    this.voiceMessages = new SqliteVoiceMessageRepository(this.context);
    this.conferencing = new SqliteConferencingRepository(this.context);
    this.settings = new SqliteSettingsRepository(this.context);
    this.directoryImport = new SqliteDirectoryImport(
      this.context,
      { mailboxes: this.mailboxes, directory: this.directoryObjects, settings: this.settings },
      this.pinHashCost,
    );
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
    return this.context.sql(text);
  }

  /** Current time in ms from the store's clock. */
  now(): number {
    return this.context.now();
  }

  /** Runs `fn` in one IMMEDIATE transaction (other writers wait on the busy timeout). */
  transaction<T>(fn: () => T): T {
    return this.context.transaction(fn);
  }

  /**
   * SQLite's `data_version`: changes when another connection (another process) commits to the database; stays the
   * same for this connection's own writes. Cheap enough to poll every second.
   */
  dataVersion(): number {
    return this.context.dataVersion();
  }

  // ---------------------------------------------------------------- import (SqliteDirectoryImport)

  /** True once a directory file has been imported into this store. */
  isImported(): boolean {
    return this.directoryImport.isImported();
  }

  /**
   * Imports a validated directory into an empty store (the first start of a data folder); see
   * {@link SqliteDirectoryImport.importDirectory}.
   * @returns true when this call imported, false when the store already held a directory
   */
  importDirectory(dir: Directory, source: string): Promise<boolean> {
    return this.directoryImport.importDirectory(dir, source);
  }

  /** What the store was last imported from, without PINs; undefined for a store imported before snapshots were kept. */
  importedSnapshot(): DirectorySnapshot | undefined {
    return this.directoryImport.importedSnapshot();
  }

  /** Records that the store now reflects this directory file (after `Import-Directory` applied it). */
  recordImportedDirectory(snapshot: DirectorySnapshot, source: string): void {
    this.directoryImport.recordImportedDirectory(snapshot, source);
  }

  /** The store's own directory objects as a snapshot, to compare a directory file with. */
  snapshotOfStore(): DirectorySnapshot {
    return this.directoryImport.snapshotOfStore();
  }

  /** Runs `fn` in a transaction that is always rolled back (`Import-Directory -WhatIf`). @returns what `fn` returned */
  rehearse<T>(fn: () => T): T {
    return this.directoryImport.rehearse(fn);
  }

  /** A value from the meta table (organization, default_locale, imported_from, imported_at). */
  meta(key: string): string | undefined {
    return this.settings.meta(key);
  }

  // ---------------------------------------------------------------- dial plans, gateways, policies (SqliteDirectoryObjectsRepository)

  /** All dial plans, by name. */
  listDialPlans(): DialPlan[] {
    return this.directoryObjects.listDialPlans();
  }

  /** @throws VaError VA_ERR_NOT_FOUND */
  getDialPlan(name: string): DialPlan {
    return this.directoryObjects.getDialPlan(name);
  }

  /** Adds a dial plan (Import-Directory). @throws VaError VA_ERR_ALREADY_EXISTS, VA_ERR_INVALID_SETTING */
  addDialPlan(plan: DialPlan): DialPlan {
    return this.directoryObjects.addDialPlan(plan);
  }

  /** Changes a dial plan's settings (Set-UMDialPlan). @throws VaError VA_ERR_NOT_FOUND, VA_ERR_INVALID_SETTING */
  updateDialPlan(name: string, patch: Partial<DialPlan>): DialPlan {
    return this.directoryObjects.updateDialPlan(name, patch);
  }

  /** All UM IP gateways in failover order. */
  listGateways(): Gateway[] {
    return this.directoryObjects.listGateways();
  }

  /** @throws VaError VA_ERR_NOT_FOUND */
  getGateway(name: string): Gateway {
    return this.directoryObjects.getGateway(name);
  }

  /** Adds a UM IP gateway last in the failover order (New-UMIPGateway). @throws VaError VA_ERR_ALREADY_EXISTS, VA_ERR_NOT_FOUND, VA_ERR_INVALID_SETTING */
  newGateway(gateway: Partial<Gateway> & Pick<Gateway, 'name' | 'address' | 'dialPlan'>): Gateway {
    return this.directoryObjects.newGateway(gateway);
  }

  /** Changes a gateway (Set-UMIPGateway). @throws VaError VA_ERR_NOT_FOUND, VA_ERR_ALREADY_EXISTS, VA_ERR_INVALID_SETTING */
  updateGateway(name: string, patch: Partial<Gateway>): Gateway {
    return this.directoryObjects.updateGateway(name, patch);
  }

  /** Removes a gateway (Remove-UMIPGateway). @throws VaError VA_ERR_NOT_FOUND */
  removeGateway(name: string): void {
    this.directoryObjects.removeGateway(name);
  }

  /** Puts the named gateways first in the failover order, in the order given. @throws VaError VA_ERR_NOT_FOUND */
  setGatewayOrder(names: readonly string[]): void {
    this.directoryObjects.setGatewayOrder(names);
  }

  /** All UM mailbox policies, by name. */
  listPolicies(): MailboxPolicy[] {
    return this.directoryObjects.listPolicies();
  }

  /** @throws VaError VA_ERR_NOT_FOUND */
  getPolicy(name: string): MailboxPolicy {
    return this.directoryObjects.getPolicy(name);
  }

  /** Adds a UM mailbox policy (Import-Directory). @throws VaError VA_ERR_ALREADY_EXISTS, VA_ERR_NOT_FOUND, VA_ERR_INVALID_SETTING */
  addPolicy(policy: MailboxPolicy): MailboxPolicy {
    return this.directoryObjects.addPolicy(policy);
  }

  /** Changes a policy (Set-UMMailboxPolicy). @throws VaError VA_ERR_NOT_FOUND, VA_ERR_INVALID_SETTING */
  updatePolicy(name: string, patch: Partial<MailboxPolicy>): MailboxPolicy {
    return this.directoryObjects.updatePolicy(name, patch);
  }

  // ---------------------------------------------------------------- mailboxes (SqliteMailboxRepository)

  /** All UM-enabled mailboxes, by identity. */
  listMailboxes(): Mailbox[] {
    return this.mailboxes.listMailboxes();
  }

  /** The mailbox, or undefined. Identity is case-insensitive. */
  findMailbox(identity: string): Mailbox | undefined {
    return this.mailboxes.findMailbox(identity);
  }

  /** @throws VaError VA_ERR_NOT_FOUND */
  getMailbox(identity: string): Mailbox {
    return this.mailboxes.getMailbox(identity);
  }

  /** The mailbox with this extension, in one dial plan or (when omitted) any. */
  findMailboxByExtension(extension: string, dialPlan?: string): Mailbox | undefined {
    return this.mailboxes.findMailboxByExtension(extension, dialPlan);
  }

  /** The mailbox whose mobile number or extension equals a caller's number, with or without its leading `+`. */
  findMailboxByCaller(callerNumber: string): Mailbox | undefined {
    return this.mailboxes.findMailboxByCaller(callerNumber);
  }

  /** UM-enables a mailbox (Enable-UMMailbox). @throws VaError VA_ERR_NOT_FOUND, VA_ERR_ALREADY_EXISTS, VA_ERR_INVALID_SETTING */
  enableMailbox(m: NewMailbox): Mailbox {
    return this.mailboxes.enableMailbox(m);
  }

  /**
   * Adds a mailbox of a directory file with its initial state (Import-Directory: new mailboxes only).
   * @param pinHash the initial PIN's hash, or `unset` for a mailbox without one
   * @throws VaError VA_ERR_NOT_FOUND (policy), VA_ERR_ALREADY_EXISTS, VA_ERR_INVALID_SETTING (extension length)
   */
  addDirectoryMailbox(m: DirectoryFileMailbox, pinHash: string): Mailbox {
    return this.mailboxes.addDirectoryMailbox(m, pinHash);
  }

  /** Removes UM from a mailbox (Disable-UMMailbox); its PIN history goes too, voice messages stay. */
  disableMailbox(identity: string): void {
    this.mailboxes.disableMailbox(identity);
  }

  /** Changes per-mailbox settings (Set-UMMailbox, first-time setup, greeting files). @throws VaError VA_ERR_NOT_FOUND */
  updateMailbox(identity: string, patch: MailboxPatch): Mailbox {
    return this.mailboxes.updateMailbox(identity, patch);
  }

  /** The effective PIN state of a mailbox, PINLifetime included ([D-GETPIN]). */
  pinStatus(m: Mailbox): PinStatus {
    return this.mailboxes.pinStatus(m);
  }

  /** The last `count` PIN hashes of a mailbox, newest first (the current PIN included). */
  pinHistory(identity: string, count: number): string[] {
    return this.mailboxes.pinHistory(identity, count);
  }

  /** Stores a new PIN hash: PinExpired, failure count cleared, lockout set or cleared, PIN history appended. */
  setPinHash(identity: string, pinHash: string, opts: { expired: boolean; lockedOut: boolean }): void {
    this.mailboxes.setPinHash(identity, pinHash, opts);
  }

  /**
   * Stores the PIN hash of an automatic PIN reset, unless the mailbox is locked or its PIN is no longer
   * `opts.ifPinHash` ({@link SqliteMailboxRepository.replacePinHash}).
   * @returns `replaced`, or why not: `locked` or `pin-changed`
   */
  replacePinHash(identity: string, pinHash: string, opts: { expired: boolean; ifPinHash: string }): PinReplacement {
    return this.mailboxes.replacePinHash(identity, pinHash, opts);
  }

  /** Sets or clears the lockout without touching the PIN. */
  setLockedOut(identity: string, lockedOut: boolean): void {
    this.mailboxes.setLockedOut(identity, lockedOut);
  }

  /** Clears the failure count after a successful sign-in (no write when it is already 0). */
  clearLogonFailures(identity: string): void {
    this.mailboxes.clearLogonFailures(identity);
  }

  /**
   * Atomically applies `decide` to the mailbox's failure count and lockout and stores its result
   * ({@link SqliteMailboxRepository.updateLogonFailures}). @returns what `decide` returned
   */
  updateLogonFailures<T extends { failures: number; lockedOut?: boolean }>(identity: string, decide: (m: Mailbox) => T): T {
    return this.mailboxes.updateLogonFailures(identity, decide);
  }

  // ---------------------------------------------------------------- voice messages (SqliteVoiceMessageRepository)

  /** A mailbox's voice messages: unheard first, newest first within each group. */
  listVoiceMessages(identity: string): VoiceMessage[] {
    return this.voiceMessages.listVoiceMessages(identity);
  }

  /** Stores a voice message row (the audio file must already be on disk). @returns the new message */
  addVoiceMessage(m: Omit<VoiceMessage, 'id' | 'unheard'> & { unheard?: boolean }): VoiceMessage {
    return this.voiceMessages.addVoiceMessage(m);
  }

  /** Marks a message heard or unheard. @returns false when no such message of that mailbox exists */
  setMessageHeard(identity: string, id: string, heard: boolean): boolean {
    return this.voiceMessages.setMessageHeard(identity, id, heard);
  }

  /** Deletes a message row. @returns the deleted message (its audio file is the caller's to remove), or undefined */
  deleteVoiceMessage(identity: string, id: string): VoiceMessage | undefined {
    return this.voiceMessages.deleteVoiceMessage(identity, id);
  }

  /** Counts for MWI (RFC 3842 `Voice-Message: new/old (urgentNew/urgentOld)`). */
  messageCounts(identity: string): MessageCounts {
    return this.voiceMessages.messageCounts(identity);
  }

  /** Every mailbox's MWI counts in one query (mailboxes without messages have zero counts). */
  allMessageCounts(): Map<string, MessageCounts> {
    return this.voiceMessages.allMessageCounts();
  }

  /** Records a missed call: the caller hung up without leaving a message (for missed-call notifications). */
  addMissedCall(identity: string, caller: string | null): void {
    this.voiceMessages.addMissedCall(identity, caller);
  }

  /** A mailbox's missed calls, newest first. */
  listMissedCalls(identity: string): MissedCall[] {
    return this.voiceMessages.listMissedCalls(identity);
  }

  // ---------------------------------------------------------------- conferencing (SqliteConferencingRepository)

  /** The tenant's dial-in conferencing settings ([T-TEN]). */
  getTenantSettings(): ConferencingTenantSettings {
    return this.conferencing.getTenantSettings();
  }

  /** Set-CsOnlineDialInConferencingTenantSettings. @throws VaError VA_ERR_INVALID_SETTING */
  updateTenantSettings(patch: Partial<ConferencingTenantSettings>): ConferencingTenantSettings {
    return this.conferencing.updateTenantSettings(patch);
  }

  /** All conferencing users, by identity. */
  listConferencingUsers(): ConferencingUser[] {
    return this.conferencing.listConferencingUsers();
  }

  /** @throws VaError VA_ERR_NOT_FOUND */
  getConferencingUser(identity: string): ConferencingUser {
    return this.conferencing.getConferencingUser(identity);
  }

  /** Changes a conferencing user's leader PIN hash and/or AllowPSTNOnlyMeetings. @throws VaError VA_ERR_NOT_FOUND */
  updateConferencingUser(identity: string, patch: { leaderPinHash?: string; allowPstnOnlyMeetings?: boolean }): ConferencingUser {
    return this.conferencing.updateConferencingUser(identity, patch);
  }

  /** The meetings an organizer scheduled. */
  listMeetingsOf(organizer: string): Meeting[] {
    return this.conferencing.listMeetingsOf(organizer);
  }

  /** The meeting with this conference ID, or undefined. */
  findMeeting(conferenceId: string): Meeting | undefined {
    return this.conferencing.findMeeting(conferenceId);
  }
}
