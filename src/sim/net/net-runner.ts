/**
 * The network runner (issue 4, "Scenarios over the network"): runs a scenario file's calls as a real SIP caller with
 * RTP against a running server (`voice-access simulate --target udp:HOST:PORT FILE... [--data DIR]`), with the same
 * step semantics as the in-process simulator (`runSteps` on a {@link NetCaller}), and checks the expectations from
 * what the network and the server's data folder can tell. `src/sim/net/README.md` documents the rules; in short:
 *
 * Time. The server runs on real time, so:
 * - `expectPrompt`, `expectRecording`, `expectInMeeting` and `expectHangup` bounds, `dtmf` gaps and `speak` are real time;
 * - `wait` steps are real time up to `maxWaitMs` (default 60 s, longer than any single IVR timer the directory
 *   allows except the maximum recording length); a longer wait waits 60 s and the transcript says so;
 * - `start` (and an admin action's `at`) is real time from the scenario's start while some call is up, so
 *   overlapping calls overlap as written (a conference participant is still in the lobby when the organizer calls).
 *   When no call is up, the idle time before the next start is skipped: the next call starts once the previous
 *   ones ended and the server has finished them (their results logged, or 1 s). The scenario clock of transcripts
 *   counts the skipped time, so their times read as the scenario's;
 * - a skipped gap of an hour or more (`start: 61d`), and `advance:`, cannot move the server's clock: they are time
 *   travel in the store (every stored time moved back by the gap, in one transaction: `App.timeTravel`), which needs
 *   the server's data folder (`data`); without it such a scenario fails at once, before any call, saying so.
 *   Shorter gaps change nothing the IVR can tell and are simply skipped.
 * - `admin:` cmdlets run on the data folder at their `at` (they need `data`); `startTime:` does not apply.
 *
 * Results and state. `mailbox` and `missedCalls` are read from the store in `data` after the calls (and the
 * advance); `email` from the mails that appeared in `<data>/outbox/` during the run, `sms` from the texts that
 * appeared in the SMS file sink `<data>/sms/` (with a webhook provider they cannot be checked). Without `data` they fail,
 * saying why. A call's `result` is the server's CallRecord, which only the server knows: it is read from the
 * server's log (`results`, e.g. `--server-log FILE`, see `server-log.ts`); without one, `result` expectations are
 * skipped with a note (not failed). A call the server refused at the SIP level has the result `unknown-number`
 * (404) or `sip-<status>`.
 */
import { existsSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import * as path from 'node:path';
import pino, { type Logger } from 'pino';
import { openApp, type App } from '../../app';
import { MediaEngine } from '../../media/media-engine';
import { listSmsFiles, readNewSms } from '../../notify/sms-file-sender';
import { PromptCatalog } from '../../prompts/catalog';
import type { CallRecord } from '../../runtime/call-runtime';
import { SipClient, type SipTarget } from '../../sip/embedded/sip-client';
import { runAdminAction } from '../admin-actions';
import { checkExpectations, type CapturedMail, type SentSms } from '../expectations';
import type { ScenarioReport } from '../runner';
import { formatDuration, loadScenario, type Scenario, type ScenarioCall } from '../scenario';
import { runSteps, type StepOptions } from '../scripted-caller';
import { formatClock, type CallReport, type TranscriptLine } from '../transcript';
import type { CallCapture, PcapRecorder } from './call-capture';
import { NetCaller, type NetCallObserver } from './net-caller';
import { listOutbox, readNewMails } from './outbox';
import type { CallResultSource } from './server-log';

/** Default cap of `wait` steps over the network, ms. */
export const NET_DEFAULT_MAX_WAIT_MS = 60_000;
/** A skipped idle gap this long or longer is time travel in the store (needs the data folder), ms. */
export const TIME_TRAVEL_MIN_MS = 3_600_000;
/** Without a results source, how long after the last call ended the runner lets the server finish, ms. */
export const NET_SETTLE_MS = 1_000;
/** With a results source, how long it waits for the server to log the end of calls that ended, ms. */
export const NET_RESULT_WAIT_MS = 10_000;

/** Options of {@link runScenarioOverNetwork}. */
export interface NetRunOptions {
  /** The server's SIP address. */
  target: SipTarget;
  /** The server's data folder (store and outbox): state expectations, admin actions and time travel need it. */
  data?: string;
  /** The server's store when it is on PostgreSQL (`--store URL`): state, admin actions and time travel use it. */
  store?: string;
  /** The server's directory file (admin cmdlets read its mail settings); the scenario's `config:` when undefined. */
  config?: string;
  /** Where call results come from (the server's log); `result` expectations are skipped without one. */
  results?: CallResultSource;
  /** Longest `wait`, ms (default {@link NET_DEFAULT_MAX_WAIT_MS}; Infinity: waits run for real). */
  maxWaitMs?: number;
  /** Our address for SIP and RTP (default: the address that routes to the target; 127.0.0.1 for loopback). */
  localAddress?: string;
  /** The prompt catalog (the repository's by default): the prompts to recognise, in every locale it has. */
  catalog?: PromptCatalog;
  /** Logger for the SIP client and RTP engine (silent by default). */
  logger?: Logger;
  /**
   * Lets the scenario's `admin:` cmdlets run on the server's store (`simulate --allow-admin`): they change the live
   * server (PINs, policies, gateways), so a scenario with any is refused without it, before any call.
   */
  allowAdmin?: boolean;
  /**
   * Captures each call's SIP and RTP (`--pcap DIR`) and writes the failed calls' captures as
   * `<scenario file name>-<call id>.pcap` (see {@link failedCallsOf} for which calls failed); the report's notes name them.
   */
  pcap?: PcapRecorder;
}

/**
 * Parses `udp:HOST:PORT` or `tcp:HOST:PORT` (an IPv6 host in brackets: `udp:[::1]:5060`).
 * @throws Error naming the expected form
 */
export function parseTarget(text: string): SipTarget {
  const m = /^(udp|tcp):(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/i.exec(text.trim());
  const port = m ? Number(m[4]) : NaN;
  const host = m ? (m[2] ?? m[3]) : '';
  if (!m || !(port >= 1 && port <= 65535) || !isIP(host)) {
    throw new Error(`--target must be udp:HOST:PORT or tcp:HOST:PORT with an IP address, e.g. udp:127.0.0.1:5060 (got "${text}")`);
  }
  return { transport: m[1].toLowerCase() as 'udp' | 'tcp', host, port };
}

/** The local address that routes to `host` (a UDP socket connected to it tells); loopback for loopback. */
export async function localAddressFor(host: string, port: number): Promise<string> {
  if (host.startsWith('127.')) return '127.0.0.1';
  if (host === '::1') return '::1';
  const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
  try {
    return await new Promise<string>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, host, () => resolve(socket.address().address));
    });
  } finally {
    socket.close();
  }
}

/**
 * Does the scenario skip an idle gap of {@link TIME_TRAVEL_MIN_MS} or more (with calls taking no time, the most it
 * could skip)? Such a gap, and `advance:`, is time travel in the store.
 */
export function timeTravelOf(scenario: Scenario): string[] {
  const reasons: string[] = [];
  const times = [...scenario.calls.map((c) => ({ at: c.startMs, what: `call ${c.id} starts at ${formatDuration(c.startMs)}` })), ...scenario.admin.map((a, i) => ({ at: a.atMs, what: `admin[${i}] at ${formatDuration(a.atMs)}` }))].sort(
    (a, b) => a.at - b.at,
  );
  let reached = 0;
  for (const t of times) {
    if (t.at - reached >= TIME_TRAVEL_MIN_MS) reasons.push(`${t.what} (time travel of up to ${formatDuration(t.at - reached)})`);
    reached = Math.max(reached, t.at);
  }
  if (scenario.advanceMs > 0) reasons.push(`advance: ${formatDuration(scenario.advanceMs)} (time travel)`);
  return reasons;
}

/** The SIP clients and the RTP engine that network calls are placed with: one set serves many calls. */
export interface NetEndpoints {
  /** Our address for SIP and RTP (written in our SDP). */
  localAddress: string;
  /** The RTP engine: one shared 20 ms tick for every call. */
  media: MediaEngine;
  /** The SIP client for a call's `source:` address (ours when undefined), started on first use. */
  clientFor(source: string | undefined): Promise<SipClient>;
  /** Stops every SIP client and the RTP engine (calls still up are dropped without a BYE). */
  stop(): Promise<void>;
}

/**
 * Starts the SIP client and the RTP engine for calls to `target` (more SIP clients start on demand, one per call
 * `source:` address).
 * @param opts.localAddress our address (default: the one that routes to the target, {@link localAddressFor});
 *   opts.recvBufferSize the RTP sockets' receive buffer, bytes (the engine's default when undefined); opts.pcap taps every
 *   SIP client for the calls' captures
 * @throws Error when a socket cannot be bound
 */
