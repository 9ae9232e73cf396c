/**
 * What "in order" means for the lamp changes a mailbox's UM IP gateways receive (issue 19, "Nothing lost"), as one
 * checker shared by the outage tests on the virtual clock (`mwi-outage.test.ts`) and over real sockets
 * (`test/e2e/mwi-outage.test.ts`).
 *
 * The gateways of a dial plan front one PBX: a lamp is set by whichever gateway accepted the NOTIFY (failover), so the
 * order is judged per mailbox over all its gateways together (and so holds for each gateway alone too). The publisher
 * sends one NOTIFY per mailbox at a time and reads the counts afresh for every round of attempts; changes made while
 * no gateway can take them are coalesced into the latest. So, for each mailbox, with `history` the states its counts
 * went through and `receipts` the NOTIFYs its gateways accepted, in the order they were sent:
 * 1. every accepted state is one the mailbox really had, and had at most `lagMs` before that NOTIFY was sent (the
 *    counts are read at the start of a round; a failover within the round sends what was read then): no stale state;
 * 2. their positions in the history never go back: intermediate states may be skipped (coalesced) and a state may be
 *    sent again (a retry to another gateway, a refresh), but nothing older ever follows something newer;
 * 3. the last accepted state is the mailbox's final state.
 */
import type { MwiState } from '../../src/domain/message-summary';

/** A mailbox's counts as a comparable text: `new/old (urgentNew/urgentOld)`, as in the body's Voice-Message line. */
export function lampText(s: MwiState): string {
  return `${s.newMessages}/${s.oldMessages} (${s.urgentNew}/${s.urgentOld})`;
}

/** One state a mailbox's counts took, from `at` (ms; the clock of the test) until the next one. */
export interface LampChange {
  at: number;
  state: string;
}

/** One NOTIFY a gateway accepted. */
export interface LampReceipt {
  /** When it was sent (virtual clock) or received (real sockets), ms. */
  at: number;
  gateway: string;
  state: string;
}

/**
 * Checks the three rules above.
 * @param history the mailbox's states in time order, starting with its state before the test's first change
 * @param receipts the accepted NOTIFYs in the order they were sent
 * @param lagMs how long before a NOTIFY was sent its state may have stopped being current (Infinity: any earlier
 *   state, for real sockets where the test cannot see when the server read the counts)
 * @returns the problems found, each naming the receipt; empty when the rules hold
 */
export function lampOrderProblems(history: LampChange[], receipts: LampReceipt[], lagMs: number): string[] {
  const problems: string[] = [];
  const describe = (r: LampReceipt, i: number) => `NOTIFY #${i + 1} (${r.state} at ${r.gateway}, t=${r.at})`;
  let position = -1;
  receipts.forEach((r, i) => {
    // The positions in the history where this state was current at some moment in [at - lag, at].
    const candidates: number[] = [];
    history.forEach((h, k) => {
      const until = k + 1 < history.length ? history[k + 1].at : Infinity;
      if (h.state === r.state && h.at <= r.at && until > r.at - lagMs) candidates.push(k);
    });
    if (candidates.length === 0) {
      problems.push(`${describe(r, i)}: not a state the mailbox had within ${lagMs} ms before it was sent (stale or unknown)`);
      return;
    }
    const next = candidates.filter((k) => k >= position);
    if (next.length === 0) {
      problems.push(`${describe(r, i)}: an older state after a newer one (history position ${Math.max(...candidates)} after ${position})`);
      return;
    }
    position = Math.max(...next);
  });
  const final = history[history.length - 1]?.state;
  const last = receipts[receipts.length - 1]?.state;
  if (final !== undefined && last !== final) problems.push(`the last accepted state is ${last ?? 'none'}, the mailbox's final state ${final}`);
  return problems;
}
