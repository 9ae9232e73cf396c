/**
 * DrachtioCallSource: the {@link CallSource} of the drachtio adapter. drachtio-server handles SIP (transactions, 2xx
 * retransmission, CANCEL); media stays in our RTP engine. For each new INVITE (`srf.invite`), in the same order as
 * the embedded engine: the source address drachtio-server reports (`req.source_address`) must be an Enabled UM IP
 * gateway (403, or 503 for NoNewCalls; the shared `domain/gateway-admission.ts` rule), the offer must carry PCMU or
 * PCMA (488); then an RTP session is opened and the call is handed on as an {@link IncomingCall} whose channel is the
 * shared {@link RtpCallChannel} (or, with media servers, a FreeSWITCH endpoint's channel: the caller is answered with
 * FreeSWITCH's SDP). The runtime routes it (404 for a number that routes nowhere) and answers it:
 * `srf.createUAS(req, res, {localSdp})`; `answer()` resolves at the caller's ACK, as on the embedded engine. SIP INFO digits (dialog `info`), re-INVITEs (`modify`), CANCEL
 * and the caller's BYE (`destroy`) are wired to the channel; the IVR's hang-up is `dialog.destroy()` (BYE).
 */
import type { Logger } from 'pino';
import { lazyChild } from '../../log';
import { RtpCallChannel } from '../../channel/rtp-call-channel';
import type { CallSource, IncomingCall } from '../../ports/call-channel';
import type { CallLeg, MediaServerPool, SignalledChannel } from '../../ports/media-server';
import { ErrorCodes, isVaError } from '../../errors';
import { answerInfoDtmf, CallMedia, logRefusal, type CallSourceMediaDeps } from '../call-media';
import { exhaustedBy } from '../../errors';
import { noteExhausted } from '../../metrics';
import { refusalForHangupCause, refusalForSetupError, type Refusal } from '../refusals';
import { callerUser, diversionUser, parseNameAddr, parseUriParts, sdpFromBody, uriUser } from '../sip-headers';
import { parseTestEventsHeader, TEST_EVENTS_HEADER } from '../../domain/test-events';
import type { DrachtioSrf, SrfDialog, SrfRequest, SrfResponse } from './srf-types';

/** What the call source needs: drachtio-srf, the RTP engine, and the shared admission rule. */
export interface DrachtioCallSourceDeps extends CallSourceMediaDeps {
  srf: DrachtioSrf;
  /**
   * Media servers (FreeSWITCH through drachtio-fsmrf): when set, each call's media is an endpoint on one of them and
   * the caller is answered with its SDP, instead of an RTP session of our own engine; 503 while none is up.
   */
  mediaServers?: MediaServerPool;
}

/** How many seconds a caller refused for want of a media server is asked to wait (503 Retry-After). */
const MEDIA_SERVER_RETRY_AFTER_S = 5;

/** A call's media as the dialog needs it: the answer to send, and how a re-INVITE's offer is answered. */
interface DialogMedia {
  /** Our SDP in the 200 OK: the answer to the caller's offer, or our offer for an INVITE without one (late offer). */
  answer: string;
  /**
   * Takes the caller's answer from the ACK (late offer); false when it is missing or unusable (the call then ends
   * with BYE). True at once when the INVITE had an offer.
   */
  takeAnswer(ackSdp: string | null): boolean | Promise<boolean>;
  /** The new SDP answer, or null to refuse the offer with 488. */
  modify(offer: string): Promise<{ answer: string; direction?: string } | null>;
  /** Frees the media of a call refused before it was handed on. */
  release(): void;
}

/** The caller, the dialled number and the diverting extension of an INVITE, read as the embedded engine reads them. */
export interface InviteParties {
  /** User part of P-Asserted-Identity, else of From; null when anonymous. */
  fromUser: string | null;
  /** User part of the Request-URI, else of To; `''` when neither has one. */
  toUser: string;
  /** First Diversion entry (RFC 5806), else History-Info (RFC 7044); undefined when the call was not diverted. */
  diversion?: string;
}

/**
 * Reads the parties of an INVITE from its raw headers (the shared `sip-headers.ts` rules).
 * @param req the request as drachtio-srf delivers it
 */
