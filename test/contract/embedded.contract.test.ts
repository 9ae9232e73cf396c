/**
 * The shared port contracts against the embedded engine (real sockets on 127.0.0.x).
 */
import { describeCallSourceContract } from './call-source-contract';
import { makeEmbeddedCallHarness } from './embedded-harness';
import { makeEmbeddedMwiHarness } from './embedded-mwi-harness';
import { describeMwiContract } from './mwi-contract';

describeCallSourceContract('embedded SIP', makeEmbeddedCallHarness);

if (makeEmbeddedMwiHarness) describeMwiContract('embedded SIP', makeEmbeddedMwiHarness);
else describe.skip('MWI ports contract: embedded SIP (waiting for the embedded MWI implementation: fill in test/contract/embedded-mwi-harness.ts)', () => test.todo('embedded MWI harness'));
