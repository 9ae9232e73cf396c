/**
 * PgMwiDeliveryStore: which instance sends each mailbox's lamp changes, and the last state its gateways accepted, on
 * PostgreSQL (as `../mwi-delivery-store.ts`). A claim is one `INSERT ... ON CONFLICT DO UPDATE ... WHERE`, atomic on
 * the row: of two instances that see the same change, one sends it. A claim left by a dead instance runs out at its
 * `claimedUntil` (ms, the store's clock) and another instance delivers then.
 */
import type { MwiDeliveryClaims } from '../../ports/store/mwi-deliveries';
import type { PgContext } from './pg-context';

export class PgMwiDeliveryStore implements MwiDeliveryClaims {
  /** @param ctx the store's pool */
  constructor(private readonly ctx: PgContext) {}

  async claim(identity: string, owner: string, until: number, now: number): Promise<boolean> {
    const r = await this.ctx.query(
      `INSERT INTO mwi_deliveries (identity, claimed_by, claimed_until) VALUES ($1, $2, $3)
       ON CONFLICT (identity) DO UPDATE SET claimed_by = excluded.claimed_by, claimed_until = excluded.claimed_until
       WHERE mwi_deliveries.claimed_by IS NULL OR mwi_deliveries.claimed_by = excluded.claimed_by OR mwi_deliveries.claimed_until <= $4`,
      [identity, owner, until, now],
    );
    return r.rowCount === 1;
  }

  async claimedUntil(identity: string): Promise<number | null> {
    const r = await this.ctx.row<{ u: number | null }>('SELECT claimed_until AS u FROM mwi_deliveries WHERE identity = $1 AND claimed_by IS NOT NULL', [identity]);
    return r?.u ?? null;
  }

  async lastDelivered(identity: string): Promise<string | null> {
    const r = await this.ctx.row<{ s: string | null }>('SELECT delivered_signature AS s FROM mwi_deliveries WHERE identity = $1', [identity]);
    return r?.s ?? null;
  }

  async delivered(identity: string, signature: string, at: number): Promise<void> {
    await this.ctx.query(
      `INSERT INTO mwi_deliveries (identity, delivered_signature, delivered_at) VALUES ($1, $2, $3)
       ON CONFLICT (identity) DO UPDATE SET delivered_signature = excluded.delivered_signature, delivered_at = excluded.delivered_at`,
      [identity, signature, at],
    );
  }

  async release(identity: string, owner: string): Promise<void> {
    await this.ctx.query('UPDATE mwi_deliveries SET claimed_by = NULL, claimed_until = NULL WHERE identity = $1 AND claimed_by = $2', [identity, owner]);
  }

  async releaseAll(owner: string): Promise<void> {
    await this.ctx.query('UPDATE mwi_deliveries SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = $1', [owner]);
  }
}
