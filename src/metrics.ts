/**
 * The server's metrics, in the Prometheus text format (prom-client). One registry per process, not prom-client's
 * global one, so a library user's own metrics never mix with ours. Counters only grow: tests read a delta
 * (`counterValue` before and after), since several servers in one test process share them.
 *
 * Names follow Prometheus' conventions (`_total` for counters, base units); labels are small closed sets, never a
 * caller's number, a digit string or an address (cardinality, and the PIN rule of DESIGN.md).
 */
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Exhausted } from './errors';

/** The registry `/metrics` serves (issue 21) and the tests read. */
export const registry = new Registry();

// prom-client's process and Node metrics under their usual names: CPU, memory, file descriptors, GC and the event
// loop's lag (`nodejs_eventloop_lag_seconds`, with its p50/p90/p99 from `perf_hooks.monitorEventLoopDelay`).
collectDefaultMetrics({ register: registry });

/** Where the notification queue's gauges read the queue (`serve` registers its store's; see {@link watchNotificationQueue}). */
export type NotificationQueueReader = () => Promise<{ depth: number; oldestCreatedAt: number | null; now: number }>;
const queueReaders = new Set<NotificationQueueReader>();

/** The sum of every registered queue's depth, and the age of the oldest pending row among them (s). */
async function readQueues(): Promise<{ depth: number; ageSeconds: number }> {
  let depth = 0;
  let ageSeconds = 0;
  for (const read of queueReaders) {
    try {
      const q = await read();
      depth += q.depth;
      if (q.oldestCreatedAt !== null) ageSeconds = Math.max(ageSeconds, (q.now - q.oldestCreatedAt) / 1000);
    } catch {
      // The store does not answer: the scrape shows what the other readers said (readyz says why).
    }
  }
  return { depth, ageSeconds };
}

/** Why a new call was refused with 503 (issue 19, "Out of resources is 503, not 500"). */
export type CallRefusedReason = 'max-calls' | 'rtp-ports' | 'memory' | 'store' | 'media-server' | 'draining';

/** Why a SIP message was not handed to the stack (issue 19, "SIP input"). */
export type SipRejectedReason = 'too-large' | 'too-many-headers' | 'header-too-long' | 'flood' | 'malformed';

