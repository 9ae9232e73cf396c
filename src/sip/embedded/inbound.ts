/**
 * Everything that arrives on the SIP sockets passes here before the `sip` package sees it (issue 19, "SIP input").
 * The package listens on its sockets itself; we take its UDP `message` listener and each accepted TCP connection's
 * `data` listener off the sockets and call them ourselves, one whole message at a time, once the message has passed:
 *
 * 1. the flood limit (flood-limiter.ts): a blocked address is dropped before anything is read;
 * 2. the size limits (message-limits.ts): 513 Message Too Large (RFC 3261 §21.5.14) when the request names where to
 *    answer, nothing otherwise; a TCP connection is closed after it (the rest of its stream cannot be trusted);
 * 3. the syntax the package needs: start line and `name: value` lines as it parses them, a well-formed Via (RFC 3261
 *    §25.1), and over TCP a Content-Length (§18.3, §20.14). A request that fails gets 400 when it can be addressed;
 * 4. the rewrite of message-limits.ts `prepareForPackage` (long white space runs, `%` in tokens, the unread
 *    authentication headers).
 *
 * Over TCP the stream is framed here (headers end at CRLFCRLF, then Content-Length bytes of body; CRLFs between
 * messages are ignored, §7.5), in time linear in the bytes received: the package's own stream parser runs a regular
 * expression over everything pending on each chunk. Messages the package still refuses (a missing Call-ID, ...) get
 * the 400 of malformed.ts. Every refusal counts in `va_sip_messages_rejected_total{reason}`.
 */
import type * as dgram from 'node:dgram';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { metrics, type SipRejectedReason } from '../../metrics';
import type { FloodLimiter } from './flood-limiter';
import { isAnswerableRequestLine, isKeepAlive, rawBadRequest, rawResponse } from './malformed';
import { contentLengthOf, prepareForPackage, scanMessage, type MessageLimits, type MessageScan } from './message-limits';
import { viaProblem } from './request-validation';

/** The counters the screen keeps (a part of the server's stats). */
export interface InboundStats {
  malformedDatagrams: number;
  badRequests: number;
  tcpConnectionsDropped: number;
  /** Messages over a size limit (513 or dropped). */
  oversized: number;
  /** Messages dropped by the flood limit. */
  floodDropped: number;
}

/** What the screen needs from the server. */
export interface InboundHost {
  readonly log: Logger;
  readonly stats: InboundStats;
  /** True once the server is stopping: nothing more is answered. */
  isStopping(): boolean;
  /** Called after each message was handed to the package (whether it took it or not), synchronously. */
  afterDelivery(): void;
}

/** One message's way back and into the package. */
interface Peer {
  protocol: 'UDP' | 'TCP';
  address: string;
  port: number;
  /** Sends a raw response. */
  send(text: string): void;
  /** Hands a message to the package. */
  feed(text: string, original: Buffer | null): void;
  /** Ends the connection (TCP) after what was sent. */
  close(): void;
}

/** How long a TCP connection we closed after a 513 or a framing error may take to read our answer, ms. */
const CLOSE_GRACE_MS = 1000;

type PackageListener = (...args: unknown[]) => void;

/** The checks between the sockets and the package; one per server. */
export class InboundScreen {
  private current: MessageScan | null = null;
  private accepted = false;
  private udpListeners: PackageListener[] = [];

  constructor(
    readonly host: InboundHost,
    readonly limits: MessageLimits,
    private readonly limiter: FloodLimiter | null,
  ) {}

  /**
   * Called by the package's receive hook (`logger.recv`) for the message being handed to it: marks it taken and
   * returns the scan of its text (for request-validation.ts), or null when the message did not come through here.
   */
  take(): MessageScan | null {
    this.accepted = true;
    return this.current;
  }

  /** Takes the package's `message` listener off its UDP socket; datagrams come here first. */
  attachUdp(udp: dgram.Socket): void {
    this.udpListeners = udp.rawListeners('message') as PackageListener[];
    udp.removeAllListeners('message');
    udp.on('message', (data: Buffer, rinfo: dgram.RemoteInfo) => this.onDatagram(udp, data, rinfo));
  }

