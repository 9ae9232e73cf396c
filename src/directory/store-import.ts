/**
 * The directory import of the SQLite store: the first start of a data folder imports the directory file into the
 * empty store (later starts keep the store as the cmdlets left it), the snapshot of what was imported (to tell at
 * start how the file has changed since, issue 19), and the snapshot of the store itself (`rehearse` and `atomically`,
 * for `Import-Directory`, are the store's: `store.ts`). The directory file's PINs are checked against their policies
 * and hashed here; only the hashes are stored.
 *
 * Asynchronous as the {@link DirectoryImport} port is; each method does its better-sqlite3 work synchronously (the
 * import in one IMMEDIATE transaction, after the PINs are hashed).
 */
import type { Directory } from '../config/schema';
import { hashPin } from '../domain/pin-hash';
import { assertDirectoryPins } from './directory-pins';
import { mailboxRowOf } from './store-rows';
import { snapshotOfDirectory, snapshotOfStoredObjects, type DirectorySnapshot } from './directory-snapshot';
import type { SqliteDirectoryObjectsRepository } from './directory-objects-repository';
import type { SqliteMailboxRepository } from './mailbox-repository';
import type { SqliteSettingsRepository } from './settings-repository';
import type { DirectoryImport } from './opened-store';
import type { SqliteContext } from './sqlite-context';

export { assertDirectoryPins } from './directory-pins';

/** The meta key of the snapshot of the directory file the store was imported from. */
const SNAPSHOT_KEY = 'imported_snapshot';

/** The import and snapshots of one SQLite store. */
export class SqliteDirectoryImport implements Omit<DirectoryImport, 'rehearse' | 'atomically'> {
  /**
   * @param ctx the store's connection
   * @param parts the store's repositories the import writes and the snapshots read
   * @param pinHashCost scrypt cost (log2 N) for the imported PINs' hashes
   */
  constructor(
    private readonly ctx: SqliteContext,
    private readonly parts: {
      mailboxes: SqliteMailboxRepository;
      directory: SqliteDirectoryObjectsRepository;
      settings: SqliteSettingsRepository;
    },
    private readonly pinHashCost: number,
  ) {}

  /** True once a directory file has been imported into this store. */
  async isImported(): Promise<boolean> {
    return this.isImportedSync();
  }

  private isImportedSync(): boolean {
    return this.ctx.sql(`SELECT 1 FROM meta WHERE key = 'imported_at'`).get() !== undefined;
  }

  /**
   * Imports a validated directory into an empty store: the first start of a data folder. Later starts keep the
   * store as the cmdlets left it. Safe against concurrent first starts: only one process imports.
   * @returns true when this call imported, false when the store already held a directory
   * @throws VaError VA_ERR_PIN_POLICY (an initial PIN breaks its policy; nothing imported)
   */
  async importDirectory(dir: Directory, source: string): Promise<boolean> {
    if (this.isImportedSync()) return false;
    const now = this.ctx.now();
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
    return this.ctx.transaction(() => {
      if (this.isImportedSync()) return false;
      this.ctx.settingsWritten();
      const insDp = this.ctx.sql('INSERT INTO dial_plans (name, settings) VALUES (?, ?)');
      for (const dp of dir.dialPlans) insDp.run(dp.name, JSON.stringify(dp));
      const insGw = this.ctx.sql('INSERT INTO ip_gateways (name, position, settings) VALUES (?, ?, ?)');
      dir.gateways.forEach((g, i) => insGw.run(g.name, i, JSON.stringify(g)));
      const insPol = this.ctx.sql('INSERT INTO mailbox_policies (name, settings) VALUES (?, ?)');
      for (const p of dir.mailboxPolicies) insPol.run(p.name, JSON.stringify(p));
      dir.mailboxes.forEach((m, i) => {
        const policy = policies.get(m.policy.toLowerCase())!;
        this.parts.mailboxes.insert(mailboxRowOf(m, { dialPlan: policy.dialPlan, policy: policy.name }, pinHashes[i]));
      });
      const { organizers, meetings, ...tenant } = dir.conferencing;
      this.ctx.sql('INSERT INTO conferencing_tenant (id, settings) VALUES (1, ?)').run(JSON.stringify(tenant));
      const insUser = this.ctx.sql(
        'INSERT INTO conferencing_users (identity, display_name, leader_pin_hash, allow_pstn_only_meetings) VALUES (?, ?, ?, ?)',
      );
      organizers.forEach((o, i) => insUser.run(o.identity, o.displayName ?? null, leaderHashes[i], o.allowPstnOnlyMeetings ? 1 : 0));
      const insMeeting = this.ctx.sql('INSERT INTO meetings (conference_id, organizer, subject) VALUES (?, ?, ?)');
      for (const m of meetings) insMeeting.run(m.conferenceId, m.organizer, m.subject ?? null);
      const insMeta = this.ctx.sql('INSERT INTO meta (key, value) VALUES (?, ?)');
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
  async importedSnapshot(): Promise<DirectorySnapshot | undefined> {
    const json = this.parts.settings.metaSync(SNAPSHOT_KEY);
    return json === undefined ? undefined : (JSON.parse(json) as DirectorySnapshot);
  }

  /** Records that the store now reflects this directory file (after `Import-Directory` applied it). */
  async recordImportedDirectory(snapshot: DirectorySnapshot, source: string): Promise<void> {
    const put = this.ctx.sql('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    this.ctx.transaction(() => {
      put.run(SNAPSHOT_KEY, JSON.stringify(snapshot));
      put.run('imported_from', source);
      put.run('directory_applied_at', String(this.ctx.now()));
    });
  }

  /**
   * The store's own directory objects as a snapshot (dial plans, gateways in failover order, policies, mailboxes),
   * to compare a directory file with what the store holds now.
   */
  async snapshotOfStore(): Promise<DirectorySnapshot> {
    const { directory, mailboxes } = this.parts;
    return snapshotOfStoredObjects({
      dialPlans: directory.listDialPlansSync(),
      gateways: directory.listGatewaysSync(),
      mailboxPolicies: directory.listPoliciesSync(),
      mailboxes: mailboxes.listMailboxesSync(),
    });
  }
}
