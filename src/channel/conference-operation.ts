/**
 * The conference operation of an {@link IvrChannel}: the caller is in a meeting room until the call ends (`hangup`)
 * or the flow stops it (`stopped`); the channel's bridge mixes the audio ({@link IvrChannel.conferenceEnter}). The
 * in-meeting commands of Skype for Business dial-in ([SFB-DTMF]): `*6` mutes and unmutes, an organizer's `*8` admits
 * the lobby; the prompts those answer with, and the lobby notices, are heard by this caller alone, instead of the
 * meeting, while they play.
 */
import type { CancelSignal } from '../ports/call-channel';
import type { TimerHandle } from '../ports/clock';
import type { Locale } from '../domain/locale';
import type { ConferenceOptions, ConferenceResult, ConferenceRole, PromptItem } from '../flow-kit/media-types';
import { PromptCatalog } from '../prompts/catalog';
import { type OperationHost, type Playback, startPlayback } from './operation';

/** In a meeting, how long after `*` the command key may come, ms (then the `*` is forgotten). */
export const CONFERENCE_COMMAND_MS = 3000;

/** What the conference operation needs of its channel beyond {@link OperationHost}: its bridge hooks. */
export interface ConferenceHost extends OperationHost {
  /** The channel's hooks: see {@link IvrChannel.conferenceEnter} and the others of the same names. */
  conferenceEnter(room: string, role: ConferenceRole, opts: { entryExitTones: boolean; locale: Locale }): void;
  conferenceLeave(): void;
  conferenceMute(muted: boolean): void;
  /** While a prompt to this caller alone plays in the meeting: when it ends, clock ms since the epoch (0: none). */
  conferencePromptUntil: number;
}

/**
 * Joins a conference room on `host`'s channel; resolves `hangup` when the call ends, `stopped` on abort. Digits are
 * not kept. In-meeting commands (`*` then the key within {@link CONFERENCE_COMMAND_MS}):
 * - `*6` mutes, and again unmutes, the caller (`conf-muted` / `conf-unmuted` is played to the caller alone);
 * - `*8` (organizers: `options.admitLobby`) admits everyone in the lobby (`conf-lobby-admitted`, or
 *   `conf-lobby-empty` when nobody waits); from a participant it is not a valid choice (`invalid-choice`);
 * - any other key after `*` is not a valid choice; keys without `*` are ignored.
 * With `options.onLobbyArrival` the caller hears `conf-lobby-waiting` when someone starts waiting in the lobby.
 * A prompt to the caller stops the one still playing.
 */
export async function runConference(
  host: ConferenceHost,
  room: string,
  role: ConferenceRole,
  signal?: CancelSignal,
  options: ConferenceOptions = {},
): Promise<ConferenceResult> {
  return host.begin<ConferenceResult>('conference', signal, { reason: 'hangup' }, { reason: 'stopped' }, (op) => {
    host.log({ at: host.clock.now(), type: 'conference', room, role });
    const locale = options.locale ?? 'en-US';
    let muted = false;
    let star = false;
    let starTimer: TimerHandle | undefined;
    let notice: Playback | null = null;
    const say = (ids: PromptItem[]) => {
      notice?.stop('stopped');
      const prompts = host.catalog.render(ids, locale);
      host.conferencePromptUntil = host.clock.now() + PromptCatalog.durationOf(prompts);
      const pb = startPlayback(host, op, prompts, false, () => {
        if (notice === pb) notice = null;
      });
      notice = pb;
    };
    op.cleanups.push(() => {
      notice?.stop('stopped');
      host.conferencePromptUntil = 0;
    });
    op.onDigit = (d) => {
      if (d === '*') {
        star = true;
        op.cancel(starTimer);
        starTimer = op.timer(() => (star = false), CONFERENCE_COMMAND_MS);
        return;
      }
      if (!star) return;
      star = false;
      op.cancel(starTimer);
      if (d === '6') {
        muted = !muted;
        host.conferenceMute(muted);
        host.log({ at: host.clock.now(), type: 'note', text: muted ? 'muted (*6)' : 'unmuted (*6)', who: 'flow' });
        say([muted ? 'conf-muted' : 'conf-unmuted']);
      } else if (d === '8' && options.admitLobby) {
        const n = options.admitLobby();
        host.log({ at: host.clock.now(), type: 'note', text: `admits the lobby (*8): ${n} caller${n === 1 ? '' : 's'}`, who: 'flow' });
        say([n > 0 ? 'conf-lobby-admitted' : 'conf-lobby-empty']);
      } else say(['invalid-choice']);
    };
    op.cleanups.push(() => host.conferenceLeave());
    op.onCallEnd = () => op.finish({ reason: 'hangup' });
    op.onAbort = () => op.finish({ reason: 'stopped' });
    // In the room first: a lobby notice that fires at once is then a prompt to a member (heard instead of the mix).
    host.conferenceEnter(room, role, { entryExitTones: options.entryExitTones ?? true, locale });
    const stopNotices = options.onLobbyArrival?.(() => say(['conf-lobby-waiting']));
    if (stopNotices) op.cleanups.push(stopNotices);
  });
}
