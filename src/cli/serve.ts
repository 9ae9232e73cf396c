/**
 * `voice-access serve [--config FILE] [--data DIR] [--sip-host 127.0.0.1] [--sip-port 5060] [--rtp-ports 20000-29999]
 * [--sip-engine embedded|drachtio] [--drachtio HOST:PORT] [--drachtio-secret S] [--media embedded|freeswitch]
 * [--freeswitch HOST:PORT ...] [--freeswitch-secret S]`:
 * the IVR on real SIP (UDP and TCP) and RTP, on the embedded stack, or with `--sip-engine drachtio` behind a
 * drachtio-server (it handles SIP; RTP stays ours unless `--media freeswitch` puts each call's media on a FreeSWITCH
 * endpoint through drachtio-fsmrf). The choice of engines is made here and nowhere else. Logs one
 * `ready` line (JSON, pino) with the bound addresses; SIGINT/SIGTERM end every call with BYE (each call logs
 * `call ended`) and exit 0, within {@link STOP_BOUND_MS} whatever is pending (else it logs what and exits 1).
 * At start it checks that it can write in every folder it writes to (the data folder, `recordings/`, `outbox/`,
 * `sms/`: VA_ERR_DATA_NOT_WRITABLE, exit 1) and removes the temporary files a crash left in them.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { CommanderError, InvalidArgumentError, Option } from 'commander';
import { cliCommand } from './command';
import type { Logger } from 'pino';
import { reportStoreOrigin } from '../admin/directory-import';
import { buildIvr, DEFAULT_DATA_DIR, openApp, type App } from '../app';
import { readEnvironment } from '../config/environment';
import { createLogger } from '../log';
import { MediaEngine } from '../media/media-engine';
import { systemClock } from '../ports/clock';
import { PromptCatalog } from '../prompts/catalog';
import type { CallRuntime } from '../runtime/call-runtime';
import { KnownGateways } from '../runtime/known-gateways';
import { LoadGuard } from '../runtime/load-guard';
import { EmbeddedCallSource } from '../sip/embedded/embedded-call-source';
import { EmbeddedSipServer } from '../sip/embedded/sip-server';
import { EmbeddedMwiTransport } from '../sip/embedded/mwi-notify-client';
import type { MediaSettings, SipSettings } from '../config/schema';
import { FreeswitchPool, type FreeswitchServer } from '../media/freeswitch/freeswitch-pool';
import { ErrorCodes, VaError } from '../errors';
import type { CallSource } from '../ports/call-channel';
import { parseDrachtioAddress } from '../sip/drachtio/drachtio-connection';
import { startDrachtioSignalling, type DrachtioSignalling } from '../sip/drachtio/drachtio-signalling';
import type { MwiService } from '../notify/mwi-service';
import { readTlsMaterial } from '../notify/tls-material';
import type { Notifications } from '../notify/voice-mail-notifier';
import type { CliIo } from './main';
import { parseListen, type RunningHttpApi } from '../http/server';
import { startServeHttp } from './serve-http';
import { assertWritableFolder, removeStaleTempFiles, type WritableFolder } from '../util/data-folders';

/**
 * How long `serve` may take to stop after SIGINT/SIGTERM, ms: past it, it logs what was still pending and exits 1.
 */
export const STOP_BOUND_MS = 5_000;

/** The log levels `--log-level` and `VA_LOG_LEVEL` take (pino's). */
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** How long the stop waits for the flows of the calls it ends to finish (store a message, log), ms. */
const CALLS_END_MS = 1_500;

/** How long the stop lets a notification being sent finish (it stays pending for the next start otherwise), ms. */
const NOTIFY_STOP_GRACE_MS = 1_000;

/**
 * The folders `serve` writes to, besides the data folder itself: `recordings/` (messages, greetings, names),
 * `outbox/` (mails, when no SMTP server is configured) and `sms/` (texts, with the file provider).
 */
