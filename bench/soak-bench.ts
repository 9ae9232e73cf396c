/**
 * Soak bench (issue 19, "Nothing lost": memory and file descriptors flat after warm-up). Figures, never assertions;
 * not part of `npm run bench` (the real part takes 30 minutes by default). Two parts:
 *
 * 1. A virtual day of mixed traffic in the simulator (one scenario run, as `voice-access simulate` runs it, in this
 *    process): David signs in and out every 20 s, a caller leaves him a message every minute (MWI NOTIFY, text,
 *    mail), he signs in every 2 minutes to hear and delete two, an administrator resets Claire's PIN every 10 minutes
 *    and she signs in to change it, a meeting with its organizer and two lobby participants every 30 minutes.
 *    Sampled at the start of every virtual hour (when that hour's first sign-in is answered): this process's RSS,
 *    its V8 heap after a full collection (with `--expose-gc`), and its open file descriptors (`/proc/self/fd`).
 *    Printed: the table and the last hour's figures over those after warm-up (hour 2). The runner keeps every
 *    call's transcript for its report, so the heap grows with the calls by design; the table says how much.
 * 2. `serve` in a child process (the embedded engine, as `npm start` runs it) under a steady SIPp load: the sign-in
 *    scenario with SIP INFO digits (`test/e2e/sipp/signin-info-david.xml`, about 13 s a call) at `--rate` calls/s
 *    (20) for `--minutes` (30; 1 to 240), sampled every 30 s: the child's RSS (`/proc/PID/status` VmRSS), its open
 *    file descriptors (`/proc/PID/fd`) and its CPU share; printed with SIPp's counts (its statistics file, dumped
 *    every 5 s: calls up, successful, failed), then the slopes after warm-up
 *    (least squares; warm-up: a quarter of the run, at least 1 and at most 5 minutes: the `sip` package keeps
 *    finished transactions about 32 s, DESIGN.md) and the last sample over the first after warm-up.
 *
 * Usage: `npm run bench:soak -- [--minutes N] [--rate R] [--hours H] [--only sim|sip] [--attack]` (H: virtual hours of part 1,
 * 24). Everything is bounded: the simulated day by its calls and the runner's timeout, SIPp by its `-timeout` and a
 * hard kill, serve by SIGTERM then SIGKILL. SIPp is `/usr/bin/sipp` (or `SIPP_BIN`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { checkPin } from '../src/domain/pin-policy';
import { runScenario } from '../src/sim/runner';
import { startAttack } from './attacker';
import { findFreeSipPort } from '../src/sip/embedded/free-port';
import { procStats, spawnDemoServe, stealMeter, stopChild } from './host';

/** The repository root (this file runs from `dist/bench/`). */
const ROOT = path.join(__dirname, '..', '..');
const SIPP = process.env.SIPP_BIN ?? '/usr/bin/sipp';
const MIB = 1024 * 1024;
const f1 = (n: number) => n.toFixed(1);

/** Command-line options. */
export interface SoakOptions {
  /** Real minutes of SIPp load in part 2 (1-240). */
  minutes: number;
  /** SIPp calls per second in part 2. */
  rate: number;
  /** Virtual hours of part 1 (1-168). */
  hours: number;
  only?: 'sim' | 'sip';
  /**
   * Part 2 under attack (`bench/attacker.ts`): a fuzzer on 127.0.0.3 and SIPVicious from 127.0.0.1, with SIPp as
   * the only UM IP gateway on 127.0.0.2.
   */
  attack?: boolean;
}

/**
 * Reads `--minutes N`, `--rate R`, `--hours H`, `--only sim|sip`.
 * @throws Error naming a bad or unknown option
 */
