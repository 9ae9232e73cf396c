/**
 * What a load run prints and writes (issue 22, "Load runs"): the live progress line, the summary table (per scenario
 * and step kind: counts, failures by reason, p50/p90/p99/max of call setup time, last digit to the next prompt's
 * first audio, prompt recognition time and step durations), the JSON report (`--report FILE.json`) and JUnit XML
 * (`--junit FILE.xml`). All three say the same; none holds a digit the caller typed or a transcript.
 *
 * JUnit shape: one `<testsuite>` per scenario file with ONE `<testcase>` for all its calls, failed when any call
 * failed, its `<failure>` listing the failures by reason and step and the first examples. Not a testcase per call:
 * a 10-minute load at 50 calls/s is 30,000 calls, and Jenkins' and GitLab's test views list every testcase (the
 * few failing ones drown among thousands of passing ones, and the XML grows with the load while the runner keeps
 * only aggregates). One testcase per scenario shows, in both, which scenarios failed and why, with the figures in
 * `<properties>` and the table in `<system-out>`.
 */
import * as path from 'node:path';
import type { SipTarget } from '../../../sip/embedded/sip-client';
import { LOAD_MAX_CALLS } from './load-options';
import type { LoadPcaps, LoadProgress, LoadResult, LoadStop } from './load-runner';
import type { FailureExample, LatencySummary, LoadLatencies, ScenarioStats } from './load-stats';
import { xmlEscape } from '../../../util/xml-text';

/** The three latencies in a report, ms. */
export interface LatencyReport {
  /** INVITE sent to its 2xx. */
  setupMs: LatencySummary;
  /** End of the last key of a `dtmf` step to the first audio of the next prompt. */
  afterDigitMs: LatencySummary;
  /** A prompt's first audio to its recognition. */
  recognitionMs: LatencySummary;
}

/** One step kind of one scenario in a report. */
export interface StepKindReport {
  kind: string;
  /** Steps of this kind that ran. */
  count: number;
  failed: number;
  failures: Record<string, number>;
  /** How long the steps took, ms. */
  durationMs: LatencySummary;
}

/** One scenario file in a report. */
export interface ScenarioLoadReport extends LatencyReport {
  file: string;
  name: string;
  started: number;
  passed: number;
  failed: number;
  aborted: number;
  /** Failed calls by reason. */
  failures: Record<string, number>;
  steps: StepKindReport[];
}

/** The JSON report of a load run (`--report FILE.json`). */
export interface LoadReport {
  kind: 'voice-access-load-report';
  version: 1;
  /** `udp:HOST:PORT`. */
  target: string;
  files: string[];
  options: { calls: number | null; ratePerSecond: number; concurrency: number; durationMs: number | null; maxFailures: number | null };
  /** ISO 8601. */
  startedAt: string;
  elapsedMs: number;
  stoppedBy: LoadStop;
  /** Most calls in progress at once. */
  peakConcurrency: number;
  /** The runner process: CPU time over the load (ms, and % of one core), largest resident set (bytes). */
  runner: { cpuMs: number; cpuPercent: number; peakRssBytes: number };
  totals: LatencyReport & { started: number; passed: number; failed: number; aborted: number; failures: Record<string, number> };
  scenarios: ScenarioLoadReport[];
  /** The first failed calls (no digits, no transcripts). */
  failureExamples: FailureExample[];
  /** Failed calls beyond the examples. */
  failureExamplesDropped: number;
  notes: string[];
  /** With `--pcap DIR`: the folder, how many pcaps of failed calls were written and the first 100 files. */
  pcaps?: LoadPcaps;
}

