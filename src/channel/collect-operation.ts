/**
 * The collect operation of an {@link IvrChannel}: `flush` empties the type-ahead buffer first. The prompts play
 * (skipped when type-ahead is waiting; a digit stops them). Then the buffered digits are taken one at a time: a
 * terminator ends with `terminator` (not included in `digits`), otherwise the digit is appended and `max` digits end
 * with `max`; digits after the end stay buffered for the next operation. Then the clock runs: `firstDigitTimeoutMs`
 * from the end of the prompts while nothing is collected, `interDigitTimeoutMs` from the last digit afterwards;
 * expiry -> `timeout`. Abort -> `timeout` with the digits so far; the call ending -> `hangup` with the digits so far.
 * While a `secret` collect (a PIN) is pending the channel says so, and transcripts mask what the caller presses.
 */
import type { CancelSignal } from '../ports/call-channel';
import type { TimerHandle } from '../ports/clock';
import type { CollectRequest, CollectResult } from '../flow-kit/media-types';
import { type OperationHost, type Playback, startPlayback } from './operation';

/** What the collect operation needs of its channel beyond {@link OperationHost}. */
export interface CollectHost extends OperationHost {
  /** Is the IVR collecting a secret (a PIN) right now? */
  secretCollect: boolean;
}

/**
 * Plays optional prompts on `host`'s channel, then collects digits (the rules: see the module comment).
 * @returns the digits (terminator excluded) and why the collect ended: `terminator`, `max`, `timeout` or `hangup`
 */
export async function runCollect(host: CollectHost, request: CollectRequest, signal?: CancelSignal): Promise<CollectResult> {
  const prompts = host.catalog.render(request.prompts, request.locale);
  if (request.flush) host.typeAhead = [];
  const terminators = request.terminators ?? '';
  let digits = '';
  host.secretCollect = request.secret === true;
  const result = await host.begin<CollectResult>(
    'collect',
    signal,
    { digits: '', reason: 'hangup' },
    { digits: '', reason: 'timeout' },
    (op) => {
      let phase: 'prompts' | 'digits' = 'prompts';
      let playback: Playback | null = null;
      let timer: TimerHandle | undefined;
      /** Takes one digit; true when that ended the collect. */
      const take = (d: string): boolean => {
        if (terminators.includes(d)) {
          op.finish({ digits, reason: 'terminator', terminator: d });
          return true;
        }
        digits += d;
        if (request.max > 0 && digits.length >= request.max) {
          op.finish({ digits, reason: 'max' });
          return true;
        }
        return false;
      };
      const arm = () => {
        op.cancel(timer);
        timer = op.timer(() => op.finish({ digits, reason: 'timeout' }), digits === '' ? request.firstDigitTimeoutMs : request.interDigitTimeoutMs);
      };
      const startDigits = () => {
        phase = 'digits';
        while (host.typeAhead.length > 0) if (take(host.typeAhead.shift()!)) return;
        arm();
      };
      op.onDigit = (d) => {
        if (phase === 'prompts') {
          playback?.stop('barge-in');
          host.typeAhead.push(d);
          startDigits();
        } else if (!take(d)) arm();
      };
      op.onCallEnd = () => {
        playback?.stop('hangup');
        op.finish({ digits, reason: 'hangup' });
      };
      op.onAbort = () => {
        playback?.stop('stopped');
        op.finish({ digits, reason: 'timeout' });
      };
      if (prompts.length > 0 && host.typeAhead.length > 0) {
        host.log({ at: host.clock.now(), type: 'skipped', op: 'collect', ids: prompts.map((p) => p.id) });
        startDigits();
      } else if (prompts.length > 0) {
        playback = startPlayback(host, op, prompts, false, startDigits);
      } else {
        startDigits();
      }
    },
  );
  host.secretCollect = false;
  host.log({ at: host.clock.now(), type: 'collected', result, secret: request.secret === true });
  return result;
}
