/**
 * The scripted caller: plays one call's `steps:` as the caller, against a {@link CallerSide} (the in-process
 * `SimCallChannel` on the virtual clock, or the network runner's `NetCaller` over SIP and RTP in real time).
 * The step semantics (README, "What each step does (exactly)") are written once, here, for both runners; see
 * {@link runSteps}. Failures are added to the call's `failures` and said in its transcript; keys pressed while the
 * IVR collects a PIN are masked.
 */
import { sameTone } from '../media/conference-tones';
import type { CallerSide } from './caller-side';
import { describeSignal } from './dtmf-faults';
import { formatDuration, type ScenarioCall, type Step } from './scenario';
import { formatClock, idOf } from './transcript';

/** Options of {@link runSteps}. */
export interface StepOptions {
  /**
   * `wait` steps longer than this wait this long only, and the transcript says so (the network runner caps waits,
   * see `net/README`); no cap when undefined.
   */
  maxWaitMs?: number;
  /**
   * Told when each step that ran is over (the load runner's aggregates): the step, its index (from 0), how long it
   * took on the scenario clock (ms) and, when it failed, why. Steps skipped after a failure are not told.
   */
  onStep?: (outcome: StepOutcome) => void;
}

/**
 * Why a step failed, as a stable code (load reports count failures by it):
 * - `prompt-not-heard`: an `expectPrompt` heard no prompt at all within its bound;
 * - `wrong-prompt`: an `expectPrompt` heard other prompts, not the expected one, within its bound;
 * - `unexpected-hangup`: the IVR ended (or refused) the call before the step could pass;
 * - `caller-hung-up`: the call had ended on the caller's side (an `expectHangup` that saw the caller hang up);
 * - `recording-not-started`, `no-hangup`, `tone-not-heard`, `unexpected-tone`: the other steps' bounds.
 */
export type StepFailureReason =
  | 'prompt-not-heard'
  | 'wrong-prompt'
  | 'unexpected-hangup'
  | 'caller-hung-up'
  | 'recording-not-started'
  | 'not-in-meeting'
  | 'no-hangup'
  | 'tone-not-heard'
  | 'unexpected-tone';

/** What {@link StepOptions.onStep} is told about a step that ran. */
export interface StepOutcome {
  /** The step's position in the call's `steps`, from 0. */
  index: number;
  step: Step;
  /** How long the step took, ms on the scenario clock (real time over the network). */
  ms: number;
  /** Why it failed; undefined when it passed. */
  failure?: StepFailureReason;
}

/**
 * Runs a call's steps as the caller (exact semantics, as the README documents them):
 * - `expectPrompt`: passes when a prompt with that id starts after the previously matched prompt (one that started
 *   before this step counts); waits up to `within` (default 60 s) otherwise. Fails at once when the call ends.
 * - `dtmf`: presses the keys, the first at once and the next `gap` apart (default 150 ms); the step takes
 *   (n - 1) x gap, and with signal options or a fault until the last key's packets, sound or requests are sent.
 *   Fails when the call has ended before every key was pressed.
 * - `wait`: lets the duration pass (less when the call ends meanwhile). Never fails.
 * - `speak`: the caller talks for the duration (what a recording picks up); the step takes that long. Fails when
 *   the call has ended.
 * - `hangup`: the caller hangs up. Fails when the call has already ended.
 * - `expectRecording`: passes when the IVR starts recording (after its prompts and beep), counting recordings not
 *   yet matched (one that started before this step counts); waits up to `within` (default 60 s). Prompts heard
 *   before that point can no longer be matched by a later `expectPrompt`.
 * - `expectHangup`: waits up to `within` (default 60 s) for the IVR to end the call.
 * - `speak: {toneHz}`: the caller sends a pure tone instead (in a meeting the others hear it unless muted).
 * - `expectTone`: passes when the caller hears a tone of `hz` (±2 %) at any moment from the step's start (one
 *   already sounding counts); waits up to `within` (60 s). Fails at once when the call ends.
 * - `expectNoTone`: the step takes `for`; fails when a tone of `hz` was heard at any moment during it, or the call
 *   ended before it was over.
 * After the first failing step the rest are skipped. When the steps end and the call is still up, the caller hangs up.
 * The steps run against a {@link CallerSide}: the in-process `SimCallChannel` or the network caller.
 */