export function writtenFolders(app: Pick<App, 'dataDir' | 'directory' | 'recordingsDir'>): WritableFolder[] {
  const folders: WritableFolder[] = [{ role: 'recordings', path: app.recordingsDir }];
  if (!app.directory.mail.smtp) folders.push({ role: 'outbox', path: path.join(app.dataDir, 'outbox') });
  const sms = app.directory.notifications.sms;
  if (!(sms.provider === 'webhook' && sms.webhook)) folders.push({ role: 'sms', path: path.join(app.dataDir, 'sms') });
  return folders;
}

/** Where `serve --http` with no address listens: loopback only (keys travel in a header; put TLS in front to go further). */
export const DEFAULT_HTTP_LISTEN = '127.0.0.1:8080';

/**
 * The prefix of the FreeSWITCH conference rooms of one store's meetings: one store, one set of rooms, so the
 * instances of one store (one data folder, or one PostgreSQL database from several machines) meet in the same rooms
 * and another organisation's store on the same FreeSWITCH does not.
 */
export function meetingRoomPrefix(app: Pick<App, 'store'>): string {
  return `va-${createHash('sha256').update(app.store.description).digest('hex').slice(0, 8)}-`;
}

/** Options of `serve`. */
export interface ServeOptions {
  config?: string;
  data?: string;
  /** The store's URL (`--store`): a PostgreSQL database several instances share; default the directory's `store.url`, else SQLite in the data folder. */
  store?: string;
  /** The recordings folder (`--recordings`); default `<data>/recordings`. */
  recordings?: string;
  sipHost: string;
  sipPort: number;
  rtpPortMin: number;
  rtpPortMax: number;
  logger?: Logger;
  /** The SIP engine; default: the directory's `sip.engine` (`embedded`). */
  sipEngine?: 'embedded' | 'drachtio';
  /** drachtio-server's admin address and shared secret; what is not given comes from the directory's `sip.drachtio`. */
  drachtio?: { host?: string; port?: number; secret?: string };
  /** Where calls' media runs; default: the directory's `media.engine` (`embedded`). */
  mediaEngine?: 'embedded' | 'freeswitch';
  /** FreeSWITCH event sockets (replace the directory's `media.freeswitch` list) and their password. */
  freeswitch?: { servers?: Array<{ host: string; port: number }>; secret?: string };
  /**
   * The admin center's HTTP API (docs/admin-center.md): HOST:PORT (`--http`; port 0 picks a free one), or false for
   * none (`--no-http`); when absent, the directory's `http.listen`, else none.
   */
  http?: string | false;
}

/** The media engine {@link startServer} uses, with everything it needs. */
export type ResolvedMediaEngine =
  | { name: 'embedded' }
  | { name: 'freeswitch'; servers: FreeswitchServer[]; profile: string; conferenceProfile: string; listenAddress?: string; maxPendingEndpoints: number };

/**
 * Chooses the media engine: the command line over `VA_FREESWITCH_SECRET` (the secret only) over the directory's
 * `media:` settings. A server without a secret of its own gets the command line's or the environment's.
 * @throws VaError VA_ERR_CLI_PARAMETER when FreeSWITCH is chosen without a server, without a secret for one of them,
 *   or with the embedded SIP engine (drachtio-fsmrf creates its endpoints through drachtio-server)
 */
