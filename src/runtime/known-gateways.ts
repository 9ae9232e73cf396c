/**
 * KnownGateways: the UM IP gateways as last read from the store, for the one question that must be answered
 * synchronously on every SIP message: is this source address a gateway's (the embedded stack's flood limiter gives
 * gateways their higher limit, `sip/embedded/flood-limiter.ts`)? The store answers asynchronously, so the list is
 * kept here and read again: at start, at each call's admission (which reads the store anyway: admission itself is
 * exact, {@link KnownGateways.admit}), and whenever another process writes to the store (`watchOtherWriters`: a
 * cmdlet's New-/Set-UMIPGateway). A gateway added by a cmdlet thus counts from the flood limiter's next window, as
 * before.
 */
import type { Logger } from 'pino';
import { admitSource, normalizeAddress, type Admission } from '../domain/gateway-admission';
import type { Gateway } from '../domain/directory-objects';
import type { Clock } from '../ports/clock';
import type { Store } from '../ports/store';

export class KnownGateways {
  private list: readonly Gateway[] = [];
  /** Reads started, and the newest one whose answer is kept (an older answer arriving late is dropped). */
  private reads = 0;
  private kept = 0;

  /** @param store the gateways, and the watch for other processes' writes */
  constructor(private readonly store: Pick<Store, 'listGateways' | 'watchOtherWriters'>) {}

  /**
   * Reads the gateways from the store now and keeps them.
   * @returns the gateways in failover order
   * @throws what the store throws (the list kept stays as it was)
   */
  async refresh(): Promise<readonly Gateway[]> {
    const read = ++this.reads;
    const list = await this.store.listGateways();
    if (read > this.kept) {
      this.kept = read;
      this.list = list;
    }
    return list;
  }

  /**
   * The admission of a new call from `source` (`domain/gateway-admission.ts`), on the gateways read from the store
   * now (which also refreshes the list kept).
   * @throws what the store throws (the signalling answers 503 for an unavailable store)
   */
  async admit(source: string): Promise<Admission> {
    return admitSource(source, await this.refresh());
  }

  /** Whether `address` is a gateway's that is not Disabled, by the list last read. Synchronous. */
  isGateway(address: string): boolean {
    const a = normalizeAddress(address);
    return this.list.some((g) => g.status !== 'Disabled' && normalizeAddress(g.address) === a);
  }

  /**
   * Reads the list again whenever another process writes to the store.
   * @param intervalMs how often a polling store (SQLite) looks, ms
   * @returns a function that stops the watch
   */
  watch(clock: Clock, intervalMs: number, logger: Pick<Logger, 'warn'>): () => void {
    const failed = (err: unknown) => logger.warn({ err }, 'cannot read the UM IP gateways from the store');
    return this.store.watchOtherWriters({
      clock,
      intervalMs,
      onChange: () => void this.refresh().catch(failed),
      onError: failed,
    });
  }
}
