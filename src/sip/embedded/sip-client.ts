/**
 * SipClient: a small SIP user agent client (UAC) on the npm package `sip` (transport and transactions), for the
 * network simulator (`voice-access simulate --target udp:HOST:PORT`, issue 4 "Scenarios over the network") and tests.
 * It places calls, one dialog each (RFC 3261 §12-§15, the UAC side):
 * - INVITE with the caller's SDP offer; `From: sip:<from or anonymous>@<local address>;tag=...`, `To` and Request-URI
 *   `sip:<to>@HOST:PORT`, a Contact on our own address and port, and optionally
 *   `Diversion: <sip:<extension>@HOST>;reason=no-answer` (RFC 5806).
 * - 1xx are reported (`provisional`); the first 2xx confirms the dialog (To tag, Contact as the remote target) and is
 *   ACKed (§13.2.2.4); every retransmitted 2xx is ACKed again, also after the package's INVITE transaction has gone
 *   (seen in the transport hook, the package would drop it). A 3xx-6xx (or a locally made 408/503) is reported with
 *   its status (`failed`); the package ACKs it. Without a final response within `inviteTimeoutMs` the INVITE is
 *   CANCELled and reported as 408.
 * - In-dialog requests we send (BYE, INFO) carry the next CSeq and go to the remote target; each resolves with its
 *   final status (null when none came within `requestTimeoutMs`).
 * - Requests from the server: BYE of a dialog is answered 200 and ends it (`ended` with `remote`); OPTIONS and INFO
 *   200; a re-INVITE 488 (the simulated caller never changes its media); anything for an unknown dialog 481; other
 *   methods 405.
 * - A wire tap (`setWireTap`, `sip-wire-tap.ts`) is told every message sent or received, as on the wire, for the
 *   captures of `simulate --pcap DIR`.
 *
 * Routing: every request goes to the call's target, which acts as the outbound proxy (§8.1.2), on an explicit flow
 * (protocol, address, port) named by a flow-token Route that the package strips before sending (route-set.ts, shared
 * with the server): routing by host would fail when the target shares our host string (the package then looks for a
 * flow token in the Request-URI's user part). The dialog's remote target is the 2xx's Contact and its route set the
 * 2xx's Record-Route reversed (§12.1.2); the ACK of a 2xx, BYE and INFO carry them as §12.2.1.1 says (Request-URI the
 * remote target, Route the route set; a strict first route becomes the Request-URI), so a proxy that record-routes
 * sees the requests of the dialog come back through it. Over TCP one connection to the target is opened and reused
 * for the whole dialog, and the server's BYE comes back on it.
 *
 * Only `src/sip/embedded/` may import the `sip` package (DESIGN.md, "Layers"); this file shares the server's helpers
 * (`sip-package.ts`, `socket-capture.ts`, `free-port.ts`, `route-set.ts`).
 */
import type * as dgram from 'node:dgram';
import type { Server, Socket } from 'node:net';
import pino, { type Logger } from 'pino';
import { findFreeSipPort } from './free-port';
import { flowOf, flowTokenRoute } from './route-set';
import { captureSockets, sendRedirectingConsole } from './socket-capture';
import { tapSipStream, udpReceived, udpSendArgs, wireNow, type SipWireTap } from './sip-wire-tap';
import {
  isRequest,
  sipPackage,
  type SipFlow,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  type SipStack,
} from './sip-package';
import { ALLOW, OutgoingCall, uriHost, type OutgoingCallOptions, type SipTarget } from './outgoing-call';

export { OutgoingCall } from './outgoing-call';
export type { SipWireMessage, SipWireTap, WireEndpoint } from './sip-wire-tap';
export type { CallEndedBy, OutgoingCallEvents, OutgoingCallOptions, OutgoingCallState, SipTarget } from './outgoing-call';

