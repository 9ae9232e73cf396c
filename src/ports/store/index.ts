/**
 * The store ports (DESIGN.md, "Layers": `ports/` holds interfaces only; `directory/` implements them, one repository
 * per aggregate). Every interface here is synchronous because the embedded SQLite adapter is; a PostgreSQL adapter
 * (issue 20) will need them asynchronous, and these interfaces are the seam where that change is made.
 */
export type {
  DirectoryFileMailbox,
  Mailbox,
  MailboxPatch,
  MailboxRepository,
  NewMailbox,
  PinReplacement,
  PinStatus,
} from './mailboxes';
export type { MessageCounts, MissedCall, VoiceMessage, VoiceMessageRepository } from './voice-messages';
export type { DirectoryObjectsReader, DirectoryObjectsRepository } from './directory-objects';
export type { ConferencingRepository, ConferencingUser, Meeting } from './conferencing';
export type { NotificationKind, NotificationQueueRepository, NotificationRow, NotificationStatus } from './notifications';
export type { MwiDeliveryClaims } from './mwi-deliveries';
export type { OtherWriters, PinHashing, SettingsRepository, StoreClock } from './settings';
export type { ConferencingTenantSettings, DialPlan, Gateway, MailboxPolicy } from '../../domain/directory-objects';
