/**
 * The admin center's HTTP API (issue 21) in a real `serve` (startServer with the API on 127.0.0.1:0), on SQLite and
 * on PostgreSQL (`bench/servers/postgres-server.ts`), through node's fetch: keys and roles (401, 403, 200), a PIN reset that changes the store and leaves an audit line
 * without the PIN, problem bodies, `/openapi.json`, `/status`, `/metrics`; and nothing secret in the log.
 */
import { Writable } from 'node:stream';
import * as path from 'node:path';
import { findCmdlet } from '../../src/admin/cmdlets';
import { startServer, type RunningServer } from '../../src/cli/serve';
import { verifyPin } from '../../src/domain/pin-hash';
import { createLogger } from '../../src/log';
import { ADMIN_ROLES, type AdminRole } from '../../src/domain/admin-roles';
import { captureIo, tempDir, writeConfig } from '../helpers';
import { main } from '../../src/cli/main';
import { startPostgres, type RunningPostgres } from '../../bench/servers/postgres-server';

const TONY = 'tony@contoso.com';

/** `secret` not inside a longer run of digits or key characters (a PIN's digits may occur inside a timestamp). */
const alone = (secret: string) => new RegExp(`(?<![0-9A-Za-z_-])${secret.replace(/[^0-9A-Za-z_-]/g, '')}(?![0-9A-Za-z_-])`);

/**
 * Registers the cases on one store.
 * @param storeUrl the store's URL, or undefined for SQLite in the data folder
 */