export async function openNetEndpoints(opts: { target: SipTarget; localAddress?: string; logger: Logger; recvBufferSize?: number; pcap?: PcapRecorder }): Promise<NetEndpoints> {
  const { logger } = opts;
  const localAddress = opts.localAddress ?? (await localAddressFor(opts.target.host, opts.target.port));
  const startClient = (address: string) => SipClient.start({ localAddress: address, logger }).then((c) => (opts.pcap?.tapSip(c), c));
  const client = await startClient(localAddress);
  let media: MediaEngine;
  try {
    media = await MediaEngine.start({ host: localAddress, portMin: 0, portMax: 0, logger: logger.child({ part: 'sim-rtp' }), recvBufferSize: opts.recvBufferSize });
  } catch (err) {
    await client.stop();
    throw err;
  }
  const sourceClients = new Map<string, Promise<SipClient>>();
  return {
    localAddress,
    media,
    clientFor(source) {
      if (!source || source === localAddress) return Promise.resolve(client);
      let c = sourceClients.get(source);
      if (!c) {
        c = startClient(source);
        sourceClients.set(source, c);
      }
      return c;
    },
    async stop() {
      await client.stop();
      for (const p of sourceClients.values()) await p.then((c) => c.stop()).catch(() => undefined);
      await media.stop();
    },
  };
}

/** What {@link startNetCall} needs besides the call. */
export interface NetCallContext {
  endpoints: NetEndpoints;
  target: SipTarget;
  catalog: PromptCatalog;
  /** The scenario clock, ms since the epoch. */
  now: () => number;
  /** The scenario's start on that clock (transcript times are relative to it), ms since the epoch. */
  start: number;
  /** Options of the steps (`wait` cap, the step observer). */
  steps?: StepOptions;
  /** Told the call's timings (setup, prompts), see {@link NetCallObserver}. */
  observer?: NetCallObserver;
  /** Captures the call (`--pcap`); the caller of {@link startNetCall} saves or drops the capture it returns. */
  pcap?: PcapRecorder;
}

/** A call placed by {@link startNetCall}. */
export interface NetCallRun {
  /** The caller, or null when the call could not be placed (the reason is in the call's failures). */
  caller: NetCaller | null;
  /** Resolves once the script and the call have both ended; never rejects. */
  done: Promise<void>;
  /** The call's capture with `ctx.pcap` (to save when it failed, drop otherwise), else null. */
  capture: CallCapture | null;
}

/**
 * Places one call of a scenario and runs its steps (`runSteps`) as the caller, on shared endpoints: the one-call
 * seam of the network runner, used by it and by the load runner (`load/`). Failures go to `call.failures` (a call
 * that cannot be placed, a scripted caller that throws: it then hangs up); nothing is thrown.
 * @returns once the INVITE is sent: the caller and a promise of the call's end
 */
export async function startNetCall(call: { spec: ScenarioCall; failures: string[] }, ctx: NetCallContext): Promise<NetCallRun> {
  const { spec } = call;
  const capture = ctx.pcap?.capture() ?? null;
  let caller: NetCaller;
  try {
    caller = await NetCaller.place({
      client: await ctx.endpoints.clientFor(spec.source),
      target: ctx.target,
      media: ctx.endpoints.media,
      mediaAddress: ctx.endpoints.localAddress,
      catalog: ctx.catalog,
      locales: ctx.catalog.localeNames,
      now: ctx.now,
      to: spec.to,
      from: spec.from,
      diversion: spec.diversion,
      observer: ctx.observer,
      capture: capture ?? undefined,
    });
  } catch (err) {
    call.failures.push(`call ${spec.id}: cannot place the call: ${(err as Error).message}`);
    if (capture) ctx.pcap!.drop(capture);
    return { caller: null, done: Promise.resolve(), capture: null };
  }
  const script = runSteps(call, caller, ctx.start, ctx.steps).catch((err: unknown) => {
    call.failures.push(`call ${spec.id}: the scripted caller failed: ${(err as Error).message}`);
    caller.callerHangup();
  });
  return { caller, done: script.then(() => caller.whenEnded()), capture };
}

/** A call of the scenario as it runs over the network. */
interface NetLiveCall {
  spec: ScenarioCall;
  caller: NetCaller | null;
  capture: CallCapture | null;
  failures: string[];
  record: CallRecord | null;
  /** The script and the call have both ended. */
  finished: boolean;
  finishedAtReal: number;
}

