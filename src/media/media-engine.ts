/**
 * The RTP engine: allocates a UDP port per call and drives every call's sending from ONE shared 20 ms tick
 * (DESIGN.md "Media": thousands of calls stay cheap; no timer per call).
 *
 * Pacing (DESIGN.md "Known pitfalls": Node timers drift): the tick is scheduled against absolute deadlines
 * (`deadline += 20 ms`, `performance.now()`), never with an accumulating `setInterval`. Each run is recorded as its
 * distance from its deadline ({@link MediaEngine.tickStats}). A tick that fires up to 1 ms early runs (Node's timer
 * clock has 1 ms granularity). When the event loop was blocked, the missed deadlines are run at once, up to 5
 * (100 ms of audio, which a jitter buffer absorbs); beyond that the schedule restarts from now and the skipped
 * ticks are counted, so a long stall shortens the audio instead of bursting it.
 *
 * The tick runs only while at least one session is open.
 *
 * Socket reuse: the socket of an ended call stays bound, idle, and is handed to a later call once nothing has arrived
 * on it for `reuseQuietMs` (1 s); a socket still receiving (a sender that did not stop with the call) is not reused
 * while it does, so a later caller's audio is never latched to it (rtp-session.ts, latching). Idle sockets drop what
 * they receive. At most `idleSocketLimit` (2,048) are kept (a socket released beyond that is closed) and each for
 * `idleSocketMs` (30 s), so a quiet server holds none. When the range has no free port left, the longest-idle socket
 * is taken, quiet or not: what a fresh bind of a just-freed port would give. Binding and closing a socket per call
 * cost a fifth of `serve`'s CPU per call at 1,100 calls/s (SIPp calls, this machine, December 2026).
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import pino, { type Logger } from 'pino';
import { lazyChild } from '../log';
import { metrics } from '../metrics';
import type { Clock } from '../ports/clock';
import { MediaError, MediaErrorCodes } from './errors';
import { MsHistogram } from './histogram';
import { PACKET_MS, RtpSession, type RtpSessionOptions } from './rtp-session';

export { RtpSession } from './rtp-session';
export type { Playback, Recording, RemoteMedia, RtpSessionEvents, RtpSessionOptions, SessionDtmf } from './rtp-session';

/** Options of {@link MediaEngine.start}. */
export interface MediaEngineOptions {
  /** Local IP address to bind RTP sockets on (also what the SDP should announce). */
  host: string;
  /**
   * Lowest and highest UDP port for RTP; sessions get even ports (RFC 3550 §11) in this range. `0`/`0` means "any
   * free port the system chooses" (possibly odd): for tests.
   */
  portMin: number;
  portMax: number;
  /** SO_RCVBUF asked for each socket, bytes (default 1 MiB; Linux caps it at `net.core.rmem_max`). */
  recvBufferSize?: number;
  /** Logger (default: silent). */
  logger?: Logger;
  /**
   * Clock for DTMF timeouts, VAD and latching (default: a monotonic clock on `performance.now()` and Node timers).
   * Pacing always uses `performance.now()`.
   */
  clock?: Clock;
  /** Defaults for every session's options (see {@link RtpSessionOptions}). */
  session?: RtpSessionOptions;
  /** Idle sockets of ended calls kept for reuse, at most (default 2048; 0 closes each socket when its call ends). */
  idleSocketLimit?: number;
  /** An idle socket is reused only after this long without receiving anything, ms (default 1000). */
  reuseQuietMs?: number;
  /** An idle socket not reused within this long is closed, ms (default 30 000). */
  idleSocketMs?: number;
}

/** The socket of an ended call, kept bound for a later one. */
interface IdleSocket {
  socket: Socket;
  port: number;
  /** When it was released, `performance.now()` ms. */
  releasedAt: number;
  /** When it was released or last received a packet, `performance.now()` ms. */
  quietSince: number;
  /** Listeners while idle (a socket without an 'error' listener would throw). */
  onMessage: () => void;
  onError: () => void;
}

/** How many idle sockets from the oldest are looked at for one quiet long enough. */
const REUSE_SCAN = 8;

/** Statistics of the shared tick: how far each run was from its deadline, ms. */
export interface TickStats {
  /** Deadlines run so far. */
  ticks: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Deadlines dropped after a stall longer than the catch-up limit. */
  skipped: number;
}

