/**
 * The `dtmf` options of scenario files (issue 22, "DTMF control and fault injection"): on a step, and as defaults on a
 * call. Split from `scenario.ts`, which parses the rest; the same error style (the file and the key path of every
 * problem).
 *
 * ```yaml
 * calls:
 *   - id: x
 *     dtmf: { via: inband, volumeDb: -12 }      # optional: defaults for every dtmf step of this call
 *     steps:
 *       - dtmf: "4455667#"                       # keys only: the call's defaults, else plain RFC 4733 keys
 *       - dtmf: { digits: "12", via: rfc4733, durationMs: 120, gapMs: 300, volumeDb: -10, fault: lose-end }
 *       - dtmf: "5"                               # the options may also stand beside the keys:
 *         fault: [single-end, reorder]
 * ```
 * - `via`: `rfc4733` (the default), `info` or `inband`; a fault implies its transport when `via` is absent.
 * - `durationMs`: how long each key is held, 40..8000 ms (default 80; 1000 for `talk-off`).
 * - `gapMs` (a number of ms) or `gap` (a duration): from one key's start to the next's (default 150 ms, or the key's
 *   length plus 30 ms when that is longer); it must leave each key (its end packets, a fault's stall or copy, the
 *   pause after a tone) time to be over.
 * - `volumeDb`: each tone's level in-band, or the RFC 4733 volume field, dBm0, -63..0 (default -10; -28 for
 *   `low-level`). Not for `via: info`.
 * - `twistDb`: in-band only, the high-group tone's level minus the low group's, -20..20 dB (default 0; -6 for `twist`).
 * - `fault`: a fault name or a list of them (`dtmf-faults.ts`; the table in `docs/simulator.md`).
 * A step with any of these options (its own or its call's), or `via: inband`, is signalled as written: in-process
 * its keys go through the server's own DTMF decoding on the virtual clock; a step without them presses plain keys.
 */
import { z } from 'zod';
import type { DtmfVia } from './caller-side';
import { DTMF_FAULTS, defaultGapMs, dtmfProblem, faultTransport, signalDetails, signalDefaults, type DtmfFault, type DtmfSignal } from './dtmf-faults';
import { parseDuration } from './duration';

/** Default gap between the keys of a plain `dtmf` step, virtual ms. */
export const DEFAULT_DTMF_GAP_MS = 150;

/** The `dtmf` options a step or a call gave, before the call's defaults are applied. */
export interface DtmfOptions {
  via?: DtmfVia;
  durationMs?: number;
  gapMs?: number;
  volumeDb?: number;
  twistDb?: number;
  faults?: DtmfFault[];
}

/** A `dtmf` step as parsed, waiting for its call's defaults ({@link finishDtmfStep}). */
export interface PendingDtmfStep {
  kind: 'dtmf-pending';
  digits: string;
  options: DtmfOptions;
  /** Where each given option was written, relative to the step (for messages). */
  paths: Partial<Record<keyof DtmfOptions, (string | number)[]>>;
  /** Where the keys were written, relative to the step. */
  digitsPath: (string | number)[];
}

/** A finished `dtmf` step (the `dtmf` member of `Step` in `scenario.ts`). */
export interface DtmfStep {
  kind: 'dtmf';
  digits: string;
  /** From one key's start to the next's, virtual ms. */
  gapMs: number;
  /** The transport; set only when the file (the step or its call) gives one. */
  via?: DtmfVia;
  /** How the keys are signalled, when the step or its call gives any signal option or a fault, or `via: inband`. */
  signal?: DtmfSignal;
  label: string;
}

/** The option keys of a `dtmf` step besides `digits`. */
export const DTMF_OPTION_KEYS = ['gap', 'gapMs', 'via', 'durationMs', 'volumeDb', 'twistDb', 'fault'] as const;

const wholeMs = (min: number, max: number, what: string) =>
  z.number({ error: `must be a number of ms (${what})` }).int(`must be a whole number of ms (${what})`).min(min, `must be ${min} to ${max} ms (${what})`).max(max, `must be ${min} to ${max} ms (${what})`);