export function resolveMediaEngine(
  opts: Pick<ServeOptions, 'mediaEngine' | 'freeswitch'>,
  settings: MediaSettings,
  sipEngine: 'embedded' | 'drachtio',
  env: NodeJS.ProcessEnv = process.env,
): ResolvedMediaEngine {
  const name = opts.mediaEngine ?? settings.engine;
  if (name === 'embedded') return { name };
  if (sipEngine !== 'drachtio') {
    throw new VaError(ErrorCodes.CLI_PARAMETER, 'media on FreeSWITCH needs the drachtio SIP engine (--sip-engine drachtio): drachtio-fsmrf creates its endpoints through drachtio-server');
  }
  const common = opts.freeswitch?.secret ?? readEnvironment(env).freeswitchSecret;
  const listed = opts.freeswitch?.servers?.length ? opts.freeswitch.servers.map((s) => ({ ...s, secret: undefined })) : settings.freeswitch;
  if (listed.length === 0) {
    throw new VaError(ErrorCodes.CLI_PARAMETER, 'media on FreeSWITCH needs at least one server: --freeswitch HOST:PORT, or media.freeswitch in the directory file');
  }
  const servers = listed.map((s, i) => {
    const secret = common ?? s.secret;
    if (!secret) {
      throw new VaError(ErrorCodes.CLI_PARAMETER, `FreeSWITCH server ${i + 1} (${s.host}:${s.port}) has no event socket password: --freeswitch-secret, VA_FREESWITCH_SECRET, or media.freeswitch[${i}].secret`);
    }
    return { host: s.host, port: s.port, secret };
  });
  return {
    name,
    servers,
    profile: settings.profile,
    conferenceProfile: settings.conferenceProfile,
    ...(settings.listenAddress ? { listenAddress: settings.listenAddress } : {}),
    maxPendingEndpoints: settings.maxPendingEndpoints,
  };
}

/** The engine {@link startServer} starts, with everything it needs. */
export type ResolvedSipEngine =
  | { name: 'embedded' }
  | { name: 'drachtio'; drachtio: { host: string; port: number; secret: string; connectTimeoutMs: number } };

/**
 * Chooses the SIP engine: the command line over `VA_DRACHTIO_SECRET` (the secret only) over the directory's `sip:`
 * settings.
 * @throws VaError VA_ERR_CLI_PARAMETER when the drachtio engine is chosen without a secret
 */
export function resolveSipEngine(opts: Pick<ServeOptions, 'sipEngine' | 'drachtio'>, settings: SipSettings, env: NodeJS.ProcessEnv = process.env): ResolvedSipEngine {
  const name = opts.sipEngine ?? settings.engine;
  if (name === 'embedded') return { name };
  const secret = opts.drachtio?.secret ?? readEnvironment(env).drachtioSecret ?? settings.drachtio.secret;
  if (!secret) {
    throw new VaError(ErrorCodes.CLI_PARAMETER, "the drachtio engine needs drachtio-server's shared secret: --drachtio-secret, VA_DRACHTIO_SECRET, or sip.drachtio.secret in the directory file");
  }
  return {
    name,
    drachtio: {
      host: opts.drachtio?.host ?? settings.drachtio.host,
      port: opts.drachtio?.port ?? settings.drachtio.port,
      secret,
      connectTimeoutMs: Math.round(settings.drachtio.connectTimeoutSeconds * 1000),
    },
  };
}

/** A running server: what `serve` started, and how to stop it. */
export interface RunningServer {
  app: App;
  /** Which SIP engine carries the signalling. */
  engine: 'embedded' | 'drachtio';
  /** Where calls' media runs: our RTP engine, or FreeSWITCH (with each media server's state). */
  mediaEngine: { engine: 'embedded' } | { engine: 'freeswitch'; servers: Array<{ server: string; up: boolean }> };
  /** Where callers reach the IVR: our SIP socket (embedded), or drachtio-server's first SIP address (UDP first). */
  sip: { readonly host: string; readonly port: number };
  /** Every SIP address, for the `ready` line (`udp:HOST:PORT`, `tcp:HOST:PORT`, ...). */
  sipAddresses: string[];
  media: MediaEngine;
  runtime: CallRuntime;
  /** Message Waiting Indicator: unsolicited NOTIFYs to the UM IP gateways and message-summary subscriptions. */
  mwi: MwiService;
  /** SMS and voice-message mails (the durable queue and the notifier fed by the runtime's mailbox events). */
  notifications: Notifications;
  /** MaxCallsAllowed: how many calls it refused. */
  load: LoadGuard;
  /** The admin center's HTTP API, when it listens (`--http`, `http.listen`). */
  http?: RunningHttpApi;
  /**
   * Ends every call with BYE (each flow finishes: a message being recorded is stored, each call logs `call ended`),
   * then stops MWI, SIP, media, notifications and closes the store. Called again: the same promise.
   * @param progress told each step as it starts (`calls`, `mwi`, `sip`, `media`, `notifications`, `store`)
   */
  stop(progress?: (step: string) => void): Promise<void>;
}

