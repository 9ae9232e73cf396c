/**
 * The admin center's HTTP API on a running `serve` with real SIP calls (issue 21): a voice message's WAV audio and
 * its deletion (the lamp NOTIFY goes out to the UM IP gateway, a raw TCP listener here), the lamp state and "send it
 * again", live calls while a SIP call signs in (never the digits, never the caller's number), the drain switch (a new
 * INVITE gets 503 while the call in progress signs in and ends), `/healthz` and `/readyz`, the metrics a scrape shows
 * during the calls, and `Set-UMMailboxPIN -Pin` refusing a PIN of the mailbox's history. Every change is audited. On
 * SQLite and on PostgreSQL (`bench/servers/postgres-server.ts`).
 */
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { findCmdlet } from '../../src/admin/cmdlets';
import { startServer, type RunningServer } from '../../src/cli/serve';
import { ADMIN_ROLES, type AdminRole } from '../../src/domain/admin-roles';
import { createLogger } from '../../src/log';
import { DEFAULT_OFFER } from '../contract/call-source-contract';
import { h, RawCall, UdpPeer, type RawMessage } from '../sip/helpers/raw-sip';
import { metricSample } from '../helpers/metrics-text';
import { startTcpGateway } from '../helpers/tcp-gateway';
import { tempDir, writeConfig } from '../helpers';
import { startPostgres, type RunningPostgres } from '../../bench/servers/postgres-server';

const DAVID = 'david@contoso.com';
const TONY = 'tony@contoso.com';
const ROOT = path.join(__dirname, '..', '..');

/** Polls `probe` until it returns a value (not undefined), every 100 ms. */
async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Registers the cases on one store.
 * @param storeUrl the store's URL, or undefined for SQLite in the data folder
 */
