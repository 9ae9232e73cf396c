/**
 * VoiceMailNotifier: tells a mailbox's owner about a new voice message or a missed call (issue 5, "SMS and e-mail"),
 * through the durable {@link NotificationQueue}.
 *
 * Rules (seed 004 [S4] rows 19-23; Set-UMMailboxPolicy [D-POL], Set-UMMailbox [D-UMMBX]):
 * - SMS only when the mailbox's UM mailbox policy has AllowSMSNotification, the mailbox has a mobile number, and its
 *   UMSMSNotificationOption is `VoiceMail` (a text per new voice message) or `VoiceMailAndMissedCalls` (also a text
 *   per missed call: the caller hung up without leaving a message). `None` (the default) sends nothing.
 * - E-mail: every new voice message is delivered to the mailbox's primary SMTP address (its identity) with the
 *   recording attached as `voicemail-<time>.wav` (`audio/wav`), as Exchange UM delivers voice mail to the Inbox;
 *   `notifications.email.voiceMessages: false` turns that off. Missed calls are not mailed.
 * - Texts are in the mailbox's language (its own, else its dial plan's DefaultLanguage): en-US or fr-FR. They name
 *   the caller (resolved to a mailbox's display name when the number is a known user's), the local time of the
 *   server's time zone, the duration in seconds, and how to listen (the dial plan's first access number).
 *   Exchange's "Voice Mail Preview" is a speech-to-text transcript; there is no speech recognition here, so the text
 *   carries what is known instead of a transcript.
 *
 * The settings and mailbox are read when the event happens, so a cmdlet's change applies to the next message.
 */
import * as path from 'node:path';
import type { Logger } from 'pino';
import type { NotificationSettings } from '../config/schema';
import type { Locale } from '../domain/locale';
import type { Clock } from '../ports/clock';
import type { Mailer } from '../ports/mailer';
import type { SmsSender } from '../ports/mwi';
import type { Mailbox, Store } from '../ports/store';
import { wallClock } from '../util/wall-clock';
import { NotificationQueue, type NotificationQueueOptions, type QueuedMail } from './notification-queue';
import { createSmsSender } from './sms-provider';

/**
 * The mailbox events this notifier acts on (the runtime's `MailboxEvent`, `CallRuntime.onMailboxEvent`), by shape so
 * that `notify/` does not import the runtime.
 */
export type NotifiableEvent =
  | {
      type: 'voice-message';
      identity: string;
      message: { caller: string | null; receivedAt: number; durationMs: number; audioFile: string };
    }
  | { type: 'missed-call'; identity: string; caller: string | null; at: number };

/** What a text or mail says about one event; see {@link smsText} and {@link voiceMessageMail}. */
export interface NoticeFacts {
  locale: Locale;
  /** The caller's number, or null when withheld. */
  caller: string | null;
  /** The caller's display name when the number is a known mailbox's. */
  callerName?: string | null;
  /** When it happened, ms since the epoch. */
  at: number;
  /** The message's length, ms (voice messages only). */
  durationMs?: number;
  /** A number to call to listen (the dial plan's first access number), when there is one. */
  accessNumber?: string | null;
  /** IANA time zone for the local time (the server's by default). */
  timeZone?: string;
}

const WORDS = {
  'en-US': {
    unknown: 'unknown caller',
    voice: (who: string, when: string, secs: number) => `Voice message from ${who}, ${when}, ${secs} s.`,
    listen: (n: string) => ` Call ${n} to listen.`,
    missed: (who: string, when: string) => `Missed call from ${who}, ${when}. No message was left.`,
    subject: (who: string, dur: string) => `Voice Mail from ${who} (${dur})`,
    body: (who: string, when: string, secs: number, file: string) =>
      `You received a voice message from ${who}.\n\nReceived: ${when}\nDuration: ${secs} ${secs === 1 ? 'second' : 'seconds'}\n\nThe recording is attached (${file}).`,
    bodyListen: (n: string, ext: string) => `\nTo listen by phone, call ${n} and sign in with your extension ${ext}.`,
    gone: 'The recording was deleted before this mail could be delivered.',
  },
  'fr-FR': {
    unknown: 'numéro masqué',
    voice: (who: string, when: string, secs: number) => `Message vocal de ${who}, ${when}, ${secs} s.`,
    listen: (n: string) => ` Appelez le ${n} pour l'écouter.`,
    missed: (who: string, when: string) => `Appel manqué de ${who}, ${when}. Aucun message n'a été laissé.`,
    subject: (who: string, dur: string) => `Message vocal de ${who} (${dur})`,
    body: (who: string, when: string, secs: number, file: string) =>
      `Vous avez reçu un message vocal de ${who}.\n\nReçu : ${when}\nDurée : ${secs} ${secs <= 1 ? 'seconde' : 'secondes'}\n\nL'enregistrement est joint (${file}).`,
    bodyListen: (n: string, ext: string) => `\nPour l'écouter par téléphone, appelez le ${n} et connectez-vous avec votre poste ${ext}.`,
    gone: "L'enregistrement a été supprimé avant que ce message puisse être remis.",
  },
} as const;

