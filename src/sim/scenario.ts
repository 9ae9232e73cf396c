/**
 * Scenario files: scripted calls for the simulator (issue 3, "Simulator"), YAML validated with zod. Every problem
 * is reported with the file and the key path (`calls[0].steps[3].dtmf`), like the directory file's errors.
 *
 * ```yaml
 * name: david signs in
 * config: ../config/contoso.yaml   # optional, relative to this file; the built-in demo when absent
 * startTime: 2025-01-06T09:00:00Z  # optional: the virtual clock's start (ISO 8601)
 * timeout: 4h                      # optional: how long the calls may take after the last one starts (default 4h)
 * calls:
 *   - id: david
 *     from: "+14255550112"         # optional; absent or "anonymous": the number is withheld
 *     to: "+14255550100"
 *     diversion: "51235"           # optional
 *     source: 127.0.0.1            # optional signalling source address (UM IP gateway checks)
 *     start: 0s                    # optional offset
 *     dtmf: { via: inband }        # optional: defaults for the call's dtmf steps (scenario-dtmf.ts)
 *     steps:
 *       - expectPrompt: enter-pin-own-mailbox     # or { id, within, locale }, or with a sibling `within: 2m`
 *       - dtmf: "739164#"                         # or { digits, gap, via, durationMs, volumeDb, fault, ... } (scenario-dtmf.ts)
 *       - wait: 2s
 *       - speak: { seconds: 3 }                   # or a duration: `speak: 2500ms`
 *       - speak: { toneHz: 1000, seconds: 2 }     # a pure tone (in a meeting the others hear it, unless muted)
 *       - expectTone: { hz: 1000, within: 5s }    # or `expectTone: 1000` (60 s): a tone heard (others in a meeting)
 *       - expectNoTone: { hz: 1000, for: 3s }     # no such tone heard during the next 3 s (a muted caller)
 *       - hangup: true                            # last step only
 *       - expectRecording: true                   # or { within }: the IVR starts recording (after the beep)
 *       - expectInMeeting: true                   # or { within }: the bridge has taken the caller in
 *       - expectHangup: { within: 30s }           # or `expectHangup: true` (60 s); last step only
 * advance: 60d
 * expect:
 *   - mailbox: david@contoso.com
 *     pinExpired: false
 *     voiceMessages: { total: 1, unheard: 1 }
 *   - email: { to: david@contoso.com, contains: PIN, count: 1 }
 *   - sms: { to: "+14255550112", contains: Voice message, count: 1 }
 *   - result: { call: david, is: signed-out }
 *   - missedCalls: { identity: david@contoso.com, count: 1 }
 *   - mwi: { extension: "51235", gateway: gw2, messagesWaiting: true, newMessages: 1, oldMessages: 0 }
 * mwiGateways: { gw1: 480 }        # optional: how the simulated UM IP gateways answer MWI NOTIFYs (200, a status, timeout, refused)
 * ```
 * Durations are a number with a unit (`ms`, `s`, `m`, `h`, `d`), possibly compound (`1m30s`); `0` is allowed.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { describeIssues } from '../config/load';
import { ErrorCodes, VaError } from '../errors';
import { PromptCatalog, TONES } from '../prompts/catalog';
import { formatDuration, parseDuration } from './duration';
import { DTMF_OPTION_KEYS, DtmfCallOptions, finishDtmfStep, parseDtmfStep, readDtmfOptions, type DtmfStep, type PendingDtmfStep } from './scenario-dtmf';
import { DTMF_KEYS } from './sim-call-channel';
import { parseYamlData } from '../util/yaml';
import { LOCALES, type Locale } from '../domain/locale';

/** Error code of an unreadable or invalid scenario file. */
export const SCENARIO_INVALID = ErrorCodes.SIM_SCENARIO_INVALID;

/** A scenario file that cannot be read or breaks the format; the message names the file and the key path. */
export class ScenarioError extends VaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.SIM_SCENARIO_INVALID, message, options);
    this.name = 'ScenarioError';
  }
}

