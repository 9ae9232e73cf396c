/**
 * The conference mixer: the arithmetic of a conference bridge, without sockets, so it can be tested and measured on
 * its own (`conference-bridge.ts` drives it from the RTP engine's shared 20 ms tick).
 *
 * Each participant hears the sum of the others (issue 6; Asterisk ConfBridge and FreeSWITCH mod_conference do the
 * same, telephony-facts.md §3.2-3.3):
 * - Audio is 8 kHz 16-bit PCM in frames of {@link MIX_FRAME_SAMPLES} (20 ms), the RTP engine's packet.
 * - Per frame: every participant's next input frame is taken from its jitter buffer; the frames of those who are
 *   heard (not muted, with audio) are added into one 32-bit sum, with the room-wide sounds (entry/exit tones); then
 *   each participant's output is that sum minus its own contribution, saturated to -32768..32767. So a listener
 *   never hears itself, and the cost per frame is linear in the number of participants (one pass to add, one pass to
 *   subtract), not quadratic.
 * - Saturation instead of wrap-around: two loud talkers clip, they never flip sign into a crack.
 * - A participant that nobody hears speaking (the usual case in a large meeting) gets the plain sum; its output is
 *   computed all the same (one pass), so the cost does not depend on who talks.
 *
 * Input jitter buffer (per participant): RTP packets do not arrive in step with our tick. Received samples queue in
 * a ring; the participant is heard once {@link JITTER_PRIME_SAMPLES} (40 ms) are queued, then one frame is taken per
 * tick; when the queue runs dry (a pause in its stream, lost packets at the end) what is left is played, padded with
 * silence, and it primes again. More than {@link JITTER_MAX_SAMPLES} (200 ms) queued means the sender runs fast or
 * sent a burst: the oldest samples are dropped down to the priming depth, so the delay stays bounded.
 */
/** Samples per mixed frame: 20 ms at 8 kHz (the RTP engine's packet, `rtp-session.ts`). */
export const MIX_FRAME_SAMPLES = 160;
/** Queued input needed before a participant is heard (and again after its stream ran dry): 40 ms. */
export const JITTER_PRIME_SAMPLES = 2 * MIX_FRAME_SAMPLES;
/** Most input queued before the oldest is dropped: 200 ms. */
export const JITTER_MAX_SAMPLES = 10 * MIX_FRAME_SAMPLES;
const RING_SAMPLES = 16 * MIX_FRAME_SAMPLES;

