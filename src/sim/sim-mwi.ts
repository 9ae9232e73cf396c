/**
 * The UM IP gateways of an in-process simulation: they receive the unsolicited MWI NOTIFYs on the virtual clock and
 * answer as the scenario's `mwiGateways:` says (200 by default; any status, `timeout`, or `refused`), so failover,
 * the 5-minute retry window, coalescing and the 12-hour refresh can be scripted and cost no real time.
 */
import type { Gateway } from '../config/schema';
import type { MwiEvent } from '../notify/mwi-publisher';
import type { Clock } from '../ports/clock';
import type { MwiNotifyRequest, MwiNotifyResult, MwiTransport } from '../ports/mwi';

/** How a simulated gateway answers a NOTIFY: a final status, no answer at all, or a refused connection. */
export type SimGatewayBehaviour = number | 'timeout' | 'refused';

/** Virtual ms a simulated gateway takes to answer. */
export const SIM_GATEWAY_LATENCY_MS = 20;

/** One NOTIFY as the simulation saw it. */
export interface SimMwiNotify {
  /** Virtual ms since the scenario started. */
  at: number;
  gateway: string;
  extension: string;
  /** The gateway's final status (0: none: timeout or refused). */
  status: number;
  delivered: boolean;
  messagesWaiting?: boolean;
  newMessages?: number;
  oldMessages?: number;
  reason?: 'change' | 'refresh';
}

export class SimMwiGateways implements MwiTransport {
  /** NOTIFYs in the order they completed (delivered or failed). */
  readonly notifies: SimMwiNotify[] = [];
  /** Mailboxes (by extension) whose delivery gave up after the retry window. */
  readonly failures: { at: number; extension: string; attempts: number }[] = [];

  /**
   * @param gateways the directory's gateways, read from the store at each NOTIFY (to tell its gateway by its address
   *   and port)
   * @param behaviours by gateway name; absent: 200
   * @param timeoutMs how long a NOTIFY to a `timeout` gateway waits (the configured per-attempt timeout)
   * @param rel virtual ms since the scenario started
   */
  constructor(
    private readonly clock: Clock,
    private readonly gateways: () => Promise<Gateway[]>,
    private readonly behaviours: Record<string, SimGatewayBehaviour>,
    private readonly timeoutMs: number,
    private readonly rel: () => number,
  ) {}

  async sendNotify(rq: MwiNotifyRequest): Promise<MwiNotifyResult> {
    const gw = (await this.gateways()).find((g) => g.address === rq.host && g.port === rq.port);
    const behaviour = (gw && this.behaviours[gw.name]) ?? 200;
    return new Promise((resolve, reject) => {
      if (behaviour === 'refused') this.clock.setTimeout(() => reject(new Error(`connect ECONNREFUSED ${rq.host}:${rq.port}`)), 1);
      else if (behaviour === 'timeout') this.clock.setTimeout(() => reject(new Error(`no final response within ${this.timeoutMs} ms`)), this.timeoutMs);
      else this.clock.setTimeout(() => resolve({ status: behaviour }), SIM_GATEWAY_LATENCY_MS);
    });
  }

  /** Records what the publisher reports (pass as `MwiService`'s `onEvent`). */
  record(event: MwiEvent): void {
    if (event.type === 'sent') {
      this.notifies.push({
        at: this.rel(),
        gateway: event.gateway,
        extension: event.extension,
        status: event.status,
        delivered: true,
        messagesWaiting: event.messagesWaiting,
        newMessages: event.state.newMessages,
        oldMessages: event.state.oldMessages,
        reason: event.reason,
      });
    } else if (event.type === 'attempt-failed') {
      this.notifies.push({ at: this.rel(), gateway: event.attempt.gateway, extension: event.extension, status: event.attempt.status, delivered: false });
    } else {
      this.failures.push({ at: this.rel(), extension: event.extension, attempts: event.attempts.length });
    }
  }
}
