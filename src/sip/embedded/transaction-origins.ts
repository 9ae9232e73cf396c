/**
 * Server transactions matched the RFC 3261 way (§17.2.3: the top Via's branch, its sent-by and the method). The
 * `sip` package matches by CSeq method, Call-ID and branch only, so a request from another sent-by that reuses a
 * branch (and a Call-ID) is taken for a retransmission of the first sender's transaction: the package re-sends the
 * first sender's response to the first sender, and the second sender never gets an answer.
 *
 * {@link TransactionOrigins} remembers the sent-by of each recent request under the package's key; a request with
 * that key from another sent-by is a new transaction, which the server keeps from the package and handles itself
 * ({@link CollidedTransactions}: its responses go out directly, its retransmissions get the last one again).
 */
import type { SipFlow, SipRequest, SipResponse } from './sip-package';

/** How long a request's origin is remembered: one to two periods (the package keeps a transaction about 32 s). */
const PERIOD_MS = 40_000;
/** Origins remembered per period (memory bound; beyond it a reused branch goes unnoticed, as before). */
const MAX_PER_PERIOD = 65_536;

/**
 * The package's transaction key (`makeTransactionId` in sip.js: CSeq method, Call-ID, top Via branch; an ACK
 * belongs to its INVITE's transaction).
 */
export function packageTransactionKey(rq: SipRequest): string {
  const method = rq.method === 'ACK' ? 'INVITE' : rq.headers.cseq.method;
  return `${method},${rq.headers['call-id']},${rq.headers.via[0]?.params?.branch ?? ''}`;
}

/** The top Via's sent-by (`host:port`, host in lower case), the other half of an RFC 3261 §17.2.3 match. */
export function sentByOf(rq: SipRequest): string {
  const v = rq.headers.via[0];
  return `${String(v?.host ?? '').toLowerCase()}:${v?.port || ''}`;
}

/** Whether two requests share the top Via's sent-by. */
export function sameSentBy(a: SipRequest, b: SipRequest): boolean {
  return sentByOf(a) === sentByOf(b);
}

/** The sent-by of recent requests by the package's transaction key. */
export class TransactionOrigins {
  private current = new Map<string, string>();
  private previous = new Map<string, string>();
  private periodStart: number;

  constructor(private readonly now: () => number = Date.now) {
    this.periodStart = now();
  }

  /**
   * Notes a request as it arrives, before the package's transaction layer sees it (an ACK is compared with its
   * INVITE's origin, not remembered).
   * @returns 'new' (no request with its key seen lately), 'same' (a retransmission: same key, same sent-by), or
   *   'other' (the same key from another sent-by: the package would take it for the other's retransmission)
   */
  observe(rq: SipRequest): 'new' | 'same' | 'other' {
    this.rotate();
    const key = packageTransactionKey(rq);
    const sentBy = sentByOf(rq);
    const known = this.current.get(key) ?? this.previous.get(key);
    if (known === undefined) {
      if (rq.method !== 'ACK' && this.current.size < MAX_PER_PERIOD) this.current.set(key, sentBy);
      return 'new';
    }
    if (known !== sentBy) return 'other';
    if (!this.current.has(key) && this.current.size < MAX_PER_PERIOD) this.current.set(key, sentBy);
    return 'same';
  }

  private rotate(): void {
    const now = this.now();
    if (now - this.periodStart < PERIOD_MS) return;
    this.previous = this.current;
    this.current = new Map();
    this.periodStart = now;
  }
}

/** A transaction the server keeps itself (its request collided with another sender's in the package). */
export interface CollidedTransaction {
  /** Where the request came from: responses go back there. */
  flow: SipFlow;
  /** The last response sent, re-sent when the request comes again. */
  last: SipResponse | null;
  createdAt: number;
}

/** The collided transactions by RFC 3261 key (package key and sent-by), kept about as long as the package would. */
export class CollidedTransactions {
  private readonly byKey = new Map<string, CollidedTransaction>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The transaction `rq` belongs to, if it is one of ours. */
  find(rq: SipRequest): CollidedTransaction | undefined {
    return this.byKey.get(`${packageTransactionKey(rq)}\u0000${sentByOf(rq)}`);
  }

  /** Opens a transaction for `rq` (the first time it is seen). */
  open(rq: SipRequest, flow: SipFlow): CollidedTransaction {
    const tx: CollidedTransaction = { flow, last: null, createdAt: this.now() };
    this.byKey.set(`${packageTransactionKey(rq)}\u0000${sentByOf(rq)}`, tx);
    return tx;
  }

  /** Forgets transactions older than `maxAgeMs`. */
  sweep(maxAgeMs: number): void {
    const now = this.now();
    for (const [k, tx] of this.byKey) if (now - tx.createdAt > maxAgeMs) this.byKey.delete(k);
  }
}