/** A monotonic {@link Clock}: wall-clock epoch at start, then `performance.now()`; Node timers. */
export const monotonicClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

const MAX_CATCH_UP = 5;
const EARLY_TOLERANCE_MS = 1;

/** The RTP engine; see the module comment. */
export class MediaEngine {
  private readonly host: string;
  private readonly portMin: number;
  private readonly portMax: number;
  private readonly recvBufferSize: number;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly sessionDefaults: RtpSessionOptions;
  private readonly sessions = new Set<RtpSession>();
  private readonly usedPorts = new Set<number>();
  private cursor = 0;
  private timer: NodeJS.Timeout | null = null;
  private deadline = 0;
  private readonly tickHist = new MsHistogram(0.05, 100);
  private skipped = 0;
  private stopped = false;
  private readonly tickListeners = new Set<() => void>();
  /** Idle sockets, oldest release first. */
  private readonly idle: IdleSocket[] = [];
  private readonly idleSocketLimit: number;
  private readonly reuseQuietMs: number;
  private readonly idleSocketMs: number;
  private idleSweep: NodeJS.Timeout | null = null;

  private constructor(opts: MediaEngineOptions) {
    this.host = opts.host;
    this.portMin = opts.portMin;
    this.portMax = opts.portMax;
    this.recvBufferSize = opts.recvBufferSize ?? 1024 * 1024;
    this.log = opts.logger ?? pino({ level: 'silent' });
    this.clock = opts.clock ?? monotonicClock;
    this.sessionDefaults = opts.session ?? {};
    this.idleSocketLimit = opts.idleSocketLimit ?? 2048;
    this.reuseQuietMs = opts.reuseQuietMs ?? 1000;
    this.idleSocketMs = opts.idleSocketMs ?? 30_000;
  }

  /**
   * Creates an engine (no socket is bound until {@link MediaEngine.openSession}).
   * @throws MediaError `VA_ERR_MEDIA_ARGUMENT` when the host is empty, the range is not 0/0 or within 1..65535
   *         with portMin <= portMax and at least one even port, recvBufferSize is not positive, or a socket reuse
   *         option is negative
   */
  static async start(opts: MediaEngineOptions): Promise<MediaEngine> {
    const bad = (m: string) => new MediaError(MediaErrorCodes.ARGUMENT, m);
    if (!opts || typeof opts.host !== 'string' || opts.host === '') throw bad('media engine host is empty');
    const { portMin, portMax } = opts;
    const anyPort = portMin === 0 && portMax === 0;
    if (!anyPort) {
      if (!Number.isInteger(portMin) || !Number.isInteger(portMax) || portMin < 1 || portMax > 65535 || portMin > portMax) {
        throw bad(`RTP port range ${portMin}-${portMax} is invalid (1..65535, min <= max)`);
      }
      if (portMin === portMax && portMin % 2 === 1) throw bad(`RTP port range ${portMin}-${portMax} has no even port`);
    }
    if (opts.recvBufferSize !== undefined && !(opts.recvBufferSize > 0)) throw bad('recvBufferSize must be positive');
    for (const key of ['idleSocketLimit', 'reuseQuietMs', 'idleSocketMs'] as const) {
      const v = opts[key];
      if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw bad(`${key} must be a number >= 0`);
    }
    return new MediaEngine(opts);
  }

  /** Open sessions. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Sockets of ended calls kept bound for later calls (see "Socket reuse" in the module comment). */
  get idleSocketCount(): number {
    return this.idle.length;
  }

  /** How late (or, within 1 ms, early) each tick ran against its deadline, ms: p50, p99 and max since start. */
  tickStats(): TickStats {
    return {
      ticks: this.tickHist.count,
      p50Ms: this.tickHist.percentile(50),
      p99Ms: this.tickHist.percentile(99),
      maxMs: this.tickHist.max,
      skipped: this.skipped,
    };
  }

  /**
   * How far apart the open sessions' packets left, against 20 ms: the p99 deviation over all their packets, and the
   * worst session's own p99, ms (issue 4: 500 concurrent calls within 5 ms).
   */
  sendIntervalStats(): { sessions: number; p99Ms: number; worstSessionP99Ms: number } {
    const all = new MsHistogram(0.1, 100); // the sessions' own bins (rtp-session.ts)
    let worst = 0;
    for (const s of this.sessions) {
      all.merge(s.sendIntervalHistogram);
      worst = Math.max(worst, s.stats.sendIntervalP99DeviationMs);
    }
    return { sessions: this.sessions.size, p99Ms: all.percentile(99), worstSessionP99Ms: worst };
  }

