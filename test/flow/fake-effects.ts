/**
 * Fakes for a flow's named effects (a port fake inside unit tests, as DESIGN.md allows): a scripted caller answers
 * each `collect` and `record` in order, every `play` completes, and domain effects come from a small table.
 * Every effect call is logged so tests can assert what the caller heard and what the flow did.
 */
import { createActor, type AnyStateMachine } from 'xstate';
import type { EffectImplementations } from '../../src/runtime/effect-runner';
import { composeFlows } from '../../src/runtime/flows';
import type { CollectResult, PromptItem, RecordResult } from '../../src/flow-kit/media-types';

export type Answer = Partial<CollectResult> | { record: Partial<RecordResult> };

export interface FakeLog {
  /** Prompt ids (and rendered parts) in the order played. */
  heard: string[];
  /** Domain effects invoked, by name with their input. */
  calls: { name: string; input: any }[];
}

function describe(p: PromptItem): string {
  if (typeof p === 'string') return p;
  if ('number' in p) return `#${p.number}`;
  if ('digits' in p) return `digits:${p.digits}`;
  if ('time' in p) return 'time';
  if ('file' in p) return `file:${p.file}`;
  return `tone:${p.tone}`;
}

export type FlowName = keyof ReturnType<typeof composeFlows>;

/**
 * Runs a flow (composed with its children by `composeFlows`, as the runtime does) with fakes until it finishes.
 * @param answers what the caller does at each collect/record, in order (a collect without answers times out)
 * @param domain implementations of domain effects by name (input -> output)
 */
export async function runWithFakes(
  flow: FlowName,
  input: unknown,
  answers: Answer[],
  domain: Record<string, (input: any) => unknown> = {},
): Promise<{ output: any; log: FakeLog; state: unknown; countsChanged: string[] }> {
  const log: FakeLog = { heard: [], calls: [] };
  const queue = [...answers];
  const effects: Record<string, (input: any) => unknown> = {
    play: async (input: { prompts: PromptItem[] }) => {
      log.heard.push(...input.prompts.map(describe));
      return { reason: 'done' };
    },
    collect: async (input: { prompts: PromptItem[] }) => {
      log.heard.push(...input.prompts.map(describe));
      const a = queue.shift();
      if (!a || 'record' in a) return { digits: '', reason: 'timeout' };
      return { digits: '', reason: 'terminator', terminator: '#', ...a };
    },
    record: async (input: { prompts: PromptItem[]; beep: boolean }) => {
      log.heard.push(...input.prompts.map(describe), ...(input.beep ? ['tone:beep'] : []));
      const a = queue.shift();
      const r = a && 'record' in a ? a.record : {};
      return { file: '/tmp/rec.wav', durationMs: 3000, heardSpeech: true, reason: 'terminator', terminator: '#', ...r };
    },
    joinConference: async () => ({ reason: 'hangup' }),
  };
  for (const [name, impl] of Object.entries(domain)) {
    effects[name] = async (input: unknown) => {
      log.calls.push({ name, input });
      return impl(input);
    };
  }
  const countsChanged: string[] = [];
  const machine = composeFlows(effects as EffectImplementations, (id) => countsChanged.push(id))[flow] as AnyStateMachine;
  const actor = createActor(machine, { input });
  const finished = new Promise<void>((resolve, reject) => actor.subscribe({ complete: resolve, error: reject }));
  actor.start();
  await finished;
  const snap = actor.getSnapshot();
  return { output: snap.output, log, state: snap.value, countsChanged };
}
