/**
 * DTMF control and fault injection for scripted callers (issue 22): how a `dtmf` step's keys are signalled, and the
 * faults that can be put on them. Pure: what to send, never how. Both callers use these plans, so a fault is the same
 * packets, audio or requests in-process (`sim-dtmf.ts`, fed to the server's own RFC 4733 receiver, DTMF merger and
 * Goertzel detector on the virtual clock) and over the network (`net/net-caller.ts`, on real RTP and SIP).
 *
 * What each fault sends and what the IVR does with it (and why) is the table in `docs/simulator.md`, "DTMF faults".
 * - RFC 4733 (`via: rfc4733`), per key: `lose-end` (no end packet), `single-end` (one end packet instead of three),
 *   `end-only` (the three end packets without the updates before them), `duplicate-event` (the whole event sent
 *   again with the same timestamp, marker and new sequence numbers, right after its end), `duplicate-packets` (every
 *   packet twice, same sequence number: a duplicating network), `split-marker` (the press stalls 200 ms half-way and
 *   resumes with the marker bit set again, same timestamp, durations continuing), `reorder` (the end packet overtakes
 *   the last update, and on keys of 80 ms or more the second update overtakes the marked first one).
 * - In-band (`via: inband`), per key: `twist` (high-group tone 6 dB below the low group unless `twistDb` says
 *   otherwise), `low-level` (both tones at -28 dBm0 unless `volumeDb` says otherwise), `talk-off` (instead of the
 *   tone, speech-like sound with its strongest components near the key's two frequencies).
 * - SIP INFO (`via: info`): `duplicate` (each key's INFO sent again as a second request, a new CSeq, 40 ms after the
 *   first), `out-of-order` (keys in pairs: the second key's INFO, with the higher CSeq, arrives first; the first key's
 *   comes 40 ms later with the lower CSeq).
 * Several faults of one transport may be listed; each key's packets are then changed in the order of
 * {@link RFC4733_FAULTS}, whatever the list's order.
 */
import { DtmfEventSender, type ScheduledDtmfPacket } from '../media/rfc4733';
import type { DtmfVia } from './caller-side';

/** RFC 4733 faults, in the order they are applied to a key's packets. */
export const RFC4733_FAULTS = ['lose-end', 'single-end', 'end-only', 'split-marker', 'reorder', 'duplicate-packets', 'duplicate-event'] as const;
/** In-band faults. */
export const INBAND_FAULTS = ['twist', 'low-level', 'talk-off'] as const;
/** SIP INFO faults. */
export const INFO_FAULTS = ['duplicate', 'out-of-order'] as const;
/** Every fault name a `dtmf` step may give. */
export const DTMF_FAULTS = [...RFC4733_FAULTS, ...INBAND_FAULTS, ...INFO_FAULTS] as const;
export type DtmfFault = (typeof DTMF_FAULTS)[number];

/** How long each key is held unless `durationMs` says otherwise, ms (RFC 4733 events and the Duration of an INFO). */
export const DEFAULT_DTMF_KEY_MS = 80;
/** A `talk-off` key's length unless `durationMs` says otherwise, ms. */
export const DEFAULT_TALK_OFF_MS = 1000;
/** The level of each tone (in-band) or the volume field (RFC 4733, as -dBm0) unless `volumeDb` says otherwise, dBm0. */
export const DEFAULT_DTMF_LEVEL_DB = -10;
/** The `twist` fault's high-group minus low-group level unless `twistDb` says otherwise, dB (line loss: high group weaker). */
export const TWIST_FAULT_DB = -6;
/** The `low-level` fault's level of each tone unless `volumeDb` says otherwise, dBm0 (a long, lossy line). */
export const LOW_LEVEL_FAULT_DBM0 = -28;
/** How long a `split-marker` press stalls half-way, ms: longer than the server's 150 ms lost-end timeout. */
export const SPLIT_STALL_MS = 200;
/** How long after a key's INFO its `duplicate` (or an `out-of-order` pair's late request) follows, ms. */
export const INFO_FAULT_DELAY_MS = 40;
/** Silence an in-band key needs after its tone before the next (the detector's 40 ms gap, with margin), ms. */
export const INBAND_PAUSE_MS = 60;
/** The default gap between keys, ms, and the margin it keeps beyond a key's own length. */
const DEFAULT_GAP_MS = 150;
const GAP_MARGIN_MS = 30;
/** One RFC 4733 send interval (RFC 4733 §2.5.1.2: Asterisk's 20 ms), ms. */
const INTERVAL_MS = 20;

