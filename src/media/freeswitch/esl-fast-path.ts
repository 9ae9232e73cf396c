/**
 * Three shortcuts in drachtio-modesl 1.3.1 (the event-socket client under drachtio-fsmrf 4.1.2: `lib/esl/Parser.js`,
 * `Connection.js`, `Event.js`), with the same results, where our process spent most of its CPU per FreeSWITCH call
 * (issue 18, "CPU of our process per concurrent call"; measured with `perf` and counted in bench:freeswitch's hold
 * phase, December 2026):
 * - A JSON event (`text/event-json`: every event drachtio-fsmrf subscribes to) becomes an `Event` in one pass over
 *   its fields. drachtio-modesl's `Event` constructor adds each field with `addHeader`, which first searches the
 *   fields already added, so building an event is quadratic in its fields: a CHANNEL_EXECUTE_COMPLETE, the event
 *   that ends each prompt, carries every channel variable (~150 fields, 6 KB: FreeSWITCH sends it verbose whatever
 *   `verbose_events` says) and took 13 µs of the 36 its parsing cost in a loop, several times that in a process
 *   where it runs a few times a second. The fields of a parsed JSON object are already distinct, so the search
 *   could never find one.
 * - The end of an event's envelope is found with `Buffer#indexOf` rather than a loop over its bytes in JavaScript.
 * - A command (`sendmsg` with its headers, `api`, `nixevent`) is written to the socket in one `write`, not one per
 *   line: each prompt's `sendmsg ... execute playback` was seven system calls.
 * - On a call's own (outbound) connection, `execute` waits for its CHANNEL_EXECUTE_COMPLETE through one listener
 *   and a map of the executions in flight, rather than adding and removing an EventEmitter2 wildcard listener for
 *   each (the removal walks the connection's whole listener tree, ~8 KB allocated per prompt; about a tenth of the
 *   JavaScript time sampled per call in a profile of 200 calls, December 2026).
 * Anything else (plain and XML events, a body that is not JSON, replies) still goes through drachtio-modesl's own
 * code. Applied once by `loadMrf` (`fsmrf-types.ts`), like `esl-reconnect-guard.ts`; worth offering upstream.
 */

import { randomUUID } from 'node:crypto';

/** drachtio-modesl's `Event`, as far as the fast path builds one. */
interface EslEventLike {
  headers: { name: string; value: unknown }[];
  type: unknown;
  subclass: unknown;
  body: unknown;
  getHeader(name: string): unknown;
  addHeader(name: string, value: unknown): unknown;
}

/** drachtio-modesl's `Parser`, as far as the fast path replaces it. */
interface EslParserLike {
  buffer: Buffer;
  _indexOfHeaderEnd(): number;
  _parseEvent(headers: Record<string, unknown>, body?: string): void;
  emit(event: string, ...args: unknown[]): unknown;
}

/** drachtio-modesl's `Connection`, as far as the fast path replaces it. */
interface EslConnectionLike {
  socket: { write(data: string): unknown };
  execAsync?: boolean;
  execLock?: boolean;
  send(command: string, args?: Record<string, unknown>): void;
  emit(event: string, ...args: unknown[]): unknown;
  on(event: string, listener: (evt: EslEventLike) => void): unknown;
  _doExec(uuid: string, cmd: string, args: Record<string, unknown>, cb: (evt: EslEventLike) => void): string;
}

/** The classes drachtio-modesl exports (`require('drachtio-modesl')`). */
export interface ModeslClasses {
  Event: new () => EslEventLike;
  Parser: { prototype: EslParserLike };
  Connection: { prototype: EslConnectionLike };
}

const APPLIED = Symbol.for('voice-access.esl-fast-path');
/** A connection's executions in flight: channel uuid -> (Event-UUID -> callback). */
const EXECUTIONS = Symbol('voice-access.esl-executions');

/**
 * Replaces drachtio-modesl's `Parser#_indexOfHeaderEnd`, `Parser#_parseEvent` (JSON events only),
 * `Connection#_doExec` (outbound connections only) and `Connection#send` once (idempotent; see the module comment).
 * Events and bytes on the wire are the same as before.
 * @param modesl the drachtio-modesl that drachtio-fsmrf loads (`fsmrfModesl()`)
 */
