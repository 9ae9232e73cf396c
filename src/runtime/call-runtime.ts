/**
 * CallRuntime: runs one flow for each call. It routes the call (`domain/routing.ts`), answers it, provides the
 * flow's named effects from the call's {@link CallChannel} and the directory services, forwards the caller's
 * hang-up to the flow, hangs up when the flow ends, and reports every voice-message count change.
 * Signalling adapters (simulator, embedded SIP, drachtio) only deliver {@link IncomingCall}s to {@link handleCall}.
 */
import type { Logger } from 'pino';
import { createActor, type AnyActorRef, type AnyStateMachine } from 'xstate';
import type { Locale } from '../domain/locale';
import type { ConferencingService } from '../services/conferencing-service';
import type { PinService } from '../services/pin-service';
import type { Store, VoiceMessage } from '../ports/store';
import type { Mailbox } from '../ports/store/mailboxes';
import { routeCall, type Route } from '../domain/routing';
import type { IvrSettings, JoinConferenceInput, MeetingInfo } from '../flow-kit/effects';
import { callLogger } from '../log';
import { exhaustedBy } from '../errors';
import { noteExhausted } from '../metrics';
import type { CallChannel, IncomingCall } from '../ports/call-channel';
import type { Clock } from '../ports/clock';
import { ErrorCodes as RecordingErrorCodes, isVaError as isCodedError } from '../errors';
import { metrics as serverMetrics } from '../metrics';
import type { EffectImplementations } from './effect-runner';
import { composeFlows } from './flows';
import { MeetingRooms } from './meeting-rooms';
import { conferenceSettings, dialPlanInfo, mailboxInfo } from './flow-inputs';
import { currentFlowState, observeFlowStates } from './flow-states';
import { AddressList } from '../domain/address-list';
import { startTestEvents } from './test-events';
import { mailboxEffects, type MailboxEffectsHost } from './mailbox-effects';

export { conferenceSettings, dialPlanInfo, mailboxInfo } from './flow-inputs';

/** What the runtime needs. */
export interface CallRuntimeDeps {
  store: Store;
  pins: PinService;
  conferencing: ConferencingService;
  clock: Clock;
  ivr: IvrSettings;
  logger: Logger;
  /** Where recordings are written (`<data>/recordings`). */
  recordingsDir: string;
  /** Called with `flowId.state` whenever a call's flow (or a child flow) enters a new state; for transcripts. */
  onFlowState?: (callId: string, state: string) => void;
  /**
   * The directory's `testing.eventsAllowedFrom` (IPs and CIDR prefixes): callers from there that ask for test events
   * (`X-VA-Test-Events`) get them as SIP INFO (`runtime/test-events.ts`, issue 22). Absent or empty: nobody does.
   */
  testEventsAllowedFrom?: readonly string[];
}

/**
 * Something a mailbox's owner is told about (issue 5, "SMS and e-mail"): a new voice message (stored, with its
 * audio file), or a missed call (the caller hung up before saying anything).
 */
export type MailboxEvent =
  | { type: 'voice-message'; identity: string; message: VoiceMessage }
  | { type: 'missed-call'; identity: string; caller: string | null; at: number };

/** How a call went, for transcripts, tests and logs. */
export interface CallRecord {
  callId: string;
  flow: 'sign-in' | 'call-answering' | 'conference' | 'rejected';
  /** The flow's result (`signed-out`, `locked-out`, `message-left`, `missed-call`, ...), or why it was rejected. */
  result: string;
  /** The mailbox the call was about, when known. */
  identity: string | null;
}

/**
 * A call in progress as the admin center lists it (issue 21, "live calls": flow, state, mailbox, duration; never
 * digits, never the caller's number).
 */
export interface LiveCall {
  /** The signalling's call id (as in the call's log lines). */
  callId: string;
  /** The flow, once the call is routed; null before. */
  flow: Exclude<CallRecord['flow'], 'rejected'> | null;
  /** The innermost running flow's `flowId.state`, or null before the flow starts. */
  state: string | null;
  /** The mailbox: the one a caller leaves a message in, or the one signed in to (once the PIN was right); else null. */
  mailbox: string | null;
  /** When the runtime took the call, ms since the epoch (the runtime's clock). */
  startedAt: number;
}

