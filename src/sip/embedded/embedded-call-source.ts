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
import { lazyChild } from '../../log';
import { RtpCallChannel } from '../../channel/rtp-call-channel';
import type { CallSource, IncomingCall } from '../../ports/call-channel';
import { answerInfoDtmf, CallMedia, logRefusal, type CallSourceMediaDeps } from '../call-media';
import { refusalForHangupCause, refusalForSetupError } from '../refusals';
import type { Dialog, EmbeddedSipServer, IncomingInvite } from './sip-server';

/** What the call source needs: the SIP server, the RTP engine, and the shared admission and routing rules. */
export interface EmbeddedCallSourceDeps extends CallSourceMediaDeps {
  server: EmbeddedSipServer;
}

export class EmbeddedCallSource implements CallSource {
  private handler: ((call: IncomingCall) => void) | null = null;

  constructor(private readonly deps: EmbeddedCallSourceDeps) {
    deps.server.onInvite((invite) => {
      void this.onInvite(invite).catch((err: unknown) => {
        // Out of RTP ports, store or memory: 503 with Retry-After (one line with the code); anything else is a bug: 500.
        const refusal = refusalForSetupError(err, lazyChild(deps.logger, { callId: invite.callId }), deps.retryAfterSeconds);
        if (!invite.cancelled) invite.reject(refusal.status, refusal.reason, refusal.retryAfterSeconds);
      });
    });
  }

  /** Registers the handler for new calls (the call runtime). */
  onCall(handler: (call: IncomingCall) => void): void {
    this.handler = handler;
  }

  private async onInvite(invite: IncomingInvite): Promise<void> {
    const { deps } = this;
    const log = lazyChild(deps.logger, { callId: invite.callId });
    const admission = await deps.admit(invite.source.address);
    if (invite.cancelled) return; // cancelled while the store answered: the stack answered 487
    if (!admission.admit) {
      logRefusal(log, invite.source.address, admission);
      invite.reject(admission.status, admission.status === 503 ? 'Service Unavailable' : 'Forbidden', admission.retryAfterSeconds);
      return;
    }
    if (!this.handler) {
      invite.reject(503, 'Service Unavailable');
      return;
    }
    // The RTP session and the SDP answer (shared with the drachtio adapter: sip/call-media.ts); for an INVITE without
    // SDP (late offer), our offer in the 200 OK and the caller's answer from the ACK.
    const media = invite.offer ? await CallMedia.open(deps.media, deps.mediaAddress, invite.offer) : await CallMedia.openForLateOffer(deps.media, deps.mediaAddress);
    if (!media) {
      invite.reject(488, 'Not Acceptable Here');
      return;
    }
    const { session } = media;
    let dialog: Dialog | null = null;
    let ended = false;
    const channel: RtpCallChannel = new RtpCallChannel({
      callId: invite.callId,
      clock: deps.clock,
      catalog: deps.catalog,
      recordingsDir: deps.recordingsDir,
      session,
      leg: {
        // Resolves when the caller's ACK confirms the 200 OK (or the call ends first): the flow's first prompt then
        // starts when the caller can play it (not clipped while its phone is still setting up), and under overload a
        // call whose ACK and BYE wait in the same queue costs no audio (streaming from the 200 OK to a late BYE made
        // every delayed call longer, and the overload worse).
        answer: () => {
          if (dialog || ended || invite.cancelled) return Promise.resolve();
          const d = invite.accept(media.answer);
          dialog = d;
          this.wireDialog(d, channel, media, log);
          return new Promise<void>((resolve) => {
            d.onConfirmed((ackSdp) => {
              if (!media.takeAnswer(ackSdp)) {
                log.info({ ackHadSdp: ackSdp !== null }, 'late offer: the ACK carried no usable answer; BYE');
                ended = true;
                void d.bye();
                channel.callerHungUp();
              }
              resolve();
            });
            d.onEnded(() => resolve());
          });
        },
        hangup: (cause) => {
          if (ended) return;
          ended = true;
          if (dialog) void dialog.bye();
          else if (!invite.cancelled) {
            const refusal = refusalForHangupCause(cause, deps.retryAfterSeconds);
            invite.reject(refusal.status, refusal.reason, refusal.retryAfterSeconds);
          }
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
      // Issue 22: what the INVITE asked of the test events, and the dialog's INFO once the call is answered.
      ...(invite.testEvents.length > 0
        ? { testEvents: { kinds: invite.testEvents, sourceIp: invite.source.address, sendInfo: (type: string, body: string) => (dialog ? dialog.info(type, body) : Promise.resolve(null)) } }
        : {}),
    });
  }

  private wireDialog(dialog: Dialog, channel: RtpCallChannel, media: CallMedia, log: Logger): void {
    dialog.onInfo((contentType, body, respond) => respond(answerInfoDtmf(channel, contentType, body)));
    dialog.onReinvite((offer) => {
      if (!offer) return null;
      const updated = media.update(offer);
      if (!updated) return null;
      log.info({ direction: updated.direction }, 're-INVITE: media changed');
      return updated.answer;
    });
    dialog.onEnded((by) => {
      if (by !== 'local') channel.callerHungUp();
    });
  }
}