/** Clamps a 32-bit sum to a 16-bit sample. */
function saturate(v: number): number {
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

/** One participant of a {@link ConferenceMixer}: its input queue, mute flag and output frame. */
export class MixerParticipant {
  /** Muted participants are not heard (their input is dropped); they still hear everyone. */
  muted = false;
  /** What this participant hears, refreshed by every {@link ConferenceMixer.mixFrame}. Do not modify. */
  readonly output = new Int16Array(MIX_FRAME_SAMPLES);
  /** This frame's input (zeros when nothing was taken). @internal */
  readonly input = new Int16Array(MIX_FRAME_SAMPLES);
  /** Whether this frame's input went into the sum. @internal */
  heard = false;
  private readonly ring = new Int16Array(RING_SAMPLES);
  private head = 0;
  private fill = 0;
  private primed = false;
  private droppedSamples = 0;
  private framesHeardCount = 0;

  constructor(
    /** A caller-chosen label (the call id), for statistics and logs. */
    readonly label: string,
  ) {}

  /** Samples dropped because the input queue overflowed (a sender running fast), since the start. */
  get dropped(): number {
    return this.droppedSamples;
  }

  /** Frames in which this participant was heard by the others. */
  get framesHeard(): number {
    return this.framesHeardCount;
  }

  /** Samples waiting in the input queue. */
  get queued(): number {
    return this.fill;
  }

  /**
   * Queues received audio (decoded G.711, 8 kHz), in stream order, any length.
   * @param pcm samples; copied, so the caller may reuse the array
   */
  push(pcm: Int16Array): void {
    let src = pcm;
    if (src.length > RING_SAMPLES) {
      this.droppedSamples += src.length - RING_SAMPLES;
      src = src.subarray(src.length - RING_SAMPLES);
    }
    const overflow = this.fill + src.length - RING_SAMPLES;
    if (overflow > 0) this.drop(overflow);
    let tail = (this.head + this.fill) % RING_SAMPLES;
    let i = 0;
    while (i < src.length) {
      const n = Math.min(src.length - i, RING_SAMPLES - tail);
      this.ring.set(src.subarray(i, i + n), tail);
      i += n;
      tail = (tail + n) % RING_SAMPLES;
    }
    this.fill += src.length;
    if (this.fill > JITTER_MAX_SAMPLES) this.drop(this.fill - JITTER_PRIME_SAMPLES);
  }

  /** Forgets queued input (e.g. after the participant was muted: stale audio must not be heard later). */
  clearInput(): void {
    this.head = 0;
    this.fill = 0;
    this.primed = false;
  }

  /** Takes this frame's input into `input`; true when there was audio to take. @internal */
  take(): boolean {
    if (!this.primed) {
      if (this.fill < JITTER_PRIME_SAMPLES) return false;
      this.primed = true;
    }
    const n = Math.min(MIX_FRAME_SAMPLES, this.fill);
    const first = Math.min(n, RING_SAMPLES - this.head);
    this.input.set(this.ring.subarray(this.head, this.head + first), 0);
    if (n > first) this.input.set(this.ring.subarray(0, n - first), first);
    if (n < MIX_FRAME_SAMPLES) {
      this.input.fill(0, n);
      this.primed = false; // ran dry: prime again before the next audio is heard
    }
    this.head = (this.head + n) % RING_SAMPLES;
    this.fill -= n;
    return n > 0;
  }

  /** Counts a frame heard. @internal */
  countHeard(): void {
    this.framesHeardCount++;
  }

  private drop(n: number): void {
    this.head = (this.head + n) % RING_SAMPLES;
    this.fill -= n;
    this.droppedSamples += n;
  }
}

/** A sound played to the participants of a room (entry and exit tones), mixed in on top of the voices. */
interface RoomSound {
  pcm: Int16Array;
  pos: number;
  /** The one participant who does not hear it (the one who joined), if any. */
  except: MixerParticipant | null;
}

/** One room's mix. See the module comment. */
export class ConferenceMixer {
  private readonly members: MixerParticipant[] = [];
  private readonly sum = new Int32Array(MIX_FRAME_SAMPLES);
  private readonly sounds: RoomSound[] = [];
  /** This frame's sounds that one participant must not hear, summed per that participant. */
  private readonly excluded = new Map<MixerParticipant, Int32Array>();
  private frames = 0;

  /** The participants, in the order they were added. */
  get participants(): readonly MixerParticipant[] {
    return this.members;
  }

  /** Frames mixed so far. */
  get framesMixed(): number {
    return this.frames;
  }

  /** Adds a participant; it hears the room from the next frame and is heard once its input has primed. */
  add(label: string): MixerParticipant {
    const p = new MixerParticipant(label);
    this.members.push(p);
    return p;
  }

  /** Removes a participant (no-op when it is not in the room). */
  remove(p: MixerParticipant): void {
    const i = this.members.indexOf(p);
    if (i >= 0) this.members.splice(i, 1);
    for (const s of this.sounds) if (s.except === p) s.except = null;
  }

  /**
   * Plays a sound to every participant (entry and exit tones), mixed over the voices, starting with the next frame.
   * @param pcm 8 kHz 16-bit samples; not copied, do not modify while it plays
   * @param except a participant who does not hear it (the one who just joined)
   */
  playToAll(pcm: Int16Array, except: MixerParticipant | null = null): void {
    if (pcm.length > 0) this.sounds.push({ pcm, pos: 0, except });
  }

  /**
   * Mixes one 20 ms frame: takes each participant's input, and writes into each `output` the sum of the others
   * (and the room's sounds), saturated. Cost: O(participants x 160).
   */
  mixFrame(): void {
    const sum = this.sum;
    const n = MIX_FRAME_SAMPLES;
    sum.fill(0);
    // Room sounds first: everyone hears them (but the one each may exclude).
    this.excluded.clear();
    for (let k = this.sounds.length - 1; k >= 0; k--) {
      const s = this.sounds[k];
      const m = Math.min(n, s.pcm.length - s.pos);
      for (let i = 0; i < m; i++) sum[i] += s.pcm[s.pos + i];
      if (s.except) {
        let ex = this.excluded.get(s.except);
        if (!ex) this.excluded.set(s.except, (ex = new Int32Array(n)));
        for (let i = 0; i < m; i++) ex[i] += s.pcm[s.pos + i];
      }
      s.pos += m;
      if (s.pos >= s.pcm.length) this.sounds.splice(k, 1);
    }
    // One pass to add whoever is heard.
    for (const p of this.members) {
      const had = p.take();
      p.heard = had && !p.muted;
      if (!p.heard) continue;
      p.countHeard();
      const x = p.input;
      for (let i = 0; i < n; i++) sum[i] += x[i];
    }
    // One pass to take each listener's own voice back out, saturating.
    for (const p of this.members) {
      const out = p.output;
      const ex = this.excluded.size > 0 ? this.excluded.get(p) : undefined;
      if (ex) {
        const x = p.input;
        const own = p.heard ? 1 : 0;
        for (let i = 0; i < n; i++) out[i] = saturate(sum[i] - own * x[i] - ex[i]);
      } else if (p.heard) {
        const x = p.input;
        for (let i = 0; i < n; i++) out[i] = saturate(sum[i] - x[i]);
      } else {
        for (let i = 0; i < n; i++) out[i] = saturate(sum[i]);
      }
    }
    this.frames++;
  }
}
