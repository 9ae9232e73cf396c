/**
 * The real servers the tests and the benchmarks run against, found and started at run time (never product code: they
 * are installed like a database would be, `../shared/reference/real-servers.md`; their sources and binaries never go
 * into the repository). Shared by the test helpers (`test/helpers/real-servers.ts`, which adds the jest side) and
 * `bench/freeswitch-bench.ts`, so it imports nothing of jest.
 *
 * - {@link findDrachtio} / {@link findFreeswitch}: where the binary is (environment, PATH, the usual install folder).
 * - {@link startDrachtio}: one drachtio-server on 127.0.0.1 with free ports and a temporary configuration
 *   (FreeSWITCH: `freeswitch-server.ts` beside this file).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as net from 'node:net';
import * as path from 'node:path';
import { findFreeSipPort } from '../../src/sip/embedded/free-port';

/** The servers a suite may need. */
export type RealServerName = 'drachtio-server' | 'freeswitch';

const DRACHTIO_DEFAULT = '/opt/drachtio/bin/drachtio';
const FREESWITCH_DEFAULT = '/opt/fs/bin/freeswitch';

/** True when `file` is a regular file this process may execute. */
function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` in the folders of `PATH`, or null. */
function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    if (isExecutable(file)) return file;
  }
  return null;
}

/** A finder's answer: the binary, or why there is none (for the skip line). */
export interface Found {
  bin: string | null;
  /** Where it was looked for, e.g. `DRACHTIO_BIN, PATH, /opt/drachtio/bin` or `DRACHTIO_BIN=/x is not executable`. */
  lookedIn: string;
}

export function locateDrachtio(): Found {
  const env = process.env.DRACHTIO_BIN;
  // An explicit DRACHTIO_BIN is the only candidate: a wrong one must not silently fall back to another binary.
  if (env) return { bin: isExecutable(env) ? env : null, lookedIn: `DRACHTIO_BIN=${env} is not executable` };
  return { bin: onPath('drachtio') ?? (isExecutable(DRACHTIO_DEFAULT) ? DRACHTIO_DEFAULT : null), lookedIn: `DRACHTIO_BIN, PATH, ${path.dirname(DRACHTIO_DEFAULT)}` };
}

export function locateFreeswitch(): Found {
  const bin = process.env.FREESWITCH_BIN;
  if (bin) return { bin: isExecutable(bin) ? bin : null, lookedIn: `FREESWITCH_BIN=${bin} is not executable` };
  const dir = process.env.FREESWITCH_DIR;
  if (dir) {
    const file = path.join(dir, 'bin', 'freeswitch');
    return { bin: isExecutable(file) ? file : null, lookedIn: `FREESWITCH_DIR=${dir}: no executable bin/freeswitch` };
  }
  return { bin: onPath('freeswitch') ?? (isExecutable(FREESWITCH_DEFAULT) ? FREESWITCH_DEFAULT : null), lookedIn: `FREESWITCH_BIN, FREESWITCH_DIR, PATH, ${path.dirname(FREESWITCH_DEFAULT)}` };
}

/**
 * Finds drachtio-server: `DRACHTIO_BIN` when set (and then only it), else `drachtio` on `PATH`, else
 * `/opt/drachtio/bin/drachtio`.
 * @returns the path of an executable file, or null when there is none
 */
export function findDrachtio(): string | null {
  return locateDrachtio().bin;
}

/**
 * Finds FreeSWITCH: `FREESWITCH_BIN` when set, else `FREESWITCH_DIR/bin/freeswitch` when `FREESWITCH_DIR` is set,
 * else `freeswitch` on `PATH`, else `/opt/fs/bin/freeswitch`. (Starting it is not this module's job.)
 * @returns the path of an executable file, or null when there is none
 */
export function findFreeswitch(): string | null {
  return locateFreeswitch().bin;
}

/** drachtio-server's log levels (`<loglevel>`). */
export type DrachtioLogLevel = 'notice' | 'warning' | 'error' | 'info' | 'debug';
const LOG_LEVELS: readonly string[] = ['notice', 'warning', 'error', 'info', 'debug'];

/** Options of {@link startDrachtio}. */
export interface StartDrachtioOptions {
  /** The binary (default: {@link findDrachtio}). */
  bin?: string;
  /**
   * drachtio's `<loglevel>`; default `DRACHTIO_LOGLEVEL` from the environment, else notice (its info level is
   * costly). With info or debug it logs every SIP message.
   */
  logLevel?: DrachtioLogLevel;
  /** sofia-sip's log level, 0-9 (default 1). */
  sofiaLogLevel?: number;
  /** How long to wait for the admin port to accept connections, ms (default 10 000). */
  startTimeoutMs?: number;
}

/** A running drachtio-server on 127.0.0.1. */
export interface RunningDrachtio {
  host: '127.0.0.1';
  /** SIP over UDP and TCP (`<contact>sip:127.0.0.1:PORT;transport=udp,tcp</contact>`). */
  sipPort: number;
  /** The admin port (`<admin port>`), where drachtio-srf connects. */
  adminPort: number;
  /** The admin secret (random per start). */
  secret: string;
  pid: number;
  /**
   * The temporary folder with `drachtio.conf.xml` and `drachtio.log` (its stdout and stderr); removed by `stop()`
   * unless `E2E_KEEP=1`.
   */
  dir: string;
  /** The last `lines` lines of its log. */
  logTail(lines?: number): string;
  /**
   * SIGTERM, and SIGKILL when it has not exited after 3 s; resolves once it exited (then removes `dir` unless
   * `E2E_KEEP=1`). Idempotent.
   */
  stop(): Promise<void>;
}

/** The configuration {@link startDrachtio} writes (schema of drachtio-server v0.9.4's `drachtio.conf.xml`). */
function drachtioConfig(o: { adminPort: number; secret: string; sipPort: number; logLevel: string; sofiaLogLevel: number }): string {
  return [
    '<drachtio>',
    `  <admin port="${o.adminPort}" secret="${o.secret}">127.0.0.1</admin>`,
    '  <sip>',
    '    <contacts>',
    `      <contact>sip:127.0.0.1:${o.sipPort};transport=udp,tcp</contact>`,
    '    </contacts>',
    '  </sip>',
    '  <logging>',
    '    <console/>',
    `    <loglevel>${o.logLevel}</loglevel>`,
    `    <sofia-loglevel>${o.sofiaLogLevel}</sofia-loglevel>`,
    '  </logging>',
    '</drachtio>',
    '',
  ].join('\n');
}

/** A TCP port on 127.0.0.1 that was free a moment ago (bound to 0, then released). */
export async function freeTcpPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** True when a TCP connection to 127.0.0.1:`port` is accepted (then closed at once). */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The last `lines` lines of `file` ('' when unreadable). */
export function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Resolves once `child` exited (at once when it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Processes this worker started and has not seen exit: killed when the worker exits (a suite that never stopped them). */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
/** Kills `child` (SIGKILL) if this process exits while it still runs. */
export function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of running) {
      try {
        if (c.pid) process.kill(c.pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
  });
}

/** SIGTERM to `child`, SIGKILL after `graceMs` (3 s); resolves once it exited. */
export async function terminate(child: ChildProcess, pid: number, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* exited meanwhile */
      }
      resolve();
    }, graceMs);
  });
  await Promise.race([exited(child), killed]);
  clearTimeout(timer);
  await exited(child);
}

/** Removes a server's temporary folder, unless `E2E_KEEP=1`. */
export function removeDir(dir: string): void {
  if (process.env.E2E_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
}

/** One start attempt; rejects (with the log's tail) when it exits or its admin port does not come up in time. */
async function startOnce(bin: string, opts: StartDrachtioOptions): Promise<RunningDrachtio> {
  const dir = mkdtempSync(path.join(tmpdir(), 'va-drachtio-server-'));
  const sipPort = await findFreeSipPort('127.0.0.1');
  let adminPort = await freeTcpPort();
  while (adminPort === sipPort) adminPort = await freeTcpPort();
  const secret = randomBytes(12).toString('hex');
  const conf = path.join(dir, 'drachtio.conf.xml');
  const logFile = path.join(dir, 'drachtio.log');
  const envLevel = process.env.DRACHTIO_LOGLEVEL;
  const logLevel = opts.logLevel ?? (envLevel && LOG_LEVELS.includes(envLevel) ? envLevel : 'notice');
  writeFileSync(conf, drachtioConfig({ adminPort, secret, sipPort, logLevel, sofiaLogLevel: opts.sofiaLogLevel ?? 1 }));
  const out = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(bin, ['-f', conf], { cwd: dir, stdio: ['ignore', out, out] });
  } finally {
    closeSync(out); // the child has its own copy of the descriptor
  }
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  if (child.pid === undefined) {
    removeDir(dir);
    throw new Error(`cannot start ${bin}: ${(await spawnError).message}`);
  }
  const pid = child.pid;
  track(child);
  let stopping: Promise<void> | null = null;
  const server: RunningDrachtio = {
    host: '127.0.0.1',
    sipPort,
    adminPort,
    secret,
    pid,
    dir,
    logTail: (lines = 30) => tail(logFile, lines),
    stop() {
      stopping ??= terminate(child, pid).then(() => removeDir(dir));
      return stopping;
    },
  };
  const timeoutMs = opts.startTimeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const why = `drachtio-server (${bin}) exited at start (code ${child.exitCode}, signal ${child.signalCode}); its log ends:\n${server.logTail()}`;
      removeDir(dir);
      throw new Error(why);
    }
    if (await accepts(adminPort)) return server;
    if (Date.now() > deadline) {
      const why = `drachtio-server (${bin}) did not accept connections on its admin port 127.0.0.1:${adminPort} within ${timeoutMs} ms; its log ends:\n${server.logTail()}`;
      await server.stop();
      throw new Error(why);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts drachtio-server on 127.0.0.1: free SIP (UDP and TCP) and admin ports, a random secret, a configuration
 * in a temporary folder, its output in `drachtio.log` there. Resolves once its admin port accepts TCP connections.
 * A start that fails at once (a port taken meanwhile) is tried again with other ports, three times in all.
 * @returns the running server; call `stop()` when done (an afterAll)
 * @throws Error when no binary is found, or it exits at start or does not open its admin port within
 *   `startTimeoutMs` (the message holds the tail of its log)
 */
export async function startDrachtio(opts: StartDrachtioOptions = {}): Promise<RunningDrachtio> {
  const bin = opts.bin ?? findDrachtio();
  if (!bin) throw new Error(`drachtio-server not found (${locateDrachtio().lookedIn})`);
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(bin, opts);
    } catch (e) {
      last = e;
      if (!/exited at start/.test((e as Error).message)) break;
    }
  }
  throw last;
}
