/**
 * `voice-access serve --sip-engine drachtio`: choosing the engine (command line over VA_DRACHTIO_SECRET over the
 * directory's `sip:` settings), the named errors when drachtio-server cannot be used, and the composition root wired
 * to the drachtio engine: a call from a UM IP gateway reaches the shared runtime and flows through the real
 * drachtio-srf (against the wire-protocol stand-in, test/sip/drachtio/fake-drachtio-server.ts).
 */
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { runServeCli, resolveSipEngine, startServer, type RunningServer } from '../../../src/cli/serve';
import { parseDirectory } from '../../../src/config/load';
import { SipSettingsSchema } from '../../../src/config/schema';
import { isVaError } from '../../../src/errors';
import { createLogger } from '../../../src/log';
import { captureIo, tempDir, writeConfig, closedPort } from '../../helpers';
import { DEFAULT_OFFER } from '../../contract/call-source-contract';
import { FakeDrachtioServer, sipMessage } from './fake-drachtio-server';

const SECRET = 'serve-secret-42';
const defaults = SipSettingsSchema.parse({});


async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('choosing the SIP engine', () => {
  test('embedded by default; the directory file can choose drachtio; the command line and VA_DRACHTIO_SECRET override it', () => {
    expect(resolveSipEngine({}, defaults, {})).toEqual({ name: 'embedded' });
    const configured = SipSettingsSchema.parse({ engine: 'drachtio', drachtio: { host: 'drachtio.internal', port: 9023, secret: 'from-file', connectTimeoutSeconds: 3 } });
    expect(resolveSipEngine({}, configured, {})).toEqual({ name: 'drachtio', drachtio: { host: 'drachtio.internal', port: 9023, secret: 'from-file', connectTimeoutMs: 3000 } });
    expect(resolveSipEngine({}, configured, { VA_DRACHTIO_SECRET: 'from-env' })).toMatchObject({ drachtio: { secret: 'from-env' } });
    expect(resolveSipEngine({ drachtio: { host: '10.0.0.5', port: 9030, secret: 'from-cli' } }, configured, { VA_DRACHTIO_SECRET: 'from-env' })).toMatchObject({
      drachtio: { host: '10.0.0.5', port: 9030, secret: 'from-cli' },
    });
    expect(resolveSipEngine({ sipEngine: 'embedded' }, configured, {})).toEqual({ name: 'embedded' });
    expect(resolveSipEngine({ sipEngine: 'drachtio', drachtio: { secret: 's' } }, defaults, {})).toEqual({
      name: 'drachtio',
      drachtio: { host: '127.0.0.1', port: 9022, secret: 's', connectTimeoutMs: 10_000 },
    });
  });

  test('the drachtio engine without a secret is a command-line error', () => {
    let err: unknown;
    try {
      resolveSipEngine({ sipEngine: 'drachtio' }, defaults, {});
    } catch (e) {
      err = e;
    }
    expect(isVaError(err, 'VA_ERR_CLI_PARAMETER')).toBe(true);
    expect((err as Error).message).toMatch(/--drachtio-secret, VA_DRACHTIO_SECRET, or sip\.drachtio\.secret/);
  });

  test('the directory file: sip.engine and sip.drachtio are validated like every other key', () => {
    const base = { organization: 'Contoso', dialPlans: [{ name: 'dp', numberOfDigitsInExtension: 5 }] };
    expect(parseDirectory(stringify({ ...base, sip: { engine: 'drachtio', drachtio: { secret: 'x' } } })).sip).toEqual({
      engine: 'drachtio',
      drachtio: { host: '127.0.0.1', port: 9022, secret: 'x', connectTimeoutSeconds: 10 },
      maxCallsAllowed: null,
      memoryBudgetMB: null,
      retryAfterSeconds: 5,
      limits: { maxMessageBytes: 65_536, maxHeaders: 256, maxHeaderLineBytes: 8192 },
      floodLimit: { enabled: true, requests: 50, windowMs: 1000, blockMs: 60_000, gatewayRequests: 20_000 },
    });
    expect(() => parseDirectory(stringify({ ...base, sip: { engine: 'freeswitch' } }))).toThrow(/sip\.engine/);
    expect(() => parseDirectory(stringify({ ...base, sip: { drachtio: { port: 0 } } }))).toThrow(/sip\.drachtio\.port/);
    expect(() => parseDirectory(stringify({ ...base, sip: { drachtio: { password: 'x' } } }))).toThrow(/sip\.drachtio/);
  });
});

