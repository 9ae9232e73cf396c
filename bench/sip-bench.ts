/**
 * Real-call benchmarks (issue 4, "Benchmark"; figures, never assertions), all on 127.0.0.1 with SIPp as the caller:
 *
 * 1. Call setup rate: SIPp's `uac` (INVITE/200/ACK/BYE) against `serve` calling the access number (the sign-in flow
 *    starts on every call), stepping the rate up until a step is not clean: a failed call, a call that did not
 *    complete, or calls that went through at less than 90% of the rate asked for (SIPp stretches a step it cannot
 *    keep up with instead of failing it, so "no failed call" alone let every server pass every step). The highest
 *    clean rate is printed beside two references measured in the same run, on the same ladder (each rate step is
 *    run against every server still clean, in turn, so all see the same machine): a bare UAS on the same `sip`
 *    package (200 to INVITE and BYE, nothing else: the stack's own ceiling) and SIPp's own `-sn uas`. The ladder
 *    is run {@link ROUNDS} times and each server's best clean rate taken (host interference only lowers a rate).
 *    Target: at least 0.5 of the bare UAS. Then each server's CPU time per call at a fixed rate (`cpuPerCall`): the
 *    steadier figure behind the ratio.
 * 2. Concurrent calls hearing prompts: N calls held for a while, each hearing the sign-in prompts as RTP; printed:
 *    failed calls, the shared tick's lateness and the RTP send interval's p99 deviation from 20 ms (target: 500
 *    calls within 5 ms), and memory per call (RSS growth divided by calls).
 *
 * The server runs in this process (`startServer`), SIPp in child processes; every run is bounded in calls and time.
 * Usage: `node --expose-gc dist/bench/sip-bench.js` (`BENCH_SIP_STEP_SECONDS`, default 5; `BENCH_SIP_CONCURRENT`,
 * default "100 250 500", empty to skip; `BENCH_SIP_REFERENCES=0` skips the two reference servers; `BENCH_SIP_ROUNDS`,
 * default 3: ladder rounds, each server's best clean rate over them).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { startServer, type RunningServer, type ServeOptions } from '../src/cli/serve';
import { createLogger } from '../src/log';
import { startBareUas } from '../src/sip/embedded/bare-uas';
import { stealMeter } from './host';
import { findFreeSipPort } from '../src/sip/embedded/free-port';

const SIPP = process.env.SIPP_BIN ?? '/usr/bin/sipp';
const STEP_SECONDS = Number(process.env.BENCH_SIP_STEP_SECONDS ?? 5);
/** The call-setup ladder's steps, calls/s. */
export const RATES = [100, 200, 400, 700, 1000, 1200, 1400, 1600, 1800, 2000, 2400, 2800, 3200, 3600, 4000, 4500, 5000, 6000, 8000, 10000];
/** A step is clean only when its calls went through at (nearly) the rate asked for: SIPp stretches a step it cannot keep up with. */
const MIN_ACHIEVED = 0.9;
/**
 * Ladder rounds; each server's figure is its best clean rate over them. On this shared machine the host's share of
 * the CPU (steal) went from 0 to 20% within minutes, and a stall during a step fails it: one ladder gave ratios from
 * 0.43 to 1.00 on the same code. Interference only ever lowers a rate, so the best of a few rounds, taken alike for
 * every server, is the figure closest to what the code can do; every round is printed too.
 */
const ROUNDS = Math.max(1, Number(process.env.BENCH_SIP_ROUNDS ?? 3));

export interface SippResult {
  successful: number;
  failed: number;
  code: number | null;
  /** Real time from SIPp's start to its exit, s. */
  seconds: number;
  /** Messages SIPp sent again (INVITE, BYE, ACK for a 200 it saw twice) because an answer was late or lost. */
  retransmissions: number;
}

function lastCount(screen: string, name: string): number {
  const re = new RegExp(`${name}\\s*\\|\\s*\\d+\\s*\\|\\s*(\\d+)`, 'g');
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(screen))) last = Number(m[1]);
  return last;
}

