/**
 * Every example scenario in `scenarios/` on a PostgreSQL store (`simulate --store`), a new database each, with the
 * same outcome as on SQLite (`example-scenarios.test.ts`): the transcript of what each call heard and the results
 * are identical, so the flows cannot tell the stores apart.
 */
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { startPostgres, type RunningPostgres } from '../../bench/servers/postgres-server';
import { runScenario, type ScenarioReport } from '../../src/sim/runner';
import { ROOT } from '../helpers';

const DIR = path.join(ROOT, 'scenarios');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

let pg: RunningPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
}, 30_000);

/** What a report says of its calls, without what differs between runs (the data folder). */
function outcome(r: ScenarioReport) {
  return r.calls.map((c) => ({ id: c.id, result: c.record?.result, heard: c.heard.map((h) => h.id) }));
}

it.each(FILES)('%s passes on PostgreSQL as on SQLite', async (file) => {
  const onPostgres = await runScenario(path.join(DIR, file), { store: await pg.createDatabase('scenario') });
  expect(onPostgres.failures).toEqual([]);
  expect(onPostgres.passed).toBe(true);
  const onSqlite = await runScenario(path.join(DIR, file));
  expect(outcome(onPostgres)).toEqual(outcome(onSqlite));
}, 60_000);