/** Options of {@link SipClient.start}. */
export interface SipClientOptions {
  /** Address UDP and TCP bind to, written in Via, Contact and From (an IP literal). */
  localAddress: string;
  /** Port for UDP and TCP; 0 or absent picks one that is free for both (the package would turn 0 into 5060). */
  port?: number;
  logger?: Logger;
  /** `User-Agent` header value. Default `voice-access-simulate`. */
  userAgent?: string;
  /** A call without a final response after this long is CANCELled and fails with 408 (ms, default 60 000). */
  inviteTimeoutMs?: number;
  /** How long an in-dialog request (BYE, INFO) waits for its final response (ms, default 32 000 = 64*T1). */
  requestTimeoutMs?: number;
}

function listening(emitter: NodeJS.EventEmitter, timeoutMs = 5000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      emitter.off('listening', onListening);
      emitter.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onListening = () => done();
    const onError = (err: Error) => done(err);
    const timer = setTimeout(() => done(new Error('timed out waiting for the socket to listen')), timeoutMs);
    timer.unref();
    emitter.once('listening', onListening);
    emitter.once('error', onError);
  });
}

/**
 * The SIP UAC. Start it with {@link SipClient.start}, place calls with {@link SipClient.call}, stop it with
 * {@link SipClient.stop}.
 */
export class SipClient {
  private readonly calls = new Map<string, OutgoingCall>();
  private readonly clientSockets = new Set<Socket>();
  private stopped = false;
  /** Told every SIP message sent or received on our sockets (a capture, `simulate --pcap`); null: none. */
  private wireTap: SipWireTap | null = null;

  private constructor(
    private readonly stack: SipStack,
    private readonly udp: dgram.Socket,
    private readonly tcp: Server,
    /** The bound address. */
    readonly localAddress: string,
    /** The bound port (UDP and TCP). */
    readonly port: number,
    readonly log: Logger,
    readonly userAgent: string,
    readonly inviteTimeoutMs: number,
    readonly requestTimeoutMs: number,
  ) {}

  /**
   * Binds UDP and TCP on `localAddress` and a port free for both (or `port`).
   * @throws Error when it cannot bind (after up to 10 candidate ports when no port was given)
   */
  static async start(opts: SipClientOptions): Promise<SipClient> {
    const log = (opts.logger ?? pino({ level: 'silent' })).child({ component: 'sip-client' });
    const attempts = opts.port ? 1 : 10;
    let lastError: unknown;
    for (let i = 0; i < attempts; i++) {
      const port = opts.port || (await findFreeSipPort(opts.localAddress));
      // The client is created before the stack exists; messages are routed to it through this indirection.
      let client: SipClient | null = null;
      const sip = sipPackage();
      const captured = captureSockets(() =>
        sip.create(
          {
            address: opts.localAddress,
            port,
            publicAddress: opts.localAddress,
            udp: true,
            tcp: true,
            logger: {
              recv: (m) => client?.onRecv(m),
              error: (e) => log.debug({ err: e }, 'sip stack error'),
            },
          },
          (rq, remote) => client?.onRequest(rq, remote),
        ),
      );
      const udp = captured.udp[0];
      const tcp = captured.servers[0];
      if (!udp || !tcp) throw new Error('the sip package did not create a UDP socket and a TCP server');
      // Permanent listeners first: an 'error' without a listener would crash the process.
      udp.on('error', (err) => log.debug({ err }, 'sip client udp socket error'));
      // The package sends from timers and process.nextTick callbacks (a transaction starts on the next tick, even
      // one shut down by destroy()): a send on the closed socket would throw there and crash the process.
      const send = udp.send.bind(udp) as (...args: unknown[]) => void;
      let closed = false;
      udp.once('close', () => (closed = true));
      (udp as unknown as { send: (...args: unknown[]) => void }).send = (...args: unknown[]) => {
        if (closed) return;
        if (client?.wireTap) client.tapUdpSend(args);
        send(...args);
      };
      // Before the package's listener: a message it answers at once is captured before its answer.
      udp.prependListener('message', (data, rinfo) => client?.wireTap && client.tell(udpReceived(data, rinfo, { address: client.localAddress, port: client.port })));
      tcp.on('connection', (s: Socket) => tapSipStream(s, () => client?.wireTap ?? null));
      tcp.on('error', (err) => log.debug({ err }, 'sip client tcp server error'));
      try {
        await Promise.all([listening(udp), listening(tcp)]);
      } catch (err) {
        lastError = err;
        try {
          captured.result.destroy();
        } catch {
          // a socket that never bound may refuse to close
        }
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
        continue;
      }
      client = new SipClient(
        captured.result,
        udp,
        tcp,
        opts.localAddress,
        port,
        log,
        opts.userAgent ?? 'voice-access-simulate',
        opts.inviteTimeoutMs ?? 60_000,
        opts.requestTimeoutMs ?? 32_000,
      );
      log.debug({ address: opts.localAddress, port }, 'sip client listening');
      return client;
    }
    throw new Error(`cannot bind the SIP client on ${opts.localAddress}: ${(lastError as Error)?.message ?? String(lastError)}`);
  }

