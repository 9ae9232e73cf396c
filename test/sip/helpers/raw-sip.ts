/**
 * A raw SIP peer for tests: real UDP and TCP sockets on 127.0.0.x, hand-written messages, and a tiny parser of its
 * own (tests must not use the `sip` package, which only src/sip/embedded/ may import). Every wait is bounded.
 */
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { sipMessage } from '../../../bench/sip-fuzz';

/** A received SIP message. */
export interface RawMessage {
  startLine: string;
  status?: number;
  method?: string;
  /** Lower-case long header names -> values in order. */
  headers: Map<string, string[]>;
  body: string;
  raw: string;
  /** performance.now() at arrival. */
  at: number;
}

const COMPACT: Record<string, string> = { v: 'via', f: 'from', t: 'to', i: 'call-id', m: 'contact', l: 'content-length', c: 'content-type' };

/**
 * Reads SIP messages from a TCP stream (framed by Content-Length, or its compact form `l`), calling `onMessage` for
 * each whole one; at most 100 per chunk (bounded).
 */
export function onTcpMessages(socket: { setEncoding(e: 'latin1'): unknown; on(event: 'data', l: (chunk: string) => void): unknown }, onMessage: (m: RawMessage) => void): void {
  let buf = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    buf += chunk;
    for (let n = 0; n < 100; n++) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const cl = /\r\n(?:content-length|l)\s*:\s*(\d+)/i.exec(buf.slice(0, end + 2));
      const total = end + 4 + (cl ? Number(cl[1]) : 0);
      if (buf.length < total) return;
      const m = parseMessage(buf.slice(0, total));
      buf = buf.slice(total);
      onMessage(m);
    }
  });
}

/** Parses one message (headers and body split at the first blank line). */
export function parseMessage(raw: string, at = performance.now()): RawMessage {
  const end = raw.indexOf('\r\n\r\n');
  const head = end >= 0 ? raw.slice(0, end) : raw;
  const body = end >= 0 ? raw.slice(end + 4) : '';
  const lines = head.replace(/\r\n[ \t]+/g, ' ').split('\r\n');
  const startLine = lines[0];
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    let name = line.slice(0, colon).trim().toLowerCase();
    name = COMPACT[name] ?? name;
    const values = headers.get(name) ?? [];
    // Via, Route, Record-Route may be comma-joined on one line.
    if (name === 'via' || name === 'route' || name === 'record-route') values.push(...line.slice(colon + 1).split(/,(?![^<]*>)/).map((s) => s.trim()));
    else values.push(line.slice(colon + 1).trim());
    headers.set(name, values);
  }
  const m = /^SIP\/2\.0 (\d{3})/.exec(startLine);
  const msg: RawMessage = { startLine, headers, body, raw, at };
  if (m) msg.status = Number(m[1]);
  else msg.method = startLine.split(' ')[0];
  return msg;
}

/** First value of a header, or ''. */
export function h(m: RawMessage, name: string): string {
  return m.headers.get(name.toLowerCase())?.[0] ?? '';
}

/** The `tag` parameter of a To/From value. */
export function tagOf(value: string): string | undefined {
  return /;\s*tag=([^;>\s]+)/i.exec(value.replace(/<[^>]*>/, ''))?.[1];
}

type Waiter = { pred: (m: RawMessage) => boolean; resolve: (m: RawMessage) => void };

/** Common inbox: messages wait until a test asks for them. */
abstract class Peer {
  readonly inbox: RawMessage[] = [];
  readonly all: RawMessage[] = [];
  private waiters: Waiter[] = [];

