/**
 * The host under a benchmark: on a shared machine the hypervisor takes a varying share of the CPU (steal), and every
 * figure moves with it. Benchmarks print that share beside their figures.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { findFreeSipPort } from '../src/sip/embedded/free-port';

/**
 * Starts measuring the host's share of CPU time (the `steal` column of /proc/stat, all CPUs); call the result to
 * read the share since the start, 0-1 (0 where /proc/stat has no steal column).
 */
export function stealMeter(): () => number {
  const read = () => {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { steal: cpu[7] ?? 0, total: cpu.reduce((a, b) => a + b, 0) };
  };
  const before = read();
  return () => {
    const now = read();
    return (now.steal - before.steal) / Math.max(1, now.total - before.total);
  };
}

/**
 * A process's resident memory and CPU time so far, from /proc (Linux).
 * @returns `rss` in bytes; `ticks`, user + system CPU in clock ticks (`getconf CLK_TCK`, 100 on Linux); `cpuMs`, the
 *   same in ms at 100 ticks a second
 */
export function procStats(pid: number): { rss: number; ticks: number; cpuMs: number } {
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rss: kb * 1024, ticks, cpuMs: ticks * 10 };
}

/** Resolves when the child has exited; SIGTERM, then SIGKILL after `killAfterMs`. */
export function stopChild(child: ChildProcess, killAfterMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Runs `fn` with this process (every thread) on CPU 0 and the processes `others` (every thread, and the children
 * they fork meanwhile: they inherit it) on the other CPUs, then gives every CPU back to all of them: a server that
 * has cores of its own, on one machine. Linux with `taskset` (util-linux) and at least 2 CPUs.
 * @returns what `fn` returned, or null when the machine cannot do it (fewer than 2 CPUs, no taskset)
 */
export async function withOwnCores<T>(others: number[], fn: () => Promise<T>): Promise<T | null> {
  const n = cpus().length;
  if (n < 2) return null;
  const all = `0-${n - 1}`;
  const pin = (pid: number, list: string) => execFileSync('taskset', ['-a', '-pc', list, String(pid)], { stdio: 'ignore' });
  try {
    pin(process.pid, '0');
    for (const pid of others) pin(pid, `1-${n - 1}`);
  } catch {
    return null;
  }
  try {
    return await fn();
  } finally {
    pin(process.pid, all);
    for (const pid of others) {
      try {
        pin(pid, all);
      } catch {
        // gone meanwhile
      }
    }
  }
}

/** A `serve` child process started by {@link spawnDemoServe}. */
export interface SpawnedServe {
  child: ChildProcess;
  /** Its SIP port (UDP and TCP on 127.0.0.1). */
  port: number;
  /** Its folder: the directory file and the data folder. */
  dir: string;
  /** The last 4,000 characters it wrote on stderr. */
  stderr(): string;
}

/**
 * Starts `voice-access serve` in a child process on a fresh folder: the demo directory with a PIN hash cost of 10
 * (as `npm start` would run it, cheaper to import), changed by `edit`, on 127.0.0.1 and a free SIP port. Its stdout
 * is left to the caller to read; nothing waits for it to be ready.
 * @param prefix the temporary folder's name prefix; @param logLevel its `--log-level`
 */
export async function spawnDemoServe(prefix: string, logLevel: string, edit: (doc: Record<string, any>) => void = () => undefined): Promise<SpawnedServe> {
  const root = path.join(__dirname, '..', '..');
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const doc = parse(readFileSync(path.join(root, 'config', 'contoso.yaml'), 'utf8'));
  doc.security = { pinHashCost: 10 };
  edit(doc);
  const config = path.join(dir, 'directory.yaml');
  writeFileSync(config, stringify(doc));
  const port = await findFreeSipPort('127.0.0.1');
  const child = spawn(
    process.execPath,
    [path.join(root, 'bin', 'voice-access.js'), 'serve', '--config', config, '--data', path.join(dir, 'data'), '--sip-host', '127.0.0.1', '--sip-port', String(port), '--log-level', logLevel],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  return { child, port, dir, stderr: () => stderr };
}
