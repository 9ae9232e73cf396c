/**
 * EmbeddedMwiTransport: the unsolicited message-summary NOTIFY (the Exchange way, seed 004 [S4] #4, #9, #10) over
 * SIP over TCP or SIP over TLS, on Node's `net` and `tls` sockets. One connection per gateway, reused for later
 * NOTIFYs (RFC 3261 §18.1.1 connection reuse), opened again when the gateway closed it. Responses are framed by
 * Content-Length (§18.3) and parsed with the `sip` package.
 *
 * ```
 * NOTIFY sip:51234@gw1.contoso.com:5061;transport=tls SIP/2.0
 * Via: SIP/2.0/TLS 127.0.0.1:40123;branch=z9hG4bK...;rport
 * From: <sip:voice-access@127.0.0.1>;tag=...
 * To: <sip:51234@gw1.contoso.com>
 * Event: message-summary
 * Subscription-State: terminated
 * Content-Type: application/simple-message-summary
 * ```
 * TLS checks the gateway's certificate against the configured CA (or the system's) and its name against the gateway
 * address ([D-GW]: an FQDN when the dial plan is SIP Secured or Secured), and presents our certificate when one is
 * configured (gateways usually require mutual TLS).
 */
import { randomBytes } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Logger } from 'pino';
import type { MwiNotifyRequest, MwiNotifyResult, MwiTransport } from '../../ports/mwi';
import { sipPackage, type SipResponse } from './sip-package';

/** PEM material for SIP over TLS. */
export interface MwiTlsMaterial {
  cert?: Buffer;
  key?: Buffer;
  /** CA certificates the gateways' certificates must chain to; the system's CAs when absent. */
  ca?: Buffer;
}

export interface EmbeddedMwiTransportOptions {
  /** Our address, for Via and From (the SIP server's public address). */
  localHost: string;
  logger: Logger;
  /** How long one NOTIFY waits for its final response, including connecting (ms; RFC 3261 Timer F is 32 s). */
  timeoutMs: number;
  tls?: MwiTlsMaterial;
  userAgent?: string;
}

interface Waiting {
  resolve(r: MwiNotifyResult): void;
  reject(e: Error): void;
}

/** One TCP or TLS connection to one gateway. */
class GatewayConnection {
  private buffer: Buffer = Buffer.alloc(0);
  readonly waiting = new Map<string, Waiting>();
  closed = false;

  constructor(
    readonly socket: net.Socket,
    private readonly onClose: () => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiting.values()) w.reject(new Error('the gateway closed the connection before answering'));
      this.waiting.clear();
      this.onClose();
    });
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      // Keep-alive CRLFs between messages (RFC 5626 §3.5.1).
      let start = 0;
      while (start < this.buffer.length && (this.buffer[start] === 0x0d || this.buffer[start] === 0x0a)) start++;
      if (start > 0) this.buffer = this.buffer.subarray(start);
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) {
        if (this.buffer.length > 64 * 1024) this.socket.destroy(); // no message head within 64 KiB: garbage
        return;
      }
      const head = this.buffer.subarray(0, end).toString('latin1');
      const cl = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)/im.exec(head);
      const bodyLength = cl ? Number(cl[1]) : 0;
      const total = end + 4 + bodyLength;
      if (this.buffer.length < total) return;
      const text = this.buffer.subarray(0, total).toString('latin1');
      this.buffer = this.buffer.subarray(total);
      const m = sipPackage().parse(text);
      if (!m || !('status' in m)) continue; // a request from the gateway: not expected on this connection
      const rs = m as SipResponse;
      if (rs.status < 200) continue;
      const callId = String(rs.headers['call-id'] ?? '');
      const w = this.waiting.get(callId);
      if (!w) continue;
      this.waiting.delete(callId);
      w.resolve({ status: rs.status, reason: rs.reason });
    }
  }
}

export class EmbeddedMwiTransport implements MwiTransport {
  private readonly conns = new Map<string, Promise<GatewayConnection>>();
  private closed = false;

  constructor(private readonly opts: EmbeddedMwiTransportOptions) {}

