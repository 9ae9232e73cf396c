/**
 * The load runner's parts that need no server: option parsing (`--rate 5` is 5/s, `--rate 0/s` refused), the
 * latency histograms (percentiles within 1 %, constant memory), the progress line and the report writers (no digit
 * typed, JUnit that parses).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { checkLoadShape, defaultConcurrency, LoadOptionError, parseLoadDuration, parseRate, parseWholeNumber } from '../../../src/sim/net/load/load-options';
import { formatElapsed, formatLoadProgress, formatLoadTable, toLoadJUnitXml, toLoadReport } from '../../../src/sim/net/load/load-report';
import type { LoadResult } from '../../../src/sim/net/load/load-runner';
import { countReason, LatencyHistogram, LoadStats, ScenarioStats } from '../../../src/sim/net/load/load-stats';

describe('load options', () => {
  it('parse rates, counts and durations, naming the option in errors', () => {
    expect(parseRate('5')).toBe(5);
    expect(parseRate('10/s')).toBe(10);
    expect(parseRate('0.5/s')).toBe(0.5);
    expect(parseRate('30/m')).toBe(0.5);
    expect(parseRate('3600/h')).toBe(1);
    expect(() => parseRate('0/s')).toThrow(/^--rate must be more than 0/);
    expect(() => parseRate('-1')).toThrow(/^--rate must be calls a second/);
    expect(() => parseRate('20000/s')).toThrow(/^--rate must be at most 10000\/s/);
    expect(() => parseRate('ten')).toThrow(LoadOptionError);
    expect(parseWholeNumber('--calls', '20', 1, 100)).toBe(20);
    expect(() => parseWholeNumber('--calls', '0', 1, 100)).toThrow('--calls must be from 1 to 100 (got "0")');
    expect(() => parseWholeNumber('--concurrency', '1e3', 1, 100)).toThrow('--concurrency must be a whole number (got "1e3")');
    expect(parseLoadDuration('10m')).toBe(600_000);
    expect(parseLoadDuration('1m30s')).toBe(90_000);
    expect(() => parseLoadDuration('0s')).toThrow('--duration must be more than 0');
    expect(() => parseLoadDuration('8d')).toThrow('--duration must be at most 7d');
  });

  it('fill in defaults and need a rate and a bound', () => {
    expect(checkLoadShape({ calls: 10, ratePerSecond: 2 })).toEqual({ calls: 10, ratePerSecond: 2, concurrency: 120, progressIntervalMs: 5000 });
    expect(defaultConcurrency(100)).toBe(1000);
    expect(defaultConcurrency(0.01)).toBe(1);
    expect(() => checkLoadShape({ calls: 10 })).toThrow(/--rate is needed/);
    expect(() => checkLoadShape({ ratePerSecond: 1 })).toThrow(/--calls or --duration is needed/);
    expect(checkLoadShape({ durationMs: 1000, ratePerSecond: 1, maxFailures: 0 })).toMatchObject({ durationMs: 1000, maxFailures: 0 });
  });
});

describe('latency histograms', () => {
  it('give percentiles within 1 % in constant memory', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 100_000; i++) h.record(i / 100); // 0.01 .. 1000 ms, uniform
    const s = h.summary();
    expect(s.count).toBe(100_000);
    expect(s.p50).toBeGreaterThan(495);
    expect(s.p50).toBeLessThan(505);
    expect(s.p90).toBeGreaterThan(891);
    expect(s.p90).toBeLessThan(909);
    expect(s.p99).toBeGreaterThan(980);
    expect(s.p99).toBeLessThan(1000);
    expect(s.max).toBeGreaterThanOrEqual(999);
    expect(s.max).toBeLessThanOrEqual(1010);
    const other = new LatencyHistogram();
    other.record(-5); // counts as 0
    other.record(5e9); // beyond an hour: an hour
    h.add(other);
    expect(h.summary().max).toBeGreaterThanOrEqual(3_590_000);
    expect(new LatencyHistogram().summary()).toEqual({ count: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  });
});

/** A made-up load result: one scenario with a failing call that typed a PIN. */
function result(): LoadResult {
  const stats = new LoadStats();
  const sc = new ScenarioStats('/x/sign-in.yaml', 'a user signs in');
  stats.scenarios.push(sc);
  sc.started = 3;
  sc.passed = 2;
  sc.failed = 1;
  countReason(sc.failures, 'wrong-prompt');
  for (const ms of [1.5, 2, 3]) sc.latency.setup.record(ms);
  sc.latency.afterDigit.record(300);
  sc.latency.recognition.record(20);
  const k = sc.step('dtmf');
  k.count = 6;
  k.duration.record(750);
  const p = sc.step('expectPrompt');
  p.count = 9;
  p.failed = 1;
  countReason(p.failures, 'wrong-prompt');
  stats.example({ file: '/x/sign-in.yaml', call: 2, callId: 'david', reason: 'wrong-prompt', step: 4, kind: 'expectPrompt', prompt: 'enter-pin', atMs: 1234 });
  return {
    files: ['/x/sign-in.yaml'],
    target: { transport: 'udp', host: '127.0.0.1', port: 5060 },
    shape: { calls: 3, ratePerSecond: 1, concurrency: 2, progressIntervalMs: 5000 },
    startedAt: Date.UTC(2026, 0, 1),
    elapsedMs: 4000,
    stoppedBy: 'calls',
    stats,
    peakActive: 2,
    runner: { cpuMs: 400, peakRssBytes: 100 * 1048576 },
    notes: [],
  };
}

describe('load reports', () => {
  it('the progress line and the table', () => {
    expect(formatElapsed(75_250)).toBe('1:15.3');
    expect(formatElapsed(3_725_000)).toBe('1:02:05.0');
    expect(formatLoadProgress({ elapsedMs: 12_000, started: 120, passed: 100, failed: 2, aborted: 0, active: 18, ratePerSecond: 10 })).toBe(
      'load 0:12.0  started 120  passed 100  failed 2  rate 10.0/s  active 18',
    );
    const report = toLoadReport(result());
    expect(report.runner.cpuPercent).toBe(10);
    expect(report.totals).toMatchObject({ started: 3, passed: 2, failed: 1, failures: { 'wrong-prompt': 1 } });
    const table = formatLoadTable(report);
    expect(table).toContain('udp:127.0.0.1:5060: 3 calls in 0:04.0 (all calls started)');
    expect(table).toMatch(/sign-in\.yaml \(a user signs in\)\s+3\s+2\s+1\s+wrong-prompt 1/);
    expect(table).toMatch(/step expectPrompt\s+9\s+8\s+1/);
    expect(table).toContain('call 2 (sign-in.yaml, david): wrong-prompt at step 4 (expectPrompt enter-pin), at 0:01.2');
  });

  it('JUnit XML: a testsuite per scenario, one testcase, the failure by reason', () => {
    const xml = toLoadJUnitXml(toLoadReport(result()));
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false }).parse(xml);
    const suite = doc.testsuites.testsuite;
    expect(suite['@_name']).toBe('load: a user signs in');
    expect(suite.testcase['@_name']).toBe('a user signs in (3 calls)');
    expect(suite.testcase.failure['@_message']).toBe('1 of 3 calls failed: wrong-prompt 1');
    expect(suite.testcase.failure['#text']).toContain('step expectPrompt: 1 of 9 failed (wrong-prompt 1)');
  });
});
