/**
 * MWI delivery claims: what the instances sharing one store agree on about unsolicited MWI (DESIGN.md, "Scale": who
 * sends a lamp change is decided by the database). One instance at a time holds a mailbox's claim and sends its
 * state (failover and backoff included); the last state the mailbox's gateways accepted is recorded, whoever sent
 * it, so a change is NOTIFYed once. A claim left by a crashed instance runs out at its `until` (ms, the store's
 * clock).
 *
 * Asynchronous: the embedded SQLite adapter (`directory/mwi-delivery-store.ts`) answers at once, the PostgreSQL one
 * (`directory/postgres/`) over the network; each method is one statement, atomic on its own.
 */

/** Claims on mailboxes' MWI deliveries and the last delivered state, per mailbox identity. */
export interface MwiDeliveryClaims {
  /**
   * Claims a mailbox's deliveries for `owner` until `until` (ms), unless another owner's claim is live at `now`.
   * @returns true when `owner` holds the claim now
   */
  claim(identity: string, owner: string, until: number, now: number): Promise<boolean>;

  /** When the mailbox's current claim runs out (ms), or null when nobody holds one. */
  claimedUntil(identity: string): Promise<number | null>;

  /** The signature of the last state the mailbox's gateways accepted, from any instance; null when none. */
  lastDelivered(identity: string): Promise<string | null>;

  /** Records that the mailbox's gateways accepted the state with this signature at `at` (ms). */
  delivered(identity: string, signature: string, at: number): Promise<void>;

  /** Ends `owner`'s claim on a mailbox (another owner's claim is left alone). */
  release(identity: string, owner: string): Promise<void>;

  /** Ends every claim `owner` holds (its instance stops). */
  releaseAll(owner: string): Promise<void>;
}
