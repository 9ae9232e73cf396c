/**
 * The shortcuts in drachtio-modesl's event decoding and command writing (`esl-fast-path.ts`): the events and the
 * bytes are exactly what drachtio-modesl's own code makes, compared side by side with an untouched copy of the
 * package, and the costs they remove are gone (no search per field, one write per command). No FreeSWITCH needed:
 * the byte streams are written here in FreeSWITCH's event-socket format; the real-server suites
 * (`test/media/freeswitch-*.test.ts`, `test/e2e/*freeswitch*`) run the fast path against FreeSWITCH itself.
 */
import { EventEmitter } from 'node:events';
import { applyEslFastPath, type ModeslClasses } from '../../src/media/freeswitch/esl-fast-path';

/** Two separate copies of drachtio-modesl: one untouched, one with the fast path. */
function twoCopies(): { plain: ModeslClasses; fast: ModeslClasses } {
  let plain!: ModeslClasses;
  let fast!: ModeslClasses;
  jest.isolateModules(() => (plain = require('drachtio-modesl')));
  jest.isolateModules(() => (fast = require('drachtio-modesl')));
  applyEslFastPath(fast);
  return { plain, fast };
}

/** A CHANNEL_EXECUTE_COMPLETE as FreeSWITCH sends it on an outbound socket: every channel variable, ~150 fields. */
function executeComplete(uuid: string): Record<string, string> {
  const e: Record<string, string> = {
    'Event-Name': 'CHANNEL_EXECUTE_COMPLETE',
    'Core-UUID': '6da7c708-80ef-483d-b318-438bbd27a2a2',
    'Event-Date-Local': '2026-12-07 16:23:17',
    'Unique-ID': uuid,
    'Channel-Name': 'sofia/drachtio_mrf/sip:va@127.0.0.1:5090',
    Application: 'playback',
    'Application-Data': '/srv/prompts/fr-FR/entrez-le-numéro.wav',
    'Application-Response': 'FILE PLAYED',
    'Application-UUID': 'b1f2a3c4-0000-4000-8000-000000000001',
  };
  for (let i = 0; i < 140; i++) e[`variable_sip_h_X-Var-${i}`] = `value ${i}: with colons, %41 and "quotes"`;
  return e;
}