  /**
   * Runs `listener` on every tick, before the sessions send (a conference bridge mixes there, so what it mixed leaves
   * in the same tick). The tick runs only while a session is open. A listener that throws is logged and kept.
   * @returns a function that removes the listener
   */
  addTickListener(listener: () => void): () => void {
    this.tickListeners.add(listener);
    return () => void this.tickListeners.delete(listener);
  }

  /** Starts {@link MediaEngine.tickStats} and every open session's send-interval statistics afresh (after a warm-up). */
  resetTickStats(): void {
    this.tickHist.reset();
    this.skipped = 0;
    for (const s of this.sessions) s.resetSendStats();
  }

  /**
   * Takes an idle socket quiet long enough, or else binds a UDP socket on a free even port of the range (round
   * robin, so a port just freed is not reused at once), and returns its session.
   * @param opts per-session options, over the engine's defaults
   * @throws MediaError `VA_ERR_MEDIA_NO_PORT` when every even port of the range is taken (by us or others),
   *         `VA_ERR_MEDIA_BIND` when binding fails otherwise (e.g. the host is not a local address),
   *         `VA_ERR_MEDIA_CLOSED` after {@link MediaEngine.stop}
   */
  async openSession(opts: RtpSessionOptions = {}): Promise<RtpSession> {
    if (this.stopped) throw new MediaError(MediaErrorCodes.CLOSED, 'media engine is stopped');
    const { socket, port } = this.takeIdle(false) ?? (await this.bindPort());
    if (this.stopped) {
      this.closeSocket(socket, port);
      throw new MediaError(MediaErrorCodes.CLOSED, 'media engine is stopped');
    }
    const session = new RtpSession(
      {
        socket,
        localAddress: this.host,
        localPort: port,
        clock: this.clock,
        engine: this,
        logger: lazyChild(this.log, { rtpPort: port }),
        onClose: (s) => {
          this.sessions.delete(s);
          this.release(socket, port);
          if (this.sessions.size === 0) this.stopTick();
        },
      },
      { ...this.sessionDefaults, ...opts },
    );
    this.sessions.add(session);
    this.startTick();
    return session;
  }

  /** Closes every session and every idle socket, and stops the tick. Idempotent; the engine cannot be used afterwards. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of [...this.sessions]) s.close();
    this.closeIdle(this.idle.length);
    if (this.idleSweep) clearTimeout(this.idleSweep);
    this.idleSweep = null;
    this.stopTick();
  }

  /** A session ended: keep its socket for a later call, or close it (stopped, or the idle limit reached). */
  private release(socket: Socket, port: number): void {
    if (this.stopped || this.idle.length >= this.idleSocketLimit) {
      this.closeSocket(socket, port);
      return;
    }
    const now = performance.now();
    const entry: IdleSocket = {
      socket,
      port,
      releasedAt: now,
      quietSince: now,
      onMessage: () => (entry.quietSince = performance.now()),
      onError: () => undefined,
    };
    socket.on('message', entry.onMessage);
    socket.on('error', entry.onError);
    socket.unref(); // an idle socket does not keep the process alive
    this.idle.push(entry);
    if (!this.idleSweep) this.scheduleIdleSweep();
  }

  /**
   * Takes an idle socket out of the pool: among the oldest few, the first quiet for `reuseQuietMs`; with `anyQuiet`
   * (the range has no free port), the oldest whatever it received.
   */
  private takeIdle(anyQuiet: boolean): { socket: Socket; port: number } | null {
    const idle = this.idle;
    if (idle.length === 0) return null;
    let i = 0;
    if (!anyQuiet) {
      const quietBefore = performance.now() - this.reuseQuietMs;
      const n = Math.min(idle.length, REUSE_SCAN);
      while (i < n && idle[i].quietSince > quietBefore) i++;
      if (i === n) return null;
    }
    const entry = i === 0 ? idle.shift()! : idle.splice(i, 1)[0]; // shift: O(1) on a long array, splice is not
    entry.socket.off('message', entry.onMessage);
    entry.socket.off('error', entry.onError);
    entry.socket.ref();
    return { socket: entry.socket, port: entry.port };
  }

