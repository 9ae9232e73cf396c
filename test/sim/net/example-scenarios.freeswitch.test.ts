/**
 * The example scenarios over the network against the distributed engine (issue 18): each scenario's server runs as
 * `serve --sip-engine drachtio --media freeswitch` does, behind a real drachtio-server of its own (drachtio-server
 * hands a new INVITE to any application connected to it, so servers cannot share one), with every call's media on
 * one real FreeSWITCH shared by all (drachtio-fsmrf). The caller is the network simulator's (SIP and RTP, prompts
 * recognised from the audio FreeSWITCH sends); results come from the server's log, state from its data folder.
 */
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { runScenarioOverNetwork } from '../../../src/sim/net/net-runner';
import { formatTranscript, type ScenarioReport } from '../../../src/sim/runner';
import { ROOT } from '../../helpers';
import { startFreeswitch, type RunningFreeswitch } from '../../helpers/real-servers';
import { describeWithServers, startDrachtio } from '../../helpers/real-servers';
import { startServerFor } from './net-helpers';

const DIR = path.join(ROOT, 'scenarios');
const ONLY = process.env.VA_SCENARIOS?.split(',');
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml') && (!ONLY || ONLY.includes(f)))
  .sort();
const reports = new Map<string, ScenarioReport | Error>();

describeWithServers(['drachtio-server', 'freeswitch'], 'the example scenarios over drachtio-server and FreeSWITCH', () => {
  let fs: RunningFreeswitch;

  beforeAll(async () => {
    fs = await startFreeswitch();
    await Promise.all(
      FILES.map(async (name) => {
        const file = path.join(DIR, name);
        const drachtio = await startDrachtio();
        try {
          const server = await startServerFor(file, () => {}, {
            sipEngine: 'drachtio',
            drachtio: { host: '127.0.0.1', port: drachtio.adminPort, secret: drachtio.secret },
            mediaEngine: 'freeswitch',
            freeswitch: { servers: [{ host: '127.0.0.1', port: fs.eslPort }], secret: fs.secret },
          });
          try {
            reports.set(name, await runScenarioOverNetwork(file, { target: server.target(), data: server.data, config: server.config, results: server.results }));
          } finally {
            await server.stop();
          }
        } catch (err) {
          reports.set(name, err as Error);
        } finally {
          await drachtio.stop();
        }
      }),
    );
  }, 480_000);

  afterAll(async () => {
    await fs?.stop();
  });

  it.each(FILES)('%s passes', (name) => {
    const r = reports.get(name);
    if (r instanceof Error) throw r;
    if (!r?.passed) console.log(`${name}\n${r?.calls.map(formatTranscript).join('\n')}\nnotes: ${r?.notes.join('\n')}`);
    expect(r?.failures).toEqual([]);
    expect(r?.passed).toBe(true);
  });
});
