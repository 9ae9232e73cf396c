/**
 * Issue 22: how the runtime sends a call's test events (`runtime/test-events.ts`), on a virtual clock with a fake
 * channel and a fake INFO sender: one INFO at a time, in order; an unanswered INFO lets the next one go after the
 * response timeout; after 3 INFOs in a row without a 2xx nothing more is sent; a 2xx resets the count; a caller not on
 * the allow-list gets nothing and one log line; prompt events carry the digits accepted since the previous prompt
 * event, never for a secret input. End to end over SIP: test/e2e/sipp-test-events.test.ts.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import type { AnyActorRef } from 'xstate';
import { AddressList } from '../../src/domain/address-list';
import type { CallChannel, CollectedInput, PromptStart } from '../../src/ports/call-channel';
import { startTestEvents } from '../../src/runtime/test-events';
import { VirtualClock } from '../../src/sim/virtual-clock';

/** A channel with only what the events use: the observers (driven by the test) and `ended`. */
function fakeChannel() {
  const prompts: ((p: PromptStart) => void)[] = [];
  const collects: ((c: CollectedInput) => void)[] = [];
  const channel = {
    ended: false,
    onPromptStart: (l: (p: PromptStart) => void) => prompts.push(l),
    onCollected: (l: (c: CollectedInput) => void) => collects.push(l),
  };
  return {
    channel: channel as unknown as CallChannel & { ended: boolean },
    prompt: (id: string | null, secret = false) => prompts.forEach((l) => l({ id, locale: 'en-US', op: 'collect', secret })),
    collected: (c: CollectedInput) => collects.forEach((l) => l(c)),
    end: () => (channel.ended = true),
  };
}

/** A root flow whose snapshot says `signIn.<state>`. */
function fakeFlow(state: { value: string }): AnyActorRef {
  return { getSnapshot: () => ({ status: 'active', value: state.value, machine: { id: 'signIn' }, children: {} }) } as unknown as AnyActorRef;
}

/** An INFO sender whose responses the test gives: each call waits for `answer(status)`. */
function fakeInfos() {
  const sent: { body: any; answer: (status: number | null) => void }[] = [];
  return {
    sent,
    sendInfo: (contentType: string, body: string) => {
      expect(contentType).toBe('application/vnd.voice-access.event+json');
      return new Promise<number | null>((resolve) => sent.push({ body: JSON.parse(body), answer: resolve }));
    },
  };
}

function logger() {
  const lines: any[] = [];
  const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(JSON.parse(c.toString())), cb()) }));
  return { log, lines };
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

