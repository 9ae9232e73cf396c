/**
 * The shared port contracts against the drachtio adapter on a REAL drachtio-server (one per file, started in
 * beforeAll), with real SIP from 127.0.0.x. Skipped, with one line naming what is missing, when no drachtio-server
 * binary is found (`DRACHTIO_BIN`, PATH, /opt/drachtio/bin: test/helpers/real-servers.ts). To look at what
 * drachtio-server saw: `DRACHTIO_LOGLEVEL=info E2E_KEEP=1` keeps its log (every SIP message) in /tmp/va-drachtio-server-*;
 * `SIP_TEST_LOG=debug` shows the adapter's log.
 */
import type { IncomingCall } from '../../src/ports/call-channel';
import { closedPort } from '../helpers';
import { describeWithServers, startDrachtio, type RunningDrachtio } from '../helpers/real-servers';
import { describeCallSourceContract } from './call-source-contract';
import { makeRealDrachtioCallHarness, makeRealDrachtioMwiHarness } from './drachtio-real-harness';
import { describeMwiContract } from './mwi-contract';

/** Polls `pred` every 10 ms; rejects after 3 s. */
async function until(pred: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describeWithServers(['drachtio-server'], 'drachtio adapter on a real drachtio-server', () => {
  let server: RunningDrachtio | undefined;
  beforeAll(async () => {
    server = await startDrachtio();
  }, 40_000);
  afterAll(async () => {
    await server?.stop();
  });
  const running = (): RunningDrachtio => {
    if (!server) throw new Error('drachtio-server did not start (see beforeAll)');
    return server;
  };

  describeCallSourceContract('drachtio (real drachtio-server)', () => makeRealDrachtioCallHarness(running()));
  describeMwiContract('drachtio (real drachtio-server)', () => makeRealDrachtioMwiHarness(running()));

  describe('what only a real drachtio-server shows', () => {
    test("answer() resolves when the caller's ACK confirms the 200 OK, not when the 200 OK leaves", async () => {
      const h = await makeRealDrachtioCallHarness(running());
      try {
        const calls: IncomingCall[] = [];
        h.source.onCall((c) => calls.push(c));
        const caller = await h.call({ gateway: 'enabled', to: '14255550100' });
        await until(() => calls.length === 1, 'the call');
        let answered = false;
        const answering = calls[0].channel.answer().then(() => (answered = true));
        await new Promise((r) => setTimeout(r, 300)); // the 200 OK is out (drachtio-server retransmits it), no ACK yet
        expect(answered).toBe(false);
        expect((await caller.final()).status).toBe(200); // reads the 200 OK and ACKs it
        await answering;
        expect(answered).toBe(true);
        await calls[0].channel.hangup();
        await caller.byeFromIvr();
      } finally {
        await h.close();
      }
    });

    test('stop(): an answered call gets a BYE, one not answered yet 503; once detached, drachtio-server answers 503 itself', async () => {
      const h = await makeRealDrachtioCallHarness(running());
      try {
        const calls: IncomingCall[] = [];
        h.source.onCall((c) => calls.push(c));
        const answered = await h.call({ gateway: 'enabled', to: '14255550100' });
        await until(() => calls.length === 1, 'the first call');
        const answering = calls[0].channel.answer();
        expect((await answered.final()).status).toBe(200);
        await answering;
        const ringing = await h.call({ gateway: 'enabled', to: '14255550100' });
        await until(() => calls.length === 2, 'the second call');
        await h.signalling.stop();
        await answered.byeFromIvr();
        expect((await ringing.final()).status).toBe(503);
        expect(calls.map((c) => c.channel.ended)).toEqual([true, true]);
        await new Promise((r) => setTimeout(r, 50)); // drachtio-server notices the closed admin connection
        const late = await h.call({ gateway: 'enabled', to: '14255550100' });
        expect((await late.final()).status).toBe(503);
        expect(calls).toHaveLength(2);
      } finally {
        await h.close();
      }
    });

    test("a TCP gateway that refuses the connection: drachtio-server's SIP stack answers the NOTIFY with a failure status", async () => {
      const h = await makeRealDrachtioMwiHarness(running());
      try {
        const port = await closedPort();
        const result = await h.transport.sendNotify({ host: '127.0.0.1', port, transport: 'tcp', extension: '51234', body: 'Messages-Waiting: no\r\n' });
        expect(result).toEqual({ status: 503, reason: 'Service Unavailable' }); // what sofia-sip synthesizes
      } finally {
        await h.close();
      }
    });
  });
});
