/**
 * Load runs (issue 22, "Load runs"): `simulate --target ... --calls N --rate R/s ...` against the real server
 * (`startServer`, as `voice-access serve` runs it) on 127.0.0.1 and free ports: the example scenarios as a load
 * (all pass; the JSON report's counts and percentiles hold together; the JUnit XML parses; the plain progress line
 * appears when not on a terminal, the live line is redrawn in place on one), a load whose calls fail (a refused
 * number, a wrong prompt) exits 1 with failures by reason, `--max-failures` and `--duration` stop it early, and no
 * report or output holds a digit typed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { runSimulateCli } from '../../../src/cli/simulate';
import type { LoadReport } from '../../../src/sim/net/load/load-report';
import { captureIo, ROOT, tempDir } from '../../helpers';
import { sharedSignInServer } from './net-helpers';

const EXAMPLES = path.join(ROOT, 'scenarios');
const SIGN_IN = path.join(EXAMPLES, 'sign-in.yaml');
const MISSED = path.join(EXAMPLES, 'missed-call.yaml');
/** David's PIN in the demo directory, typed by sign-in.yaml: never in a load's output. */
const PIN = '739164';

const shared = sharedSignInServer('va-load-');

const udp = () => shared.udp();
const readReport = (file: string): LoadReport => JSON.parse(readFileSync(file, 'utf8'));

const scenario = (name: string, body: string) => shared.scenario(name, body);

/** A number that routes nowhere: the server refuses the call (404). */
const REFUSED = `
calls:
  - id: nowhere
    to: "19999999"
    steps:
      - expectPrompt: welcome
`;

/** Expects the main menu right after the welcome: the IVR asks for the extension instead. */
const WRONG_PROMPT = `
calls:
  - id: hasty
    from: "+14255550123"
    to: "+14255550100"
    steps:
      - expectPrompt: welcome
      - expectPrompt: { id: main-menu, within: 4s }
`;

/** p50 <= p90 <= p99 <= max, and a count. */
function ordered(l: { count: number; p50: number; p90: number; p99: number; max: number }): boolean {
  return l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max;
}

