/**
 * EffectRunner: runs the named effects the flows start (`flow-kit/effects.ts`): the flows' `effect.start` and
 * `effect.cancel` actions, provided to every flow by `composeFlows`.
 *
 * - `effect.start` calls the effect's implementation with its input; the result goes back to the flow that started
 *   it as `effect.done.<name>` (with `output`), a throw or a rejection as `effect.error.<name>` (with `error`). A
 *   result always arrives asynchronously (a microtask at the soonest), after the step that started the effect.
 * - `effect.cancel` (every effect state's exit action) cancels what that flow still waits for: the implementation's
 *   `signal` aborts, and its result, whenever it comes, is dropped. Starting an effect of a name already pending
 *   for the same flow cancels the older one the same way, so a late result never reaches a later state.
 * - A flow that has ended or stopped ignores results (xstate drops events sent to a stopped actor).
 */
import type { AnyActorRef } from 'xstate';
import type { EffectInput, EffectName, EffectOutput, EffectRequest } from '../flow-kit/effects';
import type { CancelSignal } from '../ports/call-channel';

/** What an effect's implementation gets besides its input. */
export interface EffectContext {
  /** Aborts when the flow leaves the state that started the effect. */
  signal: CancelSignal;
  /** The actor system of the call's flow tree: a flow and its child flows share it (the runtime keys calls by it). */
  system: object;
}

/** An effect's implementation: its output, or a promise of it. Throwing or rejecting is the effect failing. */
export type EffectImplementation<K extends EffectName> = (input: EffectInput<K>, ctx: EffectContext) => EffectOutput<K> | Promise<EffectOutput<K>>;

/** Implementations by effect name (the runtime provides all of them; a test only those its flow uses). */
export type EffectImplementations = { [K in EffectName]?: EffectImplementation<K> };

/**
 * The abort side of one started effect: a {@link CancelSignal} without the cost of an AbortController (an effect
 * starts for every prompt and digit string; almost none is ever aborted).
 */
class Cancellation implements CancelSignal {
  aborted = false;
  private listeners: (() => void)[] | null = null;

  constructor(readonly src: EffectName) {}

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return;
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners?.indexOf(listener) ?? -1;
    if (i >= 0) this.listeners!.splice(i, 1);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const ls = this.listeners;
    this.listeners = null;
    if (ls) for (const l of ls) l();
  }
}

export class EffectRunner {
  /** What each flow actor waits for (usually one effect; the conference lobby waits for two). */
  private readonly pending = new WeakMap<AnyActorRef, Cancellation[]>();

  /**
   * @param implementations the effects by name
   * @param onError called with every effect failure before it reaches the flow (for the log)
   */
  constructor(
    private readonly implementations: EffectImplementations,
    private readonly onError: (src: EffectName, err: unknown) => void = () => {},
  ) {}

  /** The two actions, to provide to a flow (`machine.provide({ actions: runner.actions })`). */
  readonly actions = {
    'effect.start': ({ self, system }: { self: AnyActorRef; system: object }, params: EffectRequest) => this.start(self, system, params),
    'effect.cancel': ({ self }: { self: AnyActorRef }) => this.cancel(self),
  };

  /**
   * Starts an effect for `self` (see the module comment).
   * @throws Error when no implementation has that name (the flow's step fails, as a missing effect should)
   */
  start(self: AnyActorRef, system: object, { src, input }: EffectRequest): void {
    const impl = this.implementations[src] as EffectImplementation<EffectName> | undefined;
    if (!impl) throw new Error(`effect "${src}" was not provided to the flow`);
    let list = this.pending.get(self);
    if (!list) this.pending.set(self, (list = []));
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i].src === src) {
        list[i].abort();
        list.splice(i, 1);
      }
    }
    const token = new Cancellation(src);
    list.push(token);
    const settle = (type: string, key: 'output' | 'error', value: unknown) => {
      if (token.aborted) return;
      const i = list!.indexOf(token);
      if (i >= 0) list!.splice(i, 1);
      self.send({ type, [key]: value } as { type: string });
    };
    const done = (output: unknown) => settle(`effect.done.${src}`, 'output', output);
    const failed = (err: unknown) => {
      if (!token.aborted) this.onError(src, err);
      settle(`effect.error.${src}`, 'error', err);
    };
    let result: unknown;
    try {
      result = impl(input as never, { signal: token, system });
    } catch (err) {
      queueMicrotask(() => failed(err));
      return;
    }
    if (result instanceof Promise) result.then(done, failed);
    else queueMicrotask(() => done(result));
  }

  /** Cancels every effect `self` still waits for. */
  cancel(self: AnyActorRef): void {
    const list = this.pending.get(self);
    if (!list || list.length === 0) return;
    for (const t of list.splice(0)) t.abort();
  }
}
