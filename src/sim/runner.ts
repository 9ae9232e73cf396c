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
 *    configured provider (the `<data>/sms/` file sink by default) accepted.
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
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { openApp, type App } from '../app';
import { createLogger } from '../log';
import { createMailer } from '../notify/nodemailer-mailer';
import { createSmsSender } from '../notify/sms-provider';
import { createNotifications, type Notifications } from '../notify/voice-mail-notifier';
import type { Mailer, MailMessage } from '../ports/mailer';
import type { SmsMessage, SmsSender } from '../ports/mwi';
import { PromptCatalog } from '../prompts/catalog';
import { CallRuntime, type CallRecord } from '../runtime/call-runtime';
import { findCmdlet } from '../admin/cmdlets';
import { parseParams } from '../admin/ps-params';
import { ErrorCodes, VaError } from '../errors';
import type { DirectoryStore } from '../directory/store';
import type { CallerSide } from './caller-side';
import { sameTone } from '../media/conference-tones';
import { formatDuration, loadScenario, type Expectation, type Scenario, type ScenarioCall, type Step } from './scenario';
import { SimCallChannel, type ChannelEvent } from './sim-call-channel';
import { SimMwiGateways } from './sim-mwi';
import { MwiService } from '../notify/mwi-service';
import { DEFAULT_VIRTUAL_START, VirtualClock } from './virtual-clock';

/** Options for {@link runScenario}. */
export interface RunScenarioOptions {
  /** A data folder to run on (kept, and shared by every scenario run on it); a throw-away folder when undefined. */
  data?: string;
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

/** One line of a call's transcript. */
export interface TranscriptLine {
  /** Virtual ms since the scenario started. */
  at: number;
  who: 'ivr' | 'caller' | 'sim' | 'flow';
  text: string;
}

/** A prompt a caller heard start. */
export interface HeardLine {
  /** Virtual ms since the scenario started. */
  at: number;
  id: string | null;
  text: string;
}

export interface CallReport {
  id: string;
  from: string | null;
  to: string;
  diversion?: string;
  /** The runtime's record of the call, or null when it did not end. */
  record: CallRecord | null;
  transcript: TranscriptLine[];
  heard: HeardLine[];
  /** This call's step failures (also in the report's `failures`). */
  failures: string[];
  /** Why `record` is null when the call did end (over the network: the result is the server's). */
  resultNote?: string;
}

/** A mail sent during the run (its body is not kept in the report: a PIN-reset mail carries a PIN). */
export interface SentMail {
  /** Virtual ms since the scenario started. */
  at: number;
  to: string;
  subject: string;
}

/** A mail as the expectations see it. */
export interface CapturedMail extends SentMail {
  text: string;
}

/** A text the SMS provider accepted during the run (voice-mail notices hold no secret: the text is kept). */
export interface SentSms {
  /** Virtual ms since the scenario started. */
  at: number;
  to: string;
  text: string;
}

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


/** Formats virtual ms since the start as `m:ss.mmm`, `h:mm:ss.mmm` or `Nd h:mm:ss.mmm`. */
export function formatClock(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  let rest = ms - days * 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1_000);
  const milli = rest - s * 1_000;
  const tail = `${String(s).padStart(2, '0')}.${String(milli).padStart(3, '0')}`;
  if (days > 0) return `${days}d ${h}:${String(m).padStart(2, '0')}:${tail}`;
  if (h > 0) return `${h}:${String(m).padStart(2, '0')}:${tail}`;
  return `${m}:${tail}`;
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
    isBusy: () => activity.inFlight > 0 || anyFlowBusy() || notifications?.queue.busy === true,
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
          await smsDelivery!.send(m);
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
    app = await openApp({ config: options.config ?? scenario.config, data: dataDir, clock, mailer, pinHashCost });
    delivery = createMailer(app.directory.mail, app.dataDir);
    const logger = options.logger ?? createLogger({ level: process.env.VA_LOG_LEVEL ?? 'silent', destination: process.stderr });
    const runtime = CallRuntime.forApp(app, {
      pins: activity.track(app.pins),
      conferencing: activity.track(app.conferencing),
      clock,
      logger,
      // Flow states go into the transcript, beside what the caller heard.
      onFlowState: (callId, state) => callsById.get(callId)?.channel?.annotate('flow', `state ${state}`),
    });
    runtime.onCountsChanged((identity) => countsChanged.push({ at: rel(), identity }));
    // MWI as `serve` sends it, to simulated UM IP gateways that answer as `mwiGateways:` says, on the virtual clock.
    const store = app.store;
    const unknownGateways = Object.keys(scenario.mwiGateways).filter((n) => !store.listGateways().some((g) => g.name.toLowerCase() === n.toLowerCase()));
    for (const n of unknownGateways) failures.push(`mwiGateways: no UM IP gateway named "${n}" in the directory`);
    const mwiSettings = app.directory.notifications.mwi;
    const gateways = new SimMwiGateways(clock, () => store.listGateways(), scenario.mwiGateways, mwiSettings.notifyTimeoutSeconds * 1000, rel);
    const mwiService = new MwiService({
      store,
      clock,
      logger: logger.child({ part: 'mwi' }),
      transport: gateways,
      settings: mwiSettings,
      accountHost: '127.0.0.1',
      watchIntervalMs: 0,
      onEvent: (event) => gateways.record(event),
    });
    mwi = mwiService;
    runtime.onCountsChanged((identity) => mwiService.mailboxChanged(identity));
    mwiService.start();
    // SMS and voice-message mails, as `serve` sends them, on the virtual clock (retries cost no real time).
    smsDelivery = createSmsSender(app.directory.notifications.sms, app.dataDir, clock);
    const n = createNotifications({
      store: app.store,
      mailer: app.mailer,
      settings: app.directory.notifications,
      dataDir: app.dataDir,
      clock,
      logger: logger.child({ part: 'notify' }),
      sms: smsSender,
      timeZone: SIM_TIME_ZONE,
    });
    notifications = n;
    runtime.onMailboxEvent((event) => n.notifier.handle(event));