/** The message length in whole seconds as texts say it (at least 1). */
export function durationSeconds(ms: number): number {
  return Math.max(1, Math.round(ms / 1000));
}

/** Intl output with ordinary spaces (some ICU versions put U+202F before AM/PM, which SMS alphabets lack). */
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

/**
 * The local date and time as a text says it: `Mon, Jan 6, 9:00 AM` (en-US), `lun. 6 janv., 09:00` (fr-FR).
 * @param at ms since the epoch; @param timeZone IANA name (the server's when undefined)
 */
export function formatWhen(at: number, locale: Locale, timeZone?: string): string {
  const date = new Intl.DateTimeFormat(locale, { weekday: 'short', month: 'short', day: 'numeric', timeZone }).format(at);
  const time = new Intl.DateTimeFormat(locale, { hour: 'numeric', minute: '2-digit', timeZone }).format(at);
  return plain(`${date}, ${locale === 'fr-FR' ? time.padStart(5, '0') : time}`);
}

/** The caller as a text names it: `David Jones (+14255550112)`, `+14255550123`, or the locale's word for withheld. */
export function callerLabel(f: Pick<NoticeFacts, 'caller' | 'callerName' | 'locale'>): string {
  if (!f.caller) return WORDS[f.locale].unknown;
  return f.callerName ? `${f.callerName} (${f.caller})` : f.caller;
}

/**
 * The SMS text for a voice message (when `durationMs` is given) or a missed call, in the facts' locale; e.g.
 * `Voice message from +14255550123, Mon, Jan 6, 9:00 AM, 4 s. Call +14255550100 to listen.`
 */
export function smsText(f: NoticeFacts): string {
  const w = WORDS[f.locale];
  const when = formatWhen(f.at, f.locale, f.timeZone);
  if (f.durationMs === undefined) return w.missed(callerLabel(f), when);
  return w.voice(callerLabel(f), when, durationSeconds(f.durationMs)) + (f.accessNumber ? w.listen(f.accessNumber) : '');
}

