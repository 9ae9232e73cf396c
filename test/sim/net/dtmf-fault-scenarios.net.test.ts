/**
 * The DTMF fault examples in `scenarios/dtmf/` pass over the network (issue 22): each as a real SIP caller on
 * 127.0.0.1 with free ports, whose faulted keys are real RTP telephone-event packets (lost, repeated, re-ordered,
 * re-marked: `RtpSession.sendDtmfPackets`), real tones in its G.711 audio, or real SIP INFO requests (one sent with a
 * lower CSeq than the one before), against its own server (`startServer`, as `serve` runs it). They run concurrently,
 * one server each: the whole file takes about as long as the longest scenario (a few seconds).
 */
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { runScenarioOverNetwork } from '../../../src/sim/net/net-runner';
import { formatTranscript, type ScenarioReport } from '../../../src/sim/runner';
import { ROOT } from '../../helpers';
import { startServerFor } from './net-helpers';

const DIR = path.join(ROOT, 'scenarios', 'dtmf');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();
const reports = new Map<string, ScenarioReport | Error>();

beforeAll(async () => {
  await Promise.all(
    FILES.map(async (name) => {
      const file = path.join(DIR, name);
      try {
        const server = await startServerFor(file);
        try {
          reports.set(name, await runScenarioOverNetwork(file, { target: server.target(), data: server.data, config: server.config, results: server.results }));
        } finally {
          await server.stop();
        }
      } catch (err) {
        reports.set(name, err as Error);
      }
    }),
  );
}, 120_000);

describe('the DTMF fault scenarios over the network', () => {
  it.each(FILES)('%s passes', (name) => {
    const r = reports.get(name);
    if (r instanceof Error) throw r;
    if (!r?.passed) console.log(`${name}\n${r?.calls.map(formatTranscript).join('\n')}\nnotes: ${r?.notes.join('\n')}`);
    expect(r?.failures).toEqual([]);
    expect(r?.passed).toBe(true);
  });

  it('the server answered the out-of-order INFO 500 (RFC 3261 §12.2.2), and the calls ended as the caller hung up', () => {
    const r = reports.get('info-out-of-order.yaml') as ScenarioReport;
    expect(r.calls[0].transcript.some((l) => l.who === 'ivr' && /answers an INFO 500/.test(l.text))).toBe(true);
    for (const rep of reports.values()) if (!(rep instanceof Error)) expect(rep.calls.map((c) => c.record?.result)).toEqual(['hung-up']);
  });
});