describe('the test events of a call', () => {
  test('in order, one INFO at a time; the next waits for the final response', async () => {
    const clock = new VirtualClock();
    const { channel, prompt, collected } = fakeChannel();
    const infos = fakeInfos();
    const state = { value: 'extension' };
    const { log } = logger();
    expect(startTestEvents({ kinds: ['prompts', 'digits'], sourceIp: '127.0.0.1', sendInfo: infos.sendInfo }, channel, fakeFlow(state), { allowed: AddressList.parse(['127.0.0.0/8']), clock, log })).toBe(true);
    prompt('enter-extension');
    collected({ secret: false, digits: '51235', reason: 'max' }); // in the same turn: still after the prompt
    await flush();
    state.value = 'pin';
    prompt('enter-pin', true);
    await flush();
    expect(infos.sent.map((s) => s.body)).toEqual([{ event: 'prompt', prompt: 'enter-extension', locale: 'en-US', flow: 'signIn', state: 'extension', seq: 1 }]);
    infos.sent[0].answer(200);
    await flush();
    expect(infos.sent).toHaveLength(2);
    expect(infos.sent[1].body).toEqual({ event: 'digits', digits: '51235', reason: 'max', flow: 'signIn', state: 'extension', seq: 2 });
    infos.sent[1].answer(200);
    await flush();
    // The PIN prompt: secret, and without the extension's digits.
    expect(infos.sent[2].body).toEqual({ event: 'prompt', prompt: 'enter-pin', locale: 'en-US', flow: 'signIn', state: 'pin', secret: true, seq: 3 });
  });

  test('prompt events carry the digits of non-secret inputs since the previous prompt event, never a secret', async () => {
    const clock = new VirtualClock();
    const { channel, prompt, collected } = fakeChannel();
    const infos = fakeInfos();
    const { log, lines } = logger();
    startTestEvents({ kinds: ['prompts'], sourceIp: '127.0.0.1', sendInfo: infos.sendInfo }, channel, fakeFlow({ value: 'mainMenu' }), { allowed: AddressList.parse(['127.0.0.1']), clock, log });
    collected({ secret: true, reason: 'terminator' });
    prompt('main-menu');
    collected({ secret: false, digits: '2', reason: 'max' });
    prompt('invalid-choice');
    prompt(null);
    for (let i = 0; i < 3; i++) {
      await flush();
      infos.sent[i]?.answer(200);
    }
    await flush();
    expect(infos.sent.map((s) => [s.body.prompt, s.body.digits])).toEqual([
      ['main-menu', undefined],
      ['invalid-choice', '2'],
      [null, undefined],
    ]);
    expect(infos.sent[2].body).toHaveProperty('prompt', null);
    expect(lines.map((l) => l.msg)).toEqual(['test events on']);
  });

  test('a caller that answers nothing: each INFO waits 2 s, and after 3 nothing more is sent', async () => {
    const clock = new VirtualClock();
    const { channel, prompt } = fakeChannel();
    const infos = fakeInfos();
    const { log, lines } = logger();
    startTestEvents({ kinds: ['prompts'], sourceIp: '127.0.0.1', sendInfo: infos.sendInfo }, channel, fakeFlow({ value: 'x' }), { allowed: AddressList.parse(['127.0.0.1']), clock, log });
    for (const id of ['a', 'b', 'c', 'd', 'e']) prompt(id);
    await flush();
    expect(infos.sent).toHaveLength(1);
    await clock.advance(1999);
    expect(infos.sent).toHaveLength(1);
    await clock.advance(1);
    await flush();
    expect(infos.sent).toHaveLength(2);
    await clock.advance(2000);
    await flush();
    expect(infos.sent).toHaveLength(3);
    await clock.advance(2000);
    await flush();
    prompt('f');
    await clock.advance(10_000);
    await flush();
    expect(infos.sent.map((s) => s.body.prompt)).toEqual(['a', 'b', 'c']);
    expect(lines.find((l) => l.msg.startsWith('test events stopped'))).toMatchObject({ failures: 3, lastStatus: null, notSent: 2 });
  });

  test('an error response counts as a failure; a 2xx resets the count', async () => {
    const clock = new VirtualClock();
    const { channel, prompt } = fakeChannel();
    const infos = fakeInfos();
    const { log } = logger();
    startTestEvents({ kinds: ['prompts'], sourceIp: '127.0.0.1', sendInfo: infos.sendInfo }, channel, fakeFlow({ value: 'x' }), { allowed: AddressList.parse(['127.0.0.1']), clock, log });
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) prompt(id);
    for (const status of [481, 415, 200, 500, 500, 202]) {
      await flush();
      infos.sent[infos.sent.length - 1].answer(status);
    }
    await flush();
    expect(infos.sent.map((s) => s.body.prompt)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  test('nothing is sent once the call has ended', async () => {
    const clock = new VirtualClock();
    const { channel, prompt, end } = fakeChannel();
    const infos = fakeInfos();
    const { log } = logger();
    startTestEvents({ kinds: ['prompts'], sourceIp: '127.0.0.1', sendInfo: infos.sendInfo }, channel, fakeFlow({ value: 'x' }), { allowed: AddressList.parse(['127.0.0.1']), clock, log });
    prompt('a');
    prompt('b');
    await flush();
    end();
    infos.sent[0].answer(200);
    await flush();
    expect(infos.sent).toHaveLength(1);
  });

  test('a caller not on the allow-list gets nothing; one info line names its address', async () => {
    const clock = new VirtualClock();
    const { channel, prompt, collected } = fakeChannel();
    const infos = fakeInfos();
    const { log, lines } = logger();
    expect(startTestEvents({ kinds: ['prompts', 'digits'], sourceIp: '192.0.2.7', sendInfo: infos.sendInfo }, channel, fakeFlow({ value: 'x' }), { allowed: AddressList.parse([]), clock, log })).toBe(false);
    prompt('welcome');
    collected({ secret: false, digits: '1', reason: 'max' });
    await flush();
    expect(infos.sent).toEqual([]);
    expect(lines).toEqual([expect.objectContaining({ level: 30, address: '192.0.2.7', msg: 'test events refused: the address is not in testing.eventsAllowedFrom' })]);
  });
});
