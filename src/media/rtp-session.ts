/**
 * One call's RTP stream: a UDP socket bound by {@link MediaEngine.openSession}, driven by the engine's shared
 * 20 ms tick (no timer of its own).
 *
 * Sending (RFC 3550 §5.1, RFC 3551 §4.5.14): G.711 in the remote's payload type, 160 samples (20 ms) per packet,
 * one packet per tick; random initial SSRC, sequence number and timestamp; the timestamp advances 160 per tick
 * whether or not a packet is sent (it is a media clock); the marker bit is set on the first audio packet after a
 * pause (RFC 3551 §4.1). When nothing plays and no audio source is set (a conference bridge's mix, see
 * {@link RtpSession.setAudioSource}), nothing is sent (no comfort noise): it costs nothing at scale, the
 * marker bit tells the remote's jitter buffer where talkspurts start, and the caller's side keeps any NAT binding
 * open with its own stream. While on hold (`setSending(false)`) playback keeps its pace but no packet leaves, so a
 * flow's prompt timing does not depend on the caller's hold button.
 *
 * Receiving: any packet time (a 30 ms PCMA packet decodes to 240 samples), decoded by the packet's own payload type
 * (0 or 8) whatever was negotiated; CN (13) is accepted as silence; telephone-event packets (the negotiated
 * payload type, or any dynamic type 96-127 carrying exactly 4 bytes: a capture replayed with another payload type
 * than the SDP says; only G.711 and telephone-event are ever negotiated) go to an RFC 4733 receiver whatever their
 * SSRC or sequence number (see `rfc4733.ts`); anything else is ignored and never latched on.
 *
 * Latching (symmetric RTP, as behind NAT): we send to the SDP address until RTP from another address:port has
 * taken over, guarded against stream theft (see `rtp-latch.ts`). The first change is logged at info, later ones at warn.
 *
 * DTMF from RFC 4733 (`rfc4733.ts`), in-band tones (`goertzel.ts`) and SIP INFO ({@link RtpSession.injectInfoDtmf}),
 * merged and de-duplicated into one `dtmf` event by `rtp-dtmf-merger.ts`. Voice activity (the `voice` event):
 * `voice-activity.ts`. Recordings of the caller's audio ({@link RtpSession.startRecording}): `rtp-recorder.ts`.
 */
import type { Socket, RemoteInfo } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Clock } from '../ports/clock';
import { MediaError, MediaErrorCodes } from './errors';
import { G711_SAMPLE_RATE, decodeG711, encodeG711, type G711PayloadType } from './g711';
import { VoiceActivityDetector } from './voice-activity';
import { MsHistogram } from './histogram';
import { DEFAULT_DTMF_TIMEOUT_MS, DtmfEventReceiver, DtmfEventSender, scheduleDtmfPlan, type ScheduledDtmfPacket } from './rfc4733';
import { DtmfSendQueue } from './dtmf-send-queue';
import type { MediaEngine } from './media-engine';
import { parseRtp, serializeRtp, type RtpPacket } from './rtp-packet';
import { DEFAULT_RFC4733_HOLDOFF_MS, RtpDtmfMerger, type SessionDtmf } from './rtp-dtmf-merger';
import { RtpLatch } from './rtp-latch';
import { RtpRecorder, type Recording } from './rtp-recorder';
import { randomU32 } from '../util/random-pool';

export type { SessionDtmf } from './rtp-dtmf-merger';
export type { Recording } from './rtp-recorder';

/** Samples per packet we send (20 ms at 8 kHz). */
export const SAMPLES_PER_PACKET = 160;
/** The send interval and the engine's tick, ms. */
export const PACKET_MS = 20;
/** Longest timestamp gap the `audio` event fills with zeros: 1 s (longer gaps are pauses of the sender). */
export const AUDIO_GAP_FILL_MAX_SAMPLES = 8000;
const PT_CN = 13;

