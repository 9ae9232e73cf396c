/**
 * In-process and network runs agree on when a caller is in the meeting (issue 22, "Other testers' needs"): the flow
 * plays `conf-joining`, and the bridge takes the caller in when it ends. A tone the participant starts as soon as
 * `conf-joining` starts keeps sounding through the join, so the organizer hears the rest of it: over the network
 * (the caller's RTP flows on into the mix) and, since this fix, in-process too (the simulated caller's voice sounds
 * whether or not it is in the room yet). The same scenario file passes both ways.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { runScenarioOverNetwork } from '../../../src/sim/net/net-runner';
import { formatTranscript, runScenario, type ScenarioReport } from '../../../src/sim/runner';
import { tempDir } from '../../helpers';
import { startServerFor } from './net-helpers';

jest.setTimeout(120_000);

const SCENARIO = `name: a tone started during conf-joining is heard once the caller is in the meeting
calls:
  - id: organizer
    from: "+14255550131"
    to: "+14255550199"
    steps:
      - expectPrompt: conf-welcome
      - dtmf: "4455667#"
      - expectPrompt: conf-organizer-question
      - dtmf: "*"
      - expectPrompt: conf-enter-leader-pin
      - dtmf: "90210#"
      - expectPrompt: conf-joining
      - expectTone: { hz: 1200, within: 40s }   # the participant's tone, started during its conf-joining
      - hangup: true
  - id: participant
    from: "+14255550130"
    to: "+14255550199"
    start: 15s                                  # the meeting has started: no organizer question, no lobby
    steps:
      - expectPrompt: conf-welcome
      - dtmf: "4455667#"
      - expectPrompt: conf-joining
      - speak: { toneHz: 1200, seconds: 6 }     # at once: longer than conf-joining, so it outlasts the join
      - hangup: true
expect:
  - result: { call: organizer, is: left }
`;

function explain(r: ScenarioReport): string {
  return `${r.failures.join('\n')}\n${r.calls.map(formatTranscript).join('\n')}`;
}

test('the organizer hears a tone the participant starts during conf-joining, in-process and over the network', async () => {
  const dir = tempDir('va-conf-join-');
  const file = path.join(dir, 'tone-at-join.yaml');
  writeFileSync(file, SCENARIO);

  const inProcess = await runScenario(file);
  expect({ passed: inProcess.passed, why: explain(inProcess) }).toEqual({ passed: true, why: expect.any(String) });
  // Heard from the moment the participant was in the room: when its conf-joining ended, not when the tone began.
  const organizer = inProcess.calls.find((c) => c.id === 'organizer')!;
  expect(formatTranscript(organizer)).toMatch(/hears a 1200 Hz tone from participant/);

  const server = await startServerFor(file);
  try {
    const network = await runScenarioOverNetwork(file, { target: server.target(), data: server.data, config: server.config, results: server.results });
    expect({ passed: network.passed, why: explain(network) }).toEqual({ passed: true, why: expect.any(String) });
  } finally {
    await server.stop();
  }
});

const IN_MEETING = `name: expectInMeeting waits until the bridge has taken the caller in
calls:
  - id: organizer
    from: "+14255550131"
    to: "+14255550199"
    steps:
      - expectPrompt: conf-welcome
      - dtmf: "4455667#"
      - expectPrompt: conf-organizer-question
      - dtmf: "*"
      - expectPrompt: conf-enter-leader-pin
      - dtmf: "90210#"
      - expectInMeeting: { within: 30s }
      - expectTone: { hz: 900, within: 40s }
      - hangup: true
  - id: participant
    from: "+14255550130"
    to: "+14255550199"
    start: 15s
    steps:
      - expectPrompt: conf-welcome
      - dtmf: "4455667#"
      - expectInMeeting: true
      - speak: { toneHz: 900, seconds: 2 }        # all of it heard: the caller is in the meeting
      - hangup: true
  - id: not-a-meeting
    from: "+14255550123"
    to: "+14255550100"
    steps:
      - expectPrompt: welcome
      - expectInMeeting: { within: 5s }
expect:
  - result: { call: organizer, is: left }
`;

test('expectInMeeting passes once the bridge has the caller, in-process and over the network, and fails on a call with no meeting', async () => {
  const dir = tempDir('va-in-meeting-');
  const file = path.join(dir, 'in-meeting.yaml');
  writeFileSync(file, IN_MEETING);
  const notInMeeting = expect.stringMatching(/^call not-a-meeting, step 2 \(expectInMeeting: within 5s\): the caller was not in the meeting within 5s/);
  const inProcess = await runScenario(file);
  expect(inProcess.failures).toEqual([notInMeeting]);
  const organizer = inProcess.calls.find((c) => c.id === 'organizer')!;
  expect(formatTranscript(organizer)).toMatch(/hears a 900 Hz tone from participant/);

  const server = await startServerFor(file);
  try {
    const network = await runScenarioOverNetwork(file, { target: server.target(), data: server.data, config: server.config, results: server.results });
    expect({ failures: network.failures, why: explain(network) }).toEqual({ failures: [notInMeeting], why: expect.any(String) });
  } finally {
    await server.stop();
  }
});