export function inviteParties(req: Pick<SrfRequest, 'uri' | 'get'>): InviteParties {
  const fromUri = parseNameAddr(req.get('From') ?? '')?.uri ?? '';
  const toUri = parseNameAddr(req.get('To') ?? '')?.uri ?? '';
  const diversion = diversionUser(req.get('Diversion'), req.get('History-Info'));
  return {
    fromUser: callerUser(fromUri, req.get('P-Asserted-Identity')),
    toUser: parseUriParts(req.uri)?.user ?? uriUser(toUri) ?? '',
    ...(diversion !== undefined ? { diversion } : {}),
  };
}

/** How long the 200 OK may wait for drachtio-server's confirmation and the caller's ACK before the call is given up (64*T1, ms). */
const ANSWER_TIMEOUT_MS = 32_000;

/** `promise`, or a rejection with `message` after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Sends an in-dialog INFO (RFC 6086) through drachtio-server: `dialog.request`, the only way that works (DESIGN.md,
 * "Known pitfalls").
 * @returns the final status, or null without a dialog, after its end, or when drachtio-server could not send it
 */
async function sendInfo(dialog: SrfDialog | null, contentType: string, body: string): Promise<number | null> {
  if (!dialog || !dialog.connected) return null;
  try {
    const res = await dialog.request({ method: 'INFO', headers: { 'Content-Type': contentType }, body });
    return res.status;
  } catch {
    return null;
  }
}

/** Sends a final response unless one went out already; drachtio-srf throws for a status it does not know. */
function respond(res: SrfResponse, status: number, headers?: Record<string, string>): void {
  if (res.finalResponseSent) return;
  res.send(status, headers ? { headers } : {});
}

/** The Retry-After header of a refusal, if it has one. */
function retryAfter(refusal: Refusal): Record<string, string> | undefined {
  return refusal.retryAfterSeconds === undefined ? undefined : { 'Retry-After': String(refusal.retryAfterSeconds) };
}

/** A call this source has not finished with: for {@link DrachtioCallSource.stop}. */
interface LiveCall {
  /** Ends it from our side: BYE once answered, 503 before (`stop`). */
  end(): Promise<void>;
}

/** The drachtio adapter's {@link CallSource}: one {@link RtpCallChannel} per INVITE that drachtio-server delivers. */
export class DrachtioCallSource implements CallSource {
  private handler: ((call: IncomingCall) => void) | null = null;
  private readonly live = new Set<LiveCall>();
  private stopping = false;

  constructor(private readonly deps: DrachtioCallSourceDeps) {
    deps.srf.invite((req, res) => {
      void this.onInvite(req, res).catch((err: unknown) => {
        // Out of RTP ports, store or memory: 503 with Retry-After (one line with the code); anything else is a bug: 500.
        const refusal = refusalForSetupError(err, lazyChild(deps.logger, { callId: req.get('Call-ID') }), deps.retryAfterSeconds);
        try {
          if (!req.canceled) respond(res, refusal.status, retryAfter(refusal));
        } catch {
          /* the response could not be sent either (connection gone) */
        }
      });
    });
  }

  /** Registers the handler for new calls (the call runtime). */
  onCall(handler: (call: IncomingCall) => void): void {
    this.handler = handler;
  }

  /** Calls set up and not ended yet. */
  get activeCalls(): number {
    return this.live.size;
  }

