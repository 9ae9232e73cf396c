/**
 * Subscriptions this UAS accepts (RFC 6665; the `message-summary` package of RFC 3842 for MWI): the new SUBSCRIBE as
 * the application sees it (`IncomingSubscription`, §4.2.1) and the notifier side of the subscription dialog
 * (`SubscriptionDialog`, §4.2.2): in-dialog NOTIFYs built from the dialog state (RFC 3261 §12.2.1.1, in
 * in-dialog-request.ts), refreshes and unsubscribes (`Expires: 0`). The route set and remote target come from the
 * SUBSCRIBE (RFC 3261 §12.1.1, route-set.ts).
 */
import type { IncomingSubscription, SubscriptionDialog, SubscriptionRefresh } from '../../ports/mwi';
import { parseUriParts, uriUser } from './headers';
import { inDialogRequest, type DialogRoute, type InDialogCore } from './in-dialog-request';
import { contactUriOf, routeSetOf } from './route-set';
import { sipPackage, type SipFlow, type SipRequest, type SipResponse } from './sip-package';
import { dialogKey, headerString, newTag, tagOf, withTag } from './uas-common';

/** What a subscription needs of the server core (its `Core` in sip-server.ts). */
export interface SubscriptionCore extends InDialogCore {
  /** The live subscription dialogs by dialog ID; a dialog removes itself when closed. */
  readonly subscriptions: Map<string, SubscriptionDialogImpl>;
  /** Sends a response to `rq` (our To tag, or `toTag`, added when the request has none). */
  respond(rq: SipRequest, status: number, reason?: string, headers?: Record<string, unknown>, toTag?: string, content?: string): SipResponse;
  /** Our Contact URI for a transport (`UDP`, `TCP`). */
  contactUri(protocol: string): string;
}

/** The `Expires` header as whole seconds; undefined when absent or not a number. */
function expiresOf(rq: SipRequest): number | undefined {
  const v = rq.headers.expires;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  // RFC 3261 §20.19: 0 to 2**32-1 seconds; a larger value (RFC 4475 `scalar02`) is taken as that.
  return Number.isFinite(n) ? Math.min(n, 2 ** 32 - 1) : undefined;
}

/** The package name of an `Event` header (`message-summary;id=1` -> `message-summary`), lower case. */
function eventPackage(rq: SipRequest): string {
  const v = headerString(rq.headers.event) ?? '';
  return v.split(';')[0].trim().toLowerCase();
}

/** A new SUBSCRIBE (RFC 6665 §4.2.1), as {@link IncomingSubscription}. */
export class IncomingSubscribeImpl implements IncomingSubscription {
  readonly event: string;
  readonly expires: number | undefined;
  readonly toUser: string;
  readonly fromUser: string | null;
  readonly sourceAddress: string;
  private answered = false;

  constructor(
    private readonly core: SubscriptionCore,
    private readonly rq: SipRequest,
    private readonly remote: SipFlow,
  ) {
    this.event = eventPackage(rq);
    this.expires = expiresOf(rq);
    const uri = typeof rq.uri === 'string' ? rq.uri : sipPackage().stringifyUri(rq.uri);
    this.toUser = parseUriParts(uri)?.user ?? uriUser(rq.headers.to.uri) ?? '';
    this.fromUser = uriUser(rq.headers.from.uri) ?? null;
    this.sourceAddress = remote.address;
  }

  reject(status: number, headers?: Record<string, string>): void {
    if (this.answered) return;
    this.answered = true;
    this.core.respond(this.rq, status, undefined, lowerKeys(headers));
  }

  accept(expiresS: number): SubscriptionDialog {
    const d = new SubscriptionDialogImpl(this.core, this.rq, this.remote);
    if (!this.answered) {
      this.answered = true;
      this.core.respond(this.rq, 200, undefined, { expires: String(expiresS), contact: [{ uri: this.core.contactUri(this.remote.protocol), params: {} }] }, d.localTag);
    }
    if (expiresS > 0) this.core.subscriptions.set(d.key, d);
    return d;
  }
}

function lowerKeys(h: Record<string, string> | undefined): Record<string, unknown> | undefined {
  if (!h) return undefined;
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

/** The notifier side of a subscription dialog (RFC 6665 §4.2.2): in-dialog NOTIFYs, refreshes, unsubscribe. */
export class SubscriptionDialogImpl implements SubscriptionDialog {
  readonly id: string;
  readonly key: string;
  readonly localTag = newTag();
  private readonly route: Omit<DialogRoute, 'localCseq'>;
  private localCseq = Math.floor(Math.random() * 10_000);
  private refreshHandler: ((r: SubscriptionRefresh) => void) | null = null;
  private closed = false;

  constructor(
    private readonly core: SubscriptionCore,
    rq: SipRequest,
    remote: SipFlow,
  ) {
    const callId = rq.headers['call-id'];
    this.id = `${callId};${this.localTag}`;
    this.key = dialogKey(callId, this.localTag, tagOf(rq.headers.from));
    this.route = {
      callId,
      localAddr: withTag(rq.headers.to, this.localTag),
      remoteAddr: { ...rq.headers.from, params: { ...rq.headers.from.params } },
      remoteTarget: contactUriOf(rq) ?? `sip:${remote.address}:${remote.port}`,
      routeSet: routeSetOf(rq),
      source: remote,
    };
  }

  async notify(subscriptionState: string, body: string): Promise<number> {
    const rs = await inDialogRequest(this.core, { ...this.route, localCseq: ++this.localCseq }, 'NOTIFY', {
      headers: {
        event: 'message-summary',
        'subscription-state': subscriptionState,
        'content-type': 'application/simple-message-summary',
        contact: [{ uri: this.core.contactUri(this.route.source.protocol), params: {} }],
      },
      content: body,
    });
    return rs?.status ?? 0;
  }

  onRefresh(handler: (r: SubscriptionRefresh) => void): void {
    this.refreshHandler = handler;
  }

  /** A SUBSCRIBE in this dialog: a refresh, or `Expires: 0` (unsubscribe). */
  handleRefresh(rq: SipRequest): void {
    const core = this.core;
    let answered = false;
    const refresh: SubscriptionRefresh = {
      expires: expiresOf(rq),
      reject: (status, headers) => {
        if (answered) return;
        answered = true;
        core.respond(rq, status, undefined, lowerKeys(headers));
      },
      accept: (expiresS) => {
        if (answered) return;
        answered = true;
        core.respond(rq, 200, undefined, { expires: String(expiresS), contact: [{ uri: core.contactUri(this.route.source.protocol), params: {} }] });
      },
    };
    if (this.closed || !this.refreshHandler) refresh.reject(481);
    else this.refreshHandler(refresh);
    if (!answered) refresh.reject(500);
  }

  close(): void {
    this.closed = true;
    if (this.core.subscriptions.get(this.key) === this) this.core.subscriptions.delete(this.key);
  }
}
