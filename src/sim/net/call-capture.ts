/**
 * Captures of network calls for `simulate --target ... --pcap DIR` (issue 22): each call records, in memory, the SIP
 * messages and RTP packets it sends and receives, with their times and real addresses and ports; when the call
 * fails its capture is written as `DIR/<scenario>-<call>.pcap` (`pcap-writer.ts`), otherwise dropped.
 *
 * Bounds (a load of 1,000 calls at once must stay bounded):
 * - SIP: every message of the call (routed to it by its Call-ID from the SIP client's wire tap), up to
 *   {@link PCAP_SIP_MESSAGES_MAX} (a safety bound no real call reaches; later ones are counted, not kept).
 * - RTP: the last `rtpPackets` packets of the call, both directions together (default {@link PCAP_RTP_PACKETS}:
 *   10 s of both directions at 20 ms), in a ring of fixed slots of {@link PCAP_RTP_SNAP_BYTES} bytes (a longer
 *   packet is cut there, as a capture with a snap length would); memory grows with the packets up to the ring's size.
 *   A load sizes the ring from its concurrency ({@link pcapRtpPacketsFor}) so that every call's ring together stays
 *   under {@link PCAP_RTP_BUDGET_BYTES}.
 * - Files: at most `maxFiles` a run (default {@link PCAP_MAX_FILES}); later failed calls are counted, not written.
 *
 * SIP over TCP is written as UDP datagrams (one per message, with the connection's real addresses and ports):
 * Wireshark decodes SIP in them as over UDP, without synthesized TCP segments (sequence numbers, handshakes).
 */
import * as path from 'node:path';
import type { RtpSession } from '../../media/rtp-session';
import type { SipClient } from '../../sip/embedded/sip-client';
import { wireNow, type SipWireMessage, type WireEndpoint } from '../../sip/embedded/sip-wire-tap';
import { writePcap, type PcapPacket } from './pcap-writer';

/** SIP messages kept per call, at most. */
export const PCAP_SIP_MESSAGES_MAX = 1_000;
/** RTP packets kept per call by default (the last ones, both directions): 10 s of 20 ms packets each way. */
export const PCAP_RTP_PACKETS = 1_000;
/** The fewest RTP packets a load keeps per call, however high its concurrency (1 s each way). */
export const PCAP_RTP_PACKETS_MIN = 100;
/** Bytes of an RTP packet kept (a G.711 packet of 20 or 30 ms is 172 or 252 bytes: whole). */
export const PCAP_RTP_SNAP_BYTES = 256;
/** Bytes a kept RTP packet costs: its slot and its time, length and flow. */
export const PCAP_RTP_SLOT_COST = PCAP_RTP_SNAP_BYTES + 12;
/** What the RTP rings of a load's calls in progress may hold together, bytes (128 MiB). */
export const PCAP_RTP_BUDGET_BYTES = 128 * 1024 * 1024;
/** pcap files written per run, at most. */
export const PCAP_MAX_FILES = 1_000;
/** File names listed by {@link PcapRecorder.files}, at most (the count goes on). */
export const PCAP_LISTED_FILES = 100;
/** How long after a failed call ended its capture goes on (the answer to our BYE), ms. */
export const PCAP_GRACE_MS = 500;

/**
 * RTP packets kept per call for a load of `concurrency` calls at once: {@link PCAP_RTP_PACKETS}, fewer when the
 * rings together would pass {@link PCAP_RTP_BUDGET_BYTES}, never fewer than {@link PCAP_RTP_PACKETS_MIN}.
 */
export function pcapRtpPacketsFor(concurrency: number): number {
  const fit = Math.floor(PCAP_RTP_BUDGET_BYTES / (Math.max(1, concurrency) * PCAP_RTP_SLOT_COST));
  return Math.max(PCAP_RTP_PACKETS_MIN, Math.min(PCAP_RTP_PACKETS, fit));
}

