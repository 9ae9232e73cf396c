/**
 * Watching for other processes' writes to the SQLite store: SQLite's `data_version` changes only when another
 * connection (another process on the data folder: a cmdlet, a second `serve` instance) commits. The SQLite adapter's
 * `watchOtherWriters` (the `OtherWriters` port) polls it this way; `serve` reacts to such writes in the MWI service
 * (counts another process changed), the notification queue (rows another process queued) and the known gateways.
 */
import type { TimerHandle } from '../ports/clock';
import type { OtherWritersWatch } from '../ports/store/settings';

/** Options of {@link watchDataVersion}: the port's watch, and how to read the version. */
export interface DataVersionWatch extends OtherWritersWatch {
  /** Reads `data_version` (`SqliteContext.dataVersion`). */
  dataVersion(): number;
  /** The version the caller last saw (so nothing between its own read and the first look is missed); read now when absent. */
  since?: number;
}

/**
 * Looks every `intervalMs` of `clock` whether another process wrote to the store, and calls `onChange` if so.
 * Reading the version or `onChange` throwing goes to `onError` (the watch goes on).
 * @returns a function that stops the watch
 */
export function watchDataVersion(o: DataVersionWatch): () => void {
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
