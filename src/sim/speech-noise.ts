/**
 * The simulated callers' voice: noise a voice activity detector takes for speech, the same in-process (recordings
 * the simulator writes), over the network (RTP the network caller sends) and in exported SIPp scenarios.
 */

/** The noise's peak level (of 32,767): about -24 dBov, well above the detectors' silence threshold. */
export const SPEECH_AMPLITUDE = 2000;

/** The first seed of a caller's voice. */
export const SPEECH_SEED = 0x2545f491;

/**
 * Fills `pcm[from, to)` with speech-like noise (a linear congruential generator, deterministic).
 * @returns the generator's state after the last sample, to carry on where this left off
 */
export function fillSpeechNoise(pcm: Int16Array, seed = SPEECH_SEED, from = 0, to = pcm.length): number {
  let s = seed;
  for (let i = from; i < to; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) | 0;
    pcm[i] = (s >> 16) % SPEECH_AMPLITUDE;
  }
  return s;
}
