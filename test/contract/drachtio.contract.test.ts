/**
 * The shared port contracts against the drachtio adapter, on a fake of its drachtio-srf wrapper (no drachtio-server
 * can be installed here; see test/sip/drachtio/fake-srf.ts).
 */
import { describeCallSourceContract } from './call-source-contract';
import { makeDrachtioCallHarness, makeDrachtioMwiHarness } from './drachtio-harness';
import { describeMwiContract } from './mwi-contract';

describeCallSourceContract('drachtio (fake drachtio-srf)', makeDrachtioCallHarness);
describeMwiContract('drachtio (fake drachtio-srf)', makeDrachtioMwiHarness);
