/**
 * The load runner (issue 22, "Load runs"): `voice-access simulate --target udp:HOST:PORT --calls N --rate R/s
 * [--concurrency C] [--duration D] [--max-failures K] FILE...` runs scenario files as a load against a running server.
 *
 * - A call of the load is one run of a scenario file; call k runs file k mod (number of files) (round robin). A file
 *   that scripts several calls (a meeting) places them together, each at its `start:` offset in real time, and
 *   counts once (it passes when every one of its calls passes).
 * - Calls start at most `ratePerSecond` a second (against absolute deadlines, so the rate does not drift; after a
 *   stall at most one call's worth is caught up), never more than `concurrency` at once (a call waits for a free
 *   slot), until `calls` have started or `durationMs` has passed, whichever comes first; calls in progress then
 *   finish (each within its steps' bounds and the scenario's `timeout:`).
 * - Once more than `maxFailures` calls have failed, or `signal` aborts, no call starts any more and the calls in
 *   progress are hung up: they count as aborted (neither passed nor failed) unless a step had already failed.
 * - Each call is placed with the network runner's one-call seam (`startNetCall`, on one SIP client and one RTP engine
 *   for the whole load), with the same step semantics as `simulate --target`. A scenario's `expect:` entries are not
 *   checked (the calls of a load share the server's store, and a load repeats them); files with `admin:` cmdlets or
 *   time travel (`start:` gaps of an hour, `advance:`) are refused before any call.
 * - Only aggregates are kept (`load-stats.ts`): a call's caller, transcript and RTP session are released when it
 *   ends. Failures are counted by reason; no digit typed is kept.
 * - With `pcapDir` (`--pcap DIR`) each call records its SIP and its last RTP packets (`../call-capture.ts`; the RTP
 *   kept per call shrinks with the concurrency, {@link pcapRtpPacketsFor}); a failed call's capture is written as
 *   `<scenario file name>-<call number>-<call id>.pcap`, the others are dropped when the call ends.
 */
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import pino, { type Logger } from 'pino';
import { ErrorCodes, VaError } from '../../../errors';
import { PromptCatalog } from '../../../prompts/catalog';
import type { SipTarget } from '../../../sip/embedded/sip-client';
import { loadScenario, type Scenario, type ScenarioCall, type Step } from '../../scenario';
import type { StepFailureReason, StepOutcome } from '../../scripted-caller';
import { PcapRecorder, pcapRtpPacketsFor, type CallCapture } from '../call-capture';
import type { NetCaller } from '../net-caller';
import { NET_DEFAULT_MAX_WAIT_MS, openNetEndpoints, startNetCall, timeTravelOf, type NetEndpoints } from '../net-runner';
import type { LoadShape } from './load-options';
import { countReason, LoadStats, ScenarioStats, type LoadFailureReason } from './load-stats';

/** Options of {@link runLoad}. */
export interface LoadRunOptions extends LoadShape {
  /** The server's SIP address. */
  target: SipTarget;
  /** Our address for SIP and RTP (default: the one that routes to the target). */
  localAddress?: string;
  /** Longest `wait` step, ms (default 60 s; Infinity: waits run for real). */
  maxWaitMs?: number;
  /** The prompt catalog (the repository's by default). */
  catalog?: PromptCatalog;
  /** Logger for the SIP client and RTP engine (silent by default). */
  logger?: Logger;
  /** Stops the load as `--max-failures` does (an interrupt): no new call, the calls in progress hung up. */
  signal?: AbortSignal;
  /** Told a snapshot every `progressEveryMs` (ms, default `progressIntervalMs`) while the load runs. */
  onProgress?: (p: LoadProgress) => void;
  progressEveryMs?: number;
  /** `--pcap DIR`: write a pcap of each failed call there (see the file's comment). */
  pcapDir?: string;
}

