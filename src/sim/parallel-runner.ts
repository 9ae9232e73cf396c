/**
 * Scenario files in worker threads (issue 22, "Parallel in-process suites"): `simulate --jobs N` runs each file on
 * the virtual clock in one of N workers (`sim-worker.ts`), every file with a throw-away store of its own, exactly as
 * one job would run it; results come back in file order. A file is the unit of work: the calls of one file share a
 * clock and a store, so they stay together.
 *
 * Workers load the compiled runner (`dist/`): under ts-jest (this file is TypeScript) the worker script is
 * `dist/src/sim/sim-worker.js`, so `npm run build` must have run, as `npm test` does.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RunScenarioOptions, ScenarioReport } from './runner';

/** The outcome of one scenario file: its report, or why it could not run. */
export interface ScenarioFileResult {
  file: string;
  report?: ScenarioReport;
  /** Why the scenario could not run (invalid scenario or directory file, a worker that died). */
  error?: string;
  /** Real time the file took, ms. */
  realMs: number;
}

/** What a worker is asked: one file, with the options that cross a thread (no logger, no catalog object). */
export interface WorkerRequest {
  index: number;
  file: string;
  options: WorkerRunOptions;
}

/** The options of {@link runScenario} that can be sent to a worker (structured clone). */
export type WorkerRunOptions = Pick<RunScenarioOptions, 'config' | 'pinHashCost' | 'keepData'>;

/** What a worker answers. */
export interface WorkerReply {
  index: number;
  result: ScenarioFileResult;
}

/** Options of {@link runScenarioFilesInWorkers}. */
export interface ParallelRunOptions {
  /** Worker threads at most (≥ 1); the machine's cores ({@link defaultJobs}) when undefined. */
  jobs?: number;
  /** What every file runs with (a directory file replacing each scenario's `config:`, the PIN hash cost). */
  options?: WorkerRunOptions;
  /** Called with each result in file order, as soon as it and every earlier one are known (to print as they come). */
  onResult?: (result: ScenarioFileResult, index: number) => void;
}

/** How many jobs `simulate` runs by default: the cores this process may use (`os.availableParallelism()`). */
export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

/**
 * The worker script: next to this file when compiled, else the build's copy.
 * @throws Error when running from TypeScript sources and `dist/` has not been built
 */
export function workerScript(): string {
  const here = path.join(__dirname, 'sim-worker.js');
  if (existsSync(here)) return here;
  const built = path.resolve(__dirname, '..', '..', 'dist', 'src', 'sim', 'sim-worker.js');
  if (existsSync(built)) return built;
  throw new Error(`the simulator's worker script is not built (${built}): run npm run build`);
}

/**
 * Runs scenario files in worker threads, each file once, at most `jobs` at a time.
 * @param files scenario paths
 * @returns one result per file, in the files' order; never rejects for a failing scenario or a worker that died
 *   (that file's result carries the error, and a new worker takes the next file)
 * @throws Error when the worker script is missing ({@link workerScript})
 */
export async function runScenarioFilesInWorkers(files: readonly string[], opts: ParallelRunOptions = {}): Promise<ScenarioFileResult[]> {
  const script = workerScript();
  const results: (ScenarioFileResult | undefined)[] = new Array(files.length);
  let reported = 0;
  const report = () => {
    while (reported < files.length && results[reported]) {
      opts.onResult?.(results[reported]!, reported);
      reported++;
    }
  };
  let next = 0;
  const options = opts.options ?? {};
  const lane = (): Promise<void> =>
    new Promise<void>((resolve) => {
      if (next >= files.length) return resolve();
      const worker = new Worker(script);
      let current: { index: number; started: number } | null = null;
      const give = () => {
        if (next >= files.length) {
          current = null;
          void worker.terminate().then(() => resolve());
          return;
        }
        const index = next++;
        current = { index, started: Date.now() };
        worker.postMessage({ index, file: files[index], options } satisfies WorkerRequest);
      };
      worker.on('message', (m: WorkerReply) => {
        results[m.index] = m.result;
        report();
        give();
      });
      // A worker that dies (out of memory, a native crash) fails its file; another lane's worker goes on, and this
      // lane starts a new worker for the files left.
      const died = (why: string) => {
        if (current) {
          results[current.index] = { file: files[current.index], error: `the worker running this file stopped: ${why}`, realMs: Date.now() - current.started };
          current = null;
          report();
        }
        void lane().then(resolve);
      };
      worker.on('error', (err) => died(err.message));
      worker.on('exit', (code) => {
        if (current) died(`exit code ${code}`);
      });
      give();
    });
  const jobs = Math.max(1, Math.min(opts.jobs ?? defaultJobs(), files.length));
  await Promise.all(Array.from({ length: jobs }, lane));
  return results.map((r, i) => r ?? { file: files[i], error: 'not run', realMs: 0 });
}
