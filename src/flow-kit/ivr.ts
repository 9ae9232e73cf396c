/**
 * Small helpers shared by every flow: the common shapes of a flow's input, reading actor outputs from done events,
 * and the request builders for the two waits every IVR repeats (collect digits, play then continue).
 *
 * A note for code that runs on every call (flows' contexts and inputs, the channels): write objects out rather than
 * `{ ...source, newKey }`. In V8 (Node 20) each key added after a spread costs about 1 µs (the copied object's map
 * has no cached transitions); a flow context of ten keys built that way cost 9 µs, more than the rest of the
 * actor's creation. Spreading alone, or overriding keys the source already has, is cheap.
 */
import type { Locale } from '../domain/locale';
import { run, type IvrSettings } from './effects';
import type { CollectRequest, CollectResult, PromptItem } from './media-types';

/** Shape of an actor's done event, without depending on xstate's generic event types. */
export interface DoneEvent<T> {
  type: string;
  output: T;
}

/** The output of the actor whose completion caused the current transition. */
export function outputOf<T>(event: unknown): T {
  return (event as DoneEvent<T>).output;
}

/** A collect request with the flow's configured timeouts. */
export function collectRequest(
  settings: IvrSettings,
  locale: Locale,
  prompts: PromptItem[],
  opts: { max: number; terminators?: string; flush?: boolean; secret?: boolean },
): CollectRequest {
  return {
    secret: opts.secret,
    prompts,
    locale,
    max: opts.max,
    terminators: opts.terminators,
    flush: opts.flush,
    firstDigitTimeoutMs: settings.firstDigitTimeoutMs,
    interDigitTimeoutMs: settings.interDigitTimeoutMs,
  };
}

/** True when a collect ended with nothing typed: a no-input. */
export function isNoInput(r: CollectResult): boolean {
  return r.reason === 'timeout' && r.digits === '';
}

/** The default IVR settings (first digit 10 s, between digits 5 s, 3 repeats; telephony-facts.md §5.6). */
export const DEFAULT_IVR_SETTINGS: IvrSettings = { firstDigitTimeoutMs: 10_000, interDigitTimeoutMs: 5_000, maxPromptRepeats: 3 };

/**
 * A state that plays announcements and then moves on: to `next` when they end, and also when playing fails (an
 * announcement that cannot be played must not stop the call from ending or going on). Barge-in is off unless asked
 * for: most are the sentences a caller must hear (goodbye, "your mailbox is locked").
 * @param prompts what to say; @param next the state to go to afterwards
 * @param opts `bargeIn: true` for confirmations a caller may skip ("message deleted"), the key kept as type-ahead;
 *   `entry`: an action to run first on entering the state (e.g. noting the call's result)
 */
export function announce<T extends string, A = never>(prompts: readonly PromptItem[], next: T, opts: { bargeIn?: boolean; entry?: A } = {}) {
  const play = run('play', ({ context }: { context: { locale: Locale } }) => ({ prompts: [...prompts], locale: context.locale, bargeIn: opts.bargeIn ?? false }));
  return {
    entry: opts.entry === undefined ? [play] : [opts.entry, play],
    exit: 'effect.cancel' as const,
    on: { 'effect.done.play': next, 'effect.error.play': next },
  };
}
