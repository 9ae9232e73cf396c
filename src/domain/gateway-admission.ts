/**
 * Which signalling sources may place calls: only UM IP gateways (an IP PBX or VoIP gateway) known to the directory
 * ([D-GW], [D-NGW]; Exchange UM answers only its configured gateways). Shared by every signalling adapter (embedded
 * SIP, drachtio): they pass the source address they saw.
 *
 * - a source that is an `Enabled` gateway's address: accepted;
 * - a `NoNewCalls` gateway: 503 Service Unavailable (it is being drained: existing calls go on, new ones go elsewhere);
 * - a `Disabled` gateway or an unknown address: 403 Forbidden.
 * When several gateways share an address (two ports of one PBX), the most permissive status wins.
 */

/** What admission needs to know of a gateway. */
export interface GatewayAddress {
  name: string;
  /** IP address (names must be resolved by the caller of {@link admitSource}). */
  address: string;
  status: 'Enabled' | 'Disabled' | 'NoNewCalls';
}

/** The decision for one new call. */
export type Admission =
  | { admit: true; gateway: string }
  | {
      admit: false;
      status: 403 | 503;
      reason: string;
      /** Sent as Retry-After with a 503 that will pass (MaxCallsAllowed reached, `runtime/load-guard.ts`), s; absent otherwise. */
      retryAfterSeconds?: number;
    };

/** `::ffff:127.0.0.1` (IPv4 seen on a dual-stack socket) and `127.0.0.1` are the same source. */
export function normalizeAddress(address: string): string {
  const a = address.trim().toLowerCase();
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/**
 * Decides whether a new call from `source` may proceed.
 * @param source the signalling source IP address
 * @param gateways the UM IP gateways, with their addresses resolved to IPs
 */
export function admitSource(source: string, gateways: readonly GatewayAddress[]): Admission {
  const from = normalizeAddress(source);
  const matches = gateways.filter((g) => normalizeAddress(g.address) === from);
  const enabled = matches.find((g) => g.status === 'Enabled');
  if (enabled) return { admit: true, gateway: enabled.name };
  const draining = matches.find((g) => g.status === 'NoNewCalls');
  if (draining) return { admit: false, status: 503, reason: `UM IP gateway ${draining.name} takes no new calls` };
  if (matches.length > 0) return { admit: false, status: 403, reason: `UM IP gateway ${matches[0].name} is disabled` };
  return { admit: false, status: 403, reason: `${from} is not a UM IP gateway` };
}
