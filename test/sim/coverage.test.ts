/**
 * `simulate --coverage` (issue 22): which prompt ids of each locale the scenarios heard, and which flow states (from
 * the xstate definitions) they never entered, computed from real in-process runs.
 */
import * as path from 'node:path';
import { PromptCatalog } from '../../src/prompts/catalog';
import { allFlowStates, coverageOf, formatCoverage } from '../../src/sim/coverage';
import { runScenario } from '../../src/sim/runner';
import { ROOT } from '../helpers';

test('the sign-in scenario covers its prompts and states; the conference and French ones stay never heard', async () => {
  const report = await runScenario(path.join(ROOT, 'scenarios', 'sign-in.yaml'));
  expect(report.passed).toBe(true);
  const catalog = PromptCatalog.load();
  const c = coverageOf([report], catalog);
  const en = c.prompts.find((p) => p.locale === 'en-US')!;
  expect(en.heard.map((h) => h.id)).toEqual(expect.arrayContaining(['welcome', 'enter-extension', 'enter-pin', 'main-menu', 'goodbye']));
  expect(en.heard.find((h) => h.id === 'enter-pin')!.times).toBe(1);
  expect(en.never).toEqual(expect.arrayContaining(['conf-welcome', 'pin-expired']));
  expect(en.heard.length + en.never.length).toBe(catalog.ids('en-US').length);
  const fr = c.prompts.find((p) => p.locale === 'fr-FR')!;
  expect(fr.heard).toEqual([]);
  // States: every leaf of every flow is listed once, entered or never.
  const all = allFlowStates();
  expect(new Set(all).size).toBe(all.length);
  expect([...c.states.entered, ...c.states.never].sort()).toEqual(all);
  expect(c.states.entered).toEqual(expect.arrayContaining(['signIn.extension', 'signIn.pin']));
  expect(c.states.never.some((s) => s.startsWith('conferenceJoin.'))).toBe(true);
  expect(c.states.never.some((s) => s.startsWith('callAnswering.'))).toBe(true);
  const text = formatCoverage(c);
  expect(text).toMatch(/^coverage:\n {2}prompts en-US: \d+ of \d+ heard; never: /);
  expect(text).toMatch(/flow states: \d+ of \d+ entered; never: .*conferenceJoin\./);
});