/** Default bound of `expectPrompt`, `expectRecording` and `expectHangup`, virtual ms. */
export const DEFAULT_WITHIN_MS = 60_000;
export { DEFAULT_DTMF_GAP_MS } from './scenario-dtmf';
/** Default bound for the calls of a scenario to end, counted from the last call's start, virtual ms. */
export const DEFAULT_SCENARIO_TIMEOUT_MS = 4 * 3_600_000;

/** One step of a scripted caller, normalised. `label` is how the file wrote it, for messages. */
export type Step =
  /** The prompt, heard in `locale` when given (else in any). */
  | { kind: 'expectPrompt'; id: string; withinMs: number; locale?: Locale; label: string }
  /** Keys pressed: plain, or signalled as the step (or its call) says, with faults (`scenario-dtmf.ts`). */
  | DtmfStep
  | { kind: 'wait'; ms: number; label: string }
  | {
      kind: 'speak';
      ms: number;
      /** A pure tone of this frequency instead of speech-like noise (what the others in a meeting hear), Hz. */
      toneHz?: number;
      label: string;
    }
  /** A tone of `hz` (±2 %) heard at any moment from the step's start (one already sounding counts), within the bound. */
  | { kind: 'expectTone'; hz: number; withinMs: number; label: string }
  /** No tone of `hz` heard during the next `forMs`: the step takes that long. */
  | { kind: 'expectNoTone'; hz: number; forMs: number; label: string }
  | { kind: 'hangup'; label: string }
  | { kind: 'expectHangup'; withinMs: number; label: string }
  | { kind: 'expectRecording'; withinMs: number; label: string }
  /** The caller is in the meeting: `conf-joining` has played and the bridge has taken the caller in. */
  | { kind: 'expectInMeeting'; withinMs: number; label: string };

export interface ScenarioCall {
  id: string;
  /** The caller's number, or null when withheld. */
  from: string | null;
  to: string;
  diversion?: string;
  source?: string;
  /** Offset from the scenario's start, virtual ms. */
  startMs: number;
  steps: Step[];
  /** For a copy made by `repeat`, the id written in the file (copies are `<id>#1`, `<id>#2`, ...). */
  template?: string;
}

export type Expectation =
  | {
      kind: 'mailbox';
      identity: string;
      pinExpired?: boolean;
      firstTimeUser?: boolean;
      lockedOut?: boolean;
      voiceMessages?: { total?: number; unheard?: number };
      greetingRecorded?: boolean;
      nameRecorded?: boolean;
    }
  | { kind: 'email'; to: string; contains?: string; subject?: string; count?: number }
  /** Texts to a mobile number (issue 5): `to` compares digits only, so `+1425...` and `1425...` are one number. */
  | { kind: 'sms'; to: string; contains?: string; count?: number }
  | { kind: 'result'; call: string; is: string }
  | { kind: 'missedCalls'; identity: string; count: number }
  /**
   * MWI NOTIFYs the UM IP gateways received (issue 5): the last one delivered for `extension` (at `gateway` when
   * given) carries these values; `delivered` counts the delivered ones; `failed` says whether the publisher gave up
   * after the retry window. In-process only: over the network the gateways are real (see the SIPp tests).
   */
  | {
      kind: 'mwi';
      extension: string;
      gateway?: string;
      messagesWaiting?: boolean;
      newMessages?: number;
      oldMessages?: number;
      delivered?: number;
      failed?: boolean;
    };

/** An administrator's cmdlet run at a point of the scenario's clock (e.g. an unlock between two calls). */
export interface AdminAction {
  /** Offset from the scenario's start, virtual ms. */
  atMs: number;
  /** The cmdlet and its arguments, as on the command line. */
  args: string[];
  label: string;
}

