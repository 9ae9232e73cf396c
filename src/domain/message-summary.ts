/**
 * The RFC 3842 message-summary body (§5.2) and the state it carries: the "MWI summary body" of DESIGN.md's domain
 * layer. Pure: no I/O.
 *
 * ```
 * Messages-Waiting: yes
 * Message-Account: sip:51234@gw1.contoso.com
 * Voice-Message: 2/8 (0/2)
 * ```
 * Urgent counts are subsets of the new and old totals, not additional (RFC 3842 §5.2; telephony-facts.md §4.1).
 */

/** RFC 3842 §5.2: counters MUST NOT exceed 2^32-1. */
export const MAX_MESSAGE_COUNT = 4_294_967_295;

/** A mailbox's voice-message counts as MWI carries them (seed 004 [S4] #4). */
export interface MwiState {
  /** New (unheard) voice messages. */
  newMessages: number;
  /** Old (heard) voice messages. */
  oldMessages: number;
  /** Urgent among the new ones (a subset of `newMessages`). */
  urgentNew: number;
  /** Urgent among the old ones (a subset of `oldMessages`). */
  urgentOld: number;
}

/** The state with `Messages-Waiting`: yes exactly when there is a new message. */
export interface MessageSummary extends MwiState {
  messagesWaiting: boolean;
  /** The `Message-Account` URI (no angle brackets), when present. */
  account?: string;
}

const clamp = (n: number) => Math.min(MAX_MESSAGE_COUNT, Math.max(0, Math.floor(n)));

/**
 * Builds the `application/simple-message-summary` body (RFC 3842 §5.2), CRLF line ends, ending with CRLF.
 * `Messages-Waiting` is yes when there are new messages (the "traditional boolean", RFC 3842 §5.2).
 * @param account the Message-Account URI, e.g. `sip:51234@gw1.contoso.com`
 * @param state counts; negative or fractional values are floored to whole numbers >= 0, larger than 2^32-1 capped
 */
export function formatMessageSummary(account: string, state: MwiState): string {
  const n = clamp(state.newMessages);
  const o = clamp(state.oldMessages);
  const un = Math.min(clamp(state.urgentNew), n);
  const uo = Math.min(clamp(state.urgentOld), o);
  return `Messages-Waiting: ${n > 0 ? 'yes' : 'no'}\r\nMessage-Account: ${account}\r\nVoice-Message: ${n}/${o} (${un}/${uo})\r\n`;
}

/**
 * Parses a message-summary body (the voice-message class only; header names case-insensitive; LF or CRLF).
 * Counts larger than 2^32-1 are read as 2^32-1, as subscribers must (RFC 3842 §5.2).
 * @returns the summary, or null when the status line is missing or malformed
 */
export function parseMessageSummary(body: string): MessageSummary | null {
  let waiting: boolean | undefined;
  let account: string | undefined;
  let counts: MwiState = { newMessages: 0, oldMessages: 0, urgentNew: 0, urgentOld: 0 };
  for (const raw of body.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') break; // optional message headers follow a blank line (RFC 3842 §5.2)
    const m = /^([A-Za-z-]+)\s*:\s*(.*)$/.exec(line);
    if (!m) return null;
    const name = m[1].toLowerCase();
    const value = m[2].trim();
    if (name === 'messages-waiting') {
      if (!/^(yes|no)$/i.test(value)) return null;
      waiting = value.toLowerCase() === 'yes';
    } else if (name === 'message-account') {
      account = value;
    } else if (name === 'voice-message') {
      const c = /^(\d+)\s*\/\s*(\d+)(?:\s*\(\s*(\d+)\s*\/\s*(\d+)\s*\))?$/.exec(value);
      if (!c) return null;
      const num = (s: string | undefined) => (s === undefined ? 0 : Math.min(MAX_MESSAGE_COUNT, Number(s)));
      counts = { newMessages: num(c[1]), oldMessages: num(c[2]), urgentNew: num(c[3]), urgentOld: num(c[4]) };
    }
  }
  if (waiting === undefined) return null;
  return { messagesWaiting: waiting, account, ...counts };
}

/** True when two states would light the lamp the same way and show the same counts. */
export function sameMwiState(a: MwiState, b: MwiState): boolean {
  return a.newMessages === b.newMessages && a.oldMessages === b.oldMessages && a.urgentNew === b.urgentNew && a.urgentOld === b.urgentOld;
}
