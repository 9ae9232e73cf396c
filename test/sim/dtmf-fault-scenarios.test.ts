/**
 * The DTMF fault examples in `scenarios/dtmf/` pass on the simulator (issue 22): one per fault, each stating what the
 * IVR must do with it (count once, count twice, ignore) through what the caller then hears. In-process every faulted
 * key goes through the server's own RFC 4733 receiver, DTMF merger and Goertzel detector on the virtual clock
 * (`src/sim/sim-dtmf.ts`); the same files pass over the network (`net/dtmf-fault-scenarios.net.test.ts`).
 */
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { DTMF_FAULTS } from '../../src/sim/dtmf-faults';
import { runScenario, formatTranscript, type ScenarioReport } from '../../src/sim/runner';
import { loadScenario } from '../../src/sim/scenario';
import { ROOT } from '../helpers';

const DIR = path.join(ROOT, 'scenarios', 'dtmf');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();
const reports = new Map<string, ScenarioReport>();

describe('the DTMF fault scenarios, in-process', () => {
  it('every fault has one', () => {
    const used = new Set(FILES.flatMap((f) => loadScenario(path.join(DIR, f)).calls.flatMap((c) => c.steps.flatMap((s) => (s.kind === 'dtmf' ? (s.signal?.faults ?? []) : [])))));
    expect([...DTMF_FAULTS].filter((f) => !used.has(f))).toEqual([]);
  });

  it.each(FILES)('%s passes', async (file) => {
    const report = await runScenario(path.join(DIR, file));
    reports.set(file, report);
    if (!report.passed) console.log(report.calls.map(formatTranscript).join('\n'));
    expect(report.failures).toEqual([]);
    expect(report.passed).toBe(true);
  });

  it('say in the transcript what was sent, never which keys while a PIN is collected', () => {
    const lines = (f: string) => reports.get(f)!.calls.flatMap((c) => c.transcript.map((l) => l.text));
    expect(lines('rfc4733-lose-end.yaml')).toContain('presses 4455667# (150ms apart) as RFC 4733 events (80 ms, -10 dBm0, fault lose-end)');
    expect(lines('info-out-of-order.yaml').some((l) => /answers an INFO 500/.test(l))).toBe(true);
    expect(lines('inband-talk-off.yaml')).toContain('presses 4 as in-band tones (1000 ms, -10 dBm0, fault talk-off)');
  });
});