/**
 * Starts the IVR: store, RTP engine, SIP server, call runtime.
 * @throws VaError for a bad directory or store; Error when a port cannot be bound
 */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger();
  // Every folder it writes to must take a file now, not when a caller's message is lost (issue 19, "Nothing lost").
  assertWritableFolder({ role: 'data', path: path.resolve(opts.data ?? DEFAULT_DATA_DIR) });
  // A PostgreSQL store that stops answering: new calls get 503 meanwhile (admission reads the store); said once
  // each way (issue 20, "what each instance does when the database goes away").
  const onStoreAvailability = (available: boolean, detail: string) =>
    available
      ? logger.info({ code: ErrorCodes.STORE_UNAVAILABLE }, 'store: the database answers again')
      : logger.error({ code: ErrorCodes.STORE_UNAVAILABLE, detail }, 'store: the database does not answer; new calls get 503 until it does');
  const app = await openApp({ config: opts.config, data: opts.data, store: opts.store, recordings: opts.recordings, onStoreAvailability, timeStoreQueries: true });
  await reportStoreOrigin(app, logger);
  let mwiTls: ReturnType<typeof readTlsMaterial>;
  // The gateways as last read, for the flood limiter's synchronous question (`runtime/known-gateways.ts`).
  const gateways = new KnownGateways(app.store);
  try {
    const folders = writtenFolders(app);
    for (const folder of folders) assertWritableFolder(folder);
    // What a crash left half-written (temporary files of an atomic write, FreeSWITCH raw recordings) goes now.
    const removed = folders.flatMap((f) => removeStaleTempFiles(f.path).map((name) => path.join(f.role, name)));
    logger.info({ removed: removed.length, ...(removed.length > 0 ? { files: removed.slice(0, 20) } : {}) }, 'temporary files left by an earlier run removed');
    mwiTls = readTlsMaterial(app.directory.notifications.mwi.tls, app.configPath);
    await gateways.refresh();
  } catch (err) {
    await app.close();
    throw err;
  }
  const recordingsDir = app.recordingsDir;
  const catalog = PromptCatalog.load();
  // Admission, shared by both engines (by the source address each reports): the UM IP gateway allow-list (403, 503
  // for NoNewCalls), then MaxCallsAllowed (503 with Retry-After; every call has an RTP session from its INVITE to its
  // end), so that a stranger is told 403 whatever the load and only gateways' calls count toward the episode logs.
  let media: MediaEngine | undefined;
  let drachtio: DrachtioSignalling | undefined;
  const guard = new LoadGuard({
    maxCallsAllowed: app.directory.sip.maxCallsAllowed,
    memoryBudgetBytes: app.directory.sip.memoryBudgetMB === null ? null : app.directory.sip.memoryBudgetMB * 1048576,
    // With media servers our RTP engine has no sessions: the calls the drachtio engine holds count instead.
    activeCalls: () => (drachtio?.mediaServers ? drachtio.calls.activeCalls : (media?.sessionCount ?? 0)),
    retryAfterSeconds: app.directory.sip.retryAfterSeconds,
    logger: logger.child({ part: 'load' }),
  });
  const admit = async (address: string) => {
    const gateway = await gateways.admit(address);
    return gateway.admit ? (guard.check() ?? gateway) : gateway;
  };
  let sip: EmbeddedSipServer | undefined;
  try {
    const engine = resolveSipEngine(opts, app.directory.sip);
    const mediaEngine = resolveMediaEngine(opts, app.directory.media, engine.name);
    media = await MediaEngine.start({ host: opts.sipHost, portMin: opts.rtpPortMin, portMax: opts.rtpPortMax, logger: logger.child({ part: 'rtp' }) });
    if (engine.name === 'drachtio') {
      const openMediaServers =
        mediaEngine.name === 'freeswitch'
          ? (srf: unknown) =>
              FreeswitchPool.start({
                srf,
                servers: mediaEngine.servers,
                listenAddress: mediaEngine.listenAddress ?? opts.sipHost,
                profile: mediaEngine.profile,
                conferenceProfile: mediaEngine.conferenceProfile,
                maxPendingEndpoints: mediaEngine.maxPendingEndpoints,
                // One store, one set of rooms: instances on this store (one data folder, or one PostgreSQL database
                // from several machines) meet in the same rooms, another organisation's store does not.
                roomPrefix: meetingRoomPrefix(app),
                clock: systemClock,
                catalog,
                recordingsDir,
                logger,
              })
          : undefined;
      drachtio = await startDrachtioSignalling({ ...engine.drachtio, media, mediaAddress: opts.sipHost, admit, clock: systemClock, catalog, recordingsDir, logger, openMediaServers, retryAfterSeconds: app.directory.sip.retryAfterSeconds });
    } else {
      // Issue 19, "SIP input": size limits and a per-address flood limit before the SIP stack parses anything;
      // UM IP gateways (not Disabled) get the flood limit's gatewayRequests.
      const { limits, floodLimit } = app.directory.sip;
      sip = await EmbeddedSipServer.start({
        host: opts.sipHost,
        port: opts.sipPort,
        logger: logger.child({ part: 'sip' }),
        limits,
        floodLimit: floodLimit.enabled ? floodLimit : undefined,
        isGateway: (address) => gateways.isGateway(address),
      });
    }
  } catch (err) {
    await media?.stop();
    await app.close();
    throw err;
  }
  const embedded = sip;
  const mwiSettings = app.directory.notifications.mwi;
  const mwiTransport = drachtio ? drachtio.mwi : new EmbeddedMwiTransport({
    localHost: opts.sipHost,
    logger: logger.child({ part: 'mwi' }),
    timeoutMs: mwiSettings.notifyTimeoutSeconds * 1000,
    tls: mwiTls,
  });
  // Other instances on the store queue texts and change lamps too: know their rows, take them over if one dies.
  const { runtime, notifications, mwi } = buildIvr(app, {
    clock: systemClock,
    logger,
    mwiTransport,
    accountHost: drachtio ? drachtio.sip.host : opts.sipHost,
    watchOtherWritersMs: 1000,
  });
  const source: CallSource = drachtio
    ? drachtio.calls
    : new EmbeddedCallSource({ server: embedded!, media, mediaAddress: opts.sipHost, admit, clock: systemClock, catalog, recordingsDir, logger, retryAfterSeconds: app.directory.sip.retryAfterSeconds });
  source.onCall((call) => void runtime.handleCall(call));
  (drachtio ? drachtio.subscriptions : embedded!).onSubscribe((subscription) => mwi.handleSubscribe(subscription));
  // Other processes' gateway changes (a cmdlet's New-/Set-UMIPGateway) reach the flood limiter's list.
  const stopGatewayWatch = gateways.watch(systemClock, 1000, logger);
  const d = drachtio;
  const m = media;
  let stopping: Promise<void> | undefined;
  let httpApi: RunningHttpApi | undefined;
  const running: RunningServer = {
    app,
    engine: d ? 'drachtio' : 'embedded',
    get mediaEngine() {
      return d?.mediaServers ? { engine: 'freeswitch' as const, servers: d.mediaServers.describe() } : { engine: 'embedded' as const };
    },
    sip: d ? { host: d.sip.host, port: d.sip.port } : embedded!,
    sipAddresses: d ? d.sip.addresses : [`udp:${embedded!.host}:${embedded!.port}`, `tcp:${embedded!.host}:${embedded!.port}`],
    media: m,
    runtime,
    mwi,
    notifications,
    load: guard,
    get http() {
      return httpApi;
    },
    stop: (progress) => {
      stopping ??= (async () => {
        const step = (s: string) => progress?.(s);
        // The calls first, while SIP, media and the store are up: each gets its BYE, a message being recorded is
        // stored, and each call's `call ended` line is written.
        step('calls');
        const unfinished = await runtime.endAllCalls(CALLS_END_MS);
        if (unfinished.length > 0) logger.warn({ calls: unfinished }, `${unfinished.length} call(s) still running ${CALLS_END_MS} ms after they were ended`);
        // The HTTP API said "draining" while the calls ended; it stops before what it reads goes.
        if (httpApi) {
          step('http');
          await httpApi.close();
        }
        step('mwi');
        stopGatewayWatch();
        await mwi.stop();
        mwiTransport.close();
        step('sip');
        await (d ? d.stop() : embedded!.stop());
        step('media');
        await m.stop();
        // After the calls: a caller cut off by the stop may just have left a message. Unsent rows stay pending.
        // A send still running (a slow SMTP server) gets a short grace, inside the stop's bound (STOP_BOUND_MS).
        step('notifications');
        await notifications.queue.stop(NOTIFY_STOP_GRACE_MS);
        step('store');
        await app.close();
      })();
      return stopping;
    },
  };
  const listen = opts.http === false ? undefined : (opts.http ?? app.directory.http.listen);
  if (listen !== undefined) {
    try {
      const sipReady = () => (d ? d.connection.connected : true);
      httpApi = await startServeHttp({ app, listen, logger, runtime, mwi, load: guard, stopping: () => stopping !== undefined, sipReady });
    } catch (err) {
      await running.stop();
      throw err;
    }
  }
  return running;
}

