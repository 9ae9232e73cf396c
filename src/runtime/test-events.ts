/**
 * Prompt, digits and state events for SIP test tools (issue 22, "Prompt and state events for any test tool"): a caller
 * whose INVITE asked for them (`X-VA-Test-Events`, parsed by the signalling adapter into
 * {@link TestEventsRequest}) and whose address is on the directory's `testing.eventsAllowedFrom` gets one in-dialog
 * SIP INFO (RFC 6086) per event, `Content-Type: application/vnd.voice-access.event+json`, with a JSON body of
 * `domain/test-events.ts`:
 * - `prompts`: each prompt that starts (from the channel's optional `onPromptStart`), with the digits the flow accepted
 *   for non-secret inputs since the previous prompt event, or `"secret": true` (and never digits) for a PIN prompt;
 * - `digits`: each input a collect ended with (`onCollected`), `"secret": true` without digits for a PIN;
 * - `states`: each flow state entered (`flow-states.ts`).
 *
 * The INFOs go out in order, one at a time: the next waits for the final response to the one before, or for
 * {@link TestEventsOptions.responseTimeoutMs} of the runtime's clock. After {@link TestEventsOptions.maxFailures}
 * INFOs in a row without a 2xx (no answer in time, an error response, no dialog) no more are sent for the call. Nothing
 * here is awaited by the flow or the media: the observers only queue. A caller not on the allow-list gets the call as
 * usual and no events (one info line with its address). A PIN is never sent nor logged: the channel does not even
 * report a secret input's digits.
 */
import type { AnyActorRef } from 'xstate';
import type { Logger } from 'pino';
import type { AddressList } from '../domain/address-list';
import { flowPosition, TEST_EVENT_CONTENT_TYPE, type FlowPosition, type TestEvent } from '../domain/test-events';
import type { CallChannel, TestEventsRequest } from '../ports/call-channel';
import type { Clock } from '../ports/clock';
import { currentFlowState, observeFlowStates } from './flow-states';

/** What {@link startTestEvents} needs besides the call. */
export interface TestEventsOptions {
  /** The directory's `testing.eventsAllowedFrom`, parsed. */
  allowed: AddressList;
  /** The runtime's clock (the INFO response timeout runs on it). */
  clock: Clock;
  /** The call's logger. */
  log: Logger;
  /** How long an INFO may wait for its final response before the next event goes, ms. Default 2000. */
  responseTimeoutMs?: number;
  /** INFOs in a row without a 2xx after which the call gets no more events. Default 3. */
  maxFailures?: number;
  /** Most events waiting to be sent; later ones are dropped (one log line at the first). Default 500. */
  maxQueued?: number;
}

/** An event before its sequence number is added. */
type Unnumbered = TestEvent extends infer E ? (E extends TestEvent ? Omit<E, 'seq'> : never) : never;

/**
 * The JSON body of one event: keys in the order of the examples (`event`, `prompt`, `locale`, `flow`,
 * `state`, then the rest and `seq`), characters beyond ASCII escaped (the body's length is its byte count).
 */
export function eventBody(e: TestEvent): string {
  return JSON.stringify(e).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Sends one call's events, in order, one INFO at a time. */
class EventSender {
  private readonly queue: TestEvent[] = [];
  private seq = 0;
  private sending = false;
  private stopped = false;
  private failures = 0;
  private dropped = 0;

  constructor(
    private readonly request: TestEventsRequest,
    private readonly channel: CallChannel,
    private readonly opts: Required<Pick<TestEventsOptions, 'responseTimeoutMs' | 'maxFailures' | 'maxQueued'>> & Pick<TestEventsOptions, 'clock' | 'log'>,
  ) {}

  /** Numbers `e` and queues it (dropped once the call has ended or events were stopped). */
  push(e: Unnumbered): void {
    if (this.stopped || this.channel.ended) return;
    if (this.queue.length >= this.opts.maxQueued) {
      if (this.dropped++ === 0) this.opts.log.info({ waiting: this.queue.length }, 'test events dropped: too many waiting (the caller answers too slowly)');
      return;
    }
    this.queue.push({ ...e, seq: ++this.seq } as TestEvent);
    if (!this.sending) void this.pump();
  }

  private async pump(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0 && !this.stopped && !this.channel.ended) {
        const e = this.queue.shift()!;
        const status = await this.send(eventBody(e));
        if (status !== null && status >= 200 && status < 300) {
          this.failures = 0;
          continue;
        }
        this.failures++;
        if (this.failures >= this.opts.maxFailures) {
          this.stopped = true;
          this.opts.log.info(
            { failures: this.failures, lastStatus: status, notSent: this.queue.length },
            'test events stopped: the caller answered none of the last INFOs with 2xx in time',
          );
          this.queue.length = 0;
        }
      }
    } finally {
      this.sending = false;
    }
  }

  /** One INFO; resolves with its final status, or null when none came within the timeout (never rejects). */
  private send(body: string): Promise<number | null> {
    const { clock, responseTimeoutMs } = this.opts;
    return new Promise<number | null>((resolve) => {
      let done = false;
      const finish = (status: number | null) => {
        if (done) return;
        done = true;
        clock.clearTimeout(timer);
        resolve(status);
      };
      const timer = clock.setTimeout(() => finish(null), responseTimeoutMs);
      let sent: Promise<number | null>;
      try {
        sent = this.request.sendInfo(TEST_EVENT_CONTENT_TYPE, body);
      } catch {
        sent = Promise.resolve(null);
      }
      sent.then(finish, () => finish(null));
    });
  }
}

