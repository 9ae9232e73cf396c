/**
 * The keys a {@link NetCaller} presses, by their transport: RFC 4733 telephone-events on its RTP stream (plain, or
 * the packets of a step's signal and faults), SIP INFO `application/dtmf-relay` (with faults: at their times and
 * CSeq numbers), or DTMF tones in its audio (`../dtmf-audio.ts`). The same packets, tones and requests the
 * in-process caller feeds to the server's decoding (`../dtmf-faults.ts`).
 */
import { G711_SAMPLE_RATE } from '../../media/g711';
import type { Playback, RtpSession } from '../../media/rtp-session';
import type { OutgoingCall } from '../../sip/embedded/sip-client';
import type { DtmfVia } from '../caller-side';
import { inbandStepAudio } from '../dtmf-audio';
import { DEFAULT_DTMF_KEY_MS, DEFAULT_DTMF_LEVEL_DB, infoSends, rfc4733KeyPackets, type DtmfSignal } from '../dtmf-faults';

/** How long each plain key is held (RFC 4733 and the Duration of an INFO), ms. */
export const NET_DTMF_KEY_MS = DEFAULT_DTMF_KEY_MS;

/** What the senders use of the call. */
export interface KeyHost {
  call: Pick<OutgoingCall, 'info' | 'reserveCseq'>;
  session: Pick<RtpSession, 'sendDtmf' | 'sendDtmfPackets' | 'play'>;
  ended(): boolean;
  sleepWhileUp(ms: number): Promise<void>;
  log(who: 'ivr' | 'sim', text: string): void;
  /** A key's signal starts (performance.now()): the time from the last key to the next prompt counts from there. */
  keyStarted(perf: number): void;
}

/** The body of a DTMF INFO (`application/dtmf-relay`, as Asterisk sends it). */
function infoBody(digit: string, durationMs: number): string {
  return `Signal=${digit}\r\nDuration=${durationMs}\r\n`;
}

/**
 * Sends `digits` (checked keys) `gapMs` apart by `via`, on an answered call.
 * @returns how many were sent before the call ended (or a key could not be sent)
 */
export async function sendNetKeys(host: KeyHost, digits: string, gapMs: number, via: DtmfVia, signal?: DtmfSignal): Promise<number> {
  if (!signal && via === 'inband') signal = { durationMs: DEFAULT_DTMF_KEY_MS, volumeDb: DEFAULT_DTMF_LEVEL_DB, twistDb: 0, faults: [] };
  if (via === 'inband') return playKeys(host, digits, gapMs, signal!);
  if (via === 'info' && signal && signal.faults.length > 0) return infoKeys(host, digits, gapMs, signal);
  const t0 = Date.now();
  let sent = 0;
  for (let i = 0; i < digits.length; i++) {
    if (i > 0) {
      const due = t0 + i * gapMs - Date.now();
      if (due > 0) await host.sleepWhileUp(due);
    }
    if (host.ended()) break;
    host.keyStarted(performance.now());
    if (via === 'info') {
      const status = await host.call.info('application/dtmf-relay', infoBody(digits[i], signal?.durationMs ?? NET_DTMF_KEY_MS));
      if (status !== 200) {
        if (!host.ended()) host.log('sim', `the INFO for a key got ${status === null ? 'no answer' : status}`);
        break;
      }
    } else {
      try {
        if (signal) await host.session.sendDtmfPackets(rfc4733KeyPackets(digits[i], signal));
        else await host.session.sendDtmf(digits[i], NET_DTMF_KEY_MS);
      } catch (err) {
        host.log('sim', `cannot send the key as RFC 4733: ${(err as Error).message}`);
        break;
      }
      if (host.ended()) break;
    }
    sent++;
  }
  return sent;
}

/** In-band keys: the step's tones (or talk-off sound) played on our RTP stream; how many keys' sound started. */
async function playKeys(host: KeyHost, digits: string, gapMs: number, signal: DtmfSignal): Promise<number> {
  if (host.ended()) return 0;
  const pcm = inbandStepAudio(digits, gapMs, signal);
  const ms = (pcm.length * 1000) / G711_SAMPLE_RATE;
  host.keyStarted(performance.now() + (digits.length - 1) * gapMs);
  const playback: Playback = host.session.play(pcm);
  await Promise.race([playback.done, host.sleepWhileUp(ms + 200)]);
  playback.stop();
  return host.ended() ? Math.min(digits.length, Math.ceil(playback.playedMs / Math.max(1, gapMs))) : digits.length;
}

/**
 * SIP INFO keys with faults (`infoSends`): the requests one after the other at their times, with CSeq numbers
 * taken in advance so that an out-of-order request carries a lower CSeq than the one before it. A 500 to such a
 * request is the server doing its duty (RFC 3261 §12.2.2), not a failure of the step.
 */
async function infoKeys(host: KeyHost, digits: string, gapMs: number, signal: DtmfSignal): Promise<number> {
  const sends = infoSends(digits, gapMs, signal.faults);
  const base = host.call.reserveCseq(Math.max(...sends.map((x) => x.cseq)) + 1);
  const t0 = Date.now();
  const keys = new Set<number>();
  for (const send of sends) {
    const due = t0 + send.atMs - Date.now();
    if (due > 0) await host.sleepWhileUp(due);
    if (host.ended()) break;
    host.keyStarted(performance.now());
    const status = await host.call.info('application/dtmf-relay', infoBody(send.digit, signal.durationMs), { cseq: base + send.cseq });
    if (status === 500 && signal.faults.includes('out-of-order')) host.log('ivr', 'answers an INFO 500: its CSeq is lower than the last one (out of order, RFC 3261 §12.2.2)');
    else if (status !== 200) {
      if (!host.ended()) host.log('sim', `the INFO for a key got ${status === null ? 'no answer' : status}`);
      break;
    }
    keys.add(send.key);
  }
  return keys.size;
}
