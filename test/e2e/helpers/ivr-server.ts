/**
 * The real server for end-to-end tests, as `voice-access serve` runs it (store, RTP engine, SIP on UDP and TCP, call
 * runtime) on 127.0.0.1 with free ports, in a temporary folder, plus what the tests observe from the server side:
 * every call the runtime handles (its channel, with the prompts it played and the digits it received, and its
 * CallRecord when it ends), the cmdlets on the same data folder, and the server's log lines.
 *
 * The calls are observed by wrapping `server.runtime.handleCall` (the call source calls it for each new call), so no
 * hook in the product is needed.
 */
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import * as path from 'node:path';
import type { ChannelEvent, HeardPrompt, IvrChannel } from '../../../src/channel/ivr-channel';
import { main } from '../../../src/cli/main';
import { startServer, type RunningServer } from '../../../src/cli/serve';
import { createLogger } from '../../../src/log';
import type { IncomingCall } from '../../../src/ports/call-channel';
import type { CallRecord } from '../../../src/runtime/call-runtime';
import { captureIo, tempDir, writeConfig } from '../../helpers';
import { describeRun, runSipp, type SippRun } from '../../sip/helpers/sipp';

/** The SIPp scenarios of the end-to-end tests. */
export const E2E_SIPP = path.join(__dirname, '..', 'sipp');

/** One call as the server saw it. */
export interface ObservedCall {
  callId: string;
  from: string | null;
  to: string;
  diversion?: string;
  sourceAddress?: string;
  /** The call's channel (an RtpCallChannel): its heard-log and event log are live. */
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

export interface IvrServer {
  server: RunningServer;
  /** The temporary folder: directory file, data folder. */
  dir: string;
  config: string;
  data: string;
  /** SIP (UDP and TCP) on 127.0.0.1. */
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
  until(pred: () => boolean, timeoutMs: number, what: string): Promise<void>;
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
}

const MAX_LOG_LINES = 400;

/** Starts the server on 127.0.0.1, SIP on a free port and RTP on free ports, with a fresh data folder. */
export async function startIvrServer(opts: IvrServerOptions = {}): Promise<IvrServer> {
  const dir = tempDir('va-e2e-');
  const config = writeConfig(dir, (doc) => {
    doc.ivr = { firstDigitTimeoutSeconds: 3, interDigitTimeoutSeconds: 2, ...opts.ivr };
    opts.patch?.(doc);
  });
  const data = path.join(dir, 'data');
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
  const server = await startServer({
    config,
    data,
    sipHost: '127.0.0.1',
    sipPort: 0,
    rtpPortMin: 0,
    rtpPortMax: 0,
    logger: createLogger({ level: 'info', destination }),
  });

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

  const until = async (pred: () => boolean, timeoutMs: number, what: string): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const t: IvrServer = {
    server,
    dir,
    config,
    data,
    target: { address: '127.0.0.1', port: server.sip.port },
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
      const code = await main([...args, '--data', data, '--config', config], io);
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
      await server.stop();
      if (!process.env.E2E_KEEP) rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

/** Throws with the whole story unless SIPp exited 0 with exactly `calls` successful calls and none failed. */
export function expectSippSuccess(t: IvrServer, run: SippRun, calls = 1): void {
  if (run.code !== 0 || run.successful !== calls || run.failed !== 0) {
    throw new Error(`expected ${calls} successful SIPp call(s)\n${t.explain(run)}`);
  }
}

/**
 * Runs one SIPp scenario of test/e2e/sipp/ against the server (one call, UDP unless told), with SIPp's global
 * timeout and a hard kill.
 */
export function sippCall(
  t: IvrServer,
  file: string,
  o: { service?: string; timeoutS?: number; transport?: 'u1' | 't1'; extra?: string[]; cwd?: string; localAddress?: string } = {},
): Promise<SippRun> {
  const timeoutS = o.timeoutS ?? 45;
  return runSipp({
    scenario: { file: path.join(E2E_SIPP, file) },
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
}
