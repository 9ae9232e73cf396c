/**
 * FreeswitchPool: the {@link MediaServerPool} on FreeSWITCH servers reached through drachtio-fsmrf (the jambonz
 * feature-server shape, DESIGN.md "Scale"). Each configured server is connected on its event socket
 * (`mod_event_socket`); drachtio-fsmrf also listens for FreeSWITCH's outbound event-socket connections, one per
 * endpoint, on `listenAddress`. A call's endpoint is created on the next server that is up (round robin), by an
 * INVITE from drachtio-server to that FreeSWITCH's `drachtio_mrf` SIP profile carrying the caller's offer; the
 * caller is answered with FreeSWITCH's SDP, so RTP flows between the caller and FreeSWITCH.
 *
 * A server that cannot be reached, or whose connection is lost, is retried with backoff (1 s doubling to 30 s) and
 * the change is logged once each way (warn when lost, info when back). While no server is up, `open` throws
 * `VA_ERR_MEDIA_SERVER_UNAVAILABLE`, which the signalling answers 503.
 *
 * Each server has at most `maxPendingEndpoints` endpoints being created at once; a call that finds every server up
 * at that bound is refused at once the same way (503), rather than queued. Without the bound, calls offered faster
 * than FreeSWITCH sets them up (about 100 a second on two shared cores) all waited on it together until drachtio-fsmrf
 * gave up on them: SIPp offering 200 calls/s for 5 s got 36 of its 1,000 calls set up in 20 s, with 514
 * retransmissions. With the bound, 557 and 669 in two runs, in 5 s, and the rest answered 503 at once (8 December):
 * the calls FreeSWITCH can set up are, and the others are told to come back (Retry-After) at no cost to it.
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../ports/clock';
import type { CallLeg, MediaServerCall, MediaServerPool } from '../../ports/media-server';
import type { PromptCatalog } from '../../prompts/catalog';
import { MediaError, MediaErrorCodes } from '../errors';
import { FreeswitchCallChannel } from './freeswitch-call-channel';
import { loadMrf, type FsMediaServer, type FsMrf } from './fsmrf-types';

/** One FreeSWITCH's event socket. The secret is never logged. */
export interface FreeswitchServer {
  host: string;
  /** Event socket port (FreeSWITCH's default 8021). */
  port: number;
  secret: string;
}

/** What {@link FreeswitchPool.start} needs. */
export interface FreeswitchPoolOptions {
  /** drachtio-srf's `Srf` instance, connected to drachtio-server (opaque here: fsmrf uses it). */
  srf: unknown;
  servers: FreeswitchServer[];
  /** Where drachtio-fsmrf listens for FreeSWITCH's outbound event-socket connections (an address FreeSWITCH reaches). */
  listenAddress: string;
  /** FreeSWITCH's SIP profile for endpoints [drachtio_mrf]. */
  profile?: string;
  /** The mod_conference profile meetings use [default]. */
  conferenceProfile?: string;
  /** What meetings' room names start with (see `FreeswitchCallChannelOptions.roomPrefix`) [va-]. */
  roomPrefix?: string;
  clock: Clock;
  catalog: PromptCatalog;
  /** Where recordings go: FreeSWITCH must be able to write there at the same path. */
  recordingsDir: string;
  logger: Logger;
  /** First reconnect delay, ms [1000]; it doubles up to `reconnectMaxMs` [30000]. */
  reconnectMs?: number;
  reconnectMaxMs?: number;
  /** Endpoints being created on one server at once, at most [20]; past it on every server, calls get 503. */
  maxPendingEndpoints?: number;
  /** How long `start` waits for a first media server to be up, ms [10 000]; then it starts without (503s). */
  startTimeoutMs?: number;
  /** The Mrf to use (tests); default: drachtio-fsmrf's, on `srf`. */
  mrf?: FsMrf;
}

