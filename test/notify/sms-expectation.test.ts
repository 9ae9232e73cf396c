/**
 * The scenario format's `sms` expectation (`expect: - sms: {to, contains, count}`): parsing, its errors, and how it
 * is checked against the texts of a run (in-process: what the provider accepted; over the network: the file sink).
 */
import { checkExpectations, type SentSms } from '../../src/sim/runner';
import { parseScenario, ScenarioError } from '../../src/sim/scenario';

const FILE = '/scenarios/test.yaml';
const CALL = `calls:
  - id: caller
    to: "51235"
`;

const parse = (expectations: string) => parseScenario(`name: t\n${CALL}expect:\n${expectations}`, FILE);
const errorOf = (expectations: string): string => {
  try {
    parse(expectations);
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return (err as Error).message;
  }
  throw new Error('expected the scenario to be refused');
};

test('parses to, contains and count', () => {
  const s = parse(`  - sms: { to: "+14255550112", contains: "Voice message from", count: 1 }\n  - sms: { to: "14255550111" }\n`);
  expect(s.expect).toEqual([
    { kind: 'sms', to: '+14255550112', contains: 'Voice message from', count: 1 },
    { kind: 'sms', to: '14255550111' },
  ]);
});

test('refuses an unquoted number, a non-number, unknown keys and a negative count, naming the key path', () => {
  expect(errorOf(`  - sms: { to: +14255550112 }\n`)).toContain('expect[0].sms.to: must be a quoted string, e.g. "+14255550112"');
  expect(errorOf(`  - sms: { to: "david@contoso.com" }\n`)).toContain('expect[0].sms.to: must be a telephone number');
  expect(errorOf(`  - sms: { to: "+1425", subject: "x" }\n`)).toMatch(/expect\[0\]\.sms: .*subject/);
  expect(errorOf(`  - sms: { to: "+1425", count: -1 }\n`)).toContain('expect[0].sms.count');
  expect(errorOf(`  - text: { to: "+1425" }\n`)).toMatch(/must be one expectation: one of .*\bsms\b/);
});

describe('checking', () => {
  const scenario = parse(
    [
      `  - sms: { to: "+14255550112", contains: "Voice message", count: 1 }`,
      `  - sms: { to: "14255550112" }`,
      `  - sms: { to: "+14255550111", count: 0 }`,
      `  - sms: { to: "+14255550112", contains: "Missed call" }`,
      `  - sms: { to: "+14255550112", count: 2 }`,
      '',
    ].join('\n'),
  );
  const texts: SentSms[] = [{ at: 1000, to: '+14255550112', text: 'Voice message from +14255550123, Mon, Jan 6, 9:00 AM, 4 s.' }];
  const base = { store: { unavailable: 'n/a' }, mails: [], calls: [] };

  it('matches numbers by their digits and texts by substring; reports what was sent', async () => {
    expect((await checkExpectations(scenario, { ...base, sms: texts })).failures).toEqual([
      'expect[3] (sms to +14255550112 containing "Missed call"): no such text; texts sent: to +14255550112 "Voice message from +14255550123, Mon, Jan 6, 9:00 AM, 4 s."',
      'expect[4] (sms to +14255550112): 1 such text, expected 2; texts sent: to +14255550112 "Voice message from +14255550123, Mon, Jan 6, 9:00 AM, 4 s."',
    ]);
  });

  it('fails with the reason when texts cannot be known (e.g. a webhook provider over the network)', async () => {
    const out = (await checkExpectations(scenario, { ...base, sms: { unavailable: 'the server sends texts to a webhook' } })).failures;
    expect(out).toHaveLength(5);
    expect(out[0]).toBe('expect[0] (sms to +14255550112 containing "Voice message"): the server sends texts to a webhook');
  });

  it('without a source of texts, says so', async () => {
    expect((await checkExpectations(scenario, base)).failures[0]).toContain('texts are not known to this runner');
  });
});
