/**
 * The admin connection to drachtio-server (drachtio-srf's "inbound" mode: `srf.connect({host, port, secret})`).
 * {@link DrachtioConnection.open} waits for the first successful authentication and turns the two ways it can fail
 * into named errors: the secret refused ({@link ErrorCodes.DRACHTIO_AUTH}) and no connection within the connect
 * timeout ({@link ErrorCodes.DRACHTIO_CONNECT}, with the last socket error). Afterwards drachtio-srf reconnects on its
 * own (backoff from 150 ms, x1.7); every loss, attempt and recovery is logged. The secret is never logged.
 */
import type { Logger } from 'pino';
import { ErrorCodes, VaError } from '../../errors';
import { createDrachtioSrf } from './drachtio-srf';
import type { DrachtioSrf } from './srf-types';

/** Where drachtio-server's admin port is, and its shared secret. */
export interface DrachtioTarget {
  /** Host name or IP address of drachtio-server's admin listener (`<admin>` in drachtio.conf.xml). */
  host: string;
  /** Its TCP port (drachtio's default is 9022). */
  port: number;
  /** The shared secret (`<admin secret="...">`). Never logged. */
  secret: string;
}

/** Options of {@link DrachtioConnection.open}. */
export interface DrachtioConnectionOptions extends DrachtioTarget {
  logger: Logger;
  /** How long to keep trying before giving up at start, ms (default 10 000). */
  connectTimeoutMs?: number;
  /** The drachtio-srf wrapper to use (tests pass a fake); default: a real one ({@link createDrachtioSrf}). */
  srf?: DrachtioSrf;
}

/** One SIP address drachtio-server listens on, as it reports them on authentication. */
export interface DrachtioSipAddress {
  /** `udp`, `tcp`, `tls`, `ws`, `wss`. */
  transport: string;
  host: string;
  port: number;
}

/**
 * Parses drachtio-server's `hostport` (e.g. `udp/127.0.0.1:5060,tcp/127.0.0.1:5060`; IPv6 in brackets) into
 * addresses; unreadable entries are skipped.
 */
export function parseHostport(hostport: string | undefined): DrachtioSipAddress[] {
  const out: DrachtioSipAddress[] = [];
  for (const item of String(hostport ?? '').split(',')) {
    const m = /^\s*([a-z]+)\/(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})\s*$/i.exec(item);
    if (m) out.push({ transport: m[1].toLowerCase(), host: m[2] ?? m[3], port: Number(m[4]) });
  }
  return out;
}

/**
 * Parses `HOST:PORT` (IPv6 as `[::1]:9022`); the port defaults to 9022 when absent.
 * @returns the host and port, or null when the text is not of that form or the port is out of range (1-65535)
 */
export function parseDrachtioAddress(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]\s]+))(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m) return null;
  const port = m[3] === undefined ? 9022 : Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2], port };
}

/** A live admin connection to drachtio-server. */
export class DrachtioConnection {
  private up = false;
  private everUp = false;
  private addresses: DrachtioSipAddress[] = [];
  private closed = false;

  private constructor(
    /** The drachtio-srf wrapper the signalling adapters use. */
    readonly srf: DrachtioSrf,
    private readonly target: { host: string; port: number },
    private readonly log: Logger,
  ) {}

  /**
   * Connects and authenticates to drachtio-server, retrying (drachtio-srf's backoff) until `connectTimeoutMs`.
   * @returns the connection, once drachtio-server accepted the secret
   * @throws VaError VA_ERR_DRACHTIO_AUTH when drachtio-server refuses the secret; VA_ERR_DRACHTIO_CONNECT when no
   *   connection came up within the timeout (the message names the address and the last socket error)
   */
  static open(opts: DrachtioConnectionOptions): Promise<DrachtioConnection> {
    const srf = opts.srf ?? createDrachtioSrf();
    const where = `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`;
    const log = opts.logger.child({ component: 'drachtio', drachtio: where });
    const conn = new DrachtioConnection(srf, { host: opts.host, port: opts.port }, log);
    const timeoutMs = opts.connectTimeoutMs ?? 10_000;
    return new Promise<DrachtioConnection>((resolve, reject) => {
      let settled = false;
      let lastError: Error | null = null;
      let attempts = 1;
      const fail = (err: VaError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.close();
        reject(err);
      };
      const timer = setTimeout(() => {
        const why = lastError ? `: ${lastError.message}` : '';
        fail(new VaError(ErrorCodes.DRACHTIO_CONNECT, `cannot connect to drachtio-server at ${where} within ${timeoutMs} ms (${attempts} attempt(s))${why}`, { cause: lastError ?? undefined }));
      }, timeoutMs);
      srf.on('connect', (err, hostport) => {
        if (err) {
          conn.up = false;
          if (!settled) {
            fail(new VaError(ErrorCodes.DRACHTIO_AUTH, `drachtio-server at ${where} refused the shared secret (check --drachtio-secret or sip.drachtio.secret against <admin secret="..."> in drachtio.conf.xml)`, { cause: err }));
          } else if (!conn.closed) {
            log.error({ code: ErrorCodes.DRACHTIO_AUTH }, 'drachtio-server refused the shared secret on reconnecting');
          }
          return;
        }
        conn.up = true;
        conn.everUp = true;
        conn.addresses = parseHostport(hostport);
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          log.info({ sip: conn.addresses.map((a) => `${a.transport}:${a.host}:${a.port}`) }, 'connected to drachtio-server');
          resolve(conn);
        } else if (!conn.closed) {
          log.info({ sip: conn.addresses.map((a) => `${a.transport}:${a.host}:${a.port}`) }, 'reconnected to drachtio-server');
        }
      });
      srf.on('error', (err) => {
        lastError = err;
        if (settled && !conn.closed) log.warn({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, 'drachtio-server connection error');
        else log.debug({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, 'drachtio-server connection attempt failed');
      });
      srf.on('dropped-message', (err: Error) => {
        // The text of the message is left out: it may hold a caller's SIP INFO digits.
        log.error({ code: ErrorCodes.DRACHTIO_MESSAGE, reason: err.message.split(':')[0].slice(0, 80) }, 'dropped a message from drachtio-server that could not be read; the connection and other calls go on');
      });
      srf.on('reconnecting', ({ delay, attempt }) => {
        attempts = attempt;
        if (!conn.closed) log.info({ attempt, delayMs: delay }, 'reconnecting to drachtio-server');
      });
      srf.on('close', () => {
        const was = conn.up;
        conn.up = false;
        if (was && !conn.closed) log.warn('lost the connection to drachtio-server; calls in progress get no more signalling until it is back');
      });
      srf.connect({ host: opts.host, port: opts.port, secret: opts.secret });
    });
  }

  /** True while the admin connection is up and authenticated. */
  get connected(): boolean {
    return this.up && !this.closed;
  }

  /** drachtio-server's SIP addresses, as it reported them at the last authentication. */
  get sipAddresses(): readonly DrachtioSipAddress[] {
    return this.addresses;
  }

  /** `HOST:PORT` of the admin connection (for messages). */
  get where(): string {
    return `${this.target.host}:${this.target.port}`;
  }

  /** Closes the admin connection; drachtio-srf stops reconnecting. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.up = false;
    this.srf.close();
    if (this.everUp) this.log.info('disconnected from drachtio-server');
  }
}