/** The actor system of a call's flow tree: the key under which its channel is found. */
type ActorSystemKey = object;

/** A call the runtime is running: what {@link CallRuntime.endAllCalls} needs to end it. */
interface RunningCall {
  channel: CallChannel;
  /** The call's flow, once started. */
  actor: AnyActorRef | null;
  /** The call's logger, once routed. */
  log: Logger | null;
  /** Ended by the server's shutdown ({@link CallRuntime.endAllCalls}). */
  shutdown: boolean;
  /** The mailbox the call is about, once known from its route (call answering) or signed in to. */
  mailbox: string | null;
  /** Mailbox rows read for the flow (the own-number and extension lookups), by identity, until the sign-in takes one. */
  readonly seen: Map<string, Mailbox>;
  /** The flow, once routed (counted in `va_calls_in_progress` from then on). */
  flow: LiveCall['flow'];
  /** When the runtime took the call, ms of its clock. */
  startedAt: number;
  /** Its `call ended` line is written (by the shutdown, for a flow that did not finish in time). */
  endLogged: boolean;
  /** Resolves when {@link CallRuntime.handleCall} has finished with the call (its `call ended` line is written). */
  finished: Promise<void>;
}

export class CallRuntime {
  /** Meetings started, lobbies and members, shared by every call of this process. */
  readonly meetings = new MeetingRooms();
  /** The meetings each running call started (by its actor system), ended when the call ends with nobody in them. */
  private readonly startedBy = new WeakMap<ActorSystemKey, Set<string>>();
  private readonly countListeners: ((identity: string) => void)[] = [];
  private readonly mailboxListeners: ((event: MailboxEvent) => void)[] = [];
  /** Each running call's channel, by the actor system its flows run in (a flow and its child flows share one). */
  private readonly channels = new WeakMap<ActorSystemKey, CallChannel>();
  /** The flows, composed once: effects find the call's channel through the actor system. */
  private readonly flows: ReturnType<typeof composeFlows>;
  /** The calls in progress, by channel. */
  private readonly running = new Map<CallChannel, RunningCall>();
  /** Set by {@link endAllCalls}: new calls are refused. */
  private draining = false;
  /** Errors already logged where they happened (a recording that failed): not logged again as an effect failure. */
  private readonly reported = new WeakSet<object>();
  /** Who may have test events (`testing.eventsAllowedFrom`). */
  private readonly testEventsAllowed: AddressList;

  /** @throws Error naming a bad `testEventsAllowedFrom` entry (the directory's schema refuses those first) */
  constructor(private readonly deps: CallRuntimeDeps) {
    this.testEventsAllowed = AddressList.parse(deps.testEventsAllowedFrom ?? []);
    this.flows = composeFlows(
      this.effects(),
      (identity) => this.countsChanged(identity),
      (src, err) => {
        if (typeof err === 'object' && err !== null && this.reported.has(err)) return;
        this.deps.logger.error({ err, effect: src }, 'an effect of a flow failed');
      },
    );
  }

  /** What the mailbox effects need of this runtime (`mailbox-effects.ts`). */
  private mailboxHost(): MailboxEffectsHost {
    const { store, pins, logger } = this.deps;
    return {
      store,
      pins,
      logger,
      channelOf: (system) => this.channelOf(system),
      callOf: (channel) => this.running.get(channel),
      recordingFailed: (channel, locale, err) => this.recordingFailed(channel, locale, err),
      mailboxEvent: (event) => this.mailboxEvent(event),
    };
  }

  private channelOf(system: ActorSystemKey): CallChannel {
    const ch = this.channels.get(system);
    if (!ch) throw new Error('no call channel for this flow');
    return ch;
  }

  /** Adds a listener for voice-message count changes (`counts.changed`, for MWI). */
  onCountsChanged(listener: (identity: string) => void): void {
    this.countListeners.push(listener);
  }

