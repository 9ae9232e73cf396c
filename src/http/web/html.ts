/**
 * HTML for the admin center's web pages (issue 21), written as template literals: {@link html} escapes every value
 * it is given (text and attribute values alike) unless the value is already {@link SafeHtml} (made by `html` itself,
 * or by {@link raw} for a constant the code wrote). Arrays are joined; `null`, `undefined` and `false` render nothing.
 * Nothing the user, the store or the cmdlets give reaches a page unescaped.
 */

/** HTML that is already safe to put in a page (escaped, or written by the code). */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes text for an HTML text node or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

/** A value `html` accepts: text (escaped), a number, HTML already safe, a list of those; nothing for null/false. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.text;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

/** The tagged template: `html\`<td>${name}</td>\`` with `name` escaped. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

/** Marks a constant string written by the code as HTML (never a value from a request or the store). */
export function raw(text: string): SafeHtml {
  return new SafeHtml(text);
}

/** A path segment for a URL in a page: `tony@contoso.com` -> `tony%40contoso.com`. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
