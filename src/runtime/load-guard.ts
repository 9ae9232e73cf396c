/**
 * LoadGuard: refuses a new call with 503 Service Unavailable and a Retry-After (RFC 3261 §21.5.4, §20.33) once
 * MaxCallsAllowed calls are up: the most concurrent calls the service takes (Exchange's `Set-UMService
 * -MaxCallsAllowed`, "the maximum number of concurrent voice calls that the Unified Messaging service allows"), or
 * while the process' resident memory is above its budget (`sip.memoryBudgetMB`, issue 19). Each refusal is counted
 * (`va_calls_refused_total{reason="max-calls"|"memory"}`); the log says when an episode starts (with the code) and
 * when calls are taken again, not once per call.
 * Shared by every signalling adapter: `serve` asks it after the UM IP gateway admission rule
 * (`domain/gateway-admission.ts`) and before anything is allocated, so a refused call costs no RTP port, SDP answer
 * or flow.
 *
 * The drain switch is here too (Exchange's `Set-UMService -Status NoNewCalls`, issue 21): while the status is
 * `NoNewCalls` every new call gets the same 503 with Retry-After (`va_calls_refused_total{reason="draining"}`), so a
 * gateway sends it elsewhere, and calls in progress go on to their end.
 *
 * Load itself is not guarded: refusing on event-loop utilization (over 97% of the last second) was tried and
 * measured with SIPp against `serve`: at 1,000 calls/s, a rate it keeps up with, some seconds were that busy and a
 * tenth of the calls were refused; at 2,000 calls/s, past its ceiling, a fifth of the calls completed all the same.
 * The delay that matters (datagrams waiting in the kernel's socket queue) is not visible to the process.
 */
import type { Logger } from 'pino';
import type { Admission } from '../domain/gateway-admission';
import { ErrorCodes } from '../errors';
import { metrics } from '../metrics';

/** Settings of a {@link LoadGuard} (the directory's `sip.maxCallsAllowed` and `sip.retryAfterSeconds`). */
export interface LoadGuardOptions {
  /** Concurrent calls at which new ones are refused; null: no limit. */
  maxCallsAllowed: number | null;
  /** Resident memory above which new calls are refused, bytes; null or absent: no budget. */
  memoryBudgetBytes?: number | null;
  /** The process' resident memory now, bytes [process.memoryUsage.rss]. */
  rss?: () => number;
  /** The calls up now. */
  activeCalls: () => number;
  /** The Retry-After of the 503, s. */
  retryAfterSeconds: number;
  /** Told once when the guard starts refusing calls and once when it takes them again (not per call). */
  logger?: Pick<Logger, 'warn' | 'info'>;
}

/**
 * The server's status, after Exchange's `Set-UMService -Status` (Enabled | NoNewCalls; Exchange's Disabled, which
 * stops the service, is `serve` being stopped): NoNewCalls refuses new calls, calls in progress finish.
 */
export type ServiceStatus = 'Enabled' | 'NoNewCalls';

export class LoadGuard {
  /** Calls refused since start for load (MaxCallsAllowed, memory); not those refused while draining. */
  refused = 0;
  private serviceStatus: ServiceStatus = 'Enabled';
  /** Refusals in the current episode (0: taking calls). */
  private refusing = 0;

  /** @throws RangeError when maxCallsAllowed is not a positive integer or null, or retryAfterSeconds not a positive integer */
  constructor(private readonly opts: LoadGuardOptions) {
    const { maxCallsAllowed, retryAfterSeconds } = opts;
    if (maxCallsAllowed !== null && !(Number.isInteger(maxCallsAllowed) && maxCallsAllowed > 0)) {
      throw new RangeError(`maxCallsAllowed must be a positive integer or null, not ${maxCallsAllowed}`);
    }
    if (!(Number.isInteger(retryAfterSeconds) && retryAfterSeconds > 0)) {
      throw new RangeError(`retryAfterSeconds must be a positive integer, not ${retryAfterSeconds}`);
    }
  }

  /** The drain switch's position (`Set-UMService -Status`). */
  get status(): ServiceStatus {
    return this.serviceStatus;
  }

  /**
   * Turns the drain switch: `NoNewCalls` refuses every new call with 503 from now on (calls in progress go on),
   * `Enabled` takes them again. Logged once per change. In this process only, until it stops (a restart takes calls).
   * @returns true when the status changed
   */
  setStatus(status: ServiceStatus): boolean {
    if (status === this.serviceStatus) return false;
    this.serviceStatus = status;
    if (status === 'NoNewCalls') this.opts.logger?.warn({ status, active: this.opts.activeCalls() }, 'NoNewCalls: new calls get 503; calls in progress go on');
    else this.opts.logger?.info({ status }, 'Enabled: taking new calls again');
    return true;
  }

  /**
   * Decides on a new call before anything is allocated for it.
   * @returns a 503 refusal with its Retry-After, or null when the call may go on to the next rule
   */
  check(): Extract<Admission, { admit: false }> | null {
    if (this.serviceStatus === 'NoNewCalls') {
      metrics.callsRefused.inc({ reason: 'draining' });
      return { admit: false, status: 503, reason: 'the server takes no new calls (Set-UMService -Status NoNewCalls)', retryAfterSeconds: this.opts.retryAfterSeconds };
    }
    const { maxCallsAllowed } = this.opts;
    if (maxCallsAllowed !== null) {
      const active = this.opts.activeCalls();
      if (active >= maxCallsAllowed) return this.refuse('max-calls', ErrorCodes.CALL_LIMIT, `${active} calls up: MaxCallsAllowed (${maxCallsAllowed}) reached`);
    }
    const budget = this.opts.memoryBudgetBytes;
    if (budget != null) {
      const rss = (this.opts.rss ?? process.memoryUsage.rss)();
      if (rss > budget) {
        const mb = (n: number) => Math.round(n / 1048576);
        return this.refuse('memory', ErrorCodes.MEMORY_BUDGET, `${mb(rss)} MB resident: over the memory budget (${mb(budget)} MB)`);
      }
    }
    if (this.refusing > 0) {
      this.opts.logger?.info({ refused: this.refusing }, 'taking new calls again');
      this.refusing = 0;
    }
    return null;
  }

  private refuse(resource: 'max-calls' | 'memory', code: string, reason: string): Extract<Admission, { admit: false }> {
    this.refused++;
    metrics.callsRefused.inc({ reason: resource });
    if (this.refusing++ === 0) this.opts.logger?.warn({ code, retryAfterSeconds: this.opts.retryAfterSeconds }, `new calls refused with 503: ${reason}`);
    return { admit: false, status: 503, reason, retryAfterSeconds: this.opts.retryAfterSeconds };
  }
}
