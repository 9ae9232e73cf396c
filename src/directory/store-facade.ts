/**
 * StoreFacade: the flat {@link Store} surface (one method per port method) over a store's repositories, one per
 * aggregate. SQLite's `DirectoryStore` and PostgreSQL's `PostgresStore` both extend it and differ only in the
 * repositories they build and in what is not a repository (lifecycle, import, watching other writers).
 */
import type { ConferencingTenantSettings, DialPlan, Gateway, MailboxPolicy } from '../domain/directory-objects';
import type {
  ConferencingRepository,
  ConferencingUser,
  DirectoryFileMailbox,
  DirectoryObjectsRepository,
  Mailbox,
  MailboxPatch,
  MailboxRepository,
  Meeting,
  MessageCounts,
  MissedCall,
  NewMailbox,
  PinReplacement,
  PinStatus,
  VoiceMessage,
  VoiceMessageRepository,
} from '../ports/store';

/** The repositories a store is made of. */
export interface StoreRepositories {
  readonly mailboxes: MailboxRepository;
  readonly voiceMessages: VoiceMessageRepository;
  readonly directoryObjects: DirectoryObjectsRepository;
  readonly conferencing: ConferencingRepository;
}

export abstract class StoreFacade
  implements Pick<MailboxRepository & VoiceMessageRepository & DirectoryObjectsRepository & ConferencingRepository, keyof (MailboxRepository & VoiceMessageRepository & DirectoryObjectsRepository & ConferencingRepository)>
{
  /** @param parts the repositories every method delegates to */
  constructor(private readonly parts: StoreRepositories) {}

  // ---------------------------------------------------------------- directory objects

  listDialPlans(): Promise<DialPlan[]> {
    return this.parts.directoryObjects.listDialPlans();
  }
  getDialPlan(name: string): Promise<DialPlan> {
    return this.parts.directoryObjects.getDialPlan(name);
  }
  addDialPlan(plan: DialPlan): Promise<DialPlan> {
    return this.parts.directoryObjects.addDialPlan(plan);
  }
  updateDialPlan(name: string, patch: Partial<DialPlan>): Promise<DialPlan> {
    return this.parts.directoryObjects.updateDialPlan(name, patch);
  }
  listGateways(): Promise<Gateway[]> {
    return this.parts.directoryObjects.listGateways();
  }
  getGateway(name: string): Promise<Gateway> {
    return this.parts.directoryObjects.getGateway(name);
  }
  newGateway(gateway: Partial<Gateway> & Pick<Gateway, 'name' | 'address' | 'dialPlan'>): Promise<Gateway> {
    return this.parts.directoryObjects.newGateway(gateway);
  }
  updateGateway(name: string, patch: Partial<Gateway>): Promise<Gateway> {
    return this.parts.directoryObjects.updateGateway(name, patch);
  }
  removeGateway(name: string): Promise<void> {
    return this.parts.directoryObjects.removeGateway(name);
  }
  setGatewayOrder(names: readonly string[]): Promise<void> {
    return this.parts.directoryObjects.setGatewayOrder(names);
  }
  listPolicies(): Promise<MailboxPolicy[]> {
    return this.parts.directoryObjects.listPolicies();
  }
  getPolicy(name: string): Promise<MailboxPolicy> {
    return this.parts.directoryObjects.getPolicy(name);
  }
  addPolicy(policy: MailboxPolicy): Promise<MailboxPolicy> {
    return this.parts.directoryObjects.addPolicy(policy);
  }
  updatePolicy(name: string, patch: Partial<MailboxPolicy>): Promise<MailboxPolicy> {
    return this.parts.directoryObjects.updatePolicy(name, patch);
  }

  // ---------------------------------------------------------------- mailboxes

  listMailboxes(): Promise<Mailbox[]> {
    return this.parts.mailboxes.listMailboxes();
  }
  findMailbox(identity: string): Promise<Mailbox | undefined> {
    return this.parts.mailboxes.findMailbox(identity);
  }
  getMailbox(identity: string): Promise<Mailbox> {
    return this.parts.mailboxes.getMailbox(identity);
  }
  findMailboxByExtension(extension: string, dialPlan?: string): Promise<Mailbox | undefined> {
    return this.parts.mailboxes.findMailboxByExtension(extension, dialPlan);
  }
  findMailboxByCaller(callerNumber: string): Promise<Mailbox | undefined> {
    return this.parts.mailboxes.findMailboxByCaller(callerNumber);
  }
  enableMailbox(m: NewMailbox): Promise<Mailbox> {
    return this.parts.mailboxes.enableMailbox(m);
  }
  addDirectoryMailbox(m: DirectoryFileMailbox, pinHash: string): Promise<Mailbox> {
    return this.parts.mailboxes.addDirectoryMailbox(m, pinHash);
  }
  disableMailbox(identity: string): Promise<void> {
    return this.parts.mailboxes.disableMailbox(identity);
  }
  updateMailbox(identity: string, patch: MailboxPatch): Promise<Mailbox> {
    return this.parts.mailboxes.updateMailbox(identity, patch);
  }
  pinStatus(m: Mailbox): Promise<PinStatus> {
    return this.parts.mailboxes.pinStatus(m);
  }
  pinHistory(identity: string, count: number): Promise<string[]> {
    return this.parts.mailboxes.pinHistory(identity, count);
  }
  setPinHash(identity: string, pinHash: string, opts: { expired: boolean; lockedOut: boolean }): Promise<void> {
    return this.parts.mailboxes.setPinHash(identity, pinHash, opts);
  }
  replacePinHash(identity: string, pinHash: string, opts: { expired: boolean; ifPinHash: string }): Promise<PinReplacement> {
    return this.parts.mailboxes.replacePinHash(identity, pinHash, opts);
  }
  setLockedOut(identity: string, lockedOut: boolean): Promise<void> {
    return this.parts.mailboxes.setLockedOut(identity, lockedOut);
  }
  clearLogonFailures(identity: string): Promise<void> {
    return this.parts.mailboxes.clearLogonFailures(identity);
  }
  updateLogonFailures<T extends { failures: number; lockedOut?: boolean }>(identity: string, decide: (m: Mailbox) => T, seen?: Mailbox): Promise<T> {
    return this.parts.mailboxes.updateLogonFailures(identity, decide, seen);
  }
  compareAndSetLogonState(seen: Mailbox, next: { failures: number; lockedOut: boolean }): Promise<boolean> {
    return this.parts.mailboxes.compareAndSetLogonState(seen, next);
  }

  // ---------------------------------------------------------------- voice messages

  listVoiceMessages(identity: string): Promise<VoiceMessage[]> {
    return this.parts.voiceMessages.listVoiceMessages(identity);
  }
  addVoiceMessage(m: Omit<VoiceMessage, 'id' | 'unheard'> & { unheard?: boolean }): Promise<VoiceMessage> {
    return this.parts.voiceMessages.addVoiceMessage(m);
  }
  setMessageHeard(identity: string, id: string, heard: boolean): Promise<boolean> {
    return this.parts.voiceMessages.setMessageHeard(identity, id, heard);
  }
  deleteVoiceMessage(identity: string, id: string): Promise<VoiceMessage | undefined> {
    return this.parts.voiceMessages.deleteVoiceMessage(identity, id);
  }
  messageCounts(identity: string): Promise<MessageCounts> {
    return this.parts.voiceMessages.messageCounts(identity);
  }
  allMessageCounts(): Promise<Map<string, MessageCounts>> {
    return this.parts.voiceMessages.allMessageCounts();
  }
  addMissedCall(identity: string, caller: string | null): Promise<void> {
    return this.parts.voiceMessages.addMissedCall(identity, caller);
  }
  listMissedCalls(identity: string): Promise<MissedCall[]> {
    return this.parts.voiceMessages.listMissedCalls(identity);
  }

  // ---------------------------------------------------------------- conferencing

  getTenantSettings(): Promise<ConferencingTenantSettings> {
    return this.parts.conferencing.getTenantSettings();
  }
  updateTenantSettings(patch: Partial<ConferencingTenantSettings>): Promise<ConferencingTenantSettings> {
    return this.parts.conferencing.updateTenantSettings(patch);
  }
  listConferencingUsers(): Promise<ConferencingUser[]> {
    return this.parts.conferencing.listConferencingUsers();
  }
  getConferencingUser(identity: string): Promise<ConferencingUser> {
    return this.parts.conferencing.getConferencingUser(identity);
  }
  updateConferencingUser(identity: string, patch: { leaderPinHash?: string; allowPstnOnlyMeetings?: boolean }): Promise<ConferencingUser> {
    return this.parts.conferencing.updateConferencingUser(identity, patch);
  }
  listMeetingsOf(organizer: string): Promise<Meeting[]> {
    return this.parts.conferencing.listMeetingsOf(organizer);
  }
  findMeeting(conferenceId: string): Promise<Meeting | undefined> {
    return this.parts.conferencing.findMeeting(conferenceId);
  }
}
