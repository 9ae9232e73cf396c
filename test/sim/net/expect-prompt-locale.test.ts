/**
 * `expectPrompt: { id, locale }` (issue 22): the prompt must be heard in that locale. The Paris dial plan's access
 * number speaks French: `welcome` in fr-FR passes, in en-US fails with what was heard, in-process and over the
 * network (where the locale is the one the prompt was recognised in).
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { runScenarioOverNetwork } from '../../../src/sim/net/net-runner';
import { runScenario } from '../../../src/sim/runner';
import { loadScenario } from '../../../src/sim/scenario';
import { tempDir } from '../../helpers';
import { startServerFor } from './net-helpers';

jest.setTimeout(60_000);

const scenario = (locale: string) => `name: the Paris access number greets in ${locale}
calls:
  - id: appelant
    from: "+33155550123"
    to: "+33155550100"
    steps:
      - expectPrompt: { id: welcome, locale: ${locale} }
      - hangup: true
`;

test('expectPrompt with a locale passes when the prompt is heard in it and fails naming the locale heard otherwise', async () => {
  const dir = tempDir('va-locale-');
  const fr = path.join(dir, 'fr.yaml');
  const en = path.join(dir, 'en.yaml');
  writeFileSync(fr, scenario('fr-FR'));
  writeFileSync(en, scenario('en-US'));
  expect(loadScenario(fr).calls[0].steps[0]).toMatchObject({ kind: 'expectPrompt', id: 'welcome', locale: 'fr-FR' });
  const bad = path.join(dir, 'bad.yaml');
  writeFileSync(bad, scenario('de-DE'));
  expect(() => loadScenario(bad)).toThrow(/locale.*must be one of en-US, fr-FR/);

  expect((await runScenario(fr)).failures).toEqual([]);
  expect((await runScenario(en)).failures).toEqual([expect.stringContaining('heard in fr-FR, expected en-US')]);

  const server = await startServerFor(fr);
  try {
    const opts = { target: server.target(), data: server.data, config: server.config, results: server.results };
    expect((await runScenarioOverNetwork(fr, opts)).failures).toEqual([]);
    expect((await runScenarioOverNetwork(en, opts)).failures).toEqual([expect.stringContaining('heard in fr-FR, expected en-US')]);
  } finally {
    await server.stop();
  }
});