function describeLive(name: string, storeUrl: () => Promise<string | undefined>): void {
  describe(`HTTP API of a running serve on ${name}`, () => {
    let server: RunningServer;
    let base: string;
    let peer: UdpPeer;
    let gateway: { notifies: RawMessage[]; close(): Promise<void> };
    const keys = {} as Record<AdminRole, string>;

    const call = (method: string, url: string, role?: AdminRole, body?: unknown) =>
      fetch(`${base}${url}`, {
        method,
        headers: {
          ...(role ? { authorization: `Bearer ${keys[role]}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    const json = async <T = any>(r: Promise<Response> | Response): Promise<T> => (await (await r).json()) as T;

    /** The metrics text, scraped with a View-Only key. */
    const scrape = async () => (await call('GET', '/metrics', 'View-Only')).text();

    const target = () => ({ address: '127.0.0.1', port: server.sip.port });

    /** Sends an INVITE to the OVA access number (or `user`) and waits for its final response. */
    async function invite(user = '14255550100'): Promise<{ call: RawCall; rs: RawMessage }> {
      const c = new RawCall(peer, target(), user);
      peer.send(c.invite(DEFAULT_OFFER));
      const rs = await peer.expect((m) => m.status !== undefined && m.status >= 200 && h(m, 'call-id') === c.callId, 5000, `final response to ${c.callId}`);
      c.learn(rs);
      peer.send(c.ack(rs.status !== 200));
      return { call: c, rs };
    }

    /** Types keys as SIP INFO (application/dtmf-relay), 150 ms apart, each answered 200. */
    async function keys_(c: RawCall, digits: string): Promise<void> {
      for (const d of digits) {
        peer.send(c.inDialog('INFO', `Signal=${d}\r\nDuration=160\r\n`, [['Content-Type', 'application/dtmf-relay']]));
        await peer.expect((m) => m.status === 200 && h(m, 'call-id') === c.callId && /INFO/.test(h(m, 'cseq')), 3000, '200 to INFO');
        await new Promise((r) => setTimeout(r, 150));
      }
    }

    async function bye(c: RawCall): Promise<void> {
      peer.send(c.inDialog('BYE'));
      await peer.expect((m) => m.status === 200 && h(m, 'call-id') === c.callId && /BYE/.test(h(m, 'cseq')), 5000, '200 to the BYE');
    }

    beforeAll(async () => {
      const gw = await startTcpGateway();
      const store = await storeUrl();
      gateway = gw;
      const dir = tempDir('va-http-live-');
      const config = writeConfig(dir, (doc) => {
        doc.gateways[0].port = gw.port; // gw1, first of Contoso-DP: the lamp's NOTIFYs come here
        doc.sip = { retryAfterSeconds: 11 };
      });
      server = await startServer({ config, data: path.join(dir, 'data'), store, sipHost: '127.0.0.1', sipPort: 0, rtpPortMin: 0, rtpPortMax: 0, logger: createLogger({ level: 'silent' }), http: '127.0.0.1:0' });
      base = server.http!.url;
      for (const role of ADMIN_ROLES) keys[role] = (await findCmdlet('New-VaApiKey')!.run(server.app, { Name: role, Role: role }))[0].Key as string;
      peer = await UdpPeer.open(target());
    }, 60_000);

    afterAll(async () => {
      await peer?.close();
      await server?.stop();
      await gateway?.close();
    });

    test('/healthz and /readyz need no key: alive, ready (store, SIP, not draining)', async () => {
      const health = await call('GET', '/healthz');
      expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
      const ready = await call('GET', '/readyz');
      expect([ready.status, await ready.json()]).toEqual([200, { ready: true, store: 'ok', sip: 'ok', draining: false }]);
    });

    test('a voice message: its WAV audio as audio/wav (read right), deleted with the um right: row and file gone, the lamp NOTIFY goes out, audited', async () => {
      const file = path.join(server.app.recordingsDir, 'msg-http-test.wav');
      copyFileSync(path.join(ROOT, 'prompts', 'en-US', 'goodbye.wav'), file);
      const message = await server.app.store.addVoiceMessage({ identity: DAVID, caller: '+14255550123', receivedAt: server.app.store.now(), durationMs: 1200, urgent: false, audioFile: file });
      server.mwi.mailboxChanged(DAVID);
      const lit = await until(async () => gateway.notifies.find((n) => /Messages-Waiting: yes/.test(n.body)), 'the lamp to go on');
      expect(lit.startLine).toMatch(/^NOTIFY sip:51235@/);

      const audio = await call('GET', `/api/mailboxes/${DAVID}/messages/${message.id}/audio`, 'View-Only');
      expect(audio.status).toBe(200);
      expect(audio.headers.get('content-type')).toBe('audio/wav');
      expect(audio.headers.get('cache-control')).toBe('private, no-store');
      expect(Buffer.from(await audio.arrayBuffer()).equals(readFileSync(file))).toBe(true);
      const missing = await call('GET', `/api/mailboxes/${DAVID}/messages/999999/audio`, 'View-Only');
      expect([missing.status, (await json(missing)).code]).toEqual([404, 'VA_ERR_NOT_FOUND']);
      expect((await call('GET', `/api/mailboxes/${DAVID}/messages/${message.id}/audio`)).status).toBe(401);

      expect((await call('DELETE', `/api/mailboxes/${DAVID}/messages/${message.id}`, 'View-Only')).status).toBe(403);
      const before = gateway.notifies.length;
      expect((await call('DELETE', `/api/mailboxes/${DAVID}/messages/${message.id}`, 'UM Management')).status).toBe(204);
      expect(await server.app.store.listVoiceMessages(DAVID)).toEqual([]);
      expect(existsSync(file)).toBe(false);
      const dark = await until(async () => gateway.notifies.slice(before).find((n) => /Messages-Waiting: no/.test(n.body)), 'the lamp to go off');
      expect(dark.body).toMatch(/Voice-Message: 0\/0/);
      expect((await call('DELETE', `/api/mailboxes/${DAVID}/messages/${message.id}`, 'UM Management')).status).toBe(404);
      const [line] = await server.app.store.admin.searchAuditLog({ cmdlets: ['Remove-VoiceMessage'], resultSize: 2 });
      expect(line).toMatchObject({ who: 'UM Management', action: 'Remove-VoiceMessage', target: DAVID, succeeded: false, errorCode: 'VA_ERR_NOT_FOUND' });
      const [ok] = (await server.app.store.admin.searchAuditLog({ cmdlets: ['Remove-VoiceMessage'] })).filter((l) => l.succeeded);
      expect(ok).toMatchObject({ target: DAVID, parameters: { Identity: DAVID, MessageId: String(message.id) } });
    }, 30_000);

    test('the lamp state per mailbox, and "send the lamp state again": a NOTIFY with the same state, audited', async () => {
      const lamp = await until(async () => {
        const l = await json(call('GET', `/api/mailboxes/${DAVID}/mwi`, 'View-Only'));
        return l.Delivery === 'Current' ? l : undefined;
      }, 'the lamp state to be delivered');
      expect(lamp).toEqual({
        Identity: DAVID,
        Extension: '51235',
        AllowMessageWaitingIndicator: true,
        MessagesWaiting: false,
        NewMessages: 0,
        OldMessages: 0,
        UrgentNew: 0,
        UrgentOld: 0,
        Gateways: ['gw1', 'gw2'],
        Delivery: 'Current',
        Sending: false,
      });
      expect((await call('POST', `/api/mailboxes/${DAVID}/mwi`, 'View-Only')).status).toBe(403);
      expect((await call('GET', '/api/mailboxes/nobody@contoso.com/mwi', 'View-Only')).status).toBe(404);
      const before = gateway.notifies.length;
      const r = await call('POST', `/api/mailboxes/${DAVID}/mwi`, 'UM Management');
      expect(r.status).toBe(202);
      expect(await r.json()).toMatchObject({ Identity: DAVID, MessagesWaiting: false });
      const again = await until(async () => gateway.notifies[before], 'the NOTIFY sent again');
      expect(again.body).toMatch(/Messages-Waiting: no/);
      const [line] = await server.app.store.admin.searchAuditLog({ cmdlets: ['Send-VaMwiState'], resultSize: 1 });
      expect(line).toMatchObject({ who: 'UM Management', target: DAVID, succeeded: true });
      // The scrape counts the NOTIFYs by gateway and outcome.
      expect(metricSample(await scrape(), 'va_mwi_notifies_total', { gateway: 'gw1', outcome: 'delivered' })).toBeGreaterThanOrEqual(3);
    }, 30_000);

    test('live calls, the drain switch and the metrics while SIP calls run: a new INVITE gets 503 while the call in progress signs in and ends', async () => {
      const endedBefore = metricSample(await scrape(), 'va_calls_ended_total', { flow: 'sign-in' });
      const first = await invite();
      expect(first.rs.status).toBe(200);
      const listed = await until(async () => {
        const calls = await json<any[]>(call('GET', '/api/calls', 'View-Only'));
        return calls.length === 1 && calls[0].Flow === 'sign-in' && calls[0].State ? calls : undefined;
      }, 'the call in the live calls');
      expect(listed[0]).toMatchObject({ CallId: first.call.callId, Flow: 'sign-in', Mailbox: null, DurationSeconds: expect.any(Number) });
      await keys_(first.call, '51235');

      // Drain: View-Only may look, not turn it.
      expect((await call('PATCH', '/api/server', 'View-Only', { Status: 'NoNewCalls' })).status).toBe(403);
      expect((await call('PATCH', '/api/server', 'UM Management', { Status: 'Paused' })).status).toBe(400);
      const drained = await call('PATCH', '/api/server', 'UM Management', { Status: 'NoNewCalls' });
      expect([drained.status, await drained.json()]).toEqual([200, { Status: 'NoNewCalls', Stopping: false, CallsInProgress: 1 }]);
      expect(await json(call('GET', '/api/server', 'View-Only'))).toEqual({ Status: 'NoNewCalls', Stopping: false, CallsInProgress: 1 });
      const status = await call('GET', '/status');
      expect([status.status, await status.json()]).toEqual([503, { status: 'draining', draining: true, calls: 1, store: 'ok' }]);
      const ready = await call('GET', '/readyz');
      expect([ready.status, await ready.json()]).toEqual([503, { ready: false, store: 'ok', sip: 'ok', draining: true }]);
      expect((await call('GET', '/healthz')).status).toBe(200);
      const refusedBefore = metricSample(await scrape(), 'va_calls_refused_total', { reason: 'draining' });
      const second = await invite();
      expect(second.rs.status).toBe(503);
      expect(h(second.rs, 'retry-after')).toBe('11');
      expect(metricSample(await scrape(), 'va_calls_refused_total', { reason: 'draining' })).toBe(refusedBefore + 1);

      // The call in progress goes on: the PIN signs it in; the live call shows the mailbox, never the digits.
      await keys_(first.call, '739164#');
      const signedIn = await until(async () => {
        const calls = await json<any[]>(call('GET', '/api/calls', 'View-Only'));
        return calls[0]?.Mailbox === DAVID ? calls : undefined;
      }, 'the call signed in');
      expect(signedIn[0].State).toMatch(/^mailboxMenu\./);
      expect(JSON.stringify(signedIn)).not.toMatch(/739164|51235|4255550101/);

      // A scrape while it runs.
      const during = await scrape();
      expect(metricSample(during, 'va_calls_in_progress', { flow: 'sign-in' })).toBe(1);
      expect(metricSample(during, 'va_active_calls')).toBe(1);
      expect(metricSample(during, 'va_rtp_tick_lateness_seconds_count')).toBeGreaterThan(0);
      expect(metricSample(during, 'va_store_query_duration_seconds_count', { operation: 'getMailbox' })).toBeGreaterThan(0);
      expect(metricSample(during, 'va_store_query_duration_seconds_count', { operation: 'admin.findApiKeyByHash' })).toBeGreaterThan(0);
      for (const name of ['nodejs_eventloop_lag_seconds', 'va_notification_queue_depth', 'va_notification_queue_oldest_age_seconds', 'va_conference_participants', 'va_conference_lobby_size', 'va_sign_in_failures_total', 'va_pin_automatic_resets_total', 'va_mailbox_lockouts_total', 'va_voice_messages_stored_total']) {
        expect(during).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
      }
      // No label carries a PIN, the digits typed or a caller's number.
      const labelValues = [...during.matchAll(/(\w+)="([^"]*)"/g)].filter(([, k]) => !['le', 'quantile', 'version'].includes(k)).map(([, , v]) => v);
      expect(labelValues.filter((v) => /\d{4,}/.test(v))).toEqual([]);

      await bye(first.call);
      await until(async () => ((await json<any[]>(call('GET', '/api/calls', 'View-Only'))).length === 0 ? true : undefined), 'the call to end');
      const after = await scrape();
      expect(metricSample(after, 'va_calls_in_progress', { flow: 'sign-in' })).toBe(0);
      expect(metricSample(after, 'va_calls_ended_total', { flow: 'sign-in' })).toBe(endedBefore + 1);

      // Enabled again: calls are taken. A wrong PIN is a sign-in failure in the metrics.
      expect((await call('PATCH', '/api/server', 'UM Management', { Status: 'Enabled' })).status).toBe(200);
      expect((await call('GET', '/readyz')).status).toBe(200);
      const failuresBefore = metricSample(after, 'va_sign_in_failures_total', { outcome: 'wrong-pin' });
      const third = await invite();
      expect(third.rs.status).toBe(200);
      await keys_(third.call, '51234000000#');
      await until(async () => (metricSample(await scrape(), 'va_sign_in_failures_total', { outcome: 'wrong-pin' }) === failuresBefore + 1 ? true : undefined), 'the wrong PIN counted');
      await bye(third.call);

      const audit = await server.app.store.admin.searchAuditLog({ cmdlets: ['Set-UMService'] });
      expect(audit.filter((l) => l.succeeded).map((l) => [l.who, l.parameters])).toEqual([
        ['UM Management', { Status: 'Enabled' }],
        ['UM Management', { Status: 'NoNewCalls' }],
      ]);
    }, 60_000);

    test('Set-UMMailboxPIN -Pin refuses a PIN of the mailbox PIN history (the current one included): 422 VA_ERR_PIN_POLICY, as the other rules', async () => {
      const current = await call('POST', `/api/mailboxes/${TONY}/pin`, 'UM Management', { Pin: '483920', SendEmail: false });
      const p = await json(current);
      expect([current.status, p.code]).toEqual([422, 'VA_ERR_PIN_POLICY']);
      expect(p.detail).toMatch(/^Pin: the PIN must differ from the last 5 PINs \(UM mailbox policy Contoso-Policy\)$/);
      expect(p.detail).not.toContain('483920');
      expect((await call('POST', `/api/mailboxes/${TONY}/pin`, 'UM Management', { Pin: '739251', SendEmail: false })).status).toBe(200);
      expect((await call('POST', `/api/mailboxes/${TONY}/pin`, 'UM Management', { Pin: '846153', SendEmail: false })).status).toBe(200);
      for (const used of ['483920', '739251', '846153']) {
        const r = await call('POST', `/api/mailboxes/${TONY}/pin`, 'UM Management', { Pin: used, SendEmail: false });
        expect(r.status).toBe(422);
      }
      // The same rule on the command line's code, and a generated PIN is still fine.
      await expect(findCmdlet('Set-UMMailboxPIN')!.run(server.app, { Identity: TONY, Pin: '739251', SendEmail: false })).rejects.toMatchObject({ code: 'VA_ERR_PIN_POLICY' });
      expect((await call('POST', `/api/mailboxes/${TONY}/pin`, 'UM Management', { SendEmail: false })).status).toBe(200);
      const [line] = await server.app.store.admin.searchAuditLog({ cmdlets: ['Set-UMMailboxPIN'], resultSize: 2 });
      expect(line).toMatchObject({ succeeded: true });
    }, 30_000);

    test('/openapi.json describes the new routes too', async () => {
      const doc = await json(call('GET', '/openapi.json'));
      for (const [p, method] of [
        ['/api/mailboxes/{identity}/messages/{id}/audio', 'get'],
        ['/api/mailboxes/{identity}/messages/{id}', 'delete'],
        ['/api/mailboxes/{identity}/mwi', 'get'],
        ['/api/mailboxes/{identity}/mwi', 'post'],
        ['/api/calls', 'get'],
        ['/api/server', 'get'],
        ['/api/server', 'patch'],
        ['/healthz', 'get'],
        ['/readyz', 'get'],
      ]) {
        expect(doc.paths[p]?.[method]).toBeDefined();
        for (const param of doc.paths[p][method].parameters ?? []) if (param.in === 'path') expect(p).toContain(`{${param.name}}`);
      }
      expect(doc.paths['/api/mailboxes/{identity}/messages/{id}/audio'].get.responses['200'].content).toHaveProperty(['audio/wav']);
      expect(doc.paths['/api/server'].patch['x-right']).toBe('um');
      expect(doc.paths['/readyz'].get.security).toEqual([]);
    });
  });
}

describeLive('SQLite', async () => undefined);

let pg: RunningPostgres | undefined;
afterAll(async () => {
  await pg?.stop();
}, 30_000);
describeLive('PostgreSQL', async () => {
  pg ??= await startPostgres();
  return pg.createDatabase('http_live');
});