export interface Scenario {
  /** The scenario file (absolute). */
  file: string;
  name: string;
  /** The directory file (absolute), or undefined for the built-in demo. */
  config?: string;
  /** The virtual clock's start, ms since the epoch, when the file sets one. */
  startTime?: number;
  /** How long the calls may take after the last one starts, virtual ms. */
  timeoutMs: number;
  /** Virtual ms to move the clock on after the calls (0 when absent). */
  advanceMs: number;
  calls: ScenarioCall[];
  admin: AdminAction[];
  expect: Expectation[];
  /** How the simulated UM IP gateways answer MWI NOTIFYs, by gateway name (absent: 200); in-process only. */
  mwiGateways: Record<string, number | 'timeout' | 'refused'>;
}

// ------------------------------------------------------------------ durations

export { formatDuration, parseDuration } from './duration';

const DURATION_HELP = 'must be a duration such as 150ms, 2s, 1m30s, 13h or 60d';

const Duration = z.unknown().transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: DURATION_HELP });
    return z.NEVER;
  }
  return ms;
});

const Digits = z.string().regex(new RegExp(`^[${DTMF_KEYS.replace('*', '\\*')}]+$`), `must be keys from ${DTMF_KEYS}`);

// ------------------------------------------------------------------ steps

const STEP_KINDS = ['expectPrompt', 'dtmf', 'wait', 'speak', 'hangup', 'expectHangup', 'expectRecording', 'expectInMeeting', 'expectTone', 'expectNoTone'] as const;
type StepKind = (typeof STEP_KINDS)[number];
/** Keys allowed beside each step's own key. */
const SIBLINGS: Record<StepKind, string[]> = {
  expectPrompt: ['within'],
  dtmf: [...DTMF_OPTION_KEYS],
  wait: [],
  speak: [],
  hangup: [],
  expectHangup: ['within'],
  expectRecording: ['within'],
  expectInMeeting: ['within'],
  expectTone: ['within'],
  expectNoTone: [],
};

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Validates `value` with `schema`, re-adding its issues under `prefix`; undefined when invalid. */
function sub<T>(schema: z.ZodType<T>, value: unknown, ctx: z.RefinementCtx, prefix: (string | number)[]): T | undefined {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ ...(issue as object), path: [...prefix, ...issue.path] } as never);
  return undefined;
}

function issue(ctx: z.RefinementCtx, path: (string | number)[], message: string): undefined {
  ctx.addIssue({ code: 'custom', path, message });
  return undefined;
}

// Step shapes, built once (building a zod schema costs far more than using it: a load scenario has thousands of steps).
const PromptStep = z
  .object({
    id: z.string().min(1),
    within: z.unknown().optional(),
    locale: z.enum(LOCALES, { error: `must be one of ${LOCALES.join(', ')}` }).optional(),
  })
  .strict();
/** Tone frequencies a caller can send and hear: below the 4 kHz limit of 8 kHz audio. */
const ToneHz = z.number().min(100).max(3800);
const SpeakStep = z.object({ seconds: z.number().positive().max(86_400), toneHz: ToneHz.optional() }).strict();
const ToneStep = z.object({ hz: ToneHz, within: z.unknown().optional() }).strict();
const NoToneStep = z.object({ hz: ToneHz, for: z.unknown() }).strict();
const WithinStep = z.object({ within: z.unknown().optional() }).strict();

