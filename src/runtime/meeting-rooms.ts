/**
 * Meeting state shared by all calls of one process: which meetings have started, who waits in each lobby, how many
 * callers are in each meeting (seed 003, telephony-facts.md §1.3, §2.8).
 *
 * - A meeting starts when its organizer enters the leader PIN (or, with AllowPSTNOnlyMeetings, when a caller starts
 *   it). With automatic admission (the seed's behaviour) starting it lets the lobby in; with organizer admission the
 *   lobby waits for an organizer's `*8` ({@link MeetingRooms.admitLobby}).
 * - The meeting goes on when the organizer leaves and ends when the last caller leaves: it must be started again
 *   (and callers who arrive meanwhile wait in the lobby).
 * The audio of a meeting is the call channels' business (a conference bridge per room); this class only decides who
 * may enter.
 */
import { metrics } from '../metrics';
import type { CancelSignal } from '../ports/call-channel';

/** What a caller in the lobby waits for. */
export type LobbyRelease = 'start' | 'admitted';

interface Waiter {
  until: LobbyRelease;
  release: () => void;
}

export class MeetingRooms {
  private readonly started = new Set<string>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly members = new Map<string, number>();
  private readonly arrivalListeners = new Map<string, Set<(waiting: number) => void>>();

  /** Has this meeting started (and not ended since)? */
  isStarted(conferenceId: string): boolean {
    return this.started.has(conferenceId);
  }

  /**
   * Starts a meeting. Idempotent.
   * @param admitLobby let in the callers waiting for the start (automatic admission, seed 003); callers waiting to be
   *   admitted by the organizer stay
   */
  start(conferenceId: string, admitLobby = true): void {
    this.started.add(conferenceId);
    if (admitLobby) this.release(conferenceId, (w) => w.until === 'start');
  }

  /**
   * Lets everyone waiting in a meeting's lobby in (the organizer's `*8`, Skype for Business AdmitAll [SFB-DTMF]).
   * @returns how many callers were admitted
   */
  admitLobby(conferenceId: string): number {
    return this.release(conferenceId, () => true);
  }

  /**
   * Waits in the lobby.
   * @param until `'start'`: until the meeting starts (resolves at once when it has); `'admitted'`: until an organizer
   *   admits the lobby ({@link MeetingRooms.admitLobby}), whether or not it has started
   * @returns resolves when the caller may enter; rejects when `signal` aborts (the caller left the lobby)
   */
  waitForStart(conferenceId: string, signal?: CancelSignal, until: LobbyRelease = 'start'): Promise<void> {
    if (until === 'start' && this.started.has(conferenceId)) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(new Error('stopped waiting in the lobby'));
    return new Promise((resolve, reject) => {
      const set = this.waiters.get(conferenceId) ?? new Set<Waiter>();
      this.waiters.set(conferenceId, set);
      const onAbort = () => {
        set.delete(waiter);
        metrics.conferenceLobby.dec();
        if (set.size === 0 && this.waiters.get(conferenceId) === set) this.waiters.delete(conferenceId);
        reject(new Error('stopped waiting in the lobby'));
      };
      const waiter: Waiter = {
        until,
        release: () => {
          metrics.conferenceLobby.dec();
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      set.add(waiter);
      metrics.conferenceLobby.inc();
      signal?.addEventListener('abort', onAbort, { once: true });
      const waiting = set.size;
      for (const l of [...(this.arrivalListeners.get(conferenceId) ?? [])]) l(waiting);
    });
  }

  /**
   * Calls `listener` with the lobby's size whenever a caller starts waiting in it (an organizer in the meeting is
   * told, when the organizer admits the lobby).
   * @returns a function that removes the listener
   */
  onLobbyArrival(conferenceId: string, listener: (waiting: number) => void): () => void {
    const set = this.arrivalListeners.get(conferenceId) ?? new Set();
    this.arrivalListeners.set(conferenceId, set);
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.arrivalListeners.get(conferenceId) === set) this.arrivalListeners.delete(conferenceId);
    };
  }

  /** How many callers wait in a meeting's lobby. */
  lobbySize(conferenceId: string): number {
    return this.waiters.get(conferenceId)?.size ?? 0;
  }

  /** How many callers are in the meeting. */
  memberCount(conferenceId: string): number {
    return this.members.get(conferenceId) ?? 0;
  }

  /** A caller entered the meeting (which is then in progress, whoever started it). */
  joined(conferenceId: string): void {
    this.members.set(conferenceId, (this.members.get(conferenceId) ?? 0) + 1);
    this.started.add(conferenceId);
    metrics.conferenceParticipants.inc();
  }

  /**
   * Ends a started meeting that nobody is in: the caller who started it hung up before entering it (during
   * "you are now joining"), and nobody else has come in. A no-op when someone is in it.
   */
  endIfEmpty(conferenceId: string): void {
    if ((this.members.get(conferenceId) ?? 0) === 0) this.started.delete(conferenceId);
  }

  /** A caller left; the meeting ends with the last one (the organizer leaving does not end it). */
  left(conferenceId: string): void {
    metrics.conferenceParticipants.dec();
    const n = (this.members.get(conferenceId) ?? 1) - 1;
    if (n > 0) this.members.set(conferenceId, n);
    else {
      this.members.delete(conferenceId);
      this.started.delete(conferenceId);
    }
  }

  private release(conferenceId: string, which: (w: Waiter) => boolean): number {
    const set = this.waiters.get(conferenceId);
    if (!set) return 0;
    const out = [...set].filter(which);
    for (const w of out) set.delete(w);
    if (set.size === 0) this.waiters.delete(conferenceId);
    for (const w of out) w.release();
    return out.length;
  }
}
