/** Reading a Prometheus text exposition (`/metrics`) in tests. */

/**
 * The sum of a metric's samples whose labels include `labels` (`name{a="b",...} value` lines); 0 when none.
 * @param text the scrape; @param name the sample's name (`va_calls_ended_total`, `..._count` of a histogram)
 */
export function metricSample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}
