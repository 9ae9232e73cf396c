/**
 * The media side of one SIP call on our RTP engine, shared by every signalling adapter (`sip/embedded/`,
 * `sip/drachtio/`): the SDP answer to the caller's offer (`sdp.ts`), the RTP session it describes, re-INVITE answers
 * (hold, a new media address) and SIP INFO digits. The adapters differ only in how SIP reaches them; what a call
 * does with its offer, its media and its INFO bodies is this one module (DESIGN.md, "Layers": shared code, not
 * copies).
 */
import type { Logger } from 'pino';
import type { Admission } from '../domain/gateway-admission';
import type { MediaEngine } from '../media/media-engine';
import type { Clock } from '../ports/clock';
import type { PromptCatalog } from '../prompts/catalog';
import type { RtpSession } from '../media/rtp-session';
import { INFO_DTMF_INVALID_STATUS, isDtmfInfoContentType, parseInfoDtmf } from '../media/sip-info-dtmf';
import { answerOffer, createOffer, readAnswer, type MediaDirection, type RemoteMedia } from './sdp';

/** What a signalling engine's call source needs besides its SIP stack: media, the admission rule, prompts, logs. */
export interface CallSourceMediaDeps {
  media: MediaEngine;
  /** The address written in our SDP (where callers send RTP). */
  mediaAddress: string;
  /**
   * The admission rule for a source address (the address the signalling saw the INVITE come from): the UM IP
   * gateways, then MaxCallsAllowed. May read the store first (a promise); a rejection is a setup error (503 for an
   * unavailable store, `refusals.ts`).
   */
  admit(sourceAddress: string): Admission | Promise<Admission>;
  clock: Clock;
  catalog: PromptCatalog;
  recordingsDir: string;
  logger: Logger;
  /** The Retry-After of a 503 for a call refused because a resource ran out (`sip.retryAfterSeconds`), s [30]. */
  retryAfterSeconds?: number;
}

/**
 * Logs a refused call, at info with its reason, except a MaxCallsAllowed refusal (it carries a Retry-After): the
 * load guard logs those once per episode (`runtime/load-guard.ts`), not once per call.
 */
export function logRefusal(log: Pick<Logger, 'info'>, source: string, refusal: Extract<Admission, { admit: false }>): void {
  if (refusal.retryAfterSeconds === undefined) log.info({ source, status: refusal.status }, refusal.reason);
}

/** Points an RTP session at the offer's address, and stops sending while the caller holds us (RFC 3264 §8.4). */
export function applyRemote(session: RtpSession, remote: RemoteMedia): void {
  if (remote.address !== '0.0.0.0' && remote.port > 0) {
    session.setRemote({ address: remote.address, port: remote.port, payloadType: remote.payloadType, telephoneEventPt: remote.telephoneEventPt });
  }
  session.setSending(remote.direction === 'sendrecv' || remote.direction === 'recvonly');
}

/** Where a SIP INFO's DTMF digit goes: the call's channel (`RtpCallChannel.infoDigit`). */
export interface InfoDigitSink {
  infoDigit(digit: string, durationMs: number): void;
}

/**
 * Handles one in-dialog INFO: a DTMF body (`application/dtmf-relay`, `application/dtmf`, `application/hook-flash`,
 * see `media/sip-info-dtmf.ts`) is passed to `sink` as a digit.
 * @returns the SIP status to answer: 200 (a digit, or a DTMF body without one), 400 for a DTMF body that cannot be
 *   parsed (RFC 3261 §21.4.1), 415 for any other Content-Type (RFC 3261 §21.4.13)
 */
export function answerInfoDtmf(sink: InfoDigitSink, contentType: string | undefined, body: string | undefined): number {
  const type = contentType ?? '';
  if (!isDtmfInfoContentType(type)) return 415;
  const parsed = parseInfoDtmf(type, body ?? '');
  if (parsed === 'invalid') return INFO_DTMF_INVALID_STATUS;
  if (parsed) sink.infoDigit(parsed.digit, parsed.durationMs);
  return 200;
}

/**
 * One call's RTP session and SDP state. Open it with {@link CallMedia.open}; answer re-INVITEs with
 * {@link CallMedia.update}.
 */
