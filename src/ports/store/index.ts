/**
 * The store ports (DESIGN.md, "Layers": `ports/` holds interfaces only; `directory/` implements them, one repository
 * per aggregate, on SQLite (embedded default) and on PostgreSQL (several machines)). Every method that touches the
 * database returns a promise: SQLite answers at once, PostgreSQL over the network. Each read-modify-write is one
 * transaction inside the adapter, never a read, an await and a write in a caller (issue 19).
 *
 * {@link Store} is what the composition root opens and hands to the services, the runtime and the notifications: all
 * repositories on one database, its queue and MWI claims, and its lifecycle. The directory file's import (which
 * knows the file's schema) is the adapters' side: `directory/opened-store.ts`.
 */
import type { AdminRepository } from './admin';
import type { ConferencingRepository } from './conferencing';
import type { DirectoryObjectsRepository } from './directory-objects';
import type { MailboxRepository } from './mailboxes';
import type { MwiDeliveryClaims } from './mwi-deliveries';
import type { NotificationQueueRepository } from './notifications';
import type { OtherWriters, PinHashing, SettingsRepository, StoreClock } from './settings';
import type { VoiceMessageRepository } from './voice-messages';

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
export type { AdminRepository, AdminRole, ApiKey, AuditEntry, AuditQuery } from './admin';
export type { OtherWriters, OtherWritersWatch, PinHashing, SettingsRepository, StoreClock } from './settings';
export type { ConferencingTenantSettings, DialPlan, Gateway, MailboxPolicy } from '../../domain/directory-objects';

/** One open store: every repository on one database, and its lifecycle. */
export interface Store
  extends MailboxRepository,
    VoiceMessageRepository,
    DirectoryObjectsRepository,
    ConferencingRepository,
    SettingsRepository,
    PinHashing,
    StoreClock,
    OtherWriters {
  /** The durable queue of SMS and mails, on the same database. */
  readonly notifications: NotificationQueueRepository;
  /** Who sends each mailbox's lamp changes, on the same database. */
  readonly mwiDeliveries: MwiDeliveryClaims;
  /** API keys of the HTTP API and the admin audit log, on the same database (issue 21). */
  readonly admin: AdminRepository;
  /** What the store is, for the `ready` line and logs: `sqlite:<file>` or `postgresql://user@host:port/db` (never a password). */
  readonly description: string;
  /** Closes the connection(s); pending calls finish first. */
  close(): Promise<void>;
  /**
   * How many operations are waiting on the database now (real I/O): the simulator's virtual clock waits while any
   * is (`sim/virtual-clock.ts`, `isBusy`). Always 0 for SQLite, which answers synchronously.
   */
  inFlight(): number;
}
