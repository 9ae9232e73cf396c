/**
 * A virtual day of an Outlook Voice Access server's traffic (issue 22, "Parallel in-process suites"): 24 scenario
 * files, one per hour, about 50,000 calls in all, shaped like an office day (busy from 8:00 to 18:00, quiet at
 * night): sign-ins to the mailbox menu (55%), messages left by diverted callers for three mailboxes (30%), meetings (15%: the organizer
 * starts the meeting with the leader PIN at the top of the hour, participants join and stay 5 minutes), and each
 * hour one PIN change (Tony signs in for the first time: he must choose a new PIN). Each file runs on a throw-away
 * store of its own, as `simulate` runs files; run with `runScenarioFilesInWorkers` at 1 job and at N.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** The share of a day's calls in each hour (0-23): an office day, a tenth of the peak at night. */
const HOURLY_WEIGHT = [1, 1, 1, 1, 1, 2, 4, 7, 10, 10, 10, 9, 7, 9, 10, 10, 9, 7, 4, 3, 2, 2, 1, 1];

/** How many calls of each kind an hour with `calls` calls has. */
function mix(calls: number): { signIns: number; messages: number; participants: number } {
  const messages = Math.round(calls * 0.3);
  const participants = Math.round(calls * 0.15);
  return { signIns: Math.max(1, calls - messages - participants - 2), messages, participants };
}

/** `count` calls spread evenly over the hour after `startS` seconds, ms between two. */
const every = (count: number, spanS: number) => `${Math.max(1, Math.floor((spanS * 1000) / count))}ms`;

/** How many messages each of the three mailboxes gets in an hour with `messages` messages. */
const messagesPerBox = (messages: number) => Math.max(1, Math.round(messages / 3));

/** The hour's messages, left for David, Tony and Claire (Paris, French prompts) in turn: diverted callers. */
function messageCalls(messages: number): string {
  const boxes = [
    { who: 'david', extension: '51235' },
    { who: 'tony', extension: '51234' },
    { who: 'claire', extension: '4321' },
  ];
  return boxes
    .map((b, i) => {
      const count = messagesPerBox(messages);
      return `  - id: message-${b.who}
    from: "+1425555016${i}"
    to: "+14255550100"
    diversion: "${b.extension}"
    start: ${10 + i * 7}s
    repeat: { count: ${count}, every: ${every(count, 3300)} }
    steps:
      - expectRecording: true
      - speak: { seconds: 4 }
      - dtmf: "#"
      - expectPrompt: message-saved
      - expectHangup: { within: 10s }
`;
    })
    .join('');
}

function hourYaml(hour: number, calls: number): string {
  const m = mix(calls);
  const hh = String(hour).padStart(2, '0');
  return `name: virtual day ${hh}:00 (${calls} calls)
config: directory.yaml
startTime: 2026-12-07T${hh}:00:00Z
timeout: 2h
calls:
  - id: sign-in
    from: "+14255550123"
    to: "+14255550100"
    repeat: { count: ${m.signIns}, every: ${every(m.signIns, 3300)} }
    steps:
      - expectPrompt: enter-extension
      - dtmf: "51235"
      - expectPrompt: enter-pin
      - dtmf: "739164#"
      - expectPrompt: main-menu
      - dtmf: "*"
      - expectHangup: true
${messageCalls(m.messages)}  - id: organizer
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
      - wait: 58m
      - hangup: true
  - id: participant
    from: "+14255550130"
    to: "+14255550199"
    start: 1m
    repeat: { count: ${m.participants}, every: ${every(m.participants, 3000)} }
    steps:
      - expectPrompt: conf-welcome
      - dtmf: "4455667#"
      - expectPrompt: { id: conf-joining, within: 1m }   # the meeting has started: no organizer question
      - wait: 5m
      - hangup: true
  - id: pin-change
    from: "+14255550121"
    to: "+14255550100"
    start: 30m
    steps:
      - expectPrompt: enter-extension
      - dtmf: "51234"
      - expectPrompt: enter-pin
      - dtmf: "483920#"
      - expectPrompt: first-time-welcome
      - expectPrompt: enter-new-pin
      - dtmf: "${(271828 + hour).toString()}#"
      - expectPrompt: reenter-new-pin
      - dtmf: "${(271828 + hour).toString()}#"
      - expectPrompt: pin-changed
      - hangup: true
`;
}

/**
 * Writes the day's 24 files (and the demo directory they use) into `dir`.
 * @param totalCalls about how many calls the day has
 * @returns the files, from 00:00 to 23:00, and the number of calls they hold
 */
export function writeVirtualDay(dir: string, directoryFile: string, totalCalls = 50_000): { files: string[]; calls: number } {
  copyFileSync(directoryFile, path.join(dir, 'directory.yaml'));
  const weights = HOURLY_WEIGHT.reduce((a, b) => a + b, 0);
  const files: string[] = [];
  let calls = 0;
  HOURLY_WEIGHT.forEach((w, hour) => {
    const n = Math.max(10, Math.round((totalCalls * w) / weights));
    const m = mix(n);
    calls += m.signIns + 3 * messagesPerBox(m.messages) + m.participants + 2;
    const file = path.join(dir, `day-${String(hour).padStart(2, '0')}.yaml`);
    writeFileSync(file, hourYaml(hour, n));
    files.push(file);
  });
  return { files, calls };
}
