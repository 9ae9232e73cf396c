/**
 * MwiDeliveryStore: what the processes on one data folder (two `serve` instances behind drachtio-server, say) share
 * about unsolicited MWI, in the `mwi_deliveries` table (migration 4). Every process watches the store and sees every
 * change of a mailbox's counts; without this each one NOTIFYed the gateways of every change.
 *
 * - A claim: one process at a time sends a mailbox's state (its whole delivery, failover and backoff included). The
 *   others leave that mailbox to it: the claimer watches the store too, so it sends whatever state comes next.
 * - The last state the mailbox's gateways accepted (its signature, see `notify/mwi-publisher.ts`), whoever sent it:
 *   a change that leaves the counts as delivered is not sent again by anyone.
 * A claim ends with its delivery or when its process stops; one left by a crashed process runs out at its
 * `claimedUntil` (ms, the store's clock).
 *
 * The port is asynchronous; better-sqlite3 is not: each method is one statement, run when called, and returns a
 * settled promise. The store's `mwiDeliveries` property is one on the store's connection.
 */
import type { MwiDeliveryClaims } from '../ports/store/mwi-deliveries';
import type { SqliteContext } from './sqlite-context';

/** The SQLite adapter of the {@link MwiDeliveryClaims} port. */
export class MwiDeliveryStore implements MwiDeliveryClaims {
  /** @param store the connection the table is on: the store's `SqliteContext` */
  constructor(private readonly store: Pick<SqliteContext, 'sql'>) {}

  /**
   * Claims a mailbox's deliveries for `owner` until `until` (ms), unless another owner's claim is live at `now`.
   * @returns true when `owner` holds the claim now
   */
  async claim(identity: string, owner: string, until: number, now: number): Promise<boolean> {
    const r = this.store.sql(
      `INSERT INTO mwi_deliveries (identity, claimed_by, claimed_until) VALUES (?, ?, ?)
       ON CONFLICT (identity) DO UPDATE SET claimed_by = excluded.claimed_by, claimed_until = excluded.claimed_until
       WHERE claimed_by IS NULL OR claimed_by = excluded.claimed_by OR claimed_until <= ?`,
    ).run(identity, owner, until, now);
    return r.changes === 1;
  }

  /** When the mailbox's current claim runs out (ms), or null when nobody holds one. */
  async claimedUntil(identity: string): Promise<number | null> {
    const r = this.store.sql('SELECT claimed_until FROM mwi_deliveries WHERE identity = ? AND claimed_by IS NOT NULL').pluck().get(identity) as number | null | undefined;
    return r ?? null;
  }

  /** The signature of the last state the mailbox's gateways accepted, from any process; null when none. */
  async lastDelivered(identity: string): Promise<string | null> {
    const r = this.store.sql('SELECT delivered_signature FROM mwi_deliveries WHERE identity = ?').pluck().get(identity) as string | null | undefined;
    return r ?? null;
  }

  /** Records that the mailbox's gateways accepted the state with this signature at `at` (ms). */
  async delivered(identity: string, signature: string, at: number): Promise<void> {
    this.store.sql(
      `INSERT INTO mwi_deliveries (identity, delivered_signature, delivered_at) VALUES (?, ?, ?)
       ON CONFLICT (identity) DO UPDATE SET delivered_signature = excluded.delivered_signature, delivered_at = excluded.delivered_at`,
    ).run(identity, signature, at);
  }

  /** Ends `owner`'s claim on a mailbox (another owner's claim is left alone). */
  async release(identity: string, owner: string): Promise<void> {
    this.store.sql('UPDATE mwi_deliveries SET claimed_by = NULL, claimed_until = NULL WHERE identity = ? AND claimed_by = ?').run(identity, owner);
  }

  /** Ends every claim `owner` holds (its process stops). */
  async releaseAll(owner: string): Promise<void> {
    this.store.sql('UPDATE mwi_deliveries SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?').run(owner);
  }
}
