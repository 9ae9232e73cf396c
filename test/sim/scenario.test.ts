import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { formatDuration, loadScenario, parseDuration, parseScenario, ScenarioError, SCENARIO_INVALID } from '../../src/sim/scenario';
import { tempDir } from '../helpers';

const FILE = '/scenarios/test.yaml';
const parse = (yaml: string) => parseScenario(yaml, FILE);
/** The error message for invalid YAML. */
const errorOf = (yaml: string): string => {
  try {
    parse(yaml);
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as ScenarioError).code).toBe(SCENARIO_INVALID);
    return (err as Error).message;
  }
  throw new Error('expected the scenario to be refused');
};

const CALL = `calls:
  - id: tony
    to: "+14255550100"
`;

describe('durations', () => {
  it.each([
    ['0s', 0],
    [0, 0],
    ['150ms', 150],
    ['2s', 2_000],
    ['1.5s', 1_500],
    ['2m', 120_000],
    ['1m30s', 90_000],
    ['13h', 46_800_000],
    ['60d', 5_184_000_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '5', '2 s', 's', '1x', 'ms5', -1, 3])('refuses %p', (text) => expect(parseDuration(text)).toBeUndefined());

  it('formats back', () => {
    expect([150, 2_000, 1_500, 60_000, 90_000, 120_000, 46_800_000, 5_184_000_000, 1_786].map(formatDuration)).toEqual([
      '150ms',
      '2s',
      '1.5s',
      '60s',
      '90s',
      '2m',
      '13h',
      '60d',
      '1786ms',
    ]);
  });
});

describe('parseScenario', () => {
  it('reads the format of the issue, with defaults and normalised steps', () => {
    const s = parse(`
name: first-time user signs in
config: ../config/contoso.yaml
calls:
  - id: tony
    from: "+14255550123"
    to: "+14255550100"
    diversion: "51234"
    start: 2s
    steps:
      - expectPrompt: welcome
      - expectPrompt: { id: enter-pin, within: 2m }
      - expectPrompt: tone:beep
        within: 5s
      - dtmf: "51234"
      - dtmf: { digits: "1#", gap: 1s }
      - dtmf: "*"
        gap: 300ms
      - wait: 2s
      - speak: { seconds: 3 }
      - speak: 1500ms
      - expectRecording: true
      - expectHangup: { within: 30s }
  - id: anon
    to: "+14255550199"
    steps:
      - hangup: true
advance: 13h
expect:
  - mailbox: tony@contoso.com
    pinExpired: false
    firstTimeUser: false
    lockedOut: false
    voiceMessages: { total: 1, unheard: 1 }
    greetingRecorded: true
  - email: { to: tony@contoso.com, contains: "PIN" }
  - result: { call: tony, is: signed-out }
  - missedCalls: { identity: david@contoso.com, count: 2 }
`);
    expect(s.file).toBe(FILE);
    expect(s.config).toBe('/config/contoso.yaml');
    expect(s.advanceMs).toBe(46_800_000);
    expect(s.timeoutMs).toBe(4 * 3_600_000);
    expect(s.calls[0]).toMatchObject({ id: 'tony', from: '+14255550123', to: '+14255550100', diversion: '51234', startMs: 2_000 });
    expect(s.calls[0].steps).toEqual([
      { kind: 'expectPrompt', id: 'welcome', withinMs: 60_000, label: 'expectPrompt: welcome' },
      { kind: 'expectPrompt', id: 'enter-pin', withinMs: 120_000, label: 'expectPrompt: enter-pin' },
      { kind: 'expectPrompt', id: 'tone:beep', withinMs: 5_000, label: 'expectPrompt: tone:beep' },
      { kind: 'dtmf', digits: '51234', gapMs: 150, label: 'dtmf: 51234' },
      { kind: 'dtmf', digits: '1#', gapMs: 1_000, label: 'dtmf: 1#' },
      { kind: 'dtmf', digits: '*', gapMs: 300, label: 'dtmf: *' },
      { kind: 'wait', ms: 2_000, label: 'wait: 2s' },
      { kind: 'speak', ms: 3_000, label: 'speak: 3s' },
      { kind: 'speak', ms: 1_500, label: 'speak: 1.5s' },
      { kind: 'expectRecording', withinMs: 60_000, label: 'expectRecording: within 60s' },
      { kind: 'expectHangup', withinMs: 30_000, label: 'expectHangup: within 30s' },
    ]);
    expect(s.calls[1]).toEqual({ id: 'anon', from: null, to: '+14255550199', startMs: 0, steps: [{ kind: 'hangup', label: 'hangup' }] });
    expect(s.expect).toEqual([
      {
        kind: 'mailbox',
        identity: 'tony@contoso.com',
        pinExpired: false,
        firstTimeUser: false,
        lockedOut: false,
        voiceMessages: { total: 1, unheard: 1 },
        greetingRecorded: true,
      },
      { kind: 'email', to: 'tony@contoso.com', contains: 'PIN' },
      { kind: 'result', call: 'tony', is: 'signed-out' },
      { kind: 'missedCalls', identity: 'david@contoso.com', count: 2 },
    ]);
  });

  it('names the file and the key path of every problem', () => {
    const msg = errorOf(`
name: broken
calls:
  - id: tony
    to: "+14255550100"
    start: soon
    steps:
      - expectPrompt: no-such-prompt
      - dtmf: "12x"
      - wait: 5
      - speak: { seconds: -1 }
      - dial: "123"
      - expectRecording: { within: never }
      - expectPrompt: welcome
        gap: 1s
expect:
  - mailbox: not-an-address
`);
    expect(msg).toContain(`${FILE}: invalid scenario`);
    expect(msg).toContain('calls[0].start: must be a duration such as 150ms, 2s, 1m30s, 13h or 60d');
    expect(msg).toContain('calls[0].steps[0].expectPrompt: unknown prompt id "no-such-prompt"');
    expect(msg).toContain('calls[0].steps[1].dtmf.digits: must be keys from 0123456789*#ABCD');
    expect(msg).toContain('calls[0].steps[2].wait: must be a duration');
    expect(msg).toContain('calls[0].steps[3].speak.seconds:');
    expect(msg).toContain(
      'calls[0].steps[4]: must be one step: one of expectPrompt, dtmf, wait, speak, hangup, expectHangup, expectRecording, expectInMeeting, expectTone, expectNoTone (found "dial")',
    );
    expect(msg).toContain('calls[0].steps[5].expectRecording.within: must be a duration');
    expect(msg).toContain('calls[0].steps[6].gap: unknown key "gap" in a expectPrompt step');
    expect(msg).toContain('expect[0].mailbox: must be a mailbox identity');
  });

  it('refuses unknown keys, missing keys, duplicate ids and steps after a hang-up', () => {
    const msg = errorOf(`
name: x
colls: []
calls:
  - id: a
    to: "1"
    steps:
      - hangup: true
      - wait: 1s
  - id: b
    to: "2"
    diversion: 51234
  - to: "3"
    steps:
      - expectHangup: { within: 1s, extra: 1 }
      - hangup: yes please
`);
    expect(msg).toContain('(top level): unknown key "colls"');
    expect(msg).toContain('calls[0].steps[0]: hangup must be the last step');
    expect(msg).toContain('calls[1].diversion: must be a quoted string, e.g. "51234"');
    expect(msg).toContain('calls[2].id: is required');
    expect(msg).toContain('calls[2].steps[0].expectHangup: unknown key "extra"');
    expect(msg).toContain('calls[2].steps[1].hangup: must be true');
  });

  it('checks call ids once the rest is valid: duplicates, and results of unknown calls', () => {
    const msg = errorOf(`name: x
calls:
  - id: a
    to: "1"
  - id: a
    to: "2"
expect:
  - result: { call: nobody, is: signed-out }
`);
    expect(msg).toContain('calls[1].id: duplicate call id "a"');
    expect(msg).toContain('expect[0].result.call: no call with id "nobody"');
  });

  it('asks for quoted keys and numbers', () => {
    expect(errorOf(`name: x\n${CALL}    steps:\n      - dtmf: 1234\n`)).toContain('calls[0].steps[0].dtmf: must be a quoted string of keys, e.g. "1234"');
    expect(errorOf(`name: x\ncalls:\n  - id: a\n    to: +14255550100\n`)).toContain('calls[0].to: must be a quoted string');
  });

  it('needs a name and at least one call, and reports YAML syntax errors', () => {
    const msg = errorOf('calls: []\n');
    expect(msg).toContain('name: is required');
    expect(msg).toContain('calls: at least one call is needed');
    expect(errorOf('name: [unclosed\n')).toMatch(/test\.yaml: not valid YAML/);
    expect(errorOf('name: *later\ncalls: &later []\n')).toMatch(/test\.yaml: not valid YAML: .*alias/i);
  });

  it('loadScenario reads a file and resolves config next to it; a missing file is a ScenarioError', () => {
    const dir = tempDir('va-scn-');
    const file = path.join(dir, 'a.yaml');
    writeFileSync(file, `name: a\nconfig: dir.yaml\n${CALL}`);
    expect(loadScenario(file).config).toBe(path.join(dir, 'dir.yaml'));
    expect(() => loadScenario(path.join(dir, 'missing.yaml'))).toThrow(/cannot read the scenario file .*missing\.yaml: ENOENT/);
  });
});