  private countsChanged(identity: string): void {
    for (const l of this.countListeners) l(identity);
  }

  /** Adds a listener for new voice messages and missed calls (SMS and e-mail notifications). */
  onMailboxEvent(listener: (event: MailboxEvent) => void): void {
    this.mailboxListeners.push(listener);
  }

  private mailboxEvent(event: MailboxEvent): void {
    for (const l of this.mailboxListeners) {
      try {
        l(event);
      } catch (err) {
        this.deps.logger.error({ err, identity: event.identity, event: event.type }, 'mailbox event listener failed');
      }
    }
  }

  /** How many calls are in progress (routed, not yet ended). */
  get activeCallCount(): number {
    return this.running.size;
  }

  /** The calls in progress, oldest first, for the admin center (no digits, no caller's number). */
  liveCalls(): LiveCall[] {
    return [...this.running.values()].map((c) => ({
      callId: c.channel.callId,
      flow: c.flow,
      state: c.actor ? currentFlowState(c.actor) : null,
      mailbox: c.mailbox,
      startedAt: c.startedAt,
    }));
  }

  /**
   * Ends every call in progress because the server is stopping, and refuses new ones from now on: each call is hung
   * up by the IVR with the cause `shutdown` (a BYE, or 503 before the answer) and its flow is told the caller is gone
   * (`CALLER_HANGUP`), so a message being recorded is kept and stored as when the caller hangs up; each call then
   * gets its `call ended` line (`endedBy: shutdown`, with the mailbox when known); one whose flow has not finished
   * within `withinMs` gets it from here, with the result `unfinished`.
   * @param withinMs how long to wait for the flows to finish, ms of the runtime's clock
   * @returns the call ids whose flows had not finished within `withinMs` (empty when every call has ended)
   */
  async endAllCalls(withinMs: number): Promise<string[]> {
    this.draining = true;
    const calls = [...this.running.values()];
    for (const c of calls) {
      c.shutdown = true;
      void c.channel.hangup('shutdown');
      c.actor?.send({ type: 'CALLER_HANGUP' });
    }
    if (calls.length > 0) {
      let timer: unknown;
      await Promise.race([
        Promise.all(calls.map((c) => c.finished)),
        new Promise<void>((resolve) => (timer = this.deps.clock.setTimeout(resolve, withinMs))),
      ]);
      this.deps.clock.clearTimeout(timer);
    }
    const unfinished = calls.filter((c) => this.running.get(c.channel) === c);
    // Every call ended here gets its line, even one whose flow is stuck (the process is about to go).
    for (const c of unfinished) {
      c.endLogged = true;
      (c.log ?? callLogger(this.deps.logger, c.channel.callId, 'call')).info(
        { result: 'unfinished', endedBy: 'shutdown', ...(c.mailbox ? { mailbox: c.mailbox } : {}) },
        'call ended',
      );
    }
    return unfinished.map((c) => c.channel.callId);
  }

  /**
   * A recording of `channel`'s call could not be written (VA_ERR_MEDIA_RECORDING, from our RTP engine's writer or
   * from a media server): logged once with its code and the call id, counted (`va_recording_failures_total`), the
   * caller hears an apology (`try-later`, `goodbye`) when still on the line, and the call is ended. The error is
   * marked as reported, so the flow's effect failure is not logged a second time; the flow then ends (no message
   * row: it only stores a recording it has).
   */
  private async recordingFailed(channel: CallChannel, locale: Locale, err: unknown): Promise<void> {
    const code = isCodedError(err) ? err.code : RecordingErrorCodes.MEDIA_RECORDING;
    if (typeof err === 'object' && err !== null) this.reported.add(err);
    serverMetrics.recordingFailures.inc({ code });
    const log = this.running.get(channel)?.log ?? callLogger(this.deps.logger, channel.callId, 'call');
    log.error({ err, code }, 'the recording could not be written: the call is ended');
    if (!channel.ended) {
      try {
        await channel.play({ prompts: ['try-later', 'goodbye'], locale, bargeIn: false });
      } catch (playErr) {
        log.warn({ err: playErr }, 'the apology could not be played');
      }
    }
    if (!channel.ended) await channel.hangup('error');
  }