export function parseSoakArgs(argv: string[]): SoakOptions {
  const o: SoakOptions = { minutes: 30, rate: 20, hours: 24 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const number = (min: number, max: number) => {
      const n = Number(value());
      if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${a} must be a number from ${min} to ${max}`);
      return n;
    };
    if (a === '--minutes') o.minutes = number(1, 240);
    else if (a === '--rate') o.rate = number(1, 500);
    else if (a === '--attack') o.attack = true;
    else if (a === '--hours') o.hours = Math.round(number(1, 168));
    else if (a === '--only') {
      const v = value();
      if (v !== 'sim' && v !== 'sip') throw new Error('--only takes sim or sip');
      o.only = v;
    } else throw new Error(`unknown option ${a} (options: --minutes N, --rate R, --hours H, --only sim|sip, --attack)`);
  }
  return o;
}

/** Open file descriptors of a process (`/proc/PID/fd`; `self` for this one). */
function openFds(pid: number | 'self'): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * Least-squares slope of y over x.
 * @returns the slope (units of y per unit of x); NaN with fewer than two points
 */
export function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

// ------------------------------------------------------------------ part 1: a virtual day in the simulator

/** Sign-ins are this far apart (virtual s); the hour's first one marks the sample. */
const SIGN_IN_EVERY_S = 20;

/** Distinct 6-digit PINs Claire's policy accepts (a seeded sequence: the same every run). */
function clairePins(count: number): string[] {
  const pins: string[] = [];
  const seen = new Set<string>(['582047']);
  let x = 20261207;
  for (let guard = 0; pins.length < count && guard < count * 100; guard++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const pin = String(100000 + (x % 900000));
    if (seen.has(pin) || checkPin(pin, { minPinLength: 6, allowCommonPatterns: false }, '4321')) continue;
    seen.add(pin);
    pins.push(pin);
  }
  if (pins.length < count) throw new Error('could not make enough PINs');
  return pins;
}

/**
 * The day's scenario: `hours` virtual hours of the mix described at the top of this file.
 * @returns the scenario (YAML; `config: directory.yaml` beside it) and its number of calls
 */
export function dayScenario(hours: number): { yaml: string; calls: number } {
  const signIns = hours * (3600 / SIGN_IN_EVERY_S) + 1; // the last one opens hour `hours`
  const messages = hours * 60;
  const listens = hours * 30;
  const pinChanges = hours * 6;
  const meetings = hours * 2;
  const q = (s: string) => JSON.stringify(s);
  const lines: string[] = [
    'name: soak, a virtual day of mixed traffic',
    'config: directory.yaml',
    'timeout: 1h',
    'calls:',
    '  - id: signin',
    '    from: "+14255550123"',
    '    to: "+14255550100"',
    `    repeat: { count: ${signIns}, every: ${SIGN_IN_EVERY_S}s }`,
    '    steps:',
    '      - expectPrompt: enter-extension',
    '      - dtmf: "51235"',
    '      - expectPrompt: enter-pin',
    '      - dtmf: "739164#"',
    '      - expectPrompt: main-menu',
    '      - dtmf: "*"',
    '      - expectHangup: true',
    '  - id: message',
    '    from: "+14255550124"',
    '    to: "+14255550100"',
    '    diversion: "51235"',
    '    start: 5s',
    `    repeat: { count: ${messages}, every: 60s }`,
    '    steps:',
    '      - expectRecording: true',
    '      - speak: { seconds: 3 }',
    '      - hangup: true',
    // Two messages arrive between two of these (at 5 s and 65 s past each 2 minutes): both heard and deleted.
    '  - id: listen',
    '    from: "+14255550123"',
    '    to: "+14255550100"',
    '    start: 95s',
    `    repeat: { count: ${listens}, every: 120s }`,
    '    steps:',
    '      - expectPrompt: enter-extension',
    '      - dtmf: "51235"',
    '      - expectPrompt: enter-pin',
    '      - dtmf: "739164#"',
    '      - expectPrompt: main-menu',
    '      - dtmf: "1"',
    '      - expectPrompt: message-from',
    '      - expectPrompt: voicemail-menu',
    '      - dtmf: "7"',
    '      - expectPrompt: message-deleted',
    '      - expectPrompt: message-from',
    '      - expectPrompt: voicemail-menu',
    '      - dtmf: "7"',
    '      - expectPrompt: message-deleted',
    '      - hangup: true',
  ];
  for (const [id, from, start] of [
    ['participant-a', '+14255550130', 600],
    ['participant-b', '+14255550131', 605],
  ] as const) {
    lines.push(
      `  - id: ${id}`,
      `    from: ${q(from)}`,
      '    to: "+14255550199"',
      `    start: ${start}s`,
      `    repeat: { count: ${meetings}, every: 30m }`,
      '    steps:',
      '      - expectPrompt: conf-welcome',
      '      - dtmf: "4455667#"',
      '      - expectPrompt: conf-organizer-question',
      '      - expectPrompt: conf-lobby',
      '      - expectPrompt: { id: conf-joining, within: 3m }',
      '      - wait: 60s',
      '      - hangup: true',
    );
  }
  lines.push(
    '  - id: organizer',
    '    from: "+14255550132"',
    '    to: "+14255550199"',
    '    start: 630s',
    `    repeat: { count: ${meetings}, every: 30m }`,
    '    steps:',
    '      - expectPrompt: conf-welcome',
    '      - dtmf: "4455667#"',
    '      - expectPrompt: conf-organizer-question',
    '      - dtmf: "*"',
    '      - expectPrompt: conf-enter-leader-pin',
    '      - dtmf: "90210#"',
    '      - expectPrompt: conf-joining',
    '      - wait: 60s',
    '      - hangup: true',
  );
  // Claire's PIN: reset by an administrator (expired), then changed by her at sign-in; every PIN a new one.
  const pins = clairePins(pinChanges * 2);
  const admin: string[] = ['admin:'];
  for (let k = 0; k < pinChanges; k++) {
    const [reset, chosen] = [pins[2 * k], pins[2 * k + 1]];
    const at = k * 600 + 120;
    admin.push(`  - at: ${at}s`, `    run: Set-UMMailboxPIN -Identity claire@contoso.com -Pin ${reset} -PinExpired $true`);
    lines.push(
      `  - id: pin-${k + 1}`,
      '    from: "+33155550124"',
      '    to: "+33155550100"',
      `    start: ${at + 60}s`,
      '    steps:',
      '      - expectPrompt: enter-extension',
      '      - dtmf: "4321"',
      '      - expectPrompt: enter-pin',
      `      - dtmf: "${reset}#"`,
      '      - expectPrompt: pin-expired',
      '      - expectPrompt: enter-new-pin',
      `      - dtmf: "${chosen}#"`,
      '      - expectPrompt: reenter-new-pin',
      `      - dtmf: "${chosen}#"`,
      '      - expectPrompt: pin-changed',
      '      - expectPrompt: main-menu',
      '      - dtmf: "*"',
      '      - expectHangup: true',
    );
  }
  return { yaml: [...lines, ...admin, ''].join('\n'), calls: signIns + messages + listens + 3 * meetings + pinChanges };
}

interface SimSample {
  hour: number;
  realS: number;
  rss: number;
  heap: number;
  fds: number;
}

/**
 * Part 1: runs the day and prints the hourly samples.
 * @param hours virtual hours (24: a day)
 */
export async function runSimDay(hours: number): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'va-soak-sim-'));
  const gc = (global as { gc?: () => void }).gc;
  const samples: SimSample[] = [];
  const t0 = performance.now();
  const sample = (hour: number): SimSample => {
    gc?.();
    const m = process.memoryUsage();
    return { hour, realS: (performance.now() - t0) / 1000, rss: m.rss / MIB, heap: m.heapUsed / MIB, fds: openFds('self') };
  };
  const perHour = 3600 / SIGN_IN_EVERY_S;
  // The runtime logs `call answered` with the call's id as each call starts: sign-in n starts at (n - 1) x 20 s.
  const logger = pino(
    { level: 'info' },
    {
      write(line: string) {
        if (!line.includes('"msg":"call answered"')) return;
        const m = /"callId":"signin#(\d+)"/.exec(line);
        if (m && (Number(m[1]) - 1) % perHour === 0) samples.push(sample((Number(m[1]) - 1) / perHour));
      },
    },
  );
  try {
    writeFileSync(path.join(dir, 'directory.yaml'), readFileSync(path.join(ROOT, 'config', 'contoso.yaml'), 'utf8'));
    const { yaml, calls } = dayScenario(hours);
    const file = path.join(dir, 'day.yaml');
    writeFileSync(file, yaml);
    const steal = stealMeter();
    // In a function of its own, so that nothing keeps the report once it has returned.
    const run = async (): Promise<{ summary: string[]; held: SimSample }> => {
      const report = await runScenario(file, { logger });
      const realS = (performance.now() - t0) / 1000;
      const byTemplate = new Map<string, { calls: number; failed: number }>();
      for (const c of report.calls) {
        const t = (c.id.split('#')[0] ?? c.id).replace(/^pin-\d+$/, 'pin-change');
        const e = byTemplate.get(t) ?? { calls: 0, failed: 0 };
        e.calls++;
        if (c.failures.length > 0) e.failed++;
        byTemplate.set(t, e);
      }
      const transcriptLines = report.calls.reduce((n, c) => n + c.transcript.length, 0);
      const failures = report.failures.length > 0 ? `, first: ${report.failures[0]}` : '';
      return {
        summary: [
          `part 1: ${hours} virtual hours of mixed traffic in the simulator: ${calls} calls in ${f1(realS)} real s ` +
            `(${f1(report.virtualMs / 3_600_000)} virtual hours; the host took ${(steal() * 100).toFixed(0)}% of the CPU)`,
          `  calls (failed): ${[...byTemplate].map(([t, e]) => `${t} ${e.calls} (${e.failed})`).join(', ')}; ${report.failures.length} failures in all${failures}`,
          `  mails ${report.mails.length}, texts ${report.sms.length}, lamp changes ${report.countsChanged.length}; the report holds ${transcriptLines} transcript lines`,
        ],
        held: sample(hours),
      };
    };
    const { summary, held } = await run();
    const dropped = sample(hours);
    for (const line of summary) console.log(line);
    console.log(`  sampled as each virtual hour starts${gc ? ' (heap after a full collection)' : ' (no --expose-gc: heap as found)'}:`);
    console.log('   hour   real s   RSS MiB   heap MiB   fds');
    for (const s of samples) console.log(`   ${String(s.hour).padStart(4)}   ${f1(s.realS).padStart(6)}   ${f1(s.rss).padStart(7)}   ${f1(s.heap).padStart(8)}   ${String(s.fds).padStart(3)}`);
    const warm = samples.find((s) => s.hour === Math.min(2, hours)) ?? samples[0];
    const last = samples[samples.length - 1];
    if (warm && last) {
      const perCall = ((last.heap - warm.heap) * MIB) / Math.max(1, (last.hour - warm.hour) * (calls / hours));
      console.log(
        `  hour ${last.hour} over hour ${warm.hour} (after warm-up): RSS ${(last.rss / warm.rss).toFixed(2)}, heap ${(last.heap / warm.heap).toFixed(2)}, ` +
          `fds ${(last.fds / warm.fds).toFixed(2)}; the heap grew ${(perCall / 1024).toFixed(1)} KiB per call`,
      );
    }
    // What the growth is made of: the run's own records (the runner keeps every call's channel until it makes the
    // report, and the report keeps every transcript), or something that outlives the run.
    console.log(
      `  after the run (the app closed): heap ${f1(held.heap)} MiB while the report is held, ${f1(dropped.heap)} MiB once it is dropped ` +
        `(hour 0: ${f1(samples[0]?.heap ?? NaN)} MiB); RSS ${f1(dropped.rss)} MiB; fds ${dropped.fds} (hour 0: ${samples[0]?.fds ?? NaN})`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ part 2: serve under SIPp

/**
 * SIPp's counts so far, from the last line of its statistics file (`-trace_stat -stf FILE`, `;`-separated, a header
 * line first); zeros before the first dump.
 */
function sippStats(file: string): { ok: number; failed: number; current: number } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { ok: 0, failed: 0, current: 0 };
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length < 2) return { ok: 0, failed: 0, current: 0 };
  const head = lines[0].split(';');
  const row = lines[lines.length - 1].split(';');
  const col = (name: string) => Number(row[head.indexOf(name)] ?? 0) || 0;
  return { ok: col('SuccessfulCall(C)'), failed: col('FailedCall(C)'), current: col('CurrentCall') };
}


interface ServeSample {
  minute: number;
  rss: number;
  fds: number;
  cpu: number;
  ok: number;
  failed: number;
  /** Calls up at SIPp's last statistics dump. */
  current: number;
}

/**
 * Part 2: starts `serve` as a child process on the demo directory (PIN hash cost 10: the load is calls, not scrypt),
 * runs SIPp against it and prints the samples.
 * @param minutes real minutes of load (1-240)
 * @param rate calls per second
 */
export async function runServeSoak(minutes: number, rate: number, attack = false): Promise<void> {
  // Under attack the gateway is 127.0.0.2: SIPVicious sends from 127.0.0.1 whatever it is told.
  const gateway = attack ? '127.0.0.2' : '127.0.0.1';
  const { child: serve, port, dir, stderr } = await spawnDemoServe('va-soak-serve-', 'info', (doc) => {
    for (const g of doc.gateways) g.address = gateway;
  });
  let sipp: ChildProcess | null = null;
  let attacker: Awaited<ReturnType<typeof startAttack>> | null = null;
  const problems: string[] = [];
  let problemCount = 0;
  try {
    // The `ready` line, then every warning or error kept (a few) and counted; the rest is read and dropped.
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not log ready within 60 s: ${stderr()}`)), 60_000);
      let buf = '';
      serve.stdout!.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.includes('"msg":"ready"')) {
            clearTimeout(timer);
            resolve();
          } else if (/^\{"level":(4|5|6)\d,/.test(line)) {
            problemCount++;
            if (problems.length < 5) problems.push(line.slice(0, 300));
          }
        }
      });
      serve.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`serve exited (${code}) before it was ready: ${stderr()}`));
      });
    });
    await ready;
    const pid = serve.pid!;
    const hz = 100; // USER_HZ: clock ticks per second in /proc/PID/stat
    const total = Math.round(minutes * 60 * rate);
    const sippTimeoutS = Math.ceil(minutes * 60) + 120;
    const local = await findFreeSipPort('127.0.0.1');
    const media = await findFreeSipPort('127.0.0.1');
    const cwd = mkdtempSync(path.join(tmpdir(), 'va-soak-sipp-'));
    const scenario = path.join(ROOT, 'test', 'e2e', 'sipp', 'signin-info-david.xml');
    console.log(`part 2: serve (child process ${pid}, embedded engine, UDP ${port}) under SIPp: ${path.basename(scenario)} at ${rate} calls/s for ${minutes} min (${total} calls, about 13 s each)`);
    const steal = stealMeter();
    const stats = path.join(cwd, 'stats.csv');
    sipp = spawn(
      SIPP,
      ['-trace_stat', '-stf', stats, '-fd', '5', '-sf', scenario, '-s', '14255550100', '-r', String(rate), '-m', String(total), '-l', String(rate * 60), '-t', 'u1', '-i', gateway, '-p', String(local), '-mp', String(media), '-buff_size', String(8 << 20), '-nostdin', '-timeout', `${sippTimeoutS}s`, '-timeout_error', `127.0.0.1:${port}`],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd },
    );
    sipp.stdout!.resume();
    sipp.stderr!.resume();
    const sippDone = new Promise<number | null>((resolve) => {
      const kill = setTimeout(() => sipp?.kill('SIGKILL'), (sippTimeoutS + 10) * 1000);
      sipp!.once('exit', (code) => {
        clearTimeout(kill);
        resolve(code);
      });
    });
    let finished = false;
    void sippDone.then(() => (finished = true));
    if (attack) {
      attacker = await startAttack({ target: { host: '127.0.0.1', port } });
      console.log('  under attack: a fuzzer on 127.0.0.3 (40 messages/s, UDP and TCP) and SIPVicious rounds from 127.0.0.1; the gateway (SIPp) is 127.0.0.2');
    }

    const samples: ServeSample[] = [];
    const start = performance.now();
    let prev = procStats(pid);
    let prevAt = start;
    const take = () => {
      const now = performance.now();
      const s = procStats(pid);
      const c = sippStats(stats);
      samples.push({
        minute: (now - start) / 60_000,
        rss: s.rss / 1024 / 1024,
        fds: openFds(pid),
        cpu: ((s.ticks - prev.ticks) / hz / Math.max(0.001, (now - prevAt) / 1000)) * 100,
        ...c,
      });
      prev = s;
      prevAt = now;
      const x = samples[samples.length - 1];
      console.log(
        `   ${f1(x.minute).padStart(5)}   ${f1(x.rss).padStart(7)}   ${String(x.fds).padStart(4)}   ${f1(x.cpu).padStart(5)}   ${String(x.current).padStart(5)}   ${String(x.ok).padStart(7)}   ${String(x.failed).padStart(6)}`,
      );
    };
    console.log('     min   RSS MiB    fds   CPU %   calls   SIPp ok   failed');
    take();
    const sampleMs = 30_000;
    for (let i = 1; i <= Math.ceil((sippTimeoutS + 20) * 1000 / sampleMs) && !finished; i++) {
      const due = start + i * sampleMs;
      while (!finished && performance.now() < due) await new Promise((r) => setTimeout(r, Math.min(500, due - performance.now())));
      if (!finished) take();
    }
    const code = await sippDone;
    const attackReport = attacker ? await attacker.stop() : null;
    attacker = null;
    take(); // the load has ended
    await new Promise((r) => setTimeout(r, 10_000));
    take(); // 10 s later: what the idle server keeps
    const { ok, failed } = sippStats(stats);
    rmSync(cwd, { recursive: true, force: true });

    const warmupMin = Math.min(5, Math.max(1, minutes / 4));
    const steady = samples.slice(0, -2).filter((s) => s.minute >= warmupMin);
    const rssSlope = slope(steady.map((s) => [s.minute, s.rss]));
    const fdSlope = slope(steady.map((s) => [s.minute, s.fds]));
    const first = steady[0];
    const last = steady[steady.length - 1];
    console.log(
      `  SIPp exit ${code}: ${ok} calls ok, ${failed} failed of ${total}; the host took ${(steal() * 100).toFixed(0)}% of the CPU; ` +
        `serve logged ${problemCount} warnings or errors${problems.length ? `, first: ${problems[0]}` : ''}`,
    );
    if (attackReport) {
      const answers = Object.entries(attackReport.answers).sort().map(([status, count]) => `${status} x${count}`).join(', ');
      console.log(
        `  attack: ${attackReport.fuzzSent} fuzzed messages from 127.0.0.3 (${attackReport.tcpConnections} TCP connections), answers ${answers || 'none'}; ` +
          `${attackReport.scanRounds} SIPVicious rounds from 127.0.0.1${attackReport.scannerMissing ? ` (${attackReport.scannerMissing})` : ''}: ` +
          `${attackReport.findings.length === 0 ? 'found nothing' : `FOUND: ${attackReport.findings.join(' | ')}`}`,
      );
    }
    if (steady.length >= 2) {
      const range = (xs: number[], fmt: (n: number) => string) => `${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}`;
      console.log(
        `  after warm-up (${f1(warmupMin)} min; ${steady.length} samples): RSS ${rssSlope >= 0 ? '+' : ''}${f1(rssSlope * 60)} MiB/hour ` +
          `(range ${range(steady.map((s) => s.rss), f1)} MiB), fds ${fdSlope >= 0 ? '+' : ''}${f1(fdSlope * 60)}/hour (range ${range(steady.map((s) => s.fds), String)}); ` +
          `last over first: RSS ${(last.rss / first.rss).toFixed(2)} (${f1(first.rss)} -> ${f1(last.rss)} MiB), fds ${(last.fds / first.fds).toFixed(2)} (${first.fds} -> ${last.fds})`,
      );
    } else console.log(`  too few samples after the warm-up (${f1(warmupMin)} min) for a slope: run longer (--minutes)`);
  } finally {
    if (attacker) await attacker.stop();
    if (sipp) await stopChild(sipp, 5_000);
    await stopChild(serve, 15_000);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the parts the options ask for and prints their figures. */
export async function runSoakBench(o: SoakOptions): Promise<void> {
  if (o.only !== 'sip') await runSimDay(o.hours);
  if (o.only !== 'sim') await runServeSoak(o.minutes, o.rate, o.attack);
}

if (require.main === module) {
  let options: SoakOptions;
  try {
    options = parseSoakArgs(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  runSoakBench(options).catch((err: unknown) => {
    console.error((err as Error).stack ?? String(err));
    process.exitCode = 1;
  });
}
