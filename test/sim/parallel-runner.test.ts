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
import { main } from '../../src/cli/main';
import { captureIo, ROOT, tempDir } from '../helpers';

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

test('voice-access simulate --jobs 2 --coverage: transcripts in file order, the summary, then what was never heard or entered', async () => {
  const files = ['sign-in.yaml', 'leave-message.yaml', 'french-sign-in-and-message.yaml'].map((f) => path.join(ROOT, 'scenarios', f));
  const io = captureIo();
  expect(await main(['simulate', ...files, '--jobs', '2', '--coverage'], io)).toBe(0);
  const order = [...io.stdout.matchAll(/^=== .*\((.*)\)$/gm)].map((m) => path.basename(m[1]));
  expect(order).toEqual(['sign-in.yaml', 'leave-message.yaml', 'french-sign-in-and-message.yaml']);
  expect(io.stdout).toContain('3 passed, 0 failed\ncoverage:\n');
  expect(io.stdout).toMatch(/ {2}prompts en-US: \d+ of \d+ heard; never: .*conf-welcome/);
  expect(io.stdout).toMatch(/ {2}prompts fr-FR: [1-9]\d* of \d+ heard/);
  expect(io.stdout).toMatch(/ {2}flow states: \d+ of \d+ entered; never: .*conferenceJoin\./);
});

test('--jobs is refused with --data (the files share it), over the network, and out of range', async () => {
  const dir = tempDir('va-parallel-cli-');
  const file = examples[0];
  for (const args of [
    ['--jobs', '2', '--data', path.join(dir, 'data')],
    ['--jobs', '2', '--target', 'udp:127.0.0.1:5099'],
    ['--coverage', '--target', 'udp:127.0.0.1:5099'],
    ['--jobs', '0'],
  ]) {
    const io = captureIo();
    expect({ args, code: await main(['simulate', file, ...args], io) }).toEqual({ args, code: 2 });
    expect(io.stderr).toMatch(/--jobs|--coverage/);
  }
});
