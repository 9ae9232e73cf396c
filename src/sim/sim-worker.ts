/**
 * A worker thread of `simulate --jobs` (`parallel-runner.ts`): runs the scenario files it is sent, one at a time,
 * on the virtual clock with a throw-away store each, and answers each with its report or why it could not run.
 */
import { parentPort } from 'node:worker_threads';
import type { WorkerReply, WorkerRequest } from './parallel-runner';
import { runScenario } from './runner';

if (!parentPort) throw new Error('sim-worker.ts runs as a worker thread of parallel-runner.ts');
const port = parentPort;

port.on('message', (m: WorkerRequest) => {
  const started = Date.now();
  runScenario(m.file, m.options).then(
    (report) => port.postMessage({ index: m.index, result: { file: m.file, report, realMs: Date.now() - started } } satisfies WorkerReply),
    (err: Error & { code?: string }) =>
      port.postMessage({ index: m.index, result: { file: m.file, error: err.code ? `${err.code}: ${err.message}` : err.message, realMs: Date.now() - started } } satisfies WorkerReply),
  );
});
