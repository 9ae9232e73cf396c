/**
 * What the pieces of the embedded UAS share (sip-server.ts, pending-invite.ts, invite-dialog.ts,
 * subscription-dialog.ts): the Allow list, tags and the keys that find a dialog or an INVITE (RFC 3261 §12, §17.2.3,
 * §19.3), header access and a guard for application handlers.
 */
import type { Logger } from 'pino';
import { randomHex } from '../../util/random-pool';
import type { SipMessage, SipNameAddr } from './sip-package';

/** The methods this UAS serves: the Allow header of 2xx to INVITE, OPTIONS and 405 (RFC 3261 §20.5). */
export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, SUBSCRIBE';

/** The `tag` parameter of a From or To (RFC 3261 §19.3); undefined when absent or empty. */
export function tagOf(na: SipNameAddr | undefined): string | undefined {
  const t = na?.params?.tag;
  return typeof t === 'string' && t !== '' ? t : undefined;
}

/** The branch of the top Via (RFC 3261 §8.1.1.7); `''` without one. */
export function branchOf(m: SipMessage): string {
  return String(m.headers.via[0]?.params?.branch ?? '');
}

/** A header value when the package kept it as a string; undefined otherwise. */
export function headerString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A new local tag (RFC 3261 §19.3: at least 32 bits of randomness; here 48). */
export function newTag(): string {
  return randomHex(6);
}

/** A copy of `na` with the tag `tag`. */
export function withTag(na: SipNameAddr, tag: string): SipNameAddr {
  // Not `{ ...na.params, tag }`: a key added after a spread costs about 1 us in V8 (see `flow-kit/ivr.ts`).
  const params = Object.assign({}, na.params);
  params.tag = tag;
  return { ...na, params };
}

/** The key of an initial INVITE's record: Call-ID, From tag and CSeq number (a retransmission has the same). */
export function inviteKey(m: SipMessage): string {
  return `${m.headers['call-id']}\u0000${tagOf(m.headers.from) ?? ''}\u0000${m.headers.cseq.seq}`;
}

/** The dialog ID (RFC 3261 §12): Call-ID, local tag, remote tag. */
export function dialogKey(callId: string, localTag: string, remoteTag: string | undefined): string {
  return `${callId}\u0000${localTag}\u0000${remoteTag ?? ''}`;
}

/** Runs an application handler; a throw is logged at warn, never propagated into the SIP layer. */
export function callSafely(log: Logger, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    log.warn({ err }, 'sip event handler failed');
  }
}
