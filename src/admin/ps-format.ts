/**
 * PowerShell's default list output (`Format-List`): one `Name : value` line per property, names padded to the
 * longest, a blank line between objects. Booleans print as True/False, lists as `{a, b}`, null as empty.
 */

/** An output object: property order is kept. */
export type OutputObject = Record<string, unknown>;

function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (Array.isArray(v)) return `{${v.map(formatValue).join(', ')}}`;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** Formats objects as PowerShell's list view. @returns the text, ending with a newline (empty for no objects) */
export function formatList(objects: readonly OutputObject[]): string {
  return objects
    .map((o) => {
      const keys = Object.keys(o);
      const width = Math.max(0, ...keys.map((k) => k.length));
      return keys.map((k) => `${k.padEnd(width)} : ${formatValue(o[k])}`).join('\n');
    })
    .map((block) => `\n${block}\n`)
    .join('');
}
