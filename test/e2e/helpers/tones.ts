/**
 * What a phone heard in a meeting, by Goertzel (`src/media/conference-tones.ts` toneShare) over 20 ms blocks of its
 * recording (8 kHz mono): the blocks that hold a caller's test tone, and those that hold the music on hold's chords.
 */
import { toneShare } from '../../../src/media/conference-tones';

/** Blocks of 20 ms holding a tone of `hz` (level >= -45 dBov, at least a quarter of the block's energy). */
export function toneBlocks(pcm: Int16Array, hz: number): number {
  let hits = 0;
  for (let i = 0; i + 160 <= pcm.length; i += 160) {
    const s = toneShare(pcm.subarray(i, i + 160), hz);
    if (s.levelDbov >= -45 && s.share >= 0.25) hits++;
  }
  return hits;
}

/** Blocks of 20 ms holding the first chord of the music on hold (C major: C4 E4 G4 C5 together hold most of the energy). */
export function musicBlocks(pcm: Int16Array): number {
  let hits = 0;
  for (let i = 0; i + 160 <= pcm.length; i += 160) {
    const b = pcm.subarray(i, i + 160);
    const share = [261.63, 329.63, 392.0, 523.25].reduce((n, hz) => n + toneShare(b, hz).share, 0);
    if (toneShare(b, 440).levelDbov >= -40 && share >= 0.5) hits++;
  }
  return hits;
}