function parseStep(raw: unknown, ctx: z.RefinementCtx, knownPrompts: ReadonlySet<string>): Step | PendingDtmfStep | undefined {
  const kinds = isObject(raw) ? (Object.keys(raw).filter((k) => (STEP_KINDS as readonly string[]).includes(k)) as StepKind[]) : [];
  if (!isObject(raw) || kinds.length !== 1) {
    const found = isObject(raw) ? Object.keys(raw) : [];
    return issue(
      ctx,
      [],
      `must be one step: one of ${STEP_KINDS.join(', ')}${found.length ? ` (found ${found.map((k) => `"${k}"`).join(', ')})` : ''}`,
    );
  }
  const kind = kinds[0];
  for (const k of Object.keys(raw)) {
    if (k !== kind && !SIBLINGS[kind].includes(k)) issue(ctx, [k], `unknown key "${k}" in a ${kind} step${SIBLINGS[kind].length ? ` (allowed beside it: ${SIBLINGS[kind].join(', ')})` : ''}`);
  }
  const v = raw[kind];
  const durationAt = (value: unknown, p: (string | number)[], fallback: number): number | undefined =>
    value === undefined ? fallback : (sub(Duration, value, ctx, p) as number | undefined);
  switch (kind) {
    case 'expectPrompt': {
      const obj = isObject(v) ? v : { id: v };
      const parsed = sub(PromptStep, obj, ctx, isObject(v) ? [kind] : []);
      if (!parsed) return undefined;
      if (isObject(v) && raw.within !== undefined) return issue(ctx, ['within'], 'give within either inside expectPrompt or beside it, not both');
      const withinMs = isObject(v) ? durationAt(parsed.within, [kind, 'within'], DEFAULT_WITHIN_MS) : durationAt(raw.within, ['within'], DEFAULT_WITHIN_MS);
      if (withinMs === undefined) return undefined;
      if (!knownPrompts.has(parsed.id)) return issue(ctx, isObject(v) ? [kind, 'id'] : [kind], `unknown prompt id "${parsed.id}"`);
      if (parsed.locale) return { kind, id: parsed.id, withinMs, locale: parsed.locale, label: `${kind}: ${parsed.id} (${parsed.locale})` };
      return { kind, id: parsed.id, withinMs, label: `${kind}: ${parsed.id}` };
    }
    case 'dtmf':
      return parseDtmfStep(raw, ctx, Digits);
    case 'wait': {
      const ms = sub(Duration, v, ctx, [kind]);
      return ms === undefined ? undefined : { kind, ms, label: `${kind}: ${formatDuration(ms)}` };
    }
    case 'speak': {
      let ms: number | undefined;
      let toneHz: number | undefined;
      if (isObject(v)) {
        const parsed = sub(SpeakStep, v, ctx, [kind]);
        ms = parsed === undefined ? undefined : Math.round(parsed.seconds * 1_000);
        toneHz = parsed?.toneHz;
      } else ms = sub(Duration, v, ctx, [kind]);
      if (ms === undefined) return undefined;
      if (ms <= 0) return issue(ctx, [kind], 'must be longer than 0');
      if (toneHz !== undefined) return { kind, ms, toneHz, label: `${kind}: ${toneHz} Hz tone for ${formatDuration(ms)}` };
      return { kind, ms, label: `${kind}: ${formatDuration(ms)}` };
    }
    case 'expectTone': {
      const obj = isObject(v) ? v : { hz: v };
      const parsed = sub(ToneStep, obj, ctx, isObject(v) ? [kind] : []);
      if (!parsed) return undefined;
      if (isObject(v) && raw.within !== undefined) return issue(ctx, ['within'], 'give within either inside expectTone or beside it, not both');
      const withinMs = isObject(v) ? durationAt(parsed.within, [kind, 'within'], DEFAULT_WITHIN_MS) : durationAt(raw.within, ['within'], DEFAULT_WITHIN_MS);
      if (withinMs === undefined) return undefined;
      return { kind, hz: parsed.hz, withinMs, label: `${kind}: ${parsed.hz} Hz` };
    }
    case 'expectNoTone': {
      const parsed = sub(NoToneStep, v, ctx, [kind]);
      if (!parsed) return undefined;
      const forMs = sub(Duration, parsed.for, ctx, [kind, 'for']);
      if (forMs === undefined) return undefined;
      if (forMs <= 0) return issue(ctx, [kind, 'for'], 'must be longer than 0');
      return { kind, hz: parsed.hz, forMs, label: `${kind}: ${parsed.hz} Hz for ${formatDuration(forMs)}` };
    }
    case 'hangup':
      if (v !== true) return issue(ctx, [kind], 'must be true');
      return { kind, label: 'hangup' };
    case 'expectHangup':
    case 'expectRecording':
    case 'expectInMeeting': {
      if (v !== true && !isObject(v)) return issue(ctx, [kind], 'must be true or { within: <duration> }');
      const parsed = isObject(v) ? sub(WithinStep, v, ctx, [kind]) : {};
      if (!parsed) return undefined;
      if (isObject(v) && raw.within !== undefined) return issue(ctx, ['within'], `give within either inside ${kind} or beside it, not both`);
      const withinMs = isObject(v) ? durationAt(parsed.within, [kind, 'within'], DEFAULT_WITHIN_MS) : durationAt(raw.within, ['within'], DEFAULT_WITHIN_MS);
      if (withinMs === undefined) return undefined;
      return { kind, withinMs, label: `${kind}: within ${formatDuration(withinMs)}` };
    }
  }
}

