/**
 * The MWI ports (`ports/mwi.ts`) on drachtio-srf; the MWI logic itself (which gateway, retries, refresh,
 * subscriptions' state) is the shared `notify/` code.
 * - {@link DrachtioMwiTransport}: an unsolicited message-summary NOTIFY through drachtio-server,
 *   `srf.request(uri, {method: 'NOTIFY', headers, body})`, to `sip:EXT@HOST:PORT;transport=tcp|tls` (seed 004: the
 *   dial plan's VoIPSecurity picks TCP or TLS; drachtio-server needs a matching `<contact>` to send over it).
 * - {@link DrachtioSubscriptionSource}: SUBSCRIBE requests (`srf.subscribe`), accepted with 200 OK as subscription
 *   dialogs; in-dialog NOTIFYs only through `dialog.request({method: 'NOTIFY'})` (the per-method shortcuts throw).
 */
import type { Logger } from 'pino';
import { lazyChild } from '../../log';
import { ErrorCodes, VaError } from '../../errors';
import type {
  IncomingSubscription,
  MwiNotifyRequest,
  MwiNotifyResult,
  MwiTransport,
  SubscriptionDialog,
  SubscriptionRefresh,
  SubscriptionSource,
} from '../../ports/mwi';
import { parseNameAddr, parseUriParts, uriUser } from '../sip-headers';
import type { DrachtioSrf, SrfDialog, SrfRequest, SrfResponse } from './srf-types';

/** RFC 3261 64*T1: how long a non-INVITE transaction may take (ms), the default wait for a final response. */
export const DEFAULT_MWI_RESPONSE_TIMEOUT_MS = 32_000;

/** What {@link DrachtioMwiTransport} needs. */
export interface DrachtioMwiTransportDeps {
  srf: DrachtioSrf;
  /** True while drachtio-server is connected (a NOTIFY is not even tried otherwise). */
  isConnected(): boolean;
  /** `HOST:PORT` of drachtio-server, for error messages. */
  where: string;
  logger: Logger;
  /** Wait for a final response, ms (default {@link DEFAULT_MWI_RESPONSE_TIMEOUT_MS}). */
  responseTimeoutMs?: number;
}

/** A host for a SIP URI: IPv6 literals in brackets. */
function uriHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Unsolicited message-summary NOTIFYs (seed 004: `Subscription-State: terminated`) sent by drachtio-server. */
export class DrachtioMwiTransport implements MwiTransport {
  private closed = false;

  constructor(private readonly deps: DrachtioMwiTransportDeps) {}

  /** Refuses later NOTIFYs (the admin connection itself is the engine's to close). Idempotent. */
  close(): void {
    this.closed = true;
  }

  /**
   * Sends one NOTIFY through drachtio-server and waits for the gateway's final response. The Request-URI is
   * `sip:EXTENSION@HOST:PORT;transport=tcp|tls`, To `<sip:EXTENSION@HOST>`; From and Call-ID are drachtio-server's.
   * Timeouts and transport failures that drachtio-server's SIP stack turns into a final response (408, 503) are
   * returned as that status, like any other failure status.
   * @returns the final status and reason phrase
   * @throws VaError VA_ERR_DRACHTIO_CONNECT when drachtio-server is not connected; Error when drachtio-server could
   *   not send it (no transport for the URI, e.g. no TLS `<contact>`) or no final response came within the timeout
   */
  async sendNotify(request: MwiNotifyRequest): Promise<MwiNotifyResult> {
    const { deps } = this;
    const target = `${uriHost(request.host)}:${request.port}`;
    if (this.closed) throw new Error('the MWI transport is closed');
    if (!deps.isConnected()) {
      throw new VaError(ErrorCodes.DRACHTIO_CONNECT, `not connected to drachtio-server at ${deps.where}: the NOTIFY to ${target} was not sent`);
    }
    const uri = `sip:${request.extension}@${target};transport=${request.transport}`;
    const timeoutMs = deps.responseTimeoutMs ?? DEFAULT_MWI_RESPONSE_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    // One deadline for the whole exchange: drachtio-server may also never confirm the request (connection lost).
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no final response to the NOTIFY from ${target} within ${timeoutMs} ms (timeout)`)), timeoutMs);
    });
    const exchange = new Promise<MwiNotifyResult>((resolve, reject) => {
      deps.srf
        .request(
          uri,
          {
            method: 'NOTIFY',
            headers: {
              To: `<sip:${request.extension}@${uriHost(request.host)}>`,
              Event: 'message-summary',
              'Subscription-State': 'terminated',
              'Content-Type': 'application/simple-message-summary',
            },
            body: request.body,
          },
          (res) => {
            if (res.status >= 200) resolve({ status: res.status, reason: res.reason });
          },
        )
        .catch((err: unknown) => {
          reject(new Error(`drachtio-server could not send the NOTIFY to ${target} over ${request.transport}: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
        });
    });
    try {
      return await Promise.race([exchange, timeout]);
    } finally {
      clearTimeout(timer);
      exchange.catch(() => undefined);
    }
  }
}