/** The Retrans column of SIPp's last scenario screen, summed. */
function retransmissions(screen: string): number {
  const last = screen.lastIndexOf('Messages  Retrans');
  if (last < 0) return 0;
  let sum = 0;
  for (const line of screen.slice(last).split('\n').slice(1)) {
    const m = /^\s+(?:[A-Z]+|\d{3})\s+(?:-+>|<-+)\s+(?:E-RTD1\s+)?(\d+)\s+(\d+)/.exec(line);
    if (m) sum += Number(m[2]);
    else if (/^-{5,}/.test(line)) break;
  }
  return sum;
}

/** Runs SIPp's uac: `calls` calls at `rate`/s (plus `-d` hold time), bounded by SIPp's timeout and a hard kill. */
export async function sippUac(port: number, service: string, calls: number, rate: number, holdMs: number, limit = calls): Promise<SippResult> {
  const local = await findFreeSipPort('127.0.0.1');
  const media = await findFreeSipPort('127.0.0.1');
  const seconds = Math.ceil(calls / rate + holdMs / 1000) + 15;
  const args = ['-sn', 'uac', '-s', service, '-m', String(calls), '-r', String(rate), '-l', String(limit), '-d', String(holdMs), '-t', 'u1', '-i', '127.0.0.1', '-p', String(local), '-mp', String(media), '-buff_size', String(8 << 20), '-nostdin', '-timeout', `${seconds}s`, '-timeout_error', '-max_recv_loops', '5000', `127.0.0.1:${port}`];
  const dir = mkdtempSync(path.join(tmpdir(), 'va-bench-sipp-'));
  const t0 = performance.now();
  const child = spawn(SIPP, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out = (out + d).slice(-100_000)));
  child.stderr.resume();
  const code = await new Promise<number | null>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), (seconds + 10) * 1000);
    child.on('exit', (c) => {
      clearTimeout(kill);
      resolve(c);
    });
  });
  const elapsed = (performance.now() - t0) / 1000;
  rmSync(dir, { recursive: true, force: true });
  return { successful: lastCount(out, 'Successful call'), failed: lastCount(out, 'Failed call'), code, seconds: elapsed, retransmissions: retransmissions(out) };
}

/** One server of the call-setup ladder. */
export interface LadderTarget {
  name: string;
  port: number;
  /** The number SIPp calls. */
  service: string;
}

/**
 * Steps the rate up for every target together: at each rate each target still clean gets its step in turn, so the
 * servers are compared under the same conditions (on a shared machine the same server's ceiling varied twofold
 * between runs minutes apart). A step is clean when every call succeeded, none failed, and the calls went
 * through at no less than {@link MIN_ACHIEVED} of the rate asked for (completed over SIPp's whole run).
 * @param rates the steps, calls/s, ascending (default: 100 up to 10,000)
 * @returns each target's highest clean rate, calls/s
 */
export async function maxCleanRates(targets: LadderTarget[], rates: readonly number[] = RATES): Promise<Map<string, number>> {
  const best = new Map(targets.map((t) => [t.name, 0]));
  const live = new Set(targets.map((t) => t.name));
  for (const rate of rates) {
    if (live.size === 0) break;
    for (const t of targets) {
      if (!live.has(t.name)) continue;
      const calls = rate * STEP_SECONDS;
      const r = await sippUac(t.port, t.service, calls, rate, 0);
      const achieved = r.successful / r.seconds;
      const clean = r.failed === 0 && r.successful === calls && achieved >= MIN_ACHIEVED * rate;
      console.log(
        `    ${t.name.padEnd(16)} ${rate} calls/s: ${r.successful}/${calls} ok, ${r.failed} failed, ${f(achieved)} calls/s achieved, ${r.retransmissions} retransmissions${clean ? '' : ' (not clean)'}`,
      );
      if (clean) best.set(t.name, rate);
      else live.delete(t.name);
    }
  }
  return best;
}

const f = (n: number) => Math.round(n).toLocaleString('en-US');

