/**
 * The RFC 4733 send side of an {@link RtpSession}: key presses queued as scheduled telephone-event packets
 * ({@link ScheduledDtmfPacket}) and sent from the session's 20 ms tick, one key after the other. Every packet of a
 * key carries the media clock's timestamp of the key's first interval (RFC 4733 §2.2.1) and the sequence number of
 * the key's first packet plus its `seq` (RFC 3550 §5.1), so a key whose packets are moved in time or sent out of
 * order still numbers them as its sender did. The session's sequence number continues after the key's highest.
 * Pure bookkeeping: the session does the sending.
 */
import { MediaError, MediaErrorCodes } from './errors';
import type { ScheduledDtmfPacket } from './rfc4733';

interface QueuedKey {
  packets: readonly ScheduledDtmfPacket[];
  /** The interval the next tick sends (0 = the key's first). */
  slot: number;
  /** Index of the next packet to send. */
  next: number;
  /** The key's RTP timestamp and first sequence number, set on its first tick. */
  timestamp: number;
  seqBase: number;
  /** How many sequence numbers the key uses (its highest `seq` + 1). */
  seqCount: number;
  resolve: () => void;
}

/** What one tick of {@link DtmfSendQueue.tick} did. */
export interface DtmfTickResult {
  /** True when a key was in progress (the session sends no audio in this interval). */
  busy: boolean;
  /** True when at least one packet was sent. */
  sent: boolean;
  /** The session's next sequence number. */
  seq: number;
}

/** Queued key presses of one session; see the module comment. */
export class DtmfSendQueue {
  private readonly keys: QueuedKey[] = [];

  /** True while a key is queued or being sent. */
  get pending(): boolean {
    return this.keys.length > 0;
  }

  /**
   * Queues one key press after those already queued.
   * @param packets its packets, in the order of their `slot` (non-negative integers; equal slots leave back to back)
   * @returns resolves when its last packet was sent (or the queue was cleared)
   * @throws MediaError `VA_ERR_MEDIA_ARGUMENT` for no packets, a slot or seq that is not a non-negative integer, slots
   *   out of order, or a payload that is not 4 bytes (RFC 4733 §2.3)
   */
  enqueue(packets: readonly ScheduledDtmfPacket[]): Promise<void> {
    if (packets.length === 0) throw new MediaError(MediaErrorCodes.ARGUMENT, 'a key press needs at least one telephone-event packet');
    let seqCount = 0;
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i];
      const ok = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xffff;
      if (!ok(p.slot) || !ok(p.seq) || (i > 0 && p.slot < packets[i - 1].slot) || p.payload.length !== 4) {
        throw new MediaError(MediaErrorCodes.ARGUMENT, `telephone-event packet ${i} out of order or malformed (slot ${p.slot}, seq ${p.seq})`);
      }
      seqCount = Math.max(seqCount, p.seq + 1);
    }
    return new Promise<void>((resolve) => this.keys.push({ packets, slot: 0, next: 0, timestamp: 0, seqBase: 0, seqCount, resolve }));
  }

  /**
   * One 20 ms interval of the session's tick: sends the current key's packets due in it.
   * @param timestamp the session's media clock now (used as the key's timestamp on its first interval)
   * @param seq the session's next sequence number
   * @param send sends one packet (marker, the key's timestamp, payload, sequence number); true when it left
   */
  tick(timestamp: number, seq: number, send: (marker: boolean, timestamp: number, payload: Uint8Array, seq: number) => boolean): DtmfTickResult {
    const key = this.keys[0];
    if (!key) return { busy: false, sent: false, seq };
    if (key.slot === 0 && key.next === 0) {
      key.timestamp = timestamp;
      key.seqBase = seq;
    }
    let sent = false;
    while (key.next < key.packets.length && key.packets[key.next].slot === key.slot) {
      const p = key.packets[key.next++];
      if (send(p.marker, key.timestamp, p.payload, (key.seqBase + p.seq) & 0xffff)) sent = true;
    }
    key.slot++;
    if (key.next < key.packets.length) return { busy: true, sent, seq };
    this.keys.shift();
    key.resolve();
    return { busy: true, sent, seq: (key.seqBase + key.seqCount) & 0xffff };
  }

  /** Drops every queued key, resolving their promises (the session closed). */
  clear(): void {
    for (const k of this.keys.splice(0)) k.resolve();
  }
}
