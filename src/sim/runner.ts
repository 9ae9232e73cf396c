/**
 * The scenario runner (issue 3, "Simulator"): runs a scenario file's scripted calls against the real flows and
 * store on a {@link VirtualClock}, then checks its expectations. Nothing here waits on real time: calls, prompts,
 * timeouts, `wait:` steps and `advance:` are all virtual, so a call costs milliseconds and a 60-day PIN lifetime
 * costs nothing.
 *
 * How a run goes:
 * 1. The scenario is loaded and validated (errors name the file and the key path).
 * 2. An App is opened on `data` (kept) or on a throw-away folder seeded from the directory file (removed after),
 *    with the VirtualClock as the store's clock and a mailer that records every mail in memory and still delivers it
 *    through the configured mailer (the outbox gets its `.eml`), and an SMS provider that records every text the
 *    configured provider (the `<data>/sms/` file sink by default) accepted. A throw-away folder that is not kept
 *    skips the file outboxes (the report has every mail and text) and writes recordings without fsync: a virtual
 *    day of calls waits on no disk.
 * 3. A CallRuntime is built on the same clock. Each call starts at its `start:` offset on a {@link SimCallChannel};
 *    calls run concurrently on the one clock; each call's steps run as a scripted caller (see {@link runSteps}).
 *    When a call's steps run out and the call is still up, the caller hangs up. New voice messages and missed calls
 *    go to the SMS and mail notifier (`notify/voice-mail-notifier.ts`) and its queue, on the same clock.
 * 4. The clock is driven until every call has ended (bounded by the scenario's `timeout:` after the last call's
 *    start), then `advance:` is applied, then the expectations are checked.
 *
 * Determinism: the clock moves only when the program is idle. Work that a macrotask turn cannot drain (scrypt PIN
 * hashes in the thread pool, mail delivery, file removal) is tracked: the PIN and conferencing services and the
 * mailer count their pending promises, and a call whose flow runs but waits on no channel operation counts as busy.
 *
 * The pieces the network runner (`net/net-runner.ts`) shares live beside this file, and are re-exported here: the
 * scripted caller (`scripted-caller.ts`), the expectations (`expectations.ts`), the admin actions
 * (`admin-actions.ts`) and the transcripts (`transcript.ts`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { buildIvr, openApp, type App } from '../app';
import { readEnvironment } from '../config/environment';
import { createLogger } from '../log';
import { createMailer } from '../notify/nodemailer-mailer';
import { createSmsSender } from '../notify/sms-provider';
import type { Notifications } from '../notify/voice-mail-notifier';
import type { Mailer, MailMessage } from '../ports/mailer';
import type { SmsMessage, SmsSender } from '../ports/mwi';
import { PromptCatalog } from '../prompts/catalog';
import type { CallRecord } from '../runtime/call-runtime';
import { runAdminAction } from './admin-actions';
import { checkExpectations, type CapturedMail, type SentMail, type SentSms } from './expectations';
import { formatDuration, loadScenario, type ScenarioCall } from './scenario';
import { runSteps } from './scripted-caller';
import { SimCallChannel } from './sim-call-channel';
import { SimMwiGateways } from './sim-mwi';
import type { MwiService } from '../notify/mwi-service';
import { channelTranscript, formatClock, type CallReport } from './transcript';
import { DEFAULT_VIRTUAL_START, VirtualClock } from './virtual-clock';

// What this module exported before the scripted caller, the expectations, the admin actions and the transcripts
// moved to their own files: its importers keep importing them from here.
export { runAdminAction } from './admin-actions';
export { checkExpectations, type CapturedMail, type ExpectationSources, type SentMail, type SentSms } from './expectations';
export { runSteps, type StepOptions } from './scripted-caller';
export { formatClock, formatTranscript, type CallReport, type HeardLine, type TranscriptLine } from './transcript';

/** Options for {@link runScenario}. */
export interface RunScenarioOptions {
  /** A data folder to run on (kept, and shared by every scenario run on it); a throw-away folder when undefined. */
  data?: string;
  /** A PostgreSQL store to run on (`--store URL`), shared by every scenario run on it, instead of SQLite in the data folder. */
  store?: string;
  /** A directory file that replaces the scenario's `config:` (and the built-in demo). */
  config?: string;
  /** Keep the throw-away data folder (its path is in the report). */
  keepData?: boolean;
  /** Logger for the runtime; silent unless `VA_LOG_LEVEL` is set (then to stderr). */
  logger?: Logger;
  /** The prompt catalog (the repository's by default). */
  catalog?: PromptCatalog;
  /**
   * scrypt cost (log2 N) of the PINs hashed in a throw-away store: {@link THROWAWAY_PIN_HASH_COST} unless given. A
   * `data` folder keeps the directory's `security.pinHashCost`.
   */
  pinHashCost?: number;
}

