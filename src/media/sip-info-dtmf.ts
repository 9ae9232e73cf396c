/**
 * DTMF carried in SIP INFO bodies (non-standard but ubiquitous; telephony-facts §4.4, Asterisk's INFO parser):
 * - `application/dtmf-relay`: lines `Signal=<digit>` and `Duration=<ms>` (CRLF or LF), keys case-insensitive,
 *   spaces around `=` allowed; Signal `0`-`9`, `*`, `#`, `A`-`D` (either case), `!` or `16` (hook flash), and the
 *   RFC 4733 codes `10`-`15` (`*`, `#`, `A`-`D`); Duration defaults to 100 ms when absent or not a number.
 * - `application/dtmf`: the body is the digit (same values as Signal); a body with `key=value` lines is read as
 *   dtmf-relay (some phones send that).
 * - `application/hook-flash`: a flash (`!`), whatever the body.
 */

/** A digit from an INFO body. */
export interface InfoDtmf {
  /** `0`-`9`, `*`, `#`, `A`-`D`, or `!` (hook flash). */
  digit: string;
  /** Key press length, ms. */
  durationMs: number;
}

/** Duration assumed when the body gives none, ms (Asterisk's default). */
export const INFO_DTMF_DEFAULT_DURATION_MS = 100;

/**
 * The SIP status to answer an INFO whose DTMF body cannot be parsed: 400 Bad Request (RFC 3261 §21.4.1, "malformed
 * syntax"), the answer issue 4 asks for malformed requests. Asterisk answers 500 instead; we do not copy it because
 * a 5xx invites the sender to retry the same body.
 */
export const INFO_DTMF_INVALID_STATUS = 400;

const DTMF_TYPES = new Set(['application/dtmf-relay', 'application/dtmf', 'application/hook-flash']);

/** The media type of a Content-Type value: lower case, parameters and spaces removed. */
function mediaType(contentType: string): string {
  return String(contentType ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * True when an INFO with this Content-Type carries DTMF for {@link parseInfoDtmf}. The SIP layer can answer other
 * INFO bodies (e.g. `application/media_control+xml`) as it sees fit (415, or 200 and ignore) without calling it.
 */
export function isDtmfInfoContentType(contentType: string): boolean {
  return DTMF_TYPES.has(mediaType(contentType));
}

const CODE_DIGITS = '0123456789*#ABCD!';

/** A Signal value to a digit: one character, or an RFC 4733 event code 0..16. */
function signalToDigit(raw: string): string | null {
  const v = raw.trim();
  if (/^\d{1,2}$/.test(v)) {
    const n = Number(v);
    return n <= 16 ? CODE_DIGITS[n] : null;
  }
  if (v.length !== 1) return null;
  const d = v.toUpperCase();
  return CODE_DIGITS.includes(d) ? d : null;
}

function parseRelay(text: string): InfoDtmf | 'invalid' {
  let digit: string | null | undefined;
  let durationMs = INFO_DTMF_DEFAULT_DURATION_MS;
  for (const line of text.split(/\r?\n|\r/)) {
    const eq = line.indexOf('=');
    if (eq < 0) continue; // blank or unknown lines are skipped; a body without a valid Signal is invalid
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1);
    if (key === 'signal') digit = signalToDigit(value);
    else if (key === 'duration') {
      const n = Number(value.trim());
      if (value.trim() !== '' && Number.isFinite(n) && n >= 0) durationMs = Math.round(n);
    }
  }
  if (!digit) return 'invalid';
  return { digit, durationMs };
}

/**
 * Reads the digit of a SIP INFO request (see the module comment for the formats).
 * @param contentType the request's Content-Type header value (parameters allowed)
 * @param body the request body (string, or bytes read as UTF-8)
 * @returns the digit and its duration (ms); `null` for an empty or blank body (answer 200, no digit);
 *          `'invalid'` for a body that is not a DTMF body, or a Content-Type that is not one of the three
 *          (answer {@link INFO_DTMF_INVALID_STATUS}; use {@link isDtmfInfoContentType} first to treat other INFO
 *          packages differently). Never throws.
 */
export function parseInfoDtmf(contentType: string, body: string | Uint8Array | null | undefined): InfoDtmf | null | 'invalid' {
  const type = mediaType(contentType);
  const text = body == null ? '' : typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  if (type === 'application/hook-flash') return { digit: '!', durationMs: INFO_DTMF_DEFAULT_DURATION_MS };
  if (!DTMF_TYPES.has(type)) return 'invalid';
  if (text.trim() === '') return null;
  if (type === 'application/dtmf' && !text.includes('=')) {
    const digit = signalToDigit(text);
    return digit ? { digit, durationMs: INFO_DTMF_DEFAULT_DURATION_MS } : 'invalid';
  }
  return parseRelay(text);
}