/** How a `dtmf` step signals its keys beyond the plain default (any of its options given, or `via: inband`). */
export interface DtmfSignal {
  /** How long each key is held, ms (the tone, the RFC 4733 event, or an INFO's Duration). */
  durationMs: number;
  /** Level of each tone (in-band), or the RFC 4733 volume field as -dBm0, dBm0 (0 .. -63). */
  volumeDb: number;
  /** In-band: the high-group tone's level minus the low group's, dB. */
  twistDb: number;
  /** The faults put on every key (out-of-order: on pairs of keys), as the file listed them. */
  faults: DtmfFault[];
}

/** The transport a fault belongs to. */
export function faultTransport(fault: DtmfFault): DtmfVia {
  if ((RFC4733_FAULTS as readonly string[]).includes(fault)) return 'rfc4733';
  if ((INBAND_FAULTS as readonly string[]).includes(fault)) return 'inband';
  return 'info';
}

/** Faults that cannot be combined on one key, and why. */
const CONFLICTS: [DtmfFault, DtmfFault, string][] = [
  ['lose-end', 'single-end', 'both change the end packets'],
  ['lose-end', 'end-only', 'both change the end packets'],
  ['single-end', 'end-only', 'both change the end packets'],
  ['end-only', 'split-marker', 'end-only sends no updates to split'],
  ['end-only', 'reorder', 'end-only sends no updates to re-order'],
  ['talk-off', 'twist', 'talk-off sends no tone'],
  ['talk-off', 'low-level', 'talk-off sends no tone'],
  ['duplicate', 'out-of-order', 'pick one INFO fault'],
];

/**
 * Checks a step's DTMF settings as the scenario parser needs them.
 * @returns null when they are usable, else `[key, message]`: the option at fault (`fault`, `durationMs`, `gapMs`,
 *   `volumeDb`, `twistDb`, `digits`) and what is wrong with it
 */
export function dtmfProblem(digits: string, via: DtmfVia, signal: DtmfSignal | undefined, gapMs: number): [string, string] | null {
  if (!signal) return null;
  const faults = signal.faults;
  if (new Set(faults).size !== faults.length) return ['fault', 'lists a fault twice'];
  for (const f of faults) {
    const t = faultTransport(f);
    if (t !== via) return ['fault', `"${f}" is ${t === 'rfc4733' ? 'an RFC 4733' : t === 'info' ? 'a SIP INFO' : 'an in-band'} fault: it needs via: ${t} (this step sends via ${via})`];
  }
  for (const [a, b, why] of CONFLICTS) if (faults.includes(a) && faults.includes(b)) return ['fault', `"${a}" and "${b}" cannot be combined: ${why}`];
  if (faults.includes('split-marker') && signal.durationMs < 60) return ['durationMs', 'split-marker needs keys of at least 60 ms (two updates to split between)'];
  if (faults.includes('out-of-order') && digits.length < 2) return ['digits', 'out-of-order needs at least two keys (they are sent in pairs)'];
  const span = keySpanMs(via, signal);
  if (gapMs < span) return ['gapMs', `must be at least ${span} ms: each key (${describeSpan(via, signal)}) must be over before the next starts`];
  return null;
}

