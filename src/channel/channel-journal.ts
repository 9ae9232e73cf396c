/**
 * ChannelJournal: what an {@link IvrChannel} keeps of a call for the ones who read it afterwards or watch it live
 * (the simulator's transcripts and scripted callers, the tests): the heard-log (every prompt that started, with its
 * start time, id and text, and how much of it was heard when it was cut short), the event log (everything that
 * happened, in order, with clock times), and the marks of where each recording started in the heard-log. The flows
 * never read it; the channel only writes it.
 */
import type { CollectResult, ConferenceRole, RecordResult } from '../flow-kit/media-types';
import type { Locale } from '../domain/locale';
import type { RenderedPrompt } from '../prompts/catalog';

/** The IVR operation a prompt belonged to. */
export type OperationKind = 'play' | 'collect' | 'record' | 'conference';

/** A prompt the caller heard start. */
export interface HeardPrompt {
  /** Position in the heard-log. */
  index: number;
  /** When it started, clock ms since the epoch. */
  at: number;
  /** Catalog id, `tone:beep` / `tone:music-on-hold`, or null for a recording. */
  id: string | null;
  text: string;
  file: string;
  durationMs: number;
  op: OperationKind;
  /** The locale of the operation that played it. */
  locale: Locale;
  /** Set when it was cut short: how much was heard, ms, and why. */
  heardMs?: number;
  stoppedBy?: 'barge-in' | 'stopped' | 'hangup' | 'terminator';
}

/** Everything that happened on the channel, in order, with clock times (ms since the epoch). */
export type ChannelEvent =
  | { at: number; type: 'answer' }
  | { at: number; type: 'prompt'; prompt: HeardPrompt }
  | { at: number; type: 'skipped'; op: OperationKind; ids: (string | null)[] }
  | { at: number; type: 'dtmf'; digit: string }
  | { at: number; type: 'speech'; durationMs: number }
  | { at: number; type: 'collected'; result: CollectResult; secret: boolean }
  | { at: number; type: 'record-start'; purpose: string }
  | { at: number; type: 'recorded'; result: RecordResult }
  | { at: number; type: 'conference'; room: string; role: ConferenceRole }
  | { at: number; type: 'hangup'; by: 'caller' | 'ivr'; cause?: string }
  | { at: number; type: 'note'; text: string; who?: 'caller' | 'sim' | 'flow' };

/** The heard-log, the event log and the recording marks of one channel, with their observers. */
export class ChannelJournal {
  /** Every prompt that started, in order. */
  readonly heard: HeardPrompt[] = [];
  /** Everything that happened, in order. */
  readonly events: ChannelEvent[] = [];
  /** Called whenever a prompt starts (after it is logged). */
  readonly promptObservers: ((p: HeardPrompt) => void)[] = [];
  /** Called whenever a recording starts (after its mark). */
  readonly recordObservers: (() => void)[] = [];
  /** Called whenever a collect finishes (after its `collected` event is logged). */
  readonly collectObservers: ((e: Extract<ChannelEvent, { type: 'collected' }>) => void)[] = [];
  /** Heard-log length when each recording started. */
  readonly recordingMarks: number[] = [];
  /** The locale of the latest operation: the one the prompts starting now are in (the channel sets it). */
  locale: Locale = 'en-US';

  /** Appends `e` to the event log (and tells the collect observers of a `collected` event). */
  log(e: ChannelEvent): void {
    this.events.push(e);
    if (e.type === 'collected' && this.collectObservers.length > 0) for (const o of this.collectObservers.slice()) o(e);
  }

  /**
   * The heard-log entry for a prompt starting now, not yet added (see {@link ChannelJournal.promptStarted}).
   * @param at clock ms since the epoch; @param op the operation it belongs to
   */
  entry(p: RenderedPrompt, at: number, op: OperationKind): HeardPrompt {
    return { index: this.heard.length, at, id: p.id, text: p.text, file: p.file, durationMs: p.durationMs, op, locale: this.locale };
  }

  /** A prompt started: appends `heard` (from {@link ChannelJournal.entry}) to the heard-log, logs it, tells the observers. */
  promptStarted(heard: HeardPrompt): void {
    this.heard.push(heard);
    this.log({ at: heard.at, type: 'prompt', prompt: heard });
    for (const o of this.promptObservers.slice()) o(heard);
  }

  /** A recording started (after its prompts and beep): marks the heard-log position and tells the observers. */
  recordingStarted(): void {
    this.recordingMarks.push(this.heard.length);
    for (const o of this.recordObservers.slice()) o();
  }
}
