/** Shared test helpers: temporary folders, small directory files, captured CLI output. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import type { CliIo } from '../src/cli/main';
import { DirectoryStore } from '../src/directory/store';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '..');

/** A fresh temporary folder. */
export function tempDir(prefix = 'va-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/**
 * Writes a directory file: the demo organisation with `patch` applied (a function that edits the parsed YAML),
 * a cheap PIN hash cost for speed unless the patch sets one.
 * @returns the file's path
 */
export function writeConfig(dir: string, patch: (doc: any) => void = () => {}): string {
  const doc = parse(readFileSync(path.join(ROOT, 'config', 'contoso.yaml'), 'utf8'));
  doc.security = { pinHashCost: 10 };
  patch(doc);
  const file = path.join(dir, 'directory.yaml');
  writeFileSync(file, stringify(doc));
  return file;
}

/**
 * The SQLite store behind an app's `Store` port, for SQLite-specific checks (pragmas, raw rows).
 * @throws Error when the app's store is not SQLite's
 */
export function sqliteOf(app: { store: unknown }): DirectoryStore {
  if (!(app.store instanceof DirectoryStore)) throw new Error('the app does not run on the SQLite store');
  return app.store;
}

/** A CliIo that keeps what was written. */
export function captureIo(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out(t: string) {
      io.stdout += t;
    },
    err(t: string) {
      io.stderr += t;
    },
  };
  return io;
}

/** A TCP port on 127.0.0.1 with nothing listening (bound, then closed), for "connection refused" cases. */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A small deterministic PRNG (an LCG) for seeded, bounded fuzz tests, so a failure replays: `next()` in [0, 1],
 * `pick` one element of a list.
 */
export function seededRandom(seed: number): { next(): number; pick<T>(a: readonly T[]): T } {
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x / 0x7fffffff;
  };
  return { next, pick: (a) => a[Math.min(a.length - 1, Math.floor(next() * a.length))] };
}