/** The pcaps a load wrote (`--pcap`). */
export interface LoadPcaps {
  /** The folder (absolute). */
  dir: string;
  /** Files written. */
  written: number;
  /** The first files written (absolute paths; at most 100). */
  files: string[];
  /** Failed calls whose pcap was not written (more than 1,000 files, or a write error: `error`). */
  notWritten: number;
  error?: string;
  /** RTP packets kept per call (both directions, the last ones). */
  rtpPacketsPerCall: number;
}

/** A load's figures at a moment (the live line). */
export interface LoadProgress {
  /** Since the load started, ms. */
  elapsedMs: number;
  started: number;
  passed: number;
  failed: number;
  aborted: number;
  /** Calls in progress. */
  active: number;
  /** Calls started a second over the last 5 s (less at the start: over the time elapsed). */
  ratePerSecond: number;
}

/** Why the load stopped starting calls. */
export type LoadStop = 'calls' | 'duration' | 'max-failures' | 'interrupted';

/** What {@link runLoad} returns. */
export interface LoadResult {
  files: string[];
  target: SipTarget;
  shape: LoadShape;
  /** When the load started (ms since the epoch). */
  startedAt: number;
  /** From the start to the end of the last call, ms. */
  elapsedMs: number;
  stoppedBy: LoadStop;
  stats: LoadStats;
  /** Most calls in progress at once. */
  peakActive: number;
  /** The runner process over the load: CPU time (user + system, ms), and its largest resident set seen (bytes). */
  runner: { cpuMs: number; peakRssBytes: number };
  notes: string[];
  /** With `pcapDir`: the pcaps written. */
  pcaps?: LoadPcaps;
}

/** A scenario file that cannot run as a load (it needs the server's store): `VA_ERR_SIM_LOAD_SCENARIO`. */
export class LoadScenarioError extends VaError {
  constructor(message: string) {
    super(ErrorCodes.SIM_LOAD_SCENARIO, message);
    this.name = 'LoadScenarioError';
  }
}

/** Calls started over the last 5 s, in 10 half-second buckets (constant memory). */
class RateWindow {
  private readonly counts = new Float64Array(10);
  private readonly stamps = new Float64Array(10).fill(-1);

  add(nowMs: number): void {
    const b = Math.floor(nowMs / 500);
    const i = b % 10;
    if (this.stamps[i] !== b) {
      this.stamps[i] = b;
      this.counts[i] = 0;
    }
    this.counts[i]++;
  }

  /** Calls a second over the last 5 s (or the `elapsedMs` so far when shorter). */
  rate(nowMs: number, elapsedMs: number): number {
    const b = Math.floor(nowMs / 500);
    let n = 0;
    for (let i = 0; i < 10; i++) if (this.stamps[i] > b - 10) n += this.counts[i];
    return n / (Math.min(5_000, Math.max(500, elapsedMs)) / 1000);
  }
}

/** One scenario call of a run of a file. */
interface LoadCall {
  spec: ScenarioCall;
  failures: string[];
  caller: NetCaller | null;
  capture: CallCapture | null;
  /** The first step that failed (before the runner stopped the call). */
  stepFailure?: { index: number; kind: Step['kind']; prompt?: string; reason: LoadFailureReason };
}

/** A run of a scenario file in progress. */
interface ActiveRun {
  aborted: boolean;
  calls: LoadCall[];
  /** Wakes the run's start waits when it is aborted. */
  wake: () => void;
}

/**
 * Loads the files and keeps those that can run as a load: a file with `admin:` cmdlets or time travel changes the
 * server's store, which a load cannot do, so it is left out with a note (a load of `scenarios/*.yaml` runs the rest).
 * @returns the files kept, their scenarios, and a note for each file left out
 * @throws ScenarioError when a file is invalid; LoadScenarioError when no file is left (naming why each was left out)
 */
