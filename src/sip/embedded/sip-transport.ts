/**
 * The embedded server's transport (RFC 3261 §18): the package's stack on one address and port for UDP and TCP, with
 * what the package lacks around it. The messages themselves pass inbound.ts first (flood limit, size limits, syntax,
 * TCP framing), so the package never reads a socket.
 *
 * - Sockets the package creates are captured (socket-capture.ts): error listeners, 8 MiB UDP buffers, TCP
 *   connections destroyed on close, the package's `console.log` sent to our logger.
 * - Responses go through the package's server transactions; those of a transaction the package cannot hold (a
 *   branch another sender uses, §17.2.3) are written to their flow directly: the UDP socket, or the TCP connection
 *   the request came on (§18.2.2).
 * - Requests go out as the package's client transactions on an explicit flow (route-set.ts, flow-token Route); over
 *   TCP an in-dialog request reuses the connection its dialog came on while it is open.
 */
import type * as dgram from 'node:dgram';
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import { FloodLimiter, type FloodLimitOptions } from './flood-limiter';
import { InboundScreen, type InboundStats } from './inbound';
import type { MessageLimits, MessageScan } from './message-limits';
import { flowTokenRoute } from './route-set';
import { captureSockets, redirectConsoleInListeners, sendRedirectingConsole } from './socket-capture';
import { sipPackage, type SipFlow, type SipMessage, type SipRequest, type SipResponse, type SipStack } from './sip-package';

/** What the transport needs of the server's options. */
export interface TransportOptions {
  readonly host: string;
  readonly publicAddress: string;
  readonly socketBufferBytes: number;
  readonly maxBytesHeaders: number;
  readonly limits: MessageLimits;
  readonly floodLimit: FloodLimitOptions | null;
  readonly isGateway: (address: string) => boolean;
}

/** Where the transport hands what it receives (the server's `Core`). */
export interface TransportHost {
  readonly log: Logger;
  readonly stats: InboundStats;
  /** True once the server is stopping: new TCP connections are closed, nothing more is answered. */
  isStopping(): boolean;
  /** Every message the package parsed, before its transaction layer (the package's `logger.recv` hook). */
  onRecv(m: SipMessage, remote: SipFlow): void;
  /** A request the package's transaction layer hands on (new transactions and ACKs for non-2xx excluded). */
  onRequest(rq: SipRequest, remote: SipFlow): void;
  /** After each message was handed to the package, synchronously (see inbound.ts). */
  afterDelivery(): void;
}

interface TcpConn {
  socket: Socket;
}

function connKey(address: string, port: number): string {
  return `${address}|${port}`;
}

/** UDP and TCP on one address and port, through the package. */
export class SipTransport {
  private stack: SipStack | null = null;
  private udp: dgram.Socket | null = null;
  private tcp: Server | null = null;
  private readonly conns = new Map<string, TcpConn>();
  private readonly clientSockets = new Set<Socket>();
  /** The checks before the package parses (inbound.ts), and its flood limit. */
  private readonly screen: InboundScreen;
  private readonly limiter: FloodLimiter | null;
  private destroyed = false;

  constructor(
    private readonly opts: TransportOptions,
    private readonly host: TransportHost,
    readonly port: number,
  ) {
    const limiter = opts.floodLimit ? new FloodLimiter(opts.floodLimit, opts.isGateway) : null;
    this.screen = new InboundScreen(
      { log: host.log, stats: host.stats, isStopping: () => host.isStopping(), afterDelivery: () => host.afterDelivery() },
      opts.limits,
      limiter,
    );
    this.limiter = limiter;
  }

  /**
   * Creates the package's stack on `host`:`port` (UDP and TCP) and waits until both listen.
   * @throws Error when the address/port cannot be bound (`code` EADDRINUSE when the port is taken)
   */
  async bind(): Promise<void> {
    const sip = sipPackage();
    const log = this.host.log;
    const captured = captureSockets(() =>
      sip.create(
        {
          address: this.opts.host,
          port: this.port,
          publicAddress: this.opts.publicAddress,
          udp: true,
          tcp: true,
          // Messages reach the package whole and within the limits (inbound.ts): its own bounds must not cut them.
          maxBytesHeaders: Math.max(this.opts.maxBytesHeaders, this.opts.limits.maxMessageBytes + 1),
          maxContentLength: Math.max(604_800, this.opts.limits.maxMessageBytes),
          logger: {
            recv: (m, remote) => this.host.onRecv(m, remote),
            error: (e) => log.debug({ err: e }, 'sip stack error'),
          },
        },
        (rq, remote) => this.host.onRequest(rq, remote),
      ),
    );
    this.stack = captured.result;
    const udp = captured.udp[0];
    const tcp = captured.servers[0];
    if (!udp || !tcp) throw new Error('the sip package did not create a UDP socket and a TCP server');
    this.udp = udp;
    this.tcp = tcp;
    // Permanent listeners first: an 'error' without a listener would crash the process.
    udp.on('error', (err) => log.debug({ err }, 'sip udp socket error'));
    tcp.on('error', (err) => log.debug({ err }, 'sip tcp server error'));
    await Promise.all([listening(udp, 'listening'), listening(tcp, 'listening')]);
    try {
      udp.setRecvBufferSize(this.opts.socketBufferBytes);
      udp.setSendBufferSize(this.opts.socketBufferBytes);
    } catch (err) {
      log.debug({ err }, 'cannot raise the sip udp socket buffers');
    }
    this.screen.attachUdp(udp);
    tcp.on('connection', (socket: Socket) => this.onConnection(socket));
    log.debug({ recvBuffer: safe(() => udp.getRecvBufferSize()), sendBuffer: safe(() => udp.getSendBufferSize()) }, 'sip udp buffers');
  }