/** One configured server and its connection state. */
interface Slot {
  config: FreeswitchServer;
  name: string;
  ms: FsMediaServer | null;
  /** Was it up before (so that a loss is logged once, and a return once). */
  wasUp: boolean;
  attempt: number;
  timer: TimerHandle | null;
  connecting: boolean;
  /** Endpoints being created (and prepared) on it now. */
  pending: number;
}

/** A SIP error from drachtio-srf (`SipError`): the status FreeSWITCH answered the endpoint's INVITE with. */
function sipStatus(err: unknown): number | undefined {
  const s = (err as { status?: unknown })?.status;
  return typeof s === 'number' ? s : undefined;
}

export class FreeswitchPool implements MediaServerPool {
  private readonly slots: Slot[];
  private readonly mrf: FsMrf;
  private next = 0;
  private closed = false;

  private constructor(private readonly opts: FreeswitchPoolOptions) {
    const Mrf = opts.mrf ? null : loadMrf();
    this.mrf = opts.mrf ?? new Mrf!(opts.srf);
    this.slots = opts.servers.map((config) => ({
      config,
      name: `${config.host}:${config.port}`,
      ms: null,
      wasUp: false,
      attempt: 0,
      timer: null,
      connecting: false,
      pending: 0,
    }));
  }

  /**
   * Connects to every server once (in parallel) and returns the pool; servers that did not answer are retried in the
   * background, so the pool may start with none up (calls then get 503 until one is).
   * @throws Error when `servers` is empty
   */
  static async start(opts: FreeswitchPoolOptions): Promise<FreeswitchPool> {
    if (opts.servers.length === 0) throw new Error('no FreeSWITCH server is configured');
    const pool = new FreeswitchPool(opts);
    await Promise.all(pool.slots.map((s) => pool.connect(s)));
    // A server that was slow to answer (drachtio-fsmrf gives it 1 s) is retried at once with backoff: wait a little for
    // one to be up, so the first calls are not refused when a media server is merely busy.
    const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
    while (!pool.available && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (!pool.available) opts.logger.error({ code: MediaErrorCodes.SERVER_UNAVAILABLE, servers: pool.slots.map((s) => s.name) }, 'no media server is up: calls get 503 until one is');
    return pool;
  }

  get available(): boolean {
    return this.slots.some((s) => s.ms !== null);
  }

  describe(): Array<{ server: string; up: boolean }> {
    return this.slots.map((s) => ({ server: s.name, up: s.ms !== null }));
  }

  async open({ callId, offer, leg }: { callId: string; offer: string | null; leg: CallLeg }): Promise<MediaServerCall | 'incompatible'> {
    const slot = this.pick();
    if (!slot?.ms) {
      const busy = this.slots.some((s) => s.ms?.connected());
      throw new MediaError(
        MediaErrorCodes.SERVER_UNAVAILABLE,
        busy ? `every media server (FreeSWITCH) is busy: ${this.maxPending} endpoints being created on each` : 'no media server (FreeSWITCH) is up',
      );
    }
    slot.pending++;
    try {
      return await this.openOn(slot, slot.ms, callId, offer, leg);
    } finally {
      slot.pending--;
    }
  }

  private get maxPending(): number {
    return this.opts.maxPendingEndpoints ?? 20;
  }

  /** Creates and prepares the call's endpoint on `ms` (the server of `slot`), and its channel. */
  private async openOn(slot: Slot, ms: FsMediaServer, callId: string, offer: string | null, leg: CallLeg): Promise<MediaServerCall | 'incompatible'> {
    let endpoint;
    try {
      // Late offer (no SDP from the caller): FreeSWITCH offers, and gets the caller's answer by re-INVITE (takeAnswer).
      endpoint = await ms.createEndpoint(offer === null ? {} : { remoteSdp: offer });
    } catch (err) {
      const status = sipStatus(err);
      if (status === 488 || status === 415 || status === 606) return 'incompatible';
      throw new MediaError(MediaErrorCodes.SERVER_UNAVAILABLE, `FreeSWITCH at ${slot.name} could not create the endpoint: ${status ?? (err as Error).message}`, { cause: err });
    }
    try {
      await FreeswitchCallChannel.prepare(endpoint);
    } catch (err) {
      void endpoint.destroy().catch(() => undefined);
      throw new MediaError(MediaErrorCodes.SERVER_UNAVAILABLE, `FreeSWITCH at ${slot.name} could not prepare the endpoint: ${(err as Error).message}`, { cause: err });
    }
    const channel = new FreeswitchCallChannel({
      callId,
      clock: this.opts.clock,
      catalog: this.opts.catalog,
      recordingsDir: this.opts.recordingsDir,
      endpoint,
      leg,
      logger: this.opts.logger,
      conferenceProfile: this.opts.conferenceProfile,
      roomPrefix: this.opts.roomPrefix,
    });
    return {
      answerSdp: endpoint.local.sdp,
      server: slot.name,
      channel,
      takeAnswer: async (answer: string) => {
        try {
          await endpoint.modify(answer);
          return true;
        } catch (err) {
          this.opts.logger.info({ callId, status: sipStatus(err) }, "FreeSWITCH refused the caller's answer to its offer");
          return false;
        }
      },
      modify: async (sdp: string) => {
        try {
          await endpoint.modify(sdp);
          return endpoint.local.sdp;
        } catch (err) {
          this.opts.logger.info({ callId, status: sipStatus(err) }, 'FreeSWITCH refused the re-INVITE');
          return null;
        }
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.slots) {
      if (s.timer) this.opts.clock.clearTimeout(s.timer);
      s.timer = null;
      const ms = s.ms;
      s.ms = null;
      try {
        ms?.disconnect();
      } catch {
        /* already gone */
      }
    }
  }

  /** The next server that is up and below `maxPendingEndpoints`, round robin; undefined when none is. */
  private pick(): Slot | undefined {
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[(this.next + i) % this.slots.length];
      if (s.ms?.connected() && s.pending < this.maxPending) {
        this.next = (this.next + i + 1) % this.slots.length;
        return s;
      }
    }
    return undefined;
  }

  private async connect(slot: Slot): Promise<void> {
    if (this.closed || slot.connecting) return;
    slot.connecting = true;
    const log = this.opts.logger.child({ part: 'media', mediaServer: slot.name });
    try {
      const ms = await this.mrf.connect({
        address: slot.config.host,
        port: slot.config.port,
        secret: slot.config.secret,
        listenAddress: this.opts.listenAddress,
        profile: this.opts.profile ?? 'drachtio_mrf',
      });
      if (this.closed) return ms.disconnect();
      slot.ms = ms;
      slot.attempt = 0;
      log.info(slot.wasUp ? 'media server is back' : 'media server connected');
      slot.wasUp = true;
      ms.on('error', (err: Error) => log.debug({ err }, 'media server connection error'));
      ms.on('end', () => {
        if (slot.ms !== ms) return;
        slot.ms = null;
        try {
          ms.disconnect();
        } catch {
          /* already closed */
        }
        if (this.closed) return;
        log.warn({ code: MediaErrorCodes.SERVER_UNAVAILABLE, up: this.slots.filter((s) => s.ms).length }, 'lost the connection to the media server; reconnecting');
        this.retry(slot);
      });
    } catch (err) {
      if (slot.attempt === 0) {
        log.warn({ code: MediaErrorCodes.SERVER_UNAVAILABLE, err: (err as Error).message }, 'cannot connect to the media server; retrying');
      }
      this.retry(slot);
    } finally {
      slot.connecting = false;
    }
  }

  private retry(slot: Slot): void {
    if (this.closed || slot.timer) return;
    const first = this.opts.reconnectMs ?? 1000;
    const delay = Math.min(first * 2 ** slot.attempt, this.opts.reconnectMaxMs ?? 30_000);
    slot.attempt++;
    slot.timer = this.opts.clock.setTimeout(() => {
      slot.timer = null;
      void this.connect(slot);
    }, delay);
  }
}
