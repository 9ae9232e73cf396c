/**
 * The drachtio engine as the composition root uses it (`cli/serve.ts`, `--sip-engine drachtio`): one admin connection
 * to drachtio-server and, on it, the {@link CallSource} and the two MWI ports. Everything above these ports (routing,
 * flows, the gateway allow-list, MWI logic, notifications) is shared with the embedded engine.
 */
import type { Logger } from 'pino';
import { DrachtioCallSource } from './drachtio-call-source';
import type { CallSourceMediaDeps } from '../call-media';
import { DrachtioConnection, type DrachtioTarget } from './drachtio-connection';
import { DrachtioMwiTransport, DrachtioSubscriptionSource } from './drachtio-mwi';
import type { DrachtioSrf } from './srf-types';
import type { MediaServerPool } from '../../ports/media-server';

/** How long start waits for drachtio-server to confirm our routes before going on regardless, ms. */
const ROUTES_TIMEOUT_MS = 2000;

/** What {@link startDrachtioSignalling} needs. */
export interface DrachtioSignallingOptions extends DrachtioTarget, CallSourceMediaDeps {
  /** How long to keep trying to connect at start, ms (default 10 000). */
  connectTimeoutMs?: number;
  /** How long `stop()` waits for the responses to its BYEs, ms (default 2000). */
  stopTimeoutMs?: number;
  /** The drachtio-srf wrapper (tests pass a fake); default: a real one. */
  srf?: DrachtioSrf;
  /**
   * Media servers for the calls (FreeSWITCH through drachtio-fsmrf), built on the connected drachtio-srf instance
   * (opaque here); without it each call's media is an RTP session of our engine.
   */
  openMediaServers?: (nativeSrf: unknown) => Promise<MediaServerPool>;
}

/** The running drachtio engine. */
export interface DrachtioSignalling {
  connection: DrachtioConnection;
  calls: DrachtioCallSource;
  /** Unsolicited message-summary NOTIFYs (`ports/mwi.ts` MwiTransport). */
  mwi: DrachtioMwiTransport;
  /** SUBSCRIBEs for message-summary (`ports/mwi.ts` SubscriptionSource). */
  subscriptions: DrachtioSubscriptionSource;
  /** The media servers calls run on, when `openMediaServers` was given. */
  mediaServers?: MediaServerPool;
  /**
   * Where callers reach the IVR: drachtio-server's first SIP address (UDP preferred), as it reported it; the admin
   * address's host and port 5060 when it reported none.
   */
  sip: { host: string; port: number; addresses: string[] };
  /** Ends every call (BYE, or 503 before the answer), then closes the admin connection. */
  stop(): Promise<void>;
}

/**
 * Codes of drachtio-srf request failures that drachtio-fsmrf leaves unhandled and that are no fault of a call:
 * `ENODIALOG`, a BYE on a dialog drachtio-server has just torn down ("a common, benign race" in drachtio-srf's own
 * words), and `ESOCKETDESTROYED`, a BYE sent once the admin connection is gone (an endpoint whose FreeSWITCH connection
 * timed out, `lib/mediaserver.js` `timeoutFn`, under overload or after the engine stopped). Either ended the process.
 */
const BENIGN_REJECTIONS = new Set(['ENODIALOG', 'ESOCKETDESTROYED']);

/** How long the filter outlives the engine: drachtio-fsmrf's endpoint timers (4 s) may still fire, ms. */
const BENIGN_FILTER_AFTER_STOP_MS = 5000;

/**
 * The process's `unhandledRejection` listener while a drachtio engine runs (and {@link BENIGN_FILTER_AFTER_STOP_MS}
 * after): takes the rejections of {@link BENIGN_REJECTIONS}, logged at debug, and rethrows any other, as Node does
 * without a listener.
 * @throws the reason, when it is not one of them
 */
export function benignRejectionFilter(logger: Logger): (reason: unknown) => void {
  return (reason: unknown) => {
    const code = (reason as { code?: unknown })?.code;
    if (typeof code !== 'string' || !BENIGN_REJECTIONS.has(code)) throw reason;
    logger.debug({ err: reason, code }, 'an in-dialog request of drachtio-fsmrf found its dialog or connection gone');
  };
}

/**
 * Connects to drachtio-server and starts the call source and MWI ports on it.
 * @throws VaError VA_ERR_DRACHTIO_AUTH (secret refused) or VA_ERR_DRACHTIO_CONNECT (no connection within
 *   `connectTimeoutMs`)
 */
export async function startDrachtioSignalling(opts: DrachtioSignallingOptions): Promise<DrachtioSignalling> {
  const connection = await DrachtioConnection.open({
    host: opts.host,
    port: opts.port,
    secret: opts.secret,
    logger: opts.logger,
    connectTimeoutMs: opts.connectTimeoutMs,
    srf: opts.srf,
  });
  const logger = opts.logger.child({ part: 'sip', engine: 'drachtio' });
  const onUnhandled = benignRejectionFilter(logger);
  process.on('unhandledRejection', onUnhandled);
  const dropFilter = () => setTimeout(() => process.off('unhandledRejection', onUnhandled), BENIGN_FILTER_AFTER_STOP_MS).unref();
  let mediaServers: MediaServerPool | undefined;
  try {
    mediaServers = opts.openMediaServers ? await opts.openMediaServers(connection.srf.native) : undefined;
  } catch (err) {
    connection.close();
    dropFilter();
    throw err;
  }
  const calls = new DrachtioCallSource({
    mediaServers,
    srf: connection.srf,
    media: opts.media,
    mediaAddress: opts.mediaAddress,
    admit: opts.admit,
    clock: opts.clock,
    catalog: opts.catalog,
    recordingsDir: opts.recordingsDir,
    logger,
    ...(opts.retryAfterSeconds !== undefined ? { retryAfterSeconds: opts.retryAfterSeconds } : {}),
  });
  const mwi = new DrachtioMwiTransport({ srf: connection.srf, isConnected: () => connection.connected, where: connection.where, logger });
  const subscriptions = new DrachtioSubscriptionSource({ srf: connection.srf, logger });
  // Ready only once drachtio-server hands us INVITEs and SUBSCRIBEs (until it took our routes it answers 503 itself).
  await connection.srf.routesConfirmed(ROUTES_TIMEOUT_MS);
  const addresses = connection.sipAddresses;
  const first = addresses.find((a) => a.transport === 'udp') ?? addresses[0];
  return {
    connection,
    calls,
    mwi,
    subscriptions,
    mediaServers,
    sip: {
      host: first?.host ?? opts.host,
      port: first?.port ?? 5060,
      addresses: addresses.map((a) => `${a.transport}:${a.host}:${a.port}`),
    },
    stop: async () => {
      await calls.stop(opts.stopTimeoutMs ?? 2000);
      await mediaServers?.close();
      connection.close();
      dropFilter();
    },
  };
}
