/**
 * `simulate --target ... --pcap DIR` (issue 22): against the real server (`startServer`, as `voice-access serve`
 * runs it) on 127.0.0.1 and free ports, a scenario whose call fails (it expects a prompt the IVR does not play) and
 * one that passes: only the failed call's pcap is written, named after the scenario and the call; over TCP too; a
 * small load writes one pcap per failed call and lists them in its JSON report; `--pcap` without `--target` is a
 * command-line error. Debian's `tshark` then reads each file: without error, the SIP of the call (INVITE, 200, ACK,
 * BYE, its Call-ID) and its RTP in both directions (found from the SDP in the capture, and with `-d udp.port==N,rtp`
 * on our RTP port). Without tshark, those reading tests are skipped, each saying so in its title.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { runSimulateCli } from '../../../src/cli/simulate';
import type { LoadReport } from '../../../src/sim/net/load/load-report';
import { captureIo, tempDir } from '../../helpers';
import { sharedSignInServer } from './net-helpers';

const TSHARK = process.env.TSHARK_BIN ?? 'tshark';
const tsharkMissing = spawnSync(TSHARK, ['-v'], { timeout: 10_000 }).error ? `tshark not found (install Debian's tshark: apt-get install -y tshark)` : null;
/** A test that reads pcaps with tshark: skipped, saying so, where tshark is missing. */
const itTshark = (title: string, fn: () => unknown, timeout?: number) =>
  tsharkMissing ? it.skip(`[skipped: ${tsharkMissing}] ${title}`, fn as () => void) : it(title, fn as () => void, timeout);