  /**
   * Routes a call without running it (the dial plans, the conferencing numbers and the mailboxes, read from the store
   * now: a change applies from the next call).
   * @throws what the store throws (VA_ERR_STORE_UNAVAILABLE...)
   */
  async route(call: Pick<IncomingCall, 'to' | 'diversion'>): Promise<Route> {
    const { store } = this.deps;
    return routeCall(call.to, call.diversion, {
      dialPlans: await store.listDialPlans(),
      conferencingNumbers: (await store.getTenantSettings()).accessNumbers,
      mailboxByExtension: async (ext) => (await store.findMailboxByExtension(ext))?.identity ?? null,
    });
  }

  /**
   * Routes one call and runs its flow to the end, then hangs up (when the caller has not).
   * @returns how it went; never rejects (a failing flow is logged and the call is ended). Once the server is stopping
   *   ({@link endAllCalls}) a new call is ended at once with the cause `shutdown` (result `shutdown`).
   */
  async handleCall(call: IncomingCall): Promise<CallRecord> {
    if (this.draining) {
      serverMetrics.callsRefused.inc({ reason: 'draining' });
      serverMetrics.callsEnded.inc({ flow: 'rejected', result: 'shutdown' });
      await call.channel.hangup('shutdown');
      callLogger(this.deps.logger, call.channel.callId, 'rejected').info({ result: 'shutdown', endedBy: 'shutdown' }, 'call ended');
      return { callId: call.channel.callId, flow: 'rejected', result: 'shutdown', identity: null };
    }
    let finish = () => {};
    const running: RunningCall = {
      channel: call.channel,
      actor: null,
      log: null,
      shutdown: false,
      mailbox: null,
      seen: new Map(),
      flow: null,
      startedAt: this.deps.clock.now(),
      endLogged: false,
      finished: new Promise<void>((r) => (finish = r)),
    };
    this.running.set(call.channel, running);
    serverMetrics.activeCalls.inc();
    let record: CallRecord | undefined;
    try {
      record = await this.runCall(call, running);
      return record;
    } finally {
      this.running.delete(call.channel);
      serverMetrics.activeCalls.dec();
      if (running.flow) serverMetrics.callsInProgress.dec({ flow: running.flow });
      serverMetrics.callsEnded.inc({ flow: record?.flow ?? running.flow ?? 'rejected', result: record?.result ?? 'error' });
      finish();
    }
  }