/** The counters and gauges of the server. */
export const metrics = {
  /** New calls refused with 503 + Retry-After, by reason. */
  callsRefused: new Counter({
    name: 'va_calls_refused_total',
    help: 'New calls refused with 503 Service Unavailable because a resource was exhausted or unavailable',
    labelNames: ['reason'] as const,
    registers: [registry],
  }),
  /** SIP messages answered 513/400 or dropped before parsing, by reason. */
  sipRejected: new Counter({
    name: 'va_sip_messages_rejected_total',
    help: 'SIP messages rejected or dropped before they reached the SIP stack',
    labelNames: ['reason'] as const,
    registers: [registry],
  }),
  /** Recordings (voice messages, greetings) that could not be written; the call was ended, no row stored. */
  recordingFailures: new Counter({
    name: 'va_recording_failures_total',
    help: 'Recordings that could not be written to the data folder',
    labelNames: ['code'] as const,
    registers: [registry],
  }),
  /** Calls in progress on this process (every flow, and calls not routed yet). */
  activeCalls: new Gauge({ name: 'va_active_calls', help: 'Calls in progress', registers: [registry] }),
  /** Calls in progress, by flow (`sign-in`, `call-answering`, `conference`), from routing to their end. */
  callsInProgress: new Gauge({ name: 'va_calls_in_progress', help: 'Calls in progress, by flow', labelNames: ['flow'] as const, registers: [registry] }),
  /**
   * Calls ended, by flow (`rejected` for a call no flow took) and result: the flow's output (`signed-out`,
   * `locked-out`, `message-left`, `missed-call`...) or why it was ended (`shutdown`, `unavailable`, `error`...).
   */
  callsEnded: new Counter({ name: 'va_calls_ended_total', help: 'Calls ended, by flow and result', labelNames: ['flow', 'result'] as const, registers: [registry] }),
  /** Sign-ins refused: a wrong PIN (`wrong-pin`), or a locked mailbox (`locked-out`). */
  signInFailures: new Counter({ name: 'va_sign_in_failures_total', help: 'Sign-ins refused, by outcome (wrong-pin, locked-out)', labelNames: ['outcome'] as const, registers: [registry] }),
  /** PINs reset automatically after LogonFailuresBeforePINReset sequential failures (Set-UMMailboxPolicy). */
  pinAutomaticResets: new Counter({ name: 'va_pin_automatic_resets_total', help: 'PINs reset automatically after failed sign-ins', registers: [registry] }),
  /** Mailboxes locked out after MaxLogonAttempts sequential failures. */
  lockouts: new Counter({ name: 'va_mailbox_lockouts_total', help: 'Mailboxes locked out after failed sign-ins', registers: [registry] }),
  /** Voice messages stored (the audio on disk, then the row). */
  voiceMessagesStored: new Counter({ name: 'va_voice_messages_stored_total', help: 'Voice messages stored', registers: [registry] }),
  /**
   * Unsolicited MWI NOTIFYs, by UM IP gateway name and outcome: `delivered` (2xx) or `failed` (another status, a
   * timeout or a refused connection: the next gateway is tried).
   */
  mwiNotifies: new Counter({ name: 'va_mwi_notifies_total', help: 'MWI NOTIFYs sent to UM IP gateways, by gateway and outcome', labelNames: ['gateway', 'outcome'] as const, registers: [registry] }),
  /** Lamp changes given up after the retry window, every gateway having failed. */
  mwiGivenUp: new Counter({ name: 'va_mwi_deliveries_given_up_total', help: 'MWI lamp changes given up after the retry window', registers: [registry] }),
  /** Pending SMS and mails in the durable queue (of the store: instances sharing one report the same rows). */
  notificationQueueDepth: new Gauge({
    name: 'va_notification_queue_depth',
    help: 'SMS and mails waiting in the notification queue',
    registers: [registry],
    async collect() {
      this.set((await readQueues()).depth);
    },
  }),
  /** How long the oldest pending notification has waited, s (0 when none). */
  notificationQueueAge: new Gauge({
    name: 'va_notification_queue_oldest_age_seconds',
    help: 'Age of the oldest notification waiting in the queue, seconds',
    registers: [registry],
    async collect() {
      this.set((await readQueues()).ageSeconds);
    },
  }),
  /** Callers in a meeting (every meeting of this process). */
  conferenceParticipants: new Gauge({ name: 'va_conference_participants', help: 'Callers in a meeting', registers: [registry] }),
  /** Callers waiting in a meeting's lobby (every meeting of this process). */
  conferenceLobby: new Gauge({ name: 'va_conference_lobby_size', help: 'Callers waiting in a lobby', registers: [registry] }),
  /** How late (or, within 1 ms, early) each run of the RTP engine's shared 20 ms tick was against its deadline, s. */
  rtpTickLateness: new Histogram({
    name: 'va_rtp_tick_lateness_seconds',
    help: "Distance of each RTP tick from its deadline, seconds",
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5],
    registers: [registry],
  }),
  /** How long each store call took (SQLite or PostgreSQL), by the store port's method (`getMailbox`, `admin.addAuditEntry`...), s. */
  storeQueryDuration: new Histogram({
    name: 'va_store_query_duration_seconds',
    help: 'Store calls, by operation, seconds',
    labelNames: ['operation'] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  }),
};

/**
 * Feeds the notification queue's gauges from a store's queue while it runs (`serve` with its HTTP API).
 * @param read the pending rows' count and the oldest one's creation time (ms), with the store's time now (ms)
 * @returns a function that stops reading it
 */
export function watchNotificationQueue(read: NotificationQueueReader): () => void {
  queueReaders.add(read);
  return () => void queueReaders.delete(read);
}

/**
 * The current value of a counter for one label set (0 when never counted).
 * @param counter one of {@link metrics}' counters
 * @param labels the label values, e.g. `{ reason: 'max-calls' }`
 */
export async function counterValue(counter: Counter<string>, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await counter.get();
  const keys = Object.keys(labels);
  const hit = values.find((v) => keys.every((k) => String(v.labels[k]) === labels[k]) && Object.keys(v.labels).length === keys.length);
  return hit?.value ?? 0;
}

/**
 * Logs (one line, warn, with the code and no stack) and counts a call refused because `what` ran out.
 * @param log the call's logger (it carries the call id)
 */
export function noteExhausted(log: Pick<Logger, 'warn'>, what: Exhausted): void {
  metrics.callsRefused.inc({ reason: what.resource });
  log.warn({ code: what.code, resource: what.resource, reason: what.detail }, `call refused with 503: ${what.resource} exhausted or unavailable`);
}