const Faults = z.unknown().transform((v, ctx): DtmfFault[] => {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) ctx.addIssue({ code: 'custom', message: 'must name at least one fault' });
  list.forEach((f, i) => {
    if (typeof f !== 'string' || !(DTMF_FAULTS as readonly string[]).includes(f))
      ctx.addIssue({ code: 'custom', path: Array.isArray(v) ? [i] : [], message: `unknown fault ${JSON.stringify(f)}: one of ${DTMF_FAULTS.join(', ')}` });
  });
  return list as DtmfFault[];
});
const OptionShape = {
  via: z.enum(['rfc4733', 'info', 'inband'], { error: 'must be rfc4733, info or inband' }).optional(),
  durationMs: wholeMs(40, 8000, 'how long each key is held').optional(),
  gapMs: wholeMs(0, 600_000, 'from one key\'s start to the next\'s').optional(),
  gap: z.unknown().optional(),
  volumeDb: z.number({ error: 'must be a level in dBm0, -63 to 0' }).min(-63, 'must be -63 to 0 dBm0').max(0, 'must be -63 to 0 dBm0').optional(),
  twistDb: z.number({ error: 'must be a level difference in dB, -20 to 20' }).min(-20, 'must be -20 to 20 dB').max(20, 'must be -20 to 20 dB').optional(),
  fault: Faults.optional(),
};
/** The options as a call's `dtmf:` gives them (no keys). */
export const DtmfCallOptions = z.object(OptionShape).strict();
/** The step shapes for a keys schema, built once (building a zod schema costs far more than using it). */
const stepShapes = new WeakMap<z.ZodType<string>, { inside: z.ZodType<{ digits: string } & z.infer<typeof DtmfCallOptions>>; keys: z.ZodType<{ digits: string }> }>();
function shapesFor(digits: z.ZodType<string>) {
  let s = stepShapes.get(digits);
  if (!s) {
    s = { inside: z.object({ digits, ...OptionShape }).strict(), keys: z.object({ digits }) };
    stepShapes.set(digits, s);
  }
  return s;
}

/** Validates with `schema`, re-adding issues under `prefix`; undefined when invalid. */
function sub<T>(schema: z.ZodType<T>, value: unknown, ctx: z.RefinementCtx, prefix: (string | number)[]): T | undefined {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  for (const i of r.error.issues) ctx.addIssue({ ...(i as object), path: [...prefix, ...i.path] } as never);
  return undefined;
}

/**
 * Reads parsed options into {@link DtmfOptions}, with where each was written.
 * @param prefix the path of the object that held them; `gap` is a duration and is turned into `gapMs`
 * @returns undefined (with issues added) when `gap` is not a duration or both `gap` and `gapMs` are given
 */
export function readDtmfOptions(
  o: z.infer<typeof DtmfCallOptions>,
  ctx: z.RefinementCtx,
  prefix: (string | number)[],
): { options: DtmfOptions; paths: PendingDtmfStep['paths'] } | undefined {
  const options: DtmfOptions = {};
  const paths: PendingDtmfStep['paths'] = {};
  const put = <K extends keyof DtmfOptions>(k: K, v: DtmfOptions[K] | undefined, key: string) => {
    if (v === undefined) return;
    options[k] = v;
    paths[k] = [...prefix, key];
  };
  if (o.gap !== undefined && o.gapMs !== undefined) {
    ctx.addIssue({ code: 'custom', path: [...prefix, 'gap'], message: 'give gap (a duration) or gapMs (ms), not both' });
    return undefined;
  }
  if (o.gap !== undefined) {
    const ms = parseDuration(o.gap);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', path: [...prefix, 'gap'], message: 'must be a duration such as 150ms, 2s, 1m30s, 13h or 60d' });
      return undefined;
    }
    put('gapMs', ms, 'gap');
  }
  put('gapMs', o.gapMs, 'gapMs');
  put('via', o.via, 'via');
  put('durationMs', o.durationMs, 'durationMs');
  put('volumeDb', o.volumeDb, 'volumeDb');
  put('twistDb', o.twistDb, 'twistDb');
  put('faults', o.fault, 'fault');
  return { options, paths };
}

/**
 * Parses a `dtmf` step: `dtmf: "keys"` with the options as sibling keys, or `dtmf: { digits, ...options }`.
 * @param raw the step object; @param digits the keys' schema (`scenario.ts`'s)
 * @returns the step waiting for its call's defaults, or undefined (issues added, paths relative to the step)
 */
