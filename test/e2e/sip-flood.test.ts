/**
 * A SIP flood from one address against the running server (issue 19, "SIP input"; Kamailio's pike): 127.0.0.3
 * (not a UM IP gateway) sends OPTIONS and INVITEs as fast as it can while the gateway at 127.0.0.1 places sign-in
 * calls with SIPp. The directory's `sip.floodLimit` is the default (50 new requests a second per address, then a
 * minute of silence; gateways 20,000). What must hold: every gateway call succeeds and runs the sign-in flow; the
 * flooder gets at most 50 answers; the rest is dropped and counted; the log has exactly one line for 127.0.0.3.
 */
import * as dgram from 'node:dgram';
import { counterValue, metrics } from '../../src/metrics';
import { message, randomToken } from '../sip/helpers/raw-sip';
import { runSipp } from '../sip/helpers/sipp';
import { describeCall, expectSippSuccess, startIvrServer, type IvrServer } from './helpers/ivr-server';

jest.setTimeout(60_000);

const FLOOD_MAX = 4000;
const GATEWAY_CALLS = 4;

let t: IvrServer;
let flooder: dgram.Socket;

beforeAll(async () => {
  t = await startIvrServer();
  flooder = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => flooder.bind(0, '127.0.0.3', resolve));
});
afterAll(async () => {
  await new Promise<void>((resolve) => flooder?.close(() => resolve()));
  await t?.stop();
});

test('a flood from 127.0.0.3 is dropped after 50 requests, logged once; the gateway calls at 127.0.0.1 all succeed', async () => {
  expect(t.server.engine).toBe('embedded');
  // Call-IDs answered (a 403 to an INVITE is retransmitted until an ACK that a flooder never sends: count it once).
  const answered = new Set<string>();
  flooder.on('message', (m) => answered.add(/\r\nCall-ID: *([^\r]*)/i.exec(m.toString('latin1'))?.[1] ?? ''));
  const me = (flooder.address() as { port: number }).port;
  const before = await counterValue(metrics.sipRejected, { reason: 'flood' });
  const { address, port } = t.target;

  let flooding = true;
  let sent = 0;
  const flood = (async () => {
    while (flooding && sent < FLOOD_MAX) {
      for (let i = 0; i < 50 && sent < FLOOD_MAX; i++, sent++) {
        const method = sent % 3 === 0 ? 'INVITE' : 'OPTIONS';
        const text = message(`${method} sip:14255550100@${address}:${port} SIP/2.0`, [
          ['Via', `SIP/2.0/UDP 127.0.0.3:${me};branch=z9hG4bK${randomToken()};rport`],
          ['Max-Forwards', '70'],
          ['From', `<sip:scanner@127.0.0.3>;tag=${randomToken(4)}`],
          ['To', `<sip:14255550100@${address}>`],
          ['Call-ID', `flood-${sent}-${randomToken()}`],
          ['CSeq', `1 ${method}`],
          ['Contact', `<sip:scanner@127.0.0.3:${me}>`],
        ]);
        flooder.send(Buffer.from(text, 'latin1'), port, address);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  const n = t.calls.length;
  const run = await runSipp({ scenario: { builtin: 'uac' }, target: t.target, service: '14255550100', transport: 'u1', calls: GATEWAY_CALLS, rate: 2, timeoutS: 30, killAfterMs: 40_000 });
  flooding = false;
  await flood;
  await new Promise((r) => setTimeout(r, 300));

  const dropped = (await counterValue(metrics.sipRejected, { reason: 'flood' })) - before;
  const logged = t.logs.filter((l) => l.includes('sip flood'));
  console.log(`sip-flood: ${JSON.stringify({ floodSent: sent, floodAnswered: answered.size, dropped, gatewayCalls: run.successful, logLines: logged.length })}`);

  expectSippSuccess(t, run, GATEWAY_CALLS);
  const gatewayCalls = t.calls.slice(n).filter((c) => c.sourceAddress?.startsWith('127.0.0.1:'));
  expect(gatewayCalls).toHaveLength(GATEWAY_CALLS);
  for (const call of gatewayCalls) {
    await call.done;
    const why = describeCall(call);
    expect({ why, flow: call.record!.flow, first: call.channel.heard[0]?.id }).toEqual({ why, flow: 'sign-in', first: 'welcome' });
  }
  expect(sent).toBeGreaterThan(1000);
  expect(answered.size).toBeLessThanOrEqual(50);
  expect(answered.size).toBeGreaterThan(0);
  expect(dropped).toBeGreaterThanOrEqual(sent - 50);
  expect(logged).toHaveLength(1);
  expect(JSON.parse(logged[0])).toMatchObject({ level: 40, address: '127.0.0.3', gateway: false, requests: 50, blockMs: 60_000 });
  expect(t.errors).toEqual([]);
});
