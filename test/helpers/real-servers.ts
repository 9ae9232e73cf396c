/**
 * Test helper: the real servers some suites run against (`bench/servers/`: found and started at run time), and
 * {@link describeWithServers}, which declares such a suite so that a machine without them skips it with one line
 * naming what is missing; `real-server-reporter.js` counts the suites that ran and were skipped at the end of the run.
 */
import { appendFileSync } from 'node:fs';
import * as path from 'node:path';
import { locateDrachtio, locateFreeswitch, type RealServerName } from '../../bench/servers/real-servers';

export * from '../../bench/servers/real-servers';
export { startFreeswitch, eslApi, type RunningFreeswitch } from '../../bench/servers/freeswitch-server';

/** What a skipped suite's title starts with (`real-server-reporter.js` recognises it; keep the two in step). */
export const SKIP_MARKER = '[real-server suite skipped: ';

/** The environment variable the reporter sets: a folder where {@link describeWithServers} records each suite. */
export const REPORT_DIR_ENV = 'VA_REAL_SERVER_REPORT_DIR';

/** Why the servers in `needs` cannot be used here, or null when all are found. */
export function missingServers(needs: readonly RealServerName[]): string | null {
  const missing: string[] = [];
  for (const name of needs) {
    const found = name === 'drachtio-server' ? locateDrachtio() : locateFreeswitch();
    if (!found.bin) missing.push(`${name} not found (${found.lookedIn})`);
  }
  return missing.length ? missing.join('; ') : null;
}

/** Records the suite for `real-server-reporter.js` (only when it runs: it sets {@link REPORT_DIR_ENV}). */
function record(title: string, ran: boolean, missing: string | null): void {
  const dir = process.env[REPORT_DIR_ENV];
  if (!dir) return;
  const testFile = (expect.getState().testPath as string | undefined) ?? '';
  try {
    appendFileSync(path.join(dir, `${process.pid}.jsonl`), JSON.stringify({ testFile, title, ran, missing }) + '\n');
  } catch {
    /* the reporter's folder is gone: nothing to report to */
  }
}

/**
 * Declares a suite that needs real servers: `describe(title, fn)` when every binary in `needs` is found, otherwise
 * `describe.skip` with the title `[real-server suite skipped: <what is missing>] <title>`, so the skip is one line
 * naming the missing server and where it was looked for.
 */
export function describeWithServers(needs: readonly RealServerName[], title: string, fn: () => void): void {
  const missing = missingServers(needs);
  record(title, missing === null, missing);
  if (missing === null) describe(title, fn);
  else describe.skip(`${SKIP_MARKER}${missing}] ${title}`, fn);
}