  /** Closes the `count` oldest idle sockets. */
  private closeIdle(count: number): void {
    for (const entry of this.idle.splice(0, count)) this.closeSocket(entry.socket, entry.port);
  }

  private closeSocket(socket: Socket, port: number): void {
    try {
      socket.close();
    } catch {
      // already closed
    }
    this.usedPorts.delete(port);
  }

  /** Closes idle sockets older than `idleSocketMs`, checking again while any is left. */
  private scheduleIdleSweep(): void {
    this.idleSweep = setTimeout(() => {
      this.idleSweep = null;
      const releasedBefore = performance.now() - this.idleSocketMs;
      let n = 0;
      while (n < this.idle.length && this.idle[n].releasedAt <= releasedBefore) n++;
      this.closeIdle(n);
      if (this.idle.length > 0 && !this.stopped) this.scheduleIdleSweep();
    }, Math.max(50, this.idleSocketMs / 4));
    this.idleSweep.unref();
  }

  private async bindPort(): Promise<{ socket: Socket; port: number }> {
    if (this.portMin === 0 && this.portMax === 0) {
      try {
        const socket = await this.tryBind(0);
        return { socket, port: socket.address().port };
      } catch (err) {
        throw new MediaError(MediaErrorCodes.BIND, `cannot bind RTP socket on ${this.host}: ${(err as Error).message}`, { cause: err });
      }
    }
    const first = this.portMin % 2 === 0 ? this.portMin : this.portMin + 1;
    const count = Math.floor((this.portMax - first) / 2) + 1;
    for (let i = 0; i < count; i++) {
      const idx = (this.cursor + i) % count;
      const port = first + 2 * idx;
      if (this.usedPorts.has(port)) continue;
      this.usedPorts.add(port);
      try {
        const socket = await this.tryBind(port);
        this.cursor = (idx + 1) % count;
        return { socket, port };
      } catch (err) {
        this.usedPorts.delete(port);
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES') continue;
        throw new MediaError(MediaErrorCodes.BIND, `cannot bind RTP socket on ${this.host}:${port}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    const oldest = this.takeIdle(true);
    if (oldest) return oldest;
    throw new MediaError(
      MediaErrorCodes.NO_PORT,
      `no free even RTP port in ${this.portMin}-${this.portMax} on ${this.host} (${this.sessions.size} sessions open)`,
    );
  }

  private tryBind(port: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = createSocket({ type: isIPv6(this.host) ? 'udp6' : 'udp4', recvBufferSize: this.recvBufferSize });
      const onError = (err: Error) => {
        socket.removeListener('listening', onListening);
        try {
          socket.close();
        } catch {
          // never bound
        }
        reject(err);
      };
      const onListening = () => {
        socket.removeListener('error', onError);
        resolve(socket);
      };
      socket.once('error', onError);
      socket.once('listening', onListening);
      socket.bind({ port, address: this.host, exclusive: true });
    });
  }

  private startTick(): void {
    if (this.timer) return;
    this.deadline = performance.now() + PACKET_MS;
    this.schedule();
  }

  private stopTick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    const delay = Math.max(0, this.deadline - performance.now());
    this.timer = setTimeout(this.onTick, Math.floor(delay));
  }

  private readonly onTick = (): void => {
    this.timer = null;
    if (this.sessions.size === 0) return;
    let now = performance.now();
    let rounds = 0;
    while (now >= this.deadline - EARLY_TOLERANCE_MS && rounds < MAX_CATCH_UP) {
      this.tickHist.record(Math.abs(now - this.deadline));
      metrics.rtpTickLateness.observe(Math.abs(now - this.deadline) / 1000);
      for (const l of this.tickListeners) {
        try {
          l();
        } catch (err) {
          this.log.error({ err }, 'media tick listener failed');
        }
      }
      for (const s of this.sessions) {
        try {
          s.tick();
        } catch (err) {
          this.log.error({ err, rtpPort: s.localPort }, 'rtp session tick failed');
        }
      }
      this.deadline += PACKET_MS;
      rounds++;
      now = performance.now();
    }
    if (now - this.deadline > PACKET_MS) {
      // Still behind after catching up: start afresh from now.
      const behind = Math.floor((now - this.deadline) / PACKET_MS);
      this.skipped += behind;
      this.deadline += behind * PACKET_MS;
      this.log.warn({ skipped: behind }, 'rtp tick fell behind, skipped ticks');
    }
    if (this.sessions.size > 0) this.schedule();
  };
}
