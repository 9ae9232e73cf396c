/**
 * A tap on the SIP client's sockets: every SIP message as it was sent or received on the wire (the bytes, the real
 * local and remote addresses and ports, the time), for a capture of a call (`simulate --pcap DIR`, issue 22). Over
 * UDP a message is a datagram; over TCP the byte stream is cut into messages (the header block up to its blank line,
 * then `Content-Length` bytes of body), each direction of each connection on its own. Nothing here parses more than
 * that: routing messages to calls (by Call-ID) is the tap's owner's business.
 */
import type { RemoteInfo } from 'node:dgram';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/** An address and port. */
export interface WireEndpoint {
  address: string;
  port: number;
}

/** One SIP message on the wire. */
export interface SipWireMessage {
  dir: 'sent' | 'received';
  transport: 'udp' | 'tcp';
  /** The message's bytes, as sent or received (a datagram; over TCP one message cut from the stream). */
  data: Buffer;
  /** Our end. */
  local: WireEndpoint;
  /** The other end. */
  remote: WireEndpoint;
  /** When it was sent or received, ms since the epoch (with microseconds: `performance.timeOrigin + now()`). */
  atMs: number;
}

/** Told each SIP message; must not throw (a throw is swallowed). */
export type SipWireTap = (m: SipWireMessage) => void;

/** The wall clock with sub-millisecond resolution, ms since the epoch. */
export const wireNow = (): number => performance.timeOrigin + performance.now();

/** Longest header block looked for in a TCP stream before the tap gives up on it (the package's own bound), bytes. */
const MAX_HEADER_BYTES = 60_480;

/**
 * The datagram and destination of a `dgram.Socket.send` call: `(msg, offset, length, port, address)` (what the `sip`
 * package uses) or `(msg, port, address)`.
 * @returns null when the arguments are in neither form
 */
export function udpSendArgs(args: readonly unknown[]): { data: Buffer; port: number; address: string } | null {
  const msg = args[0];
  const data = Buffer.isBuffer(msg) ? msg : typeof msg === 'string' ? Buffer.from(msg, 'latin1') : null;
  if (!data) return null;
  if (typeof args[1] === 'number' && typeof args[2] === 'number' && typeof args[3] === 'number') {
    return { data: data.subarray(args[1], args[1] + args[2]), port: args[3], address: String(args[4]) };
  }
  if (typeof args[1] === 'number' && typeof args[2] === 'string') return { data, port: args[1], address: args[2] };
  return null;
}

/** A received datagram as a wire message. */
export function udpReceived(data: Buffer, rinfo: RemoteInfo, local: WireEndpoint): SipWireMessage {
  return { dir: 'received', transport: 'udp', data, local, remote: { address: rinfo.address, port: rinfo.port }, atMs: wireNow() };
}

/**
 * Cuts a byte stream into SIP messages: `push` chunks as they come, `onMessage` is told each complete message. CRLF
 * keep-alives between messages are skipped. A header block longer than {@link MAX_HEADER_BYTES} ends the cutting
 * (the stream is not SIP, or no longer in step).
 */
export class SipStreamFramer {
  private buf: Buffer = Buffer.alloc(0);
  private broken = false;

  constructor(private readonly onMessage: (data: Buffer) => void) {}

  push(chunk: Buffer): void {
    if (this.broken) return;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    // Each pass takes one message off the front or stops: bounded by the bytes pushed.
    for (;;) {
      let start = 0;
      while (start < this.buf.length && (this.buf[start] === 0x0d || this.buf[start] === 0x0a)) start++;
      if (start > 0) this.buf = this.buf.subarray(start);
      const end = this.buf.indexOf('\r\n\r\n', 0, 'latin1');
      if (end < 0) {
        if (this.buf.length > MAX_HEADER_BYTES) {
          this.broken = true;
          this.buf = Buffer.alloc(0);
        }
        return;
      }
      const head = this.buf.toString('latin1', 0, end);
      const m = /(?:^|\r\n)(?:content-length|l)[ \t]*:[ \t]*(\d+)/i.exec(head);
      const total = end + 4 + (m ? Number(m[1]) : 0);
      if (this.buf.length < total) return;
      this.onMessage(Buffer.from(this.buf.subarray(0, total)));
      this.buf = this.buf.subarray(total);
      if (this.buf.length === 0) return;
    }
  }
}

const chunkBytes = (chunk: unknown): Buffer | null =>
  Buffer.isBuffer(chunk) ? chunk : typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk instanceof Uint8Array ? Buffer.from(chunk) : null;

/**
 * Taps a TCP connection of the SIP stack: what it writes (its `write` wrapped) and what it receives (a `data` listener
 * put before the stack's). Messages written while the connection is still being opened are told once it is open
 * (their local port is known only then), with the time they were written. `tap()` is asked for each message; null
 * tells nothing (the cutting goes on, so a tap set later stays in step).
 */
export function tapSipStream(socket: Socket, tap: () => SipWireTap | null): void {
  const marked = socket as Socket & { sipWireTapped?: boolean };
  if (marked.sipWireTapped) return;
  marked.sipWireTapped = true;
  const ends = () => ({
    local: { address: socket.localAddress ?? '', port: socket.localPort ?? 0 },
    remote: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
  });
  const tell = (dir: SipWireMessage['dir'], data: Buffer, atMs: number) => {
    const t = tap();
    if (!t) return;
    try {
      t({ dir, transport: 'tcp', data, ...ends(), atMs });
    } catch {
      // a tap never breaks the connection
    }
  };
  const pending: { data: Buffer; atMs: number }[] = [];
  const sent = new SipStreamFramer((data) => {
    if (socket.connecting) pending.push({ data, atMs: wireNow() });
    else tell('sent', data, wireNow());
  });
  socket.once('connect', () => {
    for (const p of pending.splice(0)) tell('sent', p.data, p.atMs);
  });
  const received = new SipStreamFramer((data) => tell('received', data, wireNow()));
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  (socket as unknown as { write: (...args: unknown[]) => boolean }).write = (...args: unknown[]) => {
    const data = chunkBytes(args[0]);
    if (data) sent.push(data);
    return write(...args);
  };
  socket.prependListener('data', (chunk: unknown) => {
    const data = chunkBytes(chunk);
    if (data) received.push(data);
  });
}
