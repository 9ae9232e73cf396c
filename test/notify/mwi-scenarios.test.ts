/**
 * The scenario format's MWI parts (issue 5): `mwiGateways:` scripts the simulated UM IP gateways, `expect: - mwi:`
 * checks what they received; a wrong expectation fails with what was sent; an unknown gateway name is reported.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { runScenario } from '../../src/sim/runner';
import { tempDir } from '../helpers';

const leaveMessage = `calls:
  - id: caller
    from: "+14255550123"
    to: "+14255550100"
    diversion: "51235"
    steps:
      - expectRecording: true
      - speak: { seconds: 2 }
      - hangup: true
`;

async function run(body: string) {
  const dir = tempDir('va-mwi-scn-');
  const file = path.join(dir, 's.yaml');
  writeFileSync(file, `name: mwi\n${body}`);
  return runScenario(file);
}

test('a delivered NOTIFY is checked field by field; a mismatch names the NOTIFYs sent', async () => {
  const ok = await run(`${leaveMessage}expect:\n  - mwi: { extension: "51235", gateway: gw1, delivered: 1, messagesWaiting: true, newMessages: 1, oldMessages: 0 }\n`);
  expect(ok.failures).toEqual([]);
  const wrong = await run(`${leaveMessage}expect:\n  - mwi: { extension: "51235", gateway: gw1, newMessages: 2 }\n  - mwi: { extension: "51235", gateway: gw2, delivered: 1 }\n`);
  expect(wrong.failures).toEqual([
    'expect[0] (MWI for 51235 at gw1): newMessages is 1, expected 2; NOTIFYs: 51235@gw1 200 yes 1/0',
    'expect[1] (MWI for 51235 at gw2): delivered is 0, expected 1; NOTIFYs: 51235@gw1 200 yes 1/0',
  ]);
});

test('coalescing in a scenario: a gateway that is slow to fail still ends with the latest state', async () => {
  const r = await run(`mwiGateways: { gw1: timeout }
${leaveMessage}  - id: second
    from: "+14255550124"
    to: "+14255550100"
    diversion: "51235"
    start: 10s
    steps:
      - expectRecording: true
      - speak: { seconds: 2 }
      - hangup: true
expect:
  - mwi: { extension: "51235", gateway: gw2, newMessages: 2, messagesWaiting: true }
`);
  expect(r.failures).toEqual([]);
});

test('an unknown gateway in mwiGateways is a failure naming it', async () => {
  const r = await run(`mwiGateways: { gw9: 480 }\n${leaveMessage}`);
  expect(r.failures).toContain('mwiGateways: no UM IP gateway named "gw9" in the directory');
});
