/**
 * `voice-access simulate FILE... [--config FILE] [--data DIR] [--junit OUT.xml] [--json]`: runs scenario files on
 * the in-process simulator (issue 3, "Simulator"), prints each call's transcript and a summary line
 * `N passed, M failed`, and exits 1 when any scenario fails (2 for a wrong command line).
 *
 * With `--target udp:HOST:PORT` (or `tcp:`) the same files run over the network against a running server, as a SIP
 * caller with RTP (issue 4, "Scenarios over the network"; `src/sim/net/README.md`): `--data` is then the server's
 * data folder (state expectations, admin cmdlets, time travel), `--server-log FILE` its log (call results),
 * `--max-wait` the longest `wait` step (default 60s; `none` runs waits for real), `--local-address` our address,
 * `--pcap DIR` a pcap of each failed call's SIP and RTP (`src/sim/net/call-capture.ts`; also in load runs).
 */
import { readEnvironment } from '../config/environment';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import { cliCommand, parseCommand } from './command';
import { PcapRecorder } from '../sim/net/call-capture';
import { NET_DEFAULT_MAX_WAIT_MS, parseTarget, runScenarioOverNetwork } from '../sim/net/net-runner';
import { ServerLogFile } from '../sim/net/server-log';
import { formatClock, formatTranscript, runScenario, type ScenarioReport } from '../sim/runner';
import { formatDuration, parseDuration } from '../sim/scenario';
import type { SipTarget } from '../sip/embedded/sip-client';
import {
  checkLoadShape,
  LOAD_MAX_CALLS,
  LOAD_MAX_CONCURRENCY,
  LoadOptionError,
  parseLoadDuration,
  parseRate,
  parseWholeNumber,
} from '../sim/net/load/load-options';
import type { CliIo } from './main';
import { runLoadCli } from './simulate-load';
import { xmlEscape } from '../util/xml-text';
import { PromptCatalog } from '../prompts/catalog';
import { coverageOf, formatCoverage } from '../sim/coverage';
import { defaultJobs, runScenarioFilesInWorkers, type ScenarioFileResult } from '../sim/parallel-runner';

/** The outcome of one scenario file: its report, or why it could not run. */
export type SimulationResult = ScenarioFileResult;

/** Options of the `simulate` command. */
export interface SimulateOptions {
  config?: string;
  data?: string;
  /** A PostgreSQL store (`--store URL`): in-process, shared by every file; with `target`, the server's store. */
  store?: string;
  junit?: string;
  json?: boolean;
  /** Run over the network against this server instead of in-process. */
  target?: SipTarget;
  /** Over the network: the server's log file (JSON lines), for call results. */
  serverLog?: string;
  /** Over the network: the longest `wait` step, ms (Infinity: none). */
  maxWaitMs?: number;
  /** Over the network: our address for SIP and RTP. */
  localAddress?: string;
  /** Over the network: let `admin:` cmdlets change the server's store. */
  allowAdmin?: boolean;
  /** Over the network: capture each call, write the failed calls' pcaps (one recorder for every file: unique names). */
  pcap?: PcapRecorder;
  /**
   * In-process: run the files in this many worker threads (`sim/parallel-runner.ts`), results in file order; 1 runs
   * them one after the other in this process.
   */
  jobs?: number;
  /** In-process: print which prompts of each locale and which flow states the runs never reached. */
  coverage?: boolean;
}

/**
 * Runs scenario files one after the other, in-process or (with `target`) over the network.
 * @param files scenario paths; @param opts `--config`, `--data` (shared by every file when given), the network options
 * @returns one result per file, in order; never throws for a failing or invalid scenario
 */
export async function simulate(files: readonly string[], opts: SimulateOptions = {}, onResult?: (r: SimulationResult) => void): Promise<SimulationResult[]> {
  if (!opts.target && (opts.jobs ?? 1) > 1 && files.length > 1) {
    return runScenarioFilesInWorkers(files, { jobs: opts.jobs, options: { config: opts.config }, onResult: (r) => onResult?.(r) });
  }
  const results: SimulationResult[] = [];
  const serverLog = opts.serverLog ? new ServerLogFile(path.resolve(opts.serverLog)) : undefined;
  for (const file of files) {
    const t0 = Date.now();
    try {
      const report = opts.target
        ? await runScenarioOverNetwork(file, {
            target: opts.target,
            data: opts.data,
            store: opts.store,
            config: opts.config,
            results: serverLog,
            maxWaitMs: opts.maxWaitMs,
            localAddress: opts.localAddress,
            allowAdmin: opts.allowAdmin,
            pcap: opts.pcap,
          })
        : await runScenario(file, { config: opts.config, data: opts.data, store: opts.store });
      results.push({ file, report, realMs: Date.now() - t0 });
    } catch (err) {
      const e = err as Error & { code?: string };
      results.push({ file, error: e.code ? `${e.code}: ${e.message}` : e.message, realMs: Date.now() - t0 });
    }
    onResult?.(results[results.length - 1]);
  }
  return results;
}

