/**
 * Helpers for the network simulator's tests: the real server (`startServer`, as `voice-access serve` runs it) in this
 * process on 127.0.0.1 and free ports (RTP 0/0), on a fresh data folder seeded from a scenario's directory file, with
 * its log captured so call results can be read from it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { startServer, type RunningServer, type ServeOptions } from '../../../src/cli/serve';
import { createLogger } from '../../../src/log';
import { loadScenario } from '../../../src/sim/scenario';
import { ServerLogResults } from '../../../src/sim/net/server-log';
import type { SipTarget } from '../../../src/sip/embedded/sip-client';
import { ROOT, tempDir, writeConfig } from '../../helpers';

/** A server started for one scenario. */
export interface ScenarioServer {
  server: RunningServer;
  /** The directory file the server was seeded from (the scenario's, with a cheap PIN hash cost). */
  config: string;
  data: string;
  /** Call results from the server's log. */
  results: ServerLogResults;
  target(transport?: 'udp' | 'tcp'): SipTarget;
  stop(): Promise<void>;
}

/**
 * Writes the scenario's directory file (or the demo's) with a cheap PIN hash cost into a temp folder, and starts the
 * server on it.
 * @param patch edits the directory (e.g. shorter IVR timeouts) before it is written
 */
export async function startServerFor(scenarioFile: string, patch: (doc: any) => void = () => {}, serve: Partial<ServeOptions> = {}): Promise<ScenarioServer> {
  const dir = tempDir('va-net-');
  const scenario = loadScenario(scenarioFile);
  let config: string;
  if (!scenario.config || path.resolve(scenario.config) === path.join(ROOT, 'config', 'contoso.yaml')) config = writeConfig(dir, patch);
  else {
    const doc = parse(readFileSync(scenario.config, 'utf8'));
    doc.security = { ...(doc.security ?? {}), pinHashCost: 10 };
    patch(doc);
    config = path.join(dir, 'directory.yaml');
    writeFileSync(config, stringify(doc));
  }
  const data = path.join(dir, 'data');
  const results = new ServerLogResults();
  const server = await startServer({
    config,
    data,
    sipHost: '127.0.0.1',
    sipPort: 0,
    rtpPortMin: 0,
    rtpPortMax: 0,
    logger: createLogger({ level: 'info', destination: results }),
    ...serve,
  });
  return {
    server,
    config,
    data,
    results,
    target: (transport = 'udp') => ({ transport, host: server.sip.host, port: server.sip.port }),
    stop: () => server.stop(),
  };
}

/** What {@link sharedSignInServer} gives a test file. */
export interface SharedServer {
  /** The running server (set before the first test). */
  readonly server: ScenarioServer;
  /** Its UDP target as `simulate --target` takes it. */
  udp(): string;
  /** The file's temporary folder (its scenarios and outputs). */
  readonly dir: string;
  /** Writes a scenario on the demo directory (`name:` then `body`) into the file's folder; its path. */
  scenario(name: string, body: string): string;
}

/**
 * One server for a test file, started before its tests on the demo directory (as for `scenarios/sign-in.yaml`) and
 * stopped after them, with a temporary folder for the file's scenarios.
 * @param prefix the temporary folder's name prefix
 */
export function sharedSignInServer(prefix: string): SharedServer {
  let server: ScenarioServer | undefined;
  let dir = '';
  beforeAll(async () => {
    server = await startServerFor(path.join(ROOT, 'scenarios', 'sign-in.yaml'));
    dir = tempDir(prefix);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });
  return {
    get server() {
      if (!server) throw new Error('the shared server has not started');
      return server;
    },
    get dir() {
      return dir;
    },
    udp: () => `udp:127.0.0.1:${server!.target().port}`,
    scenario(name, body) {
      const file = path.join(dir, `${name}.yaml`);
      writeFileSync(file, `name: ${name}\n${body}`);
      return file;
    },
  };
}
