/**
 * The file sink {@link SmsSender} (issue 5; the default provider, `notifications.sms.provider: file`): each text is
 * one JSON file `<data>/sms/<time>-<id>.json` holding `{to, text, at}`, written atomically (temporary file, fsync,
 * rename: `util/atomic-file.ts`), where a person, a test or a gateway script can read it. The network simulator
 * reads the texts that appeared during a run from here (`sms` expectations), as it reads mails from the outbox.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, VaError } from '../errors';
import type { Clock } from '../ports/clock';
import type { SmsMessage, SmsSender } from '../ports/mwi';
import { writeFileAtomic, type AtomicWriteOptions } from '../util/atomic-file';

/** The sink's folder under the data folder. */
export const SMS_FOLDER = 'sms';

/** One text of the sink, as written. */
export interface SmsFile {
  to: string;
  text: string;
  /** When it was handed to the sink (ISO 8601, the server's clock). */
  at: string;
}

/**
 * Creates the file sink for a data folder.
 * @param dataDir the data folder (texts go to `<dataDir>/sms/`, created when missing)
 * @param clock names and stamps the files (the simulator's virtual clock in-process)
 * @param write `durable: false` for a data folder that lives no longer than the process (see {@link writeFileAtomic})
 */
export function createFileSmsSender(dataDir: string, clock: Pick<Clock, 'now'>, write: AtomicWriteOptions = {}): SmsSender {
  const folder = path.join(dataDir, SMS_FOLDER);
  return {
    /**
     * Writes one text as a JSON file.
     * @throws VaError VA_ERR_SMS_SEND when the folder or file cannot be written (the message names the folder)
     */
    async send(message: SmsMessage) {
      const at = new Date(clock.now()).toISOString();
      const body: SmsFile = { to: message.to, text: message.text, at };
      try {
        mkdirSync(folder, { recursive: true });
        const name = `${at.replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}.json`;
        writeFileAtomic(path.join(folder, name), `${JSON.stringify(body, null, 2)}\n`, write);
      } catch (err) {
        throw new VaError(ErrorCodes.SMS_SEND, `cannot write the text to ${message.to} into ${folder}: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}

/** The text files in `<dataDir>/sms/` (names only, sorted: oldest first); empty when the folder does not exist. */
export function listSmsFiles(dataDir: string): string[] {
  try {
    return readdirSync(path.join(dataDir, SMS_FOLDER))
      .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
      .sort();
  } catch {
    return [];
  }
}

/**
 * Reads the sink's texts whose file names are not in `before` (e.g. those that appeared during a scenario), oldest
 * first. Unreadable or foreign files are skipped.
 * @returns each text with its file and the file's modification time (ms since the epoch)
 */
export function readNewSms(dataDir: string, before: ReadonlySet<string> = new Set()): (SmsFile & { file: string; mtimeMs: number })[] {
  const out: (SmsFile & { file: string; mtimeMs: number })[] = [];
  for (const name of listSmsFiles(dataDir)) {
    if (before.has(name)) continue;
    const file = path.join(dataDir, SMS_FOLDER, name);
    try {
      const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<SmsFile>;
      if (typeof v.to !== 'string' || typeof v.text !== 'string') continue;
      out.push({ to: v.to, text: v.text, at: typeof v.at === 'string' ? v.at : '', file, mtimeMs: statSync(file).mtimeMs });
    } catch {
      // removed meanwhile, or not one of ours
    }
  }
  return out.sort((a, b) => a.mtimeMs - b.mtimeMs || a.file.localeCompare(b.file));
}
