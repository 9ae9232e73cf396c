/**
 * The directory import of a PostgreSQL store (as `../store-import.ts`): the first start imports the directory file
 * into the empty database, in one transaction under an advisory lock so that several instances starting at once
 * import it once; the snapshots that tell how a file differs from the store; `rehearse` for `Import-Directory -WhatIf`.
 * The file's PINs are checked against their policies and hashed here; only the hashes are stored.
 */
import type pg from 'pg';
import type { Directory } from '../../config/schema';
import { hashPin } from '../../domain/pin-hash';
import { snapshotOfDirectory, snapshotOfStoredObjects, type DirectorySnapshot } from '../directory-snapshot';
import { assertDirectoryPins } from '../store-import';
import { mailboxRowOf } from '../store-rows';
import type { PgContext } from './pg-context';
import type { PgDirectoryObjectsRepository } from './pg-directory-objects-repository';
import type { PgMailboxRepository } from './pg-mailbox-repository';
import { MIGRATION_LOCK } from './pg-migrate';

const SNAPSHOT_KEY = 'imported_snapshot';

export class PgDirectoryImport {
  constructor(
    private readonly ctx: PgContext,
    private readonly parts: { mailboxes: PgMailboxRepository; directory: PgDirectoryObjectsRepository },
    private readonly pinHashCost: number,
  ) {}

  async isImported(on?: pg.PoolClient): Promise<boolean> {
    return (await this.ctx.row(`SELECT 1 FROM meta WHERE key = 'imported_at'`, [], on)) !== undefined;
  }

  /**
   * Imports a validated directory into an empty store. Only one of several instances starting at once imports.
   * @returns true when this call imported
   * @throws VaError VA_ERR_PIN_POLICY (an initial PIN breaks its policy; nothing imported)
   */
  async importDirectory(dir: Directory, source: string): Promise<boolean> {
    if (await this.isImported()) return false;
    const policies = new Map(dir.mailboxPolicies.map((p) => [p.name.toLowerCase(), p]));
    assertDirectoryPins(dir, source);
    const pinHashes = await Promise.all(dir.mailboxes.map((m) => (m.pin ? hashPin(m.pin, this.pinHashCost) : Promise.resolve('unset'))));
    const leaderHashes = await Promise.all(
      dir.conferencing.organizers.map((o) => (o.leaderPin ? hashPin(o.leaderPin, this.pinHashCost) : Promise.resolve(null))),
    );
    try {
      return await this.ctx.tx(async (c) => {
        await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
        if (await this.isImported(c)) return false;
        for (const dp of dir.dialPlans) await c.query('INSERT INTO dial_plans (name, settings) VALUES ($1, $2)', [dp.name, JSON.stringify(dp)]);
        for (const [i, g] of dir.gateways.entries())
          await c.query('INSERT INTO ip_gateways (name, position, settings) VALUES ($1, $2, $3)', [g.name, i, JSON.stringify(g)]);
        for (const p of dir.mailboxPolicies) await c.query('INSERT INTO mailbox_policies (name, settings) VALUES ($1, $2)', [p.name, JSON.stringify(p)]);
        for (const [i, m] of dir.mailboxes.entries()) {
          const policy = policies.get(m.policy.toLowerCase())!;
          await this.parts.mailboxes.insert(mailboxRowOf(m, { dialPlan: policy.dialPlan, policy: policy.name }, pinHashes[i]), c);
        }
        const { organizers, meetings, ...tenant } = dir.conferencing;
        await c.query('INSERT INTO conferencing_tenant (id, settings) VALUES (1, $1)', [JSON.stringify(tenant)]);
        for (const [i, o] of organizers.entries())
          await c.query('INSERT INTO conferencing_users (identity, display_name, leader_pin_hash, allow_pstn_only_meetings) VALUES ($1, $2, $3, $4)', [
            o.identity,
            o.displayName ?? null,
            leaderHashes[i],
            o.allowPstnOnlyMeetings,
          ]);
        for (const m of meetings) await c.query('INSERT INTO meetings (conference_id, organizer, subject) VALUES ($1, $2, $3)', [m.conferenceId, m.organizer, m.subject ?? null]);
        const meta: [string, string][] = [
          ['imported_at', String(this.ctx.now())],
          ['imported_from', source],
          ['organization', dir.organization],
          ['default_locale', dir.defaultLocale],
          [SNAPSHOT_KEY, JSON.stringify(snapshotOfDirectory(dir))],
        ];
        for (const [k, v] of meta) await c.query('INSERT INTO meta (key, value) VALUES ($1, $2)', [k, v]);
        return true;
      });
    } finally {
      this.ctx.settingsWritten();
    }
  }

  async importedSnapshot(): Promise<DirectorySnapshot | undefined> {
    const r = await this.ctx.row<{ value: string }>('SELECT value FROM meta WHERE key = $1', [SNAPSHOT_KEY]);
    return r ? (JSON.parse(r.value) as DirectorySnapshot) : undefined;
  }

  async recordImportedDirectory(snapshot: DirectorySnapshot, source: string): Promise<void> {
    const put = 'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value';
    await this.ctx.tx(async (c) => {
      await c.query(put, [SNAPSHOT_KEY, JSON.stringify(snapshot)]);
      await c.query(put, ['imported_from', source]);
      await c.query(put, ['directory_applied_at', String(this.ctx.now())]);
    });
  }

  async snapshotOfStore(): Promise<DirectorySnapshot> {
    const { directory, mailboxes } = this.parts;
    return snapshotOfStoredObjects({
      dialPlans: await directory.listDialPlans(),
      gateways: await directory.listGateways(),
      mailboxPolicies: await directory.listPolicies(),
      mailboxes: await mailboxes.listMailboxes(),
    });
  }
}
