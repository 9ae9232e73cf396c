/**
 * Runs SIPp (Debian `sip-tester`, `/usr/bin/sipp`) as a child process with bounded calls, SIPp's own global timeout,
 * and a hard SIGKILL after `killAfterMs`. Only 127.0.0.x addresses and free ports are used.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { findFreeSipPort } from '../../../src/sip/embedded/free-port';

export const SIPP = process.env.SIPP_BIN ?? '/usr/bin/sipp';
export const SCENARIOS = path.join(__dirname, '..', 'sipp');

/** Throws a clear error when SIPp is missing (these tests must fail, not skip, without it). */
export function requireSipp(): void {
  if (!existsSync(SIPP) || spawnSync(SIPP, ['-v'], { timeout: 5000 }).error) {
    throw new Error(`SIPp not found at ${SIPP}: install it with 'apt-get install -y sip-tester' (or set SIPP_BIN)`);
  }
}

export interface SippRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  successful: number | null;
  failed: number | null;
  stdout: string;
  stderr: string;
  /** SIPp's -trace_err file (unexpected messages), for failure messages. */
  errors: string;
}

export interface SippOptions {
  /** `-sn <name>` built-in scenario, or `-sf` with a file in test/sip/sipp/ (or an absolute path). */
  scenario: { builtin: string } | { file: string };
  target: { address: string; port: number };
  /** `-s`: the user part of the Request-URI. */
  service: string;
  /** `u1` (UDP, one socket) or `t1` (TCP, one connection). */
  transport?: 'u1' | 't1';
  /** SIPp's local address (`-i`), 127.0.0.1 by default. */
  localAddress?: string;
  calls?: number;
  rate?: number;
  extra?: string[];
  /** SIPp's own global timeout (`-timeout`, an error when reached). */
  timeoutS?: number;
  /** Hard kill of the child. */
  killAfterMs?: number;
  /** SIPp's working directory (where relative `rtp_stream` files are read); a fresh temporary one by default. */
  cwd?: string;
}

/** Runs SIPp once; resolves when it exits (or is killed). */
export async function runSipp(o: SippOptions): Promise<SippRun> {
  requireSipp();
  const local = o.localAddress ?? '127.0.0.1';
  const sipPort = await findFreeSipPort(local);
  const mediaPort = await findFreeSipPort(local);
  const dir = mkdtempSync(path.join(tmpdir(), 'va-sipp-'));
  const errorFile = path.join(dir, 'errors.log');
  const calls = o.calls ?? 1;
  const args = [
    ...('builtin' in o.scenario ? ['-sn', o.scenario.builtin] : ['-sf', path.resolve(SCENARIOS, o.scenario.file)]),
    '-m', String(calls),
    '-r', String(o.rate ?? 10),
    '-l', String(Math.max(1, calls)),
    '-t', o.transport ?? 'u1',
    '-i', local,
    '-p', String(sipPort),
    '-mp', String(mediaPort),
    '-s', o.service,
    '-nostdin',
    '-timeout', `${o.timeoutS ?? 15}s`,
    '-timeout_error',
    '-recv_timeout', '5000',
    '-max_recv_loops', '100',
    '-trace_err',
    '-error_file', errorFile,
    ...(o.extra ?? []),
    `${o.target.address}:${o.target.port}`,
  ];
  const child = spawn(SIPP, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: o.cwd ?? dir });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout = (stdout + d).slice(-200_000)));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-50_000)));
  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), o.killAfterMs ?? 25_000);
    child.on('error', (err) => {
      clearTimeout(kill);
      stderr += String(err);
      resolve({ code: null, signal: null });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(kill);
      resolve({ code, signal });
    });
  });
  const errors = existsSync(errorFile) ? readFileSync(errorFile, 'utf8').slice(0, 4000) : '';
  rmSync(dir, { recursive: true, force: true });
  return { ...result, successful: lastCount(stdout, 'Successful call'), failed: lastCount(stdout, 'Failed call'), stdout, stderr, errors };
}

/** The cumulative column of SIPp's final statistics screen for a counter. */
function lastCount(screen: string, name: string): number | null {
  const re = new RegExp(`${name}\\s*\\|\\s*\\d+\\s*\\|\\s*(\\d+)`, 'g');
  let m: RegExpExecArray | null;
  let last: number | null = null;
  while ((m = re.exec(screen))) last = Number(m[1]);
  return last;
}

/** A readable summary for assertion messages. */
export function describeRun(r: SippRun): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}, successful ${r.successful}, failed ${r.failed}\n` +
    `stderr: ${r.stderr.slice(-1500)}\nerrors: ${r.errors.slice(0, 1500)}`;
}