/** True when the scenario ran and every expectation held. */
export const passed = (r: SimulationResult) => r.report?.passed === true;

/** The text printed for one scenario: transcripts, mails, texts, then PASS/FAIL with the failures. */
export function formatResult(r: SimulationResult): string {
  if (!r.report) return `FAIL ${r.file}\n  ${r.error!.replace(/\n/g, '\n  ')}\n`;
  const rep = r.report;
  const lines: string[] = [`=== ${rep.name} (${path.relative(process.cwd(), rep.file) || rep.file})`];
  for (const c of rep.calls) lines.push(formatTranscript(c));
  for (const m of rep.mails) lines.push(`mail ${formatClock(m.at)} to ${m.to}: "${m.subject}"`);
  for (const t of rep.sms) lines.push(`sms ${formatClock(t.at)} to ${t.to}: "${t.text}"`);
  for (const n of rep.notes) lines.push(`note: ${n}`);
  const timing = `(${formatClock(rep.virtualMs)} virtual, ${rep.realMs} ms real)`;
  if (rep.passed) lines.push(`PASS ${rep.name} ${timing}`);
  else lines.push(`FAIL ${rep.name} ${timing}`, ...rep.failures.map((f) => `  - ${f}`));
  return `${lines.join('\n')}\n`;
}

const xml = xmlEscape;

/**
 * JUnit XML for a run: one `<testsuite>`, one `<testcase>` per scenario file (name = the scenario's `name`,
 * classname = the file), a `<failure>` listing every failed step and expectation (or an `<error>` when the scenario
 * could not run), and the transcripts in `<system-out>`.
 */
