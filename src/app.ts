/**
 * The composition root: the only module that wires adapters (SQLite store, mailer) to the services and, in later
 * issues, to the runtime. Everything else receives what it needs: the store as the `Store` port (with its directory
 * import, `OpenedStore`, for the cmdlets); nothing outside `directory/` and this file names the SQLite classes.
 */
import * as path from 'node:path';
import { loadDirectory } from './config/load';
import type { Directory } from './config/schema';
import { ConferencingService } from './services/conferencing-service';
import { PinService } from './services/pin-service';
import type { OpenedStore } from './directory/opened-store';
import { DirectoryStore } from './directory/store';
import { timeTravel } from './directory/time-travel';
import { createMailer } from './notify/nodemailer-mailer';
import type { Clock } from './ports/clock';
import type { Mailer } from './ports/mailer';
import type { AdminContext } from './admin/cmdlets';
import type { IvrSettings } from './flow-kit/effects';

/** Where the data folder is when `--data` is not given. */
export const DEFAULT_DATA_DIR = 'data';

/** Everything a command needs, opened on one data folder. */
export interface App extends AdminContext {
  directory: Directory;
  /** The directory file's `ivr:` timeouts and repeats, in the units flows use (ms). */
  ivr: IvrSettings;
  configPath: string;
  dataDir: string;
  /** True when this open created the store: the data folder had none, and the directory file was imported into it. */
  imported: boolean;
  mailer: Mailer;
  /**
   * Moves every time the store holds `ms` back, in one transaction: the store then looks `ms` later to a server on
   * the real clock (the network simulator's `start:` and `advance:`, `sim/net/net-runner.ts`).
   * @param ms how far, ms (> 0; anything else moves nothing)
   * @returns how many rows changed
   */
  timeTravel(ms: number): Promise<number>;
  /** Closes the store (once its pending calls are done). */
  close(): Promise<void>;
}

/** The directory's `ivr:` section (seconds) as the flows take it (ms). */
export function ivrSettingsOf(directory: Directory): IvrSettings {
  const ivr = directory.ivr;
  return {
    firstDigitTimeoutMs: Math.round(ivr.firstDigitTimeoutSeconds * 1_000),
    interDigitTimeoutMs: Math.round(ivr.interDigitTimeoutSeconds * 1_000),
    maxPromptRepeats: ivr.maxPromptRepeats,
  };
}

/** Options for {@link openApp}. */
export interface OpenAppOptions {
  /** The directory file; the built-in demo (`config/contoso.yaml`) when undefined. */
  config?: string;
  /** The data folder; `./data` when undefined. */
  data?: string;
  clock?: Pick<Clock, 'now'>;
  /** Replaces the configured mailer (tests). */
  mailer?: Mailer;
  /** Replaces the directory's `security.pinHashCost` (log2 of scrypt's N) for PINs hashed by this app. */
  pinHashCost?: number;
}

/**
 * Loads the directory file, opens (and on first use imports into) the store, and builds the services.
 * @throws VaError VA_ERR_CONFIG_NOT_FOUND, VA_ERR_CONFIG_INVALID, VA_ERR_STORE_OPEN
 */
export async function openApp(opts: OpenAppOptions = {}): Promise<App> {
  const { directory, path: configPath } = loadDirectory(opts.config);
  const dataDir = path.resolve(opts.data ?? DEFAULT_DATA_DIR);
  const sqlite = DirectoryStore.open(dataDir, { clock: opts.clock, pinHashCost: opts.pinHashCost ?? directory.security.pinHashCost });
  const store: OpenedStore = sqlite;
  let imported: boolean;
  try {
    imported = await store.importDirectory(directory, configPath);
  } catch (err) {
    await store.close();
    throw err;
  }
  const mailer = opts.mailer ?? createMailer(directory.mail, dataDir);
  return {
    directory,
    ivr: ivrSettingsOf(directory),
    configPath,
    dataDir,
    imported,
    store,
    mailer,
    pins: new PinService(store, mailer),
    conferencing: new ConferencingService(store, mailer),
    timeTravel: async (ms) => timeTravel(sqlite, ms),
    close: () => store.close(),
  };
}