describe('load runs against serve', () => {
  it('runs the example scenarios as a load: all pass, the report and the JUnit XML hold together', async () => {
    const report = path.join(shared.dir, 'load.json');
    const junit = path.join(shared.dir, 'load.xml');
    const io = captureIo();
    const code = await runSimulateCli(
      ['--target', udp(), '--calls', '20', '--rate', '10/s', '--concurrency', '5', '--report', report, '--junit', junit, '--progress-interval', '2s', SIGN_IN, MISSED],
      io,
    );
    if (code !== 0) console.log(io.stdout, io.stderr);
    expect(code).toBe(0);
    const r = readReport(report);
    expect(r.totals).toMatchObject({ started: 20, passed: 20, failed: 0, aborted: 0, failures: {} });
    expect(r.stoppedBy).toBe('calls');
    expect(r.peakConcurrency).toBeLessThanOrEqual(5);
    expect(r.options).toMatchObject({ calls: 20, ratePerSecond: 10, concurrency: 5, durationMs: null });
    // Round robin: each file ran every other call.
    expect(r.scenarios.map((x) => [path.basename(x.file), x.started, x.passed])).toEqual([
      ['sign-in.yaml', 10, 10],
      ['missed-call.yaml', 10, 10],
    ]);
    // Every call was answered once: 20 setup times, all above 0.
    expect(r.totals.setupMs.count).toBe(20);
    expect(r.totals.setupMs.p50).toBeGreaterThan(0);
    for (const l of [r.totals.setupMs, r.totals.afterDigitMs, r.totals.recognitionMs]) expect(ordered(l)).toBe(true);
    const signIn = r.scenarios[0];
    // sign-in.yaml types three times (extension, PIN, *), each followed by a prompt.
    expect(signIn.afterDigitMs.count).toBe(30);
    expect(signIn.recognitionMs.count).toBeGreaterThanOrEqual(60);
    const steps = Object.fromEntries(signIn.steps.map((k) => [k.kind, k]));
    expect(steps.expectPrompt).toMatchObject({ count: 60, failed: 0 });
    expect(steps.dtmf).toMatchObject({ count: 30, failed: 0 });
    expect(steps.expectHangup).toMatchObject({ count: 10, failed: 0 });
    for (const k of signIn.steps) expect(ordered(k.durationMs)).toBe(true);
    expect(r.runner.peakRssBytes).toBeGreaterThan(0);

    // The table, and the plain progress line (not a terminal), on stderr every interval.
    expect(io.stdout).toMatch(/sign-in\.yaml \(a user signs in.*\)\s+10\s+10\s+0/);
    expect(io.stdout).toMatch(/call setup \(INVITE to 2xx\)\s+10\s+\d/);
    expect(io.stdout).toMatch(/^20 passed, 0 failed$/m);
    expect(io.stderr).toMatch(/^load 0:0\d\.\d {2}started \d+ {2}passed \d+ {2}failed 0 {2}rate \d+\.\d\/s {2}active \d+$/m);
    expect(io.stderr).not.toContain('\r');

    // JUnit: one testsuite per scenario, one testcase each, no failure.
    const xml = readFileSync(junit, 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name) }).parse(xml);
    const suites = doc.testsuites.testsuite;
    expect(suites).toHaveLength(2);
    expect(suites.map((x: any) => x['@_tests'])).toEqual(['1', '1']);
    expect(suites[0].testcase[0]['@_name']).toContain('(10 calls)');
    expect(suites[0].testcase[0].failure).toBeUndefined();
    expect(suites[0].properties.property.find((p: any) => p['@_name'] === 'setupMs.p50')['@_value']).toBe(String(signIn.setupMs.p50));

    // Nothing typed is written anywhere.
    for (const text of [readFileSync(report, 'utf8'), xml, io.stdout, io.stderr]) expect(text).not.toContain(PIN);
  }, 150_000);

  it('exits 1 with failures by reason when calls fail (a refused number, a wrong prompt)', async () => {
    const report = path.join(shared.dir, 'fail.json');
    const junit = path.join(shared.dir, 'fail.xml');
    const io = captureIo();
    const code = await runSimulateCli(
      ['--target', udp(), '--calls', '4', '--rate', '20', '--concurrency', '4', '--report', report, '--junit', junit, scenario('refused', REFUSED), scenario('wrong-prompt', WRONG_PROMPT)],
      io,
    );
    expect(code).toBe(1);
    const r = readReport(report);
    expect(r.totals).toMatchObject({ started: 4, passed: 0, failed: 4, failures: { 'sip-404': 2, 'wrong-prompt': 2 } });
    expect(r.scenarios[0].failures).toEqual({ 'sip-404': 2 });
    expect(r.scenarios[0].setupMs.count).toBe(0); // never answered
    expect(r.scenarios[1].steps.find((k) => k.kind === 'expectPrompt')).toMatchObject({ count: 4, failed: 2, failures: { 'wrong-prompt': 2 } });
    expect(r.failureExamples).toHaveLength(4);
    expect(r.failureExamples.find((e) => e.reason === 'wrong-prompt')).toMatchObject({ step: 2, kind: 'expectPrompt', prompt: 'main-menu', callId: 'hasty' });
    expect(r.failureExamples.find((e) => e.reason === 'sip-404')).toMatchObject({ sipStatus: 404, step: 1 });
    expect(io.stdout).toMatch(/refused\.yaml \(refused\)\s+2\s+0\s+2\s+sip-404 2/);
    expect(io.stdout).toMatch(/^0 passed, 4 failed$/m);
    const xml = readFileSync(junit, 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, isArray: (name) => ['testsuite', 'testcase'].includes(name) }).parse(xml);
    expect(doc.testsuites['@_failures']).toBe('2');
    expect(doc.testsuites.testsuite[1].testcase[0].failure['@_message']).toBe('2 of 2 calls failed: wrong-prompt 2');
  }, 60_000);

  it('--max-failures stops the load early and exits 1', async () => {
    const report = path.join(shared.dir, 'max.json');
    const io = captureIo();
    const code = await runSimulateCli(['--target', udp(), '--calls', '200', '--rate', '5/s', '--concurrency', '2', '--max-failures', '1', '--report', report, scenario('refused2', REFUSED)], io);
    expect(code).toBe(1);
    const r = readReport(report);
    expect(r.stoppedBy).toBe('max-failures');
    expect(r.totals.failed).toBeGreaterThanOrEqual(2);
    expect(r.totals.started).toBeLessThan(10);
    expect(io.stdout).toContain('more failures than --max-failures: stopped early');
  }, 60_000);

  it('--duration stops starting calls; on a terminal the live line is redrawn in place', async () => {
    const report = path.join(shared.dir, 'duration.json');
    const io = Object.assign(captureIo(), { errIsTty: true });
    const t0 = Date.now();
    const code = await runSimulateCli(['--target', udp(), '--duration', '2500ms', '--rate', '2/s', '--report', report, MISSED], io);
    expect(code).toBe(0);
    const r = readReport(report);
    expect(r.stoppedBy).toBe('duration');
    expect(r.options).toMatchObject({ calls: null, durationMs: 2500, concurrency: 120 });
    expect(r.totals.started).toBeGreaterThanOrEqual(4);
    expect(r.totals.started).toBeLessThanOrEqual(6);
    expect(r.totals.passed).toBe(r.totals.started);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(io.stderr).toContain('\r\u001b[2Kload 0:0');
  }, 60_000);
});

