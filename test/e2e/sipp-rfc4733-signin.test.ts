/**
 * Outlook Voice Access sign-in over the network with SIPp as the caller and RFC 4733 digits replayed from the
 * captures Debian's sip-tester installs (`/usr/share/sip-tester/dtmf_2833_*.pcap`, `play_pcap_audio`, which needs
 * root or CAP_NET_RAW). Checked from the server side: the call's CallRecord, the prompts the IVR played and the keys
 * it received (each replayed key counted once), and the store and the cmdlets afterwards. Run on each engine:
 * embedded, behind a drachtio-server (our RTP), and behind a drachtio-server with the media on FreeSWITCH.
 */
import { describeCall, describeEngines, expectSippSuccess, heardIds, heardPrompt, receivedKeys, sippCall, startIvrServer, type IvrServer } from './helpers/ivr-server';

jest.setTimeout(55_000);

describeEngines('OVA sign-in with RFC 4733 digits', (engine) => {
  let t: IvrServer;

  beforeAll(async () => {
    t = await startIvrServer({ engine });
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  }, 30_000);

  test('david signs in (51235, 739164 #) with replayed RFC 4733 digits, hears the main menu and signs out with *', async () => {
    const n = t.calls.length;
    const run = await sippCall(t, 'signin-rfc4733-david.xml');
    // SIPp itself checked that our answer keeps PT 101 for telephone-event and that the IVR ended the call with BYE.
    expectSippSuccess(t, run);
    const call = await t.ended(n);
    const why = describeCall(call);
    expect({ why, record: call.record }).toEqual({ why, record: { callId: call.callId, flow: 'sign-in', result: 'signed-out', identity: 'david@contoso.com' } });
    // Every key once: the end packet sent three times is one key press, the other SSRC and the repeated sequence
    // numbers of the captures are accepted.
    expect({ why, keys: receivedKeys(call) }).toEqual({ why, keys: '51235739164#*' });
    // The summary, then the main menu (played for a while before * cut it short), then goodbye.
    const ids = heardIds(call);
    expect({ why, ids }).toEqual({ why, ids: expect.arrayContaining(['no-new-messages', 'main-menu', 'goodbye']) });
    expect(ids.indexOf('main-menu')).toBeGreaterThan(ids.indexOf('no-new-messages'));
    const menu = heardPrompt(call, 'main-menu')!;
    expect(menu.heardMs ?? menu.durationMs).toBeGreaterThanOrEqual(1000);
    // The store: the sign-in cleared the failure count; nothing else changed.
    const m = await t.server.app.store.getMailbox('david@contoso.com');
    expect({ logonFailures: m.logonFailures, lockedOut: m.lockedOut, pinExpired: m.pinExpired, firstTimeUser: m.firstTimeUser }).toEqual({
      logonFailures: 0,
      lockedOut: false,
      pinExpired: false,
      firstTimeUser: false,
    });
  });

  test('tony (expired PIN, first-time user) is made to change the PIN, skips the name and greeting with *, and is set up', async () => {
    const before = await t.cmdlet('Get-UMMailboxPIN', '-Identity', 'tony@contoso.com', '--json');
    expect(before.code).toBe(0);
    expect(before.json).toMatchObject([{ UserID: 'tony@contoso.com', PinExpired: true, FirstTimeUser: true, LockedOut: false }]);

    const n = t.calls.length;
    const run = await sippCall(t, 'signin-rfc4733-tony-first-time.xml');
    expectSippSuccess(t, run);
    const call = await t.ended(n);
    const why = describeCall(call);
    expect({ why, record: call.record }).toEqual({ why, record: { callId: call.callId, flow: 'sign-in', result: 'signed-out', identity: 'tony@contoso.com' } });
    // The three * replay one capture (same RTP timestamp each time): three key presses, not one. (With FreeSWITCH
    // media the captures are renumbered in sequence, see sippCall: it takes a repeated timestamp as the same press.)
    expect({ why, keys: receivedKeys(call) }).toEqual({ why, keys: '51234483920#582047#582047#***' });
    // Keys typed during a prompt cut it short and skip the next ones (type-ahead): only the prompts that must have
    // started whatever the timing are checked.
    const ids = heardIds(call);
    expect({ why, ids }).toEqual({ why, ids: expect.arrayContaining(['first-time-welcome', 'setup-complete', 'main-menu', 'goodbye']) });
    // Both recordings (name, greeting) ended by * with nothing recorded.
    const recorded = call.channel.events.flatMap((e) => (e.type === 'recorded' ? [{ file: e.result.file, terminator: e.result.terminator }] : []));
    expect({ why, recorded }).toEqual({ why, recorded: [{ file: null, terminator: '*' }, { file: null, terminator: '*' }] });

    const after = await t.cmdlet('Get-UMMailboxPIN', '-Identity', 'tony@contoso.com', '--json');
    expect(after.code).toBe(0);
    expect(after.json).toMatchObject([{ UserID: 'tony@contoso.com', PinExpired: false, FirstTimeUser: false, LockedOut: false }]);
    const m = await t.server.app.store.getMailbox('tony@contoso.com');
    expect({ nameFile: m.nameFile, greetingFile: m.greetingFile }).toEqual({ nameFile: null, greetingFile: null });
    // The new PIN is the one typed on the phone.
    expect(await t.server.app.pins.signIn('tony@contoso.com', '582047')).toMatchObject({ outcome: 'ok', mustChangePin: false, firstTimeUser: false });
  });
});
