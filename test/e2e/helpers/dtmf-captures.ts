/**
 * sip-tester's RFC 4733 digit captures (`/usr/share/sip-tester/dtmf_2833_<key>.pcap`) as a phone would send them in
 * one call, for receivers that follow RFC 3550's sequence rules (FreeSWITCH).
 *
 * The captures come from one recorded call: each holds one key's event packets with the sequence numbers and RTP
 * timestamp they had there (key 4: 8121-8128 at 37120, key 6: 8186-8193 at 48800, ...). A scenario that replays
 * them key by key (`play_pcap_audio`) therefore sends sequence numbers that jump backwards (6 then 4 goes back 65),
 * and a key played twice repeats the same sequence numbers and timestamp. Our RTP engine accepts both on purpose
 * (DESIGN.md, "Media"); FreeSWITCH drops an event packet less than 100 behind the last one as misordered and a repeat
 * of an event's timestamp as the same event, as RFC 3550 (Appendix A.1) and RFC 4733 (§2.5.1.3) let a receiver do,
 * so those keys never reach the IVR.
 *
 * {@link sequencedCaptureScenario} writes a copy of a scenario whose every `play_pcap_audio` of a digit capture points
 * to a copy of that capture renumbered for its place in the call: the same packets, payloads and timing, with
 * sequence numbers and RTP timestamps that only go forward from one key press to the next (a new timestamp per
 * press). Nothing else in the scenario changes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const CAPTURE = /play_pcap_audio="(\/usr\/share\/sip-tester\/dtmf_2833_[0-9a-z]+\.pcap)"/g;

/** Sequence numbers set aside per key press (a capture holds 10 packets). */
const SEQ_STEP = 50;
/** RTP timestamp step per key press (2 s at 8 kHz: longer than any event). */
const TS_STEP = 16_000;

/**
 * A copy of one capture with its RTP sequence numbers moved to start at `seqBase` (keeping their spacing) and every
 * RTP timestamp set to `ts`; the UDP checksum is cleared (0: none, valid for IPv4), as the RTP header changed.
 * @throws Error for a file that is not a little-endian Ethernet/IPv4/UDP pcap
 */
export function renumberCapture(pcap: Buffer, seqBase: number, ts: number): Buffer {
  const out = Buffer.from(pcap);
  if (out.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error('not a little-endian pcap (magic a1b2c3d4)');
  if (out.readUInt32LE(20) !== 1) throw new Error('not an Ethernet capture (link type 1)');
  let first: number | null = null;
  for (let off = 24; off + 16 <= out.length; ) {
    const incl = out.readUInt32LE(off + 8);
    const pkt = off + 16;
    off = pkt + incl;
    if (out.readUInt16BE(pkt + 12) !== 0x0800) continue; // not IPv4
    const ip = pkt + 14;
    if (out[ip + 9] !== 17) continue; // not UDP
    const udp = ip + (out[ip] & 0x0f) * 4;
    const rtp = udp + 8;
    if (rtp + 12 > off || out[rtp] >> 6 !== 2) continue; // not RTP version 2
    const seq = out.readUInt16BE(rtp + 2);
    first ??= seq;
    out.writeUInt16BE((seqBase + ((seq - first + 0x10000) & 0xffff)) & 0xffff, rtp + 2);
    out.writeUInt32BE(ts >>> 0, rtp + 4);
    out.writeUInt16BE(0, udp + 6);
  }
  if (first === null) throw new Error('no RTP packet in the capture');
  return out;
}

/**
 * Writes into `dir` a copy of `scenarioFile` whose digit captures are renumbered in the order they are played (see
 * the module comment), and the renumbered captures next to it.
 * @returns the path of the new scenario
 */
export function sequencedCaptureScenario(scenarioFile: string, dir: string): string {
  const xml = readFileSync(scenarioFile, 'utf8');
  let press = 0;
  const out = xml.replace(CAPTURE, (_all, capture: string) => {
    const file = path.join(dir, `press-${String(press).padStart(2, '0')}-${path.basename(capture)}`);
    writeFileSync(file, renumberCapture(readFileSync(capture), 1000 + press * SEQ_STEP, 8000 + press * TS_STEP));
    press++;
    return `play_pcap_audio="${file}"`;
  });
  const scenario = path.join(dir, path.basename(scenarioFile));
  writeFileSync(scenario, out);
  return scenario;
}
