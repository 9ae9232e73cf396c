/**
 * Meeting state shared by all calls of one process: which meetings have started, who waits in each lobby, who is
 * in each meeting. A meeting starts when its organizer enters the leader PIN (or, with AllowPSTNOnlyMeetings, when a
 * caller starts it); lobby callers then join automatically (seed 003). It ends when the last caller leaves.
 */

type Waiter = () => void;

export class MeetingRooms {
  private readonly started = new Set<string>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly members = new Map<string, number>();

  /** Has this meeting started? */
  isStarted(conferenceId: string): boolean {
    return this.started.has(conferenceId);
  }

  /** Starts a meeting and releases its lobby. Idempotent. */
  start(conferenceId: string): void {
    this.started.add(conferenceId);
    const w = this.waiters.get(conferenceId);
    this.waiters.delete(conferenceId);
    w?.forEach((release) => release());
  }

  /**
   * Waits in the lobby until the meeting starts.
   * @returns resolves when it starts (at once when already started); rejects when `signal` aborts
   */
  waitForStart(conferenceId: string, signal?: AbortSignal): Promise<void> {
    if (this.started.has(conferenceId)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const set = this.waiters.get(conferenceId) ?? new Set<Waiter>();
      this.waiters.set(conferenceId, set);
      const release = () => resolve();
      set.add(release);
      signal?.addEventListener('abort', () => {
        set.delete(release);
        reject(new Error('stopped waiting in the lobby'));
      });
    });
  }

  /** How many callers wait in a meeting's lobby. */
  lobbySize(conferenceId: string): number {
    return this.waiters.get(conferenceId)?.size ?? 0;
  }

  /** A caller entered the meeting. */
  joined(conferenceId: string): void {
    this.members.set(conferenceId, (this.members.get(conferenceId) ?? 0) + 1);
  }

  /** A caller left; the meeting ends with the last one. */
  left(conferenceId: string): void {
    const n = (this.members.get(conferenceId) ?? 1) - 1;
    if (n > 0) this.members.set(conferenceId, n);
    else {
      this.members.delete(conferenceId);
      this.started.delete(conferenceId);
    }
  }
}
