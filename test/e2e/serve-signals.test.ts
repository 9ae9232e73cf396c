/**
 * `voice-access serve` as a process: it logs one `ready` line with its addresses, and SIGTERM ends every call with
 * BYE before it exits 0 (issue 4, "Server").
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { findFreeSipPort } from '../../src/sip/embedded/free-port';
import { ROOT, tempDir, writeConfig } from '../helpers';
import * as offers from '../sip/helpers/offers';

/** baresip's offer, with its media address on loopback: the real server sends RTP there, and tests stay on 127.0.0.0/8. */
const LOOPBACK_OFFER = offers.BARESIP.replace(/192\.168\.1\.20/g, '127.0.0.1');
import { RawCall, UdpPeer, isStatus } from '../sip/helpers/raw-sip';

jest.setTimeout(40_000);

test('SIGTERM sends BYE on a call in progress, then the server exits 0', async () => {
  const dir = tempDir('va-signals-');
  const port = await findFreeSipPort('127.0.0.1');
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'bin', 'voice-access.js'), 'serve', '--config', writeConfig(dir), '--data', path.join(dir, 'data'), '--sip-port', String(port), '--rtp-ports', '31000-31999'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const killer = setTimeout(() => child.kill('SIGKILL'), 35_000);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    for (let i = 0; i < 100 && !out.includes('"msg":"ready"'); i++) await new Promise((r) => setTimeout(r, 100));
    const ready = JSON.parse(out.split('\n').find((l) => l.includes('"msg":"ready"'))!);
    expect(ready.sip).toEqual([`udp:127.0.0.1:${port}`, `tcp:127.0.0.1:${port}`]);

    const target = { address: '127.0.0.1', port };
    const peer = await UdpPeer.open(target);
    try {
      const call = new RawCall(peer, target, '14255550100');
      peer.send(call.invite(LOOPBACK_OFFER));
      const ok = await peer.expect(isStatus(200, 'INVITE'), 10_000, 'the 200 OK');
      call.learn(ok);
      peer.send(call.ack());
      child.kill('SIGTERM');
      const bye = await peer.expect((m) => m.method === 'BYE', 10_000, 'the BYE');
      peer.send(
        `SIP/2.0 200 OK\r\n${bye.raw
          .split('\r\n')
          .filter((l) => /^(via|from|to|call-id|cseq):/i.test(l))
          .join('\r\n')}\r\nContent-Length: 0\r\n\r\n`,
      );
      expect(await exited).toBe(0);
      expect(out).toContain('"msg":"stopped"');
    } finally {
      await peer.close();
    }
  } finally {
    clearTimeout(killer);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
