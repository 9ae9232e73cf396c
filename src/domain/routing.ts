/**
 * Which flow answers a call (DESIGN.md "The call model"): an Outlook Voice Access number -> sign-in; a call diverted
 * from a mailbox's extension (Diversion, RFC 5806, or History-Info, RFC 7044), or dialled to it -> call answering;
 * a dial-in conferencing number -> conference join. Pure: the directory is passed in as data and lookups (the
 * mailbox lookup is asynchronous, a store's; it is asked only when the rules get to it).
 */

/** What routing needs to know of the directory. */
export interface RoutingDirectory {
  /** Dial plans with their OVA access numbers. */
  dialPlans: { name: string; accessNumbers: string[]; numberOfDigitsInExtension: number }[];
  /** Dial-in conferencing access numbers. */
  conferencingNumbers: string[];
  /** The identity of the mailbox with this extension, or null. */
  mailboxByExtension(extension: string): Promise<string | null>;
}

/** The routing decision. */
export type Route =
  | { flow: 'sign-in'; dialPlan: string }
  | { flow: 'call-answering'; identity: string; reason: 'diversion' | 'dialled' }
  | { flow: 'conference' }
  | { flow: 'unknown' };

/** Digits only: `+1 (425) 555-0100` and `14255550100` compare equal. */
export function normalizeNumber(n: string): string {
  return n.replace(/[^0-9]/g, '');
}

/**
 * The mailbox a number names: the extension itself, or an E.164 number ending with an extension of some dial plan's
 * length (PBXs send either in Diversion headers).
 */
async function mailboxFor(number: string, dir: RoutingDirectory): Promise<string | null> {
  const digits = normalizeNumber(number);
  if (!digits) return null;
  const exact = await dir.mailboxByExtension(digits);
  if (exact) return exact;
  for (const dp of dir.dialPlans) {
    if (digits.length > dp.numberOfDigitsInExtension) {
      const hit = await dir.mailboxByExtension(digits.slice(-dp.numberOfDigitsInExtension));
      if (hit) return hit;
    }
  }
  return null;
}

/**
 * Routes a call.
 * @param to the dialled number (Request-URI user part); @param diversion the diverting extension or number, if any
 * @returns the route; rejects only when `dir.mailboxByExtension` does
 */
export async function routeCall(to: string, diversion: string | undefined, dir: RoutingDirectory): Promise<Route> {
  const dialled = normalizeNumber(to);
  if (diversion) {
    const identity = await mailboxFor(diversion, dir);
    if (identity) return { flow: 'call-answering', identity, reason: 'diversion' };
  }
  for (const dp of dir.dialPlans) if (dp.accessNumbers.some((n) => normalizeNumber(n) === dialled)) return { flow: 'sign-in', dialPlan: dp.name };
  if (dir.conferencingNumbers.some((n) => normalizeNumber(n) === dialled)) return { flow: 'conference' };
  const identity = await dir.mailboxByExtension(dialled);
  if (identity) return { flow: 'call-answering', identity, reason: 'dialled' };
  return { flow: 'unknown' };
}
