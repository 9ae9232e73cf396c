/**
 * A PostgreSQL server of its own for a test or a benchmark: Debian's `postgresql` package (15; `.ci/run` installs
 * it), a new cluster made by `initdb` in a temporary folder, listening on 127.0.0.1 on a free port, stopped by PID.
 * PostgreSQL refuses to run as root: when this process is root, the cluster belongs to the `postgres` user the
 * package creates, and `initdb` and `postgres` run as that user (spawned with its uid and gid, so the PID is the
 * server's own and a signal reaches it).
 *
 * Never product code: the product only connects to a URL (`--store postgresql://...`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import * as path from 'node:path';
import { accepts, exited, freeTcpPort, removeDir, tail, terminate, track } from './real-servers';

/** A running cluster. */
export interface RunningPostgres {
  /** `postgresql://USER@127.0.0.1:PORT/postgres` (trust authentication on loopback: no password). */
  url: string;
  port: number;
  user: string;
  /** The postmaster's PID (a new one after {@link RunningPostgres.resume}). */
  readonly pid: number;
  /** Stops the server (fast shutdown) and keeps its cluster: the database is away until {@link RunningPostgres.resume}. */
  halt(): Promise<void>;
  /** Starts the halted server again on the same port and cluster. */
  resume(): Promise<void>;
  /** The URL of a new, empty database of this cluster (`CREATE DATABASE`; the name is made unique). */
  createDatabase(prefix?: string): Promise<string>;
  /** Stops the server (fast shutdown, SIGKILL after 5 s) and removes its folder. */
  stop(): Promise<void>;
}

/** The folder of Debian's PostgreSQL programs (the newest installed version), or null. `PG_BIN` overrides it. */
export function findPostgresBin(): string | null {
  const env = process.env.PG_BIN;
  if (env) return existsSync(path.join(env, 'postgres')) ? env : null;
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => existsSync(path.join(base, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(base, versions[0], 'bin') : null;
}

let databases = 0;

/**
 * Makes and starts a cluster.
 * @throws Error naming what is missing (no PostgreSQL programs) or the server log's tail when it does not start
 */
export async function startPostgres(opts: { startTimeoutMs?: number } = {}): Promise<RunningPostgres> {
  const bin = findPostgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/postgres (apt-get install -y postgresql, or PG_BIN)');
  const root = process.getuid?.() === 0;
  const user = root ? 'postgres' : userInfo().username;
  const dir = mkdtempSync(path.join(tmpdir(), 'va-pg-'));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  let ids: { uid: number; gid: number } | object = {};
  if (root) {
    ids = { uid: Number(execFileSync('id', ['-u', user]).toString().trim()), gid: Number(execFileSync('id', ['-g', user]).toString().trim()) };
    chownSync(dir, (ids as { uid: number }).uid, (ids as { gid: number }).gid);
  }
  chmodSync(dir, 0o700);
  try {
    execFileSync(path.join(bin, 'initdb'), ['-D', dataDir, '-U', user, '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync'], { stdio: 'pipe', cwd: dir, ...ids });
  } catch (err) {
    removeDir(dir);
    throw new Error(`initdb failed: ${(err as { stderr?: Buffer }).stderr?.toString() ?? (err as Error).message}`);
  }
  const port = await freeTcpPort();
  // Durability is not what the tests measure: fsync off keeps a cluster's start and each commit fast on shared disks.
  const args = [
    '-D', dataDir, '-h', '127.0.0.1', '-p', String(port), '-k', dir,
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200',
    '-c', `logging_collector=off`,
  ];
  const launch = async (): Promise<ChildProcess> => {
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(path.join(bin, 'postgres'), args, { stdio: ['ignore', fd, fd], cwd: dir, ...ids });
    } finally {
      closeSync(fd);
    }
    track(child);
    const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
    for (;;) {
      if (child.exitCode !== null) throw new Error(`postgres exited at start (code ${child.exitCode}):\n${tail(logFile, 20)}`);
      if ((await accepts(port)) && ready(bin, port, user)) return child;
      if (Date.now() > deadline) {
        await terminate(child, child.pid!);
        throw new Error(`postgres did not accept connections on 127.0.0.1:${port} in time:\n${tail(logFile, 20)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const halt = async (child: ChildProcess): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(child.pid!, 'SIGINT'); // fast shutdown: clients are disconnected, nothing waits for them
    } catch {
      /* gone */
    }
    const timer = setTimeout(() => void terminate(child, child.pid!, 0), 5_000);
    await exited(child);
    clearTimeout(timer);
  };
  let child: ChildProcess;
  try {
    child = await launch();
  } catch (err) {
    removeDir(dir);
    throw err;
  }
  const url = `postgresql://${user}@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    user,
    get pid() {
      return child.pid!;
    },
    async createDatabase(prefix = 'va') {
      const name = `${prefix}_${process.pid}_${++databases}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
      execFileSync(path.join(bin, 'psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', 'postgres', '-qAtc', `CREATE DATABASE ${name}`], {
        stdio: 'pipe',
      });
      return `postgresql://${user}@127.0.0.1:${port}/${name}`;
    },
    async halt() {
      await halt(child);
    },
    async resume() {
      if (child.exitCode === null && child.signalCode === null) return;
      child = await launch();
    },
    async stop() {
      await halt(child);
      removeDir(dir);
    },
  };
}

/** True when the server answers queries (not only accepts connections: it may still be starting up). */
function ready(bin: string, port: number, user: string): boolean {
  try {
    execFileSync(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', 'postgres', '-q'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
