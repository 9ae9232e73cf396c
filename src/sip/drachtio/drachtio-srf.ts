/**
 * The boundary to the npm package drachtio-srf 5.0.x: the only module that loads it. It builds a {@link DrachtioSrf}
 * (our narrow typings, `srf-types.ts`) on a real `Srf` instance: the package is cast to those typings once, here,
 * and two gaps are filled:
 * - subscription dialogs answered with 200 OK (RFC 6665 §4.2.1.1) instead of the 202 that `Srf#createUAS` sends to
 *   a SUBSCRIBE, with every in-dialog SUBSCRIBE (refresh, and `Expires: 0`, which drachtio-srf would answer 202 on
 *   its own) handed to the application as a `subscribe` event;
 * - a `close()` that also stops the reconnect loop: `Srf#disconnect` throws while no connection is up, and the
 *   package's wire protocol would otherwise retry forever;
 * - a message on the admin connection that cannot be read is dropped and emitted as a `dropped-message` event on the
 *   `Srf` (an `Error`) instead of being thrown where nothing can catch it (`wire-guard.ts`).
 * Behaviour read from the 5.0.29 sources (`lib/srf.js`, `lib/dialog.js`, `lib/drachtio-agent.js`,
 * `lib/wire-protocol.js`).
 */
import { DROPPED_MESSAGE_EVENT, guardWireProtocol } from './wire-guard';
import type { DrachtioSrf, SrfConnectOptions, SrfDialog, SrfIncomingResponse, SrfRequest, SrfRequestHandler, SrfRequestOptions, SrfResponse } from './srf-types';

/** The parts of a real `Srf` instance used here, beyond {@link DrachtioSrf}'s. */
interface RealSrf {
  connect(opts: SrfConnectOptions): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
  emit(event: string, ...args: unknown[]): boolean;
  invite(handler: (req: SrfRequest, res: SrfResponse, next: () => void) => void): unknown;
  subscribe(handler: (req: SrfRequest, res: SrfResponse, next: () => void) => void): unknown;
  createUAS(
    req: SrfRequest,
    res: SrfResponse,
    opts: { localSdp: string; headers?: Record<string, string> },
    callback: (err: unknown, dialog: SrfDialog) => void,
  ): unknown;
  request(uri: string, opts: SrfRequestOptions, callback: (err: unknown, req: RealSentRequest) => void): unknown;
  addDialog(dialog: unknown): void;
  removeDialog(dialog: unknown): void;
  disconnect(): void;
  /** The connect-style app; `client` is the agent (`lib/drachtio-agent.js`) once `connect` was called. */
  readonly app: { client?: RealAgent };
}

/** drachtio-srf's `lib/drachtio-agent.js`: the fields `close()` and `routesConfirmed()` need. */
interface RealAgent {
  wp?: RealWireProtocol;
  /** One entry per admin connection; `pendingRequests` maps a message id to the handler of its response. */
  mapServer?: Map<unknown, { authenticated?: boolean; pendingRequests?: Map<string, () => void> }>;
}

/** A request drachtio-server confirmed as sent (`lib/request.js`): responses arrive as `response` events. */
interface RealSentRequest {
  on(event: 'response', listener: (res: SrfIncomingResponse) => void): unknown;
}

/** drachtio-srf's `lib/wire-protocol.js`, the fields `close()` and `routesConfirmed()` need. */
interface RealWireProtocol {
  /** Writes `msgId|msg` on the admin connection; returns the message id. */
  send?(socket: unknown, msg: string): string;
  closing?: boolean;
  socket?: { destroy(): void };
  on?(event: string, listener: (...args: any[]) => void): unknown;
  reconnectVars?: { retryTimer?: NodeJS.Timeout | null };
}

/** A drachtio-srf `Dialog` as constructed here (`new Srf.Dialog(srf, 'uas', {req, res, sent})`). */
interface RealDialog extends SrfDialog {
  handle(req: SrfRequest, res: SrfResponse, next?: () => void): void;
  emit(event: string, ...args: unknown[]): boolean;
}

/** The package's export: the `Srf` class with its static `Dialog`. */
interface SrfClass {
  new (): RealSrf;
  readonly Dialog: new (srf: RealSrf, type: 'uas', opts: { req: SrfRequest; res: SrfResponse; sent: unknown }) => RealDialog;
}

/** A real {@link DrachtioSrf}. */
class RealDrachtioSrf implements DrachtioSrf {
  private closed = false;

  constructor(
    private readonly srf: RealSrf,
    private readonly DialogClass: SrfClass['Dialog'],
  ) {
    // A connection that completes after close() (it was being set up) is closed at once.
    srf.on('connect', (err: Error | null) => {
      if (this.closed && !err) this.disconnectQuietly();
    });
  }

  get native(): unknown {
    return this.srf;
  }

  connect(opts: SrfConnectOptions): void {
    this.srf.connect({ host: opts.host, port: opts.port, secret: opts.secret });
    // The agent and its wire protocol exist once connect returns (lib/drachtio-agent.js#connect).
    this.srf.app.client?.wp?.on?.(DROPPED_MESSAGE_EVENT, (err: Error) => this.srf.emit(DROPPED_MESSAGE_EVENT, err));
  }

