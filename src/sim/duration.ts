/**
 * Durations in scenario files: a number with a unit (`150ms`, `2s`, `1.5s`, `5m`, `13h`, `60d`), possibly compound
 * (`1m30s`), or 0. Shared by `scenario.ts` and `scenario-dtmf.ts`.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration: a number with a unit (`150ms`, `2s`, `1.5s`, `5m`, `13h`, `60d`), possibly compound
 * (`1m30s`), or the number 0.
 * @returns ms, or undefined when the text is not a duration
 */
export function parseDuration(value: unknown): number | undefined {
  if (value === 0) return 0;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]];
    pos = re.lastIndex;
  }
  return pos > 0 ? Math.round(total) : undefined;
}

/** Formats ms as an exact duration: seconds below 2 minutes (`150ms`, `1.5s`, `60s`), else the largest exact unit (`5m`, `13h`, `60d`). */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const) {
    if (ms >= Math.max(size, 120_000) && ms % size === 0) return `${ms / size}${unit}`;
  }
  if (ms >= 1_000 && ms % 100 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}