  /**
   * Takes the package's `data` listener(s) off an accepted TCP connection (after the package's `connection` listener
   * ran) and frames the stream here.
   */
  attachConnection(socket: Socket): void {
    const address = socket.remoteAddress ?? '';
    const port = socket.remotePort ?? 0;
    const listeners = socket.rawListeners('data') as PackageListener[];
    socket.removeAllListeners('data');
    if (this.limiter?.blocked(address)) {
      this.host.stats.floodDropped++;
      this.reject('flood', undefined);
      socket.destroy();
      return;
    }
    const framer = new StreamFramer(this, socket, {
      protocol: 'TCP',
      address,
      port,
      send: (text) => {
        if (!socket.destroyed && !this.host.isStopping()) socket.write(text, 'latin1');
      },
      feed: (text) => {
        for (const l of listeners) l.call(socket, text);
      },
      close: () => framer.close(),
    });
    socket.on('data', (chunk: string | Buffer) => framer.onData(typeof chunk === 'string' ? chunk : chunk.toString('latin1')));
  }

  // ---------------------------------------------------------------- UDP

  private onDatagram(udp: dgram.Socket, data: Buffer, rinfo: dgram.RemoteInfo): void {
    try {
      if (this.limiter?.blocked(rinfo.address)) {
        this.host.stats.floodDropped++;
        this.reject('flood', undefined);
        return;
      }
      if (isKeepAlive(data)) return;
      const text = data.toString('latin1');
      const scan = scanMessage(text, this.limits);
      const peer: Peer = {
        protocol: 'UDP',
        address: rinfo.address,
        port: rinfo.port,
        send: (rs) => {
          if (!this.host.isStopping()) udp.send(Buffer.from(rs, 'latin1'), rinfo.port, rinfo.address, () => undefined);
        },
        feed: (out, original) => {
          const buf = original ?? Buffer.from(out, 'latin1');
          for (const l of this.udpListeners) l.call(udp, buf, rinfo);
        },
        close: () => undefined,
      };
      if (!this.admit(text, scan, peer)) return;
      if (scan.headerEnd < 0 || !scan.parseable) {
        this.malformed(text, peer, 'no blank line or a line that does not parse');
        return;
      }
      this.deliver(text, scan, peer, data);
    } catch (err) {
      this.host.log.debug({ err }, 'sip datagram handling failed');
    }
  }

  // ---------------------------------------------------------------- shared steps

  /**
   * The flood limit, then the size limits. Called once the headers (or as much of them as the limits allow) are in.
   * @returns true when the message may go on
   */
  admit(text: string, scan: MessageScan, peer: Peer): boolean {
    if (this.limiter) {
      const kind = scan.kind === 'response' ? 'response' : scan.method === 'ACK' ? 'ack' : 'request';
      const key = scan.method !== null && scan.branch !== null ? `${scan.method} ${scan.branch}` : null;
      const verdict = this.limiter.check(peer.address, kind, key);
      if (verdict !== 'pass') {
        this.host.stats.floodDropped++;
        this.reject('flood', undefined);
        if (verdict === 'block') {
          const o = this.limiter.opts;
          const gateway = this.limiter.isGatewaySource(peer.address);
          this.host.log.warn(
            { address: peer.address, gateway, requests: gateway ? o.gatewayRequests : o.requests, windowMs: o.windowMs, blockMs: gateway ? o.windowMs : o.blockMs },
            'sip flood: dropping everything from this address',
          );
        }
        peer.close();
        return false;
      }
    }
    if (scan.violation) {
      this.host.stats.oversized++;
      const line = scan.lines[0];
      const startLine = line ? text.slice(line.start, line.end) : '';
      const rs = scan.kind === 'request' && isAnswerableRequestLine(startLine) ? rawResponse({ method: scan.method, ...scan.address }, 513, 'Message Too Large') : null;
      if (rs) peer.send(rs);
      this.reject(scan.violation, { from: `${peer.address}:${peer.port}`, transport: peer.protocol, bytes: text.length, answered513: !!rs });
      peer.close();
      return false;
    }
    return true;
  }