    let finishedCalls = 0;
    const startCall = (call: LiveCall) => {
      const channel = new SimCallChannel({ callId: call.spec.id, clock, catalog, recordingsDir: path.join(app!.dataDir, 'recordings') });
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
    const publisher = mwiService.publisher;
    await clock.advanceUntil(() => !publisher.busy, mwiSettings.retryWindowMinutes * 60_000 + mwiSettings.notifyTimeoutSeconds * 1000 * 4);
    await clock.settle();
    virtualMs = rel();
    for (const c of calls) failures.push(...c.failures);
    const checked = checkExpectations(scenario, { store: app.store, mails, sms: texts, calls, mwi: gateways });
    failures.push(...checked.failures);
    notes.push(...checked.notes);
  } finally {
    mwi?.stop();
    await notifications?.stop();
    app?.close();
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

/**
 * Runs one cmdlet line (`Set-UMMailboxPIN -Identity x -Pin 1234 -PinExpired $false`) against the scenario's app.
 * @returns a one-line summary of its output
 * @throws VaError for an unknown cmdlet, bad parameters, or a failing cmdlet
 */
export async function runAdminAction(app: App, args: string[]): Promise<string> {
  const [name, ...rest] = args;
  const cmdlet = findCmdlet(name);
  if (!cmdlet) throw new VaError(ErrorCodes.CLI_UNKNOWN_COMMAND, `'${name}' is not a cmdlet`);
  const output = await cmdlet.run(app, parseParams(cmdlet.name, cmdlet.params, rest));
  return output.length === 0 ? 'ok' : `${output.length} object${output.length > 1 ? 's' : ''}`;
}

// ------------------------------------------------------------------ the scripted caller

const idOf = (p: { id: string | null }) => p.id ?? '[recording]';

/** Options of {@link runSteps}. */
export interface StepOptions {
  /**
   * `wait` steps longer than this wait this long only, and the transcript says so (the network runner caps waits,
   * see `net/README`); no cap when undefined.
   */
  maxWaitMs?: number;
}
/** ms as seconds for transcripts: `1.786s`, `3s`. */
const secs = (ms: number) => `${ms / 1000}s`;

/**
 * Runs a call's steps as the caller (exact semantics, as the README documents them):
 * - `expectPrompt`: passes when a prompt with that id starts after the previously matched prompt (one that started
 *   before this step counts); waits up to `within` (default 60 s) otherwise. Fails at once when the call ends.
 * - `dtmf`: presses the keys, the first at once and the next `gap` apart (default 150 ms); the step takes
 *   (n - 1) x gap. Fails when the call has ended before every key was pressed.
 * - `wait`: lets the duration pass (less when the call ends meanwhile). Never fails.
 * - `speak`: the caller talks for the duration (what a recording picks up); the step takes that long. Fails when
 *   the call has ended.
 * - `hangup`: the caller hangs up. Fails when the call has already ended.
 * - `expectRecording`: passes when the IVR starts recording (after its prompts and beep), counting recordings not
 *   yet matched (one that started before this step counts); waits up to `within` (default 60 s). Prompts heard
 *   before that point can no longer be matched by a later `expectPrompt`.
 * - `expectHangup`: waits up to `within` (default 60 s) for the IVR to end the call.
 * - `speak: {toneHz}`: the caller sends a pure tone instead (in a meeting the others hear it unless muted).
 * - `expectTone`: passes when the caller hears a tone of `hz` (±2 %) at any moment from the step's start (one
 *   already sounding counts); waits up to `within` (60 s). Fails at once when the call ends.
 * - `expectNoTone`: the step takes `for`; fails when a tone of `hz` was heard at any moment during it, or the call
 *   ended before it was over.
 * After the first failing step the rest are skipped. When the steps end and the call is still up, the caller hangs up.
 * The steps run against a {@link CallerSide}: the in-process {@link SimCallChannel} or the network caller.
 */
export async function runSteps(
  call: { spec: ScenarioCall; failures: string[] },
  ch: CallerSide,
  start: number,
  options: StepOptions = {},
): Promise<void> {
  const say = (who: 'caller' | 'sim', text: string) => ch.annotate(who, text);
  const ended = () => (ch.endedBy === 'ivr' ? `the IVR hung up at ${formatClock(ch.endedAt! - start)}` : `the caller hung up at ${formatClock(ch.endedAt! - start)}`);
  /** Next heard-log index an expectPrompt may match. */
  let cursor = 0;
  /** Recordings already matched by expectRecording. */
  let recordings = 0;
  const heardSince = (from: number) => {
    const ids = ch.heard.slice(from).map(idOf);
    return ids.length > 0 ? `heard instead: ${ids.join(', ')}` : 'heard nothing';
  };

  const steps = call.spec.steps;
  // Over the network only the frequencies listened for are found: listen for every tone the steps name, from the start.
  const toneHzs = steps.flatMap((s) => (s.kind === 'expectTone' || s.kind === 'expectNoTone' ? [s.hz] : []));
  if (toneHzs.length > 0) ch.watchTones?.(toneHzs);
  for (let i = 0; i < steps.length; i++) {
    const step: Step = steps[i];
    const fail = (why: string) => {
      const msg = `call ${call.spec.id}, step ${i + 1} (${step.label}): ${why}`;
      call.failures.push(msg);
      say('sim', `FAILED step ${i + 1} (${step.label}): ${why}`);
    };
    let ok = true;
    switch (step.kind) {
      case 'expectPrompt': {
        const r = await ch.waitForPrompt(step.id, cursor, step.withinMs);
        if (r === 'timeout') {
          fail(`not heard within ${formatDuration(step.withinMs)}; ${heardSince(cursor)}`);
          ok = false;
        } else if (r === 'ended') {
          fail(`not heard: the call ended (${ended()}); ${heardSince(cursor)}`);
          ok = false;
        } else cursor = r.index + 1;
        break;
      }
      case 'dtmf': {
        if (ch.ended) {
          fail(`the call had already ended (${ended()})`);
          ok = false;
          break;
        }
        // Keys pressed while the IVR collects a PIN are masked, terminators kept: transcripts never show a PIN.
        const shown = ch.collectingSecret ? step.digits.replace(/[0-9A-D]/g, '*') : step.digits;
        const via = step.via === 'info' ? ' by SIP INFO' : '';
        say('caller', `presses ${shown}${step.digits.length > 1 ? ` (${formatDuration(step.gapMs)} apart)` : ''}${via}`);
        const sent = await ch.pressDigits(step.digits, step.gapMs, step.via);
        if (sent < step.digits.length) {
          fail(`only ${sent} of ${step.digits.length} keys were pressed: ${ended()}`);
          ok = false;
        }
        break;
      }
      case 'wait': {
        const cap = options.maxWaitMs;
        if (cap !== undefined && step.ms > cap) {
          say('sim', `waits ${formatDuration(cap)} instead of ${formatDuration(step.ms)} (the longest wait of this run)`);
          await ch.sleepWhileUp(cap);
        } else await ch.sleepWhileUp(step.ms);
        break;
      }
      case 'speak':
        if (ch.ended) {
          fail(`the call had already ended (${ended()})`);
          ok = false;
          break;
        }
        if (step.toneHz !== undefined) await ch.speakTone(step.toneHz, step.ms);
        else await ch.speak(step.ms);
        break;
      case 'expectTone': {
        const r = await ch.waitForTone(step.hz, ch.now(), step.withinMs);
        if (r === 'timeout') {
          fail(`no ${step.hz} Hz tone heard within ${formatDuration(step.withinMs)}${tonesHeard(ch)}`);
          ok = false;
        } else if (r === 'ended') {
          fail(`no ${step.hz} Hz tone heard: the call ended (${ended()})${tonesHeard(ch)}`);
          ok = false;
        }
        break;
      }
      case 'expectNoTone': {
        const from = ch.now();
        await ch.sleepWhileUp(step.forMs);
        const to = ch.now();
        const heard = ch.heardTones.find((t) => sameTone(t.hz, step.hz) && t.at <= to && t.end > from);
        if (heard) {
          fail(`a ${step.hz} Hz tone was heard at ${formatClock(Math.max(heard.at, from) - start)}${heard.from ? ` (from ${heard.from})` : ''}`);
          ok = false;
        } else if (ch.ended && (ch.endedAt ?? to) < from + step.forMs) {
          fail(`the call ended before the ${formatDuration(step.forMs)} were over (${ended()})`);
          ok = false;
        }
        break;
      }
      case 'hangup':
        if (ch.ended) {
          fail(`the call had already ended (${ended()})`);
          ok = false;
        } else ch.callerHangup();
        break;
      case 'expectRecording': {
        const r = await ch.waitForRecording(recordings, step.withinMs);
        if (r === 'timeout') {
          fail(`the IVR did not start recording within ${formatDuration(step.withinMs)}; ${heardSince(cursor)}`);
          ok = false;
        } else if (r === 'ended') {
          fail(`the IVR did not start recording: the call ended (${ended()}); ${heardSince(cursor)}`);
          ok = false;
        } else {
          recordings += 1;
          cursor = Math.max(cursor, ch.heardIndexAtRecording(recordings - 1));
        }
        break;
      }
      case 'expectHangup': {
        const r = await ch.waitForEnd(step.withinMs);
        if (r === 'timeout') {
          fail(`the IVR did not hang up within ${formatDuration(step.withinMs)}; ${heardSince(cursor)}`);
          ok = false;
        } else if (r === 'caller') {
          fail(`the caller hung up, not the IVR (${ended()})`);
          ok = false;
        }
        break;
      }
    }
    if (!ok) {
      if (!ch.ended) {
        say('sim', 'the script stops after the failure: the caller hangs up');
        ch.callerHangup();
      }
      return;
    }
  }
  if (!ch.ended) {
    say('sim', 'end of the steps: the caller hangs up');
    ch.callerHangup();
  }
}

/** `; tones heard: 1000 Hz at 0:12.340, ...` for failure messages (empty when none). */
function tonesHeard(ch: CallerSide): string {
  if (ch.heardTones.length === 0) return '; no tone heard';
  return `; tones heard: ${ch.heardTones.map((t) => `${t.hz} Hz`).join(', ')}`;
}

// ------------------------------------------------------------------ transcripts

function channelLine(e: ChannelEvent, start: number): TranscriptLine | null {
  const at = e.at - start;
  switch (e.type) {
    case 'answer':
      return { at, who: 'ivr', text: 'answers' };
    case 'prompt': {
      const p = e.prompt;
      const cut = p.stoppedBy ? ` (cut after ${secs(p.heardMs!)}: ${p.stoppedBy})` : '';
      return { at, who: 'ivr', text: `plays ${idOf(p)} "${p.text}"${cut}` };
    }
    case 'skipped':
      return { at, who: 'ivr', text: `skips ${e.ids.map((id) => id ?? '[recording]').join(', ')} (type-ahead)` };
    case 'dtmf':
      return null; // the script's "presses" line says it
    case 'speech':
      return { at, who: 'caller', text: `speaks for ${secs(e.durationMs)}` };
    case 'collected': {
      const r = e.result;
      // A PIN state's digits are never shown (DESIGN.md: never log a digit string entered in a PIN state).
      const digits = e.secret ? '*'.repeat(r.digits.length) : r.digits;
      return { at, who: 'ivr', text: `got digits "${digits}" (${r.reason}${r.terminator ? ` ${r.terminator}` : ''})` };
    }
    case 'record-start':
      return { at, who: 'ivr', text: `records (${e.purpose})` };
    case 'recorded': {
      const r = e.result;
      const what = r.file ? `${secs(r.durationMs)} of audio` : 'nothing';
      return { at, who: 'ivr', text: `recorded ${what} (${r.reason}${r.terminator ? ` ${r.terminator}` : ''})` };
    }
    case 'conference':
      return { at, who: 'ivr', text: `joins the caller to conference ${e.room} as ${e.role}` };
    case 'hangup':
      return e.by === 'ivr' ? { at, who: 'ivr', text: `hangs up${e.cause ? ` (${e.cause})` : ''}` } : { at, who: 'caller', text: 'hangs up' };
    case 'note':
      return { at, who: e.who ?? 'sim', text: e.text };
  }
}

function callReport(c: LiveCall, start: number): CallReport {
  const ch = c.channel;
  const lines: TranscriptLine[] = [];
  if (ch) for (const e of ch.events) {
    const l = channelLine(e, start);
    if (l) lines.push(l);
  }
  return {
    id: c.spec.id,
    from: c.spec.from,
    to: c.spec.to,
    diversion: c.spec.diversion,
    record: c.record,
    transcript: lines,
    heard: ch ? ch.heard.map((h) => ({ at: h.at - start, id: h.id, text: h.text })) : [],
    failures: c.failures,
  };
}

/** Formats a call's transcript for people: a header, one line per event, the result. */
export function formatTranscript(call: CallReport): string {
  const head = `call ${call.id}: ${call.from ?? 'anonymous'} -> ${call.to}${call.diversion ? ` (diverted from ${call.diversion})` : ''}`;
  const body = call.transcript.map((l) => `  ${formatClock(l.at).padStart(10)}  ${l.who.padEnd(6)} ${l.text}`);
  const r = call.record;
  const tail = r ? `  result: ${r.result} (${r.flow}${r.identity ? `, ${r.identity}` : ''})` : `  result: (${call.resultNote ?? 'the call did not end'})`;
  return [head, ...body, tail].join('\n');
}

// ------------------------------------------------------------------ expectations

function describeExpectation(e: Expectation): string {
  switch (e.kind) {
    case 'mailbox':
      return `mailbox ${e.identity}`;
    case 'email':
      return `email to ${e.to}${e.subject ? ` with subject containing "${e.subject}"` : ''}${e.contains ? ` containing "${e.contains}"` : ''}`;
    case 'sms':
      return `sms to ${e.to}${e.contains ? ` containing "${e.contains}"` : ''}`;
    case 'result':
      return `result of call ${e.call}`;
    case 'missedCalls':
      return `missed calls of ${e.identity}`;
    case 'mwi':
      return `MWI for ${e.extension}${e.gateway ? ` at ${e.gateway}` : ''}`;
  }
}

/** Where the expectations read what happened; what a source cannot provide fails (or, for results, is skipped) with its reason. */
export interface ExpectationSources {
  /** The store after the run, or why there is none (mailbox and missedCalls expectations then fail with it). */
  store: DirectoryStore | { unavailable: string };
  /** The mails sent during the run, or why they are unknown (email expectations then fail with it). */
  mails: CapturedMail[] | { unavailable: string };
  /** The texts the SMS provider accepted, or why they are unknown (sms expectations then fail with it). */
  sms?: SentSms[] | { unavailable: string };
  /** Every call (repeat copies included) with its record (null: the call did not end, or its result is unknown). */
  calls: readonly { spec: ScenarioCall; record: CallRecord | null }[];
  /** Why call results cannot be known: `result` expectations are then skipped, with this in the notes. */
  resultsUnavailable?: string;
  /** The simulated gateways' NOTIFYs, or why there are none: `mwi` expectations are then skipped, with this in the notes. */
  mwi?: SimMwiGateways | { unavailable: string };
}

/**
 * Checks a scenario's expectations.
 * @returns every failed expectation (`expect[i] (what): problem`), and notes for expectations that were skipped
 */
export function checkExpectations(scenario: Scenario, sources: ExpectationSources): { failures: string[]; notes: string[] } {
  const out: string[] = [];
  const notes: string[] = [];
  const calls = sources.calls;
  const storeOrWhy = sources.store;
  const mailsOrWhy = sources.mails;
  scenario.expect.forEach((e, i) => {
    const problems: string[] = [];
    const is = (what: string, actual: unknown, expected: unknown) => {
      if (expected !== undefined && actual !== expected) problems.push(`${what} is ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
    };
    const unavailable = (src: object): string | undefined => ('unavailable' in src ? (src as { unavailable: string }).unavailable : undefined);
    const noStore = unavailable(storeOrWhy);
    const noMails = unavailable(mailsOrWhy);
    const store = storeOrWhy as DirectoryStore;
    const mails = mailsOrWhy as CapturedMail[];
    switch (e.kind) {
      case 'mailbox': {
        if (noStore) {
          problems.push(noStore);
          break;
        }
        const m = store.findMailbox(e.identity);
        if (!m) {
          problems.push('no such mailbox');
          break;
        }
        const st = store.pinStatus(m);
        is('pinExpired', st.PinExpired, e.pinExpired);
        is('firstTimeUser', st.FirstTimeUser, e.firstTimeUser);
        is('lockedOut', st.LockedOut, e.lockedOut);
        if (e.voiceMessages) {
          const list = store.listVoiceMessages(m.identity);
          is('voiceMessages.total', list.length, e.voiceMessages.total);
          is('voiceMessages.unheard', list.filter((v) => v.unheard).length, e.voiceMessages.unheard);
        }
        is('greetingRecorded', m.greetingFile !== null, e.greetingRecorded);
        is('nameRecorded', m.nameFile !== null, e.nameRecorded);
        break;
      }
      case 'email': {
        if (noMails) {
          problems.push(noMails);
          break;
        }
        const to = mails.filter((m) => m.to.toLowerCase() === e.to.toLowerCase());
        const matching = to.filter(
          (m) => (!e.subject || m.subject.includes(e.subject)) && (!e.contains || m.subject.includes(e.contains) || m.text.includes(e.contains)),
        );
        const sent = mails.length === 0 ? 'no mail was sent' : `mails sent: ${mails.map((m) => `to ${m.to} "${m.subject}"`).join('; ')}`;
        if (e.count !== undefined) {
          if (matching.length !== e.count) problems.push(`${matching.length} such mail${matching.length === 1 ? '' : 's'}, expected ${e.count}; ${sent}`);
        } else if (matching.length === 0) problems.push(`no such mail; ${sent}`);
        break;
      }
      case 'sms': {
        const textsOrWhy = sources.sms ?? { unavailable: 'texts are not known to this runner' };
        const noSms = unavailable(textsOrWhy);
        if (noSms) {
          problems.push(noSms);
          break;
        }
        const texts = textsOrWhy as SentSms[];
        const digits = (n: string) => n.replace(/\D/g, '');
        const matching = texts.filter((t) => digits(t.to) === digits(e.to) && (!e.contains || t.text.includes(e.contains)));
        const sent = texts.length === 0 ? 'no text was sent' : `texts sent: ${texts.map((t) => `to ${t.to} "${t.text}"`).join('; ')}`;
        if (e.count !== undefined) {
          if (matching.length !== e.count) problems.push(`${matching.length} such text${matching.length === 1 ? '' : 's'}, expected ${e.count}; ${sent}`);
        } else if (matching.length === 0) problems.push(`no such text; ${sent}`);
        break;
      }
      case 'result': {
        if (sources.resultsUnavailable) {
          notes.push(`expect[${i}] (${describeExpectation(e)}) not checked: ${sources.resultsUnavailable}`);
          break;
        }
        // A repeated call's expectation holds for every copy.
        for (const c of calls.filter((x) => x.spec.id === e.call || x.spec.template === e.call)) {
          const who = c.spec.template ? `call ${c.spec.id}: ` : '';
          if (!c.record) problems.push(`${who}the call has no result (it did not end)`);
          else is(`${who}the result`, c.record.result, e.is);
        }
        break;
      }
      case 'missedCalls': {
        if (noStore) {
          problems.push(noStore);
          break;
        }
        if (!store.findMailbox(e.identity)) {
          problems.push('no such mailbox');
          break;
        }
        is('the count', store.listMissedCalls(e.identity).length, e.count);
        break;
      }
      case 'mwi': {
        const src = sources.mwi ?? { unavailable: 'MWI is not simulated by this runner' };
        if ('unavailable' in src) {
          notes.push(`expect[${i}] (${describeExpectation(e)}) skipped: ${src.unavailable}`);
          break;
        }
        const mine = src.notifies.filter((n) => n.extension === e.extension && (!e.gateway || n.gateway.toLowerCase() === e.gateway.toLowerCase()));
        const delivered = mine.filter((n) => n.delivered);
        const seen = src.notifies.length === 0 ? 'no NOTIFY was sent' : `NOTIFYs: ${src.notifies.map((n) => `${n.extension}@${n.gateway} ${n.status}${n.delivered ? ` ${n.messagesWaiting ? 'yes' : 'no'} ${n.newMessages}/${n.oldMessages}` : ''}`).join('; ')}`;
        is('delivered', delivered.length, e.delivered);
        is('failed', src.failures.some((f) => f.extension === e.extension), e.failed);
        if (e.messagesWaiting !== undefined || e.newMessages !== undefined || e.oldMessages !== undefined) {
          const last = delivered[delivered.length - 1];
          if (!last) problems.push(`no NOTIFY was delivered; ${seen}`);
          else {
            is('messagesWaiting', last.messagesWaiting, e.messagesWaiting);
            is('newMessages', last.newMessages, e.newMessages);
            is('oldMessages', last.oldMessages, e.oldMessages);
          }
        }
        for (let k = 0; k < problems.length; k++) if (!problems[k].includes('NOTIFY')) problems[k] += `; ${seen}`;
        break;
      }
    }
    for (const p of problems) out.push(`expect[${i}] (${describeExpectation(e)}): ${p}`);
  });
  return { failures: out, notes };
}