  /** Cleans up after a failed bind. */
  abandon(): void {
    try {
      this.stack?.destroy();
    } catch {
      /* a socket that never bound may refuse to close */
    }
  }

  /**
   * Destroys the stack, closes the sockets and every TCP connection (accepted or opened), and waits up to 1 s for
   * the sockets to close. Nothing is sent afterwards.
   */
  async close(): Promise<void> {
    const udpClosed = this.udp ? listening(this.udp, 'close').catch(() => undefined) : Promise.resolve();
    const tcpClosed = this.tcp ? listening(this.tcp, 'close').catch(() => undefined) : Promise.resolve();
    this.destroyed = true;
    try {
      this.stack?.destroy();
    } catch (err) {
      this.host.log.debug({ err }, 'sip stack destroy');
    }
    for (const c of this.conns.values()) c.socket.destroy();
    for (const s of this.clientSockets) s.destroy();
    this.conns.clear();
    this.clientSockets.clear();
    await Promise.race([Promise.all([udpClosed, tcpClosed]), delay(1000)]);
  }

  /** The scan of the message being handed to the package (inbound.ts `take`), for request-validation.ts. */
  takeScan(): MessageScan | null {
    return this.screen.take();
  }

  /** Forgets idle flood-limit entries. */
  sweep(): void {
    this.limiter?.sweep();
  }

  /** True while the TCP connection from `address`:`port` is open. */
  hasConnection(address: string, port: number): boolean {
    const c = this.conns.get(connKey(address, port));
    return c !== undefined && !c.socket.destroyed;
  }

  /** Sends a response through the package's server transaction. @throws what the package throws */
  sendResponse(rs: SipResponse): void {
    this.stack?.send(rs);
  }

  /** Writes a message to a flow without the package: the UDP socket, or the TCP connection it came on. */
  sendDirect(flow: SipFlow, text: string): void {
    if (this.destroyed) return;
    if (flow.protocol.toUpperCase() === 'UDP') this.udp?.send(Buffer.from(text, 'latin1'), flow.port, flow.address, () => undefined);
    else {
      const c = this.conns.get(connKey(flow.address, flow.port));
      if (c && !c.socket.destroyed) c.socket.write(text, 'latin1');
    }
  }

  /**
   * Sends a request on `flow` through the package (a client transaction: retransmission over UDP, 408 after 64*T1).
   * The flow is named by a flow-token Route the package strips before sending (route-set.ts).
   */
  sendRequest(rq: SipRequest, flow: SipFlow, onResponse: (rs: SipResponse) => void): void {
    if (!this.stack || this.destroyed) return;
    const stack = this.stack;
    rq.headers.route = flowTokenRoute(stack, flow, rq.headers.route);
    const reused = flow.protocol.toUpperCase() === 'TCP' ? this.conns.get(connKey(flow.address, flow.port))?.socket : undefined;
    const before = reused ? new Set(reused.rawListeners('error')) : null;
    try {
      sendRedirectingConsole(() => stack.send(rq, onResponse), this.clientSockets, this.packageConsole);
      if (reused && before) redirectConsoleInListeners(reused, 'error', before, this.packageConsole);
    } catch (err) {
      this.host.log.debug({ err, method: rq.method }, 'sip request not sent');
    }
  }

  /** Where the package's console.log lines go (see redirectConsoleInListeners). */
  private readonly packageConsole = (line: string): void => {
    if (line.startsWith('Flood')) this.host.stats.tcpConnectionsDropped++;
    this.host.log.debug({ line: line.slice(0, 200) }, 'sip package message');
  };

  private onConnection(socket: Socket): void {
    const address = socket.remoteAddress;
    const port = socket.remotePort;
    if (address === undefined || port === undefined) return;
    const key = connKey(address, port);
    const conn: TcpConn = { socket };
    this.conns.set(key, conn);
    redirectConsoleInListeners(socket, 'data', new Set(), this.packageConsole);
    this.screen.attachConnection(socket);
    socket.on('close', () => {
      if (this.conns.get(key) === conn) this.conns.delete(key);
    });
    if (this.host.isStopping()) socket.destroy();
  }
}

function listening(emitter: NodeJS.EventEmitter, event: 'listening' | 'close', timeoutMs = 5000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onEvent = () => {
      cleanup();
      resolve();
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for '${event}'`));
    }, timeoutMs);
    timer.unref();
    const cleanup = () => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      emitter.off('error', onError);
    };
    emitter.once(event, onEvent);
    emitter.once('error', onError);
  });
}

/** Waits `ms` (unref'd). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function safe<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    return null;
  }
}