  protected deliver(m: RawMessage): void {
    this.all.push(m);
    const i = this.waiters.findIndex((w) => w.pred(m));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w.resolve(m);
    } else this.inbox.push(m);
  }

  /** The first queued or next arriving message matching `pred`; rejects after `timeoutMs`. */
  expect(pred: (m: RawMessage) => boolean, timeoutMs = 3000, what = 'message'): Promise<RawMessage> {
    const i = this.inbox.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]);
    return new Promise<RawMessage>((resolve, reject) => {
      const w: Waiter = {
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no ${what} within ${timeoutMs} ms; got: ${this.all.map((m) => m.startLine).join(' | ')}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Resolves with the matching messages that arrive within `ms` (for "nothing more comes" checks). */
  async collect(pred: (m: RawMessage) => boolean, ms: number): Promise<RawMessage[]> {
    await new Promise((r) => setTimeout(r, ms));
    const out = this.inbox.filter(pred);
    for (const m of out) this.inbox.splice(this.inbox.indexOf(m), 1);
    return out;
  }

  abstract readonly transport: 'UDP' | 'TCP';
  abstract readonly address: string;
  abstract readonly port: number;
  abstract send(text: string | Buffer): void;
  abstract close(): Promise<void>;
}

/** A UDP peer bound to `address` (127.0.0.1 or 127.0.0.2) on a free port. */
export class UdpPeer extends Peer {
  readonly transport = 'UDP' as const;
  private constructor(
    private readonly socket: dgram.Socket,
    readonly address: string,
    readonly port: number,
    private readonly target: { address: string; port: number },
  ) {
    super();
    socket.on('message', (data) => this.deliver(parseMessage(data.toString('latin1'))));
  }

  static async open(target: { address: string; port: number }, address = '127.0.0.1'): Promise<UdpPeer> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => resolve());
    });
    return new UdpPeer(socket, address, socket.address().port, target);
  }

  send(text: string | Buffer): void {
    const buf = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
    this.socket.send(buf, this.target.port, this.target.address);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** A TCP peer: one connection to the server, messages framed by Content-Length. */
export class TcpPeer extends Peer {
  readonly transport = 'TCP' as const;
  private buffer = '';
  closed = false;
  private constructor(
    readonly socket: net.Socket,
    readonly address: string,
    readonly port: number,
  ) {
    super();
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static async open(target: { address: string; port: number }, address = '127.0.0.1'): Promise<TcpPeer> {
    const socket = net.connect({ host: target.address, port: target.port, localAddress: address });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('connect', () => resolve());
    });
    return new TcpPeer(socket, address, socket.localPort!);
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    for (let guard = 0; guard < 1000; guard++) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const cl = /\r\n(?:content-length|l)\s*:\s*(\d+)/i.exec(this.buffer.slice(0, end + 2));
      const len = cl ? Number(cl[1]) : 0;
      if (this.buffer.length < end + 4 + len) return;
      const raw = this.buffer.slice(0, end + 4 + len);
      this.buffer = this.buffer.slice(end + 4 + len);
      this.deliver(parseMessage(raw));
    }
  }

  send(text: string | Buffer): void {
    this.socket.write(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  }

  /** Resolves when the server closes the connection, rejects after `timeoutMs`. */
  waitClosed(timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.destroy();
    });
  }
}

export function randomToken(bytes = 6): string {
  return randomBytes(bytes).toString('hex');
}

/** A SIP message: start line, headers (a Content-Length is added unless given), body (shared with the fuzzers). */
export const message = sipMessage;

/**
 * One call from a raw peer: keeps Call-ID, tags, branch and CSeq so the test writes only what it is about.
 */
export class RawCall {
  readonly callId = `${randomToken(8)}@test`;
  readonly fromTag = randomToken(4);
  readonly inviteBranch = `z9hG4bK${randomToken(6)}`;
  toTag: string | undefined;
  cseq = 1;

  constructor(
    readonly peer: Peer,
    readonly server: { address: string; port: number },
    readonly user: string,
  ) {}

  get requestUri(): string {
    return `sip:${this.user}@${this.server.address}:${this.server.port}`;
  }

  via(branch: string): string {
    return `SIP/2.0/${this.peer.transport} ${this.peer.address}:${this.peer.port};branch=${branch};rport`;
  }