describe('voice-access serve --sip-engine drachtio: errors', () => {
  let dir: string;
  let config: string;
  beforeAll(() => {
    dir = tempDir('va-serve-drachtio-');
    config = writeConfig(dir, (doc) => {
      doc.sip = { drachtio: { connectTimeoutSeconds: 1 } };
    });
  });

  test('a bad --sip-engine or --drachtio, or --drachtio with --sip-engine embedded: exit 2', async () => {
    const io1 = captureIo();
    expect(await runServeCli(['--sip-engine', 'kamailio', '--config', config, '--data', path.join(dir, 'd1')], io1)).toBe(2);
    expect(io1.stderr).toMatch(/must be embedded or drachtio/);
    const io2 = captureIo();
    expect(await runServeCli(['--drachtio', 'host:99999', '--config', config, '--data', path.join(dir, 'd1')], io2)).toBe(2);
    expect(io2.stderr).toMatch(/must be HOST:PORT/);
    const io3 = captureIo();
    expect(await runServeCli(['--sip-engine', 'embedded', '--drachtio', '127.0.0.1:9022', '--config', config, '--data', path.join(dir, 'd1')], io3)).toBe(2);
    expect(io3.stderr).toMatch(/go with --sip-engine drachtio/);
  });

  test('no secret anywhere: exit 2 naming the three places', async () => {
    const io = captureIo();
    const saved = process.env.VA_DRACHTIO_SECRET;
    delete process.env.VA_DRACHTIO_SECRET;
    try {
      expect(await runServeCli(['--drachtio', '127.0.0.1:9022', '--config', config, '--data', path.join(dir, 'd2')], io)).toBe(2);
    } finally {
      if (saved !== undefined) process.env.VA_DRACHTIO_SECRET = saved;
    }
    expect(io.stderr).toMatch(/^VA_ERR_CLI_PARAMETER: the drachtio engine needs drachtio-server's shared secret/);
  });

  test('drachtio-server not reachable: exit 1 with VA_ERR_DRACHTIO_CONNECT; the secret is not printed', async () => {
    const port = await closedPort();
    const io = captureIo();
    const code = await runServeCli(['--sip-engine', 'drachtio', '--drachtio', `127.0.0.1:${port}`, '--drachtio-secret', SECRET, '--config', config, '--data', path.join(dir, 'd3'), '--rtp-ports', '40000-40100'], io);
    expect(code).toBe(1);
    expect(io.stderr).toMatch(new RegExp(`^VA_ERR_DRACHTIO_CONNECT: cannot connect to drachtio-server at 127\\.0\\.0\\.1:${port} within 1000 ms .*ECONNREFUSED`));
    expect(io.stderr).not.toContain(SECRET);
  });

  test('a secret drachtio-server refuses: exit 1 with VA_ERR_DRACHTIO_AUTH', async () => {
    const fake = await FakeDrachtioServer.start({ secret: SECRET });
    try {
      const io = captureIo();
      const code = await runServeCli(['--drachtio', `127.0.0.1:${fake.port}`, '--drachtio-secret', 'not-the-secret', '--config', config, '--data', path.join(dir, 'd4'), '--rtp-ports', '40000-40100'], io);
      expect(code).toBe(1);
      expect(io.stderr).toMatch(/^VA_ERR_DRACHTIO_AUTH: drachtio-server at 127\.0\.0\.1:\d+ refused the shared secret/);
      expect(io.stderr).not.toContain('not-the-secret');
    } finally {
      await fake.close();
    }
  });
});

describe('startServer with the drachtio engine', () => {
  let fake: FakeDrachtioServer;
  let server: RunningServer;
  let stopped = false;
  const logLines: string[] = [];
  beforeAll(async () => {
    fake = await FakeDrachtioServer.start({ secret: SECRET, hostport: 'udp/127.0.0.1:5080,tcp/127.0.0.1:5080' });
    const dir = tempDir('va-serve-drachtio-run-');
    const config = writeConfig(dir);
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString('utf8').split('\n')) if (l) logLines.push(l);
        cb();
      },
    });
    server = await startServer({
      config,
      data: path.join(dir, 'data'),
      sipHost: '127.0.0.1',
      sipPort: 0,
      rtpPortMin: 0,
      rtpPortMax: 0,
      logger: createLogger({ level: 'info', destination }),
      sipEngine: 'drachtio',
      drachtio: { host: '127.0.0.1', port: fake.port, secret: SECRET },
    });
  });
  afterAll(async () => {
    if (server && !stopped) await server.stop();
    await fake.close();
  });

  test("the engine reports drachtio-server's SIP addresses; the runtime answers a gateway's call; stop() ends it with BYE", async () => {
    expect(server.engine).toBe('drachtio');
    expect(server.sip).toEqual({ host: '127.0.0.1', port: 5080 });
    expect(server.sipAddresses).toEqual(['udp:127.0.0.1:5080', 'tcp:127.0.0.1:5080']);
    await until(() => fake.routes.includes('invite') && fake.routes.includes('subscribe'), 2000, 'the routes');
    fake.deliver(
      sipMessage(
        'INVITE sip:14255550100@127.0.0.1:5080 SIP/2.0',
        [
          ['Via', 'SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKserve1;rport'],
          ['From', '"Caller" <sip:4255550101@127.0.0.1:5062>;tag=c1'],
          ['To', '<sip:14255550100@127.0.0.1:5080>'],
          ['Call-ID', 'serve-call-1@test'],
          ['CSeq', '1 INVITE'],
          ['Contact', '<sip:caller@127.0.0.1:5062>'],
          ['Content-Type', 'application/sdp'],
        ],
        DEFAULT_OFFER,
      ),
    );
    const ok = await fake.nextSip(/^SIP\/2\.0 \d+/, 5000);
    expect(ok.parsed.status).toBe(200);
    expect(ok.parsed.body).toMatch(/^c=IN IP4 127\.0\.0\.1/m);
    fake.confirm(ok, { dialogId: 'serve-dlg-1' });
    // The caller's ACK, which drachtio-server hands to the dialog: the answer is complete only then.
    fake.deliver(
      sipMessage(
        'ACK sip:voice-access@127.0.0.1:5080 SIP/2.0',
        [
          ['Via', 'SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKserve1ack;rport'],
          ['From', '"Caller" <sip:4255550101@127.0.0.1:5062>;tag=c1'],
          ['To', '<sip:14255550100@127.0.0.1:5080>;tag=srvtag'],
          ['Call-ID', 'serve-call-1@test'],
          ['CSeq', '1 ACK'],
        ],
        '',
      ),
      { dialogId: 'serve-dlg-1' },
    );
    await until(() => logLines.some((l) => l.includes('"msg":"call answered"') && l.includes('serve-call-1@test')), 3000, 'the runtime to answer');
    stopped = true;
    const stopping = server.stop();
    const bye = await fake.nextSip(/^BYE /, 3000);
    expect(bye.args[1]).toBe('serve-dlg-1');
    const txn = fake.confirm(bye);
    fake.respond(txn, sipMessage('SIP/2.0 200 OK', [['Call-ID', 'serve-call-1@test'], ['CSeq', '2 BYE'], ['From', '<sip:x@127.0.0.1>;tag=srvtag'], ['To', '<sip:y@127.0.0.1>;tag=c1']]), 'serve-dlg-1');
    await stopping;
    expect(logLines.join('\n')).not.toContain(SECRET);
  });
});
