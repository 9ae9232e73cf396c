/**
 * Prompt and state coverage of scenario runs (issue 22, `simulate ... --coverage`): which prompt ids of each locale
 * the calls heard and which never, from the catalog (`prompts/<locale>/catalog.yaml`), and which states of the flows
 * (the xstate definitions in `flows/`, every leaf state of every machine) no call entered. A tester sees what the
 * suite never exercised: a prompt nobody heard is a branch nobody took.
 */
import type { AnyStateMachine } from 'xstate';
import { callAnsweringFlow } from '../../flows/call-answering.flow';
import { conferenceJoinFlow } from '../../flows/conference-join.flow';
import { firstTimeSetupFlow } from '../../flows/first-time-setup.flow';
import { mailboxMenuFlow } from '../../flows/mailbox-menu.flow';
import { pinChangeFlow } from '../../flows/pin-change.flow';
import { recordingFlow } from '../../flows/recording.flow';
import { signInFlow } from '../../flows/sign-in.flow';
import type { PromptCatalog } from '../prompts/catalog';
import type { ScenarioReport } from './runner';

/** Every flow the IVR runs (the machines as defined, before the runtime provides their effects). */
const FLOWS: readonly AnyStateMachine[] = [signInFlow, mailboxMenuFlow, pinChangeFlow, firstTimeSetupFlow, recordingFlow, callAnsweringFlow, conferenceJoinFlow];

/** What the runs covered. */
export interface Coverage {
  /** Per locale: the catalog's prompt ids heard at least once (with how often) and never heard, sorted. */
  prompts: { locale: string; heard: { id: string; times: number }[]; never: string[] }[];
  /** Flow states (`flowId.state`, nested as `flowId.parent.child`) entered at least once and never, sorted. */
  states: { entered: string[]; never: string[] };
}

/** Every leaf state of a machine as `machineId.path.to.state`. */
export function leafStates(machine: AnyStateMachine): string[] {
  const out: string[] = [];
  type Node = { states: Record<string, Node>; path: string[] };
  const visit = (node: Node) => {
    const children = Object.values(node.states);
    if (children.length === 0) out.push([machine.id, ...node.path].join('.'));
    for (const child of children) visit(child);
  };
  for (const top of Object.values((machine.root as unknown as Node).states)) visit(top);
  return out;
}

/** Every leaf state of every flow. */
export function allFlowStates(): string[] {
  return FLOWS.flatMap(leafStates).sort();
}

/**
 * What the reports' calls heard and which flow states they entered, against the catalog and the flows.
 * @param reports in-process runs (their heard lines carry the locale; the transcript's `flow` lines the states)
 */
export function coverageOf(reports: readonly ScenarioReport[], catalog: PromptCatalog): Coverage {
  const heard = new Map<string, Map<string, number>>();
  const entered = new Set<string>();
  for (const r of reports) {
    for (const call of r.calls) {
      for (const h of call.heard) {
        if (h.id === null || !h.locale) continue;
        const byId = heard.get(h.locale) ?? new Map<string, number>();
        byId.set(h.id, (byId.get(h.id) ?? 0) + 1);
        heard.set(h.locale, byId);
      }
      for (const line of call.transcript) {
        const m = line.who === 'flow' ? /^state (\S+)$/.exec(line.text) : null;
        if (m) for (const s of m[1].split(',')) entered.add(s);
      }
    }
  }
  const prompts = catalog.localeNames.map((locale) => {
    const byId = heard.get(locale) ?? new Map<string, number>();
    const ids = catalog.ids(locale).sort();
    return {
      locale,
      heard: ids.filter((id) => byId.has(id)).map((id) => ({ id, times: byId.get(id)! })),
      never: ids.filter((id) => !byId.has(id)),
    };
  });
  const all = allFlowStates();
  return { prompts, states: { entered: all.filter((s) => entered.has(s)), never: all.filter((s) => !entered.has(s)) } };
}

/** The coverage as text, for the end of `simulate --coverage`'s output. */
export function formatCoverage(c: Coverage): string {
  const lines: string[] = ['coverage:'];
  for (const p of c.prompts) {
    const total = p.heard.length + p.never.length;
    lines.push(`  prompts ${p.locale}: ${p.heard.length} of ${total} heard${p.never.length ? `; never: ${p.never.join(', ')}` : ''}`);
  }
  const total = c.states.entered.length + c.states.never.length;
  lines.push(`  flow states: ${c.states.entered.length} of ${total} entered${c.states.never.length ? `; never: ${c.states.never.join(', ')}` : ''}`);
  return `${lines.join('\n')}\n`;
}
