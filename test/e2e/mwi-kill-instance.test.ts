/**
 * kill -9 of an instance during an MWI delivery (issue 20, "an instance that dies mid-delivery leaves work that
 * another finishes"): two `serve` processes, each with a data folder of its own (as on two machines), on one
 * PostgreSQL store and behind one drachtio-server; one UM IP gateway (a TCP listener of the test) that leaves every
 * NOTIFY unanswered until the sender is dead. A third process (a cmdlet's store) adds a voice message for david; both
 * instances see it (LISTEN/NOTIFY), one claims the mailbox and sends, the other logs that another process is
 * notifying it. The sender gets SIGKILL with its NOTIFY unanswered; the survivor sends the lamp state once the dead
 * one's claim runs out (`mwiClaimMs`: twice the retry window and twice the NOTIFY timeout, 16 s with the timings
 * here), the gateway answers 200, and the survivor logs `mwi notify delivered` with the lamp on.
 * Both processes run `dist/` (`npm run build` first, as `npm test` does); each is stopped by PID (a hard SIGKILL
 * timer too), drachtio-server and PostgreSQL by theirs.
 */
import { mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { startPostgres, type RunningPostgres } from '../../bench/servers/postgres-server';
import { openApp } from '../../src/app';
import { mwiClaimMs } from '../../src/notify/mwi-service';
import { tempDir, writeConfig } from '../helpers';
import { describeWithServers, startDrachtio, type RunningDrachtio } from '../helpers/real-servers';
import { h, type RawMessage } from '../sip/helpers/raw-sip';
import { startTcpGateway } from '../helpers/tcp-gateway';
import { spawnServe, type ServeProcess } from './helpers/serve-process';

jest.setTimeout(90_000);

/** Short MWI timings, so the dead sender's claim runs out in 16 s (2 x 6 s + 2 x 2 s). */
const MWI = { retryWindowMinutes: 0.1, notifyTimeoutSeconds: 2, initialBackoffSeconds: 0.5, maxBackoffSeconds: 1 };

/** The lamp state a NOTIFY's message-summary body gives (RFC 3842: `Messages-Waiting: yes|no`). */
const waiting = (m: RawMessage) => /^Messages-Waiting:\s*(\w+)/im.exec(m.body)?.[1] ?? null;

describeWithServers(['drachtio-server'], 'an instance killed during an MWI delivery (two serve processes, one PostgreSQL, one drachtio-server)', () => {
  let pg: RunningPostgres | undefined;
  let drachtio: RunningDrachtio | undefined;
  const processes: ServeProcess[] = [];
  let dir: string;

  beforeAll(async () => {
    dir = tempDir('va-mwi-kill-');
    pg = await startPostgres();
    drachtio = await startDrachtio();
  }, 60_000);
  afterAll(async () => {
    for (const p of processes.splice(0)) p.kill();
    await drachtio?.stop();
    await pg?.stop();
    if (!process.env.E2E_KEEP) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  test('SIGKILL of the instance whose NOTIFY is unanswered: the other sends the lamp state when the claim runs out, once', async () => {
    let deadCallIds: Set<string> | null = null;
    // Nothing is answered while both live; after the kill, only NOTIFYs of a transaction the dead one did not start.
    const gateway = await startTcpGateway((m) => deadCallIds !== null && !deadCallIds.has(h(m, 'call-id')));
    try {
      const config = writeConfig(dir, (doc) => {
        doc.gateways = [{ name: 'gw1', address: '127.0.0.1', port: gateway.port, dialPlan: 'Contoso-DP', messageWaitingIndicatorAllowed: true, status: 'Enabled' }];
        doc.notifications = { mwi: MWI };
      });
      const store = await pg!.createDatabase('mwi_kill');
      const d = drachtio!;
      const instance = (name: string) => {
        const data = path.join(dir, `data-${name}`);
        mkdirSync(data, { recursive: true });
        const p = spawnServe(
          ['--config', config, '--data', data, '--store', store, '--recordings', path.join(dir, 'recordings'), '--sip-host', '127.0.0.1', '--rtp-ports', name === 'a' ? '33000-33499' : '33500-33999', '--drachtio', `${d.host}:${d.adminPort}`, '--drachtio-secret', d.secret, '--log-level', 'debug'],
          80_000,
        );
        processes.push(p);
        return p;
      };
      // One after the other: the first start migrates and imports the directory.
      const a = instance('a');
      await a.line((l) => l.msg === 'ready', 20_000, "instance a's ready line");
      const b = instance('b');
      await b.line((l) => l.msg === 'ready', 20_000, "instance b's ready line");

      // A third process (a cmdlet's store) leaves david a message.
      const cmdlet = await openApp({ config, data: path.join(dir, 'data-cmdlet'), store });
      try {
        await cmdlet.store.addVoiceMessage({ identity: 'david@contoso.com', caller: '+14255550123', receivedAt: Date.now(), durationMs: 4000, urgent: false, audioFile: path.join(dir, 'recordings', 'm.wav') });
      } finally {
        await cmdlet.close();
      }

      // One instance claims and sends; the other says another process is notifying david.
      const leaving = (p: ServeProcess) => p.lines().some((l) => l.msg === 'mwi: another process is notifying this mailbox' && l.identity === 'david@contoso.com');
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && !(gateway.notifies.length > 0 && (leaving(a) || leaving(b)))) await new Promise((r) => setTimeout(r, 50));
      const explain = () => `gateway: ${gateway.notifies.map((m) => m.raw).join('\n')}\na: ${a.out.slice(-3000)}\nb: ${b.out.slice(-3000)}`;
      if (!(leaving(a) !== leaving(b)) || gateway.notifies.length === 0) throw new Error(`expected one sender and one instance leaving david to it\n${explain()}`);
      const [sender, survivor] = leaving(a) ? [b, a] : [a, b];
      const firstSent = gateway.notifies[0];
      expect({ waiting: waiting(firstSent), answered: gateway.answered.has(firstSent) }).toEqual({ waiting: 'yes', answered: false });

      // kill -9 mid-delivery: its NOTIFY has no answer yet.
      sender.kill();
      const killed = await sender.exited;
      expect(killed.signal).toBe('SIGKILL');
      deadCallIds = new Set(gateway.notifies.map((m) => h(m, 'call-id')));
      expect(survivor.lines().filter((l) => l.msg === 'mwi notify delivered')).toEqual([]);

      // The survivor sends once the claim runs out (16 s after the sender took it, just before its first NOTIFY).
      const claimMs = mwiClaimMs({ ...MWI });
      const delivered = await survivor.line((l) => l.msg === 'mwi notify delivered' && l.identity === 'david@contoso.com', claimMs + 20_000, "the survivor's delivery");
      expect(delivered).toMatchObject({ extension: '51235', gateway: 'gw1', status: 200, messagesWaiting: true });
      const answered = [...gateway.answered];
      expect(answered.map((m) => waiting(m))).toEqual(['yes']);
      // Not before the dead one's claim ran out (its first NOTIFY went out just after the claim; 1 s of slack).
      expect(answered[0].at - firstSent.at).toBeGreaterThanOrEqual(claimMs - 1_000);
      // Nothing more: the survivor recorded the delivery, so it does not send the state again.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(gateway.answered.size).toBe(1);
      expect(survivor.lines().filter((l) => l.level >= 50)).toEqual([]);
    } finally {
      for (const p of processes.splice(0)) p.kill();
      await gateway.close();
    }
  });
});
