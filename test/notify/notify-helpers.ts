/** Helpers for the SMS and e-mail notification tests: a log kept in memory, a store on a temp folder, fake providers. */
import { Writable } from 'node:stream';
import * as path from 'node:path';
import pino, { type Logger } from 'pino';
import { openApp, type App } from '../../src/app';
import { REDACT_PATHS } from '../../src/log';
import type { Mailer, MailMessage } from '../../src/ports/mailer';
import type { SmsMessage, SmsSender } from '../../src/ports/mwi';
import { VirtualClock } from '../../src/sim/virtual-clock';
import { tempDir, writeConfig } from '../helpers';

/** A pino logger (with the project's redaction) whose JSON lines are kept, parsed, in `lines`. */
export function memoryLogger(): { logger: Logger; lines: Record<string, unknown>[]; text: () => string } {
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      raw.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = pino({ level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
  return {
    logger,
    get lines() {
      return raw.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    text: () => raw.join('\n'),
  };
}

/** An SMS provider whose answers the test decides: `fail` > 0 fails that many next sends. */
export class FakeSms implements SmsSender {
  readonly sent: SmsMessage[] = [];
  readonly tried: SmsMessage[] = [];
  fail = 0;
  failAlways = false;
  async send(m: SmsMessage): Promise<void> {
    this.tried.push(m);
    if (this.failAlways || this.fail > 0) {
      this.fail = Math.max(0, this.fail - 1);
      throw new Error('provider down (503)');
    }
    this.sent.push(m);
  }
}

/** A mailer that keeps every mail; `fail` > 0 fails that many next sends. */
export class FakeMailer implements Mailer {
  readonly sent: MailMessage[] = [];
  fail = 0;
  async send(m: MailMessage): Promise<void> {
    if (this.fail > 0) {
      this.fail -= 1;
      throw new Error('SMTP down');
    }
    this.sent.push(m);
  }
}

/**
 * Opens the demo directory (a temp folder, cheap PIN hashes) on a virtual clock.
 * @param patch edits the directory file before it is written
 */
const tracked = new Set<{ store: { inFlight(): number } }>();
/** True while a tracked app's store waits on its database (the virtual clocks of these tests wait for it). */
function storesBusy(): boolean {
  for (const a of tracked) if (a.store.inFlight() > 0) return true;
  return false;
}
/** Makes the virtual clocks of {@link openVirtualApp} wait for this app's store too (a second instance). */
export function trackStore(app: { store: { inFlight(): number } }): void {
  tracked.add(app);
}

export async function openVirtualApp(patch: (doc: any) => void = () => {}, data?: string, store?: string): Promise<{ app: App; clock: VirtualClock; data: string; config: string }> {
  const dir = tempDir('va-notify-');
  const config = writeConfig(dir, patch);
  const folder = data ?? path.join(dir, 'data');
  // A PostgreSQL store answers over the network: virtual time waits for it (SQLite is never busy).
  const clock = new VirtualClock(undefined, { isBusy: storesBusy });
  const app = await openApp({ config, data: folder, store, clock, mailer: new FakeMailer() });
  trackStore(app);
  return { app, clock, data: folder, config };
}