function describeHttpApi(name: string, storeUrl: () => Promise<string | undefined>): void {
  describe(`HTTP API on ${name}`, () => {
    let server: RunningServer;
    let base: string;
    let data: string;
    let config: string;
    let store: string | undefined;
    const logged: string[] = [];
    const keys = {} as Record<AdminRole, string>;

    beforeAll(async () => {
      const dir = tempDir('va-http-');
      config = writeConfig(dir);
      data = path.join(dir, 'data');
      const destination = new Writable({
        write(chunk, _enc, done) {
          logged.push(String(chunk));
          done();
        },
      });
      store = await storeUrl();
      server = await startServer({ config, data, store, sipHost: '127.0.0.1', sipPort: 0, rtpPortMin: 0, rtpPortMax: 0, logger: createLogger({ level: 'info', destination }), http: '127.0.0.1:0' });
      base = server.http!.url;
      for (const role of ADMIN_ROLES) {
        const [out] = await findCmdlet('New-VaApiKey')!.run(server.app, { Name: role, Role: role });
        keys[role] = out.Key as string;
      }
    }, 60_000);

    afterAll(async () => {
      await server?.stop();
    });

    const call = (method: string, url: string, role?: AdminRole | string, body?: unknown) =>
      fetch(`${base}${url}`, {
        method,
        headers: {
          ...(role === undefined ? {} : { authorization: `Bearer ${(keys as Record<string, string>)[role] ?? role}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    test('the API listens on loopback with the bound port; keys are made once, stored hashed', async () => {
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(keys['View-Only']).toMatch(/^va_[A-Za-z0-9_-]{43}$/);
      const listed = await findCmdlet('Get-VaApiKey')!.run(server.app, {});
      expect(listed.map((k) => k.Name)).toEqual([...ADMIN_ROLES].sort((a, b) => a.localeCompare(b)));
      expect(JSON.stringify(listed)).not.toContain(keys['View-Only']);
    });

    test('a mailbox is UM-enabled, changed and disabled over the API (Enable-/Set-/Disable-UMMailbox), audited, never with its PIN', async () => {
      const identity = 'adele@contoso.com';
      const body = { Identity: identity, Extensions: '51299', UMMailboxPolicy: 'Contoso-Policy', DisplayName: 'Adele Vance', Pin: '864209' };
      expect((await call('POST', '/api/mailboxes', 'View-Only', body)).status).toBe(403);
      const created = await call('POST', '/api/mailboxes', 'UM Management', body);
      expect(created.status).toBe(201);
      const made = (await created.json()) as Record<string, unknown>;
      expect(made).toMatchObject({ Identity: identity, Extensions: ['51299'], UMMailboxPolicy: 'Contoso-Policy', UMEnabled: true });
      expect(JSON.stringify(made)).not.toMatch(alone('864209'));
      expect(await verifyPin('864209', (await server.app.store.getMailbox(identity)).pinHash)).toBe(true);
      // The same extension again: the cmdlet's refusal, as a problem body.
      const again = await call('POST', '/api/mailboxes', 'UM Management', { ...body, Identity: 'other@contoso.com' });
      expect(again.status).toBeGreaterThanOrEqual(400);
      expect(((await again.json()) as { code: string }).code).toMatch(/^VA_ERR_/);

      const changed = await call('PATCH', `/api/mailboxes/${identity}`, 'UM Management', { DisplayName: 'Adele V.', UMSMSNotificationOption: 'VoiceMail', MobileNumber: '+14255550177' });
      expect(changed.status).toBe(204); // Set-UMMailbox prints nothing
      expect(await server.app.store.getMailbox(identity)).toMatchObject({ displayName: 'Adele V.', smsNotificationOption: 'VoiceMail', mobileNumber: '+14255550177' });
      expect((await call('PATCH', `/api/mailboxes/${identity}`, 'UM Management', { Extensions: '1' })).status).toBe(400);

      expect((await call('DELETE', `/api/mailboxes/${identity}`, 'View-Only')).status).toBe(403);
      expect((await call('DELETE', `/api/mailboxes/${identity}`, 'UM Management')).status).toBe(204);
      expect(await server.app.store.findMailbox(identity)).toBeUndefined();
      expect((await call('GET', `/api/mailboxes/${identity}`, 'View-Only')).status).toBe(404);

      const audit = (await (await call('GET', '/api/audit?ResultSize=10', 'Organization Management')).json()) as Array<Record<string, unknown>>;
      expect(audit.filter((a) => a.ObjectModified === identity).map((a) => a.CmdletName)).toEqual(expect.arrayContaining(['Enable-UMMailbox', 'Set-UMMailbox', 'Disable-UMMailbox']));
      expect(JSON.stringify(audit)).not.toMatch(alone('864209'));
    });

    test('/status needs no key: ok, not draining, no calls, the store answers', async () => {
      const r = await call('GET', '/status');
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ status: 'ok', draining: false, calls: 0, store: 'ok' });
    });

    test('401 without a key or with an unknown one, as a problem body; logged without the key', async () => {
      for (const r of [await call('GET', '/api/mailboxes'), await call('GET', '/api/mailboxes', 'va_not-a-key'), await call('GET', '/metrics', 'va_not-a-key')]) {
        expect(r.status).toBe(401);
        expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(await r.json()).toMatchObject({ status: 401, title: 'Unauthorized', code: 'VA_ERR_HTTP_UNAUTHORIZED', type: expect.any(String), detail: expect.any(String) });
      }
      const refused = logged.filter((l) => l.includes('request refused'));
      expect(refused.length).toBeGreaterThanOrEqual(3);
      expect(refused.join('')).not.toContain('va_not-a-key');
    });

    test('403 for a missing right (View-Only and conferencing resetting a mailbox PIN; UM Management reading the audit log)', async () => {
      for (const role of ['View-Only', 'Audio Conferencing Administrator'] as const) {
        const r = await call('POST', `/api/mailboxes/${TONY}/pin`, role, { SendEmail: false });
        expect(r.status).toBe(403);
        expect(await r.json()).toMatchObject({ status: 403, code: 'VA_ERR_HTTP_FORBIDDEN' });
      }
      expect((await call('GET', '/api/audit', 'UM Management')).status).toBe(403);
      expect((await call('POST', '/api/keys', 'UM Management', { Name: 'x', Role: 'View-Only' })).status).toBe(403);
      expect(logged.join('')).not.toContain(keys['View-Only']);
    });

    test('View-Only reads: mailboxes, PIN state without a PIN, metrics', async () => {
      const list = await call('GET', '/api/mailboxes', 'View-Only');
      expect(list.status).toBe(200);
      expect(((await list.json()) as Array<{ Identity: string }>).map((m) => m.Identity)).toContain(TONY);
      const pin = await call('GET', `/api/mailboxes/${TONY}/pin`, 'View-Only');
      expect(pin.status).toBe(200);
      const body = (await pin.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ Identity: TONY, PinExpired: true, LockedOut: false });
      expect(body).not.toHaveProperty('Pin');
      expect(((await (await call('GET', '/api/pins', 'View-Only')).json()) as unknown[]).length).toBeGreaterThan(1);
      const metrics = await call('GET', '/metrics', 'View-Only');
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await metrics.text()).toContain('va_calls_refused_total');
    });

    test('UM Management resets a PIN: generated and shown once, the store changes, the audit line has no PIN', async () => {
      const before = (await server.app.store.getMailbox(TONY)).pinHash;
      const r = await call('POST', `/api/mailboxes/${TONY}/pin`, 'UM Management', { SendEmail: false });
      expect(r.status).toBe(200);
      expect(r.headers.get('cache-control')).toBe('no-store');
      const out = (await r.json()) as { Pin: string; PinExpired: boolean; PinGenerated: boolean; LockedOut: boolean };
      expect(out).toMatchObject({ Identity: TONY, PinExpired: true, PinGenerated: true, LockedOut: false });
      expect(out.Pin).toMatch(/^[0-9]{6,}$/);
      const after = (await server.app.store.getMailbox(TONY)).pinHash;
      expect(after).not.toBe(before);
      expect(await verifyPin(out.Pin, after)).toBe(true);

      const given = await call('POST', `/api/mailboxes/${TONY}/pin`, 'UM Management', { Pin: '739251', PinExpired: false, SendEmail: false });
      expect(given.status).toBe(200);
      expect(await given.json()).toMatchObject({ PinExpired: false, PinGenerated: false });
      expect(await verifyPin('739251', (await server.app.store.getMailbox(TONY)).pinHash)).toBe(true);

      const audit = await server.app.store.admin.searchAuditLog({ cmdlets: ['Set-UMMailboxPIN'] });
      expect(audit.slice(0, 2)).toEqual([
        expect.objectContaining({ who: 'UM Management', address: '127.0.0.1', action: 'Set-UMMailboxPIN', target: TONY, parameters: { Identity: TONY, PinExpired: false, SendEmail: false }, succeeded: true, errorCode: null }),
        expect.objectContaining({ who: 'UM Management', action: 'Set-UMMailboxPIN', parameters: { Identity: TONY, SendEmail: false }, succeeded: true }),
      ]);
      const everything = JSON.stringify(audit) + logged.join('');
      for (const secret of [out.Pin, '739251', keys['UM Management']]) expect(everything).not.toMatch(alone(secret));
    });

    test('problem bodies: 400 for a bad or unknown parameter, 404 for an unknown mailbox or route, 422 for a PIN the policy refuses', async () => {
      const cases: Array<[unknown, number, string, RegExp?]> = [
        [{ Pin: '12ab' }, 400, 'VA_ERR_CLI_PARAMETER', /Pin/],
        [{ Nonsense: true }, 400, 'VA_ERR_CLI_PARAMETER'],
        [{ PinExpired: 'yes' }, 400, 'VA_ERR_CLI_PARAMETER'],
        [{ Pin: '12' }, 422, 'VA_ERR_PIN_POLICY'],
      ];
      for (const [body, status, code, detail] of cases) {
        const r = await call('POST', `/api/mailboxes/${TONY}/pin`, 'Organization Management', body);
        const p = (await r.json()) as { status: number; code: string; detail: string };
        expect([r.status, p.status, p.code]).toEqual([status, status, code]);
        if (detail) expect(p.detail).toMatch(detail);
      }
      const missing = await call('POST', '/api/mailboxes/nobody@contoso.com/pin', 'UM Management', {});
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ code: 'VA_ERR_NOT_FOUND' });
      const text = await fetch(`${base}/api/mailboxes/${TONY}/pin`, { method: 'POST', headers: { authorization: `Bearer ${keys['UM Management']}`, 'content-type': 'text/plain' }, body: 'Pin=1' });
      expect(text.status).toBe(415);
      expect(await text.json()).toMatchObject({ status: 415, title: 'Unsupported Media Type', code: 'VA_ERR_CLI_PARAMETER', type: 'urn:voice-access:error:VA_ERR_CLI_PARAMETER' });
      const broken = await fetch(`${base}/api/mailboxes/${TONY}/pin`, { method: 'POST', headers: { authorization: `Bearer ${keys['UM Management']}`, 'content-type': 'application/json' }, body: '{"Pin":' });
      expect([broken.status, ((await broken.json()) as { code: string }).code]).toEqual([400, 'VA_ERR_CLI_PARAMETER']);
      const route = await call('GET', '/api/nothing', 'View-Only');
      expect(route.status).toBe(404);
      expect(await route.json()).toMatchObject({ code: 'VA_ERR_HTTP' });
      // The failed change is in the audit log too, with its code.
      const [failed] = await server.app.store.admin.searchAuditLog({ cmdlets: ['Set-UMMailboxPIN'], resultSize: 1 });
      expect(failed).toMatchObject({ target: 'nobody@contoso.com', succeeded: false, errorCode: 'VA_ERR_NOT_FOUND' });
    });

    test('UM Management changes policies and gateways; View-Only cannot', async () => {
      expect((await call('PATCH', '/api/policies/Contoso-Policy', 'View-Only', { MinPINLength: 7 })).status).toBe(403);
      expect((await call('PATCH', '/api/policies/Contoso-Policy', 'UM Management', { MinPINLength: 7, MaxLogonAttempts: 'Unlimited' })).status).toBe(204);
      expect(await (await call('GET', '/api/policies/Contoso-Policy', 'View-Only')).json()).toMatchObject({ Name: 'Contoso-Policy', MinPINLength: 7, MaxLogonAttempts: 'Unlimited' });
      const conflict = await call('PATCH', '/api/policies/Contoso-Policy', 'UM Management', { MinPINLength: 99 });
      expect([conflict.status, ((await conflict.json()) as { code: string }).code]).toEqual([400, 'VA_ERR_CLI_PARAMETER']);
      const made = await call('POST', '/api/gateways', 'UM Management', { Name: 'gw9', Address: '127.0.0.9', UMDialPlan: 'Contoso-DP' });
      expect(made.status).toBe(201);
      expect(await made.json()).toMatchObject({ Name: 'gw9', Address: '127.0.0.9', Status: 'Enabled' });
      expect((await call('POST', '/api/gateways', 'UM Management', { Name: 'gw9', Address: '127.0.0.9', UMDialPlan: 'Contoso-DP' })).status).toBe(409);
      expect((await call('PATCH', '/api/gateways/gw9', 'UM Management', { Status: 'NoNewCalls' })).status).toBe(204);
      expect((await server.app.store.getGateway('gw9')).status).toBe('NoNewCalls');
      expect((await call('DELETE', '/api/gateways/gw9', 'UM Management')).status).toBe(204);
      expect((await call('DELETE', '/api/gateways/gw9', 'UM Management')).status).toBe(404);
      expect(await (await call('GET', `/api/mailboxes/${TONY}/messages`, 'View-Only')).json()).toEqual([]);
    });

    test('Audio Conferencing Administrator resets a leader PIN: shown once, masked on reads, not in the audit log', async () => {
      const amos = 'amos.marble@contoso.com';
      expect((await call('PATCH', `/api/conferencing/users/${amos}`, 'UM Management', { ResetLeaderPIN: true })).status).toBe(403);
      const r = await call('PATCH', `/api/conferencing/users/${amos}`, 'Audio Conferencing Administrator', { ResetLeaderPIN: true });
      expect(r.status).toBe(200);
      const { LeaderPin } = (await r.json()) as { LeaderPin: string };
      expect(LeaderPin).toMatch(/^[0-9]{4,12}$/);
      const users = (await (await call('GET', '/api/conferencing/users', 'View-Only')).json()) as Array<{ Identity: string; LeaderPin: string }>;
      expect(users.find((u) => u.Identity === amos)!.LeaderPin).toBe('*****');
      expect((await call('PATCH', '/api/conferencing/settings', 'Audio Conferencing Administrator', { PinLength: 6 })).status).toBe(204);
      expect(await (await call('GET', '/api/conferencing/settings', 'View-Only')).json()).toMatchObject({ PinLength: 6 });
      const [line] = await server.app.store.admin.searchAuditLog({ cmdlets: ['Set-CsOnlineDialInConferencingUser'], resultSize: 1 });
      expect(line).toMatchObject({ who: 'Audio Conferencing Administrator', target: amos, parameters: { Identity: amos, ResetLeaderPIN: true }, succeeded: true });
      expect(JSON.stringify(await server.app.store.admin.searchAuditLog({})) + logged.join('')).not.toMatch(alone(LeaderPin));
    });

    test('Organization Management: keys and the audit log (Search-AdminAuditLog) through the API', async () => {
      const made = await call('POST', '/api/keys', 'Organization Management', { Name: 'robot', Role: 'View-Only' });
      expect(made.status).toBe(201);
      const { Key } = (await made.json()) as { Key: string };
      expect((await call('GET', '/api/mailboxes', Key)).status).toBe(200);
      expect((await call('POST', '/api/keys', 'Organization Management', { Name: 'ROBOT', Role: 'View-Only' })).status).toBe(409);
      expect((await call('DELETE', '/api/keys/robot', 'Organization Management')).status).toBe(204);
      expect((await call('GET', '/api/mailboxes', Key)).status).toBe(401);
      const r = await call('GET', '/api/audit?Cmdlets=New-VaApiKey,Remove-VaApiKey&ResultSize=2', 'Organization Management');
      expect(r.status).toBe(200);
      const lines = (await r.json()) as Array<Record<string, unknown>>;
      expect(lines.map((l) => [l.CmdletName, l.ObjectModified, l.Caller, l.Succeeded])).toEqual([
        ['Remove-VaApiKey', 'robot', 'Organization Management', true],
        ['New-VaApiKey', 'ROBOT', 'Organization Management', false],
      ]);
      expect((await call('GET', '/api/audit?StartDate=yesterday-ish', 'Organization Management')).status).toBe(400);
      expect(JSON.stringify(lines)).not.toContain(Key);
    });

    test('/openapi.json: an OpenAPI 3 document with every route, made from the cmdlets\' parameter specs', async () => {
      const r = await call('GET', '/openapi.json');
      expect(r.status).toBe(200);
      const doc = (await r.json()) as { openapi: string; info: { title: string; version: string }; paths: Record<string, Record<string, any>>; components: any };
      expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
      expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
      for (const p of ['/status', '/metrics', '/api/mailboxes', '/api/mailboxes/{identity}/pin', '/api/audit', '/openapi.json']) expect(doc.paths).toHaveProperty([p]);
      for (const [p, ops] of Object.entries(doc.paths)) {
        expect(p.startsWith('/')).toBe(true);
        for (const [method, op] of Object.entries(ops)) {
          expect(['get', 'post', 'patch', 'delete']).toContain(method);
          expect(Object.keys(op.responses).length).toBeGreaterThan(0);
          for (const param of op.parameters ?? []) if (param.in === 'path') expect(p).toContain(`{${param.name}}`);
        }
      }
      const body = doc.paths['/api/mailboxes/{identity}/pin'].post.requestBody.content['application/json'].schema;
      expect(body.additionalProperties).toBe(false);
      expect(body.properties.Pin).toMatchObject({ type: 'string', pattern: '^[0-9]+$' });
      expect(body.properties.PinExpired).toMatchObject({ type: 'boolean' });
      expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    });

    test('a change made with a cmdlet on the command line is audited as cli, a read is not', async () => {
      const io = captureIo();
      const code = await main(['--data', data, '--config', config, ...(store ? ['--store', store] : []), 'Set-UMMailboxPIN', 'david@contoso.com', '-SendEmail', '$false'], io, {});
      expect([code, io.stderr]).toEqual([0, '']);
      expect(await main(['--data', data, ...(store ? ['--store', store] : []), 'Get-UMMailboxPIN', 'david@contoso.com'], captureIo(), {})).toBe(0);
      const [line] = await server.app.store.admin.searchAuditLog({ resultSize: 1 });
      expect(line).toMatchObject({ who: 'cli', address: null, action: 'Set-UMMailboxPIN', target: 'david@contoso.com', parameters: { Identity: 'david@contoso.com', SendEmail: false }, succeeded: true });
    });

    test('stopping: the API keeps answering while the calls end, then closes', async () => {
      const steps: string[] = [];
      const stopping = server.stop((s) => steps.push(s));
      await stopping;
      expect(steps.slice(0, 2)).toEqual(['calls', 'http']);
      await expect(fetch(`${base}/status`)).rejects.toThrow();
    });
  });
}

describeHttpApi('SQLite', async () => undefined);

let pg: RunningPostgres | undefined;
afterAll(async () => {
  await pg?.stop();
}, 30_000);
describeHttpApi('PostgreSQL', async () => {
  pg ??= await startPostgres();
  return pg.createDatabase('http');
});
