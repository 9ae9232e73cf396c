/**
 * Every example scenario in `scenarios/` passes on the simulator, and together they end calls in every result the
 * flows can report (other than an internal error): the scenario suite is the end-to-end companion of the
 * xstate/graph path coverage in `test/flow/path-coverage.test.ts`.
 */
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { runScenario, type ScenarioReport } from '../../src/sim/runner';
import { ROOT } from '../helpers';

const DIR = path.join(ROOT, 'scenarios');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();
const reports = new Map<string, ScenarioReport>();

describe('the example scenarios', () => {
  it('there are at least a dozen', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(12);
  });

  it.each(FILES)('%s passes', async (file) => {
    const report = await runScenario(path.join(DIR, file));
    reports.set(file, report);
    expect(report.failures).toEqual([]);
    expect(report.passed).toBe(true);
  });

  it('speak a message\'s time in French on a 24-hour clock, in UTC', () => {
    const claire = reports.get('french-sign-in-and-message.yaml')?.calls.find((c) => c.id === 'claire');
    const ids = claire?.heard.map((h) => h.id) ?? [];
    const at = ids.indexOf('received-at');
    // The message was left at 09:00:15 on the virtual clock (UTC): "reçu à neuf heures", then the recording (no id).
    expect(ids.slice(at, at + 4)).toEqual(['received-at', 'number-9', 'hours', null]);
  });

  it('cover every result of the sign-in, call-answering and conference flows', () => {
    const seen = new Set<string>();
    for (const r of reports.values()) for (const c of r.calls) if (c.record) seen.add(`${c.record.flow}:${c.record.result}`);
    const expected = [
      'sign-in:signed-out',
      'sign-in:hung-up',
      'sign-in:no-input',
      'sign-in:too-many-logon-failures',
      'sign-in:locked-out',
      'sign-in:pin-reset',
      'sign-in:pin-not-changed',
      'call-answering:message-left',
      'call-answering:missed-call',
      'conference:left',
      'conference:hung-up',
      'conference:leader-pin-failed',
    ];
    expect([...seen].sort()).toEqual(expect.arrayContaining(expected));
  });
});
