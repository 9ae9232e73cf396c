/**
 * `voice-access simulate --target udp:HOST:PORT --calls N --rate R/s [--concurrency C] [--duration D]
 * [--max-failures K] [--report FILE.json] [--junit FILE.xml] [--pcap DIR] FILE...`: the load run's command line (issue 22,
 * "Load runs"; the runner is `src/sim/net/load/`). While the load runs, a live line on stderr: redrawn in place every
 * second on a terminal, a plain line every 5 s otherwise (`--progress-interval`, hidden, for tests). At the end the
 * summary table on stdout (or the JSON report with `--json`), the report files, and the exit code: 0 when every call
 * passed, 1 when any failed, more than `--max-failures` failed, the load was interrupted or could not run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { LOAD_LIVE_REFRESH_MS, type LoadShape } from '../sim/net/load/load-options';
import { formatLoadProgress, formatLoadTable, pcapLine, toLoadJUnitXml, toLoadReport } from '../sim/net/load/load-report';
import { LoadScenarioError, runLoad } from '../sim/net/load/load-runner';
import { ScenarioError } from '../sim/scenario';
import type { SipTarget } from '../sip/embedded/sip-client';
import type { CliIo } from './main';

/** What the load command line needs besides the shape. */
export interface LoadCliOptions {
  target: SipTarget;
  shape: LoadShape;
  /** `--report FILE.json`. */
  report?: string;
  /** `--junit FILE.xml`. */
  junit?: string;
  /** `--json`: the JSON report on stdout instead of the table. */
  json?: boolean;
  maxWaitMs?: number;
  localAddress?: string;
  /** `--pcap DIR`: a pcap of each failed call there. */
  pcapDir?: string;
}

/** Writes a file, creating its folder. */
function writeOut(file: string, text: string): void {
  const out = path.resolve(file);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, text);
}

/**
 * Runs a load from the command line; Ctrl-C (SIGINT) stops it early (the calls in progress are hung up) and still
 * writes the table and reports.
 * @returns the exit code: 0 all calls passed; 1 a call failed, `--max-failures` was passed, the load was interrupted
 *   or a scenario cannot run as a load (the error is printed)
 */
export async function runLoadCli(files: readonly string[], opts: LoadCliOptions, io: CliIo): Promise<number> {
  const tty = io.errIsTty === true;
  let drawn = false;
  const onProgress = (p: Parameters<typeof formatLoadProgress>[0]) => {
    const line = formatLoadProgress(p);
    if (tty) {
      io.err(`\r\u001b[2K${line}`);
      drawn = true;
    } else io.err(`${line}\n`);
  };
  if (opts.pcapDir) io.err(`pcaps of the failed calls go to ${path.resolve(opts.pcapDir)}\n`);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  let result;
  try {
    result = await runLoad(files, {
      ...opts.shape,
      target: opts.target,
      maxWaitMs: opts.maxWaitMs,
      localAddress: opts.localAddress,
      pcapDir: opts.pcapDir,
      signal: controller.signal,
      onProgress,
      progressEveryMs: tty ? LOAD_LIVE_REFRESH_MS : opts.shape.progressIntervalMs,
    });
  } catch (err) {
    if (drawn) io.err('\n');
    if (err instanceof LoadScenarioError || err instanceof ScenarioError) {
      io.err(`error: ${err.code}: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  if (drawn) io.err('\n');
  const report = toLoadReport(result);
  if (opts.json) io.out(`${JSON.stringify(report, null, 2)}\n`);
  else io.out(formatLoadTable(report));
  if (opts.report) writeOut(opts.report, `${JSON.stringify(report, null, 2)}\n`);
  if (opts.junit) writeOut(opts.junit, toLoadJUnitXml(report));
  const t = report.totals;
  const summary = `${t.passed} passed, ${t.failed} failed${t.aborted > 0 ? `, ${t.aborted} aborted` : ''}`;
  if (opts.json) io.err(`${summary}\n`);
  else io.out(`${summary}\n`);
  if (opts.json && report.pcaps) io.err(`${pcapLine(report.pcaps)}\n`);
  return t.failed > 0 || report.stoppedBy === 'max-failures' || report.stoppedBy === 'interrupted' ? 1 : 0;
}