// ------------------------------------------------------------------ expectations

const Count = z.number().int().min(0);
/** An extension in an expectation: a quoted string of digits (YAML would drop leading zeros of a number). */
const QuotedDigits = z.unknown().transform((v, ctx) => {
  if (typeof v === 'string' && /^[0-9]+$/.test(v)) return v;
  ctx.addIssue({ code: 'custom', message: typeof v === 'number' ? `must be a quoted string, e.g. "${v}"` : 'must be digits' });
  return z.NEVER;
});
const MailboxExpect = z
  .object({
    mailbox: z.string().email('must be a mailbox identity (e-mail address)'),
    pinExpired: z.boolean().optional(),
    firstTimeUser: z.boolean().optional(),
    lockedOut: z.boolean().optional(),
    voiceMessages: z.object({ total: Count.optional(), unheard: Count.optional() }).strict().optional(),
    greetingRecorded: z.boolean().optional(),
    nameRecorded: z.boolean().optional(),
  })
  .strict();
const EmailExpect = z
  .object({
    email: z
      .object({ to: z.string().min(1), contains: z.string().min(1).optional(), subject: z.string().min(1).optional(), count: Count.optional() })
      .strict(),
  })
  .strict();
/** A mobile number in an expectation: a quoted string of digits, optionally starting with `+`. */
const MobileNumber = z.unknown().transform((v, ctx) => {
  if (typeof v === 'string' && /^\+?[0-9]{2,32}$/.test(v)) return v;
  ctx.addIssue({
    code: 'custom',
    message:
      typeof v === 'number'
        ? `must be a quoted string, e.g. "+${v}" (YAML reads an unquoted number and drops + and leading zeros)`
        : 'must be a telephone number: digits, optionally starting with +',
  });
  return z.NEVER;
});
const SmsExpect = z
  .object({
    sms: z.object({ to: MobileNumber, contains: z.string().min(1).optional(), count: Count.optional() }).strict(),
  })
  .strict();
const ResultExpect = z.object({ result: z.object({ call: z.string().min(1), is: z.string().min(1) }).strict() }).strict();
const MissedExpect = z.object({ missedCalls: z.object({ identity: z.string().min(1), count: Count }).strict() }).strict();
const MwiExpect = z
  .object({
    mwi: z
      .object({
        extension: QuotedDigits,
        gateway: z.string().min(1).optional(),
        messagesWaiting: z.boolean().optional(),
        newMessages: Count.optional(),
        oldMessages: Count.optional(),
        delivered: Count.optional(),
        failed: z.boolean().optional(),
      })
      .strict(),
  })
  .strict();
const EXPECT_KINDS = ['mailbox', 'email', 'sms', 'result', 'missedCalls', 'mwi'] as const;

