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
import type { Locale } from '../domain/locale';
import type { TestEventKind } from '../domain/test-events';

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
  /**
   * Optional observer (issue 22, prompt events for test tools): called synchronously whenever a prompt starts to
   * play to the caller, in order. Channels built on `channel/ivr-channel.ts` implement it; a listener must not throw
   * nor block (it runs inside the media's timing).
   */
  onPromptStart?(listener: (prompt: PromptStart) => void): void;
  /**
   * Optional observer (issue 22): called whenever a `collect` finishes, with what it collected. For a secret input (a
   * PIN) the listener gets no digits at all: secrets never leave the channel this way.
   */
  onCollected?(listener: (input: CollectedInput) => void): void;
}

/** A prompt that started, as {@link CallChannel.onPromptStart} reports it. */
export interface PromptStart {
  /** The catalog id (`enter-pin`), `tone:<name>` for a tone, null for a recording (a voice message, a greeting). */
  id: string | null;
  /** The locale of the operation that plays it. */
  locale: Locale;
  /** The operation it belongs to. */
  op: 'play' | 'collect' | 'record' | 'conference';
  /** True when it plays for a secret input (the prompts of a `collect` with `secret`: a PIN). */
  secret: boolean;
}

/**
 * What a `collect` ended with, as {@link CallChannel.onCollected} reports it: the digits (terminator excluded) and
 * the reason, or for a secret input only the reason.
 */
export type CollectedInput =
  | { secret: false; digits: string; reason: CollectResult['reason']; terminator?: string }
  | { secret: true; reason: CollectResult['reason'] };

/**
 * What a caller asked of the test events in its INVITE (`X-VA-Test-Events`, issue 22), and how the signalling sends
 * them: present on an {@link IncomingCall} only when the INVITE asked for at least one kind. Whether the caller gets
 * them is the runtime's decision (the directory's `testing.eventsAllowedFrom`), not the adapter's.
 */
export interface TestEventsRequest {
  /** The kinds asked for, never empty. */
  kinds: readonly TestEventKind[];
  /** The IP address the INVITE came from (no port): what the allow-list is checked against. */
  sourceIp: string;
  /**
   * Sends one in-dialog INFO (RFC 6086) with this body, once the call is answered.
   * @param contentType the body's Content-Type; @param body the body (UTF-8 text)
   * @returns the final response's status code, or null when none came (the transaction timed out, 64*T1) or the
   *   INFO could not be sent (no dialog yet, the call has ended, the transport failed); never rejects
   */
  sendInfo(contentType: string, body: string): Promise<number | null>;
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
  /** The test events the caller asked for (`X-VA-Test-Events`), when it asked for any and the signalling can send them. */
  testEvents?: TestEventsRequest;
}

/** Announces new calls; implemented by each signalling adapter and by the simulator. */
export interface CallSource {
  /** Registers the handler for new calls. */
  onCall(handler: (call: IncomingCall) => void): void;
}
