/**
 * Load runner bench (issue 22, "Load runs": "Memory and CPU of the runner stay bounded: 1,000 concurrent calls from
 * one runner process on this machine"). Figures, never assertions; not part of `npm run bench`.
 *
 * `serve` runs in a child process (the embedded engine, as `npm start` runs it, on the demo directory with a cheap
 * PIN hash); the load runner (`runLoad`, as `simulate --target ... --rate` runs it) runs in this process with the
 * example scenario `scenarios/no-input.yaml` (the IVR asks for the extension three times, then says goodbye: prompts
 * all along, about 30 s a call, nothing typed). One call first measures the call's length T; then for each level L
 * of concurrent calls (`--levels 100,500,1000`) the runner starts L/T calls a second for T + `--hold` (20 s), at most
 * L at once, so L calls are up during the hold. Sampled every second during the hold (L calls up): this process's
 * CPU share and RSS, and serve's (`/proc/PID/stat`, `/proc/PID/status`). Printed per level: calls passed / failed,
 * the runner's CPU (% of one core) and RSS, per concurrent call (CPU % and KB over the RSS before any call), serve's
 * CPU and RSS, and the p50/p99 of call setup and prompt recognition from the load's report.
 *
 * Usage: `npm run bench:load -- [--levels 100,500,1000] [--hold 20s]`. Bounded: each level by its calls and the
 * runner's bounds, serve by SIGTERM then SIGKILL.
 */
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import * as path from 'node:path';
import { parseDuration } from '../src/sim/duration';
import { toLoadReport } from '../src/sim/net/load/load-report';
import { runLoad, type LoadProgress } from '../src/sim/net/load/load-runner';
import { procStats, spawnDemoServe, stealMeter, stopChild } from './host';

/** The repository root (this file runs from `dist/bench/`). */
const ROOT = path.join(__dirname, '..', '..');
const SCENARIO = path.join(ROOT, 'scenarios', 'no-input.yaml');
const MIB = 1024 * 1024;


/** True when a UDP socket cannot bind 127.0.0.1:`port` (serve has it). */
function udpPortTaken(port: number): Promise<boolean> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => {
    socket.once('error', () => {
      socket.close();
      resolve(true);
    });
    socket.bind(port, '127.0.0.1', () => {
      socket.close();
      resolve(false);
    });
  });
}