  get from(): string {
    return `"Test" <sip:4255550101@${this.peer.address}:${this.peer.port}>;tag=${this.fromTag}`;
  }

  get to(): string {
    return `<sip:${this.user}@${this.server.address}:${this.server.port}>${this.toTag ? `;tag=${this.toTag}` : ''}`;
  }

  get contact(): string {
    return `<sip:caller@${this.peer.address}:${this.peer.port}${this.peer.transport === 'TCP' ? ';transport=tcp' : ''}>`;
  }

  invite(sdp: string | null, extra: Array<[string, string]> = []): string {
    return message(
      `INVITE ${this.requestUri} SIP/2.0`,
      [
        ['Via', this.via(this.inviteBranch)],
        ['Max-Forwards', '70'],
        ['From', this.from],
        ['To', this.to.replace(/;tag=.*$/, '')],
        ['Call-ID', this.callId],
        ['CSeq', `1 INVITE`],
        ['Contact', this.contact],
        ...extra,
        ...(sdp ? ([['Content-Type', 'application/sdp']] as Array<[string, string]>) : []),
      ],
      sdp ?? '',
    );
  }

  /** ACK for a 2xx (new branch, RFC 3261 §13.2.2.4) or for a non-2xx (the INVITE's branch, §17.1.1.3). */
  /** The ACK of a final response; `sdp` (a 2xx only) is the answer to an offer the 2xx carried (late offer). */
  ack(forNon2xx = false, cseq = 1, sdp?: string): string {
    const headers: Array<[string, string]> = [
      ['Via', this.via(forNon2xx ? this.inviteBranch : `z9hG4bK${randomToken(6)}`)],
      ['Max-Forwards', '70'],
      ['From', this.from],
      ['To', this.to],
      ['Call-ID', this.callId],
      ['CSeq', `${cseq} ACK`],
    ];
    if (sdp) headers.push(['Content-Type', 'application/sdp']);
    return message(`ACK ${this.requestUri} SIP/2.0`, headers, sdp);
  }

  cancel(): string {
    return message(`CANCEL ${this.requestUri} SIP/2.0`, [
      ['Via', this.via(this.inviteBranch)],
      ['Max-Forwards', '70'],
      ['From', this.from],
      ['To', this.to.replace(/;tag=.*$/, '')],
      ['Call-ID', this.callId],
      ['CSeq', '1 CANCEL'],
    ]);
  }

  /** An in-dialog request with the next CSeq. */
  inDialog(method: string, body = '', extra: Array<[string, string]> = []): string {
    this.cseq++;
    return message(
      `${method} ${this.requestUri} SIP/2.0`,
      [
        ['Via', this.via(`z9hG4bK${randomToken(6)}`)],
        ['Max-Forwards', '70'],
        ['From', this.from],
        ['To', this.to],
        ['Call-ID', this.callId],
        ['CSeq', `${this.cseq} ${method}`],
        ...extra,
      ],
      body,
    );
  }

  /** Learns our To tag from a response. */
  learn(rs: RawMessage): void {
    this.toTag = tagOf(h(rs, 'to'));
  }
}

/** 200 OK (or `status`) to a request the server sent us, echoing its Via/From/To/Call-ID/CSeq. */
export function answer(rq: RawMessage, status = 200, reason = 'OK'): string {
  return message(`SIP/2.0 ${status} ${reason}`, [
    ...(rq.headers.get('via') ?? []).map((v) => ['Via', v] as [string, string]),
    ['From', h(rq, 'from')],
    ['To', h(rq, 'to')],
    ['Call-ID', h(rq, 'call-id')],
    ['CSeq', h(rq, 'cseq')],
  ]);
}

/** Predicates. */
export const isStatus = (status: number, method?: string) => (m: RawMessage) =>
  m.status === status && (!method || h(m, 'cseq').endsWith(` ${method}`));
export const isRequest = (method: string) => (m: RawMessage) => m.method === method;
