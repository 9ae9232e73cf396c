/**
 * SIPp as a UM IP gateway receiving MWI NOTIFYs: a UAS scenario over TCP (`-t t1`) that checks the request line,
 * each MWI header and the body with regular expressions (`ereg ... check_it="true"`: a mismatch fails the call), and
 * answers with a chosen status. Started on a port chosen before the server's directory file is written.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { requireSipp, SIPP } from '../../sip/helpers/sipp';

/** What one NOTIFY must carry. */
export interface ExpectedNotify {
  extension: string;
  /** The gateway's address as the server names it (Request-URI and To host). */
  host: string;
  messagesWaiting: 'yes' | 'no';
  /** `new/old (urgentNew/urgentOld)`, e.g. `1/0 (0/0)`. */
  voiceMessage: string;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The UAS scenario: receive one NOTIFY (each NOTIFY has its own Call-ID: a SIPp "call"), check it, answer `status`. */
export function gatewayScenario(e: ExpectedNotify, status: number, reason: string): string {
  const steps = [e]
    .map((e, i) => {
      const checks: Array<[string, string, string?]> = [
        ['msg', `^NOTIFY sip:${esc(e.extension)}@${esc(e.host)}`],
        ['hdr', `^ *<sip:${esc(e.extension)}@${esc(e.host)}>`, 'To:'],
        ['hdr', '^ *message-summary *$', 'Event:'],
        ['hdr', '^ *terminated *$', 'Subscription-State:'],
        ['hdr', '^ *application/simple-message-summary *$', 'Content-Type:'],
        // POSIX regular expressions: [[:cntrl:]] is the line end (CR).
        ['body', `Messages-Waiting: ${e.messagesWaiting}[[:cntrl:]]`],
        ['body', `Message-Account: sip:${esc(e.extension)}@${esc(e.host)}[[:cntrl:]]`],
        ['body', `Voice-Message: ${esc(e.voiceMessage)}[[:cntrl:]]`],
      ];
      const actions = checks
        .map(([where, re, header], j) => `<ereg regexp="${re.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}" search_in="${where}"${header ? ` header="${header}"` : ''} check_it="true" assign_to="m${i}_${j}"/>`)
        .join('\n        ');
      return `
  <recv request="NOTIFY">
    <action>
        ${actions}
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 ${status} ${reason}
      [last_Via:]
      [last_From:]
      [last_To:];tag=gw[pid]t${i}
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>`;
    })
    .join('\n');
  // SIPp refuses variables that are assigned but never read: the checks' captures are "read" here.
  const vars = Array.from({ length: 8 }, (_, j) => `m0_${j}`).join(',');
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="UM IP gateway receiving message-summary NOTIFYs">${steps}
  <Reference variables="${vars}"/>
</scenario>
`;
}

/** A running SIPp gateway; `done` resolves when it exits (after the NOTIFYs, an error, or its timeout). */
export interface SippGateway {
  port: number;
  done: Promise<{ code: number | null; stdout: string; stderr: string; errors: string }>;
  kill(): void;
}

/**
 * Starts SIPp as a TCP UAS on 127.0.0.1:`port` for one NOTIFY; it exits once that NOTIFY is answered.
 * @param timeoutS SIPp's global timeout (an error when reached)
 */
export function startSippGateway(port: number, expected: ExpectedNotify, status = 200, reason = 'OK', timeoutS = 40): SippGateway {
  requireSipp();
  const dir = mkdtempSync(path.join(tmpdir(), 'va-sipp-gw-'));
  const file = path.join(dir, 'gateway.xml');
  writeFileSync(file, gatewayScenario(expected, status, reason));
  const errorFile = path.join(dir, 'errors.log');
  const child = spawn(
    SIPP,
    ['-sf', file, '-t', 't1', '-i', '127.0.0.1', '-p', String(port), '-m', '1', '-nostdin', '-timeout', `${timeoutS}s`, '-timeout_error', '-trace_err', '-error_file', errorFile],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout = (stdout + d).slice(-50_000)));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string; errors: string }>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), (timeoutS + 10) * 1000);
    // 'close', not 'exit': stdout and stderr must be complete when they are read.
    child.on('close', (code) => {
      clearTimeout(kill);
      const errors = existsSync(errorFile) ? readFileSync(errorFile, 'utf8').slice(0, 4000) : '';
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, stdout, stderr, errors });
    });
  });
  const gw = { port, done, kill: () => void child.kill('SIGKILL') };
  running.add(gw);
  void done.then(() => running.delete(gw));
  return gw;
}

const running = new Set<SippGateway>();

/** Kills every SIPp gateway still running (afterEach: a failed test must not leave one on its port). */
export function killSippGateways(): void {
  for (const gw of running) gw.kill();
}
