/**
 * The HTTP webhook {@link SmsSender} (issue 5, `notifications.sms.provider: webhook`): each text is one
 * `POST <url>` with `Content-Type: application/json` and the body `{"to": "+14255550112", "text": "..."}`, plus the
 * configured headers (e.g. `Authorization`). Any 2xx status means the provider took the text; anything else, no
 * answer within `timeoutSeconds`, or no connection is a failure that the notification queue retries.
 * Uses Node 20's built-in fetch. Neither the headers (they may hold a token) nor the text are put in an error.
 */
import { ErrorCodes, VaError } from '../errors';
import type { SmsMessage, SmsSender } from '../ports/mwi';

/** The `notifications.sms.webhook` settings. */
export interface SmsWebhookSettings {
  url: string;
  /** Extra request headers (names as written); `Content-Type` is application/json unless given here. */
  headers: Record<string, string>;
  /** How long one POST may take, seconds. */
  timeoutSeconds: number;
}

/** The URL without its query and credentials, for messages (a query string may carry an API key). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** Creates the webhook sender. */
export function createWebhookSmsSender(settings: SmsWebhookSettings): SmsSender {
  const where = describeUrl(settings.url);
  const hasContentType = Object.keys(settings.headers).some((h) => h.toLowerCase() === 'content-type');
  const headers: Record<string, string> = { ...(hasContentType ? {} : { 'content-type': 'application/json' }), ...settings.headers };
  const timeoutMs = Math.round(settings.timeoutSeconds * 1000);
  return {
    /**
     * POSTs one text.
     * @throws VaError VA_ERR_SMS_SEND when the answer is not 2xx (the message has the status), on timeout, or when the
     *   server cannot be reached
     */
    async send(message: SmsMessage) {
      let res: Response;
      try {
        res = await fetch(settings.url, {
          method: 'POST',
          headers,
          body: JSON.stringify({ to: message.to, text: message.text }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        const e = err as Error & { cause?: { code?: string; message?: string } };
        const why =
          e.name === 'TimeoutError' ? `no answer within ${settings.timeoutSeconds} s` : (e.cause?.code ?? e.cause?.message ?? e.message);
        throw new VaError(ErrorCodes.SMS_SEND, `the SMS webhook ${where} cannot be reached: ${why}`, { cause: err });
      }
      // Read the body so the connection can be reused; its content is not needed.
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw new VaError(ErrorCodes.SMS_SEND, `the SMS webhook ${where} answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
    },
  };
}
