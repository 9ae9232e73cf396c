/**
 * `serve`'s HTTP API wiring (issue 21, docs/admin-center.md): what the API sees of the running server (its
 * {@link ServerState}: live calls from the call runtime, the drain switch on the load guard, SIP readiness, the MWI
 * service), the cmdlets' context with the lamp hook (a message deleted over the API lights or darkens the lamp at
 * once), and the notification queue's gauges while the API serves `/metrics`.
 */
import type { Logger } from 'pino';
import type { App } from '../app';
import { startHttpApi, type RunningHttpApi } from '../http/server';
import { watchNotificationQueue } from '../metrics';
import type { MwiService } from '../notify/mwi-service';
import { systemClock } from '../ports/clock';
import type { CallRuntime } from '../runtime/call-runtime';
import type { LoadGuard } from '../runtime/load-guard';

/** What {@link startServeHttp} wires. */
export interface ServeHttpOptions {
  app: App;
  /** HOST:PORT. */
  listen: string;
  logger: Logger;
  runtime: CallRuntime;
  mwi: MwiService;
  /** Admission's load guard: it holds the drain switch (`Set-UMService -Status`). */
  load: LoadGuard;
  /** True once `serve` is stopping. */
  stopping(): boolean;
  /** True while the SIP side takes calls (sockets bound, or drachtio-server attached). */
  sipReady(): boolean;
}

/** How many pending rows the queue's gauges read at most per scrape. */
const QUEUE_READ_LIMIT = 100_000;

/**
 * Starts the HTTP API of a running `serve`.
 * @throws VaError VA_ERR_CLI_PARAMETER (a bad address), VA_ERR_HTTP (cannot listen there)
 */
export async function startServeHttp(o: ServeHttpOptions): Promise<RunningHttpApi> {
  const { app, runtime, mwi, load } = o;
  const stopQueueGauges = watchNotificationQueue(async () => {
    const pending = await app.store.notifications.list('pending', QUEUE_READ_LIMIT);
    const oldest = pending.reduce<number | null>((min, r) => (min === null || r.createdAt < min ? r.createdAt : min), null);
    return { depth: pending.length, oldestCreatedAt: oldest, now: app.store.now() };
  });
  try {
    const api = await startHttpApi({
      // Remove-VoiceMessage over the API: the lamp follows at once (the command line's is seen by the store watch).
      app: { ...app, mailboxChanged: (identity: string) => mwi.mailboxChanged(identity) },
      listen: o.listen,
      logger: o.logger,
      version: (await import('./main')).packageVersion(),
      state: {
        draining: () => o.stopping() || load.status === 'NoNewCalls',
        calls: () => runtime.activeCallCount,
        liveCalls: () => {
          const now = systemClock.now();
          return runtime.liveCalls().map((c) => ({ ...c, durationMs: Math.max(0, now - c.startedAt) }));
        },
        status: () => load.status,
        setStatus: (status) => load.setStatus(status),
        stopping: o.stopping,
        sipReady: o.sipReady,
        mwi,
      },
    });
    return {
      ...api,
      close: async () => {
        stopQueueGauges();
        await api.close();
      },
    };
  } catch (err) {
    stopQueueGauges();
    throw err;
  }
}
