/**
 * `voice-access serve [--config FILE] [--data DIR] [--sip-host 127.0.0.1] [--sip-port 5060] [--rtp-ports 20000-29999]`:
 * the IVR on real SIP (UDP and TCP) and RTP, on the embedded stack. Logs one `ready` line (JSON, pino) with the bound
 * addresses; SIGINT/SIGTERM end every call with BYE and exit 0.
 */
import * as path from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import type { Logger } from 'pino';
import { DEFAULT_DATA_DIR, openApp, type App } from '../app';
import { admitSource } from '../domain/gateway-admission';
import { createLogger } from '../log';
import { MediaEngine } from '../media/media-engine';
import { systemClock } from '../ports/clock';
import { PromptCatalog } from '../prompts/catalog';
import { CallRuntime } from '../runtime/call-runtime';
import { EmbeddedCallSource } from '../sip/embedded/embedded-call-source';
import { EmbeddedSipServer } from '../sip/embedded/sip-server';
import type { CliIo } from './main';

/** Options of `serve`. */
export interface ServeOptions {
  config?: string;
  data?: string;
  sipHost: string;
  sipPort: number;
  rtpPortMin: number;
  rtpPortMax: number;
  logger?: Logger;
}

/** A running server: what `serve` started, and how to stop it. */
export interface RunningServer {
  app: App;
  sip: EmbeddedSipServer;
  media: MediaEngine;
  runtime: CallRuntime;
  /** Ends every call with BYE, closes media and the store. */
  stop(): Promise<void>;
}

/**
 * Starts the IVR: store, RTP engine, SIP server, call runtime.
 * @throws VaError for a bad directory or store; Error when a port cannot be bound
 */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger();
  const app = await openApp({ config: opts.config, data: opts.data });
  let media: MediaEngine | undefined;
  let sip: EmbeddedSipServer | undefined;
  try {
    media = await MediaEngine.start({ host: opts.sipHost, portMin: opts.rtpPortMin, portMax: opts.rtpPortMax, logger: logger.child({ part: 'rtp' }) });
    sip = await EmbeddedSipServer.start({ host: opts.sipHost, port: opts.sipPort, logger: logger.child({ part: 'sip' }) });
  } catch (err) {
    await media?.stop();
    app.close();
    throw err;
  }
  const recordingsDir = path.join(app.dataDir, 'recordings');
  const runtime = new CallRuntime({
    store: app.store,
    pins: app.pins,
    conferencing: app.conferencing,
    clock: systemClock,
    ivr: app.ivr,
    logger,
    recordingsDir,
  });
  const source = new EmbeddedCallSource({
    server: sip,
    media,
    mediaAddress: opts.sipHost,
    admit: (address) => admitSource(address, app.store.listGateways()),
    clock: systemClock,
    catalog: PromptCatalog.load(),
    recordingsDir,
    logger,
  });
  source.onCall((call) => void runtime.handleCall(call));
  const s = sip;
  const m = media;
  return {
    app,
    sip: s,
    media: m,
    runtime,
    stop: async () => {
      await s.stop();
      await m.stop();
      app.close();
    },
  };
}

function portOption(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number, 0-65535');
  return n;
}

function rangeOption(v: string): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(v);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2]) : NaN;
  if (!m || lo < 1024 || hi > 65535 || lo >= hi) throw new InvalidArgumentError('must be LOW-HIGH, e.g. 20000-29999 (1024-65535)');
  return [lo, hi];
}

/**
 * Runs `voice-access serve ...` until SIGINT/SIGTERM.
 * @returns the exit code (0 after a clean stop; 1 when it could not start; 2 for a wrong command line)
 */
export async function runServeCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = new Command('voice-access serve')
    .description('the IVR on SIP (UDP and TCP) and RTP')
    .option('--config <file>', 'the directory file (default: the built-in demo)')
    .option('--data <dir>', 'the data folder', DEFAULT_DATA_DIR)
    .option('--sip-host <address>', 'address SIP and RTP bind to', '127.0.0.1')
    .option('--sip-port <port>', 'SIP port (UDP and TCP)', portOption, 5060)
    .option('--rtp-ports <low-high>', 'RTP port range', rangeOption, [20000, 29999] as [number, number])
    .exitOverride()
    .configureOutput({ writeOut: (t) => io.out(t), writeErr: (t) => io.err(t) });
  let o: { config?: string; data: string; sipHost: string; sipPort: number; rtpPorts: [number, number] };
  try {
    program.parse(['node', 'serve', ...argv]);
    o = program.opts();
  } catch (err) {
    return err instanceof CommanderError && err.exitCode === 0 ? 0 : 2;
  }
  const logger = createLogger();
  let server: RunningServer;
  try {
    server = await startServer({ config: o.config, data: o.data, sipHost: o.sipHost, sipPort: o.sipPort, rtpPortMin: o.rtpPorts[0], rtpPortMax: o.rtpPorts[1], logger });
  } catch (err) {
    const e = err as Error & { code?: string };
    io.err(`${e.code ? `${e.code}: ` : ''}${e.message}\n`);
    return 1;
  }
  logger.info(
    {
      sip: [`udp:${server.sip.host}:${server.sip.port}`, `tcp:${server.sip.host}:${server.sip.port}`],
      rtp: `${o.sipHost}:${o.rtpPorts[0]}-${o.rtpPorts[1]}`,
      data: server.app.dataDir,
      directory: server.app.configPath,
    },
    'ready',
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  logger.info('stopping: ending calls');
  await server.stop();
  logger.info('stopped');
  return 0;
}
