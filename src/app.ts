/**
 * The composition root: the only module that wires adapters (the store on SQLite or PostgreSQL, the mailer, the SMS
 * provider, the MWI transport) to the services and the runtime. {@link openApp} opens the directory file and the
 * store and builds the services; {@link buildIvr} builds the call runtime with its notifications and MWI, wired
 * once, from the adapters a caller hands it: `serve` (SIP engines), the simulator (the virtual clock, simulated
 * gateways) and the benches differ only in those. Everything else receives what it needs: the store as the `Store`
 * port (with its directory import, `OpenedStore`, for the cmdlets); nothing outside `directory/` and this file names
 * a store class.
 */
import * as path from 'node:path';
import { loadDirectory } from './config/load';
import type { Directory } from './config/schema';
import { ConferencingService } from './services/conferencing-service';
import { PinService } from './services/pin-service';
import type { OpenedStore } from './directory/opened-store';
import { DirectoryStore } from './directory/store';
import { timeTravel } from './directory/time-travel';
import { timedStore } from './directory/timed-store';
import { isPostgresUrl, PostgresStore } from './directory/postgres/postgres-store';
import { ErrorCodes, VaError } from './errors';
import { createMailer } from './notify/nodemailer-mailer';
import { MwiService, type MwiServiceOptions } from './notify/mwi-service';
import { createNotifications, type Notifications, type NotificationsOptions } from './notify/voice-mail-notifier';
import type { Clock } from './ports/clock';
import type { Mailer } from './ports/mailer';
import type { MwiTransport } from './ports/mwi';
import { CallRuntime, type CallRuntimeDeps } from './runtime/call-runtime';
import type { AdminContext } from './admin/cmdlets';
import type { IvrSettings } from './flow-kit/effects';
import type { Logger } from 'pino';

/** Where the data folder is when `--data` is not given. */
export const DEFAULT_DATA_DIR = 'data';

/** Everything a command needs, opened on one data folder. */
export interface App extends AdminContext {
  directory: Directory;
  /** The directory file's `ivr:` timeouts and repeats, in the units flows use (ms). */
  ivr: IvrSettings;
  configPath: string;
  dataDir: string;
  /**
   * Where recordings (messages, greetings, names) are written and read: `<data>/recordings` unless `--recordings`
   * says otherwise. With PostgreSQL, a folder every instance mounts at this same path (message rows name their file).
   */
  recordingsDir: string;
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
  /**
   * The store: a `postgresql://` URL (`--store`, `VA_STORE_URL`), else the directory file's `store.url`, else SQLite
   * in the data folder.
   */
  store?: string;
  /** The recordings folder; `<data>/recordings` when undefined. */
  recordings?: string;
  /** Told when a PostgreSQL store stops and starts answering again (`serve` logs it). */
  onStoreAvailability?: (available: boolean, detail: string) => void;
  /**
   * Times every store call for `/metrics` (`va_store_query_duration_seconds`, issue 21; `directory/timed-store.ts`).
   * `serve` turns it on; the simulator, the cmdlets and the benches leave it off (a proxy on every store call).
   */
  timeStoreQueries?: boolean;
}

/**
 * Loads the directory file, opens (and on first use imports into) the store, and builds the services.
 * @throws VaError VA_ERR_CONFIG_NOT_FOUND, VA_ERR_CONFIG_INVALID, VA_ERR_STORE_OPEN
 */
export async function openApp(opts: OpenAppOptions = {}): Promise<App> {
  const { directory, path: configPath } = loadDirectory(opts.config);
  const dataDir = path.resolve(opts.data ?? DEFAULT_DATA_DIR);
  const pinHashCost = opts.pinHashCost ?? directory.security.pinHashCost;
  const url = opts.store ?? directory.store.url;
  let store: OpenedStore;
  let timeTravelOf: (ms: number) => Promise<number>;
  if (url !== undefined) {
    if (!isPostgresUrl(url)) throw new VaError(ErrorCodes.CLI_PARAMETER, `--store: must be postgresql://USER@HOST:PORT/DATABASE (SQLite needs no URL: it lives in the data folder)`);
    const pg = await PostgresStore.open(url, { clock: opts.clock, pinHashCost, maxConnections: directory.store.maxConnections, statementTimeoutMs: directory.store.statementTimeoutMs, onAvailability: opts.onStoreAvailability });
    store = opts.timeStoreQueries ? timedStore(pg) : pg;
    timeTravelOf = (ms) => pg.timeTravel(ms);
  } else {
    const sqlite = DirectoryStore.open(dataDir, { clock: opts.clock, pinHashCost });
    store = opts.timeStoreQueries ? timedStore(sqlite) : sqlite;
    timeTravelOf = async (ms) => timeTravel(sqlite, ms);
  }
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
    recordingsDir: path.resolve(opts.recordings ?? path.join(dataDir, 'recordings')),
    imported,
    store,
    mailer,
    pins: new PinService(store, mailer),
    conferencing: new ConferencingService(store, mailer),
    timeTravel: timeTravelOf,
    close: () => store.close(),
  };
}