function describeSpan(via: DtmfVia, s: DtmfSignal): string {
  if (via === 'info') return `its INFO${s.faults.length ? ' and the fault\'s second request' : ''}`;
  if (via === 'inband') return `${s.durationMs} ms of ${s.faults.includes('talk-off') ? 'sound' : 'tone'} and a ${INBAND_PAUSE_MS} ms pause`;
  return `${s.durationMs} ms, its end packets${s.faults.includes('split-marker') ? `, the ${SPLIT_STALL_MS} ms stall` : ''}${s.faults.includes('duplicate-event') ? ' and its copy' : ''}`;
}

/**
 * How long one key occupies the line, from its start until the next key may start, ms.
 * @param via the transport; @param signal the step's signal, or undefined for a plain key
 */
export function keySpanMs(via: DtmfVia, signal: DtmfSignal | undefined): number {
  if (!signal) return 0;
  if (via === 'info') return signal.faults.length > 0 ? INFO_FAULT_DELAY_MS + 10 : 0;
  if (via === 'inband') return signal.durationMs + INBAND_PAUSE_MS;
  const packets = rfc4733KeyPackets('1', signal);
  return (packets[packets.length - 1].slot + 1) * INTERVAL_MS;
}

/** The gap between key starts a step with this signal uses when it gives none, ms. */
export function defaultGapMs(via: DtmfVia, signal: DtmfSignal | undefined): number {
  return Math.max(DEFAULT_GAP_MS, keySpanMs(via, signal) + GAP_MARGIN_MS);
}

/**
 * The defaults a step's faults imply for the options it did not give: a `talk-off` key lasts
 * {@link DEFAULT_TALK_OFF_MS}, `twist` sets {@link TWIST_FAULT_DB}, `low-level` {@link LOW_LEVEL_FAULT_DBM0}.
 */
export function signalDefaults(faults: readonly DtmfFault[]): { durationMs: number; volumeDb: number; twistDb: number } {
  return {
    durationMs: faults.includes('talk-off') ? DEFAULT_TALK_OFF_MS : DEFAULT_DTMF_KEY_MS,
    volumeDb: faults.includes('low-level') ? LOW_LEVEL_FAULT_DBM0 : DEFAULT_DTMF_LEVEL_DB,
    twistDb: faults.includes('twist') ? TWIST_FAULT_DB : 0,
  };
}

/** A packet while faults are applied: its payload's E bit kept beside it. */
interface Pkt extends ScheduledDtmfPacket {
  end: boolean;
}

/**
 * The RFC 4733 packets of one key with the signal's faults applied (see the module comment), in send order.
 * Timestamps are the sender's (every packet carries the key's start); `slot` is the 20 ms interval it leaves in.
 * @param digit `0-9 * # A-D`
 * @param signal duration (40..8000 ms), volume (-dBm0 into the volume field), faults
 * @throws MediaError `VA_ERR_MEDIA_ARGUMENT` for a digit or duration the sender refuses
 */