  /** {@link handleCall} for a call that is not refused: routes it and runs its flow to the end. */
  private async runCall(call: IncomingCall, running: RunningCall): Promise<CallRecord> {
    const { channel } = call;
    let route: Route;
    try {
      route = await this.route(call);
    } catch (err) {
      return this.refuse(call, callLogger(this.deps.logger, channel.callId, 'rejected'), err, 'rejected');
    }
    const flowName = route.flow === 'unknown' ? 'rejected' : route.flow;
    const log = callLogger(this.deps.logger, channel.callId, flowName);
    if (route.flow === 'unknown') {
      log.info({ to: call.to }, 'no flow for the dialled number');
      await channel.hangup('not-found');
      return { callId: channel.callId, flow: 'rejected', result: 'unknown-number', identity: null };
    }
    running.flow = route.flow;
    serverMetrics.callsInProgress.inc({ flow: route.flow });
    let machine: AnyStateMachine;
    let input: unknown;
    try {
      ({ machine, input } = await this.prepare(route, call));
    } catch (err) {
      return this.refuse(call, log, err, route.flow);
    }
    running.log = log;
    if (route.flow === 'call-answering') running.mailbox = route.identity;
    await channel.answer();
    log.info({ from: call.from, to: call.to, diversion: call.diversion }, 'call answered');
    const actor = createActor(machine, { input });
    running.actor = actor;
    const onFlowState = this.deps.onFlowState;
    if (onFlowState) observeFlowStates(actor, (state) => onFlowState(channel.callId, state));
    if (call.testEvents) startTestEvents(call.testEvents, channel, actor, { allowed: this.testEventsAllowed, clock: this.deps.clock, log });
    this.channels.set(actor.system, channel);
    const done = new Promise<{ result: string; identity: string | null }>((resolve) => {
      actor.subscribe({
        complete: () => {
          const out = (actor.getSnapshot().output ?? {}) as { result?: string; identity?: string | null };
          resolve({ result: out.result ?? 'done', identity: out.identity ?? null });
        },
        error: (err) => {
          log.error({ err }, 'the flow failed');
          resolve({ result: 'error', identity: null });
        },
      });
    });
    channel.onHangup(() => actor.send({ type: 'CALLER_HANGUP' }));
    actor.start();
    if (channel.ended) actor.send({ type: 'CALLER_HANGUP' });
    const out = await done;
    // A meeting this call started but never entered (the caller hung up while joining) ends unless someone is in it.
    for (const id of this.startedBy.get(actor.system) ?? []) this.meetings.endIfEmpty(id);
    if (!channel.ended) await channel.hangup('normal');
    if (!running.endLogged) {
      log.info({ result: out.result, ...(out.identity ? { mailbox: out.identity } : {}), ...(running.shutdown ? { endedBy: 'shutdown' } : {}) }, 'call ended');
    }
    return { callId: channel.callId, flow: route.flow, result: out.result, identity: out.identity };
  }

  /**
   * Ends a call that could not be routed or prepared, before it is answered: a store or other resource that is
   * unavailable is the `unavailable` cause (the signalling answers 503 with Retry-After; one warn line with the code,
   * counted), anything else `error` (logged with its stack).
   */
  private async refuse(call: IncomingCall, log: Logger, err: unknown, flow: CallRecord['flow']): Promise<CallRecord> {
    const exhausted = exhaustedBy(err);
    if (exhausted) noteExhausted(log, exhausted);
    else log.error({ err }, 'cannot prepare the call');
    await call.channel.hangup(exhausted ? 'unavailable' : 'error');
    log.info({ result: exhausted ? 'unavailable' : 'error' }, 'call ended');
    return { callId: call.channel.callId, flow, result: exhausted ? 'unavailable' : 'error', identity: null };
  }

  /** Chooses the flow and its input, with every effect provided. @throws what the store throws */
  private async prepare(route: Exclude<Route, { flow: 'unknown' }>, call: IncomingCall): Promise<{ machine: AnyStateMachine; input: unknown }> {
    const { store, ivr } = this.deps;
    const flows = this.flows;
    switch (route.flow) {
      case 'sign-in': {
        const dialPlan = await dialPlanInfo(store, route.dialPlan);
        const own = call.from ? await store.findMailboxByCaller(call.from) : undefined;
        const callerMailbox = own && own.dialPlan.toLowerCase() === dialPlan.name.toLowerCase() ? await mailboxInfo(store, own) : null;
        if (own && callerMailbox) this.running.get(call.channel)?.seen.set(own.identity, own);
        return { machine: flows.signIn, input: { settings: ivr, dialPlan, caller: call.from, callerMailbox } };
      }
      case 'call-answering': {
        const m = await store.getMailbox(route.identity);
        return {
          machine: flows.callAnswering,
          input: { mailbox: await mailboxInfo(store, m), caller: call.from, settings: ivr, dialPlan: await dialPlanInfo(store, m.dialPlan) },
        };
      }
      case 'conference': {
        const locale = ((await store.meta('default_locale')) ?? 'en-US') as Locale;
        return { machine: flows.conferenceJoin, input: { settings: ivr, locale, caller: call.from, conference: await conferenceSettings(store) } };
      }
    }
  }