/**
 * The call runtime alone on an open app (its store, services, IVR settings and recordings folder), for benches and
 * tests of the flows that need no notifications nor MWI; {@link buildIvr} builds it the same way.
 */
export function buildRuntime(app: App, deps: Pick<CallRuntimeDeps, 'clock' | 'logger'> & Partial<Pick<CallRuntimeDeps, 'pins' | 'conferencing' | 'onFlowState'>>): CallRuntime {
  return new CallRuntime({
    store: app.store,
    pins: deps.pins ?? app.pins,
    conferencing: deps.conferencing ?? app.conferencing,
    ivr: app.ivr,
    recordingsDir: app.recordingsDir,
    clock: deps.clock,
    logger: deps.logger,
    onFlowState: deps.onFlowState,
    testEventsAllowedFrom: app.directory.testing.eventsAllowedFrom,
  });
}

/** What {@link buildIvr} is handed: the adapters and the hooks in which `serve`, the simulator and the benches differ. */
export interface IvrAdapters {
  clock: Clock;
  logger: Logger;
  /** Where MWI NOTIFYs go (the embedded or drachtio transport, or the simulator's gateways). */
  mwiTransport: MwiTransport;
  /** Host of the Message-Account of subscriptions (`sip:EXT@HOST`): the SIP address callers reach. */
  accountHost: string;
  /**
   * How often the MWI service and the notification queue look for other instances' writes, ms (SQLite polls; a
   * PostgreSQL store is told, so this only needs to be > 0). 0: never (the simulator, alone on its store).
   */
  watchOtherWritersMs: number;
  /** The runtime's optional hooks and replacements (the simulator counts the services' activity, annotates states). */
  runtime?: Partial<Pick<CallRuntimeDeps, 'pins' | 'conferencing' | 'onFlowState'>>;
  /** The notifications' replacements (the simulator's SMS sender, its time zone). */
  notifications?: Partial<Pick<NotificationsOptions, 'sms' | 'timeZone'>>;
  /** The MWI service's event hooks (the simulator's transcript). */
  mwi?: Partial<Pick<MwiServiceOptions, 'onEvent' | 'onSubscriptionNotify'>>;
}

/** The IVR of one process: the call runtime with its notifications and MWI wired to it. */
export interface Ivr {
  runtime: CallRuntime;
  notifications: Notifications;
  mwi: MwiService;
}

/**
 * Builds the IVR on an open app: the call runtime; the SMS and mail notifications fed by its mailbox events; MWI fed
 * by its count changes. The MWI service is started (its refresh rounds and its watch of other writers); call sources
 * and SUBSCRIBE sources are the caller's to connect (`source.onCall(c => ivr.runtime.handleCall(c))`).
 */
export function buildIvr(app: App, a: IvrAdapters): Ivr {
  const runtime = buildRuntime(app, { clock: a.clock, logger: a.logger, ...a.runtime });
  const mwi = new MwiService({
    store: app.store,
    clock: a.clock,
    transport: a.mwiTransport,
    settings: app.directory.notifications.mwi,
    accountHost: a.accountHost,
    watchIntervalMs: a.watchOtherWritersMs,
    logger: a.logger,
    ...a.mwi,
  });
  runtime.onCountsChanged((identity) => mwi.mailboxChanged(identity));
  mwi.start();
  const notifications = createNotifications({
    store: app.store,
    mailer: app.mailer,
    settings: app.directory.notifications,
    dataDir: app.dataDir,
    clock: a.clock,
    logger: a.logger.child({ part: 'notify' }),
    watchIntervalMs: a.watchOtherWritersMs,
    ...a.notifications,
  });
  runtime.onMailboxEvent((event) => notifications.notifier.handle(event));
  return { runtime, notifications, mwi };
}
