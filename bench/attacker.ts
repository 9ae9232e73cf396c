/**
 * An attacker for the soak bench's `--attack` (issue 19, "Done when": the server fed a fuzzer's output and an
 * attacker's scanner for an hour while a gateway's calls go through). Two sources, neither a UM IP gateway:
 * - a fuzzer on 127.0.0.3: `bench/sip-fuzz.ts`'s stateless attack messages over UDP at a steady rate, and now and
 *   then a TCP connection that writes a few of them; answers are counted by status;
 * - a scanner: SIPVicious (Debian's `sipvicious`: svmap, svwar with INVITE and REGISTER, svcrack) in rounds. It
 *   sends from 127.0.0.1 whatever it is told (0.3.3 ignores `-b`), so the gateway must be elsewhere (127.0.0.2).
 * Everything stays on 127.0.0.0/8; every loop ends when `stop` is called (the scanner's round at most 2 minutes
 * later: each tool is killed after that).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { findFreeSipPort } from '../src/sip/embedded/free-port';
import { attackMessage, mathRandom as r, sdpOffer, sipMessage, type AttackKind } from './sip-fuzz';

/** Where and how hard to attack. */
export interface AttackOptions {
  /** The server's SIP address (UDP and TCP). */
  target: { host: string; port: number };
  /** The fuzzer's source address [127.0.0.3]. */
  fuzzFrom?: string;
  /** Fuzz messages a second [40: under the default flood limit of 50, so the parser, not the limit, takes them]. */
  fuzzPerSecond?: number;
  /** Pause between scanner rounds, ms [60 000]. */
  scanPauseMs?: number;
}

/** What the attack did and got. */
export interface AttackReport {
  fuzzSent: number;
  tcpConnections: number;
  /** Answers to the fuzzer by status code. */
  answers: Record<string, number>;
  scanRounds: number;
  /** Scanner output that found something (an extension, a password): empty when it learned nothing. */
  findings: string[];
  /** Why the scanner did not run, if it did not. */
  scannerMissing?: string;
}

const KINDS: readonly AttackKind[] = ['invite', 'options', 'junk', 'huge', 'integers', 'escaped', 'scheme'];

/** Runs a tool to its end, killed after `killAfterMs`; resolves with its output. */
function run(tool: string, args: string[], killAfterMs: number): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    child.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', () => resolve(out));
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/**
 * Starts the attack.
 * @returns `stop`, which ends it (waiting for the scanner's round in progress) and reports
 */
export async function startAttack(opts: AttackOptions): Promise<{ stop(): Promise<AttackReport> }> {
  const from = opts.fuzzFrom ?? '127.0.0.3';
  const { host, port } = opts.target;
  const report: AttackReport = { fuzzSent: 0, tcpConnections: 0, answers: {}, scanRounds: 0, findings: [] };
  let running = true;

  const udp = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, from, resolve));
  const me = udp.address().port;
  udp.on('message', (m) => {
    const status = /^SIP\/2\.0 (\d{3})/.exec(m.toString('latin1', 0, 16))?.[1];
    if (status) report.answers[status] = (report.answers[status] ?? 0) + 1;
  });
  let n = 0;
  const next = (): string => {
    const i = n++;
    const callId = `attack-${process.pid}-${i}`;
    const fromHeader = `<sip:+1425555${String(1000 + (i % 9000))}@${from}>;tag=a${i}`;
    const headers = (method: string): Array<[string, string]> => [
      ['Via', `SIP/2.0/UDP ${from}:${me};branch=z9hG4bK${i.toString(36)}x${Math.floor(r.next() * 1e9).toString(36)};rport`],
      ['Max-Forwards', '70'],
      ['From', fromHeader],
      ['To', '<sip:14255550100@127.0.0.1>'],
      ['Call-ID', callId],
      ['CSeq', `1 ${method}`],
      ['Contact', `<sip:attacker@${from}:${me}>`],
    ];
    const invite = sipMessage(`INVITE sip:${r.pick(['14255550100', '14255550199', '51235', '99999'])}@${host}:${port} SIP/2.0`, [...headers('INVITE'), ['Content-Type', 'application/sdp']], sdpOffer(9));
    return attackMessage(r.pick(KINDS), r, { port, invite, headers });
  };
  const perTick = Math.max(1, Math.round((opts.fuzzPerSecond ?? 40) / 10));
  const fuzzTimer = setInterval(() => {
    for (let k = 0; k < perTick; k++) {
      udp.send(Buffer.from(next(), 'latin1'), port, host);
      report.fuzzSent++;
    }
  }, 100);
  const tcpTimer = setInterval(() => {
    const s = net.connect({ host, port, localAddress: from });
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    s.on('connect', () => {
      report.tcpConnections++;
      for (let k = 0; k < 3; k++) s.write(Buffer.from(next(), 'latin1'));
      report.fuzzSent += 3;
      setTimeout(() => s.destroy(), 1000);
    });
  }, 10_000);

  const installed = spawnSync('sh', ['-c', 'command -v svmap && command -v svwar && command -v svcrack']).status === 0;
  if (!installed) report.scannerMissing = 'SIPVicious (Debian package sipvicious) is not installed';
  const scanner = (async () => {
    if (!installed) return;
    while (running) {
      const p = String(port);
      const local = async () => String(await findFreeSipPort('127.0.0.1'));
      await run('svmap', ['-P', await local(), '-p', p, host], 120_000);
      for (const method of ['INVITE', 'REGISTER']) {
        const out = await run('svwar', ['-P', await local(), '--force', '-m', method, '-e', '51200-51300', '-p', p, host], 120_000);
        if (!/found nothing/i.test(out)) report.findings.push(`svwar ${method}: ${out.slice(-2000)}`);
      }
      const crack = await run('svcrack', ['-P', await local(), '-u', '51234', '-r', '0000-0300', '-p', p, host], 120_000);
      if (!/found nothing/i.test(crack)) report.findings.push(`svcrack: ${crack.slice(-2000)}`);
      report.scanRounds++;
      for (let waited = 0; running && waited < (opts.scanPauseMs ?? 60_000); waited += 500) await new Promise((res) => setTimeout(res, 500));
    }
  })();

  return {
    async stop() {
      running = false;
      clearInterval(fuzzTimer);
      clearInterval(tcpTimer);
      await scanner;
      await new Promise((res) => setTimeout(res, 500)); // the last answers
      udp.close();
      return report;
    },
  };
}
