/**
 * Wrong PINs across calls, over the network: SIPp calls the access number and types wrong PINs for david as RFC 4733
 * digits replayed from sip-tester's captures. The policy is lowered for the test (LogonFailuresBeforePINReset 2,
 * MaxLogonAttempts 4): the first call reaches the automatic PIN reset (a new PIN is mailed), the second the lockout,
 * and a third call is refused before any PIN is asked for. Get-UMMailboxPIN then shows LockedOut true. Run on each
 * engine (embedded, drachtio, drachtio with FreeSWITCH media).
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers';
import { describeCall, describeEngines, E2E_SIPP, expectSippSuccess, heardIds, receivedKeys, sippCall, startIvrServer, type IvrServer } from './helpers/ivr-server';

jest.setTimeout(55_000);

/**
 * A copy of a scenario of `sipp/` whose offer (`m=audio ... RTP/AVP 0`, PCMU only) also offers telephone-event on
 * payload type 101, written into `dir`.
 */
function offeringTelephoneEvent(file: string, dir: string): string {
  const xml = readFileSync(path.join(E2E_SIPP, file), 'utf8');
  const offer = xml.replace(/(m=audio \[auto_media_port\] RTP\/AVP 0)\n(\s*)a=rtpmap:0 PCMU\/8000\n/, '$1 101\n$2a=rtpmap:0 PCMU/8000\n$2a=rtpmap:101 telephone-event/8000\n$2a=fmtp:101 0-15\n');
  if (offer === xml) throw new Error(`${file}: no PCMU-only offer to add telephone-event to`);
  const copy = path.join(dir, file);
  writeFileSync(copy, offer);
  return copy;
}

describeEngines('wrong PINs over calls', (engine) => {
  let t: IvrServer;

  beforeAll(async () => {
    t = await startIvrServer({
      engine,
      patch: (doc) => {
        const policy = doc.mailboxPolicies.find((p: { name: string }) => p.name === 'Contoso-Policy');
        policy.logonFailuresBeforePinReset = 2;
        policy.maxLogonAttempts = 4;
      },
    });
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  }, 30_000);

  /** The .eml files in the server's outbox. */
  function outbox(): string[] {
    const dir = path.join(t.data, 'outbox');
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.eml')).map((f) => readFileSync(path.join(dir, f), 'utf8')) : [];
  }

  test('two wrong PINs per call: the PIN is reset in the first call, the mailbox locked in the second, and a third call is refused before the PIN', async () => {
    // Call 1: failures 1 and 2 -> automatic reset, "a new PIN has been sent to you", goodbye.
    const r1 = await sippCall(t, 'signin-rfc4733-wrong-pins.xml');
    expectSippSuccess(t, r1);
    const c1 = await t.ended(0);
    let why = describeCall(c1);
    expect({ why, result: c1.record!.result, keys: receivedKeys(c1) }).toEqual({ why, result: 'pin-reset', keys: '51235135790#246801#' });
    expect({ why, ids: heardIds(c1) }).toEqual({ why, ids: expect.arrayContaining(['pin-incorrect', 'pin-reset-sent', 'goodbye']) });
    expect(await t.server.app.store.getMailbox('david@contoso.com')).toMatchObject({ logonFailures: 2, lockedOut: false });
    const mails = outbox().filter((m) => /david@contoso\.com/i.test(m));
    expect(mails.length).toBeGreaterThanOrEqual(1);

    // Call 2: failures 3 and 4 -> lockout, "your mailbox is locked", goodbye.
    const r2 = await sippCall(t, 'signin-rfc4733-wrong-pins.xml');
    expectSippSuccess(t, r2);
    const c2 = await t.ended(1);
    why = describeCall(c2);
    expect({ why, result: c2.record!.result, identity: c2.record!.identity }).toEqual({ why, result: 'locked-out', identity: 'david@contoso.com' });
    expect({ why, ids: heardIds(c2) }).toEqual({ why, ids: expect.arrayContaining(['pin-incorrect', 'mailbox-locked', 'goodbye']) });
    const pin = await t.cmdlet('Get-UMMailboxPIN', '-Identity', 'david@contoso.com', '--json');
    expect(pin.code).toBe(0);
    expect(pin.json).toMatchObject([{ UserID: 'david@contoso.com', LockedOut: true }]);

    // Call 3: the extension alone; a locked mailbox is refused before any PIN is asked for. This call offers SIPp's
    // default SDP (PCMU only, no telephone-event): on our RTP engine the captures' digits on payload type 101 still
    // count. FreeSWITCH ignores telephone-events on a payload type the offer did not negotiate (its profile has no
    // liberal-dtmf), so with FreeSWITCH media the same call offers telephone-event 101 (a copy of the scenario).
    const copies = tempDir('va-e2e-offer-');
    let r3;
    try {
      r3 = await sippCall(t, engine === 'freeswitch' ? offeringTelephoneEvent('signin-rfc4733-extension-only.xml', copies) : 'signin-rfc4733-extension-only.xml');
    } finally {
      rmSync(copies, { recursive: true, force: true });
    }
    expectSippSuccess(t, r3);
    const c3 = await t.ended(2);
    why = describeCall(c3);
    expect({ why, result: c3.record!.result, keys: receivedKeys(c3) }).toEqual({ why, result: 'locked-out', keys: '51235' });
    const ids = heardIds(c3);
    expect({ why, ids }).toEqual({ why, ids: expect.arrayContaining(['mailbox-locked', 'goodbye']) });
    expect(ids).not.toContain('enter-pin');
    expect(ids).not.toContain('pin-incorrect');
  });
});