  /**
   * Places a call: sends the INVITE at once. Listen to the returned call's events.
   * @throws Error after {@link SipClient.stop}
   */
  call(opts: OutgoingCallOptions): OutgoingCall {
    if (this.stopped) throw new Error('the SIP client is stopped');
    const call = new OutgoingCall(this, opts);
    this.calls.set(call.callId, call);
    call.start();
    return call;
  }

  /**
   * Tells `tap` every SIP message this client sends or receives from now on, of every call, as on the wire (UDP
   * datagrams; TCP streams cut into messages); null stops it. One tap at a time: a later one replaces it.
   */
  setWireTap(tap: SipWireTap | null): void {
    this.wireTap = tap;
  }

  /** Tells the wire tap a datagram the package sends. */
  private tapUdpSend(args: readonly unknown[]): void {
    const d = udpSendArgs(args);
    if (d) this.tell({ dir: 'sent', transport: 'udp', data: d.data, local: { address: this.localAddress, port: this.port }, remote: { address: d.address, port: d.port }, atMs: wireNow() });
  }

  /** Tells the wire tap a message; a tap that throws is ignored. */
  private tell(m: Parameters<SipWireTap>[0]): void {
    try {
      this.wireTap?.(m);
    } catch (err) {
      this.log.debug({ err }, 'sip wire tap failed');
    }
  }

  /** Calls not yet forgotten (placed and not ended or failed long ago). */
  get activeCalls(): number {
    return [...this.calls.values()].filter((c) => c.state === 'calling' || c.state === 'confirmed').length;
  }

  /**
   * Ends every call (BYE or CANCEL, waiting up to 2 s for the answers), then closes the sockets. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    const ending = [...this.calls.values()].map((c) => c.hangup());
    await Promise.race([Promise.allSettled(ending), new Promise((r) => setTimeout(r, 2000).unref())]);
    // Transactions start on the next tick: let the last CANCEL or BYE leave before the sockets close.
    await new Promise((r) => setImmediate(r));
    this.stopped = true;
    for (const c of this.calls.values()) c.dispose();
    this.calls.clear();
    const closed = Promise.all([
      new Promise<void>((resolve) => {
        this.udp.once('close', () => resolve());
        setTimeout(resolve, 1000).unref();
      }),
      new Promise<void>((resolve) => {
        this.tcp.once('close', () => resolve());
        setTimeout(resolve, 1000).unref();
      }),
    ]);
    try {
      this.stack.destroy();
    } catch (err) {
      this.log.debug({ err }, 'sip client stack destroy');
    }
    for (const s of this.clientSockets) s.destroy();
    this.clientSockets.clear();
    await closed;
  }

  /** The flow a request to `target` goes out on. @internal */
  flowTo(target: SipTarget): SipFlow {
    return flowOf(target.transport === 'tcp' ? 'TCP' : 'UDP', target.host, target.port, { address: this.localAddress, port: this.port });
  }

