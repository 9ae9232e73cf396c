/**
 * A stand-in for drachtio-server's admin port, speaking its wire protocol over real TCP, so the real drachtio-srf
 * package and our boundary (`src/sip/drachtio/drachtio-srf.ts`) can be tested without a drachtio-server (none is
 * installable here). The protocol as drachtio-srf 5.0.x (`lib/wire-protocol.js`, `lib/drachtio-agent.js`) and
 * drachtio-server (`src/client.cpp`) speak it:
 * - framing `LENGTH#PAYLOAD`, payload `MSGID|VERB|...`;
 * - `authenticate|SECRET|TAGS` -> `UUID|response|MSGID|OK|HOSTPORT|VERSION` (or `NO|incorrect secret`, and the
 *   connection is closed); `route|METHOD` -> OK;
 * - a SIP request from the network: `UUID|sip|network|LEN|PROTO|ADDR|PORT|TIME|TXNID|DIALOGID|` CRLF raw message;
 * - the application's SIP message: `MSGID|sip|TXNID|DIALOGID` CRLF raw message, answered
 *   `UUID|response|MSGID|OK|application|LEN|PROTO|ADDR|PORT|TIME|TXNID|DIALOGID` CRLF the message as sent.
 * The test plays the SIP side: it delivers requests and answers what the application sends. Only as much SIP as the
 * echo needs is added (a To tag and a Contact on 2xx to INVITE/SUBSCRIBE; From/Call-ID/CSeq on requests).
 */
import { randomUUID } from 'node:crypto';
import * as net from 'node:net';

/** A message the application sent. */
export interface AppMessage {
  msgId: string;
  verb: string;
  /** The `|`-separated tokens after the verb. */
  args: string[];
  /** For `sip`: the raw SIP message. */
  sip: string;
}

/** drachtio-server's message ids are UUIDs. */
const uuid = () => randomUUID();

/** A parsed SIP message (enough for assertions). */
export interface ParsedSip {
  startLine: string;
  status?: number;
  method?: string;
  uri?: string;
  /** Lower-case names; repeats joined with `,`. */
  headers: Record<string, string>;
  body: string;
}

/** Parses a raw SIP message (headers, body after the blank line). */
export function parseSip(raw: string): ParsedSip {
  const end = raw.indexOf('\r\n\r\n');
  const head = end >= 0 ? raw.slice(0, end) : raw;
  const body = end >= 0 ? raw.slice(end + 4) : '';
  const [startLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const c = line.indexOf(':');
    if (c <= 0) continue;
    const n = line.slice(0, c).trim().toLowerCase();
    const v = line.slice(c + 1).trim();
    headers[n] = headers[n] ? `${headers[n]},${v}` : v;
  }
  const st = /^SIP\/2\.0 (\d{3})/.exec(startLine);
  const rq = /^(\S+) (\S+) SIP\/2\.0/.exec(startLine);
  return { startLine, status: st ? Number(st[1]) : undefined, method: rq?.[1], uri: rq?.[2], headers, body };
}