/**
 * The PIN hash cost of a throw-away store (log2 of scrypt's N): the lowest. Such a store lives for one run in a
 * temporary folder, and the directory's cost (14, about 30 ms a hash) would make every simulated sign-in wait
 * for it. The hashes are still salted scrypt: only the work factor differs.
 */
export const THROWAWAY_PIN_HASH_COST = 1;

/** The time zone of every time the simulator speaks or writes (envelopes, texts, mails). */
export const SIM_TIME_ZONE = 'UTC';

/** What a scenario run found (both runners return it; `formatTranscript` prints its calls). */
export interface ScenarioReport {
  file: string;
  name: string;
  passed: boolean;
  /** Every failed step and expectation, each naming the call and step or the expectation. */
  failures: string[];
  calls: CallReport[];
  mails: SentMail[];
  /** Texts the SMS provider accepted (new voice messages, missed calls). */
  sms: SentSms[];
  /** Voice-message count changes the runtime reported (virtual ms since start, mailbox). */
  countsChanged: { at: number; identity: string }[];
  /** Remarks of the simulator itself (e.g. it waited long in real time for work outside a call channel). */
  notes: string[];
  /** Virtual time the scenario took (calls and `advance:`), ms. */
  virtualMs: number;
  /** Real time the run took, ms (for information only). */
  realMs: number;
  /** The data folder, when it was given or kept; null when it was removed. */
  dataDir: string | null;
}

/** Counts promises in flight, so the clock waits for real asynchronous work. */
class Activity {
  inFlight = 0;

  /** Wraps an object so that every method returning a promise counts while it is pending. */
  track<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (obj, key, receiver) => {
        const v = Reflect.get(obj, key, receiver);
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          const r = (v as (...a: unknown[]) => unknown).apply(obj, args);
          return r instanceof Promise ? this.count(r) : r;
        };
      },
    });
  }

  count<T>(p: Promise<T>): Promise<T> {
    this.inFlight++;
    return p.finally(() => {
      this.inFlight--;
    });
  }
}

/** A call of the scenario as it runs. */
interface LiveCall {
  spec: ScenarioCall;
  channel: SimCallChannel | null;
  /** The flow runs (handleCall has not settled). */
  running: boolean;
  /** handleCall and the script have both settled. */
  finished: boolean;
  /** The flow kept the clock waiting too long (see VirtualClockOptions.stallMs); it is no longer waited for. */
  stalled: boolean;
  record: CallRecord | null;
  failures: string[];
}

/**
 * Runs one scenario file.
 * @param file the scenario (YAML)
 * @param options see {@link RunScenarioOptions}
 * @returns the report: per-call transcripts and results, mails, and every failure (a failing expectation does not
 *   throw)
 * @throws ScenarioError when the scenario is unreadable or invalid; VaError when the directory file is
 *   (VA_ERR_CONFIG_*), or the store cannot be opened
 */
