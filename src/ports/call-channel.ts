/**
 * CallChannel: the only way a flow touches a call (DESIGN.md, "The call model"). Implemented by the simulator
 * (`sim/`), the embedded SIP/RTP stack and the drachtio adapter.
 *
 * Contract, for every implementation:
 * - Operations run one at a time per call. Each returns a promise that settles exactly once.
 * - Digits typed while a prompt plays barge in (when `bargeIn`) and are kept for the next `collect` (type-ahead).
 * - After the caller hangs up, every pending and later operation resolves at once with reason `hangup`
 *   (a recording in progress is finished and kept: hanging up is how callers end a voice message). The `onHangup`
 *   listeners are called synchronously at the hang-up, before those results reach the awaiting code, so a flow
 *   learns of the hang-up before it could mistake a `hangup` result for input.
 * - An operation whose `signal` aborts stops promptly and resolves with reason `stopped` (play, conference) or with
 *   what it has (collect: `timeout`; record: the audio so far).
 * - All timeouts use the channel's injected Clock.
 */
import type {
  CollectRequest,
  CollectResult,
  ConferenceOptions,
  ConferenceResult,
  ConferenceRole,
  PlayRequest,
  PlayResult,
  RecordRequest,
  RecordResult,
} from '../flow-kit/media-types';

/**
 * What an operation needs of an abort signal: a DOM `AbortSignal` fits, and so does the runtime's lighter
 * cancellation token (`runtime/effect-runner.ts`). Once `aborted` is true it stays true; the `abort` listeners are
 * called once, when it becomes true.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface CallChannel {
  /** Unique id of the call (SIP Call-ID or a simulator id). */
  readonly callId: string;
  /** True once either side has ended the call. */
  readonly ended: boolean;
  /**
   * Answers the call (200 OK with SDP; a no-op when already answered). The embedded SIP engine resolves once the
   * caller's ACK has confirmed the answer (RFC 3261 §13.3.1.4) or the call has ended, so that what the flow plays
   * first is not sent before the caller can play it; the drachtio engine when drachtio-server has sent the 200 OK
   * (drachtio-srf's `createUAS`).
   */
  answer(): Promise<void>;
  play(request: PlayRequest, signal?: CancelSignal): Promise<PlayResult>;
  collect(request: CollectRequest, signal?: CancelSignal): Promise<CollectResult>;
  record(request: RecordRequest, signal?: CancelSignal): Promise<RecordResult>;
  /**
   * Joins a conference room: the caller hears the others and is heard (a bridge mixes the audio), and may use the
   * in-meeting commands (`*6` mute/unmute, `*8` admit the lobby: see {@link ConferenceOptions}). Resolves when the
   * caller leaves, the meeting ends, or `signal` aborts.
   */
  joinConference(room: string, role: ConferenceRole, signal?: CancelSignal, options?: ConferenceOptions): Promise<ConferenceResult>;
  /** Ends the call from the IVR side (BYE). Idempotent. */
  hangup(cause?: string): Promise<void>;
  /** Called once when the call ends from the caller's side. */
  onHangup(listener: () => void): void;
  /** Called for every digit the caller presses (after de-duplication across DTMF transports). */
  onDtmf(listener: (digit: string) => void): void;
}

/** A new call as the signalling layer announces it. */
export interface IncomingCall {
  channel: CallChannel;
  /** Caller's number (user part of From / P-Asserted-Identity), or null when anonymous. */
  from: string | null;
  /** Dialled number (user part of the Request-URI / To). */
  to: string;
  /** The extension the call was diverted from (Diversion, RFC 5806, or History-Info, RFC 7044), if any. */
  diversion?: string;
  /** Where the signalling came from (`ip` or `ip:port`), for the UM IP gateway allow-list. */
  sourceAddress?: string;
}

/** Announces new calls; implemented by each signalling adapter and by the simulator. */
export interface CallSource {
  /** Registers the handler for new calls. */
  onCall(handler: (call: IncomingCall) => void): void;
}