export function loadScenariosForLoad(files: readonly string[], catalog: PromptCatalog): { files: string[]; scenarios: Scenario[]; leftOut: string[] } {
  const kept: { file: string; scenario: Scenario }[] = [];
  const leftOut: string[] = [];
  for (const file of files) {
    const scenario = loadScenario(file, catalog);
    const needs = [...timeTravelOf(scenario), ...scenario.admin.map((a, i) => `admin[${i}]`)];
    if (needs.length > 0) leftOut.push(`${file} left out: a load run places calls only: it cannot run admin: cmdlets or time travel in the server's store (${needs.join('; ')})`);
    else kept.push({ file, scenario });
  }
  if (kept.length === 0) throw new LoadScenarioError(`no file can run as a load: ${leftOut.join('; ')}`);
  return { files: kept.map((k) => k.file), scenarios: kept.map((k) => k.scenario), leftOut };
}

const sleep = (ms: number, wake?: (w: () => void) => void) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, Math.max(0, Math.min(ms, 2_147_000_000)));
    wake?.(() => {
      clearTimeout(t);
      resolve();
    });
  });

/**
 * Runs scenario files as a load (see the file's comment for the rules).
 * @param files scenario paths, run round robin
 * @returns the aggregates and how the load ended; failing calls do not throw
 * @throws ScenarioError or LoadScenarioError when a file cannot run as a load (before any call); Error when the SIP client or the RTP
 *   engine cannot start
 */