/** FreeSWITCH's envelope around a body. */
function frame(contentType: string, body: string, extra = ''): Buffer {
  return Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\nContent-Type: ${contentType}\n${extra}\n${body}`);
}

/** What a parser emits for `stream` delivered in chunks of `chunk` bytes: events (as plain data) and errors. */
function decode(modesl: ModeslClasses, stream: Buffer, chunk: number): unknown[] {
  const socket = new EventEmitter();
  const Parser = modesl.Parser as unknown as new (s: EventEmitter) => EventEmitter;
  const parser = new Parser(socket);
  const out: unknown[] = [];
  parser.on('esl::event', (event: { headers: unknown; type: unknown; subclass: unknown; body: unknown }, headers: unknown, body: unknown) =>
    out.push({ headers: event.headers, type: event.type, subclass: event.subclass, body: event.body, envelope: headers, raw: body }),
  );
  parser.on('error', (err: Error) => out.push({ error: err.constructor.name }));
  for (let i = 0; i < stream.length; i += chunk) socket.emit('data', stream.subarray(i, i + chunk));
  return out;
}

const STREAM = Buffer.concat([
  Buffer.from('Content-Type: auth/request\n\n'),
  Buffer.from('Content-Type: command/reply\nReply-Text: +OK accepted\n\n'),
  Buffer.from('Content-Type: command/reply\nReply-Text: -ERR invalid\n\n'),
  frame('text/event-json', JSON.stringify(executeComplete('5f0c1b2e-1111-4111-8111-111111111111'))),
  frame('api/response', '+OK 5f0c1b2e\n'),
  frame('text/event-json', JSON.stringify({ 'Event-Name': 'CUSTOM', 'Event-Subclass': 'conference::maintenance', 'Content-Length': '5', _body: 'hello', 'Reply-Text': '+OK done' })),
  frame('text/event-json', JSON.stringify({ 'Event-Name': 'BACKGROUND_JOB', 'Job-UUID': 'j-1', 'Reply-Text': '-ERR no such channel' })),
  frame('text/event-plain', 'Event-Name: DTMF\nUnique-ID: u-2\nDTMF-Digit: %23\nDTMF-Source: RTP\n\n'),
  frame('text/event-json', '{"Event-Name": "DTMF", "broken'),
  frame('text/event-json', 'null'),
  frame('text/disconnect-notice', 'Disconnected, goodbye.\n'),
]);

test('events decode exactly as drachtio-modesl decodes them, whatever the chunks', () => {
  const { plain, fast } = twoCopies();
  const expected = decode(plain, STREAM, STREAM.length);
  // 11 events; the broken JSON and the `null` body are also an error each (drachtio-modesl's, kept).
  expect(expected).toHaveLength(11 + 2);
  expect(expected).toContainEqual({ error: 'SyntaxError' });
  expect(expected).toContainEqual({ error: 'TypeError' });
  for (const chunk of [STREAM.length, 4096, 977, 64, 7, 1]) expect(decode(fast, STREAM, chunk)).toEqual(expected);
});

test('a verbose event is built without searching its fields once per field', () => {
  const { fast, plain } = twoCopies();
  const event = frame('text/event-json', JSON.stringify(executeComplete('5f0c1b2e-2222-4222-8222-222222222222')));
  const count = (modesl: ModeslClasses) => {
    const proto = modesl.Event.prototype as unknown as { _findHeaderIndex: (name: string) => number | null };
    const spy = jest.spyOn(proto, '_findHeaderIndex');
    try {
      decode(modesl, event, event.length);
      return spy.mock.calls.length;
    } finally {
      spy.mockRestore();
    }
  };
  expect(count(plain)).toBeGreaterThan(140); // one search per field added
  expect(count(fast)).toBeLessThanOrEqual(2); // the Reply-Text lookup
});

test('a command is written in one piece, the same bytes as line by line', () => {
  const { plain, fast } = twoCopies();
  const sent = (modesl: ModeslClasses, command: string, args?: Record<string, unknown>) => {
    const writes: string[] = [];
    const conn = { socket: { write: (data: string) => writes.push(data) }, emit: jest.fn() };
    modesl.Connection.prototype.send.call(conn, command, args);
    return writes;
  };
  const args = { 'call-command': 'execute', 'execute-app-name': 'playback', 'execute-app-arg': '/srv/prompts/en-US/welcome.wav', 'event-lock': true, 'Event-UUID': 'e-1' };
  for (const [command, a] of [['sendmsg 5f0c1b2e', args], ['api uuid_break 5f0c1b2e', undefined], ['nixevent CHANNEL_EXECUTE PLAYBACK_START', {}]] as const) {
    const before = sent(plain, command, a);
    const after = sent(fast, command, a);
    expect(after).toHaveLength(1);
    expect(after.join('')).toBe(before.join(''));
  }
  expect(sent(plain, 'sendmsg 5f0c1b2e', args).length).toBeGreaterThan(5);
});

test('a socket that throws on write is an error event on the connection, as before', () => {
  const { fast } = twoCopies();
  const emit = jest.fn();
  const conn = {
    socket: {
      write: () => {
        throw new Error('This socket has been ended by the other party');
      },
    },
    emit,
  };
  fast.Connection.prototype.send.call(conn, 'api status');
  expect(emit).toHaveBeenCalledWith('error', expect.objectContaining({ message: 'This socket has been ended by the other party' }));
});

test('applying it twice changes nothing more', () => {
  const { fast } = twoCopies();
  const parse = fast.Parser.prototype._parseEvent;
  applyEslFastPath(fast);
  expect(fast.Parser.prototype._parseEvent).toBe(parse);
});

/** A call's outbound event-socket connection on a fake socket: what it writes, and a way to feed it FreeSWITCH's bytes. */
function outboundConnection(modesl: ModeslClasses): { conn: EslConnection; writes: string[]; feed(bytes: Buffer): void } {
  const socket = Object.assign(new EventEmitter(), { writes: [] as string[], write: (data: string) => socket.writes.push(data), setKeepAlive: () => undefined });
  const Connection = modesl.Connection as unknown as new (s: EventEmitter) => EslConnection;
  const conn = new Connection(socket);
  return { conn, writes: socket.writes, feed: (bytes) => socket.emit('data', bytes) };
}

interface EslConnection {
  _inbound?: boolean;
  _doExec(uuid: string, cmd: string, args: Record<string, unknown>, cb: (evt: { getHeader(n: string): unknown }) => void): string;
  listeners(event: string): unknown[];
}

const completeFor = (uuid: string, appUuid: string, response: string) =>
  frame('text/event-json', JSON.stringify({ ...executeComplete(uuid), 'Application-UUID': appUuid, 'Application-Response': response }));

test('an execute on a call connection completes as before, through one listener however many are sent', () => {
  const { plain, fast } = twoCopies();
  const uuid = '5f0c1b2e-3333-4333-8333-333333333333';
  const run = (modesl: ModeslClasses) => {
    const { conn, writes, feed } = outboundConnection(modesl);
    const done: string[] = [];
    const a = conn._doExec(uuid, 'execute', { 'execute-app-name': 'playback', 'execute-app-arg': '/p/a.wav' }, (e) => done.push(`a:${e.getHeader('Application-Response')}`));
    const b = conn._doExec(uuid, 'execute', { 'execute-app-name': 'playback', 'execute-app-arg': '/p/b.wav' }, (e) => done.push(`b:${e.getHeader('Application-Response')}`));
    const inFlight = conn.listeners(`esl::event::CHANNEL_EXECUTE_COMPLETE::${uuid}`).length;
    feed(completeFor(uuid, b, 'FILE PLAYED'));
    feed(completeFor(uuid, 'not-ours', 'FILE PLAYED')); // another execution's end (e.g. one sent by FreeSWITCH's dialplan)
    feed(completeFor(uuid, a, 'FILE NOT FOUND'));
    feed(completeFor(uuid, a, 'FILE PLAYED')); // a second end for the same one is not delivered again
    const c = conn._doExec(uuid, 'execute', { 'execute-app-name': 'playback', 'execute-app-arg': '/p/c.wav' }, () => done.push('c'));
    feed(completeFor(uuid, c, 'FILE PLAYED'));
    const sent = writes.join('').split(a).join('<a>').split(b).join('<b>').split(c).join('<c>');
    return { done, sent, inFlight, after: conn.listeners(`esl::event::CHANNEL_EXECUTE_COMPLETE::${uuid}`).length };
  };
  const before = run(plain);
  const after = run(fast);
  expect(before.done).toEqual(['b:FILE PLAYED', 'a:FILE NOT FOUND', 'c']);
  expect(after.done).toEqual(before.done);
  expect(after.sent).toBe(before.sent); // same commands, Event-UUIDs aside
  expect(after.sent).toContain('sendmsg 5f0c1b2e-3333-4333-8333-333333333333\nexecute-app-name: playback\nexecute-app-arg: /p/a.wav\ncall-command: execute\nEvent-UUID: <a>\n\n');
  expect(before.inFlight).toBe(2); // drachtio-modesl: one listener per execution, removed at its end
  expect(before.after).toBe(0);
  expect(after.inFlight).toBe(1); // the fast path: one for the channel, kept
  expect(after.after).toBe(1);
});

test('an inbound connection executes through drachtio-modesl\'s own listeners (no listener kept per channel)', () => {
  const { fast } = twoCopies();
  const { conn, feed } = outboundConnection(fast);
  conn._inbound = true;
  const done: string[] = [];
  const ids = ['u-1', 'u-2'].map((uuid) => [uuid, conn._doExec(uuid, 'execute', { 'execute-app-name': 'answer' }, () => done.push(uuid))] as const);
  expect(conn.listeners('esl::event::CHANNEL_EXECUTE_COMPLETE::u-1')).toHaveLength(1);
  for (const [uuid, id] of ids) feed(completeFor(uuid, id, '+OK'));
  expect(done).toEqual(['u-1', 'u-2']);
  expect(conn.listeners('esl::event::CHANNEL_EXECUTE_COMPLETE::u-1')).toHaveLength(0);
  expect(conn.listeners('esl::event::CHANNEL_EXECUTE_COMPLETE::u-2')).toHaveLength(0);
});