export function toJUnitXml(results: readonly SimulationResult[]): string {
  const failures = results.filter((r) => r.report && !r.report.passed).length;
  const errors = results.filter((r) => !r.report).length;
  const total = results.reduce((s, r) => s + r.realMs, 0) / 1000;
  const cases = results.map((r) => {
    const classname = xml(path.relative(process.cwd(), r.file) || r.file);
    const name = xml(r.report?.name ?? path.basename(r.file));
    const head = `  <testcase classname="${classname}" name="${name}" time="${(r.realMs / 1000).toFixed(3)}">`;
    const body: string[] = [];
    if (!r.report) body.push(`    <error message="${xml(r.error!.split('\n')[0])}">${xml(r.error!)}</error>`);
    else if (!r.report.passed) {
      body.push(`    <failure message="${xml(r.report.failures[0])}" type="expectation">${xml(r.report.failures.join('\n'))}</failure>`);
    }
    if (r.report) body.push(`    <system-out>${xml(r.report.calls.map(formatTranscript).join('\n'))}</system-out>`);
    return [head, ...body, '  </testcase>'].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="voice-access simulate" tests="${results.length}" failures="${failures}" errors="${errors}" skipped="0" time="${total.toFixed(3)}">`,
    ...cases,
    '</testsuite>',
    '',
  ].join('\n');
}

function targetOption(v: string): SipTarget {
  try {
    return parseTarget(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** A load option's parser for commander: the {@link LoadOptionError}'s text names the option already. */
function loadOption<T>(parse: (v: string) => T): (v: string) => T {
  return (v) => {
    try {
      return parse(v);
    } catch (err) {
      if (err instanceof LoadOptionError) throw new InvalidArgumentError(err.message.slice(err.option.length + 1));
      throw err;
    }
  };
}

/** The load options as commander gives them. */
interface LoadCliFlags {
  calls?: number;
  rate?: number;
  concurrency?: number;
  duration?: number;
  maxFailures?: number;
  report?: string;
  progressInterval?: number;
}

/** What commander gives besides {@link SimulateOptions} and the load flags. */
interface NetCliFlags {
  maxWait?: number;
  /** `--pcap DIR`. */
  pcap?: string;
}

function jobsOption(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < 1 || n > 64) throw new InvalidArgumentError('must be a whole number of worker threads, 1 to 64');
  return n;
}

function maxWaitOption(v: string): number {
  if (v.trim().toLowerCase() === 'none') return Infinity;
  const ms = parseDuration(v);
  if (ms === undefined) throw new InvalidArgumentError('must be a duration such as 30s or 2m, or none');
  return ms;
}

/**
 * The `simulate` command line (commander).
 * @param args the arguments after `simulate`; @param io where output goes
 * @returns 0 when every scenario passed, 1 when any failed or could not run, 2 for a wrong command line
 */
export async function runSimulateCli(args: readonly string[], io: CliIo): Promise<number> {
  let code = 0;
  const program = cliCommand('voice-access simulate', io)
    .description(
      'Run scenario files (scripted calls) on the in-process simulator with a virtual clock, or with --target over the network against a running server.',
    )
    .argument('<files...>', 'scenario files (YAML)')
    .option('--config <file>', "directory file to use instead of each scenario's config (and of the built-in demo); with --target default $VA_CONFIG")
    .option(
      '--data <dir>',
      "data folder to run on, shared by every scenario (default: a throw-away folder per scenario); with --target: the server's data folder (default: $VA_DATA)",
    )
    .option('--store <url>', "a PostgreSQL store (postgresql://USER@HOST:PORT/DB) to run on, shared by every scenario; with --target: the server's store (default: $VA_STORE_URL with --target)")
    .option('--junit <file>', 'also write a JUnit XML report')
    .option('--json', 'print the reports as JSON instead of transcripts')
    .option('--target <transport:host:port>', 'run over the network as a SIP caller with RTP: udp:HOST:PORT or tcp:HOST:PORT', targetOption)
    .option('--server-log <file>', "with --target: the server's log (JSON lines), to check result expectations")
    .option('--max-wait <duration>', `with --target: the longest wait step (default ${formatDuration(NET_DEFAULT_MAX_WAIT_MS)}; none: waits run for real)`, maxWaitOption)
    .option('--local-address <ip>', 'with --target: our address for SIP and RTP (default: the one that routes to the target)')
    .option('--allow-admin', "with --target: let the scenarios' admin: cmdlets change the server's store (refused without it)")
    .option('--pcap <dir>', 'with --target (also a load run): write a pcap of the SIP and RTP of each failed call to DIR, named <scenario>-<call>.pcap')
    .option('--jobs <n>', `in-process: run the files in N worker threads, results in file order (default: the cores, ${defaultJobs()} here; 1 with --data or --store, which the files share)`, jobsOption)
    .option('--coverage', 'in-process: print which prompt ids of each locale and which flow states the scenarios never reached')
    .option('--calls <n>', 'load run (with --target and --rate): how many calls to start; each call runs the next file, round robin', loadOption((v) => parseWholeNumber('--calls', v, 1, LOAD_MAX_CALLS)))
    .option('--rate <r/s>', 'load run: new calls a second at most, e.g. 10/s (or 10; per minute: 30/m)', loadOption(parseRate))
    .option('--concurrency <c>', 'load run: calls in progress at most (default: rate x 60 s, at most 1000)', loadOption((v) => parseWholeNumber('--concurrency', v, 1, LOAD_MAX_CONCURRENCY)))
    .option('--duration <d>', 'load run: stop starting calls after this long (e.g. 30s, 10m), or after --calls, whichever first', loadOption((v) => parseLoadDuration(v)))
    .option('--max-failures <k>', 'load run: stop early (hang up the calls in progress) once more than K calls failed', loadOption((v) => parseWholeNumber('--max-failures', v, 0, LOAD_MAX_CALLS)))
    .option('--report <file>', 'load run: write the JSON report (counts, failures by reason, percentiles)')
    .addOption(new Option('--progress-interval <d>', 'load run: interval of the plain progress line when not on a terminal (default 5s)').argParser(loadOption((v) => parseLoadDuration(v, '--progress-interval'))).hideHelp())
    .action(async (files: string[], cli: Omit<SimulateOptions, 'maxWaitMs' | 'pcap'> & NetCliFlags & LoadCliFlags) => {
      const { maxWait, pcap, calls, rate, concurrency, duration, maxFailures, report, progressInterval, ...rest } = cli;
      const opts: SimulateOptions = maxWait === undefined ? rest : { ...rest, maxWaitMs: maxWait };
      const load = { calls, ratePerSecond: rate, concurrency, durationMs: duration, maxFailures, progressIntervalMs: progressInterval };
      if (pcap !== undefined && !opts.target) {
        io.err('error: --pcap needs --target: it captures the SIP and RTP of calls over the network (in-process calls have none)\n');
        code = 2;
        return;
      }
      if (Object.values(load).some((v) => v !== undefined) || report !== undefined) {
        code = await loadRun(files, opts, load, report, io, pcap);
        return;
      }
      if (pcap !== undefined) opts.pcap = new PcapRecorder(pcap);
      // Over the network VA_DATA and VA_CONFIG name the server's data folder and directory file, as for the cmdlets.
      // In-process runs ignore them: each scenario keeps its own directory and a throw-away store, so an exported
      // VA_DATA never lets example scenarios change a real store's PINs.
      if (opts.target) {
        const env = readEnvironment();
        opts.data ??= env.data;
        opts.config ??= env.config;
        opts.store ??= env.storeUrl;
      }
      if (!opts.target && (opts.serverLog !== undefined || opts.maxWaitMs !== undefined || opts.localAddress !== undefined || opts.allowAdmin)) {
        io.err('error: --server-log, --max-wait, --local-address and --allow-admin need --target\n');
        code = 2;
        return;
      }
      if (opts.target && (opts.jobs !== undefined || opts.coverage)) {
        io.err('error: --jobs and --coverage are for in-process runs; over the network, a load run (--rate) places calls in parallel\n');
        code = 2;
        return;
      }
      const shared = opts.data !== undefined || opts.store !== undefined;
      if (shared && (opts.jobs ?? 1) > 1) {
        io.err('error: --jobs: the files share --data or --store (each changes what the next one finds): they run one at a time\n');
        code = 2;
        return;
      }
      if (!opts.target) opts.jobs ??= shared ? 1 : defaultJobs();
      // Printed as each file's turn comes (workers finish out of order; the output keeps the files' order).
      const results = await simulate(files, opts, (r) => {
        if (!opts.json) io.out(`${formatResult(r)}\n`);
      });
      if (opts.json) io.out(`${JSON.stringify(results, null, 2)}\n`);
      const ok = results.filter(passed).length;
      const summary = `${ok} passed, ${results.length - ok} failed`;
      if (opts.json) io.err(`${summary}\n`);
      else io.out(`${summary}\n`);
      if (opts.pcap) {
        const line = `pcaps of the failed calls: ${opts.pcap.describe()}\n`;
        if (opts.json) io.err(line);
        else io.out(line);
      }
      if (opts.coverage) {
        const text = formatCoverage(coverageOf(results.flatMap((r) => (r.report ? [r.report] : [])), PromptCatalog.load()));
        if (opts.json) io.err(text);
        else io.out(text);
      }
      if (opts.junit) {
        const out = path.resolve(opts.junit);
        mkdirSync(path.dirname(out), { recursive: true });
        writeFileSync(out, toJUnitXml(results));
      }
      code = ok === results.length ? 0 : 1;
    });
  return (await parseCommand(program, args)) ?? code;
}

/**
 * The load run branch of `simulate` (any of `--calls`, `--rate`, `--concurrency`, `--duration`, `--max-failures`,
 * `--report`): checks the options together, then runs the load (`simulate-load.ts`).
 * @returns the exit code (2 for a wrong combination of options)
 */
async function loadRun(files: string[], opts: SimulateOptions, load: Parameters<typeof checkLoadShape>[0], report: string | undefined, io: CliIo, pcap?: string): Promise<number> {
  if (!opts.target) {
    io.err('error: a load run (--calls, --rate, --concurrency, --duration, --max-failures, --report) needs --target udp:HOST:PORT\n');
    return 2;
  }
  const unused = [opts.data !== undefined && '--data', opts.store !== undefined && '--store', opts.serverLog !== undefined && '--server-log', opts.config !== undefined && '--config'].filter(Boolean);
  if (unused.length > 0) {
    io.err(`error: ${unused.join(', ')} not used by a load run: it places calls only (a scenario's expect: entries are not checked)\n`);
    return 2;
  }
  let shape;
  try {
    shape = checkLoadShape(load);
  } catch (err) {
    if (err instanceof LoadOptionError) {
      io.err(`error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  return runLoadCli(files, { target: opts.target, shape, report, junit: opts.junit, json: opts.json, maxWaitMs: opts.maxWaitMs, localAddress: opts.localAddress, pcapDir: pcap }, io);
}
