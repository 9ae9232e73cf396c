/**
 * The shared port contracts against the embedded engine (real sockets on 127.0.0.x).
 */
import type { IncomingCall } from '../../src/ports/call-channel';
import { describeCallSourceContract } from './call-source-contract';
import { makeEmbeddedCallHarness } from './embedded-harness';
import { makeEmbeddedMwiHarness } from './embedded-mwi-harness';
import { describeMwiContract } from './mwi-contract';

describeCallSourceContract('embedded SIP', makeEmbeddedCallHarness);

if (makeEmbeddedMwiHarness) describeMwiContract('embedded SIP', makeEmbeddedMwiHarness);
else describe.skip('MWI ports contract: embedded SIP (waiting for the embedded MWI implementation: fill in test/contract/embedded-mwi-harness.ts)', () => test.todo('embedded MWI harness'));

describe('embedded SIP: answer() and the ACK', () => {
  test("answer() resolves when the caller's ACK confirms the 200 OK, not when the 200 OK leaves", async () => {
    const h = await makeEmbeddedCallHarness();
    try {
      const announced: IncomingCall[] = [];
      h.source.onCall((c) => announced.push(c));
      const caller = await h.call({ gateway: 'enabled', to: '14255550100' });
      for (let i = 0; i < 100 && announced.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      const call = announced[0];
      let answered = false;
      const answering = call.channel.answer().then(() => (answered = true));
      await new Promise((r) => setTimeout(r, 300)); // the 200 OK is out (and retransmitted), no ACK yet
      expect(answered).toBe(false);
      expect((await caller.final()).status).toBe(200); // reads the 200 OK and ACKs it
      await answering;
      expect(answered).toBe(true);
      await call.channel.hangup();
      await caller.byeFromIvr();
    } finally {
      await h.close();
    }
  });
});