/** The rate at which {@link cpuPerCall} compares the servers: below every ceiling seen here. */
const CPU_RATE = 500;

/**
 * This process's CPU time per completed call for each target (they all run in this process; only the one SIPp calls
 * is busy), at {@link CPU_RATE} calls/s for {@link STEP_SECONDS} s, the targets in turn, {@link ROUNDS} times; the
 * median of each. Steadier than the ladder (no ceiling to find under interference), it says what the ladder's
 * ratio is made of. It does not predict the ceilings' ratio: near its ceiling a server reads many datagrams per
 * wake-up, which lowers the bare UAS's cost per call (mostly per wake-up) far more than serve's (mostly per call).
 */
async function cpuPerCall(targets: LadderTarget[]): Promise<void> {
  const samples = new Map(targets.map((t) => [t.name, [] as number[]]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of targets) {
      const before = process.cpuUsage();
      const r = await sippUac(t.port, t.service, CPU_RATE * STEP_SECONDS, CPU_RATE, 0);
      const used = process.cpuUsage(before);
      if (r.successful > 0) samples.get(t.name)!.push((used.user + used.system) / r.successful);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const line = targets.map((t) => `${t.name} ${f(median(samples.get(t.name)!))} µs (${samples.get(t.name)!.map(f).join(', ')})`).join('; ');
  const [first, second] = targets.map((t) => median(samples.get(t.name)!));
  console.log(`  CPU per call at ${CPU_RATE} calls/s, median of ${ROUNDS}: ${line}; ${targets[0].name} costs ${(first / second).toFixed(2)}x ${targets[1]?.name}`);
}

/** UDP receive errors so far (the kernel dropping packets before anyone read them). */
function rcvbufErrors(): number {
  const snmp = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  if (snmp.length < 2) return 0;
  const names = snmp[0].split(/\s+/);
  const values = snmp[1].split(/\s+/);
  return Number(values[names.indexOf('RcvbufErrors')] ?? 0);
}

export function benchConfig(dir: string): string {
  const doc = parse(readFileSync(path.join(__dirname, '..', '..', 'config', 'contoso.yaml'), 'utf8'));
  const file = path.join(dir, 'directory.yaml');
  writeFileSync(file, stringify(doc));
  return file;
}

/**
 * `serve` on the demo directory in a temporary folder (RTP 20000-39999, logs at warn), with `options` over that.
 * @returns the server, and `done()`, which stops it and removes the folder
 */
export async function startBenchServer(options: Partial<ServeOptions> = {}): Promise<{ server: RunningServer; done(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'va-bench-serve-'));
  const server = await startServer({
    config: benchConfig(dir),
    data: path.join(dir, 'data'),
    sipHost: '127.0.0.1',
    sipPort: 0,
    rtpPortMin: 20000,
    rtpPortMax: 39999,
    logger: createLogger({ level: 'warn' }),
    ...options,
  });
  return {
    server,
    done: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs both benchmarks and prints the figures. */
export async function runSipBench(): Promise<void> {
  const dropsBefore = rcvbufErrors();
  const bench = await startBenchServer();
  const server = bench.server;
  try {
    console.log('concurrent calls hearing prompts (held 15 s each; the sign-in prompts play as RTP):');
    const sizes = (process.env.BENCH_SIP_CONCURRENT ?? '100 250 500').split(/\s+/).map(Number).filter((n) => n > 0);
    for (const n of sizes) {
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      const run = sippUac(server.sip.port, '14255550100', n, Math.max(50, Math.ceil(n / 2)), 15_000, n);
      // Measure while every call is up and hearing prompts: from 1 s after the last call started, for 6 s.
      await new Promise((r) => setTimeout(r, Math.ceil((n / Math.max(50, Math.ceil(n / 2))) * 1000) + 1000));
      server.media.resetTickStats();
      await new Promise((r) => setTimeout(r, 6000));
      const send = server.media.sendIntervalStats();
      const tick = server.media.tickStats();
      const rssDuring = process.memoryUsage().rss;
      const r = await run;
      console.log(
        `  ${n} calls: ${r.successful} ok, ${r.failed} failed; ${send.sessions} RTP sessions sending; send interval p99 deviation ${send.p99Ms.toFixed(1)} ms (worst call ${send.worstSessionP99Ms.toFixed(1)} ms; target 5 ms at 500); tick lateness p99 ${tick.p99Ms.toFixed(1)} ms; memory ${f((rssDuring - rssBefore) / 1024 / Math.max(1, send.sessions))} KiB per call`,
      );
    }
    console.log('call setup rate (SIPp uac -> INVITE/200/ACK/BYE, UDP, stepping the rate up):');

    // BENCH_SIP_REFERENCES=0 measures serve alone (quicker, when comparing two versions of the server).
    const references = process.env.BENCH_SIP_REFERENCES !== '0';
    const targets: LadderTarget[] = [{ name: 'serve', port: server.sip.port, service: '14255550100' }];
    let bare: ReturnType<typeof startBareUas> | null = null;
    let sippUasPort = 0;
    if (references) {
      const barePort = await findFreeSipPort('127.0.0.1');
      bare = startBareUas('127.0.0.1', barePort);
      sippUasPort = await findFreeSipPort('127.0.0.1');
      spawn(SIPP, ['-sn', 'uas', '-i', '127.0.0.1', '-p', String(sippUasPort), '-buff_size', String(8 << 20), '-nostdin', '-bg'], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 500));
      targets.push({ name: 'bare sip UAS', port: barePort, service: 'bench' }, { name: 'SIPp UAS', port: sippUasPort, service: 'bench' });
    }
    console.log('  serve: voice-access serve, the access number (the sign-in flow runs on each call); references: a bare UAS');
    console.log("  on the same sip package (200 to INVITE and BYE, nothing else) and SIPp's own -sn uas; each rate in turn.");
    console.log(`  ${ROUNDS} rounds, each server's best clean rate over them (SIPp's UAS, far above, in the first only):`);
    const best = new Map<string, number>();
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        const steal = stealMeter();
        const inRound = round === 1 ? targets : targets.filter((t) => t.name !== 'SIPp UAS');
        console.log(`  round ${round}:`);
        const got = await maxCleanRates(inRound);
        for (const [name, rate] of got) best.set(name, Math.max(best.get(name) ?? 0, rate));
        const serveRate = got.get('serve') ?? 0;
        const bareRate = got.get('bare sip UAS');
        console.log(
          `  round ${round}: serve ${f(serveRate)} calls/s${bareRate === undefined ? '' : `, bare sip UAS ${f(bareRate)} (ratio ${(serveRate / Math.max(1, bareRate)).toFixed(2)})`}; the host took ${(steal() * 100).toFixed(0)}% of the CPU time (steal)`,
        );
      }
      if (bare) await cpuPerCall(targets.filter((t) => t.name !== 'SIPp UAS'));
    } finally {
      bare?.stop();
      if (references) spawn('pkill', ['-f', `sipp -sn uas -i 127.0.0.1 -p ${sippUasPort}`]);
    }
    const ours = best.get('serve') ?? 0;
    if (references) {
      const bareRate = best.get('bare sip UAS') ?? 0;
      const sippRate = best.get('SIPp UAS') ?? 0;
      console.log(`  => best of ${ROUNDS}: serve ${f(ours)} calls/s; bare sip UAS ${f(bareRate)} (ratio ${(ours / Math.max(1, bareRate)).toFixed(2)}, target 0.50); SIPp UAS ${f(sippRate)} (ratio ${(ours / Math.max(1, sippRate)).toFixed(2)})`);
    } else console.log(`  => best of ${ROUNDS}: serve ${f(ours)} calls/s (references not measured: BENCH_SIP_REFERENCES=0)`);
  } finally {
    await bench.done();
  }
  console.log(`kernel UDP receive-buffer drops during the run (RcvbufErrors): ${rcvbufErrors() - dropsBefore}`);
}

if (require.main === module) void runSipBench();