  /**
   * Sends one NOTIFY and resolves with the gateway's final status.
   * @throws Error when the connection is refused or lost, TLS fails (certificate, name), or no final response
   *   arrives within `timeoutMs`
   */
  async sendNotify(rq: MwiNotifyRequest): Promise<MwiNotifyResult> {
    if (this.closed) throw new Error('the MWI transport is closed');
    const deadline = Date.now() + this.opts.timeoutMs;
    const conn = await this.connection(rq, this.opts.timeoutMs);
    const callId = `${randomBytes(10).toString('hex')}@${this.opts.localHost}`;
    const message = this.build(rq, conn.socket, callId);
    return new Promise<MwiNotifyResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        conn.waiting.delete(callId);
        reject(new Error(`no final response from ${rq.host}:${rq.port} within ${this.opts.timeoutMs} ms`));
      }, Math.max(1, deadline - Date.now()));
      timer.unref();
      conn.waiting.set(callId, {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      conn.socket.write(message);
    });
  }

  /** Closes every connection. */
  close(): void {
    this.closed = true;
    for (const c of this.conns.values()) void c.then((conn) => conn.socket.destroy(), () => undefined);
    this.conns.clear();
  }

  private connection(rq: MwiNotifyRequest, timeoutMs: number): Promise<GatewayConnection> {
    const key = `${rq.transport}|${rq.host}|${rq.port}`;
    const existing = this.conns.get(key);
    if (existing) return existing.then((c) => (c.closed ? this.open(key, rq, timeoutMs) : c));
    return this.open(key, rq, timeoutMs);
  }

  private open(key: string, rq: MwiNotifyRequest, timeoutMs: number): Promise<GatewayConnection> {
    const p = new Promise<GatewayConnection>((resolve, reject) => {
      const { host, port } = rq;
      // IPAddressFamily IPv4Only is the gateway default ([D-GW]): names resolve to IPv4 addresses only.
      const lookup = ((hostname: string, options: object, cb: (...a: unknown[]) => void) =>
        dnsLookup(hostname, { ...options, family: 4 }, cb as never)) as unknown as net.LookupFunction;
      const socket =
        rq.transport === 'tls'
          ? tls.connect({
              host,
              port,
              lookup,
              servername: net.isIP(host) ? undefined : host,
              ca: this.opts.tls?.ca,
              cert: this.opts.tls?.cert,
              key: this.opts.tls?.key,
              rejectUnauthorized: true,
            })
          : net.connect({ host, port, lookup });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`cannot connect to ${rq.transport}:${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new Error(`${rq.transport.toUpperCase()} connection to ${host}:${port} failed: ${err.message}`));
      };
      socket.once('error', fail);
      socket.once(rq.transport === 'tls' ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        socket.setNoDelay(true);
        resolve(
          new GatewayConnection(socket, () => {
            if (this.conns.get(key) === p) this.conns.delete(key);
          }),
        );
      });
    });
    this.conns.set(key, p);
    p.catch(() => {
      if (this.conns.get(key) === p) this.conns.delete(key);
    });
    return p;
  }

  /** The NOTIFY's text (RFC 3261 §8.1.1 mandatory headers; RFC 6665 §8.2.1 Event and Subscription-State). */
  private build(rq: MwiNotifyRequest, socket: net.Socket, callId: string): string {
    const proto = rq.transport === 'tls' ? 'TLS' : 'TCP';
    const local = `${this.opts.localHost}:${socket.localPort ?? 0}`;
    const body = Buffer.from(rq.body, 'utf8');
    const lines = [
      `NOTIFY sip:${rq.extension}@${rq.host}:${rq.port};transport=${rq.transport} SIP/2.0`,
      `Via: SIP/2.0/${proto} ${local};branch=z9hG4bK${randomBytes(8).toString('hex')};rport`,
      'Max-Forwards: 70',
      `From: <sip:voice-access@${this.opts.localHost}>;tag=${randomBytes(6).toString('hex')}`,
      `To: <sip:${rq.extension}@${rq.host}>`,
      `Call-ID: ${callId}`,
      'CSeq: 1 NOTIFY',
      `Contact: <sip:voice-access@${local};transport=${rq.transport}>`,
      'Event: message-summary',
      'Subscription-State: terminated',
      'Content-Type: application/simple-message-summary',
      `User-Agent: ${this.opts.userAgent ?? 'voice-access'}`,
      `Content-Length: ${body.length}`,
    ];
    return `${lines.join('\r\n')}\r\n\r\n${rq.body}`;
  }
}
