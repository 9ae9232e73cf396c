/**
 * MWI delivery claims: what the instances sharing one store agree on about unsolicited MWI (DESIGN.md, "Scale": who
 * sends a lamp change is decided by the database). One instance at a time holds a mailbox's claim and sends its
 * state (failover and backoff included); the last state the mailbox's gateways accepted is recorded, whoever sent
 * it, so a change is NOTIFYed once. A claim left by a crashed instance runs out at its `until` (ms, the store's
 * clock).
 *
 * Synchronous, as the embedded SQLite adapter (`directory/mwi-delivery-store.ts`) is. A PostgreSQL adapter will need
 * these methods to return promises (issue 20): this interface is the seam where that change is made.
 */

/** Claims on mailboxes' MWI deliveries and the last delivered state, per mailbox identity. */
export interface MwiDeliveryClaims {
  /**
   * Claims a mailbox's deliveries for `owner` until `until` (ms), unless another owner's claim is live at `now`.
   * @returns true when `owner` holds the claim now
   */
  claim(identity: string, owner: string, until: number, now: number): boolean;

  /** When the mailbox's current claim runs out (ms), or null when nobody holds one. */
  claimedUntil(identity: string): number | null;

  /** The signature of the last state the mailbox's gateways accepted, from any instance; null when none. */
  lastDelivered(identity: string): string | null;

  /** Records that the mailbox's gateways accepted the state with this signature at `at` (ms). */
  delivered(identity: string, signature: string, at: number): void;

  /** Ends `owner`'s claim on a mailbox (another owner's claim is left alone). */
  release(identity: string, owner: string): void;

  /** Ends every claim `owner` holds (its instance stops). */
  releaseAll(owner: string): void;
}