/**
 * Whether `pt` can carry telephone-events (RFC 4733) beside G.711 on a session: an RTP payload type (0..127) that is
 * neither PCMU (0), PCMA (8) nor comfort noise (13), the types a session reads as audio. Shared by the SDP answer
 * (`sip/sdp.ts`, which ignores an unusable telephone-event) and {@link RtpSession.setRemote}.
 */
export function isUsableTelephoneEventPt(pt: number): boolean {
  return Number.isInteger(pt) && pt > 0 && pt <= 127 && pt !== 8 && pt !== PT_CN;
}

/** Where and how to send, from the remote SDP. */
export interface RemoteMedia {
  /** IP address of the remote's `c=` line. */
  address: string;
  /** Port of the remote's audio `m=` line. */
  port: number;
  /** The G.711 payload type agreed in the answer: 0 PCMU or 8 PCMA. */
  payloadType: 0 | 8;
  /** The remote's `telephone-event/8000` payload type (RFC 4733 §7.1.1), or null when not offered. */
  telephoneEventPt: number | null;
}

/** A prompt queued by {@link RtpSession.play}. */
export interface Playback {
  /** Resolves `'done'` when the last sample was sent, `'stopped'` after {@link Playback.stop} or close. */
  readonly done: Promise<'done' | 'stopped'>;
  /** Stops it (and drops it from the queue if it has not started). Idempotent. */
  stop(): void;
  /** How much of it has been played so far, ms. */
  readonly playedMs: number;
}

/** Events of an {@link RtpSession}. */
export type RtpSessionEvents = {
  /** A key press (merged and de-duplicated across transports). */
  dtmf: [SessionDtmf];
  /** Voice activity of the caller's audio: true at onset, false after the hangover. */
  voice: [boolean];
  /**
   * The remote's decoded audio (8 kHz samples), in order: each G.711 packet's samples, preceded by zeros for a gap
   * in its RTP timestamps of up to {@link AUDIO_GAP_FILL_MAX_SAMPLES} (lost packets). A longer gap (the sender paused:
   * no comfort noise), a new SSRC or a timestamp jump backwards of more than 2 s starts afresh without zeros; a packet
   * that is late or repeated (its place in the stream was passed on already) is dropped. Costs nothing while nobody
   * listens.
   */
  audio: [Int16Array];
  /** We now send to this address (latching). */
  latch: [{ address: string; port: number }];
  /** The session closed. */
  close: [];
};

/** Per-session options, see {@link MediaEngine.openSession}. Defaults in brackets. */
export interface RtpSessionOptions {
  /** Run the in-band DTMF detector on the caller's audio [true]. */
  inbandDtmf?: boolean;
  /** RFC 4733 lost-end timeout, ms [150]. */
  dtmfTimeoutMs?: number;
  /** In-band detection stays suspended this long after the last telephone-event packet (or INFO digit), ms [2000]. */
  rfc4733HoldoffMs?: number;
  /** Frame level above which the caller is talking, dBov [-40]. */
  vadThresholdDbov?: number;
  /** Voiced audio needed to report voice, ms [40]. */
  vadOnsetMs?: number;
  /** Quiet audio (or no packets) needed to report the end of voice, ms [300]. */
  vadHangoverMs?: number;
  /** A new source address is latched only after the current one was quiet this long, ms [100]. */
  latchQuietMs?: number;
  /** Longest recording kept, ms; later audio is dropped [3 600 000]. */
  maxRecordingMs?: number;
}

/** What the engine gives a session. @internal */
export interface RtpSessionDeps {
  socket: Socket;
  localAddress: string;
  localPort: number;
  clock: Clock;
  /** The engine whose tick drives this session (a conference bridge mixes on it). */
  engine: MediaEngine;
  logger: Logger;
  /**
   * Called once when the session closes. The session no longer listens on its socket by then: the socket is the
   * caller's to close or to keep for another session (the engine's reuse, see media-engine.ts).
   */
  onClose: (s: RtpSession) => void;
}

class PlaybackImpl implements Playback {
  pos = 0;
  finished = false;
  readonly done: Promise<'done' | 'stopped'>;
  private resolve!: (r: 'done' | 'stopped') => void;