export async function runSteps(
  call: { spec: ScenarioCall; failures: string[] },
  ch: CallerSide,
  start: number,
  options: StepOptions = {},
): Promise<void> {
  const say = (who: 'caller' | 'sim', text: string) => ch.annotate(who, text);
  const ended = () => (ch.endedBy === 'ivr' ? `the IVR hung up at ${formatClock(ch.endedAt! - start)}` : `the caller hung up at ${formatClock(ch.endedAt! - start)}`);
  /** Next heard-log index an expectPrompt may match. */
  let cursor = 0;
  /** Recordings already matched by expectRecording. */
  let recordings = 0;
  const heardSince = (from: number) => {
    const ids = ch.heard.slice(from).map(idOf);
    return ids.length > 0 ? `heard instead: ${ids.join(', ')}` : 'heard nothing';
  };

  const steps = call.spec.steps;
  // Over the network only the frequencies listened for are found: listen for every tone the steps name, from the start.
  const toneHzs = steps.flatMap((s) => (s.kind === 'expectTone' || s.kind === 'expectNoTone' ? [s.hz] : []));
  if (toneHzs.length > 0) ch.watchTones?.(toneHzs);
  for (let i = 0; i < steps.length; i++) {
    const step: Step = steps[i];
    const stepStart = ch.now();
    let reason: StepFailureReason | undefined;
    const endReason = (): StepFailureReason => (ch.endedBy === 'caller' ? 'caller-hung-up' : 'unexpected-hangup');
    const fail = (why: string, r: StepFailureReason = endReason()) => {
      reason = r;
      const msg = `call ${call.spec.id}, step ${i + 1} (${step.label}): ${why}`;
      call.failures.push(msg);
      say('sim', `FAILED step ${i + 1} (${step.label}): ${why}`);
    };
    let ok = true;
    switch (step.kind) {
      case 'expectPrompt': {
        const r = await ch.waitForPrompt(step.id, cursor, step.withinMs);
        if (r === 'timeout') {
          fail(`not heard within ${formatDuration(step.withinMs)}; ${heardSince(cursor)}`, ch.heard.length > cursor ? 'wrong-prompt' : 'prompt-not-heard');
          ok = false;
        } else if (r === 'ended') {
          fail(`not heard: the call ended (${ended()}); ${heardSince(cursor)}`);
          ok = false;
        } else {
          cursor = r.index + 1;
          // The right prompt in another language (a dial plan's or a mailbox's locale, a fallback) is a wrong prompt.
          if (step.locale && r.locale !== undefined && r.locale !== step.locale && !step.id.startsWith('tone:')) {
            fail(`heard in ${r.locale}, expected ${step.locale}`, 'wrong-prompt');
            ok = false;
          }
        }
        break;
      }
      case 'dtmf': {
        if (ch.ended) {
          fail(`the call had already ended (${ended()})`);
          ok = false;
          break;
        }
        // Keys pressed while the IVR collects a PIN are masked, terminators kept: transcripts never show a PIN.
        const shown = ch.collectingSecret ? step.digits.replace(/[0-9A-D]/g, '*') : step.digits;
        const how = describeSignal(step.via ?? 'rfc4733', step.signal);
        say('caller', `presses ${shown}${step.digits.length > 1 ? ` (${formatDuration(step.gapMs)} apart)` : ''}${how}`);
        const sent = await ch.pressDigits(step.digits, step.gapMs, step.via, step.signal);
        if (sent < step.digits.length) {
          fail(`only ${sent} of ${step.digits.length} keys were pressed: ${ended()}`);
          ok = false;
        }
        break;
      }
      case 'wait': {
        const cap = options.maxWaitMs;
        if (cap !== undefined && step.ms > cap) {
          say('sim', `waits ${formatDuration(cap)} instead of ${formatDuration(step.ms)} (the longest wait of this run)`);
          await ch.sleepWhileUp(cap);
        } else await ch.sleepWhileUp(step.ms);
        break;
      }
      case 'speak':
        if (ch.ended) {
          fail(`the call had already ended (${ended()})`);
          ok = false;
          break;
        }
        if (step.toneHz !== undefined) await ch.speakTone(step.toneHz, step.ms);
        else await ch.speak(step.ms);
        break;
      case 'expectTone': {
        const r = await ch.waitForTone(step.hz, ch.now(), step.withinMs);
        if (r === 'timeout') {
          fail(`no ${step.hz} Hz tone heard within ${formatDuration(step.withinMs)}${tonesHeard(ch)}`, 'tone-not-heard');
          ok = false;
        } else if (r === 'ended') {
          fail(`no ${step.hz} Hz tone heard: the call ended (${ended()})${tonesHeard(ch)}`);
          ok = false;
        }
        break;
      }
      case 'expectNoTone': {
        const from = ch.now();
        await ch.sleepWhileUp(step.forMs);
        const to = ch.now();
        const heard = ch.heardTones.find((t) => sameTone(t.hz, step.hz) && t.at <= to && t.end > from);
        if (heard) {
          fail(`a ${step.hz} Hz tone was heard at ${formatClock(Math.max(heard.at, from) - start)}${heard.from ? ` (from ${heard.from})` : ''}`, 'unexpected-tone');
          ok = false;
        } else if (ch.ended && (ch.endedAt ?? to) < from + step.forMs) {
          fail(`the call ended before the ${formatDuration(step.forMs)} were over (${ended()})`);
          ok = false;
        }
        break;
      }
      case 'hangup':
        if (ch.ended) {
          fail(`the call had already ended (${ended()})`);
          ok = false;
        } else ch.callerHangup();
        break;
      case 'expectRecording': {
        const r = await ch.waitForRecording(recordings, step.withinMs);
        if (r === 'timeout') {
          fail(`the IVR did not start recording within ${formatDuration(step.withinMs)}; ${heardSince(cursor)}`, 'recording-not-started');
          ok = false;
        } else if (r === 'ended') {
          fail(`the IVR did not start recording: the call ended (${ended()}); ${heardSince(cursor)}`);
          ok = false;
        } else {
          recordings += 1;
          cursor = Math.max(cursor, ch.heardIndexAtRecording(recordings - 1));
        }
        break;
      }
      case 'expectInMeeting': {
        const r = await ch.waitForMeeting(step.withinMs);
        if (r === 'timeout') {
          fail(`the caller was not in the meeting within ${formatDuration(step.withinMs)}; ${heardSince(cursor)}`, 'not-in-meeting');
          ok = false;
        } else if (r === 'ended') {
          fail(`the caller was not in the meeting: the call ended (${ended()}); ${heardSince(cursor)}`);
          ok = false;
        }
        break;
      }
      case 'expectHangup': {
        const r = await ch.waitForEnd(step.withinMs);
        if (r === 'timeout') {
          fail(`the IVR did not hang up within ${formatDuration(step.withinMs)}; ${heardSince(cursor)}`, 'no-hangup');
          ok = false;
        } else if (r === 'caller') {
          fail(`the caller hung up, not the IVR (${ended()})`, 'caller-hung-up');
          ok = false;
        }
        break;
      }
    }
    options.onStep?.({ index: i, step, ms: Math.max(0, ch.now() - stepStart), ...(reason ? { failure: reason } : {}) });
    if (!ok) {
      if (!ch.ended) {
        say('sim', 'the script stops after the failure: the caller hangs up');
        ch.callerHangup();
      }
      return;
    }
  }
  if (!ch.ended) {
    say('sim', 'end of the steps: the caller hangs up');
    ch.callerHangup();
  }
}

/** `; tones heard: 1000 Hz at 0:12.340, ...` for failure messages (empty when none). */
function tonesHeard(ch: CallerSide): string {
  if (ch.heardTones.length === 0) return '; no tone heard';
  return `; tones heard: ${ch.heardTones.map((t) => `${t.hz} Hz`).join(', ')}`;
}
