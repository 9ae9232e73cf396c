/**
 * Watching for other processes' writes to the store: SQLite's `data_version` changes only when another connection
 * (another process on the data folder: a cmdlet, a second `serve` instance) commits. `serve` reacts to such writes
 * in two places, the MWI service (counts another process changed) and the notification queue (rows another process
 * queued); both watch this way.
 */
import type { Clock, TimerHandle } from '../ports/clock';

/** Options of {@link watchOtherWriters}. */
export interface OtherWritersWatch {
  /** Reads `data_version` (`DirectoryStore.dataVersion`). */
  dataVersion(): number;
  clock: Clock;
  /** How often to look, ms (> 0). */
  intervalMs: number;
  /** The version the caller last saw (so nothing between its own read and the first look is missed); read now when absent. */
  since?: number;
  /** Called when the version changed since the previous look. */
  onChange(): void;
  /** Called when reading the version or `onChange` threw (the watch goes on). */
  onError(err: unknown): void;
}

/**
 * Looks every `intervalMs` of `clock` whether another process wrote to the store, and calls `onChange` if so.
 * @returns a function that stops the watch
 */
export function watchOtherWriters(o: OtherWritersWatch): () => void {
  let version: number | undefined = o.since;
  let timer: TimerHandle | null = null;
  let stopped = false;
  const look = () => {
    try {
      const now = o.dataVersion();
      const changed = version !== undefined && now !== version;
      version = now;
      if (changed) o.onChange();
    } catch (err) {
      o.onError(err);
    }
  };
  const tick = () => {
    timer = null;
    if (stopped) return;
    look();
    if (!stopped) timer = o.clock.setTimeout(tick, o.intervalMs);
  };
  if (version === undefined) look();
  timer = o.clock.setTimeout(tick, o.intervalMs);
  return () => {
    stopped = true;
    if (timer !== null) o.clock.clearTimeout(timer);
    timer = null;
  };
}
