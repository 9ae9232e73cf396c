/**
 * Watching a call's flows for the transcript: each flow's state as `flowId.state` whenever it changes, the root flow
 * and every child flow it invokes (the simulator's `onFlowState`).
 */
import type { AnyActorRef, StateValue } from 'xstate';

/** A state value as `state` or `parent.child` (parallel regions joined by commas). */
function flatState(v: StateValue): string {
  return typeof v === 'string' ? v : Object.entries(v).map(([k, sub]) => `${k}.${flatState(sub as StateValue)}`).join(',');
}

/**
 * Reports each flow's state when it changes, as `flowId.state`: the call's root flow and every child flow it
 * invokes (found in its snapshots' `children` and watched from then on). Subscriptions, not an xstate inspector:
 * an inspector is handed every event, action and microstep of the call, which cost more than the flows themselves.
 */
export function observeFlowStates(root: AnyActorRef, report: (state: string) => void): void {
  const watched = new WeakSet<AnyActorRef>();
  const watch = (actor: AnyActorRef) => {
    if (watched.has(actor)) return;
    watched.add(actor);
    let last = '';
    // xstate keeps a snapshot's `value` (a string for an atomic state) and `children` objects while they do not
    // change: most snapshots (an effect started or cancelled, a context update) are passed over on identity alone.
    let lastValue: StateValue | undefined;
    let lastChildren: object | undefined;
    const seen = (snap: { value?: StateValue; machine?: { id: string }; children?: Record<string, AnyActorRef | undefined> }) => {
      if (snap.value === undefined || !snap.machine) return;
      if (snap.value !== lastValue) {
        lastValue = snap.value;
        const state = `${snap.machine.id}.${flatState(snap.value)}`;
        if (state !== last) {
          last = state;
          report(state);
        }
      }
      if (snap.children && snap.children !== lastChildren) {
        lastChildren = snap.children;
        for (const child of Object.values(snap.children)) if (child) watch(child);
      }
    };
    // Failures are the runtime's to report (its own subscription); this observer only watches.
    actor.subscribe({ next: seen, error: () => undefined });
    seen(actor.getSnapshot());
  };
  watch(root);
}


/**
 * Where a call's flows are now, read from their snapshots when asked (no subscription: the admin center's live calls
 * look rarely): the innermost running flow's `flowId.state`, e.g. `mailboxMenu.summary` while a signed-in
 * caller listens. Never the flows' context (it may hold the digits typed).
 * @returns the state, or null when the flow has ended
 */
export function currentFlowState(root: AnyActorRef): string | null {
  type Snap = { status?: string; value?: StateValue; machine?: { id: string }; children?: Record<string, AnyActorRef | undefined> };
  let snap: Snap | undefined = root.getSnapshot() as Snap;
  let state: string | null = null;
  // Flows nest a few levels at most (sign-in > mailbox menu > recording); the bound guards against a cycle.
  for (let depth = 0; depth < 8 && snap; depth++) {
    if (snap.status !== 'active' || snap.value === undefined || !snap.machine) break;
    state = `${snap.machine.id}.${flatState(snap.value)}`;
    snap = Object.values(snap.children ?? {})
      .map((c) => c?.getSnapshot() as Snap | undefined)
      .find((c) => c?.status === 'active' && c.machine !== undefined && c.value !== undefined);
  }
  return state;
}
