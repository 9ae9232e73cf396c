/**
 * The simulator's conference rooms: what a meeting's bridge does, without audio (issue 6). Callers in the same room
 * hear each other's tones (`speak: {toneHz, seconds}` in a scenario) unless the speaker is muted; everyone else in
 * the room hears the entry and exit tones. The rules are the bridge's (`src/media/conference-bridge.ts`):
 * - a caller never hears itself; a muted caller is heard by nobody, and hears everyone;
 * - a tone is heard by whoever is in the room while it sounds: one who joins during it hears the rest of it; a
 *   speaker who mutes or leaves during it is no longer heard from that moment;
 * - the tones of entry and exit go to the others in the room (not to the one who joins or leaves).
 * One set of rooms per simulated clock (a scenario run): {@link SimConferenceRooms.of}.
 */
import type { Clock } from '../ports/clock';
import type { HeardTone } from './caller-side';

export type { HeardTone } from './caller-side';

/** A caller in a simulated room, as the room sees it. */
export interface SimConferenceMember {
  readonly callId: string;
  /** Starts hearing a tone (the record's `end` is moved earlier when it stops sooner). */
  hearTone(tone: HeardTone): void;
  /** A room sound (entry or exit tone) starts for this caller. */
  hearRoomSound(id: 'tone:conf-join' | 'tone:conf-leave'): void;
}

interface Voice {
  hz: number;
  end: number;
  /** What each listener is hearing of it. */
  heard: Map<SimConferenceMember, HeardTone>;
}

interface Seat {
  room: string;
  muted: boolean;
  tones: boolean;
  voice: Voice | null;
}

const byClock = new WeakMap<Clock, SimConferenceRooms>();

/** Every simulated room of one clock. */
export class SimConferenceRooms {
  private readonly seats = new Map<SimConferenceMember, Seat>();

  private constructor(private readonly clock: Clock) {}

  /** The rooms of a clock (one scenario run), created on first use. */
  static of(clock: Clock): SimConferenceRooms {
    let rooms = byClock.get(clock);
    if (!rooms) {
      rooms = new SimConferenceRooms(clock);
      byClock.set(clock, rooms);
    }
    return rooms;
  }

  /** Who is in `room`. */
  membersOf(room: string): SimConferenceMember[] {
    return [...this.seats].filter(([, s]) => s.room === room).map(([m]) => m);
  }

  /**
   * A caller enters `room` (leaving any other first); the others hear the entry tone when `tones`, and the caller
   * starts hearing whatever tone is sounding.
   */
  join(member: SimConferenceMember, room: string, tones: boolean): void {
    this.leave(member);
    const others = this.membersOf(room);
    this.seats.set(member, { room, muted: false, tones, voice: null });
    if (tones) for (const o of others) o.hearRoomSound('tone:conf-join');
    const now = this.clock.now();
    for (const o of others) {
      const seat = this.seats.get(o)!;
      if (seat.voice && !seat.muted && seat.voice.end > now) this.startHearing(o, seat.voice, member, now);
    }
  }

  /** A caller leaves its room (a no-op when it is in none): what it says and hears stops; the others hear the exit tone. */
  leave(member: SimConferenceMember): void {
    const seat = this.seats.get(member);
    if (!seat) return;
    const now = this.clock.now();
    this.silence(seat, now);
    for (const s of this.seats.values()) {
      const h = s.voice?.heard.get(member);
      if (h && h.end > now) h.end = now;
      s.voice?.heard.delete(member);
    }
    this.seats.delete(member);
    if (seat.tones) for (const o of this.membersOf(seat.room)) o.hearRoomSound('tone:conf-leave');
  }

  /** Mutes or unmutes a caller: a tone it is speaking stops being heard, or is heard again from now. */
  setMuted(member: SimConferenceMember, muted: boolean): void {
    const seat = this.seats.get(member);
    if (!seat || seat.muted === muted) return;
    seat.muted = muted;
    const now = this.clock.now();
    if (muted) this.silence(seat, now);
    else if (seat.voice && seat.voice.end > now) for (const o of this.membersOf(seat.room)) if (o !== member) this.startHearing(member, seat.voice, o, now);
  }

  /**
   * A caller speaks a tone of `hz` for `ms` from now: the others in its room hear it unless it is muted.
   * A no-op for a caller in no room.
   */
  speak(member: SimConferenceMember, hz: number, ms: number): void {
    const seat = this.seats.get(member);
    if (!seat) return;
    const now = this.clock.now();
    this.silence(seat, now);
    const voice: Voice = { hz, end: now + ms, heard: new Map() };
    seat.voice = voice;
    if (!seat.muted) for (const o of this.membersOf(seat.room)) if (o !== member) this.startHearing(member, voice, o, now);
  }

  private startHearing(speaker: SimConferenceMember, voice: Voice, listener: SimConferenceMember, now: number): void {
    const tone: HeardTone = { hz: voice.hz, at: now, end: voice.end, from: speaker.callId };
    voice.heard.set(listener, tone);
    listener.hearTone(tone);
  }

  /** What a speaker says stops being heard now. */
  private silence(seat: Seat, now: number): void {
    if (!seat.voice) return;
    for (const t of seat.voice.heard.values()) if (t.end > now) t.end = now;
    seat.voice.heard.clear();
  }
}