const targetText = (t: SipTarget) => `${t.transport}:${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
const record = (m: Map<string, number>): Record<string, number> => Object.fromEntries([...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
const latencyReport = (l: LoadLatencies): LatencyReport => ({ setupMs: l.setup.summary(), afterDigitMs: l.afterDigit.summary(), recognitionMs: l.recognition.summary() });

/** Builds the JSON report of a load. */
export function toLoadReport(r: LoadResult): LoadReport {
  const totals = r.stats.totals();
  const scenario = (s: ScenarioStats): ScenarioLoadReport => ({
    file: s.file,
    name: s.name,
    started: s.started,
    passed: s.passed,
    failed: s.failed,
    aborted: s.aborted,
    failures: record(s.failures),
    ...latencyReport(s.latency),
    steps: [...s.steps].map(([kind, k]) => ({ kind, count: k.count, failed: k.failed, failures: record(k.failures), durationMs: k.duration.summary() })),
  });
  return {
    kind: 'voice-access-load-report',
    version: 1,
    target: targetText(r.target),
    files: r.files,
    options: {
      calls: r.shape.calls >= LOAD_MAX_CALLS ? null : r.shape.calls,
      ratePerSecond: r.shape.ratePerSecond,
      concurrency: r.shape.concurrency,
      durationMs: r.shape.durationMs ?? null,
      maxFailures: r.shape.maxFailures ?? null,
    },
    startedAt: new Date(r.startedAt).toISOString(),
    elapsedMs: Math.round(r.elapsedMs),
    stoppedBy: r.stoppedBy,
    peakConcurrency: r.peakActive,
    runner: { cpuMs: Math.round(r.runner.cpuMs), cpuPercent: Math.round((1000 * r.runner.cpuMs) / Math.max(1, r.elapsedMs)) / 10, peakRssBytes: r.runner.peakRssBytes },
    totals: { started: totals.started, passed: totals.passed, failed: totals.failed, aborted: totals.aborted, failures: record(totals.failures), ...latencyReport(totals.latency) },
    scenarios: r.stats.scenarios.map(scenario),
    failureExamples: r.stats.examples,
    failureExamplesDropped: r.stats.examplesDropped,
    notes: r.notes,
    ...(r.pcaps ? { pcaps: r.pcaps } : {}),
  };
}

/** `m:ss.s` for an elapsed time in ms. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  const m = Math.floor(s / 60);
  const rest = (s - m * 60).toFixed(1).padStart(4, '0');
  return m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/**
 * The progress line: elapsed time, calls started / passed / failed (and aborted when any), the current rate and how
 * many calls are in progress, e.g. `load 0:12.0  started 120  passed 100  failed 2  rate 10.0/s  active 18`.
 */
export function formatLoadProgress(p: LoadProgress): string {
  return [
    `load ${formatElapsed(p.elapsedMs)}`,
    `started ${p.started}`,
    `passed ${p.passed}`,
    `failed ${p.failed}`,
    ...(p.aborted > 0 ? [`aborted ${p.aborted}`] : []),
    `rate ${p.ratePerSecond.toFixed(1)}/s`,
    `active ${p.active}`,
  ].join('  ');
}

const reasons = (f: Record<string, number>) =>
  Object.entries(f)
    .map(([r, n]) => `${r} ${n}`)
    .join(', ');

const STOPS: Record<LoadStop, string> = {
  calls: 'all calls started',
  duration: 'the duration passed',
  'max-failures': 'more failures than --max-failures: stopped early',
  interrupted: 'interrupted: stopped early',
};

/** `sign-in.yaml (a user signs in with extension and…)`: the file and the start of the scenario's name. */
function scenarioTitle(s: { file: string; name: string }): string {
  return `${path.basename(s.file)} (${s.name.length > 36 ? `${s.name.slice(0, 35).trimEnd()}…` : s.name})`;
}

/** The rows of one scenario's (or the totals') part of the table. */
function tableRows(title: string, s: Omit<ScenarioLoadReport, 'file' | 'name' | 'steps'> & { steps?: StepKindReport[] }): string[][] {
  const pct = (l: LatencySummary) => (l.count === 0 ? ['', '', '', ''] : [l.p50, l.p90, l.p99, l.max].map((v) => v.toFixed(1)));
  const rows: string[][] = [
    [title, String(s.started), String(s.passed), String(s.failed), '', '', '', '', reasons(s.failures) + (s.aborted > 0 ? `${Object.keys(s.failures).length > 0 ? ', ' : ''}aborted ${s.aborted}` : '')],
    ['  call setup (INVITE to 2xx)', String(s.setupMs.count), '', '', ...pct(s.setupMs), ''],
    ['  last digit to next prompt', String(s.afterDigitMs.count), '', '', ...pct(s.afterDigitMs), ''],
    ['  prompt recognition', String(s.recognitionMs.count), '', '', ...pct(s.recognitionMs), ''],
  ];
  for (const k of s.steps ?? []) rows.push([`  step ${k.kind}`, String(k.count), String(k.count - k.failed), String(k.failed), ...pct(k.durationMs), reasons(k.failures)]);
  return rows;
}

/**
 * The summary table printed at the end: a head line (target, calls, how the load stopped, the runner's CPU and
 * memory), then per scenario file and in total: calls started / passed / failed with failures by reason, the three
 * latencies and each step kind's count, failures and durations (p50/p90/p99/max, ms).
 */
export function formatLoadTable(r: LoadReport): string {
  const head = [
    `load of ${r.files.length} scenario file${r.files.length === 1 ? '' : 's'} against ${r.target}: ${r.totals.started} calls in ${formatElapsed(r.elapsedMs)} (${STOPS[r.stoppedBy]})`,
    `  ${r.totals.passed} passed, ${r.totals.failed} failed${r.totals.aborted > 0 ? `, ${r.totals.aborted} aborted` : ''}; at most ${r.peakConcurrency} at once; runner CPU ${(r.runner.cpuMs / 1000).toFixed(1)} s (${r.runner.cpuPercent}% of a core), peak RSS ${Math.round(r.runner.peakRssBytes / 1048576)} MB`,
  ];
  const rows: string[][] = [['scenario / step kind', 'count', 'passed', 'failed', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'failures by reason']];
  for (const s of r.scenarios) rows.push(...tableRows(scenarioTitle(s), s));
  if (r.scenarios.length > 1) rows.push(...tableRows('all scenarios', r.totals));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const lines = rows.map((row) =>
    row
      .map((cell, i) => (i === 0 || i === row.length - 1 ? cell.padEnd(i === row.length - 1 ? 0 : widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd(),
  );
  const examples = r.failureExamples.slice(0, 10).map((e) => `  ${describeExample(e)}`);
  return [
    ...head,
    '',
    ...lines,
    ...(examples.length > 0 ? ['', `first failed calls${r.failureExamples.length > 10 || r.failureExamplesDropped > 0 ? ' (the JSON report has more)' : ''}:`, ...examples] : []),
    ...r.notes.map((n) => `note: ${n}`),
    ...(r.pcaps ? [pcapLine(r.pcaps)] : []),
    '',
  ].join('\n');
}

/** `pcaps of the failed calls: 3 written to DIR (the last 1000 RTP packets of each call)`, and what was not written. */
export function pcapLine(p: LoadPcaps): string {
  const not = p.notWritten > 0 ? `; ${p.notWritten} not written (${p.error ?? 'more than 1,000 files'})` : '';
  return `pcaps of the failed calls: ${p.written} written to ${p.dir}${not} (SIP and the last ${p.rtpPacketsPerCall} RTP packets of each call)`;
}

/** `call 17 (sign-in.yaml, david): wrong-prompt at step 4 (expectPrompt enter-pin)`: never the keys of a step. */
export function describeExample(e: FailureExample): string {
  const step = e.step !== undefined ? ` at step ${e.step} (${e.kind}${e.prompt ? ` ${e.prompt}` : ''})` : '';
  return `call ${e.call} (${path.basename(e.file)}, ${e.callId}): ${e.reason}${step}${e.sipStatus ? `, SIP ${e.sipStatus}` : ''}, at ${formatElapsed(e.atMs)}`;
}

const xml = xmlEscape;

/**
 * JUnit XML of a load: `<testsuites>` with one `<testsuite>` per scenario file and one `<testcase>` in it for all its
 * calls (why, in the file's comment): a `<failure>` when any call failed (message: how many of how many, by reason;
 * text: failures by step kind and the first examples), the figures as `<properties>`, the table in `<system-out>`.
 */
export function toLoadJUnitXml(r: LoadReport): string {
  const suites = r.scenarios.map((s) => {
    const classname = xml(`load.${path.basename(s.file).replace(/\.ya?ml$/i, '')}`);
    const time = (r.elapsedMs / 1000).toFixed(3);
    const failed = s.failed > 0;
    const props: [string, string | number][] = [
      ['file', s.file],
      ['target', r.target],
      ['stoppedBy', r.stoppedBy],
      ['started', s.started],
      ['passed', s.passed],
      ['failed', s.failed],
      ['aborted', s.aborted],
    ];
    for (const [name, l] of [
      ['setupMs', s.setupMs],
      ['afterDigitMs', s.afterDigitMs],
      ['recognitionMs', s.recognitionMs],
    ] as const) {
      for (const q of ['p50', 'p90', 'p99', 'max'] as const) props.push([`${name}.${q}`, l[q]]);
    }
    for (const [reason, n] of Object.entries(s.failures)) props.push([`failures.${reason}`, n]);
    const body: string[] = [];
    if (failed) {
      const message = `${s.failed} of ${s.started} calls failed: ${reasons(s.failures)}`;
      const text = [
        message,
        ...s.steps.filter((k) => k.failed > 0).map((k) => `step ${k.kind}: ${k.failed} of ${k.count} failed (${reasons(k.failures)})`),
        ...r.failureExamples.filter((e) => e.file === s.file).slice(0, 20).map(describeExample),
      ].join('\n');
      body.push(`      <failure message="${xml(message)}" type="load">${xml(text)}</failure>`);
    }
    const table = tableRows(scenarioTitle(s), s)
      .map((row) => row.filter((c) => c !== '').join(' | '))
      .join('\n');
    return [
      `  <testsuite name="${xml(`load: ${s.name}`)}" tests="1" failures="${failed ? 1 : 0}" errors="0" skipped="0" time="${time}" timestamp="${xml(r.startedAt.replace(/\.\d+Z$/, ''))}">`,
      '    <properties>',
      ...props.map(([n, v]) => `      <property name="${xml(n)}" value="${xml(String(v))}"/>`),
      '    </properties>',
      `    <testcase classname="${classname}" name="${xml(`${s.name} (${s.started} calls)`)}" time="${time}">`,
      ...body,
      '    </testcase>',
      `    <system-out>${xml(table)}</system-out>`,
      '  </testsuite>',
    ].join('\n');
  });
  const failures = r.scenarios.filter((s) => s.failed > 0).length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="voice-access simulate load" tests="${r.scenarios.length}" failures="${failures}" errors="0" time="${(r.elapsedMs / 1000).toFixed(3)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