function portOption(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number, 0-65535');
  return n;
}

function engineOption(v: string): 'embedded' | 'drachtio' {
  if (v !== 'embedded' && v !== 'drachtio') throw new InvalidArgumentError('must be embedded or drachtio');
  return v;
}

function mediaOption(v: string): 'embedded' | 'freeswitch' {
  if (v !== 'embedded' && v !== 'freeswitch') throw new InvalidArgumentError('must be embedded or freeswitch');
  return v;
}

function freeswitchAddressOption(v: string, previous: Array<{ host: string; port: number }>): Array<{ host: string; port: number }> {
  const m = /^([^:\s]+)(?::(\d+))?$/.exec(v);
  const port = m?.[2] === undefined ? 8021 : Number(m[2]);
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError('must be HOST:PORT, e.g. 127.0.0.1:8021 (port 1-65535)');
  return [...previous, { host: m[1], port }];
}

function drachtioAddressOption(v: string): { host: string; port: number } {
  const a = parseDrachtioAddress(v);
  if (!a) throw new InvalidArgumentError('must be HOST:PORT, e.g. 127.0.0.1:9022 (port 1-65535)');
  return a;
}

function httpOption(v: string): string {
  try {
    parseListen(v);
  } catch {
    throw new InvalidArgumentError('must be HOST:PORT, e.g. 127.0.0.1:8080 (port 0-65535)');
  }
  return v;
}

