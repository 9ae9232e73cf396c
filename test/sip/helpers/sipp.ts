/**
 * Runs SIPp (Debian `sip-tester`, `/usr/bin/sipp`) as a child process with bounded calls, SIPp's own global timeout,
 * and a hard SIGKILL after `killAfterMs`. Only 127.0.0.x addresses and free ports are used.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as dgram from 'node:dgram';
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

/** Binds a UDP socket on `host:port`; resolves with it, or null when the port is taken. */
function bindUdp(host: string, port: number): Promise<dgram.Socket | null> {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve) => {
    s.once('error', () => {
      s.close();
      resolve(null);
    });
    s.bind(port, host, () => resolve(s));
  });
}

/**
 * A base port whose `size` consecutive UDP ports were all free at the probe: SIPp's `-mp N` binds audio RTP and
 * RTCP at N and N+1 and video at N+2 and N+3 (a single free N let it fail on a video port another test held).
 * @throws Error after 20 candidates (bounded)
 */
async function findFreeUdpBlock(host: string, size = 4): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = await bindUdp(host, 0);
    if (!first) break;
    const base = first.address().port;
    const held = [first];
    for (let i = 1; i < size && base + i <= 65535; i++) {
      const s = await bindUdp(host, base + i);
      if (!s) break;
      held.push(s);
    }
    for (const s of held) s.close();
    if (held.length === size) return base;
  }
  throw new Error(`no ${size} consecutive free UDP ports on ${host} for SIPp's media`);
}

/**
 * Runs SIPp; resolves when it exits (or is killed). When SIPp could not even start because a port it chose was
 * taken meanwhile (ports are probed, then released for SIPp to bind: another test may bind one in between), it is
 * started again on other ports, at most twice: that is the machine's doing, not the outcome under test.
 */
export async function runSipp(o: SippOptions): Promise<SippRun> {
  requireSipp();
  for (let attempt = 1; ; attempt++) {
    const r = await runSippOnce(o);
    const portTaken = /errno = 98|Address already in use/i.test(r.stderr) && !r.successful && !r.failed;
    if (!portTaken || attempt === 3) return r;
  }
}

async function runSippOnce(o: SippOptions): Promise<SippRun> {
  const local = o.localAddress ?? '127.0.0.1';
  const sipPort = await findFreeSipPort(local);
  const mediaPort = await findFreeUdpBlock(local);
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
    // 'close', not 'exit': 'exit' may come before the last of SIPp's output (its final statistics) has been read.
    child.on('close', (code, signal) => {
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
