/**
 * The one waiting pattern of the caller-side observers (simulator and network caller): resolve with the first of
 * an event that matches, the call ending, or a time bound on the channel's clock, and leave no listener or timer
 * behind.
 */

/** Listeners that can be added and removed: an array through small adapters, or a Set. */
export interface Listeners<F> {
  add(listener: F): void;
  delete(listener: F): void;
}

/** Adapts an array of listeners to {@link Listeners}. */
export function arrayListeners<F>(list: F[]): Listeners<F> {
  return {
    add: (f) => void list.push(f),
    delete: (f) => {
      const i = list.indexOf(f);
      if (i >= 0) list.splice(i, 1);
    },
  };
}

/** What {@link waitFor} needs. */
export interface WaitForOptions<T, A extends unknown[]> {
  /** Schedules on the channel's clock; returns a handle for `clearTimer`. */
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** The bound, clock ms. */
  withinMs: number;
  /** The event to wait for, and how to read it: a value ends the wait, undefined keeps waiting. */
  events: Listeners<(...args: A) => void>;
  match(...args: A): T | undefined;
  /** The call ending ends the wait with `'ended'` (omit when the call's end is itself the event). */
  ends?: Listeners<() => void>;
}

/**
 * Waits for the first matching event, the call's end, or the bound.
 * @returns the matched value, `'ended'` or `'timeout'`
 */
export function waitFor<T, A extends unknown[]>(o: WaitForOptions<T, A>): Promise<T | 'ended' | 'timeout'> {
  return new Promise((resolve) => {
    let done = false;
    const settle = (r: T | 'ended' | 'timeout') => {
      if (done) return;
      done = true;
      o.clearTimer(timer);
      o.events.delete(onEvent);
      o.ends?.delete(onEnd);
      resolve(r);
    };
    const onEvent = (...args: A) => {
      const v = o.match(...args);
      if (v !== undefined) settle(v);
    };
    const onEnd = () => settle('ended');
    const timer = o.setTimer(() => settle('timeout'), o.withinMs);
    o.events.add(onEvent);
    o.ends?.add(onEnd);
  });
}
