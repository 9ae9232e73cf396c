/**
 * PIN guessing over SIP (issue 19): 30 concurrent calls from 30 source numbers each enter one wrong PIN for david's
 * mailbox, against one `serve`, against two `serve` instances on one data folder (the calls shared between them), and against
 * two instances on one PostgreSQL store with a data folder each (as on two machines),
 * with the policy lowered (LogonFailuresBeforePINReset 3, MaxLogonAttempts 6). The callers are real SIP user agents
 * with RTP (the network simulator's `NetCaller`, RFC 4733 keys); what each call heard is observed on the server side
 * (`helpers/ivr-server.ts`). Every call first reaches the PIN prompt, then all type their PIN at once. At the end the
 * mailbox is locked with 6 failures, at most 6 calls were answered about their PIN, and every other call heard "your
 * mailbox is locked". Each call's PIN was checked at most twice (`verifyPin` calls, both instances counted: they run
 * in this process): once against the row read at its extension, whose result is thrown away unanswered when that
 * row changed meanwhile, and once more if it was admitted after reading it again (`PinService.signIn`). Embedded SIP
 * engine only.
 */
import { startPostgres, type RunningPostgres } from '../../bench/servers/postgres-server';
import * as pinHash from '../../src/domain/pin-hash';
import { MediaEngine } from '../../src/media/media-engine';
import { PromptCatalog } from '../../src/prompts/catalog';
import { NetCaller } from '../../src/sim/net/net-caller';
import { SipClient } from '../../src/sip/embedded/sip-client';
import { heardIds, startIvrServer, type IvrServer, type ObservedCall } from './helpers/ivr-server';

jest.setTimeout(60_000);

const CALLS = 30;
const MAX_LOGON_ATTEMPTS = 6;
const ACCESS_NUMBER = '+14255550100';
const DAVID = 'david@contoso.com';
const DAVID_EXTENSION = '51235';
/** The prompts that end a PIN attempt: checked and wrong, checked and reset, refused or checked and locked. */
const VERDICTS = ['pin-incorrect', 'pin-reset-sent', 'mailbox-locked'] as const;

const catalog = PromptCatalog.load();
let client: SipClient;
let media: MediaEngine;
/** Servers started by the current test, stopped after it (a second instance before the one owning the folder). */
const servers: IvrServer[] = [];
const callers: NetCaller[] = [];
let verifySpy: jest.SpyInstance;

let pg: RunningPostgres;
beforeAll(async () => {
  pg = await startPostgres();
  client = await SipClient.start({ localAddress: '127.0.0.1' });
  media = await MediaEngine.start({ host: '127.0.0.1', portMin: 0, portMax: 0 });
});
afterAll(async () => {
  await pg?.stop();
  await media?.stop();
  await client?.stop();
});
beforeEach(() => {
  verifySpy = jest.spyOn(pinHash, 'verifyPin');
});
afterEach(async () => {
  verifySpy.mockRestore();
  for (const c of callers.splice(0)) c.callerHangup();
  for (const s of servers.splice(0).reverse()) await s.stop();
}, 30_000);

/** One `serve` with the lowered policy, and `extra` more instances on its data folder (or its PostgreSQL store). */
async function startInstances(extra: number, store?: string): Promise<IvrServer[]> {
  const first = await startIvrServer({
    store,
    patch: (doc) => {
      const policy = doc.mailboxPolicies.find((p: { name: string }) => p.name === 'Contoso-Policy');
      policy.logonFailuresBeforePinReset = 3;
      policy.maxLogonAttempts = MAX_LOGON_ATTEMPTS;
    },
    // Generous timeouts: 30 calls share two cores with other suites, and no call may time out waiting for the others.
    ivr: { firstDigitTimeoutSeconds: 20, interDigitTimeoutSeconds: 5 },
  });
  servers.push(first);
  for (let i = 0; i < extra; i++) servers.push(await startIvrServer({ sameAs: first }));
  return [...servers];
}

/** The prompts a call heard after its first `enter-pin`. */
function heardAfterPinPrompt(call: ObservedCall): (string | null)[] {
  const ids = heardIds(call);
  const i = ids.indexOf('enter-pin');
  return i < 0 ? [] : ids.slice(i + 1);
}

/** The verdict a call heard after typing its PIN, if any yet. */
function verdict(call: ObservedCall): (typeof VERDICTS)[number] | undefined {
  return heardAfterPinPrompt(call).find((id): id is (typeof VERDICTS)[number] => VERDICTS.includes(id as never));
}

/** A short account of the calls for failure messages: result and prompts (no keys: some are PIN digits). */
function account(calls: ObservedCall[]): string {
  return calls.map((c) => `${c.callId} from ${c.from}: ${c.record?.result ?? 'up'}; ${heardIds(c).join(', ')}`).join('\n');
}