type RunEvent = { kind: 'call'; at: number; call: NetLiveCall } | { kind: 'admin'; at: number; index: number };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Runs one scenario file over the network.
 * @returns the report (the same shape as the in-process runner's; `virtualMs` is the scenario clock: real time plus
 *   skipped idle time); a failing step or expectation does not throw
 * @throws ScenarioError when the scenario is invalid; Error when the SIP client or RTP engine cannot start
 */
export async function runScenarioOverNetwork(file: string, options: NetRunOptions): Promise<ScenarioReport> {
  const realStart = Date.now();
  const catalog = options.catalog ?? PromptCatalog.load();
  const scenario = loadScenario(file, catalog);
  const logger = options.logger ?? pino({ level: 'silent' });
  const maxWaitMs = options.maxWaitMs ?? NET_DEFAULT_MAX_WAIT_MS;
  const failures: string[] = [];
  const notes: string[] = [];
  const calls: NetLiveCall[] = scenario.calls.map((spec) => ({ spec, caller: null, capture: null, failures: [], record: null, finished: false, finishedAtReal: 0 }));

  // The scenario clock: real time plus the idle time skipped so far (ms since the epoch; 0 = the scenario's start).
  let skipped = 0;
  const skips: { real: number; total: number }[] = [];
  const now = () => Date.now() + skipped;
  const rel = () => now() - realStart;
  /** A real time (ms since the epoch) on the scenario clock, relative to the start. */
  const relOfReal = (real: number) => real - realStart + (skips.filter((s) => s.real <= real).pop()?.total ?? 0);

  const report = (): ScenarioReport => ({
    file: scenario.file,
    name: scenario.name,
    passed: failures.length === 0,
    failures,
    calls: calls.map((c) => callReport(c, realStart, options.results ? `not in ${options.results.description}` : 'unknown: the server knows it, see --server-log')),
    mails: [],
    sms: [],
    countsChanged: [],
    notes,
    virtualMs: rel(),
    realMs: Date.now() - realStart,
    dataDir: options.data ? path.resolve(options.data) : null,
  });

  // What needs the data folder: refuse before calling anyone, the calls would not mean what the scenario says.
  const needsData = [...timeTravelOf(scenario), ...scenario.admin.map((a, i) => `admin[${i}] (${a.label})`)];
  if (!options.data && !options.store && needsData.length > 0) {
    failures.push(
      `this scenario needs the server's data folder (--data DIR): ${needsData.join('; ')}: the server's clock cannot be moved over the network and cmdlets run on its store; no call was made`,
    );
    return report();
  }
  // Cmdlets on a live server's store only when the tester says so: refuse before calling anyone.
  if (scenario.admin.length > 0 && !options.allowAdmin) {
    failures.push(
      `this scenario runs cmdlets on the server's store (${scenario.admin.map((a, i) => `admin[${i}] (${a.label})`).join('; ')}): they change the live server, so they run only with --allow-admin; no call was made`,
    );
    return report();
  }
  if (scenario.startTime !== undefined) notes.push('startTime does not apply over the network: the server runs on its own clock');

  let app: App | null = null;
  let endpoints: NetEndpoints | null = null;
  let mailsBefore = new Set<string>();
  let mails: CapturedMail[] | { unavailable: string } = { unavailable: "mails are in the server's outbox: give its data folder with --data" };
  let smsBefore = new Set<string>();
  let texts: SentSms[] | { unavailable: string } = { unavailable: "texts are in the server's SMS file sink (<data>/sms): give its data folder with --data" };
  try {
    if (options.store) {
      app = await openApp({ config: options.config ?? scenario.config, data: options.data, store: options.store });
    } else if (options.data) {
      const dataDir = path.resolve(options.data);
      if (!existsSync(path.join(dataDir, 'voice-access.db'))) {
        failures.push(`no store in ${dataDir} (voice-access.db): --data must be the data folder the server runs on; no call was made`);
        return report();
      }
      app = await openApp({ config: options.config ?? scenario.config, data: dataDir });
      mailsBefore = new Set(listOutbox(dataDir));
      smsBefore = new Set(listSmsFiles(dataDir));
    }
    endpoints = await openNetEndpoints({ target: options.target, localAddress: options.localAddress, logger, pcap: options.pcap });

    // ---------------------------------------------------------------- the calls, in scenario time
    const finishWaiters = new Set<() => void>();
    const onFinished = () => {
      for (const f of [...finishWaiters]) f();
    };
    /** Waits `ms`, or less when a call finishes meanwhile (the timer is cleared either way). */
    const sleepOrFinished = (ms: number) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          finishWaiters.delete(done);
          resolve();
        };
        const t = setTimeout(done, Math.max(0, Math.min(ms, 2_147_000_000)));
        finishWaiters.add(done);
      });
    const started = new Set<NetLiveCall>();
    const running = () => calls.filter((c) => started.has(c) && !c.finished);

    /** Lets the server finish the calls that ended (results logged, or a moment). */
    const settle = async () => {
      const done = calls.filter((c) => c.finished);
      if (options.results) {
        const pending = () => done.filter((c) => c.caller?.answered && !options.results!.resultOf(c.caller.callId));
        const until = Date.now() + NET_RESULT_WAIT_MS;
        while (pending().length > 0 && Date.now() < until) await sleep(100);
      } else {
        const last = Math.max(0, ...done.map((c) => c.finishedAtReal));
        await sleep(last + NET_SETTLE_MS - Date.now());
      }
    };

    const reach = async (at: number) => {
      for (let guard = 0; guard < 100_000 && rel() < at; guard++) {
        if (running().length === 0) {
          await settle();
          const gap = at - rel();
          if (gap <= 0) break;
          if (gap >= TIME_TRAVEL_MIN_MS && app) {
            const rows = await app.timeTravel(gap);
            notes.push(`at ${formatClock(rel())}: no call was up: skipped ${formatClock(gap)} by time travel in the store (${rows} stored times moved back)`);
          } else {
            notes.push(`at ${formatClock(rel())}: no call was up: skipped ${formatClock(gap)} of idle time`);
          }
          skipped += gap;
          skips.push({ real: Date.now(), total: skipped });
          break;
        }
        await sleepOrFinished(at - rel());
      }
    };

    const startCall = async (c: NetLiveCall) => {
      started.add(c);
      const run = await startNetCall(c, { endpoints: endpoints!, target: options.target, catalog, now, start: realStart, steps: { maxWaitMs }, pcap: options.pcap });
      c.caller = run.caller;
      c.capture = run.capture;
      void run.done.then(() => {
        c.finished = true;
        c.finishedAtReal = Date.now();
        onFinished();
      });
    };

    const events: RunEvent[] = [
      ...calls.map((call) => ({ kind: 'call' as const, at: call.spec.startMs, call })),
      ...scenario.admin.map((a, index) => ({ kind: 'admin' as const, at: a.atMs, index })),
    ].sort((a, b) => a.at - b.at || (a.kind === b.kind ? 0 : a.kind === 'call' ? -1 : 1));
    for (const ev of events) {
      await reach(ev.at);
      if (ev.kind === 'call') await startCall(ev.call);
      else {
        const action = scenario.admin[ev.index];
        try {
          const summary = await runAdminAction(app!, action.args);
          notes.push(`admin at ${formatClock(rel())}: ${action.label} -> ${summary}`);
        } catch (err) {
          const e = err as Error & { code?: string };
          failures.push(`admin[${ev.index}] (${action.label}): ${e.code ? `${e.code}: ` : ''}${e.message}`);
        }
      }
    }

    // Every call ends within the scenario's timeout after the last start (real time), or the caller hangs up.
    const deadline = Date.now() + scenario.timeoutMs;
    while (calls.some((c) => !c.finished) && Date.now() < deadline) await sleepOrFinished(deadline - Date.now());
    for (const c of calls.filter((x) => !x.finished)) {
      c.failures.push(`call ${c.spec.id}: the call did not end within the scenario's timeout of ${formatDuration(scenario.timeoutMs)}; the caller hangs up`);
      c.caller?.annotate('sim', 'the call did not end: the caller hangs up');
      c.caller?.callerHangup();
    }
    await settle();

    // ---------------------------------------------------------------- results, advance, expectations
    for (const c of calls) {
      const caller = c.caller;
      if (!caller) continue;
      const refused = caller.inviteStatus && caller.inviteStatus.status >= 300 ? caller.inviteStatus.status : null;
      if (refused !== null) {
        c.record = { callId: caller.callId, flow: 'rejected', result: refused === 404 ? 'unknown-number' : `sip-${refused}`, identity: null };
      } else if (options.results && caller.answered) {
        const r = options.results.resultOf(caller.callId);
        if (r) c.record = { callId: caller.callId, flow: r.flow as CallRecord['flow'], result: r.result, identity: null };
        else notes.push(`call ${c.spec.id}: ${options.results.description} has no result for Call-ID ${caller.callId}`);
      }
    }
    if (scenario.advanceMs > 0 && app) {
      const rows = await app.timeTravel(scenario.advanceMs);
      skipped += scenario.advanceMs;
      skips.push({ real: Date.now(), total: skipped });
      notes.push(`advance: ${formatDuration(scenario.advanceMs)} by time travel in the store (${rows} stored times moved back)`);
    }
    if (app) {
      if (app.directory.mail.smtp) {
        mails = { unavailable: `the server sends mail by SMTP (${app.directory.mail.smtp.host}), not to its outbox: mails cannot be checked` };
      } else {
        mails = readNewMails(app.dataDir, mailsBefore).map((m) => ({ at: Math.round(relOfReal(m.mtimeMs)), to: m.to, subject: m.subject, text: m.text }));
      }
      const smsSettings = app.directory.notifications.sms;
      if (smsSettings.provider === 'webhook') {
        texts = { unavailable: `the server sends texts to a webhook (${smsSettings.webhook ? new URL(smsSettings.webhook.url).host : '?'}), not to its file sink: texts cannot be checked` };
      } else {
        texts = readNewSms(app.dataDir, smsBefore).map((t) => ({ at: Math.round(relOfReal(t.mtimeMs)), to: t.to, text: t.text }));
      }
    }
    for (const c of calls) failures.push(...c.failures);
    const checked = await checkExpectations(scenario, {
      store: app ? app.store : { unavailable: "mailbox state is in the server's store: give its data folder with --data" },
      mails,
      sms: texts,
      calls,
      resultsUnavailable: options.results ? undefined : "call results are known only to the server: give its log with --server-log FILE",
    });
    failures.push(...checked.failures);
    notes.push(...checked.notes);
    if (options.pcap) await savePcaps(options.pcap, scenario.file, failedCallsOf(calls, failures.length > 0), notes);
  } finally {
    for (const c of calls) if (c.capture) options.pcap?.drop(c.capture);
    for (const c of calls) c.caller?.callerHangup();
    await endpoints?.stop();
    await app?.close();
  }
  const out = report();
  out.mails = Array.isArray(mails) ? mails.map(({ at, to, subject }) => ({ at, to, subject })) : [];
  out.sms = Array.isArray(texts) ? texts : [];
  return out;
}