/** What {@link DrachtioSubscriptionSource} needs. */
export interface DrachtioSubscriptionSourceDeps {
  srf: DrachtioSrf;
  logger: Logger;
  /** Wait for the subscriber's final response to an in-dialog NOTIFY, ms (default {@link DEFAULT_MWI_RESPONSE_TIMEOUT_MS}). */
  responseTimeoutMs?: number;
}

/** `Expires` as a whole number of seconds, or undefined when absent or not a number. */
function expiresOf(req: SrfRequest): number | undefined {
  const v = req.get('Expires');
  if (v === undefined || !/^\s*\d+\s*$/.test(v)) return undefined;
  return Number(v);
}

/** True when the To header carries a tag (an in-dialog request). */
function hasToTag(req: SrfRequest): boolean {
  const to = parseNameAddr(req.get('To') ?? '');
  return !!to && typeof to.params.tag === 'string' && to.params.tag !== '';
}

/** Sends a response; drachtio-srf throws for a status it does not know, or once a final response went out. */
function send(res: SrfResponse, status: number, headers: Record<string, string> | undefined, log: Logger): void {
  try {
    if (!res.finalResponseSent) res.send(status, headers ? { headers } : {});
  } catch (err) {
    log.warn({ err, status }, 'cannot answer the SUBSCRIBE');
  }
}

/** SUBSCRIBEs received by drachtio-server, as {@link IncomingSubscription}s. */
export class DrachtioSubscriptionSource implements SubscriptionSource {
  private handler: ((subscription: IncomingSubscription) => void | Promise<void>) | null = null;

  constructor(private readonly deps: DrachtioSubscriptionSourceDeps) {
    deps.srf.subscribe((req, res) => this.handleSubscribe(req, res));
  }

  /** Registers the handler of new subscriptions (the MWI subscription logic in `notify/`). */
  onSubscribe(handler: (subscription: IncomingSubscription) => void | Promise<void>): void {
    this.handler = handler;
  }

  private handleSubscribe(req: SrfRequest, res: SrfResponse): void {
    const callId = req.get('Call-ID') ?? '';
    const log = lazyChild(this.deps.logger, { callId, method: 'SUBSCRIBE' });
    if (hasToTag(req)) {
      // A refresh for a dialog drachtio-srf does not know (any more): RFC 6665 §4.2.1.1 / RFC 3261 §12.2.2.
      send(res, 481, undefined, log);
      return;
    }
    if (!this.handler) {
      send(res, 489, undefined, log); // nothing takes subscriptions (yet)
      return;
    }
    const eventHeader = req.get('Event') ?? '';
    const fromUri = parseNameAddr(req.get('From') ?? '')?.uri ?? '';
    const toUri = parseNameAddr(req.get('To') ?? '')?.uri ?? '';
    const fromTag = parseNameAddr(req.get('From') ?? '')?.params.tag ?? '';
    const srf = this.deps.srf;
    const timeoutMs = this.deps.responseTimeoutMs ?? DEFAULT_MWI_RESPONSE_TIMEOUT_MS;
    let decided = false;
    const subscription: IncomingSubscription = {
      event: eventHeader.split(';')[0].trim().toLowerCase(),
      expires: expiresOf(req),
      toUser: parseUriParts(req.uri)?.user ?? uriUser(toUri) ?? '',
      fromUser: uriUser(fromUri),
      sourceAddress: req.source_address,
      reject: (status, headers) => {
        if (decided) return;
        decided = true;
        send(res, status, headers, log);
      },
      accept: (expiresS) => {
        if (decided) throw new Error('the SUBSCRIBE was already answered');
        decided = true;
        const dialog = new DrachtioSubscriptionDialog(`${callId};from-tag=${fromTag}`, eventHeader, srf, timeoutMs, log);
        dialog.start(srf.createSubscriptionUAS(req, res, { headers: { Expires: String(expiresS) } }, (d) => dialog.attach(d)));
        return dialog;
      },
    };
    const handled = this.handler(subscription);
    // The handler reads the store first; one that fails without answering gets 500.
    if (handled instanceof Promise) {
      void handled
        .catch((err: unknown) => log.warn({ err }, 'the SUBSCRIBE handler failed'))
        .then(() => {
          if (!decided) subscription.reject(500);
        });
    }
  }
}

