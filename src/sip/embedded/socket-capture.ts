/**
 * The `sip` package creates its sockets inside `sip.create` and `send` and keeps them to itself: no error listener on
 * the UDP socket (an asynchronous send error would crash the process), no receive-buffer option, no way to close the
 * TCP connections it accepted or opened. These calls are synchronous, so for their duration we wrap the three
 * factories it uses (`dgram.createSocket`, `net.createServer`, `net.connect`) to record what they return, and restore
 * them before returning. JavaScript runs one call at a time, so no other code sees the wrapped factories.
 */
import type * as dgram from 'node:dgram';
import type * as net from 'node:net';

interface MutableDgram {
  createSocket: typeof dgram.createSocket;
}
interface MutableNet {
  createServer: typeof net.createServer;
  connect: typeof net.connect;
}

// The very module objects the package `require`s ('node:dgram' and 'dgram' are one object).
const dgramModule = require('node:dgram') as MutableDgram;
const netModule = require('node:net') as MutableNet;

/** What a captured call created. */
export interface CapturedSockets<T> {
  result: T;
  udp: dgram.Socket[];
  servers: net.Server[];
  clients: net.Socket[];
}

/**
 * Runs `fn` (synchronously) and returns the UDP sockets, TCP servers and outgoing TCP connections it created.
 * @throws whatever `fn` throws (the factories are restored first)
 */
export function captureSockets<T>(fn: () => T): CapturedSockets<T> {
  const udp: dgram.Socket[] = [];
  const servers: net.Server[] = [];
  const clients: net.Socket[] = [];
  const createSocket = dgramModule.createSocket;
  const createServer = netModule.createServer;
  const connect = netModule.connect;
  dgramModule.createSocket = function (this: unknown, ...args: unknown[]) {
    const s = (createSocket as (...a: unknown[]) => dgram.Socket).apply(this, args);
    udp.push(s);
    return s;
  } as typeof dgram.createSocket;
  netModule.createServer = function (this: unknown, ...args: unknown[]) {
    const s = (createServer as (...a: unknown[]) => net.Server).apply(this, args);
    servers.push(s);
    return s;
  } as typeof net.createServer;
  netModule.connect = function (this: unknown, ...args: unknown[]) {
    const s = (connect as (...a: unknown[]) => net.Socket).apply(this, args);
    clients.push(s);
    return s;
  } as typeof net.connect;
  try {
    const result = fn();
    return { result, udp, servers, clients };
  } finally {
    dgramModule.createSocket = createSocket;
    netModule.createServer = createServer;
    netModule.connect = connect;
  }
}

/**
 * The package writes to stdout with `console.log` in two places on TCP: "Flood attempt, destroying stream" (in its
 * data listener) and "err: ..." (in the per-request error listener, when a connection a transaction still holds
 * closes or fails). Those lines would land between the JSON log lines. This replaces each of `socket`'s listeners
 * for `event` that is not in `before` by a wrapper that runs it with `console.log` redirected to `sink`. The
 * wrapper's `listener` property names the original, so the package's own `removeListener(original)` still removes
 * it (Node's EventEmitter matches `.listener`, as it does for `once`).
 */
export function redirectConsoleInListeners(
  socket: NodeJS.EventEmitter,
  event: string,
  before: ReadonlySet<unknown>,
  sink: (line: string) => void,
): void {
  for (const l of socket.rawListeners(event)) {
    if (before.has(l) || (l as { consoleRedirected?: boolean }).consoleRedirected) continue;
    const original = l as (...args: unknown[]) => void;
    const wrapper = function (this: unknown, ...args: unknown[]) {
      const consoleLog = console.log;
      console.log = (...parts: unknown[]) => sink(parts.map((p) => (p instanceof Error ? p.message : String(p))).join(' '));
      try {
        original.apply(this, args);
      } finally {
        console.log = consoleLog;
      }
    };
    Object.assign(wrapper, { listener: original, consoleRedirected: true });
    socket.removeListener(event, original);
    socket.on(event, wrapper);
  }
}

/**
 * Runs `send` (a `stack.send` of the package) capturing the TCP connections it opens, and redirects the package's
 * console lines on every client connection in `clients`: those this send opened (added to `clients`, and removed
 * when they close) and those earlier sends opened. The package reuses a connection it is still opening to the same
 * address (a second BYE to one gateway before the first connect completed) and adds its per-request error listener,
 * which logs "err: ..." with console.log, to that older socket. Accepted connections are the caller's to handle.
 * @returns the connections this send opened
 * @throws whatever `send` throws
 */
export function sendRedirectingConsole(send: () => void, clients: Set<net.Socket>, sink: (line: string) => void): net.Socket[] {
  const captured = captureSockets(send);
  for (const s of captured.clients) {
    redirectConsoleInListeners(s, 'data', new Set(), sink);
    clients.add(s);
    s.once('close', () => clients.delete(s));
  }
  for (const s of clients) redirectConsoleInListeners(s, 'error', new Set(), sink);
  return captured.clients;
}
