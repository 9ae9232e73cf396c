/**
 * The conference bridge of real calls (issue 6): one {@link ConferenceMixer} per meeting room, fed with the decoded
 * RTP of each participant's {@link RtpSession} and mixed on the RTP engine's shared 20 ms tick (a tick listener that
 * runs before the sessions send: no timer per call or per room).
 *
 * - In: each participant's `audio` event (G.711 decoded by the packet's own payload type, gaps from lost packets as
 *   zeros) goes into its jitter buffer in the mixer.
 * - Out: the session's audio source ({@link RtpSession.setAudioSource}) copies the participant's mix each tick; the
 *   session encodes it in the participant's own codec (PCMU or PCMA, as its SDP agreed) and sends it, one packet per
 *   tick, silence included, for as long as the participant is in the room. A prompt played to one participant (the
 *   `*6` confirmation, a lobby notice) replaces the mix for that participant while it plays.
 * - Entry and exit tones go to everyone else in the room ({@link ConferenceBridge.playToAll}), mixed over the voices.
 * - Bridges are found by engine and room ({@link ConferenceBridge.forRoom}); a bridge stops listening to the tick and
 *   is forgotten when its last participant leaves. A participant whose session closes leaves.
 */
import type { MediaEngine } from './media-engine';
import { ConferenceMixer, type MixerParticipant } from './conference-mixer';
import type { RtpSession } from './rtp-session';

/** A participant of a {@link ConferenceBridge}, as its call channel holds it. */
export interface ConferenceMember {
  /** The room it is in. */
  readonly room: string;
  /** Is it muted (not heard by the others; it still hears them)? */
  readonly muted: boolean;
  /** Mutes or unmutes it; audio queued while it was talking is dropped, so nothing stale is heard on unmute. */
  setMuted(muted: boolean): void;
  /** Plays a sound to everyone else in the room (an entry tone when it has joined). */
  playToOthers(pcm: Int16Array, id: string): void;
  /** Leaves the room (idempotent): its session goes back to sending only prompts. */
  leave(): void;
}

/** Options of {@link ConferenceBridge.join}. */
export interface ConferenceJoinOptions {
  /** A label for statistics and logs (the call id). */
  label: string;
  /** Called when a room sound starts that this participant hears (its id, e.g. `tone:conf-join`). */
  onRoomSound?: (id: string) => void;
}

interface Member {
  session: RtpSession;
  participant: MixerParticipant;
  onRoomSound?: (id: string) => void;
  detach: () => void;
}

const bridges = new WeakMap<MediaEngine, Map<string, ConferenceBridge>>();

/** One meeting room's bridge on one RTP engine. See the module comment. */
export class ConferenceBridge {
  private readonly mixer = new ConferenceMixer();
  private readonly members = new Map<MixerParticipant, Member>();
  private removeTick: (() => void) | null = null;

  private constructor(
    private readonly engine: MediaEngine,
    /** The room: the meeting's conference ID. */
    readonly room: string,
  ) {}

  /**
   * The bridge of `room` on `engine`, created on first use.
   * @param engine the RTP engine of the participants' sessions (`session.engine`)
   * @param room the meeting's conference ID
   */
  static forRoom(engine: MediaEngine, room: string): ConferenceBridge {
    let rooms = bridges.get(engine);
    if (!rooms) {
      rooms = new Map();
      bridges.set(engine, rooms);
    }
    let bridge = rooms.get(room);
    if (!bridge) {
      bridge = new ConferenceBridge(engine, room);
      rooms.set(room, bridge);
    }
    return bridge;
  }

  /** The bridge of `room` on `engine` if someone is in it. */
  static find(engine: MediaEngine, room: string): ConferenceBridge | undefined {
    return bridges.get(engine)?.get(room);
  }

  /** How many participants are in the room. */
  get size(): number {
    return this.members.size;
  }

  /** Frames mixed, and per participant (by label) the frames in which it was heard and its queue drops. */
  stats(): { framesMixed: number; participants: { label: string; muted: boolean; framesHeard: number; droppedSamples: number }[] } {
    return {
      framesMixed: this.mixer.framesMixed,
      participants: this.mixer.participants.map((p) => ({ label: p.label, muted: p.muted, framesHeard: p.framesHeard, droppedSamples: p.dropped })),
    };
  }

  /**
   * Puts a call's RTP session into the room: it hears the others from the next tick and is heard once its audio
   * has primed the jitter buffer (40 ms).
   * @param session the participant's session (of this bridge's engine)
   * @returns its membership; leave with {@link ConferenceMember.leave} (closing the session leaves too)
   */
  join(session: RtpSession, options: ConferenceJoinOptions): ConferenceMember {
    const participant = this.mixer.add(options.label);
    const onAudio = (pcm: Int16Array) => participant.push(pcm);
    const onClose = () => leave();
    session.on('audio', onAudio);
    session.once('close', onClose);
    session.setAudioSource((frame) => {
      frame.set(participant.output);
      return true;
    });
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      this.members.delete(participant);
      this.mixer.remove(participant);
      session.off('audio', onAudio);
      session.off('close', onClose);
      session.setAudioSource(null);
      if (this.members.size === 0) this.dispose();
    };
    const member: Member = { session, participant, onRoomSound: options.onRoomSound, detach: leave };
    this.members.set(participant, member);
    if (!this.removeTick) this.removeTick = this.engine.addTickListener(() => this.mixer.mixFrame());
    return {
      room: this.room,
      get muted() {
        return participant.muted;
      },
      setMuted: (muted: boolean) => {
        if (participant.muted === muted) return;
        participant.muted = muted;
        participant.clearInput();
      },
      playToOthers: (pcm: Int16Array, id: string) => {
        if (!left) this.playToAll(pcm, id, participant);
      },
      leave,
    };
  }

  /**
   * Plays a sound to everyone in the room, mixed over the voices from the next tick (entry and exit tones).
   * @param pcm 8 kHz 16-bit samples (not copied); @param id what it is, for the participants' heard-logs
   * @param except a participant who does not hear it
   */
  playToAll(pcm: Int16Array, id: string, except: MixerParticipant | null = null): void {
    if (this.members.size === 0) return;
    this.mixer.playToAll(pcm, except);
    for (const m of [...this.members.values()]) if (m.participant !== except) m.onRoomSound?.(id);
  }

  private dispose(): void {
    this.removeTick?.();
    this.removeTick = null;
    const rooms = bridges.get(this.engine);
    if (rooms?.get(this.room) === this) rooms.delete(this.room);
  }
}