  constructor(readonly pcm: Int16Array) {
    this.done = new Promise((r) => (this.resolve = r));
  }

  get playedMs(): number {
    return (this.pos * 1000) / G711_SAMPLE_RATE;
  }

  stop(): void {
    this.finish('stopped');
  }

  finish(r: 'done' | 'stopped'): void {
    if (this.finished) return;
    this.finished = true;
    this.resolve(r);
  }
}

/** One call's RTP stream; see the module comment. Created by {@link MediaEngine.openSession}. */
export class RtpSession extends EventEmitter<RtpSessionEvents> {
  /** The local address the socket is bound to. */
  readonly localAddress: string;
  /** The local (even) UDP port. */
  readonly localPort: number;
  /** The engine whose shared tick drives this session. */
  readonly engine: MediaEngine;

  private readonly socket: Socket;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly onCloseCb: (s: RtpSession) => void;
  private readonly opts: Required<RtpSessionOptions>;
  /** Told each UDP packet this session sends or receives, as on the wire (a capture, `simulate --pcap`); null: none. */
  packetTap: ((dir: 'sent' | 'received', packet: Buffer, remote: { address: string; port: number }) => void) | null = null;
  private closed = false;
  private remote: RemoteMedia | null = null;
  private readonly latch: RtpLatch;
  private sending = true;

  // sender
  private readonly ssrc = randomU32();
  private seq = randomU32() & 0xffff;
  private ts = randomU32();
  private talking = false;
  private readonly frame = new Int16Array(SAMPLES_PER_PACKET);
  private readonly encoded = new Uint8Array(SAMPLES_PER_PACKET);
  private readonly queue: PlaybackImpl[] = [];
  private source: ((frame: Int16Array) => boolean) | null = null;
  private readonly dtmfQueue = new DtmfSendQueue();
  private readonly dtmfSender = new DtmfEventSender();
  private lastSendAt: number | null = null;
  /** Made at the second packet sent (4 KB of bins: most calls that end at once never need it). */
  private sendDeviationHist: MsHistogram | null = null;

  // receiver
  private packetsInCount = 0;
  private packetsOutCount = 0;
  private packetsIgnoredCount = 0;
  private readonly recordings = new Set<RtpRecorder>();
  private readonly rx: DtmfEventReceiver;
  private readonly dtmf: RtpDtmfMerger;
  private readonly vad: VoiceActivityDetector;
  private lastAudioAt = -Infinity;
  private dualTransportLogged = false;
  private tePtMismatchLogged = false;
  private sendErrors = 0;
  // `audio` event: the stream position passed on so far
  private audioSsrc: number | null = null;
  private audioNextTs = 0;

  /** @internal use {@link MediaEngine.openSession} */
  constructor(deps: RtpSessionDeps, opts: RtpSessionOptions = {}) {
    super();
    this.socket = deps.socket;
    this.localAddress = deps.localAddress;
    this.localPort = deps.localPort;
    this.engine = deps.engine;
    this.clock = deps.clock;
    this.log = deps.logger;
    this.onCloseCb = deps.onClose;
    this.opts = {
      inbandDtmf: opts.inbandDtmf ?? true,
      dtmfTimeoutMs: opts.dtmfTimeoutMs ?? DEFAULT_DTMF_TIMEOUT_MS,
      rfc4733HoldoffMs: opts.rfc4733HoldoffMs ?? DEFAULT_RFC4733_HOLDOFF_MS,
      vadThresholdDbov: opts.vadThresholdDbov ?? -40,
      vadOnsetMs: opts.vadOnsetMs ?? 40,
      vadHangoverMs: opts.vadHangoverMs ?? 300,
      latchQuietMs: opts.latchQuietMs ?? 100,
      maxRecordingMs: opts.maxRecordingMs ?? 3_600_000,
    };
    this.rx = new DtmfEventReceiver({
      clock: this.clock,
      timeoutMs: this.opts.dtmfTimeoutMs,
      onDigit: (d) => {
        if (!this.closed) this.dtmf.rfc4733(d);
      },
    });
    this.dtmf = new RtpDtmfMerger({
      holdoffMs: this.opts.rfc4733HoldoffMs,
      telephoneEvents: this.rx,
      onDigit: (e) => this.emit('dtmf', e),
      onDualTransport: () => this.dualTransport(),
    });
    this.vad = new VoiceActivityDetector(
      { thresholdDbov: this.opts.vadThresholdDbov, onsetMs: this.opts.vadOnsetMs, hangoverMs: this.opts.vadHangoverMs },
      (on) => this.emit('voice', on),
    );
    this.latch = new RtpLatch(this.opts.latchQuietMs);
    this.socket.on('message', this.messageListener);
    this.socket.on('error', this.errorListener);
  }