/**
 * Starts the test events of one call, if it asked for them and may have them (see the module comment). Call it
 * before the flow starts (its first state and prompt are events too).
 * @param request what the INVITE asked for (`IncomingCall.testEvents`)
 * @param channel the call's channel: its optional `onPromptStart` / `onCollected` observers are used
 * @param root the call's root flow actor: its states (and its child flows') are observed
 * @returns true when the caller gets events, false when they were refused (not on the allow-list)
 */
export function startTestEvents(request: TestEventsRequest, channel: CallChannel, root: AnyActorRef, opts: TestEventsOptions): boolean {
  const { kinds, sourceIp } = request;
  if (!opts.allowed.matches(sourceIp)) {
    opts.log.info({ address: sourceIp, asked: kinds }, 'test events refused: the address is not in testing.eventsAllowedFrom');
    return false;
  }
  opts.log.info({ address: sourceIp, kinds }, 'test events on');
  const sender = new EventSender(request, channel, {
    clock: opts.clock,
    log: opts.log,
    responseTimeoutMs: opts.responseTimeoutMs ?? 2000,
    maxFailures: opts.maxFailures ?? 3,
    maxQueued: opts.maxQueued ?? 500,
  });
  const where = (): FlowPosition => flowPosition(currentFlowState(root));
  // The observers run inside the channel's media and the flow's steps: a fault here is logged, never thrown there.
  const safely =
    <A extends unknown[]>(what: string, fn: (...args: A) => void) =>
    (...args: A): void => {
      try {
        fn(...args);
      } catch (err) {
        opts.log.warn({ err }, `test events: the ${what} observer failed`);
      }
    };
  const prompts = kinds.includes('prompts');
  const digits = kinds.includes('digits');
  /** Digits the flow accepted for non-secret inputs since the last prompt event. */
  let accepted = '';
  // Prompt and digits events are queued a microtask after they happen, state events at once: a prompt starts inside
  // the step that enters its state, before the flow's snapshot (and the state event) says so, so its state is read
  // once that step is over and the state event comes first; a collect's result comes before the step it causes (the
  // flow gets it a microtask later), and deferring it the same way keeps prompts and digits in the order they came.
  const later = (what: string, fn: () => void) => queueMicrotask(safely(what, fn));
  if (prompts || digits) {
    channel.onCollected?.(
      safely('collect', (input) => {
        if (!input.secret) accepted += input.digits;
        if (!digits) return;
        later('collect', () => {
          const at = where();
          if (input.secret) sender.push({ event: 'digits', reason: input.reason, flow: at.flow, state: at.state, secret: true });
          else
            sender.push({
              event: 'digits',
              digits: input.digits,
              reason: input.reason,
              ...(input.terminator !== undefined ? { terminator: input.terminator } : {}),
              flow: at.flow,
              state: at.state,
            });
        });
      }),
    );
  }
  if (prompts) {
    channel.onPromptStart?.(
      safely('prompt', (p) => {
        const said = p.secret ? '' : accepted;
        accepted = '';
        later('prompt', () => {
          const at = where();
          const base = { event: 'prompt' as const, prompt: p.id, locale: p.locale, flow: at.flow, state: at.state };
          sender.push(p.secret ? { ...base, secret: true } : said ? { ...base, digits: said } : base);
        });
      }),
    );
  }
  if (kinds.includes('states')) observeFlowStates(root, safely('state', (s: string) => sender.push({ event: 'state', ...flowPosition(s) })));
  return true;
}