  on(event: string, listener: (...args: any[]) => void): unknown {
    return this.srf.on(event, listener);
  }

  invite(handler: SrfRequestHandler): void {
    this.srf.invite((req, res) => handler(req, res));
  }

  subscribe(handler: SrfRequestHandler): void {
    this.srf.subscribe((req, res) => handler(req, res));
  }

  createUAS(
    req: SrfRequest,
    res: SrfResponse,
    opts: { localSdp: string; headers?: Record<string, string> },
    wire: (dialog: SrfDialog) => void,
  ): Promise<SrfDialog> {
    // The callback form: lib/srf.js calls it synchronously when drachtio-server confirms the 200 OK.
    return new Promise<SrfDialog>((resolve, reject) => {
      let failed = false;
      this.srf.createUAS(req, res, { localSdp: opts.localSdp, headers: opts.headers ?? {} }, (err, dialog) => {
        if (err) {
          failed = true;
          return reject(err instanceof Error ? err : new Error(String(err)));
        }
        // lib/srf.js may still confirm the 200 after it reported the CANCEL (487): end that dialog at once.
        if (failed) return void dialog.destroy().catch(() => undefined);
        wire(dialog);
        resolve(dialog);
      });
    });
  }

  createSubscriptionUAS(req: SrfRequest, res: SrfResponse, opts: { headers: Record<string, string> }, wire: (dialog: SrfDialog) => void): Promise<SrfDialog> {
    // What Srf#createUAS does for a SUBSCRIBE (lib/srf.js), with 200 instead of 202.
    return new Promise<SrfDialog>((resolve, reject) => {
      const send = res.send as unknown as (status: number, opts: object, cb: (err: unknown, sent: unknown) => void) => void;
      send.call(res, 200, { headers: opts.headers }, (err, sent) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        try {
          const dialog = new this.DialogClass(this.srf, 'uas', { req, res, sent });
          const handle = dialog.handle.bind(dialog);
          // lib/dialog.js answers `Expires: 0` itself (202) and other SUBSCRIBEs only when a listener exists; hand
          // every in-dialog SUBSCRIBE to the application instead, which answers 200 with the granted Expires.
          dialog.handle = (rq: SrfRequest, rs: SrfResponse, next?: () => void) => {
            if (rq.method === 'SUBSCRIBE') {
              if (!dialog.emit('subscribe', rq, rs)) rs.send(489, 'Bad Event');
              return;
            }
            handle(rq, rs, next);
          };
          this.srf.addDialog(dialog);
          wire(dialog);
          resolve(dialog);
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
    });
  }

  request(uri: string, opts: SrfRequestOptions, onResponse: (res: SrfIncomingResponse) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        // The callback form: lib/drachtio-agent.js calls it synchronously with the sent request, so the listener is
        // on before a response in the same read is dispatched.
        this.srf.request(uri, { method: opts.method, headers: opts.headers ?? {}, body: opts.body }, (err, sent) => {
          if (err) return reject(err instanceof Error ? err : new Error(String(err)));
          sent.on('response', onResponse);
          resolve();
        });
      } catch (err) {
        // lib/drachtio-agent.js asserts on a missing socket (not connected) before it can call back
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  removeDialog(dialog: SrfDialog): void {
    this.srf.removeDialog(dialog);
  }

  routesConfirmed(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref?.();
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      try {
        // A `ping` after the `route` requests drachtio-srf wrote (`Agent#route` writes at once when authenticated):
        // its answer comes once drachtio-server has handled them. Found against a real drachtio-server v0.9.4: an
        // INVITE sent a millisecond after `connect` got its own 503 "No providers available".
        const agent = this.srf.app.client;
        const up = [...(agent?.mapServer ?? [])].find(([, server]) => server.authenticated && server.pendingRequests);
        if (!agent?.wp?.send || !up) return done();
        const [socket, server] = up;
        server.pendingRequests!.set(agent.wp.send(socket, 'ping'), done);
      } catch {
        done(); // not connected (any more): the routes go out with the next connection
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const wp = this.srf.app.client?.wp;
    if (wp) {
      wp.closing = true; // lib/wire-protocol.js: no reconnect, no 'error' events once closing
      if (wp.reconnectVars?.retryTimer) {
        clearTimeout(wp.reconnectVars.retryTimer);
        wp.reconnectVars.retryTimer = null;
      }
    }
    this.disconnectQuietly();
    wp?.socket?.destroy(); // a reconnect attempt in flight
  }

  private disconnectQuietly(): void {
    try {
      this.srf.disconnect();
    } catch {
      // no connection is up (never connected, or between two attempts): nothing to end
    }
  }
}

/**
 * Creates a {@link DrachtioSrf} on a new drachtio-srf `Srf` instance (not connected yet: call `connect`).
 * @throws Error when the drachtio-srf package cannot be loaded
 */
export function createDrachtioSrf(): DrachtioSrf {
  // The one cast from the package to our typings (its bundled lib/@types are incomplete; see srf-types.ts).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Srf = require('drachtio-srf') as SrfClass;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  guardWireProtocol(require('drachtio-srf/lib/wire-protocol'));
  return new RealDrachtioSrf(new Srf(), Srf.Dialog);
}
