/**
 * Store-wide settings and facts: the values the store keeps about itself (the organization, the default locale,
 * where and when its directory was imported), the PIN-hash cost its PINs get, its clock, and how to notice that
 * another instance wrote to it.
 *
 * Asynchronous: the embedded SQLite adapter (`directory/settings-repository.ts`) answers at once, the PostgreSQL one
 * (`directory/postgres/`) over the network.
 */
import type { Clock } from '../clock';

/** The store's own key/value facts. */
export interface SettingsRepository {
  /**
   * A stored value: `organization`, `default_locale`, `imported_from`, `imported_at` (ms), `directory_applied_at`.
   * @returns the value, or undefined when never set
   */
  meta(key: string): Promise<string | undefined>;
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

/** Options of {@link OtherWriters.watchOtherWriters}. */
export interface OtherWritersWatch {
  /** The clock a polling adapter looks on (SQLite); an adapter that is told of commits (PostgreSQL) ignores it. */
  clock: Clock;
  /** How often a polling adapter looks, ms (> 0). */
  intervalMs: number;
  /** Called (at most once per look) when another connection committed to the store since the watch started. */
  onChange(): void;
  /** Called when looking failed (the watch goes on). */
  onError(err: unknown): void;
}

/** Noticing writes of other instances (or other processes: a cmdlet) sharing the store. */
export interface OtherWriters {
  /**
   * Watches for commits of other connections (never this store's own writes). SQLite polls its `data_version`
   * every `intervalMs` (`directory/store-watch.ts`); PostgreSQL is told by `LISTEN`, each write transaction
   * `NOTIFY`ing (`directory/postgres/`), so no timer is involved there.
   * @returns a function that stops the watch
   */
  watchOtherWriters(watch: OtherWritersWatch): () => void;
}