  /** Checks what the package parses without looking, rewrites, hands the message on, and answers if it refused. */
  deliver(text: string, scan: MessageScan, peer: Peer, original: Buffer | null): void {
    for (const v of scan.vias) {
      const problem = viaProblem(v);
      if (problem) {
        this.malformed(text, peer, `Via: ${problem}`, 'Bad Via');
        return;
      }
    }
    const out = prepareForPackage(text, scan);
    this.current = scan;
    this.accepted = false;
    let accepted = false;
    try {
      peer.feed(out, out === text && scan.start === 0 ? original : null);
    } catch (err) {
      this.host.log.debug({ err }, 'the sip package failed on a message');
    } finally {
      accepted = this.accepted;
      this.current = null;
      this.accepted = false;
    }
    this.host.afterDelivery();
    if (!accepted) this.malformed(text, peer, 'the stack could not parse it');
  }

  /** A message that is not SIP as the stack reads it: 400 when it can be addressed, else nothing. */
  malformed(text: string, peer: Peer, why: string, reason = 'Bad Request'): void {
    if (peer.protocol === 'UDP') this.host.stats.malformedDatagrams++;
    const rs = rawBadRequest(text, reason);
    if (rs && !this.host.isStopping()) {
      this.host.stats.badRequests++;
      peer.send(rs);
    }
    this.reject('malformed', { from: `${peer.address}:${peer.port}`, transport: peer.protocol, why, bytes: text.length, firstLine: firstLine(text), answered400: !!rs });
  }

  /** Counts a refusal; logs it at debug (an attack would otherwise flood the log). */
  reject(reason: SipRejectedReason, details: Record<string, unknown> | undefined): void {
    metrics.sipRejected.inc({ reason });
    if (details) this.host.log.debug({ reason, ...details }, 'sip message rejected');
  }
}

/** Leading characters ignored between messages on a stream (RFC 3261 §7.5, RFC 5626 keep-alives). */
function isGap(c: number): boolean {
  return c === 13 || c === 10 || c === 32 || c === 9;
}

/**
 * Frames one TCP connection's stream. Chunks are kept as they come until a message is complete (no copying, and a
 * search for CRLFCRLF only in the new chunk), so a peer sending one byte at a time costs linear time.
 */
class StreamFramer {
  private pending: string[] = [];
  private pendingSize = 0;
  /** The last three characters pending (a CRLFCRLF may straddle two chunks). */
  private tail = '';
  /** The length of the physical line being received (headers not complete yet). */
  private lineLength = 0;
  /** The whole message's length once its headers are in; -1 before. */
  private needed = -1;
  /** The scan of the pending message's headers once they were in and admitted (not counted twice). */
  private admitted: MessageScan | null = null;
  private closed = false;

  constructor(
    private readonly screen: InboundScreen,
    private readonly socket: Socket,
    private readonly peer: Peer,
  ) {}

  onData(chunk: string): void {
    if (this.closed) return;
    try {
      this.receive(chunk);
    } catch (err) {
      this.screen.host.log.debug({ err }, 'sip tcp framing failed; connection closed');
      this.close();
    }
  }

  private receive(chunk: string): void {
    let c = chunk;
    if (this.pendingSize === 0) {
      let k = 0;
      while (k < c.length && isGap(c.charCodeAt(k))) k++;
      if (k === c.length) return;
      if (k > 0) c = c.slice(k);
    }
    const limits = this.screen.limits;
    this.pending.push(c);
    this.pendingSize += c.length;
    if (this.needed >= 0) {
      if (this.pendingSize < this.needed) return;
    } else {
      const found = (this.tail + c).includes('\r\n\r\n');
      this.tail = (this.tail + c.slice(-3)).slice(-3);
      if (!found) {
        const lf = c.lastIndexOf('\n');
        this.lineLength = lf >= 0 ? c.length - lf - 1 : this.lineLength + c.length;
        if (this.pendingSize > limits.maxMessageBytes || this.lineLength > limits.maxHeaderLineBytes) {
          const text = this.take();
          const scan = scanMessage(text, limits);
          scan.violation ??= this.lineLength > limits.maxHeaderLineBytes ? 'header-too-long' : 'too-large';
          this.screen.admit(text, scan, this.peer);
          this.close();
        }
        return;
      }
    }
    const admitted = this.admitted;
    this.drain(this.take(), admitted);
  }