/** Starts `serve` on a fresh data folder and a free port; resolves once it logged `ready`. */
async function startServe(): Promise<{ child: ChildProcess; port: number }> {
  const { child, port, stderr } = await spawnDemoServe('va-load-bench-', 'warn');
  child.stdout!.setEncoding('utf8').on('data', () => undefined);
  // `ready` is logged at info; at warn nothing is: wait until the SIP port answers by trying to bind it.
  const until = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited (${child.exitCode}): ${stderr()}`);
    if (Date.now() > until) {
      await stopChild(child, 5_000);
      throw new Error(`serve did not bind ${port} within 60 s: ${stderr()}`);
    }
    if (await udpPortTaken(port)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, port };
}

/** One level's figures. */
interface LevelFigures {
  level: number;
  passed: number;
  failed: number;
  samples: number;
  runnerCpuPct: number;
  runnerRss: number;
  rssBefore: number;
  serveCpuPct: number;
  serveRss: number;
  setup: string;
  recognition: string;
  /** Failed calls by reason (`sip-503 2, wrong-prompt 1`), or empty. */
  reasons: string;
}

async function runLevel(port: number, servePid: number, level: number, callMs: number, holdMs: number, rssBefore: number): Promise<LevelFigures> {
  const rate = level / (callMs / 1000);
  type Mark = { cpu: NodeJS.CpuUsage; serve: { cpuMs: number }; t: number };
  const marks: { first: Mark | null; last: Mark | null } = { first: null, last: null };
  let maxRss = 0;
  let maxServeRss = 0;
  let samples = 0;
  const onProgress = (p: LoadProgress) => {
    const now = { cpu: process.cpuUsage(), serve: procStats(servePid), t: performance.now() };
    if (p.active >= level * 0.95) {
      marks.first ??= now;
      marks.last = now;
      samples++;
      maxRss = Math.max(maxRss, process.memoryUsage.rss());
      maxServeRss = Math.max(maxServeRss, now.serve.rss);
    }
    if (Math.round(p.elapsedMs / 1000) % 5 === 0) console.log(`  ${level}: ${p.active} up, ${p.started} started, ${p.passed} passed, ${p.failed} failed, rate ${p.ratePerSecond.toFixed(1)}/s`);
  };
  const result = await runLoad([SCENARIO], {
    target: { transport: 'udp', host: '127.0.0.1', port },
    calls: Math.ceil(rate * ((callMs + holdMs) / 1000)),
    ratePerSecond: rate,
    concurrency: level,
    durationMs: callMs + holdMs,
    progressIntervalMs: 1_000,
    onProgress,
  });
  const report = toLoadReport(result);
  const { first: h, last: e } = marks;
  const span = h && e ? e.t - h.t : 0;
  const cpuMs = h && e ? (e.cpu.user - h.cpu.user + e.cpu.system - h.cpu.system) / 1000 : 0;
  const serveMs = h && e ? e.serve.cpuMs - h.serve.cpuMs : 0;
  const l = (s: { p50: number; p99: number }) => `${s.p50.toFixed(1)} / ${s.p99.toFixed(1)}`;
  return {
    level,
    passed: report.totals.passed,
    failed: report.totals.failed,
    samples,
    runnerCpuPct: span > 0 ? (100 * cpuMs) / span : NaN,
    runnerRss: maxRss,
    rssBefore,
    serveCpuPct: span > 0 ? (100 * serveMs) / span : NaN,
    serveRss: maxServeRss,
    setup: l(report.totals.setupMs),
    recognition: l(report.totals.recognitionMs),
    reasons: Object.entries(report.totals.failures)
      .map(([r, n]) => `${r} ${n}`)
      .join(', '),
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let levels = [100, 500, 1000];
  let holdMs = 20_000;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--levels') levels = (argv[++i] ?? '').split(',').map(Number);
    else if (argv[i] === '--hold') holdMs = parseDuration(argv[++i]) ?? NaN;
    else throw new Error(`unknown option ${argv[i]} (--levels 100,500,1000 --hold 20s)`);
  }
  if (levels.some((l) => !(l >= 1 && l <= 5000)) || !(holdMs >= 5_000 && holdMs <= 600_000)) throw new Error('--levels: 1..5000 each; --hold: 5s..10m');
  const steal = stealMeter();
  const { child, port } = await startServe();
  // The runner's RSS before any call (the prompt catalog and its fingerprint tables load with the first call).
  const rssBefore = process.memoryUsage.rss();
  try {
    const one = await runLoad([SCENARIO], { target: { transport: 'udp', host: '127.0.0.1', port }, calls: 1, ratePerSecond: 1, concurrency: 1, progressIntervalMs: 5_000 });
    const callMs = one.elapsedMs;
    console.log(`load bench: serve (pid ${child.pid}, UDP ${port}), ${path.relative(ROOT, SCENARIO)}: one call ${(callMs / 1000).toFixed(1)} s (${one.stats.scenarios[0].passed} passed)`);
    const rows: LevelFigures[] = [];
    for (const level of levels) {
      console.log(`level ${level}: ${(level / (callMs / 1000)).toFixed(1)} calls/s for ${((callMs + holdMs) / 1000).toFixed(0)} s`);
      rows.push(await runLevel(port, child.pid!, level, callMs, holdMs, rssBefore));
      await new Promise((r) => setTimeout(r, 3_000));
    }
    console.log('');
    console.log(`runner RSS before any call: ${(rssBefore / MIB).toFixed(0)} MB`);
    console.log('calls up | passed failed | runner CPU % | runner RSS MB | per call: CPU %, RSS KB | serve CPU % | serve RSS MB | setup p50/p99 ms | recognition p50/p99 ms');
    for (const r of rows) {
      const perCpu = r.runnerCpuPct / r.level;
      const perKb = (r.runnerRss - r.rssBefore) / 1024 / r.level;
      console.log(
        `${String(r.level).padStart(8)} | ${String(r.passed).padStart(6)} ${String(r.failed).padStart(6)}${r.reasons ? ` (${r.reasons})` : ''} | ${r.runnerCpuPct.toFixed(1).padStart(12)} | ${(r.runnerRss / MIB).toFixed(0).padStart(13)} | ${perCpu.toFixed(3).padStart(8)}, ${perKb.toFixed(0).padStart(7)} | ${r.serveCpuPct.toFixed(1).padStart(11)} | ${(r.serveRss / MIB).toFixed(0).padStart(12)} | ${r.setup.padStart(16)} | ${r.recognition}`,
      );
    }
    for (let i = 1; i < rows.length; i++) {
      const kb = (rows[i].runnerRss - rows[i - 1].runnerRss) / 1024 / (rows[i].level - rows[i - 1].level);
      console.log(`runner RSS from ${rows[i - 1].level} to ${rows[i].level} calls up: ${kb.toFixed(0)} KB per added call`);
    }
    console.log(`(hold samples: ${rows.map((r) => r.samples).join(', ')}; host steal ${(100 * steal()).toFixed(1)}% of CPU time)`);
  } finally {
    await stopChild(child, 10_000);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