export function rfc4733KeyPackets(digit: string, signal: Pick<DtmfSignal, 'durationMs' | 'volumeDb' | 'faults'>): ScheduledDtmfPacket[] {
  const volume = Math.min(63, Math.max(0, Math.round(-signal.volumeDb)));
  const plan = new DtmfEventSender({ volume }).plan(digit, signal.durationMs);
  let pkts: Pkt[] = plan.map((p, i) => ({ slot: i, seq: i, marker: p.marker, payload: p.payload, end: p.end }));
  const has = (f: DtmfFault) => signal.faults.includes(f);
  const updates = () => pkts.filter((p) => !p.end).length;
  if (has('lose-end')) pkts = pkts.filter((p) => !p.end);
  if (has('single-end')) pkts = pkts.filter((p, i) => !p.end || pkts.findIndex((q) => q.end) === i);
  if (has('end-only')) {
    // The sender reports only the press's end: the end packets leave when they would have, numbered from the first.
    pkts = pkts.filter((p) => p.end).map((p, i) => ({ ...p, seq: i, marker: i === 0 }));
  }
  if (has('split-marker')) {
    const half = Math.ceil(updates() / 2);
    const stall = SPLIT_STALL_MS / INTERVAL_MS;
    pkts = pkts.map((p, i) => (i < half ? p : { ...p, slot: p.slot + stall, marker: i === half }));
  }
  if (has('reorder')) {
    // A re-ordered packet arrives just after the one that overtook it: both leave in the later one's interval.
    const swap = (a: number, b: number) => {
      const [pa, pb] = [pkts[a], pkts[b]];
      pkts[a] = { ...pb };
      pkts[b] = { ...pa, slot: pb.slot };
    };
    const u = updates();
    if (u >= 1 && u < pkts.length) swap(u - 1, u); // the first end overtakes the last update
    if (u >= 3) swap(0, 1); // the second update overtakes the marked first
  }
  if (has('duplicate-packets')) pkts = pkts.flatMap((p) => [p, { ...p }]);
  if (has('duplicate-event')) {
    const slots = pkts[pkts.length - 1].slot + 1;
    const seqs = Math.max(...pkts.map((p) => p.seq)) + 1;
    pkts = [...pkts, ...pkts.map((p) => ({ ...p, slot: p.slot + slots, seq: p.seq + seqs }))];
  }
  return pkts.map(({ slot, seq, marker, payload }) => ({ slot, seq, marker, payload }));
}

/** One SIP INFO of a step, in the order it is sent. */
export interface InfoSend {
  digit: string;
  /** Which key of the step it carries (0 = the first). */
  key: number;
  /** Its CSeq, relative to the step's first request (0): out-of-order sends a higher one first. */
  cseq: number;
  /** When it is sent, ms from the step's start. */
  atMs: number;
}

/**
 * The SIP INFO requests of a step, in the order they are sent (see the module comment for the faults).
 * @param digits the step's keys; @param gapMs between key starts, ms; @param faults the step's INFO faults
 */
export function infoSends(digits: string, gapMs: number, faults: readonly DtmfFault[]): InfoSend[] {
  const out: InfoSend[] = [];
  let cseq = 0;
  for (let i = 0; i < digits.length; i++) {
    const at = i * gapMs;
    if (faults.includes('out-of-order') && i + 1 < digits.length) {
      // This key's INFO is held back behind the next key's: the next one (higher CSeq) arrives first.
      out.push({ digit: digits[i + 1], key: i + 1, cseq: cseq + 1, atMs: at + gapMs }, { digit: digits[i], key: i, cseq, atMs: at + gapMs + INFO_FAULT_DELAY_MS });
      cseq += 2;
      i++;
      continue;
    }
    out.push({ digit: digits[i], key: i, cseq: cseq++, atMs: at });
    if (faults.includes('duplicate')) out.push({ digit: digits[i], key: i, cseq: cseq++, atMs: at + INFO_FAULT_DELAY_MS });
  }
  return out;
}

/** A step's signal in words, for labels and transcripts: `80 ms, -10 dBm0, fault lose-end` (never the keys). */
export function signalDetails(via: DtmfVia, signal: DtmfSignal): string {
  const parts = [`${signal.durationMs} ms`];
  if (via !== 'info') parts.push(`${signal.volumeDb} dBm0`);
  if (signal.twistDb !== 0) parts.push(`twist ${signal.twistDb > 0 ? '+' : ''}${signal.twistDb} dB`);
  if (signal.faults.length > 0) parts.push(`fault ${signal.faults.join(' + ')}`);
  return parts.join(', ');
}

/** How a step's keys travel, for transcripts: `` (plain RFC 4733), ` by SIP INFO`, ` as in-band tones (80 ms, ...)`. */
export function describeSignal(via: DtmfVia, signal: DtmfSignal | undefined): string {
  const how = via === 'info' ? ' by SIP INFO' : via === 'inband' ? ' as in-band tones' : signal ? ' as RFC 4733 events' : '';
  return signal ? `${how} (${signalDetails(via, signal)})` : how;
}
