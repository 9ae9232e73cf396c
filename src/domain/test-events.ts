/**
 * Prompt and state events for SIP test tools (issue 22, "Prompt and state events for any test tool"): what a caller
 * asks for in its INVITE, and the event bodies the IVR sends it as in-dialog SIP INFO (RFC 6086, legacy INFO usage:
 * no Info-Package is negotiated). Pure: the runtime (`runtime/test-events.ts`) decides whether a caller gets them and
 * sends them; the signalling adapters only parse the header and carry the INFOs.
 */

/** The INVITE header a caller asks for events with: `X-VA-Test-Events: prompts, digits, states`. */
export const TEST_EVENTS_HEADER = 'X-VA-Test-Events';

/** The Content-Type of every event INFO: one JSON object per INFO. */
export const TEST_EVENT_CONTENT_TYPE = 'application/vnd.voice-access.event+json';

/** The kinds of events a caller may ask for. */
export const TEST_EVENT_KINDS = ['prompts', 'digits', 'states'] as const;

/** One of {@link TEST_EVENT_KINDS}. */
export type TestEventKind = (typeof TEST_EVENT_KINDS)[number];

/**
 * Parses the value of {@link TEST_EVENTS_HEADER}: a comma-separated list of kinds, case-insensitive, blanks ignored
 * (`prompts, digits, states`; `PROMPTS`). Unknown words are ignored (a newer tool may ask for more); several
 * occurrences of the header come joined with `,` and are read as one list.
 * @param value the header's value; undefined when the INVITE had none
 * @returns the kinds asked for, each once, in the order of {@link TEST_EVENT_KINDS}; empty when none
 */
export function parseTestEventsHeader(value: string | undefined): TestEventKind[] {
  if (!value) return [];
  const words = new Set(value.split(',').map((w) => w.trim().toLowerCase()));
  return TEST_EVENT_KINDS.filter((k) => words.has(k));
}

/** Where a call's flows are: the innermost running flow's id (`signIn`) and its state path (`extension`). */
export interface FlowPosition {
  flow: string | null;
  state: string | null;
}

/**
 * A prompt started (`prompts`). `prompt` is the catalog id (`enter-extension`), `tone:<name>` for a tone, null for a
 * recording (a voice message, a greeting). `digits`: the digits the flow accepted for non-secret inputs since the
 * previous prompt event, when there were any. `secret`: the prompt plays for a secret input (a PIN): such an event
 * never carries digits.
 */
export type PromptEvent = {
  event: 'prompt';
  seq: number;
  prompt: string | null;
  locale: string;
} & FlowPosition & ({ secret: true } | { digits?: string });

/**
 * An input the flow collected (`digits`): the digits (terminator not included) and why the collect ended
 * (`terminator`, `max`, `timeout`, `hangup`), with the terminator key; for a secret input (a PIN) only
 * `"secret": true` and the reason, never the digits nor the key that ended them.
 */
export type DigitsEvent = {
  event: 'digits';
  seq: number;
  reason: string;
} & FlowPosition & ({ secret: true } | { digits: string; terminator?: string });

/** A flow entered a state (`states`). */
export type StateEvent = { event: 'state'; seq: number } & FlowPosition;

/** One event, as sent in an INFO body (JSON). */
export type TestEvent = PromptEvent | DigitsEvent | StateEvent;

/**
 * Splits a `flowId.state.path` (the form `runtime/flow-states.ts` reports) into the flow and its state path.
 * @returns `{ flow: null, state: null }` for null (the flow has ended)
 */
export function flowPosition(flowState: string | null): FlowPosition {
  if (!flowState) return { flow: null, state: null };
  const dot = flowState.indexOf('.');
  return dot < 0 ? { flow: flowState, state: null } : { flow: flowState.slice(0, dot), state: flowState.slice(dot + 1) };
}
