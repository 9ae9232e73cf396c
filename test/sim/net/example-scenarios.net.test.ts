/**
 * Every example scenario in `scenarios/` passes over the network (issue 4, "Scenarios over the network"): each runs
 * as a real SIP caller with RTP (`runScenarioOverNetwork`, what `voice-access simulate --target` does) against its
 * own real server (`startServer`, as `serve` runs it, on 127.0.0.1 and free ports, RTP 0/0) on a fresh data folder
 * seeded from the scenario's directory file, with the server's log read for call results. The scenarios run
 * concurrently (one server each): the whole file takes about as long as the longest scenario in real time
 * (lockout-and-admin-unlock: eight calls one after the other, under three minutes). Every expectation is checked:
 * results from the server's log, state from its data folder, mails from its outbox.
 */
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { runScenarioOverNetwork } from '../../../src/sim/net/net-runner';
import { formatTranscript, type ScenarioReport } from '../../../src/sim/runner';
import { ROOT } from '../../helpers';
import { startServerFor } from './net-helpers';

const DIR = path.join(ROOT, 'scenarios');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();
const reports = new Map<string, ScenarioReport | Error>();

beforeAll(async () => {
  await Promise.all(
    FILES.map(async (name) => {
      const file = path.join(DIR, name);
      try {
        const server = await startServerFor(file);
        try {
          reports.set(name, await runScenarioOverNetwork(file, { target: server.target(), data: server.data, config: server.config, results: server.results, allowAdmin: true }));
        } finally {
          await server.stop();
        }
      } catch (err) {
        reports.set(name, err as Error);
      }
    }),
  );
}, 420_000);

describe('the example scenarios over the network', () => {
  it('are all here', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(19);
    expect([...reports.keys()].sort()).toEqual(FILES);
  });

  it.each(FILES)('%s passes', (name) => {
    const r = reports.get(name);
    if (r instanceof Error) throw r;
    if (!r?.passed) console.log(`${name}\n${r?.calls.map(formatTranscript).join('\n')}\nnotes: ${r?.notes.join('\n')}`);
    expect(r?.failures).toEqual([]);
    expect(r?.passed).toBe(true);
  });

  it('checked every expectation: nothing was skipped', () => {
    const skipped = [...reports.values()].flatMap((r) => (r instanceof Error ? [] : r.notes.filter((n) => n.includes('not checked') || n.includes('has no result'))));
    expect(skipped).toEqual([]);
  });

  it('read mails from the outbox and travelled in time where the scenario says so', () => {
    const r = (name: string) => reports.get(name) as ScenarioReport;
    expect(r('automatic-pin-reset.yaml').mails.map((m) => m.to)).toEqual(['david@contoso.com']);
    expect(r('lockout-and-admin-unlock.yaml').mails.map((m) => m.to)).toEqual(['david@contoso.com', 'david@contoso.com']);
    expect(r('expired-pin.yaml').notes.join('\n')).toMatch(/skipped 60d 23:59:\d\d\.\d{3} by time travel in the store/);
    expect(r('lockout-and-admin-unlock.yaml').notes.join('\n')).toContain('admin at');
  });

  it('end calls in every result of the flows, as on the simulator', () => {
    const seen = new Set<string>();
    for (const r of reports.values()) if (!(r instanceof Error)) for (const c of r.calls) if (c.record) seen.add(`${c.record.flow}:${c.record.result}`);
    expect([...seen].sort()).toEqual(
      expect.arrayContaining([
        'sign-in:signed-out',
        'sign-in:hung-up',
        'sign-in:no-input',
        'sign-in:too-many-logon-failures',
        'sign-in:locked-out',
        'sign-in:pin-reset',
        'sign-in:pin-not-changed',
        'call-answering:message-left',
        'call-answering:missed-call',
        'conference:left',
        'conference:hung-up',
        'conference:leader-pin-failed',
      ]),
    );
  });

  it('heard the prompts in both locales, the beep and the music on hold', () => {
    const heard = new Set<string>();
    for (const r of reports.values()) if (!(r instanceof Error)) for (const c of r.calls) for (const h of c.heard) heard.add(h.id ?? '');
    expect([...heard]).toEqual(expect.arrayContaining(['welcome', 'tone:beep', 'tone:music-on-hold', 'conf-joining']));
    // A French time, at the server's hour of the run: "<n> heures", or "une heure" / "vingt et une heures".
    expect(['hours', 'hour-1', 'hour-21'].some((id) => heard.has(id))).toBe(true);
    const french = [...reports.entries()].filter(([name]) => name.startsWith('french-')).map(([, r]) => r as ScenarioReport);
    expect(french.length).toBeGreaterThanOrEqual(3);
    for (const r of french) expect(r.calls.flatMap((c) => c.transcript.map((l) => l.text)).some((t) => t.includes('[fr-FR]'))).toBe(true);
  });
});