function rangeOption(v: string): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(v);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2]) : NaN;
  if (!m || lo < 1024 || hi > 65535 || lo >= hi) throw new InvalidArgumentError('must be LOW-HIGH, e.g. 20000-29999 (1024-65535)');
  return [lo, hi];
}

/**
 * Runs `voice-access serve ...` until SIGINT/SIGTERM.
 * @returns the exit code (0 after a clean stop; 1 when it could not start; 2 for a wrong command line)
 */
export async function runServeCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = cliCommand('voice-access serve', io)
    .description('the IVR on SIP (UDP and TCP) and RTP')
    .option('--config <file>', 'the directory file, imported into an empty store (default: $VA_CONFIG, else the built-in demo)')
    .option('--data <dir>', `the data folder (default: $VA_DATA, else ./${DEFAULT_DATA_DIR})`)
    .option('--store <url>', "the store: postgresql://USER@HOST:PORT/DB, shared by instances on several machines (default: $VA_STORE_URL, else the directory file's store.url, else SQLite in the data folder)")
    .option('--recordings <dir>', 'where messages, greetings and names are kept; with PostgreSQL, a folder every instance mounts at the same path (default: <data>/recordings)')
    .addOption(
      new Option('--log-level <level>', 'the least severe log lines written (JSON lines on stdout; default: $VA_LOG_LEVEL, else info)').choices(LOG_LEVELS),
    )
    .option('--sip-host <address>', 'address SIP and RTP bind to (RTP only, with --sip-engine drachtio)', '127.0.0.1')
    .option('--sip-port <port>', 'SIP port (UDP and TCP; not used with --sip-engine drachtio)', portOption, 5060)
    .option('--rtp-ports <low-high>', 'RTP port range', rangeOption, [20000, 29999] as [number, number])
    .option('--sip-engine <engine>', 'embedded (our own SIP stack) or drachtio (behind a drachtio-server); default: the directory file, else embedded', engineOption)
    .option('--drachtio <host:port>', "drachtio-server's admin address (its <admin> element; port 9022 when omitted); implies --sip-engine drachtio", drachtioAddressOption)
    .option('--drachtio-secret <secret>', "drachtio-server's shared secret (or VA_DRACHTIO_SECRET, or sip.drachtio.secret)")
    .option('--media <engine>', 'embedded (our RTP engine) or freeswitch (FreeSWITCH through drachtio-fsmrf; needs --sip-engine drachtio); default: the directory file, else embedded', mediaOption)
    .option('--freeswitch <host:port>', "a FreeSWITCH event socket (repeat for several; port 8021 when omitted); implies --media freeswitch", freeswitchAddressOption, [] as Array<{ host: string; port: number }>)
    .option('--freeswitch-secret <secret>', "the FreeSWITCH event sockets' password (or VA_FREESWITCH_SECRET, or media.freeswitch[].secret)")
    .option('--http [host:port]', `the admin center's HTTP API (docs/admin-center.md); ${DEFAULT_HTTP_LISTEN} when no address is given (default: the directory file's http.listen, else off)`, httpOption)
    .option('--no-http', 'no HTTP API, whatever the directory file says');
  let o: {
    config?: string;
    data?: string;
    store?: string;
    recordings?: string;
    sipHost: string;
    sipPort: number;
    rtpPorts: [number, number];
    sipEngine?: 'embedded' | 'drachtio';
    drachtio?: { host: string; port: number };
    drachtioSecret?: string;
    media?: 'embedded' | 'freeswitch';
    freeswitch: Array<{ host: string; port: number }>;
    freeswitchSecret?: string;
    logLevel?: string;
    http?: string | boolean;
  };
  try {
    program.parse(['node', 'serve', ...argv]);
    o = program.opts();
    if (o.sipEngine === 'embedded' && (o.drachtio || o.drachtioSecret)) {
      program.error('error: --drachtio and --drachtio-secret go with --sip-engine drachtio, not embedded', { exitCode: 2, code: ErrorCodes.CLI_PARAMETER });
    }
    if (o.media === 'embedded' && (o.freeswitch.length > 0 || o.freeswitchSecret)) {
      program.error('error: --freeswitch and --freeswitch-secret go with --media freeswitch, not embedded', { exitCode: 2, code: ErrorCodes.CLI_PARAMETER });
    }
  } catch (err) {
    return err instanceof CommanderError && err.exitCode === 0 ? 0 : 2;
  }
  const sipEngine = o.sipEngine ?? (o.drachtio ? 'drachtio' : undefined);
  const mediaEngine = o.media ?? (o.freeswitch.length > 0 ? 'freeswitch' : undefined);
  const env = readEnvironment(process.env);
  if (o.logLevel === undefined && env.logLevel !== undefined && !LOG_LEVELS.includes(env.logLevel)) {
    io.err(`error: option '--log-level <level>' argument '${env.logLevel}' (from VA_LOG_LEVEL) is invalid. Allowed choices are ${LOG_LEVELS.join(', ')}.\n`);
    return 2;
  }
  const logger = createLogger({ level: o.logLevel ?? env.logLevel });
  let server: RunningServer;
  try {
    server = await startServer({
      config: o.config ?? env.config,
      data: o.data ?? env.data ?? DEFAULT_DATA_DIR,
      store: o.store ?? env.storeUrl,
      recordings: o.recordings,
      sipHost: o.sipHost,
      sipPort: o.sipPort,
      rtpPortMin: o.rtpPorts[0],
      rtpPortMax: o.rtpPorts[1],
      logger,
      sipEngine,
      drachtio: { host: o.drachtio?.host, port: o.drachtio?.port, secret: o.drachtioSecret },
      mediaEngine,
      freeswitch: { servers: o.freeswitch, secret: o.freeswitchSecret },
      http: o.http === true ? DEFAULT_HTTP_LISTEN : o.http,
    });
  } catch (err) {
    const e = err as Error & { code?: string };
    io.err(`${e.code ? `${e.code}: ` : ''}${e.message}\n`);
    return e.code === ErrorCodes.CLI_PARAMETER ? 2 : 1;
  }
  if (server.engine === 'drachtio' && program.getOptionValueSource('sipPort') === 'cli') {
    logger.warn('--sip-port is not used with the drachtio engine: drachtio-server listens for SIP (its <contact> elements)');
  }
  logger.info(
    {
      engine: server.engine,
      sip: server.sipAddresses,
      media: server.mediaEngine,
      rtp: `${o.sipHost}:${o.rtpPorts[0]}-${o.rtpPorts[1]}`,
      data: server.app.dataDir,
      store: server.app.store.description,
      recordings: server.app.recordingsDir,
      directory: server.app.configPath,
      ...(server.http ? { http: server.http.url } : {}),
    },
    'ready',
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (s: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(s);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  logger.info({ signal, calls: server.runtime.activeCallCount }, 'stopping: ending calls');
  await stopWithinBound(server, logger);
  logger.info('stopped');
  return 0;
}

/** What {@link stopWithinBound} may replace (tests). */
export interface StopBoundOptions {
  /** The bound, ms from the call [{@link STOP_BOUND_MS}]. */
  boundMs?: number;
  /** Ends the process [process.exit]. */
  exit?: (code: number) => void;
  /** Process events the second signal is listened on [process]. */
  signals?: Pick<NodeJS.EventEmitter, 'on'>;
}

/**
 * Stops `server` (after SIGINT/SIGTERM) within a hard bound: whatever hangs (a flow that never ends, a peer that never
 * answers, a handle left open), the process is gone `boundMs` after this call. Past the bound it logs what was still
 * pending (the stop's step, the calls still running, the open handles: `process.getActiveResourcesInfo()`) and exits
 * 1; if the stop finished but handles keep the process alive, it logs them and exits with the exit code so far (0).
 * A second SIGINT/SIGTERM exits 1 at once. The timer is unref'd: a process that ends by itself is not held.
 * (A synchronous call that blocks the event loop, e.g. SQLite waiting for another process's lock, delays it.)
 * @returns when `server.stop()` has resolved
 */
export async function stopWithinBound(server: Pick<RunningServer, 'stop' | 'runtime'>, logger: Logger, opts: StopBoundOptions = {}): Promise<void> {
  const boundMs = opts.boundMs ?? STOP_BOUND_MS;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let step = 'calls';
  const pending = () => ({ step, calls: server.runtime.activeCallCount, handles: process.getActiveResourcesInfo() });
  const again = (s: NodeJS.Signals) => {
    logger.warn({ signal: s, ...pending() }, 'second signal while stopping: exiting now');
    exit(1);
  };
  (opts.signals ?? process).on('SIGINT', again);
  (opts.signals ?? process).on('SIGTERM', again);
  setTimeout(() => {
    if (step === 'stopped') {
      logger.warn(pending(), `stopped, but handles were still open ${boundMs} ms after the signal: exiting`);
      exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      return;
    }
    logger.error(pending(), `not stopped ${boundMs} ms after the signal: exiting`);
    exit(1);
  }, boundMs).unref();
  await server.stop((s) => (step = s));
  step = 'stopped';
}
