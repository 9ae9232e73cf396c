/**
 * The aggregates of a load run (issue 22, "Load runs"): counts and latency histograms per scenario and per step kind,
 * in memory that does not grow with the number of calls. A call's own state (its transcript, heard-log, RTP session)
 * is released when it ends; only these numbers are kept.
 *
 * Latencies go into HdrHistograms (`hdr-histogram-js`: fixed memory, about 14 KB each, values from 1 µs to 1 hour
 * at 2 significant digits, so a percentile is within 1 % of the true value). Failures are counted by reason; the
 * first {@link FAILURE_EXAMPLES} are kept as examples (scenario, call number, step and its kind, the expected
 * prompt id, the SIP status): never a digit the caller typed, nor a transcript.
 */
import * as hdr from 'hdr-histogram-js';
import type { Step } from '../../scenario';
import type { StepFailureReason } from '../../scripted-caller';

/** How many failed calls are kept as examples (the rest are only counted). */
export const FAILURE_EXAMPLES = 100;

/** Longest latency a histogram tracks, µs (1 hour); longer values count as this. */
const HIGHEST_US = 3_600_000_000;

/**
 * Why a call of a load failed: a step's reason (`scripted-caller.ts`), `sip-<status>` when the server refused the
 * INVITE (or it timed out: `sip-408`), `cannot-place-call` (no RTP port, no SIP client), `runner-error` (the scripted
 * caller threw), `call-timeout` (the call outlived the scenario's `timeout:`).
 */
export type LoadFailureReason = StepFailureReason | `sip-${number}` | 'cannot-place-call' | 'runner-error' | 'call-timeout';

/** Percentiles of one latency, ms (rounded to 0.01 ms); all 0 when count is 0. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** A latency histogram in ms, recorded at µs resolution (see the file's comment for its bounds). */
export class LatencyHistogram {
  private readonly h: hdr.Histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 2,
    autoResize: false,
  });

  /** Records one value, ms (negative counts as 0, beyond an hour as an hour). */
  record(ms: number): void {
    const us = Math.round(Math.min(Math.max(ms, 0) * 1000, HIGHEST_US));
    this.h.recordValue(us);
  }

  /** Adds another histogram's values. */
  add(other: LatencyHistogram): void {
    this.h.add(other.h);
  }

  /** Values recorded. */
  get count(): number {
    return this.h.totalCount;
  }

  /** p50, p90, p99 and the maximum, ms. */
  summary(): LatencySummary {
    if (this.h.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    // A percentile is its bucket's upper edge: never report one above the largest value recorded.
    const max = this.h.maxValue;
    const ms = (us: number) => Math.round(Math.min(us, max) / 10) / 100;
    return {
      count: this.h.totalCount,
      p50: ms(this.h.getValueAtPercentile(50)),
      p90: ms(this.h.getValueAtPercentile(90)),
      p99: ms(this.h.getValueAtPercentile(99)),
      max: ms(max),
    };
  }
}

/** Counts and durations of one step kind in one scenario. */
export class StepKindStats {
  /** Steps of this kind that ran (skipped steps after a failure are not counted). */
  count = 0;
  failed = 0;
  readonly failures = new Map<string, number>();
  /** How long each step took, ms. */
  readonly duration = new LatencyHistogram();
}

/** The three latencies of a load run. */
export interface LoadLatencies {
  /** INVITE sent to its 2xx, ms. */
  setup: LatencyHistogram;
  /** End of the last key of a `dtmf` step to the first audio of the next prompt, ms. */
  afterDigit: LatencyHistogram;
  /** A prompt's first audio to its recognition, ms. */
  recognition: LatencyHistogram;
}

const latencies = (): LoadLatencies => ({ setup: new LatencyHistogram(), afterDigit: new LatencyHistogram(), recognition: new LatencyHistogram() });

/** A failed call kept as an example (no digits, no transcript). */
export interface FailureExample {
  /** The scenario's file, as given. */
  file: string;
  /** The load's call number (1 for the first call of the run). */
  call: number;
  /** The scenario's call id (`david`). */
  callId: string;
  reason: LoadFailureReason;
  /** The failing step (from 1) and its kind, when a step failed. */
  step?: number;
  kind?: Step['kind'];
  /** The prompt an `expectPrompt` waited for. */
  prompt?: string;
  /** The INVITE's final status when it was not 2xx. */
  sipStatus?: number;
  /** When it ended, ms from the load's start. */
  atMs: number;
}

/** The aggregates of one scenario file. */
export class ScenarioStats {
  started = 0;
  passed = 0;
  failed = 0;
  /** Calls hung up by the runner when it stopped early (`--max-failures`, an interrupt): neither passed nor failed. */
  aborted = 0;
  /** Failed scenario calls by reason (a run of a file with several calls may count more than once). */
  readonly failures = new Map<string, number>();
  readonly steps = new Map<Step['kind'], StepKindStats>();
  readonly latency: LoadLatencies = latencies();

  constructor(
    readonly file: string,
    readonly name: string,
  ) {}

  /** The stats of a step kind (created on first use). */
  step(kind: Step['kind']): StepKindStats {
    let s = this.steps.get(kind);
    if (!s) {
      s = new StepKindStats();
      this.steps.set(kind, s);
    }
    return s;
  }
}

/** Adds `n` to a reason's count. */
export function countReason(map: Map<string, number>, reason: string, n = 1): void {
  map.set(reason, (map.get(reason) ?? 0) + n);
}

/** The aggregates of a whole load run: one {@link ScenarioStats} per file, and the failure examples. */
export class LoadStats {
  readonly scenarios: ScenarioStats[] = [];
  readonly examples: FailureExample[] = [];
  /** Failures beyond the examples kept. */
  examplesDropped = 0;

  /** Adds a failure example (kept while fewer than {@link FAILURE_EXAMPLES}). */
  example(e: FailureExample): void {
    if (this.examples.length < FAILURE_EXAMPLES) this.examples.push(e);
    else this.examplesDropped++;
  }

  /** Totals over every scenario: counts, failures by reason, and the latencies merged. */
  totals(): { started: number; passed: number; failed: number; aborted: number; failures: Map<string, number>; latency: LoadLatencies } {
    const out = { started: 0, passed: 0, failed: 0, aborted: 0, failures: new Map<string, number>(), latency: latencies() };
    for (const s of this.scenarios) {
      out.started += s.started;
      out.passed += s.passed;
      out.failed += s.failed;
      out.aborted += s.aborted;
      for (const [r, n] of s.failures) countReason(out.failures, r, n);
      out.latency.setup.add(s.latency.setup);
      out.latency.afterDigit.add(s.latency.afterDigit);
      out.latency.recognition.add(s.latency.recognition);
    }
    return out;
  }
}
