/**
 * CallRuntime: runs one flow for each call. It routes the call (`domain/routing.ts`), answers it, provides the
 * flow's named effects from the call's {@link CallChannel} and the directory services, forwards the caller's
 * hang-up to the flow, hangs up when the flow ends, and reports every voice-message count change.
 * Signalling adapters (simulator, embedded SIP, drachtio) only deliver {@link IncomingCall}s to {@link handleCall}.
 */
import { unlink } from 'node:fs/promises';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { createActor, type AnyActorRef, type AnyStateMachine, type StateValue } from 'xstate';
import type { App } from '../app';
import type { Locale } from '../config/schema';
import type { ConferencingService } from '../directory/conferencing-service';
import type { PinService } from '../directory/pin-service';
import type { DirectoryStore, Mailbox, VoiceMessage } from '../directory/store';
import { routeCall, type Route } from '../domain/routing';
import type {
  ConferenceSettings,
  DialPlanInfo,
  IvrSettings,
  JoinConferenceInput,
  MailboxInfo,
  MeetingInfo,
  PinChangeOutcome,
  SignInOutcome,
} from '../flow-kit/effects';
import { callLogger } from '../log';
import type { CallChannel, IncomingCall } from '../ports/call-channel';
import type { Clock } from '../ports/clock';
import type { EffectImplementations } from './effect-runner';
import { composeFlows } from './flows';
import { MeetingRooms } from './meeting-rooms';

/** What the runtime needs. */
export interface CallRuntimeDeps {
  store: DirectoryStore;
  pins: PinService;
  conferencing: ConferencingService;
  clock: Clock;
  ivr: IvrSettings;
  logger: Logger;
  /** Where recordings are written (`<data>/recordings`). */
  recordingsDir: string;
  /** Called with `flowId.state` whenever a call's flow (or a child flow) enters a new state; for transcripts. */
  onFlowState?: (callId: string, state: string) => void;
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

/** The dial plan settings a flow needs, from the store. */
export function dialPlanInfo(store: DirectoryStore, name: string): DialPlanInfo {
  const d = store.getDialPlan(name);
  return {
    name: d.name,
    numberOfDigitsInExtension: d.numberOfDigitsInExtension,
    logonFailuresBeforeDisconnect: d.logonFailuresBeforeDisconnect,
    inputFailuresBeforeDisconnect: d.inputFailuresBeforeDisconnect,
    maxRecordingMs: d.maxRecordingDurationMinutes * 60_000,
    recordingIdleMs: d.recordingIdleTimeoutSeconds * 1000,
    locale: d.defaultLanguage,
  };
}

/** A mailbox as a flow sees it (no PIN hash), with its effective language. */
export function mailboxInfo(store: DirectoryStore, m: Mailbox): MailboxInfo {
  return {
    identity: m.identity,
    displayName: m.displayName,
    extension: m.extension,
    locale: m.language ?? store.getDialPlan(m.dialPlan).defaultLanguage,
    lockedOut: m.lockedOut,
    greetingFile: m.greetingFile,
    nameFile: m.nameFile,
  };
}

/**
 * The tenant's conferencing settings as the conference flow takes them (config `conferencing:`, kept in the store and
 * read per call, so a change applies from the next call).
 */
export function conferenceSettings(store: DirectoryStore): ConferenceSettings {
  const t = store.getTenantSettings();
  return {
    lobbyAdmission: t.lobbyAdmission,
    allowAnonymousMeetingStart: t.allowAnonymousMeetingStart,
    lobbyAnnouncementMs: t.lobbyAnnouncementIntervalSeconds * 1000,
    entryExitTones: t.enableEntryExitNotifications,
  };
}

/** A state value as `state` or `parent.child` (parallel regions joined by commas). */
function flatState(v: StateValue): string {
  return typeof v === 'string' ? v : Object.entries(v).map(([k, sub]) => `${k}.${flatState(sub as StateValue)}`).join(',');
}

/**
 * Reports each flow's state when it changes, as `flowId.state`: the call's root flow and every child flow it
 * invokes (found in its snapshots' `children` and watched from then on). Subscriptions, not an xstate inspector:
 * an inspector is handed every event, action and microstep of the call, which cost more than the flows themselves.
 */
function observeFlowStates(root: AnyActorRef, report: (state: string) => void): void {
  const watched = new WeakSet<AnyActorRef>();
  const watch = (actor: AnyActorRef) => {
    if (watched.has(actor)) return;
    watched.add(actor);
    let last = '';
    // xstate keeps a snapshot's `value` (a string for an atomic state) and `children` objects while they do not
    // change: most snapshots (an effect started or cancelled, a context update) are passed over on identity alone.
    let lastValue: StateValue | undefined;
    let lastChildren: object | undefined;
    const seen = (snap: { value?: StateValue; machine?: { id: string }; children?: Record<string, AnyActorRef | undefined> }) => {
      if (snap.value === undefined || !snap.machine) return;
      if (snap.value !== lastValue) {
        lastValue = snap.value;
        const state = `${snap.machine.id}.${flatState(snap.value)}`;
        if (state !== last) {
          last = state;
          report(state);
        }
      }
      if (snap.children && snap.children !== lastChildren) {
        lastChildren = snap.children;
        for (const child of Object.values(snap.children)) if (child) watch(child);
      }
    };
    // Failures are the runtime's to report (its own subscription); this observer only watches.
    actor.subscribe({ next: seen, error: () => undefined });
    seen(actor.getSnapshot());
  };
  watch(root);
}

/** The actor system of a call's flow tree: the key under which its channel is found. */
type ActorSystemKey = object;

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