  private readonly messageListener = (msg: Buffer, rinfo: RemoteInfo): void => this.onMessage(msg, rinfo);
  private readonly errorListener = (err: Error): void => this.onSocketError(err);

  /** Counters: packets received (accepted RTP) and sent, and the p99/max deviation of our send interval from 20 ms. */
  get stats(): {
    packetsIn: number;
    packetsOut: number;
    packetsIgnored: number;
    sendIntervalP99DeviationMs: number;
    sendIntervalMaxDeviationMs: number;
  } {
    return {
      packetsIn: this.packetsInCount,
      packetsOut: this.packetsOutCount,
      packetsIgnored: this.packetsIgnoredCount,
      sendIntervalP99DeviationMs: this.sendDeviationHist?.percentile(99) ?? 0,
      sendIntervalMaxDeviationMs: this.sendDeviationHist?.max ?? 0,
    };
  }

  /** The send-interval deviation histogram (|interval - 20 ms| between consecutive packets). @internal for benchmarks */
  get sendIntervalHistogram(): MsHistogram {
    return (this.sendDeviationHist ??= new MsHistogram(0.1, 100));
  }

  /** True after {@link RtpSession.close}. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Where packets go now (the SDP address, or the latched source), or null before {@link RtpSession.setRemote}. */
  get remoteTarget(): { address: string; port: number } | null {
    const t = this.latch.target;
    return t ? { ...t } : null;
  }

  /**
   * Sets the remote media from the SDP (offer or answer; again on a re-INVITE). Sending goes to its address until
   * the caller's RTP is seen coming from elsewhere (latching, see the module comment).
   * @throws MediaError `VA_ERR_MEDIA_ARGUMENT` for a port outside 1..65535, a payload type other than 0/8, or a
   *         telephone-event payload type outside 0..127 (or equal to the audio's)
   */
  setRemote(r: RemoteMedia): void {
    if (!r || typeof r.address !== 'string' || r.address === '') throw this.argError('remote address is empty');
    if (!Number.isInteger(r.port) || r.port < 1 || r.port > 65535) throw this.argError(`remote port ${r.port} out of range`);
    if (r.payloadType !== 0 && r.payloadType !== 8) throw this.argError(`payload type ${r.payloadType} is not 0 or 8`);
    const te = r.telephoneEventPt;
    if (te !== null && !isUsableTelephoneEventPt(te)) {
      throw this.argError(`telephone-event payload type ${te} is invalid`);
    }
    const changed = !this.remote || this.remote.address !== r.address || this.remote.port !== r.port;
    this.remote = { ...r };
    if (changed) this.latch.reset(r.address, r.port);
  }

  /** Turns sending on or off (off while the caller holds us: re-INVITE with `a=sendonly` or `a=inactive`). */
  setSending(on: boolean): void {
    this.sending = on;
    if (!on) this.talking = false;
  }

  /**
   * Queues audio to send after what is already queued.
   * @param pcm 8 kHz 16-bit mono samples (e.g. from `readWavPcm`); not copied, do not modify while it plays
   * @returns its {@link Playback}; on a closed session, one already `'stopped'`
   */
  play(pcm: Int16Array): Playback {
    const pb = new PlaybackImpl(pcm);
    if (this.closed) pb.finish('stopped');
    else this.queue.push(pb);
    return pb;
  }

