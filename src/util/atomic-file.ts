/** Whole-or-nothing file writes, for outbox mails and recordings (DESIGN.md "Media": temp file, fsync, rename). */
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import * as path from 'node:path';

/** How {@link writeFileAtomic} writes. */
export interface AtomicWriteOptions {
  /**
   * fsync the file and its folder (default true): the new file survives a crash of the machine. Off only for
   * folders that live no longer than the process (the simulator's throw-away data folder): readers still never
   * see half a file (the rename), but nothing waits for the disk.
   */
  durable?: boolean;
}

/**
 * Writes `data` to `file` so that a crash leaves either the whole new file or none of it: a temporary file in the
 * same folder, fsync, rename, then fsync of the folder so the rename itself is durable.
 * @throws the underlying fs error (the temporary file is removed first)
 */
export function writeFileAtomic(file: string, data: Buffer | string, opts: AtomicWriteOptions = {}): void {
  const durable = opts.durable ?? true;
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
  const fd = openSync(tmp, 'wx');
  let open = true;
  try {
    // A short write (a disk nearly full) returns fewer bytes without an error: write the rest, or fail on it.
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let at = 0; at < bytes.length; ) {
      const n = writeSync(fd, bytes, at, bytes.length - at);
      if (n <= 0) throw Object.assign(new Error(`no progress writing ${tmp}`), { code: 'EIO' });
      at += n;
    }
    if (durable) fsyncSync(fd);
    open = false;
    closeSync(fd);
  } catch (err) {
    if (open) tryQuietly(() => closeSync(fd));
    tryQuietly(() => unlinkSync(tmp));
    throw err;
  }
  try {
    renameSync(tmp, file);
  } catch (err) {
    tryQuietly(() => unlinkSync(tmp));
    throw err;
  }
  if (!durable) return;
  const dirFd = openSync(path.dirname(file), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** Runs `fn`, ignoring what it throws (clean-up after a failure that is already being reported). */
function tryQuietly(fn: () => void): void {
  try {
    fn();
  } catch {
    /* the first error is the one reported */
  }
}
