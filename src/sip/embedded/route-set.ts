/**
 * Route set, remote target and next hop: what both user agents of this folder compute to send a request where it
 * must go, the UAS (sip-server.ts and its dialogs) and the UAC (sip-client.ts).
 *
 * - Route set (RFC 3261 §12.1.1): the Record-Route of the dialog-creating request, in order, for the UAS; the UAS
 *   also copies it into its 18x and 2xx. The UAC's (sip-client.ts) is the 2xx's Record-Route reversed (§12.1.2).
 * - Remote target (§12.1.1, §12.1.2, target refresh §12.2.1.2 and §12.2.2): the URI of the first Contact.
 * - Next hop: the first route or the remote target (§12.2.1.1, §8.1.2), resolved to a flow (protocol, address,
 *   port) with `dns.lookup` only (RFC 3263 SRV and NAPTR lookups are not done). The Request-URI and Route of an
 *   in-dialog request (strict or loose first route) are built in in-dialog-request.ts.
 * - Flow-token Route: every request goes out on an explicit flow, named by a Route the package strips before sending.
 *   Routing by host would fail when the next hop has our host string (127.0.0.1 in tests): the package then takes
 *   it for a flow token and looks for one in the URI's user part.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { parseUriParts } from './headers';
import type { SipFlow, SipMessage, SipRouteEntry, SipStack } from './sip-package';

/** The route set a UAS keeps from a dialog-creating request (§12.1.1): its Record-Route entries with a URI, copied. */
export function routeSetOf(m: SipMessage): SipRouteEntry[] {
  const rr = m.headers['record-route'];
  return Array.isArray(rr) ? rr.filter((e) => e && e.uri !== undefined).map((e) => ({ ...e })) : [];
}

/**
 * The Record-Route a UAS copies into its 18x and 2xx (§12.1.1): the request's entries with a URI (the package drops
 * the URIs it cannot parse); undefined when the request has none.
 */
export function recordRouteOf(m: SipMessage): SipRouteEntry[] | undefined {
  const rr = m.headers['record-route'];
  return Array.isArray(rr) && rr.length > 0 ? rr.filter((e) => e && e.uri !== undefined) : undefined;
}

/** The URI of a message's first Contact (the remote target, §12.1.1, §12.1.2); undefined without one. */
export function contactUriOf(m: SipMessage): string | undefined {
  const contact = Array.isArray(m.headers.contact) ? m.headers.contact[0] : undefined;
  return contact?.uri;
}

/** A flow as the package describes one: `protocol` upper case (`UDP`, `TCP`). */
export function flowOf(protocol: string, address: string, port: number, local: { address: string; port: number }): SipFlow {
  return { protocol: protocol.toUpperCase(), address, port, local };
}

/**
 * The Route of a request sent on `flow`: the flow token first, then `route` (the request's own Route, if any).
 * The package strips the flow token and sends on that flow.
 */
export function flowTokenRoute(stack: SipStack, flow: SipFlow, route: SipRouteEntry[] = []): SipRouteEntry[] {
  return [{ uri: stack.encodeFlowUri(flow), params: {} }, ...route];
}

/**
 * The flow to a next-hop URI (§8.1.2): its host (a name resolved with `dns.lookup`), its port (default 5060) and its
 * `transport` parameter (default: the protocol of `fallback`).
 * @returns the flow; a copy of `fallback` when the URI names no host; null when the host does not resolve or the
 *   transport is neither UDP nor TCP
 */
export async function nextHopFlow(nextHopUri: string, fallback: SipFlow, local: { address: string; port: number }, log: Logger): Promise<SipFlow | null> {
  const p = parseUriParts(nextHopUri);
  if (!p || !p.host) return { ...fallback };
  let address = p.host;
  if (!isIP(address)) {
    try {
      address = (await lookup(address)).address;
    } catch (err) {
      log.debug({ err, host: p.host }, 'cannot resolve the next hop');
      return null;
    }
  }
  const transport = (p.params.transport ?? fallback.protocol).toUpperCase();
  if (transport !== 'UDP' && transport !== 'TCP') return null;
  return flowOf(transport, address, p.port ?? 5060, local);
}