/** Resolves when `pred` holds, checking every 50 ms; throws `what` and the calls' account after `ms`. */
async function until(pred: () => boolean, ms: number, what: string, calls: () => ObservedCall[]): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${account(calls())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Places CALLS calls, shared round robin between `targets`; each types david's extension, and once every call hears
 * the PIN prompt, all type a wrong PIN (a different one each) at once. Ends when every call has heard its verdict
 * and has ended (the callers still up hang up).
 * @returns the server-side calls and the number of PINs checked
 */
async function guessAtOnce(targets: IvrServer[]): Promise<{ calls: ObservedCall[]; checks: number }> {
  const observed = () => targets.flatMap((t) => t.calls);
  const placed = await Promise.all(
    Array.from({ length: CALLS }, (_, i) =>
      NetCaller.place({
        client,
        target: { transport: 'udp', host: '127.0.0.1', port: targets[i % targets.length].server.sip.port },
        media,
        mediaAddress: '127.0.0.1',
        catalog,
        locales: ['en-US'],
        now: () => Date.now(),
        to: ACCESS_NUMBER,
        from: `+1206555${1000 + i}`,
      }),
    ),
  );
  callers.push(...placed);
  const callOf = (c: NetCaller) => observed().find((o) => o.callId === c.callId);
  await until(() => placed.every((c) => callOf(c)?.channel.heard.some((h) => h.id === 'welcome')), 20_000, 'every call to hear the welcome', observed);
  // The extension barges in on the welcome (type-ahead).
  const sent = await Promise.all(placed.map((c) => c.pressDigits(DAVID_EXTENSION, 150)));
  expect(sent).toEqual(placed.map(() => DAVID_EXTENSION.length));
  await until(() => placed.every((c) => heardIds(callOf(c)!).includes('enter-pin')), 30_000, 'every call to reach the PIN prompt', observed);
  expect(verifySpy).not.toHaveBeenCalled();
  // All at once: a wrong PIN each, then #.
  await Promise.all(placed.map((c, i) => c.pressDigits(`${100_001 + i}#`, 120)));
  await until(() => placed.every((c) => verdict(callOf(c)!) !== undefined), 30_000, 'every call to hear what its PIN did', observed);
  // The IVR asks a caller whose PIN was wrong for it again: that caller hangs up. The others hear goodbye.
  for (const c of placed) if (verdict(callOf(c)!) === 'pin-incorrect') c.callerHangup();
  await until(() => placed.every((c) => callOf(c)!.record !== null), 20_000, 'every call to end', observed);
  return { calls: placed.map((c) => callOf(c)!), checks: verifySpy.mock.calls.length };
}

/** The assertions of both tests: the lockout holds and no more than MaxLogonAttempts calls were answered about their PIN. */
async function expectLockoutHeld(targets: IvrServer[], calls: ObservedCall[], checks: number): Promise<void> {
  const why = account(calls);
  const verdicts: Record<string, number> = {};
  for (const c of calls) verdicts[verdict(c)!] = (verdicts[verdict(c)!] ?? 0) + 1;
  expect({ checks, why }).toEqual({ checks: expect.any(Number), why });
  expect(checks).toBeGreaterThan(0);
  expect(checks).toBeLessThanOrEqual(CALLS + MAX_LOGON_ATTEMPTS);
  // A call whose PIN was counted and wrong heard "incorrect" or "reset" (or, the last one, "locked"); every other
  // call was refused and heard "locked", whatever a discarded check had found.
  const checkedAndHeardSo = (verdicts['pin-incorrect'] ?? 0) + (verdicts['pin-reset-sent'] ?? 0);
  expect({ checkedAndHeardSo, why }).toEqual({ checkedAndHeardSo: expect.any(Number), why });
  expect(checkedAndHeardSo).toBeLessThan(MAX_LOGON_ATTEMPTS);
  expect({ locked: verdicts['mailbox-locked'] ?? 0, why }).toEqual({ locked: CALLS - checkedAndHeardSo, why });
  const results = calls.map((c) => c.record!.result);
  expect({ results, why }).toEqual({ results: calls.map((c) => ({ 'pin-incorrect': 'hung-up', 'pin-reset-sent': 'pin-reset', 'mailbox-locked': 'locked-out' })[verdict(c)!]), why });
  for (const t of targets) expect(await t.server.app.store.getMailbox(DAVID)).toMatchObject({ lockedOut: true, logonFailures: MAX_LOGON_ATTEMPTS });
  const pin = await targets[0].cmdlet('Get-UMMailboxPIN', '-Identity', DAVID, '--json');
  expect(pin.json).toMatchObject([{ UserID: DAVID, LockedOut: true }]);
}

describe('PIN guessing over SIP, 30 calls at once [embedded]', () => {
  test('on one serve instance: at most MaxLogonAttempts PINs are answered, the mailbox ends locked', async () => {
    const targets = await startInstances(0);
    const { calls, checks } = await guessAtOnce(targets);
    await expectLockoutHeld(targets, calls, checks);
  });

  test('on two serve instances on one data folder: the same, the calls shared between them', async () => {
    const targets = await startInstances(1);
    const { calls, checks } = await guessAtOnce(targets);
    expect(targets.map((t) => t.calls.length)).toEqual([CALLS / 2, CALLS / 2]);
    await expectLockoutHeld(targets, calls, checks);
  });

  test('on two serve instances on one PostgreSQL store, each with its own data folder: the same', async () => {
    const targets = await startInstances(1, await pg.createDatabase('guessing'));
    expect(targets[0].data).not.toBe(targets[1].data);
    const { calls, checks } = await guessAtOnce(targets);
    expect(targets.map((t) => t.calls.length)).toEqual([CALLS / 2, CALLS / 2]);
    await expectLockoutHeld(targets, calls, checks);
  });
});