function parseExpectation(raw: unknown, ctx: z.RefinementCtx): Expectation | undefined {
  const kinds = isObject(raw) ? Object.keys(raw).filter((k) => (EXPECT_KINDS as readonly string[]).includes(k)) : [];
  if (!isObject(raw) || kinds.length !== 1) return issue(ctx, [], `must be one expectation: one of ${EXPECT_KINDS.join(', ')}`);
  switch (kinds[0]) {
    case 'mailbox': {
      const e = sub(MailboxExpect, raw, ctx, []);
      if (!e) return undefined;
      const { mailbox, ...rest } = e;
      return { kind: 'mailbox', identity: mailbox, ...rest };
    }
    case 'email': {
      const e = sub(EmailExpect, raw, ctx, []);
      return e && { kind: 'email', ...e.email };
    }
    case 'sms': {
      const e = sub(SmsExpect, raw, ctx, []);
      return e && { kind: 'sms', ...e.sms };
    }
    case 'result': {
      const e = sub(ResultExpect, raw, ctx, []);
      return e && { kind: 'result', ...e.result };
    }
    case 'mwi': {
      const e = sub(MwiExpect, raw, ctx, []);
      return e && { kind: 'mwi', ...e.mwi };
    }
    default: {
      const e = sub(MissedExpect, raw, ctx, []);
      return e && { kind: 'missedCalls', ...e.missedCalls };
    }
  }
}

// ------------------------------------------------------------------ the file

/** A telephone number or extension: a string, so that YAML keeps `+` and leading zeros. */
const QuotedNumber = z.unknown().transform((v, ctx) => {
  if (typeof v === 'string' && v.length > 0) return v;
  ctx.addIssue({
    code: 'custom',
    message: typeof v === 'number' ? `must be a quoted string, e.g. "${v}" (YAML reads an unquoted number and drops + and leading zeros)` : 'must be a non-empty string',
  });
  return z.NEVER;
});

function scenarioSchema(knownPrompts: ReadonlySet<string>) {
  const StepSchema = z.unknown().transform((raw, ctx) => parseStep(raw, ctx, knownPrompts) ?? z.NEVER);
  const CallSchema = z
    .object({
      id: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, "_", "." or "-"'),
      from: QuotedNumber.optional(),
      to: QuotedNumber,
      diversion: QuotedNumber.optional(),
      source: z.string().min(1).optional(),
      start: Duration.optional(),
      /** Load scenarios: the same call `count` times, one every `every` (default 1s) from `start`. */
      repeat: z.object({ count: z.number().int().min(1).max(1_000_000), every: Duration.optional() }).strict().optional(),
      /** Defaults for the call's `dtmf` steps (`scenario-dtmf.ts`). */
      dtmf: DtmfCallOptions.optional(),
      steps: z.array(StepSchema).default([]),
    })
    .strict()
    .transform((c, ctx) => {
      c.steps.forEach((s, i) => {
        if ((s.kind === 'hangup' || s.kind === 'expectHangup') && i !== c.steps.length - 1)
          ctx.addIssue({ code: 'custom', path: ['steps', i], message: `${s.kind} must be the last step (the call is over after it)` });
      });
      const defaults = c.dtmf === undefined ? { options: {}, paths: {} } : readDtmfOptions(c.dtmf, ctx, ['dtmf']);
      if (!defaults) return z.NEVER;
      const steps = c.steps.map((s, i) => (s.kind === 'dtmf-pending' ? finishDtmfStep(s, defaults, ['steps', i], ctx) : s));
      if (steps.some((s) => s === undefined)) return z.NEVER;
      const { dtmf: _dtmf, ...rest } = c;
      return { ...rest, steps: steps as Step[] };
    });
  return z
    .object({
      name: z.string().min(1),
      config: z.string().min(1).optional(),
      startTime: z
        .string()
        .refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 date and time, e.g. 2025-01-06T09:00:00Z')
        .optional(),
      timeout: Duration.optional(),
      calls: z.array(CallSchema).min(1, 'at least one call is needed'),
      advance: Duration.optional(),
      admin: z
        .array(
          z
            .object({
              at: Duration,
              run: z.union([
                z.string().min(1).transform((t) => t.trim().split(/\s+/)),
                z.array(z.union([z.string(), z.number().transform(String)])).min(1),
              ]),
            })
            .strict(),
        )
        .default([]),
      expect: z.array(z.unknown().transform((raw, ctx) => parseExpectation(raw, ctx) ?? z.NEVER)).default([]),
      mwiGateways: z
        .record(
          z.string().min(1),
          z.union([z.number().int().min(100).max(699), z.literal('timeout'), z.literal('refused')], {
            error: 'must be a SIP status (100-699), timeout or refused',
          }),
        )
        .default({}),
    })
    .strict()
    .superRefine((s, ctx) => {
      const ids = new Set<string>();
      s.calls.forEach((c, i) => {
        if (ids.has(c.id)) ctx.addIssue({ code: 'custom', path: ['calls', i, 'id'], message: `duplicate call id "${c.id}"` });
        ids.add(c.id);
      });
      s.expect.forEach((e, i) => {
        if (e.kind === 'result' && !ids.has(e.call))
          ctx.addIssue({ code: 'custom', path: ['expect', i, 'result', 'call'], message: `no call with id "${e.call}"` });
      });
    });
}

