/**
 * The server's metrics, in the Prometheus text format (prom-client). One registry per process, not prom-client's
 * global one, so a library user's own metrics never mix with ours. Counters only grow: tests read a delta
 * (`counterValue` before and after), since several servers in one test process share them.
 *
 * Names follow Prometheus' conventions (`_total` for counters, base units); labels are small closed sets, never a
 * caller's number, a digit string or an address (cardinality, and the PIN rule of DESIGN.md).
 */
import type { Logger } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Exhausted } from './errors';

/** The registry `/metrics` serves (issue 21) and the tests read. */
export const registry = new Registry();

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
  /** Calls in progress on this process. */
  activeCalls: new Gauge({ name: 'va_active_calls', help: 'Calls in progress', registers: [registry] }),
};

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
