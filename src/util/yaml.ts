/**
 * YAML text to plain data, for the files users write (the directory, scenarios), with every failure as a message
 * instead of an exception of the `yaml` package's own: a syntax error (the first of the document's errors, with its
 * line and column), or what turning the document into data throws (an alias to an anchor that is not set before it,
 * an alias count past the package's resource-exhaustion limit).
 */
import { parseDocument } from 'yaml';

/** The data, or why there is none. */
export type YamlData = { ok: true; value: unknown } | { ok: false; message: string };

/**
 * Parses YAML text into plain data (an empty document is `null`).
 * A key repeated in one mapping is an error (the package's default).
 * @param text the YAML source
 * @returns the data, or the first problem's message; never throws for bad input
 */
export function parseYamlData(text: string): YamlData {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) return { ok: false, message: doc.errors[0].message };
  try {
    return { ok: true, value: doc.toJS() };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}