/**
 * Parses and validates scenario YAML.
 * @param text the YAML source; @param file the scenario's path (for messages and to resolve `config`)
 * @param catalog prompt ids allowed in `expectPrompt` (the repository's catalog by default)
 * @throws ScenarioError naming the file and every bad key path
 */
export function parseScenario(text: string, file: string, catalog: PromptCatalog = PromptCatalog.load()): Scenario {
  const abs = path.resolve(file);
  const yaml = parseYamlData(text);
  if (!yaml.ok) throw new ScenarioError(`${abs}: not valid YAML: ${yaml.message}`);
  const known = new Set<string>([...catalog.ids(catalog.localeNames[0]), ...TONES.map((t) => `tone:${t}`)]);
  const r = scenarioSchema(known).safeParse(yaml.value ?? {});
  if (!r.success) throw new ScenarioError(`${abs}: invalid scenario\n${describeIssues(r.error.issues)}`);
  const s = r.data;
  return {
    file: abs,
    name: s.name,
    config: s.config === undefined ? undefined : path.resolve(path.dirname(abs), s.config),
    startTime: s.startTime === undefined ? undefined : Date.parse(s.startTime),
    timeoutMs: s.timeout ?? DEFAULT_SCENARIO_TIMEOUT_MS,
    advanceMs: s.advance ?? 0,
    calls: s.calls.flatMap((c) => {
      const from = c.from;
      const call: ScenarioCall = {
        id: c.id,
        from: from === undefined || from.toLowerCase() === 'anonymous' ? null : from,
        to: c.to,
        startMs: c.start ?? 0,
        steps: c.steps,
      };
      if (c.diversion !== undefined) call.diversion = c.diversion;
      if (c.source !== undefined) call.source = c.source;
      if (!c.repeat) return [call];
      const every = c.repeat.every ?? 1000;
      return Array.from({ length: c.repeat.count }, (_, i) => ({ ...call, id: `${c.id}#${i + 1}`, template: c.id, startMs: call.startMs + i * every }));
    }),
    // The label is printed: a PIN given to a cmdlet is masked as the CLI's own output never shows one.
    admin: s.admin.map((a) => ({ atMs: a.at, args: a.run, label: a.run.join(' ').replace(/(-Pin\s+)\S+/gi, '$1*****') })),
    expect: s.expect,
    mwiGateways: s.mwiGateways,
  };
}

/**
 * Reads and validates a scenario file.
 * @throws ScenarioError when the file cannot be read or is invalid (the message names the file and key paths)
 */
export function loadScenario(file: string, catalog?: PromptCatalog): Scenario {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new ScenarioError(`cannot read the scenario file ${abs}: ${(err as NodeJS.ErrnoException).code ?? err}`, { cause: err });
  }
  return parseScenario(text, abs, catalog);
}