/**
 * A name safe as a file name on any system: letters, digits, `.`, `_` and `-` kept, anything else `_`, at most 100
 * characters, never empty or starting with a dot.
 */
export function safeFileName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 100);
  return s === '' ? 'call' : s;
}

/** The Call-ID of a SIP message's bytes (`Call-ID:` or its compact form `i:`), or null. */
export function sipCallIdOf(data: Uint8Array): string | null {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const end = buf.indexOf('\r\n\r\n', 0, 'latin1');
  const head = buf.toString('latin1', 0, end < 0 ? Math.min(buf.length, 8192) : end);
  const m = /(?:^|\r?\n)(?:call-id|i)[ \t]*:[ \t]*([^\r\n]*)/i.exec(head);
  return m ? m[1].trim() : null;
}

/** A local and a remote end of packets. */
interface Flow {
  local: WireEndpoint;
  remote: WireEndpoint;
}

/** Flows a capture tells apart (RTP from more sources is counted, not kept). */
const MAX_FLOWS = 255;

/**
 * One call's capture: its SIP messages and the last RTP packets, with times. Fed by the SIP client's wire tap
 * (through {@link PcapRecorder}) and its RTP session's packet tap ({@link CallCapture.tapRtp}).
 */
export class CallCapture {
  private readonly sipMessages: PcapPacket[] = [];
  /** SIP messages beyond {@link PCAP_SIP_MESSAGES_MAX}, and RTP packets not kept (overwritten, cut off, other flows). */
  sipDropped = 0;
  rtpDropped = 0;
  /** The SIP Call-IDs it follows. */
  readonly callIds = new Set<string>();
  // The RTP ring: fixed slots, `next` packets pushed so far; slot k % max holds packet k.
  private readonly max: number;
  private slots = 0;
  private next = 0;
  private data = new Uint8Array(0);
  private times = new Float64Array(0);
  private lengths = new Uint16Array(0);
  /** Per packet: flow index * 2 + 1 when received. */
  private marks = new Uint16Array(0);
  private readonly flows: Flow[] = [];

  /**
   * @param rtpPackets RTP packets kept (the last ones), at least 1
   * @param onFollow told each Call-ID given to {@link CallCapture.follow} (the recorder routes its SIP messages here)
   */
  constructor(
    rtpPackets = PCAP_RTP_PACKETS,
    private readonly onFollow?: (callId: string, capture: CallCapture) => void,
  ) {
    this.max = Math.max(1, Math.floor(rtpPackets));
  }

  /** Records the SIP messages of the call with this Call-ID (from the recorder's tap on the SIP client). */
  follow(callId: string): void {
    this.callIds.add(callId);
    this.onFollow?.(callId, this);
  }

  /** SIP messages kept. */
  get sipCount(): number {
    return this.sipMessages.length;
  }

  /** RTP packets kept. */
  get rtpCount(): number {
    return Math.min(this.next, this.max);
  }

  /** Adds a SIP message (kept whole; beyond {@link PCAP_SIP_MESSAGES_MAX} counted only). */
  sip(m: Pick<SipWireMessage, 'dir' | 'data' | 'local' | 'remote' | 'atMs'>): void {
    if (this.sipMessages.length >= PCAP_SIP_MESSAGES_MAX) {
      this.sipDropped++;
      return;
    }
    const sent = m.dir === 'sent';
    this.sipMessages.push({ atMs: m.atMs, src: sent ? m.local : m.remote, dst: sent ? m.remote : m.local, payload: m.data });
  }

  /** Records every packet `session` sends and receives from now on (its packet tap; one capture per session). */
  tapRtp(session: RtpSession): void {
    const local = { address: session.localAddress, port: session.localPort };
    session.packetTap = (dir, packet, remote) => {
      try {
        this.rtp(dir, packet, local, remote);
      } catch {
        this.rtpDropped++; // a capture never breaks the call's media
      }
    };
  }

