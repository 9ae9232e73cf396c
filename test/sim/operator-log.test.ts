/**
 * Issue 19, "Operators are not surprised": the log says what an operator needs, each line with the call's id (the
 * per-call child logger): a sign-in (the mailbox, never the PIN), each failed PIN (mailbox and running count), an
 * automatic PIN reset, a lockout (warn), a message stored, a lobby join and a meeting start. Read from the log lines
 * of simulated calls (the runtime `serve` runs, on the simulator's channel).
 */
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log';
import { runScenario } from '../../src/sim/runner';
import { ROOT } from '../helpers';

interface Line {
  level: number;
  msg: string;
  callId?: string;
  flow?: string;
  mailbox?: string;
  failures?: number;
  [k: string]: unknown;
}

/** Runs an example scenario with an info logger; @returns its log lines (raw and parsed) */
async function logOf(file: string): Promise<{ raw: string[]; lines: Line[] }> {
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      raw.push(...chunk.toString().split('\n').filter((l: string) => l.trim() !== ''));
      cb();
    },
  });
  const report = await runScenario(path.join(ROOT, 'scenarios', file), { logger: createLogger({ level: 'info', destination }) });
  expect(report.failures).toEqual([]);
  return { raw, lines: raw.map((l) => JSON.parse(l) as Line) };
}

const INFO = 30;
const WARN = 40;

test('sign-ins, each failed PIN with its count, the automatic resets and the lockout are logged per call, never a PIN', async () => {
  const { raw, lines } = await logOf('lockout-and-admin-unlock.yaml');
  const wrong = lines.filter((l) => l.msg === 'wrong PIN');
  // Six calls, 15 wrong PINs in a row for David: the count runs on across calls.
  expect(wrong.map((l) => [l.mailbox, l.failures, l.level])).toEqual(Array.from({ length: 15 }, (_, i) => ['david@contoso.com', i + 1, INFO]));
  expect(new Set(wrong.map((l) => l.callId)).size).toBe(6);
  const resets = lines.filter((l) => /^PIN reset automatically/.test(l.msg));
  expect(resets.map((l) => [l.mailbox, l.failures, l.level])).toEqual([
    ['david@contoso.com', 5, INFO],
    ['david@contoso.com', 10, INFO],
  ]);
  const lockout = lines.filter((l) => /^mailbox locked out/.test(l.msg));
  expect(lockout.map((l) => [l.mailbox, l.failures, l.level])).toEqual([['david@contoso.com', 15, WARN]]);
  const signedIn = lines.filter((l) => l.msg === 'signed in');
  expect(signedIn.map((l) => [l.mailbox, l.level, l.flow])).toEqual([['david@contoso.com', INFO, 'sign-in']]);
  // Every one of them carries its call's id, the id of that call's other lines ("call answered", "call ended").
  for (const l of [...wrong, ...resets, ...lockout, ...signedIn]) {
    expect(typeof l.callId).toBe('string');
    expect(lines.some((o) => o.msg === 'call answered' && o.callId === l.callId)).toBe(true);
  }
  expect(lockout[0].callId).toBe(wrong[14].callId);
  // The PINs typed (wrong ones, and the one an administrator set) appear nowhere.
  for (const pin of ['111220', '111221', '111222', '582047', '739164']) expect(raw.filter((l) => l.includes(pin))).toEqual([]);
});

test('a stored voice message is logged with the mailbox and the call id', async () => {
  const { lines } = await logOf('leave-message.yaml');
  const stored = lines.filter((l) => l.msg === 'voice message stored');
  expect(stored).toHaveLength(1);
  expect(stored[0]).toMatchObject({ level: INFO, mailbox: 'david@contoso.com', flow: 'call-answering' });
  expect(stored[0].messageId).toEqual(expect.any(String));
  expect(lines.some((l) => l.msg === 'call answered' && l.callId === stored[0].callId)).toBe(true);
});

test('a lobby join and the meeting start are logged with the call ids, never the leader PIN', async () => {
  const { raw, lines } = await logOf('conference-lobby-organizer-start.yaml');
  const lobby = lines.filter((l) => l.msg === 'waiting in the lobby');
  expect(lobby.length).toBeGreaterThanOrEqual(1);
  expect(lobby[0]).toMatchObject({ level: INFO, conferenceId: '4455667', flow: 'conference' });
  const started = lines.filter((l) => l.msg === 'meeting started');
  expect(started).toHaveLength(1);
  expect(started[0]).toMatchObject({ level: INFO, conferenceId: '4455667' });
  // The participant waited; the organizer, another call, started the meeting.
  expect(started[0].callId).not.toBe(lobby[0].callId);
  for (const l of [...lobby, ...started]) expect(lines.some((o) => o.msg === 'call answered' && o.callId === l.callId)).toBe(true);
  expect(raw.filter((l) => l.includes('90210'))).toEqual([]);
});