describe('load options', () => {
  const run = async (...args: string[]) => {
    const io = captureIo();
    const code = await runSimulateCli(args, io);
    return { code, err: io.stderr, out: io.stdout };
  };

  it('are refused with errors that name the option', async () => {
    expect(await run('--target', 'udp:127.0.0.1:5', '--calls', '3', '--rate', '0/s', SIGN_IN)).toMatchObject({ code: 2, err: expect.stringMatching(/--rate.*must be more than 0/) });
    expect(await run('--target', 'udp:127.0.0.1:5', '--calls', '3', '--rate', 'fast', SIGN_IN)).toMatchObject({ code: 2, err: expect.stringMatching(/--rate.*10\/s/) });
    expect(await run('--target', 'udp:127.0.0.1:5', '--calls', '0', '--rate', '5', SIGN_IN)).toMatchObject({ code: 2, err: expect.stringMatching(/--calls.*must be from 1/) });
    expect(await run('--target', 'udp:127.0.0.1:5', '--calls', '3', '--rate', '5', '--concurrency', '2.5', SIGN_IN)).toMatchObject({ code: 2, err: expect.stringMatching(/--concurrency.*whole number/) });
    expect(await run('--target', 'udp:127.0.0.1:5', '--calls', '3', '--rate', '5', '--duration', 'soon', SIGN_IN)).toMatchObject({ code: 2, err: expect.stringMatching(/--duration.*30s/) });
    expect(await run('--target', 'udp:127.0.0.1:5', '--calls', '3', SIGN_IN)).toMatchObject({ code: 2, err: expect.stringMatching(/--rate is needed/) });
    expect(await run('--target', 'udp:127.0.0.1:5', '--rate', '5', SIGN_IN)).toMatchObject({ code: 2, err: expect.stringMatching(/--calls or --duration is needed/) });
    expect(await run('--calls', '3', '--rate', '5', SIGN_IN)).toMatchObject({ code: 2, err: expect.stringMatching(/needs --target/) });
    expect(await run('--target', 'udp:127.0.0.1:5', '--calls', '3', '--rate', '5', '--server-log', 'x.log', SIGN_IN)).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--server-log not used by a load run/),
    });
  });

  it('leaves out, with a note, a scenario that runs cmdlets or travels in time; refuses a load with nothing else, before any call', async () => {
    const r = await run('--target', 'udp:127.0.0.1:5', '--calls', '3', '--rate', '5', path.join(EXAMPLES, 'expired-pin.yaml'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/VA_ERR_SIM_LOAD_SCENARIO: no file can run as a load: .*expired-pin\.yaml left out: a load run places calls only: it cannot run admin: cmdlets or time travel/);
    const mixed = await run('--target', udp(), '--calls', '2', '--rate', '5', '--json', SIGN_IN, path.join(EXAMPLES, 'lockout-and-admin-unlock.yaml'));
    expect(mixed.code).toBe(0);
    const report = JSON.parse(mixed.out);
    expect(report.notes).toEqual(expect.arrayContaining([expect.stringMatching(/lockout-and-admin-unlock\.yaml left out: .*admin\[0\]/)]));
    expect(report.scenarios.map((x: { file: string }) => path.basename(x.file))).toEqual(['sign-in.yaml']);
    const bad = scenario('bad', 'calls:\n  - id: x\n    to: 51235\n    steps: []\n');
    expect(await run('--target', 'udp:127.0.0.1:5', '--calls', '3', '--rate', '5', bad)).toMatchObject({ code: 1, err: expect.stringContaining('VA_ERR_SIM_SCENARIO_INVALID') });
  });
});