export async function runLoad(files: readonly string[], options: LoadRunOptions): Promise<LoadResult> {
  if (files.length === 0) throw new LoadScenarioError('no scenario file given');
  const catalog = options.catalog ?? PromptCatalog.load();
  const loaded = loadScenariosForLoad(files, catalog);
  const scenarios = loaded.scenarios;
  files = loaded.files;
  const logger = options.logger ?? pino({ level: 'silent' });
  const maxWaitMs = options.maxWaitMs ?? NET_DEFAULT_MAX_WAIT_MS;
  const stats = new LoadStats();
  const perFile = scenarios.map((s, i) => {
    const st = new ScenarioStats(files[i], s.name);
    stats.scenarios.push(st);
    return st;
  });
  const notes: string[] = [...loaded.leftOut];
  if (scenarios.some((s) => s.expect.length > 0)) notes.push("expect: entries are not checked in a load run (the calls share the server's store); run the files without --rate to check them");
  if (scenarios.some((s) => s.startTime !== undefined)) notes.push('startTime does not apply over the network');

  const startedAt = Date.now();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let peakRss = process.memoryUsage.rss();
  const rate = new RateWindow();
  const active = new Set<ActiveRun>();
  const running = new Set<Promise<void>>();
  let started = 0;
  let peakActive = 0;
  let stoppedBy: LoadStop | null = null;
  let wakeScheduler: (() => void) | null = null;
  const wake = () => {
    const w = wakeScheduler;
    wakeScheduler = null;
    w?.();
  };
  const totals = () => perFile.reduce((a, s) => ({ passed: a.passed + s.passed, failed: a.failed + s.failed, aborted: a.aborted + s.aborted }), { passed: 0, failed: 0, aborted: 0 });
  const progress = (): LoadProgress => {
    const now = performance.now();
    return { elapsedMs: now - t0, started, ...totals(), active: active.size, ratePerSecond: rate.rate(now, now - t0) };
  };
  const stop = (why: LoadStop) => {
    if (stoppedBy !== null) return;
    stoppedBy = why;
    if (why === 'max-failures' || why === 'interrupted') {
      for (const run of active) {
        run.aborted = true;
        run.wake();
        for (const c of run.calls) c.caller?.callerHangup();
      }
    }
    wake();
  };
  const onAbort = () => stop('interrupted');
  if (options.signal?.aborted) stop('interrupted');
  options.signal?.addEventListener('abort', onAbort);
  const ticker = options.onProgress
    ? setInterval(() => {
        peakRss = Math.max(peakRss, process.memoryUsage.rss());
        options.onProgress!(progress());
      }, options.progressEveryMs ?? options.progressIntervalMs)
    : null;
  const rssSampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 1_000);

  const rtpPacketsPerCall = pcapRtpPacketsFor(options.concurrency);
  const pcap = options.pcapDir === undefined ? undefined : new PcapRecorder(options.pcapDir, { rtpPackets: rtpPacketsPerCall });
  let endpoints: NetEndpoints | null = null;
  try {
    endpoints = await openNetEndpoints({ target: options.target, localAddress: options.localAddress, logger, recvBufferSize: 256 * 1024, pcap });
    const shared = endpoints;

    /** One run of a scenario file: its calls at their offsets, then the aggregates. */
    const runOne = async (seq: number, scenario: Scenario, st: ScenarioStats): Promise<void> => {
      let wakeRun: (() => void) | null = null;
      const run: ActiveRun = { aborted: false, calls: [], wake: () => wakeRun?.() };
      active.add(run);
      peakActive = Math.max(peakActive, active.size);
      st.started++;
      const runStart = Date.now();
      const dones: Promise<void>[] = [];
      for (const spec of [...scenario.calls].sort((a, b) => a.startMs - b.startMs)) {
        const due = runStart + spec.startMs - Date.now();
        if (due > 0 && !run.aborted) await sleep(due, (w) => (wakeRun = w));
        if (run.aborted) break;
        const call: LoadCall = { spec, failures: [], caller: null, capture: null };
        run.calls.push(call);
        const onStep = (o: StepOutcome) => {
          if (run.aborted) return;
          const k = st.step(o.step.kind);
          k.count++;
          k.duration.record(o.ms);
          if (!o.failure) return;
          const reason = reasonOf(call, o.failure);
          k.failed++;
          countReason(k.failures, reason);
          call.stepFailure ??= { index: o.index, kind: o.step.kind, reason, ...(o.step.kind === 'expectPrompt' ? { prompt: o.step.id } : {}) };
        };
        const observer = {
          answered: (ms: number) => st.latency.setup.record(ms),
          prompt: (p: { recognitionMs: number; afterDigitMs?: number }) => {
            st.latency.recognition.record(p.recognitionMs);
            if (p.afterDigitMs !== undefined) st.latency.afterDigit.record(p.afterDigitMs);
          },
        };
        const placed = await startNetCall(call, { endpoints: shared, target: options.target, catalog, now: Date.now, start: runStart, steps: { maxWaitMs, onStep }, observer, pcap });
        call.caller = placed.caller;
        call.capture = placed.capture;
        if (run.aborted) placed.caller?.callerHangup();
        dones.push(placed.done);
      }
      // Every call ends within the scenario's timeout after the last start, or the runner hangs it up.
      let timedOut = false;
      let clearTimer: (() => void) | null = null;
      await Promise.race([
        Promise.all(dones),
        sleep(scenario.timeoutMs, (w) => (clearTimer = w)).then(() => {
          timedOut = true;
        }),
      ]);
      (clearTimer as (() => void) | null)?.();
      const unfinished = timedOut ? run.calls.filter((c) => c.caller && !c.caller.ended) : [];
      for (const c of unfinished) c.caller!.callerHangup();
      if (unfinished.length > 0) await Promise.all(dones);
      active.delete(run);

      // The run's outcome: each failed call counted by its reason.
      const failedCalls = run.calls.flatMap((c) => {
        if (unfinished.includes(c) && !c.stepFailure) return [{ c, reason: 'call-timeout' as LoadFailureReason }];
        if (run.aborted && !c.stepFailure) return [];
        if (c.failures.length === 0) return [];
        return [{ c, reason: c.stepFailure?.reason ?? (c.caller ? reasonOf(c, 'unexpected-hangup', 'runner-error') : 'cannot-place-call') }];
      });
      if (pcap) {
        const base = path.basename(st.file).replace(/\.ya?ml$/i, '');
        for (const c of run.calls) {
          if (!c.capture) continue;
          if (failedCalls.some((f) => f.c === c)) void pcap.save(c.capture, `${base}-${seq}-${c.spec.id}`);
          else pcap.drop(c.capture);
        }
      }
      if (failedCalls.length === 0 && run.aborted) st.aborted++;
      else if (failedCalls.length === 0) st.passed++;
      else {
        st.failed++;
        for (const { c, reason } of failedCalls) {
          countReason(st.failures, reason);
          const sip = c.caller?.inviteStatus;
          stats.example({
            file: st.file,
            call: seq,
            callId: c.spec.id,
            reason,
            ...(c.stepFailure ? { step: c.stepFailure.index + 1, kind: c.stepFailure.kind } : {}),
            ...(c.stepFailure?.prompt ? { prompt: c.stepFailure.prompt } : {}),
            ...(sip && sip.status >= 300 ? { sipStatus: sip.status } : {}),
            atMs: Math.round(performance.now() - t0),
          });
        }
        if (options.maxFailures !== undefined && totals().failed > options.maxFailures) stop('max-failures');
      }
      wake();
    };

    // ---------------------------------------------------------------- the scheduler
    const interval = 1000 / options.ratePerSecond;
    const durationEnd = options.durationMs === undefined ? Infinity : t0 + options.durationMs;
    let nextAt = t0;
    // Each pass starts a call or waits for a deadline, a free slot or a stop: bounded by the calls and the time.
    for (let guard = 0; guard < options.calls * 4 + 1_000_000 && stoppedBy === null; guard++) {
      if (started >= options.calls) {
        stop('calls');
        break;
      }
      const now = performance.now();
      if (now >= durationEnd) {
        stop('duration');
        break;
      }
      if (active.size >= options.concurrency || now < nextAt) {
        const until = active.size >= options.concurrency ? durationEnd : Math.min(nextAt, durationEnd);
        await sleep(Math.min(until - now, 60_000), (w) => (wakeScheduler = w));
        wakeScheduler = null;
        continue;
      }
      const seq = ++started;
      rate.add(now);
      const i = (seq - 1) % scenarios.length;
      const p = runOne(seq, scenarios[i], perFile[i]).catch((err: unknown) => {
        notes.push(`call ${seq}: the load runner failed: ${(err as Error).message}`);
      });
      running.add(p);
      void p.finally(() => running.delete(p));
      nextAt = Math.max(nextAt + interval, now - interval);
    }
    if (stoppedBy === null) stop('calls');
    // The calls in progress finish (each bounded by its steps and its scenario's timeout).
    while (running.size > 0) await Promise.all([...running]);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (ticker) clearInterval(ticker);
    clearInterval(rssSampler);
    await pcap?.flush(); // the failed calls' captures, written after their grace, while the sockets still listen
    await endpoints?.stop();
  }
  const cpu = process.cpuUsage(cpu0);
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  return {
    files: [...files],
    target: options.target,
    shape: {
      calls: options.calls,
      ratePerSecond: options.ratePerSecond,
      concurrency: options.concurrency,
      progressIntervalMs: options.progressIntervalMs,
      ...(options.durationMs !== undefined ? { durationMs: options.durationMs } : {}),
      ...(options.maxFailures !== undefined ? { maxFailures: options.maxFailures } : {}),
    },
    startedAt,
    elapsedMs: performance.now() - t0,
    stoppedBy: stoppedBy ?? 'calls',
    stats,
    peakActive,
    runner: { cpuMs: (cpu.user + cpu.system) / 1000, peakRssBytes: peakRss },
    notes,
    ...(pcap
      ? {
          pcaps: {
            dir: pcap.dir,
            written: pcap.written,
            files: [...pcap.files],
            notWritten: pcap.notWritten,
            ...(pcap.firstError ? { error: pcap.firstError } : {}),
            rtpPacketsPerCall,
          },
        }
      : {}),
  };
}

/**
 * A failed call's reason: the SIP status when the server refused the INVITE (`sip-404`; a step failing because the
 * call ended is the refusal's doing), else the step's reason.
 */
function reasonOf(call: LoadCall, stepReason: StepFailureReason, otherwise?: LoadFailureReason): LoadFailureReason {
  const sip = call.caller?.inviteStatus;
  if (sip && sip.status >= 300) return `sip-${sip.status}`;
  return otherwise ?? stepReason;
}