export function parseDtmfStep(raw: Record<string, unknown>, ctx: z.RefinementCtx, digits: z.ZodType<string>): PendingDtmfStep | undefined {
  const v = raw.dtmf;
  if (typeof v === 'number') {
    ctx.addIssue({ code: 'custom', path: ['dtmf'], message: `must be a quoted string of keys, e.g. "${v}" (YAML reads ${v} as a number)` });
    return undefined;
  }
  const inside = v !== null && typeof v === 'object' && !Array.isArray(v);
  // Unknown keys beside the step are reported by the step parser.
  const siblings = Object.keys(raw).filter((k) => (DTMF_OPTION_KEYS as readonly string[]).includes(k));
  if (inside && siblings.length > 0) {
    for (const k of siblings) ctx.addIssue({ code: 'custom', path: [k], message: `give ${k} either inside dtmf or beside it, not both` });
    return undefined;
  }
  if (inside) {
    const parsed = sub(shapesFor(digits).inside, v, ctx, ['dtmf']);
    const read = parsed && readDtmfOptions(parsed, ctx, ['dtmf']);
    if (!parsed || !read) return undefined;
    return { kind: 'dtmf-pending', digits: parsed.digits, options: read.options, paths: read.paths, digitsPath: ['dtmf', 'digits'] };
  }
  // `dtmf: "keys"` with the options beside it: the keys' errors at `dtmf.digits`, each option's at its own key.
  const keys = sub(shapesFor(digits).keys, { digits: v }, ctx, ['dtmf']);
  if (siblings.length === 0) return keys && { kind: 'dtmf-pending', digits: keys.digits, options: {}, paths: {}, digitsPath: ['dtmf'] };
  const parsed = sub(DtmfCallOptions, Object.fromEntries(siblings.map((k) => [k, raw[k]])), ctx, []);
  const read = parsed && readDtmfOptions(parsed, ctx, []);
  if (!keys || !parsed || !read) return undefined;
  return { kind: 'dtmf-pending', digits: keys.digits, options: read.options, paths: read.paths, digitsPath: ['dtmf'] };
}

/**
 * Applies a call's defaults to a `dtmf` step and checks the result (faults against the transport, a fault's needs,
 * the gap against each key's length).
 * @param step as parsed; @param call the call's `dtmf:` options (empty when it has none)
 * @param stepPath the step's path in the file (`['steps', 3]`), for messages
 * @returns the finished step, or undefined with issues added (at the option's path in the step, or in the call)
 */
export function finishDtmfStep(
  step: PendingDtmfStep,
  call: { options: DtmfOptions; paths: PendingDtmfStep['paths'] },
  stepPath: (string | number)[],
  ctx: z.RefinementCtx,
): DtmfStep | undefined {
  const o: DtmfOptions = { ...call.options, ...step.options };
  const pathOf = (k: keyof DtmfOptions | 'digits'): (string | number)[] => {
    if (k === 'digits') return [...stepPath, ...step.digitsPath];
    if (step.paths[k]) return [...stepPath, ...step.paths[k]!];
    if (call.paths[k]) return call.paths[k]!;
    return [...stepPath, 'dtmf'];
  };
  const fail = (k: keyof DtmfOptions | 'digits', message: string): undefined => {
    const fromCall = k !== 'digits' && !step.paths[k] && call.paths[k] ? ' (from the call\'s dtmf)' : '';
    ctx.addIssue({ code: 'custom', path: pathOf(k), message: message + fromCall });
    return undefined;
  };
  const faults = o.faults ?? [];
  // A fault implies its transport when the file names none (mixed transports are refused below).
  const via: DtmfVia = o.via ?? (faults.length > 0 ? faultTransport(faults[0]) : 'rfc4733');
  if (o.twistDb !== undefined && via !== 'inband') return fail('twistDb', 'applies to in-band keys only (via: inband)');
  if (o.volumeDb !== undefined && via === 'info') return fail('volumeDb', 'a SIP INFO carries no level (use via: rfc4733 or inband)');
  const signalled = o.durationMs !== undefined || o.volumeDb !== undefined || o.twistDb !== undefined || faults.length > 0 || via === 'inband';
  let signal: DtmfSignal | undefined;
  if (signalled) {
    const d = signalDefaults(faults);
    signal = { durationMs: o.durationMs ?? d.durationMs, volumeDb: o.volumeDb ?? d.volumeDb, twistDb: o.twistDb ?? d.twistDb, faults };
  }
  const gapMs = o.gapMs ?? (signal ? defaultGapMs(via, signal) : DEFAULT_DTMF_GAP_MS);
  const problem = dtmfProblem(step.digits, via, signal, gapMs);
  if (problem) {
    const [key, message] = problem;
    const k = (key === 'fault' ? 'faults' : key) as keyof DtmfOptions | 'digits';
    return fail(k, message);
  }
  const explicitVia = o.via !== undefined || faults.length > 0;
  const label = `dtmf: ${step.digits}${explicitVia ? ` via ${via}` : ''}${signal ? ` (${signalDetails(via, signal)})` : ''}`;
  const out: DtmfStep = { kind: 'dtmf', digits: step.digits, gapMs, label };
  if (explicitVia) out.via = via;
  if (signal) out.signal = signal;
  return out;
}