/** Runs tshark on a file; fails the test with its stderr when it exits non-zero. */
function tshark(file: string, ...args: string[]): string[] {
  const r = spawnSync(TSHARK, ['-r', file, ...args], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`tshark -r ${file} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

/** The calls' SIP in a pcap: one `method-or-status<TAB>Call-ID<TAB>cseq method` row per message. */
function sipRows(file: string, ...decode: string[]): string[][] {
  return tshark(file, ...decode, '-Y', 'sip', '-T', 'fields', '-E', 'separator=/t', '-e', 'sip.Method', '-e', 'sip.Status-Code', '-e', 'sip.Call-ID', '-e', 'sip.CSeq.method').map((l) =>
    l.split('\t'),
  );
}

/** The RTP packets in a pcap as `src port -> dst port` (with `decode` options such as `-d udp.port==N,rtp`). */
function rtpFlows(file: string, ...decode: string[]): string[] {
  return tshark(file, ...decode, '-Y', 'rtp', '-T', 'fields', '-E', 'separator=/t', '-e', 'udp.srcport', '-e', 'udp.dstport').map((l) => l.replace('\t', '->'));
}

/** Our RTP port: the `m=audio` port of the INVITE's SDP, read from the capture's bytes. */
function offeredRtpPort(file: string): number {
  const text = readFileSync(file).toString('latin1');
  const invite = text.indexOf('INVITE sip:');
  const m = /m=audio (\d+) /.exec(text.slice(invite));
  if (invite < 0 || !m) throw new Error(`no INVITE with an SDP offer in ${file}`);
  return Number(m[1]);
}

const shared = sharedSignInServer('va-pcap-');

const scenario = (name: string, body: string) => shared.scenario(name, body);

/** Talks (so RTP goes both ways), then expects the main menu: the IVR asks for the extension instead. */
const WRONG_PROMPT = `
calls:
  - id: hasty
    from: "+14255550123"
    to: "+14255550100"
    steps:
      - expectPrompt: welcome
      - speak: 1500ms
      - expectPrompt: { id: main-menu, within: 2s }
`;

/** Hears the welcome and hangs up. */
const PASSES = `
calls:
  - id: brief
    from: "+14255550123"
    to: "+14255550100"
    steps:
      - expectPrompt: welcome
      - hangup: true
`;

describe('--pcap against serve', () => {
  let out: string;
  let failedPcap: string;
  /** Written by the TCP and the load tests, read by tshark after them. */
  const laterPcaps: string[] = [];

  beforeAll(async () => {
    out = path.join(shared.dir, 'plain');
    const io = captureIo();
    const code = await runSimulateCli(['--target', `udp:127.0.0.1:${shared.server.target().port}`, '--pcap', out, scenario('passes', PASSES), scenario('wrong-prompt', WRONG_PROMPT)], io);
    if (code !== 1) console.log(io.stdout, io.stderr);
    expect(code).toBe(1);
    expect(io.stdout).toMatch(/^1 passed, 1 failed$/m);
    failedPcap = path.join(out, 'wrong-prompt-hasty.pcap');
    expect(io.stdout).toContain(`note: call hasty failed: its SIP and RTP are in ${failedPcap}`);
    expect(io.stdout).toContain(`pcaps of the failed calls: 1 written to ${out}`);
  }, 60_000);

  it('writes a pcap for the failed call only, named after the scenario and the call', () => {
    expect(readdirSync(out)).toEqual(['wrong-prompt-hasty.pcap']);
    const bytes = readFileSync(failedPcap);
    expect(bytes.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(bytes.length).toBeGreaterThan(24 + 10 * (16 + 28 + 172)); // SIP and some seconds of RTP
  });

  itTshark('tshark reads it: the SIP of the call (INVITE, 200, ACK, BYE) under its Call-ID', () => {
    expect(tshark(failedPcap).length).toBeGreaterThan(10);
    const rows = sipRows(failedPcap);
    const callIds = new Set(rows.map((r) => r[2]));
    expect(callIds.size).toBe(1);
    expect([...callIds][0]).toMatch(/@voice-access-sim$/);
    const methods = rows.map((r) => r[0] || `${r[1]} ${r[3]}`);
    expect(methods).toEqual(expect.arrayContaining(['INVITE', '200 INVITE', 'ACK', 'BYE', '200 BYE']));
    expect(methods.indexOf('INVITE')).toBeLessThan(methods.indexOf('200 INVITE'));
    expect(methods.indexOf('200 INVITE')).toBeLessThan(methods.indexOf('BYE'));
  });

  itTshark('tshark decodes the RTP in both directions: from the SDP in the capture, and with -d on our RTP port', () => {
    const port = offeredRtpPort(failedPcap);
    for (const flows of [rtpFlows(failedPcap), rtpFlows(failedPcap, '-d', `udp.port==${port},rtp`)]) {
      const received = flows.filter((f) => f.endsWith(`->${port}`));
      const sent = flows.filter((f) => f.startsWith(`${port}->`));
      expect(received.length).toBeGreaterThan(100); // the welcome prompt and the next one: seconds of 20 ms packets
      expect(sent.length).toBeGreaterThan(50); // 1.5 s of speech
      expect(received.length + sent.length).toBe(flows.length);
    }
  });

  it('over TCP: the failed call’s SIP messages are in its pcap', async () => {
    const tcpOut = path.join(shared.dir, 'tcp');
    const io = captureIo();
    const code = await runSimulateCli(['--target', `tcp:127.0.0.1:${shared.server.target('tcp').port}`, '--pcap', tcpOut, scenario('wrong-prompt-tcp', WRONG_PROMPT)], io);
    expect(code).toBe(1);
    expect(readdirSync(tcpOut)).toEqual(['wrong-prompt-tcp-hasty.pcap']);
    const text = readFileSync(path.join(tcpOut, 'wrong-prompt-tcp-hasty.pcap')).toString('latin1');
    for (const start of ['INVITE sip:', 'SIP/2.0 200 OK', 'ACK sip:', 'BYE sip:']) expect(text).toContain(start);
    laterPcaps.push(path.join(tcpOut, 'wrong-prompt-tcp-hasty.pcap'));
  }, 60_000);

  it('a load writes one pcap per failed call and lists them in its report', async () => {
    const loadOut = path.join(shared.dir, 'load');
    const report = path.join(shared.dir, 'load.json');
    const io = captureIo();
    const code = await runSimulateCli(
      ['--target', `udp:127.0.0.1:${shared.server.target().port}`, '--calls', '4', '--rate', '20', '--concurrency', '4', '--report', report, '--pcap', loadOut, scenario('load-fails', WRONG_PROMPT), scenario('load-passes', PASSES)],
      io,
    );
    expect(code).toBe(1);
    const r: LoadReport = JSON.parse(readFileSync(report, 'utf8'));
    expect(r.totals).toMatchObject({ started: 4, passed: 2, failed: 2 });
    // Round robin: calls 1 and 3 ran the failing file.
    const names = ['load-fails-1-hasty.pcap', 'load-fails-3-hasty.pcap'];
    expect(readdirSync(loadOut).sort()).toEqual(names);
    expect(r.pcaps).toMatchObject({ dir: loadOut, written: 2, notWritten: 0, rtpPacketsPerCall: 1000 });
    expect(r.pcaps!.files.map((f) => path.basename(f)).sort()).toEqual(names);
    expect(io.stderr).toContain(`pcaps of the failed calls go to ${loadOut}`);
    expect(io.stdout).toContain(`pcaps of the failed calls: 2 written to ${loadOut}`);
    laterPcaps.push(...names.map((n) => path.join(loadOut, n)));
  }, 60_000);

  itTshark('tshark reads the TCP call’s and the load’s pcaps: each holds one call’s INVITE, 200, ACK and BYE', () => {
    expect(laterPcaps).toHaveLength(3);
    for (const file of laterPcaps) {
      const rows = sipRows(file);
      expect(new Set(rows.map((r) => r[2])).size).toBe(1);
      expect(rows.map((r) => r[0] || `${r[1]} ${r[3]}`)).toEqual(expect.arrayContaining(['INVITE', '200 INVITE', 'ACK', 'BYE', '200 BYE']));
    }
  });

  it('refuses --pcap without --target (exit 2, saying why)', async () => {
    const io = captureIo();
    const notThere = path.join(shared.dir, 'never');
    expect(await runSimulateCli(['--pcap', notThere, scenario('any', PASSES)], io)).toBe(2);
    expect(io.stderr).toContain('--pcap needs --target');
    expect(existsSync(notThere)).toBe(false);
  });
});
