/** Text for XML documents the tools write (JUnit reports, SIPp scenarios). */

/**
 * `s` as XML character data or an attribute value: the characters XML 1.0 does not allow (most control characters,
 * lone surrogates, U+FFFE/U+FFFF) left out, and `& < > "` escaped.
 */
export function xmlEscape(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