  /**
   * Sets what is sent when no prompt plays (a conference bridge's mix for this caller), or removes it (`null`).
   * Each tick with nothing queued by {@link RtpSession.play} calls `source` with the 160-sample frame to fill; it
   * returns false to send nothing this tick. Prompts queued by `play` go first (a prompt to one participant of a
   * meeting is heard instead of the meeting while it plays).
   */
  setAudioSource(source: ((frame: Int16Array) => boolean) | null): void {
    this.source = source;
  }

  /** Stops every queued and playing prompt (barge-in). */
  stopPlayback(): void {
    for (const pb of this.queue.splice(0)) pb.finish('stopped');
  }

  /** Starts capturing the caller's audio (see {@link Recording}). Several recordings may run at once. */
  startRecording(): Recording {
    const rec = new RtpRecorder(Math.round((this.opts.maxRecordingMs * G711_SAMPLE_RATE) / 1000), (r) => this.recordings.delete(r));
    if (!this.closed) this.recordings.add(rec);
    return rec;
  }

  /**
   * Sends one digit as RFC 4733 telephone-events (marker on the first packet, an update every 20 ms, the end
   * packet three times, all with the event's start timestamp: RFC 4733 §2.5.1), after digits already queued.
   * Audio playback pauses while it is sent. For our own network caller.
   * @param digit `0`-`9`, `*`, `#`, `A`-`D` or `!`
   * @param durationMs key press length, 1..8000 ms
   * @returns resolves when the last end packet was sent (or the session closed meanwhile)
   * @throws (rejects) MediaError `VA_ERR_MEDIA_NO_TELEPHONE_EVENT` when the remote SDP has no telephone-event,
   *         `VA_ERR_MEDIA_ARGUMENT` for a bad digit or duration, `VA_ERR_MEDIA_CLOSED` after close
   */
  sendDtmf(digit: string, durationMs: number): Promise<void> {
    if (this.closed) return Promise.reject(new MediaError(MediaErrorCodes.CLOSED, 'RTP session is closed'));
    if (!this.remote || this.remote.telephoneEventPt === null) {
      return Promise.reject(new MediaError(MediaErrorCodes.NO_TELEPHONE_EVENT, 'the remote offered no telephone-event payload type'));
    }
    try {
      return this.dtmfQueue.enqueue(scheduleDtmfPlan(this.dtmfSender.plan(digit, durationMs)));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Sends one key press as the given telephone-event packets, after keys already queued: each in its 20 ms interval
   * (`slot`, several back to back when they share one), all with the media clock's timestamp of the key's first
   * interval, numbered the key's first sequence number plus their `seq`. Audio playback pauses meanwhile. For the
   * network simulator's DTMF faults (lost, repeated, re-ordered or re-marked packets: `sim/dtmf-faults.ts`).
   * @param packets in slot order, 4-byte payloads (RFC 4733 §2.3)
   * @returns resolves when the last packet was sent (or the session closed meanwhile)
   * @throws (rejects) MediaError `VA_ERR_MEDIA_NO_TELEPHONE_EVENT` when the remote SDP has no telephone-event,
   *         `VA_ERR_MEDIA_ARGUMENT` for no packets or malformed ones, `VA_ERR_MEDIA_CLOSED` after close
   */
  sendDtmfPackets(packets: readonly ScheduledDtmfPacket[]): Promise<void> {
    if (this.closed) return Promise.reject(new MediaError(MediaErrorCodes.CLOSED, 'RTP session is closed'));
    if (!this.remote || this.remote.telephoneEventPt === null) {
      return Promise.reject(new MediaError(MediaErrorCodes.NO_TELEPHONE_EVENT, 'the remote offered no telephone-event payload type'));
    }
    try {
      return this.dtmfQueue.enqueue(packets);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Hands in a digit the signalling layer received in a SIP INFO (`parseInfoDtmf`), so that it is merged and
   * de-duplicated with the RTP transports and emitted as a `dtmf` event with source `info`.
   * @param digit as parsed; @param durationMs as parsed (ms)
   */
  injectInfoDtmf(digit: string, durationMs: number): void {
    if (this.closed) return;
    this.dtmf.info(digit, durationMs, this.clock.now());
  }

  /** Starts the send-interval statistics afresh (see {@link MediaEngine.resetTickStats}). */
  resetSendStats(): void {
    this.sendDeviationHist?.reset();
    this.lastSendAt = null;
  }

  /**
   * Ends the session: stops listening on its socket and hands it back to the engine (which closes it or keeps it for
   * a later call), stops playbacks (`'stopped'`), settles pending `sendDtmf` calls and stops the DTMF timers.
   * Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopPlayback();
    this.source = null;
    this.dtmfQueue.clear();
    this.rx.close();
    this.recordings.clear();
    this.socket.off('message', this.messageListener);
    this.socket.off('error', this.errorListener);
    this.onCloseCb(this);
    this.emit('close');
  }

  /**
   * One 20 ms step, called by the engine's shared tick: sends at most one packet and advances the media clock.
   * @internal
   */
  tick(): void {
    if (this.closed) return;
    let sent = false;
    if (this.dtmfQueue.pending) {
      const te = this.remote?.telephoneEventPt;
      const r = this.dtmfQueue.tick(this.ts, this.seq, (marker, ts, payload, seq) => te != null && this.send(marker, te, ts, payload, seq));
      this.seq = r.seq;
      sent = r.sent;
      this.talking = false;
    } else if (this.fillFrame()) {
      const pt = (this.remote?.payloadType ?? 0) as G711PayloadType;
      encodeG711(this.frame, pt, this.encoded);
      sent = this.send(!this.talking, pt, this.ts, this.encoded);
      this.talking = sent;
    } else {
      this.talking = false;
    }
    if (!sent) this.lastSendAt = null;
    this.ts = (this.ts + SAMPLES_PER_PACKET) >>> 0;
    this.housekeeping();
  }

  /** Fills `frame` from the play queue; false when nothing is playing. */
  private fillFrame(): boolean {
    let filled = 0;
    while (filled < SAMPLES_PER_PACKET && this.queue.length > 0) {
      const pb = this.queue[0];
      if (pb.finished) {
        this.queue.shift();
        continue;
      }
      const n = Math.min(SAMPLES_PER_PACKET - filled, pb.pcm.length - pb.pos);
      if (n > 0) {
        this.frame.set(pb.pcm.subarray(pb.pos, pb.pos + n), filled);
        pb.pos += n;
        filled += n;
      }
      if (pb.pos >= pb.pcm.length) {
        this.queue.shift();
        pb.finish('done');
      }
    }
    if (filled === 0) return this.source !== null && this.source(this.frame);
    this.frame.fill(0, filled);
    return true;
  }

  /** Sends one packet numbered `seq` (the next sequence number, which then moves on, when not given). */
  private send(marker: boolean, pt: number, ts: number, payload: Uint8Array, seq?: number): boolean {
    const target = this.latch.target;
    if (!this.sending || !target) return false;
    const buf = serializeRtp({ marker, payloadType: pt, sequenceNumber: seq ?? this.seq, timestamp: ts, ssrc: this.ssrc }, payload);
    if (seq === undefined) this.seq = (this.seq + 1) & 0xffff;
    try {
      this.socket.send(buf, target.port, target.address);
      this.packetTap?.('sent', buf, target);
    } catch (err) {
      this.onSocketError(err as Error);
      return false;
    }
    this.packetsOutCount++;
    const perfNow = performance.now();
    if (this.lastSendAt !== null) this.sendIntervalHistogram.record(Math.abs(perfNow - this.lastSendAt - PACKET_MS));
    this.lastSendAt = perfNow;
    return true;
  }

  private housekeeping(): void {
    const now = this.clock.now();
    this.vad.idle(now, this.lastAudioAt);
    this.dtmf.idle(now, this.lastAudioAt);
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.closed) return;
    this.packetTap?.('received', msg, rinfo);
    const p = parseRtp(msg);
    if (!p) {
      this.packetsIgnoredCount++;
      return;
    }
    const pt = p.payloadType;
    const tePt = this.remote?.telephoneEventPt ?? null;
    const isAudio = pt === 0 || pt === 8;
    let isTe = tePt !== null && pt === tePt;
    if (!isTe && pt >= 96 && pt <= 127 && p.payload.length === 4) {
      // A 4-byte payload on a dynamic type we did not agree on: a telephone-event with another payload type
      // than negotiated (e.g. a replayed capture). Only G.711 and telephone-event are ever negotiated.
      isTe = true;
      if (!this.tePtMismatchLogged) {
        this.tePtMismatchLogged = true;
        this.log.info({ payloadType: pt, negotiated: tePt }, 'telephone-event on an unexpected payload type, accepted');
      }
    }
    if (!isTe && !isAudio && pt !== PT_CN) {
      this.packetsIgnoredCount++;
      return;
    }
    this.packetsInCount++;
    const now = this.clock.now();
    if (this.latch.heard(rinfo.address, rinfo.port, now)) this.onLatched();
    if (isTe) this.rx.receive(p, p.payload);
    else if (isAudio) this.onAudio(p, pt as G711PayloadType, now);
    else this.onQuiet(now); // CN: the caller is silent
  }

  private onLatched(): void {
    const t = this.latch.target!;
    const p = this.latch.previous;
    const fields = { from: p ? `${p.address}:${p.port}` : 'none', to: `${t.address}:${t.port}`, localPort: this.localPort };
    if (this.latch.count === 1) this.log.info(fields, 'rtp latched to the source of the caller\'s RTP');
    else this.log.warn(fields, 'rtp source changed, latched again');
    this.emit('latch', { address: t.address, port: t.port });
  }

  private onAudio(p: RtpPacket, pt: G711PayloadType, now: number): void {
    const pcm = decodeG711(p.payload, pt);
    if (pcm.length === 0) return;
    this.lastAudioAt = now;
    for (const rec of this.recordings) rec.write(p.ssrc >>> 0, p.timestamp >>> 0, pcm);
    if (this.listenerCount('audio') > 0) this.emitAudio(p.ssrc >>> 0, p.timestamp >>> 0, pcm);
    this.vad.frame(pcm);
    if (this.opts.inbandDtmf) this.dtmf.audio(pcm, now);
  }

  /** Passes a packet's samples on in stream order (see the `audio` event). */
  private emitAudio(ssrc: number, ts: number, pcm: Int16Array): void {
    if (this.audioSsrc === ssrc) {
      const gap = (ts - this.audioNextTs) | 0;
      if (gap < 0 && gap >= -2 * AUDIO_GAP_FILL_MAX_SAMPLES) return; // late or repeated: its place was passed on
      if (gap > 0 && gap <= AUDIO_GAP_FILL_MAX_SAMPLES) this.emit('audio', new Int16Array(gap));
    }
    this.audioSsrc = ssrc;
    this.audioNextTs = (ts + pcm.length) >>> 0;
    this.emit('audio', pcm);
  }

  private onQuiet(now: number): void {
    this.lastAudioAt = now;
    this.vad.quiet(SAMPLES_PER_PACKET);
  }

  private dualTransport(): void {
    if (this.dualTransportLogged) return;
    this.dualTransportLogged = true;
    this.log.warn('the caller sends each digit both as SIP INFO and as RFC 4733; counting each press once');
  }

  private onSocketError(err: Error): void {
    this.sendErrors++;
    const fields = { err: err.message, localPort: this.localPort };
    if (this.sendErrors === 1) this.log.warn(fields, 'rtp socket error');
    else this.log.debug(fields, 'rtp socket error');
  }

  private argError(msg: string): MediaError {
    return new MediaError(MediaErrorCodes.ARGUMENT, msg);
  }
}
