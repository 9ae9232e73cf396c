/**
 * A guard on drachtio-srf's reading of the admin connection (`lib/wire-protocol.js`, 5.0.29), so that one message
 * that cannot be read is dropped and logged instead of ending the process.
 *
 * drachtio-server frames each message as `LENGTH#msgId|...` (LENGTH in bytes). Its `Client::send` (src/client.cpp,
 * v0.9.x) starts a `boost::asio::async_write` for every message without waiting for the previous one to complete,
 * which Asio forbids on one stream: when our process reads slowly (overload, TCP back-pressure) the writes are split
 * and their pieces interleave, and the next read starts in the middle of a message. drachtio-srf then throws
 * `invalid message, missing length specifier` from its socket's `data` listener in client mode; nothing can catch
 * it there, so the whole server (every call) ended. Seen in `bench:freeswitch` at 200 calls/s (December 2026).
 *
 * With the guard, an error thrown while a chunk is read (a broken frame, or a frame whose message drachtio-srf's
 * parser or a handler behind it could not take) drops the bytes up to the next frame header (`LENGTH#msgId|type|`
 * at the start of a line), reports the error as a `dropped-message` event on the wire protocol, and reads on.
 * The transactions of the lost message time out as any lost message's would; the other calls go on.
 */

/** What the guard needs of drachtio-srf's `WireProtocol` (an EventEmitter). */
interface WireProtocolLike {
  _onData(socket: unknown, msg: Buffer): void;
  mapIncomingMsg: Map<unknown, { incomingMsg: Buffer }>;
  emit(event: string, ...args: unknown[]): boolean;
  readonly isClient: boolean;
}

/** The event a guarded wire protocol emits with the `Error` of each message it dropped. */
export const DROPPED_MESSAGE_EVENT = 'dropped-message';

/** Most resynchronisations within one chunk before the rest of the buffer is dropped (a bound on the loop). */
const MAX_RESYNCS_PER_CHUNK = 64;

/**
 * A frame header: up to 9 length digits, `#`, a message id (drachtio-server's are UUIDs), `|`, the message type
 * (`sip`, `response`, `cdr:start`, ...) and `|`.
 */
const FRAME_HEADER = /\d{1,9}#[0-9A-Za-z-]{8,64}\|[a-z:]{1,16}\|/g;

/**
 * Where the next frame starts in `buf` at or after byte `from`, or -1. Headers are ASCII, so a `latin1` view keeps
 * byte offsets. A header is only taken at the start of the buffer or right after a line end (every message of
 * drachtio-server ends with CRLF), so digits inside a message body are not taken for a length.
 */
export function nextFrameStart(buf: Buffer, from: number): number {
  const text = buf.toString('latin1');
  FRAME_HEADER.lastIndex = from;
  for (let m = FRAME_HEADER.exec(text); m; m = FRAME_HEADER.exec(text)) {
    if (m.index === 0 || text.charCodeAt(m.index - 1) === 10 /* \n */) return m.index;
  }
  return -1;
}

const GUARDED = Symbol.for('voice-access.drachtio-wire-guard');

/**
 * Wraps `WireProtocol.prototype._onData` once (idempotent). Must run before `connect`: drachtio-srf binds the method
 * to each socket when it connects.
 * @param WireProtocol the class exported by `drachtio-srf/lib/wire-protocol.js`
 */
export function guardWireProtocol(WireProtocol: { prototype: WireProtocolLike }): void {
  const proto = WireProtocol.prototype as WireProtocolLike & { [GUARDED]?: boolean };
  if (proto[GUARDED]) return;
  const read = proto._onData;
  proto._onData = function guardedOnData(this: WireProtocolLike, socket: unknown, chunk: Buffer): void {
    let next: Buffer = chunk;
    for (let i = 0; i <= MAX_RESYNCS_PER_CHUNK; i++) {
      try {
        read.call(this, socket, next);
        return;
      } catch (err) {
        // In server mode drachtio-srf closes the socket itself and never throws; only client mode gets here.
        const state = this.mapIncomingMsg.get(socket);
        const error = err instanceof Error ? err : new Error(String(err));
        if (!state) {
          this.emit(DROPPED_MESSAGE_EVENT, error);
          return;
        }
        // The failed frame is still at the head of the buffer: skip to the next header after its first byte.
        const at = i < MAX_RESYNCS_PER_CHUNK ? nextFrameStart(state.incomingMsg, 1) : -1;
        state.incomingMsg = at < 0 ? Buffer.alloc(0) : state.incomingMsg.subarray(at);
        this.emit(DROPPED_MESSAGE_EVENT, error);
        if (at < 0) return;
        next = Buffer.alloc(0);
      }
    }
  };
  proto[GUARDED] = true;
}