  /** Our Contact URI for a transport. @internal */
  contactUri(user: string, transport: 'udp' | 'tcp'): string {
    return `sip:${user}@${uriHost(this.localAddress)}:${this.port}${transport === 'tcp' ? ';transport=tcp' : ''}`;
  }

  /**
   * Sends a request on `flow` through the package (a client transaction, except for ACK).
   * @internal
   */
  send(rq: SipRequest, flow: SipFlow, onResponse?: (rs: SipResponse) => void): void {
    if (this.stopped) return;
    const stack = this.stack;
    rq.headers.route = flowTokenRoute(stack, flow, rq.headers.route);
    try {
      const opened = sendRedirectingConsole(() => (onResponse ? stack.send(rq, onResponse) : stack.send(rq)), this.clientSockets, this.packageConsole);
      for (const s of opened) {
        s.on('error', () => undefined);
        tapSipStream(s, () => this.wireTap);
      }
    } catch (err) {
      this.log.debug({ err, method: rq.method }, 'sip request not sent');
    }
  }

  /** Sends a response to a request the server sent us. @internal */
  respond(rq: SipRequest, status: number, reason: string, headers: Record<string, unknown> = {}): void {
    if (this.stopped) return;
    const rs = sipPackage().makeResponse(rq, status, reason);
    Object.assign(rs.headers, { 'user-agent': this.userAgent }, headers);
    try {
      this.stack.send(rs);
    } catch (err) {
      this.log.debug({ err, status }, 'sip response not sent');
    }
  }

  /** A call is over and may be forgotten. @internal */
  forget(call: OutgoingCall): void {
    if (this.calls.get(call.callId) === call) this.calls.delete(call.callId);
  }

  private readonly packageConsole = (line: string): void => {
    this.log.debug({ line: line.slice(0, 200) }, 'sip package message');
  };

  /** Sees every parsed message before the transactions: a retransmitted 2xx is ACKed again here. */
  private onRecv(m: SipMessage): void {
    try {
      if (isRequest(m)) return;
      const rs = m as SipResponse;
      if (rs.status < 200 || rs.status >= 300 || rs.headers.cseq?.method !== 'INVITE') return;
      this.calls.get(rs.headers['call-id'])?.onRetransmitted2xx(rs);
    } catch (err) {
      this.log.debug({ err }, 'sip client receive hook failed');
    }
  }

  private onRequest(rq: SipRequest, _remote: SipFlow): void {
    try {
      if (rq.method === 'ACK') return;
      const known = this.calls.get(rq.headers['call-id']);
      const mine = known !== undefined && known.matches(rq) ? known : undefined;
      switch (rq.method) {
        case 'BYE':
          if (!mine) return this.respond(rq, 481, 'Call/Transaction Does Not Exist');
          this.respond(rq, 200, 'OK');
          mine.remoteBye();
          return;
        case 'INFO':
          return mine ? this.respond(rq, 200, 'OK') : this.respond(rq, 481, 'Call/Transaction Does Not Exist');
        case 'OPTIONS':
          return this.respond(rq, 200, 'OK', { allow: ALLOW });
        case 'INVITE':
          // A re-INVITE: the simulated caller keeps its media as it is.
          return mine ? this.respond(rq, 488, 'Not Acceptable Here') : this.respond(rq, 481, 'Call/Transaction Does Not Exist');
        case 'CANCEL':
          return this.respond(rq, 481, 'Call/Transaction Does Not Exist');
        default:
          return this.respond(rq, 405, 'Method Not Allowed', { allow: ALLOW });
      }
    } catch (err) {
      this.log.debug({ err, method: rq.method }, 'sip client request handling failed');
    }
  }
}