export class CallMedia {
  /** `o=` session version: up by one with every new answer (RFC 3264 §8). */
  private version = 1;

  private constructor(
    /** The call's RTP session (on the shared engine's 20 ms tick). */
    readonly session: RtpSession,
    /**
     * Our SDP in the 200 OK: the answer to the caller's offer, or, for an INVITE without one (late offer), our offer,
     * answered in the caller's ACK ({@link takeAnswer}).
     */
    readonly answer: string,
    private readonly address: string,
    private readonly sessionId: string,
    /** True while our offer (late offer) waits for the caller's answer. */
    private awaiting = false,
  ) {}

  /**
   * Opens an RTP session on `media` for an INVITE without SDP and writes our offer (PCMU, PCMA, telephone-event 101,
   * sendrecv; RFC 3261 §13.2.1, §14: gateways do this): it goes in the 200 OK as {@link answer}; nothing is sent
   * until {@link takeAnswer} has the caller's answer from the ACK.
   * @throws MediaError when no RTP port is free (VA_ERR_MEDIA_NO_PORT) or the engine is stopped
   */
  static async openForLateOffer(media: MediaEngine, address: string): Promise<CallMedia> {
    const session = await media.openSession();
    const sessionId = String(Date.now());
    const offer = createOffer({ address, port: session.localPort, sessionId, sessionVersion: 1 });
    return new CallMedia(session, offer, address, sessionId, true);
  }

  /** True while a late offer of ours waits for the caller's answer (from the ACK). */
  get awaitingAnswer(): boolean {
    return this.awaiting;
  }

  /**
   * Applies the caller's answer to our late offer (the ACK's SDP): where to send, which codec, telephone-event.
   * @returns false when `answer` is null or has no usable G.711 stream (the call is then ended with BYE: there is
   *   no media session, RFC 3261 §13.3.1.4 / RFC 3264 §6)
   */
  takeAnswer(answer: string | null): boolean {
    if (!this.awaiting) return true;
    const remote = answer === null ? null : readAnswer(answer, { address: this.address, port: this.session.localPort });
    if (!remote) return false;
    this.awaiting = false;
    applyRemote(this.session, remote);
    return true;
  }

  /**
   * Opens an RTP session on `media` and answers `offer` from it (PCMU or PCMA, telephone-event when offered).
   * @param media the shared RTP engine
   * @param address our RTP address as written in the SDP (`c=`, `o=`)
   * @param offer the caller's SDP offer
   * @returns the call's media, or null when the offer has no usable G.711 audio stream (the caller answers 488 Not
   *   Acceptable Here, RFC 3261 §13.3.1.3); the session is closed again then
   * @throws MediaError when no RTP port is free (VA_ERR_MEDIA_NO_PORT) or the engine is stopped
   */
  static async open(media: MediaEngine, address: string, offer: string): Promise<CallMedia | null> {
    const session = await media.openSession();
    try {
      // One o= session id per call; its version goes up with every new answer (RFC 3264 §8).
      const sessionId = String(Date.now());
      const negotiated = answerOffer(offer, { address, port: session.localPort, sessionId, sessionVersion: 1 });
      if (!negotiated) {
        session.close();
        return null;
      }
      applyRemote(session, negotiated.remote);
      return new CallMedia(session, negotiated.answer, address, sessionId);
    } catch (err) {
      // No call will own the session: give its port back (the caller answers 500).
      session.close();
      throw err;
    }
  }

  /**
   * Answers a re-INVITE's offer (hold, resume, a new media address) and applies it to the session.
   * @returns the answer (same `o=` session id, next version) and the caller's direction; null when the offer cannot
   *   be used (answer 488; the session keeps its previous state)
   */
  update(offer: string): { answer: string; direction: MediaDirection } | null {
    const negotiated = answerOffer(offer, {
      address: this.address,
      port: this.session.localPort,
      sessionId: this.sessionId,
      sessionVersion: this.version + 1,
    });
    if (!negotiated) return null;
    this.version++;
    applyRemote(this.session, negotiated.remote);
    return { answer: negotiated.answer, direction: negotiated.remote.direction };
  }
}
