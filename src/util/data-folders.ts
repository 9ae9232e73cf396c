/**
 * The folders `serve` writes to, checked at start, and the clean-up of temporary files a crash left there (issue 19,
 * "Nothing lost"). Every file the server writes in them goes through {@link writeFileAtomic} (a temporary
 * `.<name>.<pid>.<8 hex>.tmp` next to the final name, fsync, rename), and FreeSWITCH records into a hidden
 * `.fs-<name>.wav` next to the final name: a process killed mid-write leaves such a file, never a partial final one.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, VaError } from '../errors';

/** A temporary file of {@link writeFileAtomic}: `.<name>.<pid>.<8 hex digits>.tmp`; group 1 is the writer's PID. */
export const ATOMIC_TEMP_FILE = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/** FreeSWITCH's raw recording, next to the final file until the call settles it: `.fs-<name>.wav`. */
export const MEDIA_SERVER_RAW_FILE = /^\.fs-.+\.wav$/;

/**
 * How old a temporary file must be to be removed whatever its name says, ms (10 minutes). A write of ours takes
 * milliseconds and FreeSWITCH writes its raw file all along a recording, so a file untouched this long is abandoned
 * (its writer is on another machine sharing the folder, or its PID was reused).
 */
export const STALE_TEMP_AGE_MS = 10 * 60_000;

/** A folder the server writes to, and what it is for (named in the error). */
export interface WritableFolder {
  /** `data`, `recordings`, `outbox`, `sms`. */
  role: string;
  path: string;
}

/**
 * Makes sure the server can write in `folder`: creates it when missing, then creates, writes and removes a small
 * temporary file in it (a permission, a read-only mount, a full disk or a file in the way all show up here).
 * @throws VaError VA_ERR_DATA_NOT_WRITABLE naming the folder, its role and the operating system's reason
 */
export function assertWritableFolder(folder: WritableFolder): void {
  const probe = path.join(folder.path, `.write-check.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
  let step = 'create the folder';
  try {
    mkdirSync(folder.path, { recursive: true });
    step = 'create a file in it';
    const fd = openSync(probe, 'wx');
    try {
      step = 'write a file in it';
      writeSync(fd, Buffer.from('ok\n'));
    } finally {
      closeSync(fd);
    }
    step = 'remove a file from it';
    unlinkSync(probe);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new VaError(ErrorCodes.DATA_NOT_WRITABLE, `the ${folder.role} folder ${folder.path} is not writable: cannot ${step} (${reason})`, { cause: err });
  }
}

/** Is `pid` a running process on this machine? (EPERM: it is, owned by someone else.) */
function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files an earlier run left in `folder` (it was killed mid-write): a {@link ATOMIC_TEMP_FILE}
 * whose writer is not running on this machine (or is this process: call it at start, before this process writes),
 * and any {@link ATOMIC_TEMP_FILE} or {@link MEDIA_SERVER_RAW_FILE} not modified for {@link STALE_TEMP_AGE_MS}.
 * A temporary file of another instance still writing (a live PID, a recent FreeSWITCH raw file) is kept. Final
 * files are never touched. A missing folder has nothing to remove.
 * @param folder the folder to sweep (not its subfolders)
 * @param now ms since the epoch (for the age rule)
 * @returns the names removed
 */
export function removeStaleTempFiles(folder: string, now: number = Date.now()): string[] {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const atomic = ATOMIC_TEMP_FILE.exec(name);
    if (!atomic && !MEDIA_SERVER_RAW_FILE.test(name)) continue;
    const file = path.join(folder, name);
    try {
      const st = statSync(file);
      if (!st.isFile()) continue;
      const old = now - st.mtimeMs > STALE_TEMP_AGE_MS;
      const pid = atomic ? Number(atomic[1]) : NaN;
      const orphan = atomic !== null && (pid === process.pid || !processAlive(pid));
      if (!old && !orphan) continue;
      unlinkSync(file);
      removed.push(name);
    } catch {
      /* gone meanwhile, or not ours to remove: the next start tries again */
    }
  }
  return removed;
}