  /** Every named effect of `flow-kit/effects.ts`; channel effects act on the channel of the calling flow's call. */
  private effects(): EffectImplementations {
    const { store, conferencing } = this.deps;
    const meetings = this.meetings;
    const meetingInfo = async (conferenceId: string): Promise<MeetingInfo | null> => {
      const m = await store.findMeeting(conferenceId);
      if (!m) return null;
      const organizer = await store.getConferencingUser(m.organizer);
      return { conferenceId, organizer: m.organizer, allowPstnOnlyMeetings: organizer.allowPstnOnlyMeetings, started: meetings.isStarted(conferenceId) };
    };
    return {
      play: (input, { signal, system }) => this.channelOf(system).play(input, signal),
      collect: (input, { signal, system }) => this.channelOf(system).collect(input, signal),
      record: async (input, { signal, system }) => {
        const channel = this.channelOf(system);
        try {
          return await channel.record(input, signal);
        } catch (err) {
          await this.recordingFailed(channel, input.locale, err);
          throw err;
        }
      },
      joinConference: async (input, { signal, system }) => {
        const organizer = input.role === 'organizer';
        const channel = this.channelOf(system);
        const log = callLogger(this.deps.logger, channel.callId, 'conference');
        meetings.joined(input.room);
        log.info({ conferenceId: input.room, role: input.role, inMeeting: meetings.memberCount(input.room) }, 'joined the meeting');
        try {
          return await channel.joinConference(input.room, input.role, signal, {
            locale: input.locale,
            entryExitTones: input.entryExitTones,
            // *8 (AdmitAll) is the organizer's; lobby notices go to organizers when they admit the lobby.
            admitLobby: organizer
              ? () => {
                  const n = meetings.admitLobby(input.room);
                  log.info({ conferenceId: input.room, admitted: n }, 'the organizer admitted the lobby');
                  return n;
                }
              : undefined,
            onLobbyArrival:
              organizer && input.lobbyAdmission === 'organizer'
                ? (l) => {
                    const stop = meetings.onLobbyArrival(input.room, l);
                    // Callers already waiting when the organizer comes in are announced at once.
                    const waiting = meetings.lobbySize(input.room);
                    if (waiting > 0) l(waiting);
                    return stop;
                  }
                : undefined,
          });
        } finally {
          meetings.left(input.room);
          const left = meetings.memberCount(input.room);
          log.info({ conferenceId: input.room, inMeeting: left }, left > 0 ? 'left the meeting' : 'left the meeting: it has ended');
        }
      },
      ...mailboxEffects(this.mailboxHost()),
      findMeeting: (input) => meetingInfo(input.conferenceId),
      verifyLeaderPin: async (input) => {
        const m = await store.findMeeting(input.conferenceId);
        if (!m || !/^[0-9]{1,24}$/.test(input.pin)) return false;
        return conferencing.verifyLeaderPin(m.organizer, input.pin);
      },
      startMeeting: (input, { system }) => {
        const mine = this.startedBy.get(system) ?? new Set<string>();
        this.startedBy.set(system, mine.add(input.conferenceId));
        const lobby = meetings.lobbySize(input.conferenceId);
        const already = meetings.isStarted(input.conferenceId);
        meetings.start(input.conferenceId, input.admitLobby ?? true);
        if (!already) {
          callLogger(this.deps.logger, this.channelOf(system).callId, 'conference').info(
            { conferenceId: input.conferenceId, lobbyAdmitted: lobby - meetings.lobbySize(input.conferenceId) },
            'meeting started',
          );
        }
      },
      waitForMeetingStart: (input, { signal, system }) => {
        const until = input.until ?? 'start';
        const waiting = meetings.waitForStart(input.conferenceId, signal, until);
        // A caller who waits (the meeting has not started, or the organizer admits the lobby) is in the lobby now.
        if (until === 'admitted' || !meetings.isStarted(input.conferenceId)) {
          callLogger(this.deps.logger, this.channelOf(system).callId, 'conference').info(
            { conferenceId: input.conferenceId, waitingFor: until === 'admitted' ? 'the organizer' : 'the meeting to start', inLobby: meetings.lobbySize(input.conferenceId) },
            'waiting in the lobby',
          );
        }
        return waiting;
      },
    };
  }
}
