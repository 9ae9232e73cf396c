/**
 * The RTP engine (DESIGN.md "Media"): G.711, RTP packets, RFC 4733 telephone-events, in-band DTMF (Goertzel),
 * SIP INFO DTMF bodies, WAV in and out, and the engine/session pair that sends and receives RTP from one shared
 * 20 ms tick. Import from here, or from the individual modules.
 */
export * from './errors';
export * from './g711';
export * from './rtp-packet';
export * from './rfc4733';
export * from './goertzel';
export * from './sip-info-dtmf';
export * from './wav';
export * from './histogram';
export { MediaEngine, monotonicClock, type MediaEngineOptions, type TickStats } from './media-engine';
export {
  RtpSession,
  PACKET_MS,
  SAMPLES_PER_PACKET,
  type Playback,
  type Recording,
  type RemoteMedia,
  type RtpSessionEvents,
  type RtpSessionOptions,
  type SessionDtmf,
} from './rtp-session';