/** Builds a SIP message with Content-Length. */
export function sipMessage(startLine: string, headers: Array<[string, string]>, body = ''): string {
  const lines = [startLine, ...headers.map(([n, v]) => `${n}: ${v}`), `Content-Length: ${Buffer.byteLength(body, 'utf8')}`];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

export class FakeDrachtioServer {
  /** Every connection accepted. */
  connections = 0;
  /** The secrets presented (the test compares them with the configured one). */
  readonly secrets: string[] = [];
  /** Routes registered (`invite`, `subscribe`). */
  readonly routes: string[] = [];
  private client: net.Socket | null = null;
  private readonly sockets = new Set<net.Socket>();
  private readonly inbox: AppMessage[] = [];
  private waiters: Array<{ pred: (m: AppMessage) => boolean; resolve: (m: AppMessage) => void }> = [];
  private txn = 0;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly opts: { secret: string; hostport: string },
  ) {}

  /** Listens on 127.0.0.1, a free port. */
  static async start(opts: { secret: string; hostport?: string }): Promise<FakeDrachtioServer> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const fake = new FakeDrachtioServer(server, port, { secret: opts.secret, hostport: opts.hostport ?? 'udp/127.0.0.1:5060,tcp/127.0.0.1:5060' });
    server.on('connection', (s) => fake.onConnection(s));
    return fake;
  }

  /** Closes the admin connection from the server side (drachtio-srf reconnects). */
  dropClient(): void {
    this.client?.destroy();
    this.client = null;
  }

  /** True while an application is connected. */
  get hasClient(): boolean {
    return !!this.client && !this.client.destroyed;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next message from the application matching `pred`. */
  next(pred: (m: AppMessage) => boolean, timeoutMs = 3000, what = 'message from the application'): Promise<AppMessage> {
    const i = this.inbox.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (m: AppMessage) => {
          clearTimeout(t);
          resolve(m);
        },
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** The next SIP message the application sent whose start line matches `re`. */
  nextSip(re: RegExp, timeoutMs = 3000): Promise<AppMessage & { parsed: ParsedSip }> {
    return this.next((m) => m.verb === 'sip' && re.test(m.sip.split('\r\n')[0]), timeoutMs, `SIP message ${re}`).then((m) => ({ ...m, parsed: parseSip(m.sip) }));
  }

  /**
   * Delivers a SIP request from the network.
   * @returns the transaction id it carries (the application's response names it)
   */
  deliver(raw: string, opts: { address?: string; port?: number; protocol?: string; dialogId?: string } = {}): string {
    const txnId = `txn-${++this.txn}`;
    this.write(this.sipPayload(raw, txnId, opts));
    return txnId;
  }

  /** The bytes `deliver` would write for `raw` (`LENGTH#payload`), for a test that writes them in pieces. */
  sipFrame(raw: string, opts: { dialogId?: string } = {}): string {
    const payload = this.sipPayload(raw, `txn-${++this.txn}`, opts);
    return `${Buffer.byteLength(payload, 'utf8')}#${payload}`;
  }

  /** Writes bytes on the admin connection as they are, framed or not. */
  writeRaw(bytes: string): void {
    if (!this.client) throw new Error('no application is connected');
    this.client.write(bytes);
  }

  private sipPayload(raw: string, txnId: string, opts: { address?: string; port?: number; protocol?: string; dialogId?: string }): string {
    const meta = ['network', String(Buffer.byteLength(raw)), opts.protocol ?? 'udp', opts.address ?? '127.0.0.1', String(opts.port ?? 5062), '12:00:00.000', txnId, opts.dialogId ?? ''];
    return `${uuid()}|sip|${meta.join('|')}|\r\n${raw}`;
  }

  /**
   * Confirms an application's SIP message as sent (the `response|MSGID|OK|...` echo), with the message as sent
   * (a To tag and Contact added to a 2xx to INVITE/SUBSCRIBE).
   * @returns the transaction id of a new request (responses to it must carry it)
   */
  confirm(m: AppMessage, opts: { dialogId?: string; toTag?: string } = {}): string {
    const txnId = m.args[0] || `txn-${++this.txn}`;
    let sent = m.sip;
    const p = parseSip(sent);
    if (p.status !== undefined && p.status >= 200 && p.status < 300 && /INVITE|SUBSCRIBE/.test(p.headers.cseq ?? '')) {
      const tag = opts.toTag ?? 'srvtag';
      sent = sent.replace(/^(To:[^\r\n]*?)(\r\n)/im, (_all, to: string, crlf: string) => (/;\s*tag=/.test(to) ? to : `${to};tag=${tag}`) + crlf);
      if (!p.headers.contact) sent = sent.replace('\r\n', '\r\nContact: <sip:127.0.0.1:5060>\r\n');
    }
    if (p.method) {
      const extra: string[] = [];
      if (!p.headers.from) extra.push('From: <sip:127.0.0.1:5060>;tag=apptag');
      if (!p.headers['call-id']) extra.push(`Call-ID: ${uuid()}`);
      if (!p.headers.cseq) extra.push(`CSeq: 1 ${p.method}`);
      if (!p.headers.via) extra.push('Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK' + uuid());
      if (extra.length) sent = sent.replace('\r\n', `\r\n${extra.join('\r\n')}\r\n`);
    }
    const dialogId = opts.dialogId ?? m.args[1] ?? '';
    this.write(`${uuid()}|response|${m.msgId}|OK|application|${Buffer.byteLength(sent)}|udp|127.0.0.1|5060|12:00:00.000|${txnId}|${dialogId}\r\n${sent}`);
    return txnId;
  }

  /** Refuses an application's message (drachtio-server's NOK, e.g. no transport for the URI). */
  refuse(m: AppMessage, reason: string): void {
    this.write(`${uuid()}|response|${m.msgId}|NOK|${reason}`);
  }

  /** A response from the network to the application's request (transaction `txnId`). */
  respond(txnId: string, raw: string, dialogId = ''): void {
    const meta = ['network', String(Buffer.byteLength(raw)), 'udp', '10.0.0.9', '5070', '12:00:00.000', txnId, dialogId];
    this.write(`${uuid()}|sip|${meta.join('|')}|\r\n${raw}`);
  }

  private write(payload: string): void {
    if (!this.client) throw new Error('no application is connected');
    this.client.write(`${Buffer.byteLength(payload, 'utf8')}#${payload}`);
  }

  private onConnection(socket: net.Socket): void {
    this.connections++;
    this.sockets.add(socket);
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (this.client === socket) this.client = null;
    });
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const hash = buf.indexOf('#');
        if (hash <= 0) return;
        const len = Number(buf.subarray(0, hash).toString('utf8'));
        if (buf.length < hash + 1 + len) return;
        const payload = buf.subarray(hash + 1, hash + 1 + len).toString('utf8');
        buf = buf.subarray(hash + 1 + len);
        this.onPayload(socket, payload);
      }
    });
  }

  private onPayload(socket: net.Socket, payload: string): void {
    const crlf = payload.indexOf('\r\n');
    const leader = crlf >= 0 ? payload.slice(0, crlf) : payload;
    const [msgId, verb, ...args] = leader.split('|');
    const reply = (text: string) => {
      const out = `${uuid()}|response|${msgId}|${text}`;
      socket.write(`${Buffer.byteLength(out, 'utf8')}#${out}`);
    };
    if (verb === 'authenticate') {
      this.secrets.push(args[0]);
      if (args[0] === this.opts.secret) {
        this.client = socket;
        reply(`OK|${this.opts.hostport}|v0.9.3`);
      } else {
        reply('NO|incorrect secret');
        setTimeout(() => socket.destroy(), 10);
      }
      return;
    }
    if (verb === 'route') {
      this.routes.push(args[0]);
      reply('OK');
      return;
    }
    if (verb === 'ping') {
      reply('OK');
      return;
    }
    const m: AppMessage = { msgId, verb, args, sip: crlf >= 0 ? payload.slice(crlf + 2) : '' };
    const i = this.waiters.findIndex((w) => w.pred(m));
    if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m);
    else this.inbox.push(m);
  }
}