  /**
   * Adds an RTP packet (its first {@link PCAP_RTP_SNAP_BYTES} bytes), overwriting the oldest once the ring is full.
   * @param atMs when, ms since the epoch (now by default)
   */
  rtp(dir: 'sent' | 'received', packet: Uint8Array, local: WireEndpoint, remote: WireEndpoint, atMs = wireNow()): void {
    const flow = this.flowOf(local, remote);
    if (flow < 0) {
      this.rtpDropped++;
      return;
    }
    if (this.next >= this.max) this.rtpDropped++;
    else if (this.next >= this.slots) this.grow();
    const i = this.next % this.max;
    const n = Math.min(packet.length, PCAP_RTP_SNAP_BYTES);
    this.data.set(n === packet.length ? packet : packet.subarray(0, n), i * PCAP_RTP_SNAP_BYTES);
    this.times[i] = atMs;
    this.lengths[i] = Math.min(packet.length, 0xffff);
    this.marks[i] = flow * 2 + (dir === 'received' ? 1 : 0);
    this.next++;
  }

  /** Every packet kept, SIP and RTP, in time order. */
  packets(): PcapPacket[] {
    const out: PcapPacket[] = [...this.sipMessages];
    for (let k = Math.max(0, this.next - this.max); k < this.next; k++) {
      const i = k % this.max;
      const f = this.flows[this.marks[i] >> 1];
      const received = (this.marks[i] & 1) === 1;
      const length = this.lengths[i];
      const kept = Math.min(length, PCAP_RTP_SNAP_BYTES);
      out.push({
        atMs: this.times[i],
        src: received ? f.remote : f.local,
        dst: received ? f.local : f.remote,
        payload: this.data.slice(i * PCAP_RTP_SNAP_BYTES, i * PCAP_RTP_SNAP_BYTES + kept),
        length,
      });
    }
    return out.sort((a, b) => a.atMs - b.atMs);
  }

  /** The index of the flow (local, remote), added when new; -1 when there are too many. */
  private flowOf(local: WireEndpoint, remote: WireEndpoint): number {
    const flows = this.flows;
    for (let i = flows.length - 1; i >= 0; i--) {
      const f = flows[i];
      if (f.remote.port === remote.port && f.remote.address === remote.address && f.local.port === local.port && f.local.address === local.address) return i;
    }
    if (flows.length >= MAX_FLOWS) return -1;
    flows.push({ local: { address: local.address, port: local.port }, remote: { address: remote.address, port: remote.port } });
    return flows.length - 1;
  }

  /** Doubles the ring's slots (from 64, up to the maximum): only before it is full, so nothing has wrapped. */
  private grow(): void {
    const slots = Math.min(this.max, Math.max(64, this.slots * 2));
    const data = new Uint8Array(slots * PCAP_RTP_SNAP_BYTES);
    data.set(this.data);
    const times = new Float64Array(slots);
    times.set(this.times);
    const lengths = new Uint16Array(slots);
    lengths.set(this.lengths);
    const marks = new Uint16Array(slots);
    marks.set(this.marks);
    this.data = data;
    this.times = times;
    this.lengths = lengths;
    this.marks = marks;
    this.slots = slots;
  }
}

/** Options of a {@link PcapRecorder}. */
export interface PcapRecorderOptions {
  /** RTP packets kept per call (default {@link PCAP_RTP_PACKETS}; a load: {@link pcapRtpPacketsFor}). */
  rtpPackets?: number;
  /** Files written at most (default {@link PCAP_MAX_FILES}). */
  maxFiles?: number;
  /** How long a failed call's capture goes on after it ended before it is written, ms (default {@link PCAP_GRACE_MS}). */
  graceMs?: number;
}

/**
 * The captures of a run: taps the SIP clients (routing each message to its call's capture by Call-ID), hands out a
 * capture per call, writes the failed calls' captures to `dir` and drops the others. File names are unique within
 * the recorder (`-2`, `-3` added to a name used before); a file of an earlier run with the same name is replaced.
 */
