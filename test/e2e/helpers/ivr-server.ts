/**
 * The real server for end-to-end tests, as `voice-access serve` runs it (store, RTP engine, SIP on UDP and TCP, call
 * runtime) on 127.0.0.1 with free ports, in a temporary folder, plus what the tests observe from the server side:
 * every call the runtime handles (its channel, with the prompts it played and the digits it received, and its
 * CallRecord when it ends), the cmdlets on the same data folder, and the server's log lines.
 *
 * Three engines (`engine`), as `serve` offers them:
 * - `embedded`: our SIP stack and RTP engine (the default);
 * - `drachtio`: `--sip-engine drachtio` behind a drachtio-server of its own (started here, stopped by `stop()`), media
 *   on our RTP engine; callers call drachtio-server's SIP address (`target` is `server.sip`);
 * - `freeswitch`: the same, with `--media freeswitch`: each call's media is an endpoint on a FreeSWITCH (one passed
 *   in, shared by a test file, or one started here and stopped by `stop()`).
 * drachtio-server hands a new INVITE to any application connected to it, so each server has a drachtio-server of its
 * own, except a second instance started with `sameAs` (two instances of one deployment).
 *
 * The calls are observed by wrapping `server.runtime.handleCall` (the call source calls it for each new call), so no
 * hook in the product is needed; with FreeSWITCH media the observed channel is the call's FreeswitchCallChannel.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import * as path from 'node:path';
import type { ChannelEvent, HeardPrompt, IvrChannel } from '../../../src/channel/ivr-channel';
import { main } from '../../../src/cli/main';
import { startServer, type RunningServer } from '../../../src/cli/serve';
import { createLogger } from '../../../src/log';
import type { IncomingCall } from '../../../src/ports/call-channel';
import type { CallRecord } from '../../../src/runtime/call-runtime';
import { captureIo, tempDir, writeConfig } from '../../helpers';
import { describeWithServers, startDrachtio, startFreeswitch, type RealServerName, type RunningDrachtio, type RunningFreeswitch } from '../../helpers/real-servers';
import { describeRun, runSipp, type SippRun } from '../../sip/helpers/sipp';
import { sequencedCaptureScenario } from './dtmf-captures';

/** The SIPp scenarios of the end-to-end tests. */
export const E2E_SIPP = path.join(__dirname, '..', 'sipp');

/** One call as the server saw it. */
export interface ObservedCall {
  callId: string;
  from: string | null;
  to: string;
  diversion?: string;
  sourceAddress?: string;
  /**
   * The call's channel (an RtpCallChannel, or a FreeswitchCallChannel with FreeSWITCH media): its heard-log and
   * event log are live.
   */
  channel: IvrChannel;
  /** Set when the runtime has finished the call. */
  record: CallRecord | null;
  /** Resolves with the record when the runtime has finished the call. */
  done: Promise<CallRecord>;
}

/** Prompt ids the caller heard start, in order (`null` for a recording). */
export function heardIds(call: ObservedCall): (string | null)[] {
  return call.channel.heard.map((p) => p.id);
}

/** The first heard prompt with this id, if any. */
export function heardPrompt(call: ObservedCall, id: string): HeardPrompt | undefined {
  return call.channel.heard.find((p) => p.id === id);
}

/** The keys the IVR received, in order, after de-duplication across DTMF transports (one per key press). */
export function receivedKeys(call: ObservedCall): string {
  return call.channel.events
    .filter((e): e is Extract<ChannelEvent, { type: 'dtmf' }> => e.type === 'dtmf')
    .map((e) => e.digit)
    .join('');
}

/** A short account of a call for assertion messages: result, prompts heard, keys received. */
export function describeCall(call: ObservedCall | undefined): string {
  if (!call) return 'no call reached the runtime';
  const heard = call.channel.heard.map((p) => `${p.id ?? '[recording]'}${p.stoppedBy ? `(${p.stoppedBy} after ${p.heardMs} ms)` : ''}`);
  return `call ${call.callId} from ${call.from} to ${call.to}${call.diversion ? ` diverted from ${call.diversion}` : ''}: ` +
    `${call.record ? `${call.record.flow} -> ${call.record.result}` : 'still running'}; heard: ${heard.join(', ')}; ` +
    `keys: ${receivedKeys(call)}`;
}

