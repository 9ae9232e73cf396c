/**
 * EmbeddedSipServer against SIPp (`sip-tester`), the independent caller: its built-in `uac` scenario over UDP and TCP,
 * and the scenarios in test/sip/sipp/. Fails (does not skip) when SIPp is missing.
 */
import { RawCall, TcpPeer, UdpPeer, isStatus } from './helpers/raw-sip';
import * as offers from './helpers/offers';
import { describeRun, requireSipp, runSipp, type SippOptions, type SippRun } from './helpers/sipp';
import { startTestServer, waitFor, type TestSipServer } from './helpers/test-server';

jest.setTimeout(60_000);

let t: TestSipServer;

beforeAll(async () => {
  t = await startTestServer();
});

afterAll(async () => {
  await t?.stop();
});

function sipp(o: Omit<SippOptions, 'target'>): Promise<SippRun> {
  return runSipp({ target: t.target, ...o });
}

/** SIPp exited 0 with `calls` successful calls and no failed one; otherwise fails with SIPp's own account. */
function expectAllSuccessful(r: SippRun, calls: number): void {
  if (r.code !== 0 || r.successful !== calls || r.failed !== 0) throw new Error(`expected ${calls} successful calls: ${describeRun(r)}`);
}

test('SIPp is installed (apt-get install -y sip-tester)', () => {
  expect(() => requireSipp()).not.toThrow();
});

test('sipp -sn uac over UDP: 5 calls, all successful', async () => {
  const before = t.calls.length;
  const r = await sipp({ scenario: { builtin: 'uac' }, service: '5000', calls: 5, rate: 5 });
  expectAllSuccessful(r, 5);
  const calls = t.calls.slice(before);
  expect(calls).toHaveLength(5);
  expect(calls.every((c) => c.invite.toUser === '5000' && c.invite.fromUser === 'sipp' && c.invite.source.transport === 'udp')).toBe(true);
  await waitFor(() => calls.every((c) => c.ended?.by === 'remote'), 3000, 'all calls ended by BYE');
});

test('sipp -sn uac over TCP (-t t1): 5 calls, all successful', async () => {
  const before = t.calls.length;
  const r = await sipp({ scenario: { builtin: 'uac' }, service: '5001', transport: 't1', calls: 5, rate: 5 });
  expectAllSuccessful(r, 5);
  expect(t.calls.slice(before).every((c) => c.invite.source.transport === 'tcp')).toBe(true);
});

test('sipp -sn uac, a burst over UDP and TCP: 200 calls at 200/s each, no failure', async () => {
  const [u, k] = await Promise.all([
    sipp({ scenario: { builtin: 'uac' }, service: '5002', calls: 200, rate: 200 }),
    sipp({ scenario: { builtin: 'uac' }, service: '5003', transport: 't1', calls: 200, rate: 200 }),
  ]);
  expectAllSuccessful(u, 200);
  expectAllSuccessful(k, 200);
});

test('late ACK (SIPp waits 1.2 s): our 200 OK is retransmitted until the ACK and the call succeeds', async () => {
  const before = t.server.stats.retransmitted2xx;
  const r = await sipp({ scenario: { file: 'uac-late-ack.xml' }, service: '5004', calls: 2, rate: 10 });
  expectAllSuccessful(r, 2);
  expect(t.server.stats.retransmitted2xx - before).toBeGreaterThanOrEqual(2);
});

test('404 for an unknown number', async () => {
  const r = await sipp({ scenario: { file: 'uac-rejected-404.xml' }, service: '404', calls: 2 });
  expectAllSuccessful(r, 2);
});

test('403 for a source that is not a gateway (SIPp on 127.0.0.2)', async () => {
  const r = await sipp({ scenario: { file: 'uac-rejected-403.xml' }, service: '5000', calls: 2, localAddress: '127.0.0.2' });
  expectAllSuccessful(r, 2);
  expect(t.calls.filter((c) => c.invite.source.address === '127.0.0.2').length).toBeGreaterThanOrEqual(2);
});

test('CANCEL while ringing: 200 to CANCEL, 487 to INVITE, the application told', async () => {
  const before = t.calls.length;
  const r = await sipp({ scenario: { file: 'uac-cancel.xml' }, service: 'ring', calls: 3, rate: 10 });
  expectAllSuccessful(r, 3);
  expect(t.calls.slice(before).map((c) => c.cancelled)).toEqual([true, true, true]);
});

test('SIP INFO digit reaches onInfo; then our BYE ends the call (UDP and TCP)', async () => {
  for (const transport of ['u1', 't1'] as const) {
    const before = t.calls.length;
    const r = await sipp({ scenario: { file: 'uac-info-then-uas-bye.xml' }, service: 'info-bye', transport, calls: 2, rate: 10 });
    expectAllSuccessful(r, 2);
    const calls = t.calls.slice(before);
    expect(calls.map((c) => c.infos)).toEqual([
      [{ contentType: 'application/dtmf-relay', body: 'Signal=5\r\nDuration=160\r\n' }],
      [{ contentType: 'application/dtmf-relay', body: 'Signal=5\r\nDuration=160\r\n' }],
    ]);
    await waitFor(() => calls.every((c) => c.ended?.by === 'local'), 2000, 'ended by our BYE');
  }
});

test('OPTIONS health check over UDP and TCP', async () => {
  const u = await sipp({ scenario: { file: 'options.xml' }, service: 'ping', calls: 3, rate: 10 });
  const k = await sipp({ scenario: { file: 'options.xml' }, service: 'ping', transport: 't1', calls: 3, rate: 10 });
  expectAllSuccessful(u, 3);
  expectAllSuccessful(k, 3);
});

test('after garbage and truncated messages over UDP and TCP, SIPp calls still succeed', async () => {
  const u = await UdpPeer.open(t.target);
  const k = await TcpPeer.open(t.target);
  try {
    const call = new RawCall(u, t.target, 'x');
    const invite = call.invite(offers.BARESIP);
    u.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    u.send('NOT SIP AT ALL\r\n\r\n');
    u.send(invite.slice(0, 120));
    u.send(invite.slice(0, invite.length - 30));
    await u.expect(isStatus(400), 2000);
    k.send('\x00\x01garbage\r\n\r\n');
    k.send(new RawCall(k, t.target, 'y').invite(offers.BARESIP).slice(0, 200));
  } finally {
    await u.close();
    await k.close();
  }
  const [ru, rt] = await Promise.all([
    sipp({ scenario: { builtin: 'uac' }, service: '5005', calls: 3, rate: 10 }),
    sipp({ scenario: { builtin: 'uac' }, service: '5006', transport: 't1', calls: 3, rate: 10 }),
  ]);
  expectAllSuccessful(ru, 3);
  expectAllSuccessful(rt, 3);
});