/** The notifier side of one subscription dialog on drachtio-srf. */
class DrachtioSubscriptionDialog implements SubscriptionDialog {
  private dialog: SrfDialog | null = null;
  private ready: Promise<SrfDialog> = Promise.reject(new Error('not accepted'));
  private closed = false;
  private refreshHandler: ((refresh: SubscriptionRefresh) => void) | null = null;

  constructor(
    readonly id: string,
    /** The SUBSCRIBE's Event header, echoed verbatim in NOTIFYs (RFC 6665 §8.2.1; drachtio-srf matches on it). */
    private readonly eventHeader: string,
    private readonly srf: DrachtioSrf,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {
    this.ready.catch(() => undefined);
  }

  /** The 200 OK is on its way: `ready` settles when drachtio-server confirmed it. */
  start(ready: Promise<SrfDialog>): void {
    this.ready = ready;
    ready.catch((err: unknown) => this.log.warn({ err }, 'drachtio-server could not accept the SUBSCRIBE'));
  }

  /** Called synchronously with the dialog when the 200 OK is confirmed (before any in-dialog request can arrive). */
  attach(dialog: SrfDialog): void {
    this.dialog = dialog;
    dialog.on('subscribe', (req, res) => this.onInDialogSubscribe(req, res));
    if (this.closed) this.forget(dialog);
  }

  async notify(subscriptionState: string, body: string): Promise<number> {
    let dialog: SrfDialog;
    try {
      dialog = await this.ready;
    } catch {
      return 0;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<number>((resolve) => {
      timer = setTimeout(() => resolve(0), this.timeoutMs);
      timer.unref?.();
    });
    const answered = dialog
      .request({
        method: 'NOTIFY',
        headers: {
          Event: this.eventHeader,
          'Subscription-State': subscriptionState,
          'Content-Type': 'application/simple-message-summary',
        },
        body,
      })
      .then(
        (res) => res.status,
        (err: unknown) => {
          this.log.debug({ err }, 'drachtio-server could not send the NOTIFY');
          return 0;
        },
      );
    try {
      return await Promise.race([answered, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  onRefresh(handler: (refresh: SubscriptionRefresh) => void): void {
    this.refreshHandler = handler;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.dialog) this.forget(this.dialog);
  }

  private forget(dialog: SrfDialog): void {
    try {
      if (dialog.connected) this.srf.removeDialog(dialog);
    } catch (err) {
      this.log.debug({ err }, 'cannot forget the subscription dialog');
    }
  }

  private onInDialogSubscribe(req: SrfRequest, res: SrfResponse): void {
    const expires = expiresOf(req);
    let answered = false;
    const refresh: SubscriptionRefresh = {
      expires,
      reject: (status, headers) => {
        if (answered) return;
        answered = true;
        send(res, status, headers, this.log);
      },
      accept: (expiresS) => {
        if (answered) return;
        answered = true;
        send(res, 200, { Expires: String(expiresS) }, this.log);
      },
    };
    if (this.refreshHandler) this.refreshHandler(refresh);
    else refresh.accept(expires ?? 3600); // RFC 3842 §4: message-summary's default duration
  }
}
