/**
 * VirtualClock: the simulator's {@link Clock} (DESIGN.md, "The call model": a 60-day PIN lifetime or a 5-minute
 * MWI retry costs no real time). Time stands still until a driver moves it: timers sit in a queue ordered by due
 * time (then by creation), and nothing fires by itself.
 *
 * The drivers ({@link VirtualClock.advance}, {@link VirtualClock.advanceUntil}, {@link VirtualClock.runUntilIdle})
 * alternate two things: let the program settle (pending promise callbacks run; one macrotask turn drains every
 * chained microtask), then fire the earliest timer and move `now` to its due time. Real asynchronous work that a
 * macrotask turn cannot drain (a scrypt hash in the thread pool, a mail being written) is reported through the
 * `isBusy` option: while it says busy, the clock waits for it instead of moving on, so the outcome never depends on
 * how fast the machine is.
 */
import type { Clock, TimerHandle } from '../ports/clock';

/** A timer in the queue. */
interface Timer {
  readonly at: number;
  readonly seq: number;
  fn: (() => void) | null;
}

/** Options for {@link VirtualClock}. */
export interface VirtualClockOptions {
  /**
   * True while real asynchronous work is in flight that must finish before virtual time moves on (checked after
   * each macrotask turn). Never busy by default.
   */
  isBusy?: () => boolean;
  /**
   * How long, in real ms, the clock waits for `isBusy` to clear before it gives up and moves on anyway (and calls
   * `onStall`). A hang guard only: a healthy program clears in a few ms. Default 10 000.
   */
  stallMs?: number;
  /** Called when a settle gave up waiting for `isBusy` (see `stallMs`). */
  onStall?: () => void;
}

/** The default virtual start: Monday 6 January 2025, 09:00:00 UTC. */
export const DEFAULT_VIRTUAL_START = Date.UTC(2025, 0, 6, 9, 0, 0);

const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));
const realPause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A {@link Clock} whose time moves only when driven. Deterministic: equal due times fire in creation order. */
export class VirtualClock implements Clock {
  private current: number;
  private seq = 0;
  /** Binary min-heap on (at, seq). Cancelled timers stay until they reach the top (fn === null). */
  private heap: Timer[] = [];
  private live = 0;
  private isBusy: () => boolean;
  private readonly stallMs: number;
  private readonly onStall?: () => void;

  /**
   * @param startMs the initial time, ms since the Unix epoch (default {@link DEFAULT_VIRTUAL_START})
   * @param options see {@link VirtualClockOptions}
   */
  constructor(startMs: number = DEFAULT_VIRTUAL_START, options: VirtualClockOptions = {}) {
    this.current = startMs;
    this.isBusy = options.isBusy ?? (() => false);
    this.stallMs = options.stallMs ?? 10_000;
    this.onStall = options.onStall;
  }

  /** Replaces the busy check (see {@link VirtualClockOptions.isBusy}). */
  setBusyCheck(isBusy: () => boolean): void {
    this.isBusy = isBusy;
  }

  /** Current virtual time, ms since the epoch. */
  now(): number {
    return this.current;
  }

  /** Schedules `fn` at `now + ms` (negative or non-finite `ms` count as 0). @returns a handle for clearTimeout */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const t: Timer = { at: this.current + delay, seq: this.seq++, fn };
    this.push(t);
    this.live++;
    return t;
  }

  /** Cancels a timer; unknown, fired or already cancelled handles are ignored. */
  clearTimeout(handle: TimerHandle): void {
    const t = handle as Timer | null | undefined;
    if (t && typeof t === 'object' && 'seq' in t && t.fn !== null) {
      t.fn = null;
      this.live--;
      // Cancelled timers leave the heap lazily; rebuild it when they dominate (many cancelled far-off timeouts).
      if (this.heap.length > 1024 && this.heap.length > 4 * this.live) this.compact();
    }
  }

  /** Timers waiting to fire. */
  get pendingTimers(): number {
    return this.live;
  }

  /** Due time of the earliest pending timer, or undefined when none. */
  nextTimerAt(): number | undefined {
    this.dropCancelled();
    return this.heap.length > 0 ? this.heap[0].at : undefined;
  }

  /**
   * Fires the earliest pending timer if it is due at or before `limit` (ms since the epoch), moving `now` to its
   * due time first. Synchronous: call {@link settle} afterwards to let its effects run.
   * @returns true when a timer fired
   * @throws whatever the timer's callback throws (the timer is consumed)
   */
  fireNext(limit = Infinity): boolean {
    this.dropCancelled();
    const top = this.heap[0];
    if (!top || top.at > limit) return false;
    this.pop();
    this.live--;
    const fn = top.fn!;
    top.fn = null;
    if (top.at > this.current) this.current = top.at;
    fn();
    return true;
  }

  /**
   * Lets the program settle: waits one macrotask turn (which runs every pending promise callback), and more while
   * `isBusy()` says real asynchronous work is in flight. After about 1,000 busy turns it waits in 1 ms real pauses
   * so a thread-pool job can finish; after `stallMs` of real time it gives up and calls `onStall`.
   */
  async settle(): Promise<void> {
    await immediate();
    if (!this.isBusy()) return;
    let turns = 0;
    let since = 0;
    while (this.isBusy()) {
      if (turns < 1000) {
        turns++;
        await immediate();
        continue;
      }
      if (since === 0) since = Date.now();
      else if (Date.now() - since > this.stallMs) {
        this.onStall?.();
        return;
      }
      await realPause(1);
    }
  }

  /**
   * Moves time on by `ms`, firing every timer due until then in order (settling before and after each), and ends
   * with `now` exactly `ms` later. A scenario's `advance:` and a test's "wait 5 s" are this.
   * @param ms virtual ms, >= 0
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + Math.max(0, ms);
    await this.settle();
    while (this.fireNext(target)) await this.settle();
    if (target > this.current) this.current = target;
    await this.settle();
  }

  /**
   * Drives the clock until `condition()` holds: settle, check, fire the earliest timer, repeat.
   * @param condition checked after every settle
   * @param limitMs the most virtual time to spend, ms
   * @returns true when the condition held; false when the limit was reached (then `now` is at the limit) or when
   *   nothing is left to fire (then `now` stays where the last timer left it)
   */
  async advanceUntil(condition: () => boolean, limitMs: number): Promise<boolean> {
    const deadline = this.current + Math.max(0, limitMs);
    for (;;) {
      await this.settle();
      if (condition()) return true;
      const next = this.nextTimerAt();
      if (next === undefined) return false;
      if (next > deadline) {
        this.current = Math.max(this.current, deadline);
        return false;
      }
      this.fireNext(deadline);
    }
  }

  /**
   * Fires timers until none is left or `limitMs` of virtual time has passed.
   * @returns true when no timer is left
   */
  runUntilIdle(limitMs: number): Promise<boolean> {
    return this.advanceUntil(() => this.nextTimerAt() === undefined, limitMs);
  }

  // ------------------------------------------------------------------ heap

  private compact(): void {
    const keep = this.heap.filter((t) => t.fn !== null);
    this.heap = [];
    for (const t of keep) this.push(t);
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0].fn === null) this.pop();
  }

  private static less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!VirtualClock.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && VirtualClock.less(h[l], h[m])) m = l;
        if (r < h.length && VirtualClock.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