export class PcapRecorder {
  /** The folder the files go to (absolute). */
  readonly dir: string;
  /** Files written (absolute paths), the first {@link PCAP_LISTED_FILES}. */
  readonly files: string[] = [];
  /** How many files were written. */
  written = 0;
  /** Failed calls whose capture was not written (beyond `maxFiles`, or the write failed), and the first error. */
  notWritten = 0;
  firstError: string | null = null;
  private readonly byCallId = new Map<string, CallCapture>();
  private readonly names = new Set<string>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly rtpPackets: number;
  private readonly maxFiles: number;
  private readonly graceMs: number;

  /** @param dir where the files go (made when missing) */
  constructor(dir: string, opts: PcapRecorderOptions = {}) {
    this.dir = path.resolve(dir);
    this.rtpPackets = opts.rtpPackets ?? PCAP_RTP_PACKETS;
    this.maxFiles = opts.maxFiles ?? PCAP_MAX_FILES;
    this.graceMs = opts.graceMs ?? PCAP_GRACE_MS;
  }

  /** Captures open (calls placed and not yet saved or dropped). */
  get open(): number {
    return new Set(this.byCallId.values()).size;
  }

  /** Routes the SIP messages of `client` to the captures of their calls (its wire tap). */
  tapSip(client: SipClient): void {
    client.setWireTap((m) => {
      if (this.byCallId.size === 0) return;
      const id = sipCallIdOf(m.data);
      if (id !== null) this.byCallId.get(id)?.sip(m);
    });
  }

  /**
   * A capture for a new call: tell it the call's Call-ID ({@link CallCapture.follow}: its SIP messages are routed to it
   * until it is saved or dropped) and its RTP session ({@link CallCapture.tapRtp}).
   */
  capture(): CallCapture {
    return new CallCapture(this.rtpPackets, (id, c) => this.byCallId.set(id, c));
  }

  /** Forgets a capture (a call that passed): nothing is written. */
  drop(capture: CallCapture): void {
    for (const id of capture.callIds) if (this.byCallId.get(id) === capture) this.byCallId.delete(id);
  }

  /**
   * Writes a failed call's capture as `<dir>/<safe name>.pcap` after `graceMs` (what the call still sends or receives
   * meanwhile, the answer to its BYE, goes in), then forgets it. Never rejects.
   * @param name the file's name without `.pcap` (made safe by {@link safeFileName})
   * @param graceMs ms, default {@link PcapRecorderOptions.graceMs}
   * @returns the file's path, or null when it was not written (beyond `maxFiles`, or an error: counted)
   */
  save(capture: CallCapture, name: string, graceMs = this.graceMs): Promise<string | null> {
    if (this.written + this.pending.size >= this.maxFiles) {
      this.drop(capture);
      this.notWritten++;
      return Promise.resolve(null);
    }
    let base = safeFileName(name);
    for (let n = 2; this.names.has(base); n++) base = `${safeFileName(name)}-${n}`;
    this.names.add(base);
    const file = path.join(this.dir, `${base}.pcap`);
    const p = new Promise<void>((resolve) => setTimeout(resolve, graceMs))
      .then(async () => {
        this.drop(capture);
        await writePcap(file, capture.packets());
        this.written++;
        if (this.files.length < PCAP_LISTED_FILES) this.files.push(file);
        return file;
      })
      .catch((err: unknown) => {
        this.drop(capture);
        this.notWritten++;
        this.firstError ??= `${file}: ${(err as Error).message}`;
        return null;
      });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  /** Resolves once every capture being saved is written (or failed). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** `3 written to DIR` (and how many were not), for summaries. */
  describe(): string {
    const not = this.notWritten > 0 ? `; ${this.notWritten} not written${this.firstError ? ` (${this.firstError})` : ` (more than ${this.maxFiles})`}` : '';
    return `${this.written} written to ${this.dir}${not}`;
  }
}