  /** Everything pending, as one string; the pending state is reset. */
  private take(): string {
    const text = this.pending.length === 1 ? this.pending[0] : this.pending.join('');
    this.pending = [];
    this.pendingSize = 0;
    this.tail = '';
    this.lineLength = 0;
    this.needed = -1;
    this.admitted = null;
    return text;
  }

  /** Keeps an incomplete message for the next chunk (`admitted`: the scan of its headers, once they are in). */
  private keep(rest: string, needed: number, admitted: MessageScan | null = null): void {
    this.admitted = admitted;
    this.pending = [rest];
    this.pendingSize = rest.length;
    this.tail = rest.slice(-3);
    const lf = rest.lastIndexOf('\n');
    this.lineLength = lf >= 0 ? rest.length - lf - 1 : rest.length;
    this.needed = needed;
  }

  /**
   * Handles every whole message in `text` (from its start), keeps what is left. Linear in `text`.
   * @param admitted the scan of the first message's headers when they were admitted before its body came
   */
  private drain(text: string, admitted: MessageScan | null = null): void {
    const limits = this.screen.limits;
    let p = 0;
    while (!this.closed) {
      while (p < text.length && isGap(text.charCodeAt(p))) p++;
      if (p >= text.length) return;
      const headerEnd = text.indexOf('\r\n\r\n', p);
      if (headerEnd < 0) {
        const rest = text.slice(p);
        this.keep(rest, -1);
        if (rest.length > limits.maxMessageBytes || this.lineLength > limits.maxHeaderLineBytes) {
          const t = this.take();
          const scan = scanMessage(t, limits);
          scan.violation ??= 'too-large';
          this.screen.admit(t, scan, this.peer);
          this.close();
        }
        return;
      }
      const head = text.slice(p, headerEnd + 4);
      let scan: MessageScan;
      if (admitted && p === 0) scan = admitted;
      else {
        scan = scanMessage(head, limits);
        if (!this.screen.admit(head, scan, this.peer)) return;
      }
      admitted = null;
      const cl = contentLengthOf(scan);
      if (cl === 'invalid') {
        // The stream's framing is lost (§18.3): answer, then close.
        this.screen.malformed(head, this.peer, 'bad Content-Length over TCP', 'Bad Content-Length');
        this.close();
        return;
      }
      if (cl === null) {
        this.screen.malformed(head, this.peer, 'no Content-Length over TCP', 'Missing Content-Length');
        p = headerEnd + 4;
        continue;
      }
      const total = head.length + cl;
      if (total > limits.maxMessageBytes) {
        scan.violation = 'too-large';
        this.screen.admit(head, scan, this.peer);
        this.close();
        return;
      }
      if (p + total > text.length) {
        this.keep(text.slice(p), total, scan);
        return;
      }
      const msg = p === 0 && total === text.length ? text : text.slice(p, p + total);
      p += total;
      if (!scan.parseable) this.screen.malformed(msg, this.peer, 'a line that does not parse');
      else this.screen.deliver(msg, scan, this.peer, null);
    }
  }

  /** Stops reading: ends the connection after what was written, destroys it a little later. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    this.pendingSize = 0;
    this.screen.host.stats.tcpConnectionsDropped++;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }
}

function firstLine(text: string): string {
  const s = text.slice(0, 120);
  const nl = s.search(/\r|\n/);
  return (nl >= 0 ? s.slice(0, nl) : s).replace(/[^\x20-\x7e]/g, '?').slice(0, 80);
}
