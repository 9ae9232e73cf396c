/**
 * The Operation abstraction of an {@link IvrChannel}: one pending IVR operation (play, collect, record, conference)
 * with its handlers for what can happen to it (a digit, speech, the call ending, an abort), its timers on the
 * channel's clock and its one-shot finish; what the channel lends every operation ({@link OperationHost}); and the
 * playback of a sequence of prompts that all of them share ({@link startPlayback}). Each operation has its own file
 * (`play-operation.ts`, `collect-operation.ts`, `record-operation.ts`, `conference-operation.ts`).
 */
import type { CancelSignal } from '../ports/call-channel';
import type { Clock, TimerHandle } from '../ports/clock';
import { PromptCatalog, type RenderedPrompt } from '../prompts/catalog';
import type { ChannelEvent, ChannelJournal, HeardPrompt, OperationKind } from './channel-journal';

/** A pending operation: its handlers, timers and the one-shot finish. */
export class Operation<T> {
  done = false;
  private readonly timers = new Set<TimerHandle>();
  onDigit: (digit: string) => void = () => {};
  onCallEnd: () => void = () => {};
  onAbort: () => void = () => {};
  onSpeech: () => void = () => {};
  /** Run once at finish: stops media the operation started (a prompt still playing). */
  readonly cleanups: (() => void)[] = [];
  /** Set by the channel: settles the promise and detaches the operation. */
  settle: (result: T) => void = () => {};
  /** Set by the channel: rejects the promise and detaches the operation. */
  settleError: (err: unknown) => void = () => {};

  constructor(
    readonly kind: OperationKind,
    private readonly clock: Clock,
  ) {}

  finish(result: T): void {
    if (this.close()) this.settle(result);
  }

  /** Ends the operation with an error (a recording could not be written): its promise rejects. */
  fail(err: unknown): void {
    if (this.close()) this.settleError(err);
  }

  /** Marks it done, clears its timers and runs its cleanups; false when it was done already. */
  private close(): boolean {
    if (this.done) return false;
    this.done = true;
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    for (const c of this.cleanups.splice(0)) c();
    return true;
  }

  timer(fn: () => void, ms: number): TimerHandle {
    const h = this.clock.setTimeout(() => {
      this.timers.delete(h);
      if (!this.done) fn();
    }, ms);
    this.timers.add(h);
    return h;
  }

  cancel(h: TimerHandle | undefined): void {
    if (h === undefined) return;
    this.clock.clearTimeout(h);
    this.timers.delete(h);
  }
}

/** A running sequence of prompts. */
export interface Playback {
  stop(why: NonNullable<HeardPrompt['stoppedBy']>): void;
}

/** What {@link startPlayback} needs of the channel. */
export interface PlaybackHost {
  readonly clock: Clock;
  readonly journal: ChannelJournal;
  /** The channel's media hook: starts one prompt, `onEnd` when it played to its end; returns its stop. */
  startPrompt(prompt: RenderedPrompt, onEnd: () => void): () => void;
}

/** What an IvrChannel lends each of its operations (the operation files cannot reach its protected members). */
export interface OperationHost extends PlaybackHost {
  readonly catalog: PromptCatalog;
  /** Digits typed but not yet taken by an operation (operations take from it, put back, or replace it). */
  typeAhead: string[];
  /** Adds `e` to the channel's event log. */
  log(e: ChannelEvent): void;
  /**
   * Starts an operation: answers at once when the call has ended (`whenEnded`) or `signal` is already aborted
   * (`whenAborted`), stops a still-pending operation, wires the abort signal, and runs `start`.
   */
  begin<T>(kind: OperationKind, signal: CancelSignal | undefined, whenEnded: T, whenAborted: T, start: (op: Operation<T>) => void): Promise<T>;
}

/** Plays `prompts` in order on the clock (logging each as it starts); `onDone` after the last (unless looping). */
export function startPlayback<T>(host: PlaybackHost, op: Operation<T>, prompts: RenderedPrompt[], loop: boolean, onDone: () => void): Playback {
  let i = 0;
  let current: HeardPrompt | null = null;
  let stopPrompt: (() => void) | undefined;
  let stopped = false;
  const total = PromptCatalog.durationOf(prompts);
  const halt = () => {
    const s = stopPrompt;
    stopPrompt = undefined;
    s?.();
  };
  op.cleanups.push(halt);
  const next = () => {
    if (stopped || op.done) return;
    if (i >= prompts.length) {
      if (loop && total > 0) i = 0;
      else {
        current = null;
        if (!loop) onDone();
        return;
      }
    }
    const p = prompts[i++];
    current = host.journal.entry(p, host.clock.now(), op.kind);
    host.journal.promptStarted(current);
    if (stopped || op.done) return;
    stopPrompt = host.startPrompt(p, () => {
      stopPrompt = undefined;
      next();
    });
  };
  next();
  return {
    stop: (why) => {
      if (stopped) return;
      stopped = true;
      halt();
      if (current) {
        const heardMs = host.clock.now() - current.at;
        if (heardMs < current.durationMs) {
          current.heardMs = heardMs;
          current.stoppedBy = why;
        }
      }
    },
  };
}