export interface CmdletRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when `--json` was given. */
  json: any;
}

/** The engines `serve` can run on: see the module's comment. */
export type IvrEngine = 'embedded' | 'drachtio' | 'freeswitch';

/** Every engine, in the order the parametrised suites run them. */
export const ENGINES: readonly IvrEngine[] = ['embedded', 'drachtio', 'freeswitch'];

/** The real servers an engine needs (for `describeWithServers`). */
export function serversFor(engine: IvrEngine): RealServerName[] {
  return engine === 'embedded' ? [] : engine === 'drachtio' ? ['drachtio-server'] : ['drachtio-server', 'freeswitch'];
}

/**
 * Declares `fn`'s suite once per engine: `describe('<title> [<engine>]', ...)` for the embedded engine, and through
 * `describeWithServers` for the others, so that a machine without drachtio-server or FreeSWITCH skips those with
 * one line naming what is missing.
 */
export function describeEngines(title: string, fn: (engine: IvrEngine) => void, engines: readonly IvrEngine[] = ENGINES): void {
  for (const engine of engines) {
    const name = `${title} [${engine}]`;
    if (engine === 'embedded') describe(name, () => fn(engine));
    else describeWithServers(serversFor(engine), name, () => fn(engine));
  }
}

export interface IvrServer {
  server: RunningServer;
  engine: IvrEngine;
  /** drachtio-server (drachtio and freeswitch engines). */
  drachtio?: RunningDrachtio;
  /** FreeSWITCH (freeswitch engine). */
  freeswitch?: RunningFreeswitch;
  /** The temporary folder: directory file, data folder. */
  dir: string;
  config: string;
  data: string;
  /** The PostgreSQL store the instance runs on, when not SQLite in `data`. */
  store?: string;
  /** The recordings folder (shared by the instances of one PostgreSQL store). */
  recordings: string;
  /**
   * Where callers call, SIP over UDP and TCP on 127.0.0.1: our SIP socket (embedded), or drachtio-server's SIP
   * address as it reported it (`server.sip`).
   */
  target: { address: string; port: number };
  /** Every call the runtime was handed, in order. */
  calls: ObservedCall[];
  /** The server's log lines (JSON text), the most recent ones. */
  logs: string[];
  /** Every log line at level error or fatal (JSON text), kept whatever the number of other lines. */
  errors: string[];
  /** The `n`-th call (from 0) once it has ended; rejects after `timeoutMs`. */
  ended(n: number, timeoutMs?: number): Promise<ObservedCall>;
  /** Resolves when `pred` holds (checked every 50 ms); rejects after `timeoutMs` with `what`. */
  until(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void>;
  /** Runs a cmdlet in-process on this server's data folder and directory file. */
  cmdlet(...args: string[]): Promise<CmdletRun>;
  /** A readable account for failure messages: the SIPp run (if any), the calls, the last log lines. */
  explain(run?: SippRun): string;
  /** Stops the server and removes the temporary folder (kept when E2E_KEEP is set, for a look after a failure). */
  stop(): Promise<void>;
}

export interface IvrServerOptions {
  /** Edits the demo directory before it is written (see test/helpers.ts `writeConfig`). */
  patch?: (doc: any) => void;
  /** IVR timeouts for the test (defaults: 3 s first digit, 2 s between digits). */
  ivr?: { firstDigitTimeoutSeconds?: number; interDigitTimeoutSeconds?: number; maxPromptRepeats?: number };
  /** The engine [embedded]. */
  engine?: IvrEngine;
  /** With the freeswitch engine: the FreeSWITCH to use (the caller stops it); default: one of its own. */
  freeswitch?: RunningFreeswitch;
  /**
   * A second instance of `other`'s deployment: the same directory file and data folder, connected to the same
   * drachtio-server (and FreeSWITCH); its `stop()` stops only this instance, `other` keeps what it owns. `patch` and
   * `ivr` are not used (the directory file is `other`'s).
   */
  sameAs?: IvrServer;
  /**
   * A PostgreSQL store (`serve --store`). With `sameAs`, the second instance gets a data folder of its own, as on
   * another machine, and shares only the store and the recordings folder.
   */
  store?: string;
  /** The admin center's HTTP API and web pages: HOST:PORT (`serve --http`), e.g. `127.0.0.1:0`; none by default. */
  http?: string;
}

const MAX_LOG_LINES = 400;

/** Starts the server on 127.0.0.1, SIP on a free port and RTP on free ports, with a fresh data folder. */
export async function startIvrServer(opts: IvrServerOptions = {}): Promise<IvrServer> {
  const other = opts.sameAs;
  const engine = other?.engine ?? opts.engine ?? 'embedded';
  const dir = other?.dir ?? tempDir('va-e2e-');
  const config =
    other?.config ??
    writeConfig(dir, (doc) => {
      doc.ivr = { firstDigitTimeoutSeconds: 3, interDigitTimeoutSeconds: 2, ...opts.ivr };
      opts.patch?.(doc);
    });
  const store = other?.store ?? opts.store;
  const data = other && !store ? other.data : path.join(dir, other ? `data-${randomUUID().slice(0, 8)}` : 'data');
  const recordings = other?.recordings ?? path.join(data, 'recordings');
  // What this server starts, it stops (by PID, in stop()); what it was given, its owner stops.
  const owned: Array<{ stop(): Promise<void> }> = [];
  const stopOwned = async () => {
    for (const s of owned.splice(0).reverse()) await s.stop();
  };
  let drachtio: RunningDrachtio | undefined;
  let freeswitch: RunningFreeswitch | undefined;
  try {
    if (engine !== 'embedded') {
      drachtio = other?.drachtio ?? (await startDrachtio());
      if (!other) owned.push(drachtio);
    }
    if (engine === 'freeswitch') {
      freeswitch = other?.freeswitch ?? opts.freeswitch ?? (await startFreeswitch());
      if (!other && !opts.freeswitch) owned.push(freeswitch);
    }
  } catch (err) {
    await stopOwned();
    if (!other) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const logs: string[] = [];
  const errors: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        logs.push(line);
        if (/^\{"level":(5|6)\d,/.test(line)) errors.push(line);
      }
      if (logs.length > MAX_LOG_LINES) logs.splice(0, logs.length - MAX_LOG_LINES);
      cb();
    },
  });
  let server: RunningServer;
  try {
    server = await startServer({
      config,
      data,
      store,
      recordings,
      sipHost: '127.0.0.1',
      sipPort: 0,
      rtpPortMin: 0,
      rtpPortMax: 0,
      logger: createLogger({ level: 'info', destination }),
      ...(opts.http ? { http: opts.http } : {}),
      ...(drachtio ? { sipEngine: 'drachtio' as const, drachtio: { host: drachtio.host, port: drachtio.adminPort, secret: drachtio.secret } } : {}),
      ...(freeswitch ? { mediaEngine: 'freeswitch' as const, freeswitch: { servers: [{ host: freeswitch.host, port: freeswitch.eslPort }], secret: freeswitch.secret } } : {}),
    });
  } catch (err) {
    await stopOwned();
    if (!other) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  if (server.engine !== (drachtio ? 'drachtio' : 'embedded') || server.mediaEngine.engine !== (freeswitch ? 'freeswitch' : 'embedded')) {
    await server.stop();
    await stopOwned();
    if (!other) rmSync(dir, { recursive: true, force: true });
    throw new Error(`asked for the ${engine} engine, got SIP ${server.engine} and media ${server.mediaEngine.engine}`);
  }

  const calls: ObservedCall[] = [];
  const runtime = server.runtime;
  const handleCall = runtime.handleCall.bind(runtime);
  runtime.handleCall = (call: IncomingCall): Promise<CallRecord> => {
    const done = handleCall(call).then((record) => {
      observed.record = record;
      return record;
    });
    const observed: ObservedCall = {
      callId: call.channel.callId,
      from: call.from,
      to: call.to,
      diversion: call.diversion,
      sourceAddress: call.sourceAddress,
      channel: call.channel as IvrChannel,
      record: null,
      done,
    };
    calls.push(observed);
    return done;
  };

  const until = async (pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!(await pred())) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const t: IvrServer = {
    server,
    engine,
    drachtio,
    freeswitch,
    dir,
    config,
    data,
    store,
    recordings,
    target: { address: server.sip.host, port: server.sip.port },
    calls,
    logs,
    errors,
    until,
    async ended(n, timeoutMs = 15_000) {
      await until(() => calls[n]?.record != null, timeoutMs, `call #${n + 1} to end (calls so far: ${calls.length})`);
      return calls[n];
    },
    async cmdlet(...args) {
      const io = captureIo();
      const code = await main([...args, '--data', data, '--config', config, ...(store ? ['--store', store] : [])], io);
      let json: any;
      if (args.includes('--json')) {
        try {
          json = JSON.parse(io.stdout);
        } catch {
          json = undefined;
        }
      }
      return { code, stdout: io.stdout, stderr: io.stderr, json };
    },
    explain(run) {
      return [
        run ? `SIPp: ${describeRun(run)}` : '',
        ...calls.map((c) => describeCall(c)),
        'server log (last lines):',
        ...logs.slice(-25),
      ].join('\n');
    },
    async stop() {
      try {
        await server.stop();
      } finally {
        await stopOwned();
        if (!other && !process.env.E2E_KEEP) rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  return t;
}

/** The SIP URI of `user` at the server's SIP address (`target`), for phones that dial a URI. */
export function dialUri(t: IvrServer, user: string): string {
  return `sip:${user}@${t.target.address}:${t.target.port}`;
}

/** Throws with the whole story unless SIPp exited 0 with exactly `calls` successful calls and none failed. */
export function expectSippSuccess(t: IvrServer, run: SippRun, calls = 1): void {
  if (run.code !== 0 || run.successful !== calls || run.failed !== 0) {
    throw new Error(`expected ${calls} successful SIPp call(s)\n${t.explain(run)}`);
  }
}

/**
 * Runs one SIPp scenario of test/e2e/sipp/ (or an absolute path) against the server (one call, UDP unless told),
 * with SIPp's global timeout and a hard kill. With FreeSWITCH media a scenario that replays sip-tester's digit
 * captures is run on a copy whose captures are renumbered in sequence (`helpers/dtmf-captures.ts`: FreeSWITCH drops
 * the captures' backward sequence numbers and repeated timestamps, our RTP engine takes them as they are).
 */
export async function sippCall(
  t: IvrServer,
  file: string,
  o: { service?: string; timeoutS?: number; transport?: 'u1' | 't1'; extra?: string[]; cwd?: string; localAddress?: string } = {},
): Promise<SippRun> {
  const timeoutS = o.timeoutS ?? 45;
  let scenario = path.resolve(E2E_SIPP, file);
  let copies: string | null = null;
  if (t.engine === 'freeswitch' && /play_pcap_audio="[^"]*dtmf_2833_/.test(readFileSync(scenario, 'utf8'))) {
    copies = tempDir('va-e2e-dtmf-');
    scenario = sequencedCaptureScenario(scenario, copies);
  }
  try {
    return await runSipp({
      scenario: { file: scenario },
      target: t.target,
      service: o.service ?? '14255550100',
      transport: o.transport,
      localAddress: o.localAddress,
      calls: 1,
      timeoutS,
      killAfterMs: (timeoutS + 10) * 1000,
      extra: o.extra,
      cwd: o.cwd,
    });
  } finally {
    if (copies) rmSync(copies, { recursive: true, force: true });
  }
}
