/**
 * `simulate --jobs` (issue 22, "Parallel in-process suites"): the example scenarios run in two worker threads give
 * the same results and the same transcripts, call by call, as one after the other in this process; results come in
 * file order, also to `onResult`; a file that cannot run is reported in its place and the others still run.
 * The workers load `dist/` (`npm run build` first, as `npm test` does).
 */
import { readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { runScenarioFilesInWorkers } from '../../src/sim/parallel-runner';
import { formatTranscript, runScenario } from '../../src/sim/runner';
import { ROOT, tempDir } from '../helpers';

jest.setTimeout(120_000);

const examples = readdirSync(path.join(ROOT, 'scenarios'))
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => path.join(ROOT, 'scenarios', f));

test('the example scenarios in two workers: the same results and transcripts as in one process, in file order', async () => {
  const seen: number[] = [];
  const parallel = await runScenarioFilesInWorkers(examples, { jobs: 2, onResult: (_r, i) => seen.push(i) });
  expect(seen).toEqual(examples.map((_f, i) => i));
  expect(parallel.map((r) => r.file)).toEqual(examples);
  const serial = [];
  for (const file of examples) serial.push(await runScenario(file));
  const view = (r: { passed?: boolean; failures?: string[]; calls?: Parameters<typeof formatTranscript>[0][] } | undefined) => ({
    passed: r?.passed,
    failures: r?.failures,
    transcripts: r?.calls?.map(formatTranscript),
  });
  expect(parallel.map((r) => ({ file: r.file, error: r.error, ...view(r.report) }))).toEqual(serial.map((r, i) => ({ file: examples[i], error: undefined, ...view(r) })));
  expect(parallel.every((r) => r.report?.passed)).toBe(true);
});

test('a file that cannot run is reported in its place; the files after it still run', async () => {
  const dir = tempDir('va-parallel-');
  const broken = path.join(dir, 'broken.yaml');
  writeFileSync(broken, 'name: no calls\ncalls: 7\n');
  const missing = path.join(dir, 'missing.yaml');
  const files = [examples[0], broken, missing, examples[1]];
  const results = await runScenarioFilesInWorkers(files, { jobs: 3 });
  expect(results.map((r) => r.file)).toEqual(files);
  expect(results[0].report?.passed).toBe(true);
  expect(results[1]).toMatchObject({ error: expect.stringMatching(/calls/) });
  expect(results[2]).toMatchObject({ error: expect.stringMatching(/missing\.yaml|ENOENT|not found/i) });
  expect(results[3].report?.passed).toBe(true);
});