  /**
   * Refuses new INVITEs (503), answers calls not answered yet 503 and ends answered ones with BYE, waiting up to
   * `timeoutMs` for the BYEs' responses. Idempotent.
   */
  async stop(timeoutMs = 2000): Promise<void> {
    this.stopping = true;
    const ends = [...this.live].map((c) => c.end());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(ends), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  private async onInvite(req: SrfRequest, res: SrfResponse): Promise<void> {
    const { deps } = this;
    const callId = req.get('Call-ID') ?? '';
    const log = lazyChild(deps.logger, { callId });
    let cancelled = false;
    let onCancel: (() => void) | null = null;
    req.on('cancel', () => {
      cancelled = true;
      onCancel?.();
    });
    const admission = await deps.admit(req.source_address);
    if (cancelled || req.canceled) return; // cancelled while the store answered: drachtio-server answered 487
    if (!admission.admit) {
      logRefusal(log, req.source_address, admission);
      respond(res, admission.status, admission.retryAfterSeconds === undefined ? undefined : { 'Retry-After': String(admission.retryAfterSeconds) });
      return;
    }
    if (!this.handler || this.stopping) {
      respond(res, 503);
      return;
    }
    const body = sdpFromBody(req.get('Content-Type'), req.body);
    if ('unsupported' in body) {
      respond(res, 415, { Accept: 'application/sdp' });
      return;
    }
    let dialog: SrfDialog | null = null;
    let answering: Promise<void> | null = null;
    let bye: Promise<void> | null = null;
    let ended = false;
    let channel: SignalledChannel | null = null;
    let media: DialogMedia | null = null;
    const leg: CallLeg = {
        answer: () => {
          if (dialog || ended || cancelled || !media || !channel) return Promise.resolve();
          const [m, ch] = [media, channel];
          // The answer is complete at the caller's ACK (RFC 3261 §13.3.1.4), as on the embedded engine: what the flow
          // plays first is not sent before the caller can play it. drachtio-server passes the ACK on to the dialog.
          let acked: () => void = () => undefined;
          const ack = new Promise<void>((resolve) => (acked = resolve));
          const over = new Promise<void>((resolve) => ch.onEnded(resolve));
          // Wired synchronously when drachtio-server confirms the 200 OK (an INFO or BYE may follow in the same read).
          const wire = (d: SrfDialog) => {
            dialog = d;
            d.on('ack', (ack) => {
              const sdp = sdpFromBody(ack.get('Content-Type'), ack.body);
              void Promise.resolve(m.takeAnswer('sdp' in sdp ? sdp.sdp : null)).then((ok) => {
                if (!ok && !ended) {
                  log.info({ ackHadSdp: !!ack.body }, 'late offer: the ACK carried no usable answer; BYE');
                  ended = true;
                  bye = this.bye(d, log);
                  ch.callerHungUp();
                }
                acked();
              });
            });
            this.wireDialog(d, ch, m, log);
            if (ended) bye = this.bye(d, log); // the IVR hung up (or we gave up) while the 200 OK was on its way
          };
          answering ??= withTimeout(
            deps.srf
              .createUAS(req, res, { localSdp: m.answer, headers: { 'Content-Type': 'application/sdp' } }, wire)
              .then(() => Promise.race([ack, over])),
            ANSWER_TIMEOUT_MS,
            'no ACK for the 200 OK within 64*T1',
          ).then(
            () => undefined,
            (err: unknown) => {
              if (cancelled || ended) return; // the CANCEL handler, or the IVR's hang-up (480 went first), ended it
              log.warn({ err }, 'drachtio-server could not answer the call');
              ended = true;
              if (dialog) bye = this.bye(dialog, log); // answered but never confirmed: the session ends (§13.3.1.4)
              ch.callerHungUp();
            },
          );
          return answering;
        },
        hangup: (cause) => {
          if (ended) return;
          ended = true;
          if (dialog) bye = this.bye(dialog, log);
          else if (!cancelled) {
            try {
              const refusal = refusalForHangupCause(cause, deps.retryAfterSeconds);
              respond(res, refusal.status, retryAfter(refusal));
            } catch (err) {
              log.warn({ err }, 'cannot send the final response');
            }
          }
        },
    };
    const opened = deps.mediaServers
      ? await this.openOnMediaServer(deps.mediaServers, callId, body.sdp ?? null, leg, res, log)
      : await this.openOnRtpEngine(callId, body.sdp ?? null, leg, res);
    if (!opened) return;
    media = opened.media;
    const ch: SignalledChannel = opened.channel;
    channel = ch;
    if (cancelled || req.canceled || this.stopping) {
      ended = true;
      media.release();
      if (this.stopping && !cancelled) respond(res, 503);
      return;
    }
    onCancel = () => {
      if (ended) return;
      ended = true;
      ch.callerHungUp();
    };
    const live: LiveCall = {
      end: async () => {
        await ch.hangup('shutdown');
        if (answering) await answering;
        if (bye) await bye;
      },
    };
    this.live.add(live);
    ch.onEnded(() => {
      // Kept until the BYE (if any) is answered, so stop() can wait for it.
      void Promise.resolve(answering)
        .then(() => bye)
        .finally(() => this.live.delete(live));
    });
    const parties = inviteParties(req);
    const testEvents = parseTestEventsHeader(req.get(TEST_EVENTS_HEADER));
    this.handler({
      channel: ch,
      from: parties.fromUser,
      to: parties.toUser,
      ...(parties.diversion !== undefined ? { diversion: parties.diversion } : {}),
      sourceAddress: `${req.source_address}:${req.source_port}`,
      // Issue 22: what the INVITE asked of the test events, and an in-dialog INFO once the call is answered.
      ...(testEvents.length > 0 ? { testEvents: { kinds: testEvents, sourceIp: req.source_address, sendInfo: (type: string, body: string) => sendInfo(dialog, type, body) } } : {}),
    });
  }

  /** Our RTP engine's session for the call; null when the offer was refused (488 sent). */
  private async openOnRtpEngine(callId: string, offer: string | null, leg: CallLeg, res: SrfResponse): Promise<{ media: DialogMedia; channel: SignalledChannel } | null> {
    const { deps } = this;
    // For an INVITE without SDP (late offer): our offer in the 200 OK, the caller's answer from the ACK.
    const media = offer ? await CallMedia.open(deps.media, deps.mediaAddress, offer) : await CallMedia.openForLateOffer(deps.media, deps.mediaAddress);
    if (!media) {
      respond(res, 488);
      return null;
    }
    const channel = new RtpCallChannel({ callId, clock: deps.clock, catalog: deps.catalog, recordingsDir: deps.recordingsDir, session: media.session, leg });
    return {
      channel,
      media: {
        answer: media.answer,
        takeAnswer: (sdp) => media.takeAnswer(sdp),
        modify: async (sdp) => media.update(sdp),
        release: () => media.session.close(),
      },
    };
  }

  /**
   * An endpoint on a media server for the call; null when it was refused: 488 when the media server refused the
   * offer, 503 with Retry-After when no media server is up or the one chosen failed (logged with its code).
   */
  private async openOnMediaServer(
    pool: MediaServerPool,
    callId: string,
    offer: string | null,
    leg: CallLeg,
    res: SrfResponse,
    log: Logger,
  ): Promise<{ media: DialogMedia; channel: SignalledChannel } | null> {
    let call;
    try {
      call = await pool.open({ callId, offer, leg });
    } catch (err) {
      const exhausted = isVaError(err, ErrorCodes.MEDIA_SERVER_UNAVAILABLE) ? exhaustedBy(err) : null;
      if (!exhausted) throw err;
      noteExhausted(log, exhausted);
      respond(res, 503, { 'Retry-After': String(MEDIA_SERVER_RETRY_AFTER_S) });
      return null;
    }
    if (call === 'incompatible') {
      respond(res, 488);
      return null;
    }
    const c = call;
    return {
      channel: c.channel,
      media: {
        answer: c.answerSdp,
        // Late offer: the caller's answer goes to the media server (a re-INVITE of its endpoint); none is refused.
        takeAnswer: (sdp) => (offer !== null ? true : sdp === null ? false : c.takeAnswer(sdp)),
        modify: async (sdp) => {
          const answer = await c.modify(sdp);
          return answer === null ? null : { answer };
        },
        release: () => void c.channel.hangup('cancelled'),
      },
    };
  }

  private wireDialog(dialog: SrfDialog, channel: SignalledChannel, media: DialogMedia, log: Logger): void {
    dialog.on('info', (req, res) => {
      res.send(answerInfoDtmf(channel, req.get('Content-Type'), req.body));
    });
    dialog.on('modify', (req, res) => {
      const body = sdpFromBody(req.get('Content-Type'), req.body);
      if ('unsupported' in body) return res.send(415, { headers: { Accept: 'application/sdp' } });
      if (!body.sdp) return res.send(488); // an offerless re-INVITE is refused too, as in the embedded engine
      void media.modify(body.sdp).then(
        (updated) => {
          if (!updated) return res.send(488);
          log.info({ direction: updated.direction }, 're-INVITE: media changed');
          res.send(200, { body: updated.answer, headers: { 'Content-Type': 'application/sdp' } });
        },
        (err: unknown) => {
          log.warn({ err }, 'the re-INVITE could not be answered');
          res.send(500);
        },
      );
    });
    dialog.on('destroy', () => channel.callerHungUp());
  }

  private async bye(dialog: SrfDialog, log: Logger): Promise<void> {
    try {
      await dialog.destroy();
    } catch (err) {
      log.warn({ err }, 'the BYE could not be sent through drachtio-server');
    }
  }
}
