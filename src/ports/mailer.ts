/**
 * Mailer: how PIN-reset mails, leader-PIN mails and (later) voice-message mails leave the system.
 * Adapters: `notify/nodemailer-mailer.ts` (SMTP, or `.eml` files in `<data>/outbox/`).
 */

/** A file attached to a mail. */
export interface MailAttachment {
  filename: string;
  /** A path on disk, or the content itself. */
  path?: string;
  content?: Buffer | string;
  contentType?: string;
}

/** One mail to one recipient. Bodies may carry a PIN: adapters must never log them. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
  attachments?: MailAttachment[];
}

export interface Mailer {
  /**
   * Delivers one mail; resolves once the SMTP server accepted it or the outbox file is on disk.
   * @throws VaError VA_ERR_MAIL_SEND when delivery failed (the message says why, without the body)
   */
  send(message: MailMessage): Promise<void>;
}
