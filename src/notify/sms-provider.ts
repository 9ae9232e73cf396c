/** Chooses the {@link SmsSender} the directory file's `notifications.sms` names: the file sink (default) or a webhook. */
import type { NotificationSettings } from '../config/schema';
import type { Clock } from '../ports/clock';
import type { SmsSender } from '../ports/mwi';
import type { AtomicWriteOptions } from '../util/atomic-file';
import { createFileSmsSender } from './sms-file-sender';
import { createWebhookSmsSender } from './sms-webhook-sender';

/**
 * Creates the configured SMS provider.
 * @param settings `notifications.sms` (validated: `webhook` is present when the provider is `webhook`)
 * @param dataDir the data folder (the file sink writes to `<dataDir>/sms/`)
 * @param clock stamps the file sink's texts
 * @param write how the file sink writes (`durable: false` for a throw-away data folder)
 */
export function createSmsSender(settings: NotificationSettings['sms'], dataDir: string, clock: Pick<Clock, 'now'>, write: AtomicWriteOptions = {}): SmsSender {
  if (settings.provider === 'webhook' && settings.webhook) return createWebhookSmsSender(settings.webhook);
  return createFileSmsSender(dataDir, clock, write);
}