export async function runScenario(file: string, options: RunScenarioOptions = {}): Promise<ScenarioReport> {
  const realStart = Date.now();
  // Times are spoken, texted and mailed in UTC, the virtual clock's zone: a scenario hears and reads the same on
  // every machine (`serve` uses the server's time zone, TZ).
  const catalog = (options.catalog ?? PromptCatalog.load()).withTimeZone(SIM_TIME_ZONE);
  const scenario = loadScenario(file, catalog);
  const dataDir = options.data ? path.resolve(options.data) : mkdtempSync(path.join(tmpdir(), 'va-sim-'));
  const start = scenario.startTime ?? (options.data ? Date.now() : DEFAULT_VIRTUAL_START);
  const activity = new Activity();
  const calls: LiveCall[] = scenario.calls.map((spec) => ({ spec, channel: null, running: false, finished: false, stalled: false, record: null, failures: [] }));
  const callsById = new Map(calls.map((c) => [c.spec.id, c]));
  const notes: string[] = [];
  /** A call whose flow runs but waits on no channel operation: it is doing real work the clock must wait for. */
  const flowBusy = (c: LiveCall) => c.running && !c.stalled && c.channel !== null && !c.channel.hasPendingOperation;
  /** Calls whose flow is running: the busy check looks only at these (a load scenario has thousands of calls). */
  const running = new Set<LiveCall>();
  const anyFlowBusy = () => {
    for (const c of running) if (flowBusy(c)) return true;
    return false;
  };
  /** SMS and voice-message mail delivery (its queue's attempts are real work the clock waits for). */
  let notifications: Notifications | undefined;
  const clock = new VirtualClock(start, {
    isBusy: () => activity.inFlight > 0 || anyFlowBusy() || notifications?.queue.busy === true || (app?.store.inFlight() ?? 0) > 0,
    onStall: () => {
      const stalled = [...running].filter(flowBusy);
      for (const c of stalled) c.stalled = true;
      const who = stalled.length > 0 ? ` (call${stalled.length > 1 ? 's' : ''} ${stalled.map((c) => c.spec.id).join(', ')}: no longer waited for)` : '';
      notes.push(`at ${formatClock(clock.now() - start)} the simulator waited 10 s of real time for work outside the call channels${who}; virtual time moved on`);
    },
  });
  const rel = () => clock.now() - start;

  const mails: CapturedMail[] = [];
  let delivery: Mailer | null = null;
  const mailer: Mailer = {
    send: (m: MailMessage) =>
      activity.count(
        (async () => {
          mails.push({ at: rel(), to: m.to, subject: m.subject, text: m.text });
          if (delivery) await delivery.send(m);
        })(),
      ),
  };

  // Texts are recorded once the configured provider (the `<data>/sms/` sink by default) accepted them.
  const texts: SentSms[] = [];
  let smsDelivery: SmsSender | null = null;
  const smsSender: SmsSender = {
    send: (m: SmsMessage) =>
      activity.count(
        (async () => {
          if (smsDelivery) await smsDelivery.send(m);
          texts.push({ at: rel(), to: m.to, text: m.text });
        })(),
      ),
  };

  let app: App | undefined;
  let mwi: MwiService | undefined;
  const failures: string[] = [];
  const countsChanged: { at: number; identity: string }[] = [];
  let virtualMs = 0;
  try {
    const pinHashCost = options.data ? undefined : (options.pinHashCost ?? THROWAWAY_PIN_HASH_COST);
    // A throw-away folder is removed at the end of the run: its recordings are written whole (temporary name,
    // rename) but not fsynced, and mails and texts for its file outboxes stay in the report (nobody could read the
    // files); a kept folder (`data`, `keepData`) gets everything `serve` writes. A directory with SMTP or an SMS
    // webhook still delivers through them.
    const write = { durable: options.data !== undefined || options.keepData === true };
    const fileSinksOnly = (sinks: boolean) => !write.durable && sinks;
    app = await openApp({ config: options.config ?? scenario.config, data: dataDir, store: options.store, clock, mailer, pinHashCost });
    delivery = fileSinksOnly(!app.directory.mail.smtp) ? null : createMailer(app.directory.mail, app.dataDir, write);
    const logger = options.logger ?? createLogger({ level: readEnvironment().logLevel ?? 'silent', destination: process.stderr });
    // MWI as `serve` sends it, to simulated UM IP gateways that answer as `mwiGateways:` says, on the virtual clock.
    const store = app.store;
    const known = await store.listGateways();
    const unknownGateways = Object.keys(scenario.mwiGateways).filter((n) => !known.some((g) => g.name.toLowerCase() === n.toLowerCase()));
    for (const n of unknownGateways) failures.push(`mwiGateways: no UM IP gateway named "${n}" in the directory`);
    const gateways = new SimMwiGateways(clock, () => store.listGateways(), scenario.mwiGateways, app.directory.notifications.mwi.notifyTimeoutSeconds * 1000, rel);
    // SMS and voice-message mails, as `serve` sends them, on the virtual clock (retries cost no real time).
    const sms = app.directory.notifications.sms;
    smsDelivery = fileSinksOnly(!(sms.provider === 'webhook' && sms.webhook)) ? null : createSmsSender(sms, app.dataDir, clock, write);
    const ivr = buildIvr(app, {
      clock,
      logger,
      mwiTransport: gateways,
      accountHost: '127.0.0.1',
      // Alone on its store: nobody else writes to it.
      watchOtherWritersMs: 0,
      runtime: {
        pins: activity.track(app.pins),
        conferencing: activity.track(app.conferencing),
        // Flow states go into the transcript, beside what the caller heard.
        onFlowState: (callId, state) => callsById.get(callId)?.channel?.annotate('flow', `state ${state}`),
      },
      mwi: { onEvent: (event) => gateways.record(event) },
      notifications: { sms: smsSender, timeZone: SIM_TIME_ZONE },
    });
    const runtime = ivr.runtime;
    mwi = ivr.mwi;
    notifications = ivr.notifications;
    runtime.onCountsChanged((identity) => countsChanged.push({ at: rel(), identity }));

    let finishedCalls = 0;
    const startCall = (call: LiveCall) => {
      const channel = new SimCallChannel({ callId: call.spec.id, clock, catalog, recordingsDir: app!.recordingsDir, durableRecordings: write.durable });
      call.channel = channel;
      call.running = true;
      running.add(call);
      const incoming = { channel, from: call.spec.from, to: call.spec.to, diversion: call.spec.diversion, sourceAddress: call.spec.source };
      const flow = runtime.handleCall(incoming).then(
        (record) => {
          call.record = record;
        },
        (err: unknown) => {
          call.failures.push(`call ${call.spec.id}: the runtime failed: ${(err as Error).message}`);
        },
      );
      void flow.finally(() => {
        call.running = false;
        running.delete(call);
      });
      const script = runSteps(call, channel, start).catch((err: unknown) => {
        call.failures.push(`call ${call.spec.id}: the scripted caller failed: ${(err as Error).message}`);
      });
      void Promise.all([flow, script]).then(() => {
        call.finished = true;
        finishedCalls++;
      });
    };
    for (const call of calls) clock.setTimeout(() => startCall(call), call.spec.startMs);

    // Administrators' cmdlets at their points of the clock, on the same store (e.g. an unlock between calls).
    let adminDone = 0;
    scenario.admin.forEach((action, i) => {
      clock.setTimeout(() => {
        void activity
          .count(runAdminAction(app!, action.args))
          .then(
            (summary) => notes.push(`admin at ${formatClock(rel())}: ${action.label} -> ${summary}`),
            (err: unknown) => {
              const e = err as Error & { code?: string };
              failures.push(`admin[${i}] (${action.label}): ${e.code ? `${e.code}: ` : ''}${e.message}`);
            },
          )
          .finally(() => adminDone++);
      }, action.atMs);
    });

    // Checked after every clock step: a count, not a scan of every call (a load scenario has thousands).
    const allDone = () => finishedCalls === calls.length && adminDone === scenario.admin.length;
    const lastStart = Math.max(...calls.map((c) => c.spec.startMs), ...scenario.admin.map((a) => a.atMs));
    const ended = await clock.advanceUntil(allDone, lastStart + scenario.timeoutMs);
    if (!ended) {
      const stuck = calls.filter((c) => !c.finished);
      const why = clock.nextTimerAt() === undefined ? 'nothing was left to happen (no timer pending)' : `not within the scenario's timeout of ${formatDuration(scenario.timeoutMs)}`;
      for (const c of stuck) {
        c.failures.push(`call ${c.spec.id}: the call did not end: ${why}; the caller hangs up`);
        c.channel?.annotate('sim', 'the call did not end: the caller hangs up');
        c.channel?.callerHangup();
      }
      if (!(await clock.advanceUntil(allDone, 60_000))) {
        for (const c of calls.filter((x) => !x.finished)) c.failures.push(`call ${c.spec.id}: the flow did not finish even after the caller hung up`);
      }
    }
    if (scenario.advanceMs > 0) await clock.advance(scenario.advanceMs);
    // MWI deliveries still in flight (or retrying) finish before the expectations look at the gateways.
    const publisher = ivr.mwi.publisher;
    const mwiSettings = app.directory.notifications.mwi;
    await clock.advanceUntil(() => !publisher.busy, mwiSettings.retryWindowMinutes * 60_000 + mwiSettings.notifyTimeoutSeconds * 1000 * 4);
    await clock.settle();
    virtualMs = rel();
    for (const c of calls) failures.push(...c.failures);
    const checked = await checkExpectations(scenario, { store: app.store, mails, sms: texts, calls, mwi: gateways });
    failures.push(...checked.failures);
    notes.push(...checked.notes);
  } finally {
    await mwi?.stop();
    await notifications?.stop();
    await app?.close();
    if (!options.data && !options.keepData) rmSync(dataDir, { recursive: true, force: true });
  }

  const reports = calls.map((c) => callReport(c, start));
  return {
    file: scenario.file,
    name: scenario.name,
    passed: failures.length === 0,
    failures,
    calls: reports,
    mails: mails.map(({ at, to, subject }) => ({ at, to, subject })),
    sms: texts,
    countsChanged,
    notes,
    virtualMs,
    realMs: Date.now() - realStart,
    dataDir: options.data || options.keepData ? dataDir : null,
  };
}

function callReport(c: LiveCall, start: number): CallReport {
  const ch = c.channel;
  return {
    id: c.spec.id,
    from: c.spec.from,
    to: c.spec.to,
    diversion: c.spec.diversion,
    record: c.record,
    transcript: ch ? channelTranscript(ch.events, start) : [],
    heard: ch ? ch.heard.map((h) => ({ at: h.at - start, id: h.id, text: h.text, locale: h.locale })) : [],
    failures: c.failures,
  };
}
