/**
 * EmbeddedCallSource: the {@link CallSource} of the embedded SIP stack. Each INVITE is checked before anything is
 * allocated — the source must be an Enabled UM IP gateway (403, or 503 for NoNewCalls; `domain/gateway-admission.ts`),
 * the offer must carry PCMU or PCMA (488) — then an RTP session is opened, the SDP answer built, and the call is
 * handed on as an {@link IncomingCall} whose channel is an {@link RtpCallChannel}. Routing is the runtime's (one
 * place for every signalling adapter): it answers, or ends the call before answering, which sends 404 for a number
 * that routes nowhere. The 200 OK goes out when the runtime answers. SIP INFO digits, re-INVITEs (hold, a new
 * media address), CANCEL and BYE are wired to the channel and its RTP session.
 */
import type { Logger } from 'pino';
import { RtpCallChannel } from '../../channel/rtp-call-channel';
import type { Admission } from '../../domain/gateway-admission';
import type { MediaEngine } from '../../media/media-engine';
import { INFO_DTMF_INVALID_STATUS, isDtmfInfoContentType, parseInfoDtmf } from '../../media/sip-info-dtmf';
import type { RtpSession } from '../../media/rtp-session';
import type { CallSource, IncomingCall } from '../../ports/call-channel';
import type { Clock } from '../../ports/clock';
import type { PromptCatalog } from '../../prompts/catalog';
import { answerOffer, type RemoteMedia } from './sdp';
import type { Dialog, EmbeddedSipServer, IncomingInvite } from './sip-server';

/** What the call source needs: the SIP server, the RTP engine, and the shared admission and routing rules. */
export interface EmbeddedCallSourceDeps {
  server: EmbeddedSipServer;
  media: MediaEngine;
  /** The address written in our SDP (where callers send RTP). */
  mediaAddress: string;
  /** The UM IP gateway rule for a source address. */
  admit(sourceAddress: string): Admission;
  clock: Clock;
  catalog: PromptCatalog;
  recordingsDir: string;
  logger: Logger;
}

/** Points an RTP session at the offer's address, and stops sending while the caller holds us. */
function applyRemote(session: RtpSession, remote: RemoteMedia): void {
  if (remote.address !== '0.0.0.0' && remote.port > 0) {
    session.setRemote({ address: remote.address, port: remote.port, payloadType: remote.payloadType, telephoneEventPt: remote.telephoneEventPt });
  }
  session.setSending(remote.direction === 'sendrecv' || remote.direction === 'recvonly');
}

export class EmbeddedCallSource implements CallSource {
  private handler: ((call: IncomingCall) => void) | null = null;

  constructor(private readonly deps: EmbeddedCallSourceDeps) {
    deps.server.onInvite((invite) => {
      void this.onInvite(invite).catch((err: unknown) => {
        deps.logger.error({ err, callId: invite.callId }, 'cannot set up the call');
        if (!invite.cancelled) invite.reject(500, 'Server Internal Error');
      });
    });
  }

  /** Registers the handler for new calls (the call runtime). */
  onCall(handler: (call: IncomingCall) => void): void {
    this.handler = handler;
  }

  private async onInvite(invite: IncomingInvite): Promise<void> {
    const { deps } = this;
    const log = deps.logger.child({ callId: invite.callId });
    const admission = deps.admit(invite.source.address);
    if (!admission.admit) {
      log.info({ source: invite.source.address, status: admission.status }, admission.reason);
      invite.reject(admission.status, admission.status === 503 ? 'Service Unavailable' : 'Forbidden');
      return;
    }
    if (!this.handler) {
      invite.reject(503, 'Service Unavailable');
      return;
    }
    if (!invite.offer) {
      invite.reject(488, 'Not Acceptable Here'); // late offer (INVITE without SDP) is not supported
      return;
    }
    const session = await deps.media.openSession();
    // One o= session id per call; its version goes up with every new answer (RFC 3264 §8).
    const sdpSession = { sessionId: String(Date.now()), version: 1 };
    const negotiated = answerOffer(invite.offer, { address: deps.mediaAddress, port: session.localPort, sessionId: sdpSession.sessionId, sessionVersion: 1 });
    if (!negotiated) {
      session.close();
      invite.reject(488, 'Not Acceptable Here');
      return;
    }
    applyRemote(session, negotiated.remote);
    let dialog: Dialog | null = null;
    let ended = false;
    const channel: RtpCallChannel = new RtpCallChannel({
      callId: invite.callId,
      clock: deps.clock,
      catalog: deps.catalog,
      recordingsDir: deps.recordingsDir,
      session,
      leg: {
        answer: async () => {
          if (dialog || ended || invite.cancelled) return;
          dialog = invite.accept(negotiated.answer);
          this.wireDialog(dialog, channel, session, sdpSession, log);
        },
        hangup: (cause) => {
          if (ended) return;
          ended = true;
          if (dialog) void dialog.bye();
          else if (!invite.cancelled) invite.reject(cause === 'not-found' ? 404 : 480, cause === 'not-found' ? 'Not Found' : 'Temporarily Unavailable');
        },
      },
    });
    invite.onCancel(() => {
      ended = true;
      channel.callerHungUp();
    });
    if (invite.cancelled) {
      session.close();
      return;
    }
    this.handler!({
      channel,
      from: invite.fromUser,
      to: invite.toUser,
      diversion: invite.diversion,
      sourceAddress: `${invite.source.address}:${invite.source.port}`,
    });
  }

  private wireDialog(dialog: Dialog, channel: RtpCallChannel, session: RtpSession, sdpSession: { sessionId: string; version: number }, log: Logger): void {
    dialog.onInfo((contentType, body, respond) => {
      if (!isDtmfInfoContentType(contentType)) return respond(415);
      const parsed = parseInfoDtmf(contentType, body);
      if (parsed === 'invalid') return respond(INFO_DTMF_INVALID_STATUS);
      if (parsed) channel.infoDigit(parsed.digit, parsed.durationMs);
      respond(200);
    });
    dialog.onReinvite((offer) => {
      if (!offer) return null;
      const negotiated = answerOffer(offer, {
        address: this.deps.mediaAddress,
        port: session.localPort,
        sessionId: sdpSession.sessionId,
        sessionVersion: ++sdpSession.version,
      });
      if (!negotiated) return null;
      applyRemote(session, negotiated.remote);
      log.info({ direction: negotiated.remote.direction }, 're-INVITE: media changed');
      return negotiated.answer;
    });
    dialog.onEnded((by) => {
      if (by !== 'local') channel.callerHungUp();
    });
  }
}