export function applyEslFastPath(modesl: ModeslClasses): void {
  const parser = modesl.Parser.prototype as EslParserLike & { [APPLIED]?: boolean };
  if (parser[APPLIED]) return;
  const Event = modesl.Event;
  const parseEventSlowly = parser._parseEvent;

  parser._indexOfHeaderEnd = function indexOfHeaderEnd(this: EslParserLike): number {
    return this.buffer.indexOf('\n\n');
  };

  parser._parseEvent = function parseEvent(this: EslParserLike, headers: Record<string, unknown>, body?: string): void {
    if (headers['Content-Type'] !== 'text/event-json' || body === undefined) return parseEventSlowly.call(this, headers, body);
    let data: unknown;
    try {
      data = JSON.parse(body);
    } catch {
      return parseEventSlowly.call(this, headers, body); // emits the parse error, as before
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return parseEventSlowly.call(this, headers, body);
    const fields = data as Record<string, unknown>;
    if (fields['Content-Length']) fields['Content-Length'] = parseInt(String(fields['Content-Length']), 10);
    // What `new Event(fields)` makes, without its search of the fields added so far.
    const event = new Event();
    event.type = fields['Event-Name'];
    event.subclass = fields['Event-Subclass'];
    event.body = fields._body || '';
    for (const name of Object.keys(fields)) if (name !== '_body') event.headers.push({ name, value: fields[name] });
    // drachtio-modesl's massaging of a reply, unchanged.
    const reply = event.getHeader('Reply-Text');
    if (typeof reply === 'string' && reply) {
      if (reply.indexOf('-ERR') === 0) event.addHeader('Modesl-Reply-ERR', reply.substring(5));
      else if (reply.indexOf('+OK') === 0) event.addHeader('Modesl-Reply-OK', reply.substring(4));
    }
    this.emit('esl::event', event, headers, body);
  };

  const doExecSlowly = modesl.Connection.prototype._doExec;
  modesl.Connection.prototype._doExec = function doExec(this: EslConnectionLike & { _inbound?: boolean; [EXECUTIONS]?: Map<string, Map<unknown, (evt: EslEventLike) => void>> }, uuid, cmd, args, cb) {
    // An inbound connection may execute on any number of channels: a listener kept per channel would outlive them.
    if (this._inbound) return doExecSlowly.call(this, uuid, cmd, args, cb);
    // drachtio-modesl's own headers, in its order (the bytes sent are the same).
    args['call-command'] = cmd;
    if (this.execAsync) args.async = true;
    if (this.execLock) args['event-lock'] = true;
    const eventUuid = randomUUID();
    args['Event-UUID'] = eventUuid;
    const byChannel = (this[EXECUTIONS] ??= new Map());
    let waiting = byChannel.get(uuid);
    if (!waiting) {
      const inFlight = new Map<unknown, (evt: EslEventLike) => void>();
      byChannel.set(uuid, inFlight);
      this.on(`esl::event::CHANNEL_EXECUTE_COMPLETE::${uuid}`, (evt) => {
        const id = evt.getHeader('Application-UUID') || evt.getHeader('Event-UUID');
        const done = inFlight.get(id);
        if (!done) return;
        inFlight.delete(id);
        done(evt);
      });
      waiting = inFlight;
    }
    waiting.set(eventUuid, cb);
    this.send(`sendmsg ${uuid}`, args);
    return eventUuid;
  };

  modesl.Connection.prototype.send = function send(this: EslConnectionLike, command: string, args?: Record<string, unknown>): void {
    let text = `${command}\n`;
    if (args) for (const key of Object.keys(args)) text += `${key}: ${String(args[key])}\n`;
    try {
      this.socket.write(`${text}\n`);
    } catch (e) {
      this.emit('error', e);
    }
  };

  parser[APPLIED] = true;
}

/**
 * The drachtio-modesl that drachtio-fsmrf loads (resolved from drachtio-fsmrf's folder, so the changes reach the copy
 * it uses even if another version sits elsewhere in node_modules).
 */
export function fsmrfModesl(): ModeslClasses {
  const from = require.resolve('drachtio-fsmrf');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(require.resolve('drachtio-modesl', { paths: [from] })) as ModeslClasses;
}
