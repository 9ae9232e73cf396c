/**
 * Transcripts of simulated calls: the report types of one call ({@link CallReport}, its {@link TranscriptLine}s and
 * {@link HeardLine}s), the scenario clock (`m:ss.mmm`), the lines an in-process call's channel events become, and
 * the text a person reads ({@link formatTranscript}). The in-process runner (`runner.ts`) and the network runner
 * (`net/net-runner.ts`) both build their {@link CallReport}s on these types, so one formatter serves both.
 *
 * A PIN state's digits are never shown (DESIGN.md, "Logs"): collected digits in such a state are masked here, and
 * the scripted caller masks the keys it presses then (`scripted-caller.ts`).
 */
import type { CallRecord } from '../runtime/call-runtime';
import type { ChannelEvent } from './sim-call-channel';

/** One line of a call's transcript. */
export interface TranscriptLine {
  /** Virtual ms since the scenario started. */
  at: number;
  who: 'ivr' | 'caller' | 'sim' | 'flow';
  text: string;
}

/** A prompt a caller heard start. */
export interface HeardLine {
  /** Virtual ms since the scenario started. */
  at: number;
  id: string | null;
  text: string;
  /** The locale it played in (in-process runs; `simulate --coverage`). */
  locale?: string;
}

/** One call of a scenario report: who called whom, what happened (the transcript), what was heard, the result. */
export interface CallReport {
  id: string;
  from: string | null;
  to: string;
  diversion?: string;
  /** The runtime's record of the call, or null when it did not end. */
  record: CallRecord | null;
  transcript: TranscriptLine[];
  heard: HeardLine[];
  /** This call's step failures (also in the report's `failures`). */
  failures: string[];
  /** Why `record` is null when the call did end (over the network: the result is the server's). */
  resultNote?: string;
}

/** Formats virtual ms since the start as `m:ss.mmm`, `h:mm:ss.mmm` or `Nd h:mm:ss.mmm`. */
export function formatClock(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  let rest = ms - days * 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1_000);
  const milli = rest - s * 1_000;
  const tail = `${String(s).padStart(2, '0')}.${String(milli).padStart(3, '0')}`;
  if (days > 0) return `${days}d ${h}:${String(m).padStart(2, '0')}:${tail}`;
  if (h > 0) return `${h}:${String(m).padStart(2, '0')}:${tail}`;
  return `${m}:${tail}`;
}

/** How a transcript names a prompt: its id, or `[recording]` for a recorded message or name. */
export const idOf = (p: { id: string | null }) => p.id ?? '[recording]';

/** ms as seconds for transcripts: `1.786s`, `3s`. */
const secs = (ms: number) => `${ms / 1000}s`;

/** The transcript line of one channel event, or null for one the transcript leaves out. */
function channelLine(e: ChannelEvent, start: number): TranscriptLine | null {
  const at = e.at - start;
  switch (e.type) {
    case 'answer':
      return { at, who: 'ivr', text: 'answers' };
    case 'prompt': {
      const p = e.prompt;
      const cut = p.stoppedBy ? ` (cut after ${secs(p.heardMs!)}: ${p.stoppedBy})` : '';
      return { at, who: 'ivr', text: `plays ${idOf(p)} "${p.text}"${cut}` };
    }
    case 'skipped':
      return { at, who: 'ivr', text: `skips ${e.ids.map((id) => id ?? '[recording]').join(', ')} (type-ahead)` };
    case 'dtmf':
      return null; // the script's "presses" line says it
    case 'speech':
      return { at, who: 'caller', text: `speaks for ${secs(e.durationMs)}` };
    case 'collected': {
      const r = e.result;
      // A PIN state's digits are never shown (DESIGN.md: never log a digit string entered in a PIN state).
      const digits = e.secret ? '*'.repeat(r.digits.length) : r.digits;
      return { at, who: 'ivr', text: `got digits "${digits}" (${r.reason}${r.terminator ? ` ${r.terminator}` : ''})` };
    }
    case 'record-start':
      return { at, who: 'ivr', text: `records (${e.purpose})` };
    case 'recorded': {
      const r = e.result;
      const what = r.file ? `${secs(r.durationMs)} of audio` : 'nothing';
      return { at, who: 'ivr', text: `recorded ${what} (${r.reason}${r.terminator ? ` ${r.terminator}` : ''})` };
    }
    case 'conference':
      return { at, who: 'ivr', text: `joins the caller to conference ${e.room} as ${e.role}` };
    case 'hangup':
      return e.by === 'ivr' ? { at, who: 'ivr', text: `hangs up${e.cause ? ` (${e.cause})` : ''}` } : { at, who: 'caller', text: 'hangs up' };
    case 'note':
      return { at, who: e.who ?? 'sim', text: e.text };
  }
}

/**
 * The transcript of an in-process call: one line per channel event that a person should read (pressed keys are
 * said by the scripted caller's own line, not here).
 * @param events the call channel's events, in order (times: the scenario clock, ms since the epoch)
 * @param start the scenario's start (ms since the epoch): line times are ms since it
 */
export function channelTranscript(events: readonly ChannelEvent[], start: number): TranscriptLine[] {
  const lines: TranscriptLine[] = [];
  for (const e of events) {
    const l = channelLine(e, start);
    if (l) lines.push(l);
  }
  return lines;
}

/** Formats a call's transcript for people: a header, one line per event, the result. */
export function formatTranscript(call: CallReport): string {
  const head = `call ${call.id}: ${call.from ?? 'anonymous'} -> ${call.to}${call.diversion ? ` (diverted from ${call.diversion})` : ''}`;
  const body = call.transcript.map((l) => `  ${formatClock(l.at).padStart(10)}  ${l.who.padEnd(6)} ${l.text}`);
  const r = call.record;
  const tail = r ? `  result: ${r.result} (${r.flow}${r.identity ? `, ${r.identity}` : ''})` : `  result: (${call.resultNote ?? 'the call did not end'})`;
  return [head, ...body, tail].join('\n');
}
