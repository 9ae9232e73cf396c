/**
 * MaxCallsAllowed (`sip.maxCallsAllowed`, Exchange's `Set-UMService -MaxCallsAllowed`) on the real server: once that
 * many calls are up, a new INVITE from a UM IP gateway gets 503 Service Unavailable with the configured Retry-After,
 * and nothing is allocated for it (a stranger still gets 403); when a call ends, new calls are taken again.
 */
import * as path from 'node:path';
import { startServer, type RunningServer } from '../../src/cli/serve';
import { createLogger } from '../../src/log';
import { DEFAULT_OFFER } from '../contract/call-source-contract';
import { h, RawCall, UdpPeer } from '../sip/helpers/raw-sip';
import { waitFor } from '../sip/helpers/test-server';
import { tempDir, writeConfig } from '../helpers';

let server: RunningServer;
let peer: UdpPeer;

beforeAll(async () => {
  const dir = tempDir('va-maxcalls-');
  server = await startServer({
    config: writeConfig(dir, (doc) => {
      doc.sip = { maxCallsAllowed: 1, retryAfterSeconds: 7 };
    }),
    data: path.join(dir, 'data'),
    sipHost: '127.0.0.1',
    sipPort: 0,
    rtpPortMin: 0,
    rtpPortMax: 0,
    logger: createLogger({ level: 'silent' }),
  });
  peer = await UdpPeer.open({ address: '127.0.0.1', port: server.sip.port });
});
afterAll(async () => {
  await peer?.close();
  await server?.stop();
});

/** Sends the INVITE and waits for its final response. */
async function place(call: RawCall) {
  peer.send(call.invite(DEFAULT_OFFER));
  return peer.expect((m) => m.status !== undefined && m.status >= 200 && h(m, 'call-id') === call.callId, 5000, `final response to ${call.callId}`);
}

test('the call over MaxCallsAllowed gets 503 with Retry-After; a call is taken again once one has ended', async () => {
  const target = { address: '127.0.0.1', port: server.sip.port };
  const first = new RawCall(peer, target, '14255550100');
  const ok = await place(first);
  expect(ok.status).toBe(200);
  first.learn(ok);
  peer.send(first.ack());
  expect(server.media.sessionCount).toBe(1);

  const second = new RawCall(peer, target, '14255550100');
  const refused = await place(second);
  expect(refused.status).toBe(503);
  expect(h(refused, 'retry-after')).toBe('7');
  expect(server.load.refused).toBe(1);
  expect(server.media.sessionCount).toBe(1); // no RTP session for the refused call
  peer.send(second.ack(true));

  // A source that is no UM IP gateway is refused 403 whatever the load, and does not count as a refusal for load.
  const stranger = await UdpPeer.open(target, '127.0.0.3');
  try {
    const call = new RawCall(stranger, target, '14255550100');
    stranger.send(call.invite(DEFAULT_OFFER));
    const forbidden = await stranger.expect((m) => m.status !== undefined && m.status >= 200, 5000, 'the final response to the stranger');
    expect(forbidden.status).toBe(403);
    expect(h(forbidden, 'retry-after')).toBe('');
    stranger.send(call.ack(true));
  } finally {
    await stranger.close();
  }
  expect(server.load.refused).toBe(1);

  peer.send(first.inDialog('BYE'));
  await peer.expect((m) => m.status === 200 && h(m, 'call-id') === first.callId && /BYE/.test(h(m, 'cseq')), 5000, '200 to the BYE');
  await waitFor(() => server.media.sessionCount === 0, 5000, 'the first call to end');

  const third = new RawCall(peer, target, '14255550100');
  const again = await place(third);
  expect(again.status).toBe(200);
  third.learn(again);
  peer.send(third.ack());
  peer.send(third.inDialog('BYE'));
  await peer.expect((m) => m.status === 200 && h(m, 'call-id') === third.callId && /BYE/.test(h(m, 'cseq')), 5000, '200 to the BYE');
  expect(server.load.refused).toBe(1);
}, 30_000);