/** `m:ss` for a mail subject (`0:04`, `12:30`). */
function clockDuration(ms: number): string {
  const s = durationSeconds(ms);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** `voicemail-20250106-090000.wav`: the attachment's name, from the local time the message was received. */
export function attachmentName(at: number, timeZone?: string): string {
  const t = wallClock(at, timeZone);
  return `voicemail-${t.year}${t.month}${t.day}-${t.hour}${t.minute}${t.second}.wav`;
}

/**
 * The mail delivering a voice message: subject `Voice Mail from <caller> (m:ss)` (Exchange's wording; fr-FR
 * `Message vocal de ...`), a short text, and the WAV attached by path as `voicemail-<time>.wav`, `audio/wav`.
 * @param to the mailbox's SMTP address; @param audioFile the recording; @param extension the mailbox's extension
 */
export function voiceMessageMail(f: NoticeFacts & { durationMs: number }, to: string, audioFile: string, extension: string): QueuedMail {
  const w = WORDS[f.locale];
  const who = callerLabel(f);
  const filename = attachmentName(f.at, f.timeZone);
  const when = plain(new Intl.DateTimeFormat(f.locale, { dateStyle: 'full', timeStyle: 'short', timeZone: f.timeZone }).format(f.at));
  const text = `${w.body(who, when, durationSeconds(f.durationMs), filename)}${f.accessNumber ? w.bodyListen(f.accessNumber, extension) : ''}\n`;
  return {
    to,
    // Exchange's subject names a resolved caller by name only: "Voice Mail from Tony Smith (0:03)".
    subject: w.subject(f.caller && f.callerName ? f.callerName : who, clockDuration(f.durationMs)),
    text,
    attachments: [{ filename, path: path.resolve(audioFile), contentType: 'audio/wav' }],
    attachmentGoneText: w.gone,
  };
}

/** Options of {@link VoiceMailNotifier}. */
export interface VoiceMailNotifierOptions {
  store: Pick<Store, 'findMailbox' | 'findMailboxByCaller' | 'getPolicy' | 'getDialPlan'>;
  queue: NotificationQueue;
  /** `notifications.email` of the directory file. */
  email: NotificationSettings['email'];
  logger: Logger;
  /** IANA time zone for the texts' local times; the server's when undefined. */
  timeZone?: string;
}

export class VoiceMailNotifier {
  constructor(private readonly o: VoiceMailNotifierOptions) {}

  /**
   * Queues the SMS and mail an event calls for (see the module comment for the rules).
   * @returns resolves once they are queued; never rejects: a problem (an unknown mailbox, a store error) is logged
   */
  async handle(event: NotifiableEvent): Promise<void> {
    try {
      await this.notify(event);
    } catch (err) {
      this.o.logger.error({ err, identity: event.identity, event: event.type }, 'cannot queue the notifications of a mailbox event');
    }
  }

  private async notify(event: NotifiableEvent): Promise<void> {
    const { store, queue, logger } = this.o;
    const m = await store.findMailbox(event.identity);
    if (!m) {
      logger.warn({ identity: event.identity, event: event.type }, 'no mailbox to notify');
      return;
    }
    const policy = await store.getPolicy(m.policy);
    const dialPlan = await store.getDialPlan(m.dialPlan);
    const caller = event.type === 'voice-message' ? event.message.caller : event.caller;
    const facts: NoticeFacts = {
      locale: m.language ?? dialPlan.defaultLanguage,
      caller,
      callerName: caller ? await this.nameOf(caller, m) : null,
      at: event.type === 'voice-message' ? event.message.receivedAt : event.at,
      accessNumber: dialPlan.accessNumbers[0] ?? null,
      timeZone: this.o.timeZone,
    };
    if (event.type === 'voice-message') facts.durationMs = event.message.durationMs;

    const option = m.smsNotificationOption;
    const wantsSms = event.type === 'voice-message' ? option === 'VoiceMail' || option === 'VoiceMailAndMissedCalls' : option === 'VoiceMailAndMissedCalls';
    if (wantsSms && policy.allowSmsNotification && m.mobileNumber) {
      const row = await queue.enqueueSms(m.identity, { to: m.mobileNumber, text: smsText(facts) });
      logger.debug({ notification: row.id, identity: m.identity, event: event.type }, 'SMS queued');
    } else if (wantsSms) {
      logger.debug(
        { identity: m.identity, event: event.type, allowSmsNotification: policy.allowSmsNotification, hasMobileNumber: m.mobileNumber !== null },
        'no SMS: the policy does not allow it or the mailbox has no mobile number',
      );
    }
    if (event.type === 'voice-message' && this.o.email.voiceMessages) {
      const mail = voiceMessageMail({ ...facts, durationMs: event.message.durationMs }, m.identity, event.message.audioFile, m.extension);
      const row = await queue.enqueueMail(m.identity, mail);
      logger.debug({ notification: row.id, identity: m.identity }, 'voice-message mail queued');
    }
  }

  /** The display name of the mailbox a caller's number belongs to (not the called mailbox itself), or null. */
  private async nameOf(caller: string, called: Mailbox): Promise<string | null> {
    const m = await this.o.store.findMailboxByCaller(caller);
    return m && m.identity.toLowerCase() !== called.identity.toLowerCase() ? m.displayName : null;
  }
}

/** Options of {@link createNotifications}. */
export interface NotificationsOptions {
  /** The store: its mailboxes and settings, and its queue (`notifications`). */
  store: Pick<Store, 'findMailbox' | 'findMailboxByCaller' | 'getPolicy' | 'getDialPlan' | 'notifications'>;
  /** The configured mailer (SMTP or the outbox). */
  mailer: Mailer;
  /** The directory file's `notifications:`. */
  settings: NotificationSettings;
  /** The data folder (the SMS file sink writes to `<data>/sms/`). */
  dataDir: string;
  clock: Clock;
  logger: Logger;
  /** Replaces the configured SMS provider (the simulator wraps it to see every text). */
  sms?: SmsSender;
  /** See {@link VoiceMailNotifierOptions.timeZone}. */
  timeZone?: string;
  /** Backoff overrides (tests); see {@link NotificationQueue}. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** See {@link NotificationQueueOptions.watchIntervalMs} (`serve`: 1000; the simulator, alone on its store: 0). */
  watchIntervalMs?: number;
}

/** The notification part of a running server: hand it the runtime's mailbox events. */
export interface Notifications {
  queue: NotificationQueue;
  notifier: VoiceMailNotifier;
  /** Stops the queue (pending rows stay in the table for the next start). */
  stop(): Promise<void>;
}

/**
 * Builds and starts the SMS and voice-message mail delivery of one process: the configured SMS provider, the durable
 * queue (resuming rows left pending by an earlier run) and the notifier. Wire it with
 * `runtime.onMailboxEvent((e) => notifications.notifier.handle(e))`.
 */
export function createNotifications(o: NotificationsOptions): Notifications {
  const logger = o.logger;
  const queue = new NotificationQueue({
    store: o.store.notifications,
    sms: o.sms ?? createSmsSender(o.settings.sms, o.dataDir, o.clock),
    mailer: o.mailer,
    clock: o.clock,
    logger,
    retryWindowMs: Math.round(o.settings.retryWindowHours * 3_600_000),
    initialBackoffMs: o.initialBackoffMs,
    maxBackoffMs: o.maxBackoffMs,
    watchIntervalMs: o.watchIntervalMs,
  });
  const notifier = new VoiceMailNotifier({ store: o.store, queue, email: o.settings.email, logger, timeZone: o.timeZone });
  queue.start();
  return { queue, notifier, stop: () => queue.stop() };
}