  /**
   * The runtime of an opened app, as `serve`, the simulator and the benchmarks run it: the app's store, PIN and
   * conferencing services and IVR settings, recordings under `<data>/recordings`.
   * @param deps the clock and the logger, and whatever else differs (the simulator's tracked services, its
   *   `onFlowState`)
   */
  static forApp(
    app: Pick<App, 'store' | 'pins' | 'conferencing' | 'ivr' | 'dataDir'>,
    deps: Pick<CallRuntimeDeps, 'clock' | 'logger'> & Partial<CallRuntimeDeps>,
  ): CallRuntime {
    return new CallRuntime({
      store: app.store,
      pins: app.pins,
      conferencing: app.conferencing,
      ivr: app.ivr,
      recordingsDir: path.join(app.dataDir, 'recordings'),
      ...deps,
    });
  }

  constructor(private readonly deps: CallRuntimeDeps) {
    this.flows = composeFlows(
      this.effects(),
      (identity) => this.countsChanged(identity),
      (src, err) => this.deps.logger.error({ err, effect: src }, 'an effect of a flow failed'),
    );
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

  /** Routes a call without running it (signalling adapters reject unknown numbers before answering). */
  route(call: Pick<IncomingCall, 'to' | 'diversion'>): Route {
    const { store } = this.deps;
    return routeCall(call.to, call.diversion, {
      dialPlans: store.listDialPlans(),
      conferencingNumbers: store.getTenantSettings().accessNumbers,
      mailboxByExtension: (ext) => store.findMailboxByExtension(ext)?.identity ?? null,
    });
  }

  /**
   * Routes one call and runs its flow to the end, then hangs up (when the caller has not).
   * @returns how it went; never rejects (a failing flow is logged and the call is ended)
   */
  async handleCall(call: IncomingCall): Promise<CallRecord> {
    const { channel } = call;
    const route = this.route(call);
    const flowName = route.flow === 'unknown' ? 'rejected' : route.flow;
    const log = callLogger(this.deps.logger, channel.callId, flowName);
    if (route.flow === 'unknown') {
      log.info({ to: call.to }, 'no flow for the dialled number');
      await channel.hangup('not-found');
      return { callId: channel.callId, flow: 'rejected', result: 'unknown-number', identity: null };
    }
    let machine: AnyStateMachine;
    let input: unknown;
    try {
      ({ machine, input } = this.prepare(route, call));
    } catch (err) {
      log.error({ err }, 'cannot prepare the call');
      await channel.hangup('error');
      return { callId: channel.callId, flow: route.flow, result: 'error', identity: null };
    }
    await channel.answer();
    log.info({ from: call.from, to: call.to, diversion: call.diversion }, 'call answered');
    const actor = createActor(machine, { input });
    const onFlowState = this.deps.onFlowState;
    if (onFlowState) observeFlowStates(actor, (state) => onFlowState(channel.callId, state));
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
    log.info({ result: out.result }, 'call ended');
    return { callId: channel.callId, flow: route.flow, result: out.result, identity: out.identity };
  }

  /** Chooses the flow and its input, with every effect provided. */
  private prepare(route: Exclude<Route, { flow: 'unknown' }>, call: IncomingCall): { machine: AnyStateMachine; input: unknown } {
    const { store, ivr } = this.deps;
    const flows = this.flows;
    switch (route.flow) {
      case 'sign-in': {
        const dialPlan = dialPlanInfo(store, route.dialPlan);
        const own = call.from ? store.findMailboxByCaller(call.from) : undefined;
        const callerMailbox = own && own.dialPlan.toLowerCase() === dialPlan.name.toLowerCase() ? mailboxInfo(store, own) : null;
        return { machine: flows.signIn, input: { settings: ivr, dialPlan, caller: call.from, callerMailbox } };
      }
      case 'call-answering': {
        const m = store.getMailbox(route.identity);
        return {
          machine: flows.callAnswering,
          input: { mailbox: mailboxInfo(store, m), caller: call.from, settings: ivr, dialPlan: dialPlanInfo(store, m.dialPlan) },
        };
      }
      case 'conference': {
        const locale = (store.meta('default_locale') ?? 'en-US') as Locale;
        return { machine: flows.conferenceJoin, input: { settings: ivr, locale, caller: call.from, conference: conferenceSettings(store) } };
      }
    }
  }

  /** Every named effect of `flow-kit/effects.ts`; channel effects act on the channel of the calling flow's call. */
  private effects(): EffectImplementations {
    const { store, pins, conferencing } = this.deps;
    const meetings = this.meetings;
    const meetingInfo = (conferenceId: string): MeetingInfo | null => {
      const m = store.findMeeting(conferenceId);
      if (!m) return null;
      const organizer = store.getConferencingUser(m.organizer);
      return { conferenceId, organizer: m.organizer, allowPstnOnlyMeetings: organizer.allowPstnOnlyMeetings, started: meetings.isStarted(conferenceId) };
    };
    return {
      play: (input, { signal, system }) => this.channelOf(system).play(input, signal),
      collect: (input, { signal, system }) => this.channelOf(system).collect(input, signal),
      record: (input, { signal, system }) => this.channelOf(system).record(input, signal),
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
      lookupExtension: (input) => {
        const m = store.findMailboxByExtension(input.extension, input.dialPlan);
        return m ? mailboxInfo(store, m) : null;
      },
      signIn: async (input): Promise<SignInOutcome> => {
        const r = await pins.signIn(input.identity, input.pin);
        if (r.outcome === 'ok') return { outcome: 'ok', mustChangePin: r.mustChangePin, firstTimeUser: r.firstTimeUser };
        if (r.outcome === 'locked') return { outcome: 'locked' };
        return { outcome: 'failed', action: r.action };
      },
      changePin: async (input): Promise<PinChangeOutcome> => {
        const v = await pins.changePin(input.identity, input.pin);
        if (!v) return { ok: true };
        const policy = store.getPolicy(store.getMailbox(input.identity).policy);
        return { ok: false, rule: v.rule, minPinLength: policy.minPinLength, historyCount: policy.pinHistoryCount };
      },
      completeFirstTimeSetup: (input) => {
        store.updateMailbox(input.identity, { firstTimeUser: false });
      },
      saveRecording: async (input) => {
        const before = store.getMailbox(input.identity);
        const old = input.purpose === 'greeting' ? before.greetingFile : before.nameFile;
        store.updateMailbox(input.identity, input.purpose === 'greeting' ? { greetingFile: input.file } : { nameFile: input.file });
        if (old && old !== input.file) await unlink(old).catch(() => undefined);
      },
      listMessages: (input) =>
        store.listVoiceMessages(input.identity).map((v) => ({
          id: v.id,
          caller: v.caller,
          receivedAt: v.receivedAt,
          durationMs: v.durationMs,
          unheard: v.unheard,
          urgent: v.urgent,
          file: v.audioFile,
        })),
      setMessageHeard: (input) => {
        store.setMessageHeard(input.identity, input.id, input.heard);
      },
      deleteMessage: async (input) => {
        const gone = store.deleteVoiceMessage(input.identity, input.id);
        if (gone) await unlink(gone.audioFile).catch(() => undefined);
      },
      storeMessage: (input) => {
        const message = store.addVoiceMessage({
          identity: input.identity,
          caller: input.caller,
          receivedAt: store.now(),
          durationMs: input.durationMs,
          urgent: false,
          audioFile: input.file,
        });
        this.mailboxEvent({ type: 'voice-message', identity: input.identity, message });
      },
      recordMissedCall: (input) => {
        store.addMissedCall(input.identity, input.caller);
        this.mailboxEvent({ type: 'missed-call', identity: input.identity, caller: input.caller, at: store.now() });
      },
      findMeeting: (input) => meetingInfo(input.conferenceId),
      verifyLeaderPin: async (input) => {
        const m = store.findMeeting(input.conferenceId);
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
      waitForMeetingStart: (input, { signal }) => meetings.waitForStart(input.conferenceId, signal, input.until ?? 'start'),
    };
  }
}