/**
 * The calls of a scenario that failed, for `--pcap`: those with failures of their own (a step, the call could not be
 * placed or did not end in time); when the scenario failed only on what is checked after the calls (`expect:`: a
 * result, the mailbox, a mail, which any of its calls may have caused), every call.
 */
export function failedCallsOf<C extends { failures: readonly string[] }>(calls: readonly C[], scenarioFailed: boolean): C[] {
  const own = calls.filter((c) => c.failures.length > 0);
  return own.length > 0 || !scenarioFailed ? own : [...calls];
}

/** Saves the failed calls' captures (`<scenario file name>-<call id>.pcap`, at once: the calls are long over), noting each file. */
async function savePcaps(pcap: PcapRecorder, file: string, failed: readonly NetLiveCall[], notes: string[]): Promise<void> {
  const base = path.basename(file).replace(/\.ya?ml$/i, '');
  for (const c of failed) {
    if (!c.capture) continue;
    const saved = await pcap.save(c.capture, `${base}-${c.spec.id}`, 0);
    notes.push(saved ? `call ${c.spec.id} failed: its SIP and RTP are in ${saved}` : `call ${c.spec.id} failed: its pcap was not written (${pcap.describe()})`);
  }
}

function callReport(c: NetLiveCall, start: number, noResult: string): CallReport {
  const caller = c.caller;
  const transcript: TranscriptLine[] = caller
    ? caller.events
        .map((e, i) => ({ e, i }))
        .sort((a, b) => a.e.at - b.e.at || a.i - b.i)
        .map(({ e }) => ({ at: Math.max(0, e.at - start), who: e.who, text: e.text }))
    : [];
  return {
    id: c.spec.id,
    from: c.spec.from,
    to: c.spec.to,
    diversion: c.spec.diversion,
    record: c.record,
    transcript,
    heard: caller ? caller.heard.map((h) => ({ at: Math.max(0, h.at - start), id: h.id, text: h.text })) : [],
    failures: c.failures,
    ...(c.record === null && c.caller?.ended ? { resultNote: noResult } : {}),
  };
}
