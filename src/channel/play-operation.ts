/**
 * The play operation of an {@link IvrChannel}: the prompts start one after another, each at a known time. With
 * `bargeIn` (default) a digit stops the prompt and is kept as type-ahead; when type-ahead is already waiting, a
 * barge-in play is skipped entirely (the caller has answered already; the skip is logged, nothing is "heard").
 * Without `bargeIn` digits are kept as type-ahead and the prompts go on. `loop` starts again after the last prompt.
 * Abort -> `stopped`, the call ending -> `hangup`.
 */
import type { CancelSignal } from '../ports/call-channel';
import type { PlayRequest, PlayResult } from '../flow-kit/media-types';
import { type OperationHost, type Playback, startPlayback } from './operation';

/**
 * Plays prompts to the caller on `host`'s channel (the rules: see the module comment).
 * @returns how the play ended: `done`, `barge-in`, `stopped` (aborted) or `hangup`
 */
export async function runPlay(host: OperationHost, request: PlayRequest, signal?: CancelSignal): Promise<PlayResult> {
  const prompts = host.catalog.render(request.prompts, request.locale);
  const bargeIn = request.bargeIn ?? true;
  return host.begin<PlayResult>('play', signal, { reason: 'hangup' }, { reason: 'stopped' }, (op) => {
    if (bargeIn && host.typeAhead.length > 0 && prompts.length > 0) {
      host.log({ at: host.clock.now(), type: 'skipped', op: 'play', ids: prompts.map((p) => p.id) });
      op.finish({ reason: 'barge-in' });
      return;
    }
    let playback: Playback | null = null;
    op.onDigit = (d) => {
      host.typeAhead.push(d);
      if (bargeIn) {
        playback?.stop('barge-in');
        op.finish({ reason: 'barge-in' });
      }
    };
    op.onCallEnd = () => {
      playback?.stop('hangup');
      op.finish({ reason: 'hangup' });
    };
    op.onAbort = () => {
      playback?.stop('stopped');
      op.finish({ reason: 'stopped' });
    };
    playback = startPlayback(host, op, prompts, request.loop === true, () => op.finish({ reason: 'done' }));
  });
}
