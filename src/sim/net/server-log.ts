/**
 * Call results over the network. A caller cannot tell from SIP and RTP alone how the IVR classed its call
 * (`signed-out`, `too-many-logon-failures`, `message-left`, ...): that is the server's CallRecord. `serve` logs it,
 * one JSON line per call (pino): `{"callId":"<SIP Call-ID>","flow":"sign-in","result":"signed-out","msg":"call ended"}`.
 * The network simulator reads those lines, from the server's log file (`simulate --server-log FILE`) or, in tests,
 * from the log stream of a server started in-process, and matches them to its calls by Call-ID.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/** The server's record of one call. */
export interface ServerCallResult {
  flow: string;
  result: string;
}

/** Where call results come from. */
export interface CallResultSource {
  /** The result of the call with this SIP Call-ID once the server logged its end; undefined until then. */
  resultOf(callId: string): ServerCallResult | undefined;
  /** What it reads, for messages (e.g. the log file's path). */
  readonly description: string;
}

/**
 * Results from pino JSON log lines. Also a pino destination: pass it (or tee to it) as the server logger's stream.
 */
export class ServerLogResults implements CallResultSource {
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');
  private readonly results = new Map<string, ServerCallResult>();

  constructor(readonly description = 'the server log') {}

  /** Feeds log text; a line cut at the end of a chunk waits for the rest. Lines that are not JSON are ignored. */
  write(chunk: string | Buffer): void {
    const text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  resultOf(callId: string): ServerCallResult | undefined {
    return this.results.get(callId);
  }

  private line(line: string): void {
    if (!line.includes('call ended')) return;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      return;
    }
    const r = rec as { msg?: unknown; callId?: unknown; flow?: unknown; result?: unknown };
    if (r.msg !== 'call ended' || typeof r.callId !== 'string' || typeof r.result !== 'string') return;
    this.results.set(r.callId, { flow: typeof r.flow === 'string' ? r.flow : 'unknown', result: r.result });
  }
}

/** Results from a log file the server is writing (`voice-access serve > server.log`): new lines are read on demand. */
export class ServerLogFile implements CallResultSource {
  private readonly parsed: ServerLogResults;
  private offset = 0;

  constructor(readonly file: string) {
    this.parsed = new ServerLogResults(`the server log ${file}`);
  }

  get description(): string {
    return this.parsed.description;
  }

  /** Reads what was appended since the last call (from the start again when the file shrank: a new log). */
  refresh(): void {
    let fd: number;
    try {
      const size = statSync(this.file).size;
      if (size < this.offset) this.offset = 0;
      if (size === this.offset) return;
      fd = openSync(this.file, 'r');
    } catch {
      return;
    }
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (let guard = 0; guard < 1_000_000; guard++) {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        this.parsed.write(buf.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
  }

  resultOf(callId: string): ServerCallResult | undefined {
    this.refresh();
    return this.parsed.resultOf(callId);
  }
}
