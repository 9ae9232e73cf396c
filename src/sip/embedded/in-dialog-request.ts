/**
 * Requests a UAS sends inside a dialog it holds (BYE for a call, NOTIFY for a subscription), built from the dialog
 * state as RFC 3261 §12.2.1.1 says, and sent through the server's client transactions; and the Request-URI and
 * Route of such a request, which the UAC (`outgoing-call.ts`) builds the same way.
 */
import { sipPackage, type SipFlow, type SipNameAddr, type SipRequest, type SipResponse, type SipRouteEntry } from './sip-package';

/** What {@link inDialogRequest} needs of the server (its `Core` in sip-server.ts). */
export interface InDialogCore {
  readonly opts: { readonly userAgent: string; readonly t1: number };
  /** A one-shot timer the server clears on stop. */
  timer(fn: () => void, ms: number): NodeJS.Timeout;
  clearTimer(t: NodeJS.Timeout | undefined | null): void;
  /** Where the request goes (see `Core.nextHop`); null when the next hop cannot be resolved. */
  nextHop(source: SipFlow, nextHopUri: string): Promise<SipFlow | null>;
  /** Sends a request as a client transaction of the package. */
  sendRequest(rq: SipRequest, flow: SipFlow, onResponse: (rs: SipResponse) => void): void;
}

/** What an in-dialog request is built from (RFC 3261 §12.2.1.1). */
export interface DialogRoute {
  callId: string;
  localAddr: SipNameAddr;
  remoteAddr: SipNameAddr;
  remoteTarget: string;
  routeSet: SipRouteEntry[];
  /** The CSeq number to use (already incremented by the caller). */
  localCseq: number;
  /** The flow the dialog-creating request came on. */
  source: SipFlow;
}

/**
 * The Request-URI, Route and next hop of a request inside a dialog (RFC 3261 §12.2.1.1): the remote target and the
 * route set (copied); when the first route is strict (no `lr`), it becomes the Request-URI and the remote target
 * the last Route. The next hop is the first route, or the remote target without one. Shared by the UAS's requests
 * (below) and the UAC's (`outgoing-call.ts`).
 */
export function dialogRequestTarget(remoteTarget: string, routeSet: readonly SipRouteEntry[]): { uri: string; route: SipRouteEntry[]; nextHopUri: string } {
  let uri = remoteTarget;
  let route: SipRouteEntry[] = routeSet.map((e) => ({ ...e }));
  let nextHopUri = uri;
  if (route.length > 0) {
    const first = route[0];
    const firstUri = typeof first.uri === 'string' ? first.uri : sipPackage().stringifyUri(first.uri as NonNullable<typeof first.uri>);
    const loose = typeof first.uri === 'object' && first.uri !== null && 'lr' in first.uri.params;
    nextHopUri = firstUri;
    if (!loose) {
      uri = firstUri.replace(/;lr(?=;|$)/, '');
      route = [...route.slice(1), { uri: remoteTarget, params: {} }];
    }
  }
  return { uri, route, nextHopUri };
}

/**
 * Sends an in-dialog request (§12.2.1.1: Request-URI = remote target, Route = route set; a strict first route
 * becomes the Request-URI). Resolves with the final response, or null after 64*T1 or when it cannot be sent.
 */
export async function inDialogRequest(
  core: InDialogCore,
  d: DialogRoute,
  method: string,
  extra?: { headers?: Record<string, unknown>; content?: string },
): Promise<SipResponse | null> {
  const { uri, route, nextHopUri } = dialogRequestTarget(d.remoteTarget, d.routeSet);
  const rq: SipRequest = {
    method,
    uri,
    headers: {
      via: [],
      to: { ...d.remoteAddr, params: { ...d.remoteAddr.params } },
      from: { ...d.localAddr, params: { ...d.localAddr.params } },
      'call-id': d.callId,
      cseq: { seq: d.localCseq, method },
      'max-forwards': 70,
      route,
      'user-agent': core.opts.userAgent,
      ...extra?.headers,
    },
  };
  if (extra?.content !== undefined) rq.content = extra.content;
  const flow = await core.nextHop(d.source, nextHopUri);
  if (!flow) return null;
  return new Promise<SipResponse | null>((resolve) => {
    let done = false;
    const timer = core.timer(() => finish(null), 64 * core.opts.t1);
    const finish = (rs: SipResponse | null) => {
      if (done) return;
      done = true;
      core.clearTimer(timer);
      resolve(rs);
    };
    core.sendRequest(rq, flow, (rs) => {
      if (rs.status >= 200) finish(rs);
    });
  });
}
