/** Whole-or-nothing file writes, for outbox mails and recordings (DESIGN.md "Media": temp file, fsync, rename). */
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Writes `data` to `file` so that a crash leaves either the whole new file or none of it: a temporary file in the
 * same folder, fsync, rename, then fsync of the folder so the rename itself is durable.
 * @throws the underlying fs error (the temporary file is removed first)
 */
export function writeFileAtomic(file: string, data: Buffer | string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
  const fd = openSync(tmp, 'wx');
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, file);
  const dirFd = openSync(path.dirname(file), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
