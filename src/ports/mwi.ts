/**
 * Message Waiting Indicator ports (issue 5; DESIGN.md "Layers": `notify/` implements the MWI logic, signalling
 * adapters implement the wire). Two directions:
 * - {@link MwiTransport}: an unsolicited, out-of-dialog NOTIFY to a UM IP gateway (the Exchange way, seed 004:
 *   `Subscription-State: terminated`), over TCP or TLS chosen by the dial plan's VoIPSecurity.
 * - {@link SubscriptionSource}: SUBSCRIBE requests for `Event: message-summary` (RFC 6665 + RFC 3842); each accepted
 *   subscription is a {@link SubscriptionDialog} on which in-dialog NOTIFYs are sent.
 * Implemented by `sip/embedded/` (and by `sip/drachtio/`); the simulator supplies in-memory fakes.
 */

/** How an unsolicited NOTIFY reaches a gateway: Unsecured -> `tcp`, SIPSecured/Secured -> `tls` (seed 004, [S4] #4). */
export type MwiTransportName = 'tcp' | 'tls';

/** One unsolicited message-summary NOTIFY to one UM IP gateway. */
export interface MwiNotifyRequest {
  /** The gateway's address (IP or host name; for TLS a name the certificate must match) and port. */
  host: string;
  port: number;
  transport: MwiTransportName;
  /** The mailbox's primary extension: Request-URI and To are `sip:EXTENSION@HOST`. */
  extension: string;
  /** The `application/simple-message-summary` body (RFC 3842 §5.2), CRLF line ends. */
  body: string;
}

/** What a gateway answered. */
export interface MwiNotifyResult {
  /** The final status (200 is success; 480 and any other final status count as a failure, seed 004 #10). */
  status: number;
  reason?: string;
}

export interface MwiTransport {
  /**
   * Sends one NOTIFY and waits for its final response.
   * @throws Error when no final response came: connection refused or reset, TLS failure (certificate), or timeout
   *   (the message says which); the caller treats it like a failure status and moves to the next gateway.
   */
  sendNotify(request: MwiNotifyRequest): Promise<MwiNotifyResult>;
}

/** A SUBSCRIBE that starts a subscription (no To tag). */
export interface IncomingSubscription {
  /** The `Event` header's package name (lower case), e.g. `message-summary`. */
  readonly event: string;
  /** The requested duration (s) from `Expires`, or undefined when absent (the package default applies). */
  readonly expires: number | undefined;
  /** User part of the Request-URI: the extension whose mailbox is watched. */
  readonly toUser: string;
  /** User part of From, or null. */
  readonly fromUser: string | null;
  /** Where the SUBSCRIBE came from (`ip`), for the UM IP gateway allow-list. */
  readonly sourceAddress: string;
  /** Refuses it (e.g. 404, 489 with `Allow-Events`, 423 with `Min-Expires`). */
  reject(status: number, headers?: Record<string, string>): void;
  /**
   * 200 OK with `Expires: expiresS` (RFC 6665 §4.2.1.1); returns the dialog on which NOTIFYs go. The first NOTIFY
   * must follow at once (§4.2.1.2).
   */
  accept(expiresS: number): SubscriptionDialog;
}

/** A refresh or an unsubscribe (`Expires: 0`) arriving on an accepted subscription. */
export interface SubscriptionRefresh {
  /** Requested duration (s); 0 ends the subscription. */
  readonly expires: number | undefined;
  reject(status: number, headers?: Record<string, string>): void;
  /** 200 OK with `Expires: expiresS`. */
  accept(expiresS: number): void;
}

/** The notifier side of one subscription dialog. */
export interface SubscriptionDialog {
  readonly id: string;
  /**
   * Sends an in-dialog NOTIFY (`Event: message-summary`, `Content-Type: application/simple-message-summary`).
   * @param subscriptionState e.g. `active;expires=3599` or `terminated;reason=timeout` (RFC 6665 §4.1.3)
   * @returns the subscriber's final status; 0 when no response came in time. A 481 means the subscriber forgot it.
   */
  notify(subscriptionState: string, body: string): Promise<number>;
  /** Refresh and unsubscribe requests in this dialog. */
  onRefresh(handler: (refresh: SubscriptionRefresh) => void): void;
  /** Forgets the dialog (after the terminated NOTIFY). */
  close(): void;
}

/** Announces new subscriptions. */
export interface SubscriptionSource {
  /**
   * Registers the handler. It answers (`reject` or `accept`) before it returns, or, when it returns a promise
   * (it reads the store first), before that promise settles: a SUBSCRIBE still unanswered then is answered 500.
   */
  onSubscribe(handler: (subscription: IncomingSubscription) => void | Promise<void>): void;
}

/** A text message to a mobile number. */
export interface SmsMessage {
  /** E.164 number. */
  to: string;
  text: string;
}

/** SMS providers: an HTTP webhook or a file sink (`notify/sms-*.ts`). */
export interface SmsSender {
  /**
   * Hands one text to the provider.
   * @throws Error when the provider did not take it (HTTP status not 2xx, no connection, disk error)
   */
  send(message: SmsMessage): Promise<void>;
}
