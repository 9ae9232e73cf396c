/**
 * What an attacker's scanner sees, and that a UM IP gateway's calls go on meanwhile (issue 19, "Done when": "an
 * attacker's scanner ... while a gateway's calls go through"). SIPVicious (Debian's `sipvicious`: `svmap` finds SIP
 * devices, `svwar` enumerates extensions by the answers it gets, `svcrack` guesses passwords) runs from 127.0.0.1
 * against `serve`, whose only UM IP gateway is 127.0.0.2; meanwhile SIPp signs David in from that gateway, one call
 * after another. The gateway's calls all succeed, `svwar` learns no extension (a stranger is refused 403 whatever
 * number it dials, so a real extension answers like a missing one), `svcrack` no password, and the server logs no
 * error. SIPVicious 0.3.3 binds its socket to port 5060 unless told (`-P`): the tests give it a free port.
 */
import { spawn, spawnSync } from 'node:child_process';
import { startIvrServer, sippCall, type IvrServer } from './helpers/ivr-server';
import { findFreeSipPort } from '../../src/sip/embedded/free-port';

const GATEWAY = '127.0.0.2';
const SCANNER = '127.0.0.1';

/** Runs a SIPVicious tool; resolves with its output when it exits, killed after `killAfterMs`. */
function sipvicious(tool: string, args: string[], killAfterMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

const installed = spawnSync('sh', ['-c', 'command -v svwar && command -v svmap && command -v svcrack']).status === 0;

(installed ? describe : describe.skip)('SIPVicious against serve while a UM IP gateway calls', () => {
  let t: IvrServer;

  beforeAll(async () => {
    t = await startIvrServer({
      patch: (doc) => {
        for (const g of doc.gateways) g.address = GATEWAY;
      },
    });
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  });

  test('svmap, svwar (INVITE and REGISTER) and svcrack learn nothing; every gateway call succeeds', async () => {
    const port = String(t.target.port);
    const scans = (async () => {
      const results: Array<{ tool: string; code: number | null; out: string }> = [];
      const run = async (tool: string, args: string[]) => results.push({ tool, ...(await sipvicious(tool, ['-P', String(await findFreeSipPort(SCANNER)), ...args], 90_000)) });
      await run('svmap', ['-p', port, SCANNER]);
      // The demo's mailboxes are 5-digit extensions from 51234 up; the scan covers them and their neighbours.
      await run('svwar', ['--force', '-m', 'INVITE', '-e', '51200-51300', '-p', port, SCANNER]);
      await run('svwar', ['--force', '-m', 'REGISTER', '-e', '51200-51300', '-p', port, SCANNER]);
      await run('svcrack', ['-u', '51234', '-r', '0000-0300', '-p', port, SCANNER]);
      return results;
    })();
    // The gateway's calls, one after another while the scans run (bounded: at most 6 calls).
    const calls: Array<{ successful: number | null; failed: number | null; code: number | null }> = [];
    let scanning = true;
    void scans.finally(() => (scanning = false));
    while (calls.length < 6 && (scanning || calls.length < 2)) {
      const r = await sippCall(t, 'signin-rfc4733-david.xml', { localAddress: GATEWAY });
      calls.push({ successful: r.successful, failed: r.failed, code: r.code });
    }
    const results = await scans;
    const report = results.map((r) => `--- ${r.tool} (exit ${r.code})\n${r.out.trim()}`).join('\n');

    if (process.env.SCAN_REPORT) console.log(report, calls);
    expect(calls.every((c) => c.code === 0 && c.successful === 1 && c.failed === 0)).toBe(true);
    // svmap finds a SIP device (answering OPTIONS is what a SIP server does), nothing more.
    expect(results[0].out).toMatch(new RegExp(`${SCANNER}:${port}`));
    // svwar: no extension found by INVITE nor by REGISTER.
    for (const r of results.slice(1, 3)) {
      if (!/found nothing/i.test(r.out)) throw new Error(`svwar found something:\n${report}`);
    }
    // svcrack: no password.
    expect(results[3].out).not.toMatch(/\|\s*51234\s*\|\s*\d+\s*\|/);
    expect(t.errors).toEqual([]);
    // No call from the scanner reached a flow: every call the runtime saw was the gateway's.
    expect(t.calls.every((c) => c.sourceAddress?.startsWith(`${GATEWAY}:`))).toBe(true);
  }, 240_000);
});

if (!installed) {
  test.skip('SIPVicious (Debian package sipvicious: svmap, svwar, svcrack) is not installed', () => undefined);
}
