/**
 * The {@link Mailer} on nodemailer: SMTP when `mail.smtp` is configured, otherwise RFC 5322 `.eml` files written
 * atomically (temporary file, fsync, rename) into `<data>/outbox/`, where a person or a test can read them.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import nodemailer from 'nodemailer';
import type { z } from 'zod';
import type { MailSchema } from '../config/schema';
import { ErrorCodes, VaError } from '../errors';
import { writeFileAtomic, type AtomicWriteOptions } from '../util/atomic-file';
import type { Mailer, MailMessage } from '../ports/mailer';

/** Mail settings from the directory file (`mail:`). */
export type MailSettings = z.infer<typeof MailSchema>;

/**
 * Creates the mailer for a data folder.
 * @param settings the `mail:` section; @param dataDir the data folder (outbox: `<dataDir>/outbox/`)
 * @param write how the outbox is written (`durable: false` for a throw-away data folder)
 */
export function createMailer(settings: MailSettings, dataDir: string, write: AtomicWriteOptions = {}): Mailer {
  if (settings.smtp) {
    const { host, port, secure, user, password } = settings.smtp;
    const transport = nodemailer.createTransport({
      host,
      port,
      secure,
      auth: user ? { user, pass: password } : undefined,
      // Local relays and test receivers often use self-signed certificates for STARTTLS.
      tls: { rejectUnauthorized: false },
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
    });
    return {
      async send(message: MailMessage) {
        try {
          await transport.sendMail({ from: settings.from, ...message });
        } catch (err) {
          throw new VaError(ErrorCodes.MAIL_SEND, `SMTP ${host}:${port} refused the mail to ${message.to}: ${(err as Error).message}`, { cause: err });
        }
      },
    };
  }
  const outbox = path.join(dataDir, 'outbox');
  const stream = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send(message: MailMessage) {
      try {
        const info = await stream.sendMail({ from: settings.from, ...message });
        mkdirSync(outbox, { recursive: true });
        const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}.eml`;
        writeFileAtomic(path.join(outbox, name), info.message as Buffer, write);
      } catch (err) {
        throw new VaError(ErrorCodes.MAIL_SEND, `cannot write the mail to ${message.to} into ${outbox}: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}
