/**
 * Media servers (DESIGN.md, "Scale"): a signalling adapter hands a call's SDP offer to a media server (FreeSWITCH,
 * driven through drachtio-fsmrf: `media/freeswitch/`) and answers the caller with the media server's SDP, so the
 * RTP flows between the caller and the media server, never through our process. The adapter keeps the signalling
 * (answer, BYE, SIP INFO digits, re-INVITEs); the channel it gets back is the flows' {@link CallChannel}.
 */
import type { CallChannel } from './call-channel';

/** The signalling side of one call, as a channel needs it. */
export interface CallLeg {
  /** Answers the call (200 OK with the SDP answer). Resolves when the answer is confirmed, or the call ended. */
  answer(): Promise<void>;
  /** Ends the call from the IVR side: BYE once answered (a final response before). Idempotent. */
  hangup(cause?: string): void;
}

/** A channel the signalling layer drives: the flows' {@link CallChannel} plus what SIP tells it. */
export interface SignalledChannel extends CallChannel {
  /** The signalling saw the caller hang up (BYE, CANCEL, or the dialog timing out). */
  callerHungUp(): void;
  /** A key from a SIP INFO (`application/dtmf-relay`, `application/dtmf`), merged with the media's digits. */
  infoDigit(digit: string, durationMs: number): void;
  /** Calls `listener` once when the call ends, from either side (synchronously). */
  onEnded(listener: () => void): void;
}

/** One call's media on a media server. */
export interface MediaServerCall {
  /**
   * The media server's SDP for the caller's 200 OK: the answer to the caller's offer, or, for an INVITE without one
   * (late offer), the media server's offer, whose answer {@link takeAnswer} hands on.
   */
  readonly answerSdp: string;
  /**
   * Late offer: hands the caller's answer (from its ACK) to the media server, which then streams to the caller.
   * @returns false when the media server refused it (the call is then ended with BYE)
   */
  takeAnswer(answer: string): Promise<boolean>;
  /** Which media server carries it (`host:port` of its event socket), for logs. */
  readonly server: string;
  readonly channel: SignalledChannel;
  /**
   * A re-INVITE's offer (hold, a new address) handed to the media server.
   * @returns the media server's new SDP answer, or null when it refused the offer (answer 488)
   */
  modify(offer: string): Promise<string | null>;
}

/** A pool of media servers; calls are spread over the ones that are up. */
export interface MediaServerPool {
  /**
   * Sets up a call's media from the caller's offer on the next media server that is up (round robin).
   * @param opts.leg the call's signalling, which the channel uses to answer and hang up
   * @param opts.offer the caller's SDP offer; null for an INVITE without one (late offer: the media server offers)
   * @returns the call, or `'incompatible'` when the media server refused the offer (answer 488)
   * @throws VaError VA_ERR_MEDIA_SERVER_UNAVAILABLE when no media server is up or the one chosen failed (answer 503)
   */
  open(opts: { callId: string; offer: string | null; leg: CallLeg }): Promise<MediaServerCall | 'incompatible'>;
  /** The media servers as `host:port` with their state, for the `ready` line and logs. */
  describe(): Array<{ server: string; up: boolean }>;
  /** True when at least one media server is up. */
  readonly available: boolean;
  /** Disconnects from every media server (calls still up lose their media). */
  close(): Promise<void>;
}
