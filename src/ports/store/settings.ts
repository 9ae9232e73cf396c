/**
 * Store-wide settings and facts: the values the store keeps about itself (the organization, the default locale,
 * where and when its directory was imported), the PIN-hash cost its PINs get, its clock, and how to notice that
 * another instance wrote to it.
 *
 * Synchronous, as the embedded SQLite adapter (`directory/settings-repository.ts`) is. A PostgreSQL adapter will need
 * these methods to return promises (issue 20): this interface is the seam where that change is made.
 */

/** The store's own key/value facts. */
export interface SettingsRepository {
  /**
   * A stored value: `organization`, `default_locale`, `imported_from`, `imported_at` (ms), `directory_applied_at`.
   * @returns the value, or undefined when never set
   */
  meta(key: string): string | undefined;
}

/** How new PINs and leader PINs of this store are hashed. */
export interface PinHashing {
  /** scrypt cost (log2 N) for new PIN hashes (the directory's `security.pinHashCost`; 14 by default). */
  readonly pinHashCost: number;
}

/** The store's time source. */
export interface StoreClock {
  /** Current time in ms since the epoch (virtual in the simulator). */
  now(): number;
}

/** Noticing writes of other instances (or other processes) sharing the store. */
export interface OtherWriters {
  /**
   * A number that changes when another connection commits to the store, and stays the same for this connection's
   * own writes. Cheap enough to poll every second (`directory/store-watch.ts`).
   */
  dataVersion(): number;
}
