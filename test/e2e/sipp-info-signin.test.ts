/**
 * Outlook Voice Access sign-in with SIP INFO digits (`application/dtmf-relay`, `Signal=5` / `Duration=160`), SIPp
 * as the caller with its default offer (PCMU only, no telephone-event), over UDP and over TCP. Checked from the server
 * side: the CallRecord, the main menu heard, every key received once. Run on each engine (embedded, drachtio,
 * drachtio with FreeSWITCH media: there the INFO reaches drachtio and is merged with FreeSWITCH's digits).
 */
import { describeCall, describeEngines, expectSippSuccess, heardIds, heardPrompt, receivedKeys, sippCall, startIvrServer, type IvrServer } from './helpers/ivr-server';

jest.setTimeout(40_000);

describeEngines('OVA sign-in with SIP INFO digits', (engine) => {
  let t: IvrServer;

  beforeAll(async () => {
    t = await startIvrServer({ engine });
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  }, 30_000);

  test.each(['u1', 't1'] as const)('david signs in with SIP INFO digits (transport %s) and hears the main menu', async (transport) => {
    const n = t.calls.length;
    const run = await sippCall(t, 'signin-info-david.xml', { transport });
    expectSippSuccess(t, run);
    const call = await t.ended(n);
    const why = describeCall(call);
    expect({ why, record: call.record }).toEqual({ why, record: { callId: call.callId, flow: 'sign-in', result: 'signed-out', identity: 'david@contoso.com' } });
    expect({ why, keys: receivedKeys(call) }).toEqual({ why, keys: '51235739164#*' });
    const ids = heardIds(call);
    expect({ why, ids }).toEqual({ why, ids: expect.arrayContaining(['no-new-messages', 'main-menu', 'goodbye']) });
    const menu = heardPrompt(call, 'main-menu')!;
    expect(menu.heardMs ?? menu.durationMs).toBeGreaterThanOrEqual(1000);
    expect(await t.server.app.store.getMailbox('david@contoso.com')).toMatchObject({ logonFailures: 0, lockedOut: false });
  });
});
