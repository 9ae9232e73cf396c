/**
 * The real drachtio-srf 5.0.x package behind our boundary (`src/sip/drachtio/drachtio-srf.ts`), against a stand-in
 * for drachtio-server's admin port that speaks its wire protocol ({@link FakeDrachtioServer}): connecting,
 * authentication failures, reconnects, and a call, an INFO digit, BYEs, an unsolicited NOTIFY and a subscription
 * going through the real library. This is what checks that our narrow typings match what drachtio-srf really does.
 */
import { Writable } from 'node:stream';
import * as net from 'node:net';
import pino, { type Logger } from 'pino';
import { admitSource, type Admission } from '../../../src/domain/gateway-admission';
import { isVaError } from '../../../src/errors';
import { MediaEngine } from '../../../src/media/media-engine';
import { systemClock } from '../../../src/ports/clock';
import type { IncomingCall } from '../../../src/ports/call-channel';
import type { IncomingSubscription } from '../../../src/ports/mwi';
import { PromptCatalog } from '../../../src/prompts/catalog';
import { DrachtioConnection } from '../../../src/sip/drachtio/drachtio-connection';
import { startDrachtioSignalling, type DrachtioSignalling } from '../../../src/sip/drachtio/drachtio-signalling';
import { tempDir, closedPort } from '../../helpers';
import { DEFAULT_OFFER } from '../../contract/call-source-contract';
import { FakeDrachtioServer, parseSip, sipMessage } from './fake-drachtio-server';

const SECRET = 'cymru-7f3a9c';

function capturedLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(l);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, destination), lines };
}

async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}


describe('drachtio-srf admin connection (real package, wire-protocol stand-in)', () => {
  let server: FakeDrachtioServer;
  beforeEach(async () => {
    server = await FakeDrachtioServer.start({ secret: SECRET });
  });
  afterEach(async () => {
    await server.close();
  });

  test('connects, authenticates with the secret, reports the SIP addresses, and closes', async () => {
    const { logger, lines } = capturedLogger();
    const conn = await DrachtioConnection.open({ host: '127.0.0.1', port: server.port, secret: SECRET, logger });
    expect(conn.connected).toBe(true);
    expect(conn.sipAddresses).toEqual([
      { transport: 'udp', host: '127.0.0.1', port: 5060 },
      { transport: 'tcp', host: '127.0.0.1', port: 5060 },
    ]);
    expect(server.secrets).toEqual([SECRET]);
    conn.close();
    await until(() => !server.hasClient, 2000, 'the admin connection to close');
    await new Promise((r) => setTimeout(r, 300));
    expect(server.connections).toBe(1); // no reconnect after close()
    expect(lines.join('\n')).toContain('connected to drachtio-server');
    expect(lines.join('\n')).not.toContain(SECRET);
  });

  test('a wrong secret is VA_ERR_DRACHTIO_AUTH, and it does not keep retrying', async () => {
    const { logger, lines } = capturedLogger();
    const err = await DrachtioConnection.open({ host: '127.0.0.1', port: server.port, secret: 'wrong-secret', logger, connectTimeoutMs: 3000 }).catch((e: unknown) => e);
    expect(isVaError(err, 'VA_ERR_DRACHTIO_AUTH')).toBe(true);
    expect((err as Error).message).toMatch(/refused the shared secret/);
    expect((err as Error).message).not.toContain('wrong-secret');
    await new Promise((r) => setTimeout(r, 600));
    expect(server.connections).toBe(1);
    expect(lines.join('\n')).not.toContain('wrong-secret');
  });

  test('nothing listening: VA_ERR_DRACHTIO_CONNECT after the timeout, naming the address and the socket error; attempts are logged', async () => {
    const { logger, lines } = capturedLogger();
    const port = await closedPort();
    const started = Date.now();
    const err = await DrachtioConnection.open({ host: '127.0.0.1', port, secret: SECRET, logger, connectTimeoutMs: 700 }).catch((e: unknown) => e);
    expect(isVaError(err, 'VA_ERR_DRACHTIO_CONNECT')).toBe(true);
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(650);
    expect(lines.some((l) => l.includes('reconnecting to drachtio-server'))).toBe(true);
    expect(lines.join('\n')).not.toContain(SECRET);
    // Stopped retrying: a server that appears on that port now gets no connection.
    const late = net.createServer();
    let connections = 0;
    late.on('connection', (s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => late.listen(port, '127.0.0.1', r));
    await new Promise((r) => setTimeout(r, 800));
    await new Promise<void>((r) => late.close(() => r()));
    expect(connections).toBe(0);
  });

  test('a lost connection is logged and drachtio-srf reconnects on its own', async () => {
    const { logger, lines } = capturedLogger();
    const conn = await DrachtioConnection.open({ host: '127.0.0.1', port: server.port, secret: SECRET, logger });
    server.dropClient();
    await until(() => lines.some((l) => l.includes('lost the connection to drachtio-server')), 2000, 'the loss to be logged');
    expect(conn.connected).toBe(false);
    await until(() => conn.connected, 3000, 'the reconnection');
    expect(server.connections).toBe(2);
    expect(lines.some((l) => l.includes('reconnected to drachtio-server'))).toBe(true);
    conn.close();
  });
});

describe('the drachtio engine through the real drachtio-srf (wire-protocol stand-in)', () => {
  let server: FakeDrachtioServer;
  let media: MediaEngine;
  let engine: DrachtioSignalling;
  /** A refusal the load guard would make (MaxCallsAllowed), ahead of the gateway rule; none by default. */
  let refusal: Admission | null = null;
  /** What the engine logged in this test. */
  let logLines: string[];
  beforeEach(async () => {
    refusal = null;
    const captured = capturedLogger();
    logLines = captured.lines;
    server = await FakeDrachtioServer.start({ secret: SECRET });
    media = await MediaEngine.start({ host: '127.0.0.1', portMin: 0, portMax: 0 });
    engine = await startDrachtioSignalling({
      host: '127.0.0.1',
      port: server.port,
      secret: SECRET,
      media,
      mediaAddress: '127.0.0.1',
      admit: (address) => refusal ?? admitSource(address, [{ name: 'pbx', address: '127.0.0.1', status: 'Enabled' }]),
      clock: systemClock,
      catalog: PromptCatalog.load(),
      recordingsDir: tempDir('va-drachtio-wire-'),
      logger: captured.logger,
      stopTimeoutMs: 500,
    });
    await until(() => server.routes.includes('invite') && server.routes.includes('subscribe'), 2000, 'the routes');
  });
  afterEach(async () => {
    await engine.stop();
    await media.stop();
    await server.close();
  });

  const invite = (callId: string, user = '14255550100') =>
    sipMessage(
      `INVITE sip:${user}@127.0.0.1:5060 SIP/2.0`,
      [
        ['Via', 'SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKabc1;rport'],
        ['From', '"Test" <sip:4255550101@127.0.0.1:5062>;tag=caller1'],
        ['To', `<sip:${user}@127.0.0.1:5060>`],
        ['Call-ID', callId],
        ['CSeq', '1 INVITE'],
        ['Contact', '<sip:caller@127.0.0.1:5062>'],
        ['Diversion', '<sip:51235@pbx>;reason=no-answer'],
        ['Content-Type', 'application/sdp'],
      ],
      DEFAULT_OFFER,
    );

  /** Answers every call the engine announces; returns the calls, in order. */
  const answeringAll = (): IncomingCall[] => {
    const calls: IncomingCall[] = [];
    engine.calls.onCall((c) => {
      calls.push(c);
      void c.channel.answer();
    });
    return calls;
  };

  test('a call refused by the load guard gets 503 with its Retry-After, and no RTP session', async () => {
    refusal = { admit: false, status: 503, reason: 'MaxCallsAllowed reached', retryAfterSeconds: 7 };
    const calls: IncomingCall[] = [];
    engine.calls.onCall((c) => calls.push(c));
    server.deliver(invite('busy-1@test'));
    const refused = await server.nextSip(/^SIP\/2\.0 503/);
    expect(refused.parsed.headers['call-id']).toBe('busy-1@test');
    expect(refused.parsed.headers['retry-after']).toBe('7');
    expect(calls).toHaveLength(0);
    expect(media.sessionCount).toBe(0);
  });

  test('a call: 200 OK with our SDP via createUAS, an INFO digit, the caller BYE; then an IVR BYE on a second call', async () => {
    expect(engine.sip).toEqual({ host: '127.0.0.1', port: 5060, addresses: ['udp:127.0.0.1:5060', 'tcp:127.0.0.1:5060'] });
    const calls = answeringAll();
    server.deliver(invite('call-1@test'));
    const ok = await server.nextSip(/^SIP\/2\.0 200/);
    expect(ok.parsed.headers['call-id']).toBe('call-1@test');
    expect(ok.parsed.headers['content-type']).toBe('application/sdp');
    expect(ok.parsed.body).toMatch(/^m=audio \d+ RTP\/AVP 0 101/m);
    server.confirm(ok, { dialogId: 'dlg-1' });
    await until(() => calls.length === 1, 2000, 'the call');
    const call = calls[0];
    expect(call.from).toBe('4255550101');
    expect(call.to).toBe('14255550100');
    expect(call.diversion).toBe('51235');
    expect(call.sourceAddress).toBe('127.0.0.1:5062');
    const digits: string[] = [];
    call.channel.onDtmf((d) => digits.push(d));
    await new Promise((r) => setTimeout(r, 50)); // the dialog resolves at the echo of the 200
    server.deliver(
      sipMessage(
        'INFO sip:127.0.0.1:5060 SIP/2.0',
        [
          ['From', '"Test" <sip:4255550101@127.0.0.1:5062>;tag=caller1'],
          ['To', '<sip:14255550100@127.0.0.1:5060>;tag=srvtag'],
          ['Call-ID', 'call-1@test'],
          ['CSeq', '2 INFO'],
          ['Content-Type', 'application/dtmf-relay'],
        ],
        'Signal=7\r\nDuration=160\r\n',
      ),
      { dialogId: 'dlg-1' },
    );
    const infoOk = await server.nextSip(/^SIP\/2\.0 200/);
    expect(infoOk.parsed.headers.cseq).toBe('2 INFO');
    server.confirm(infoOk);
    await until(() => digits.length === 1, 2000, 'the digit');
    expect(digits).toEqual(['7']);
    server.deliver(
      sipMessage('BYE sip:127.0.0.1:5060 SIP/2.0', [
        ['From', '"Test" <sip:4255550101@127.0.0.1:5062>;tag=caller1'],
        ['To', '<sip:14255550100@127.0.0.1:5060>;tag=srvtag'],
        ['Call-ID', 'call-1@test'],
        ['CSeq', '3 BYE'],
      ]),
      { dialogId: 'dlg-1' },
    );
    const byeOk = await server.nextSip(/^SIP\/2\.0 200/);
    expect(byeOk.parsed.headers.cseq).toBe('3 BYE');
    server.confirm(byeOk);
    await until(() => call.channel.ended, 2000, 'the channel to end');

    // Second call: the IVR hangs up -> BYE inside dialog dlg-2 (dialog.destroy()).
    server.deliver(invite('call-2@test'));
    const ok2 = await server.nextSip(/^SIP\/2\.0 200/);
    server.confirm(ok2, { dialogId: 'dlg-2' });
    await until(() => calls.length === 2, 2000, 'the second call');
    await new Promise((r) => setTimeout(r, 50));
    await calls[1].channel.hangup('goodbye');
    const bye = await server.nextSip(/^BYE /);
    expect(bye.args[1]).toBe('dlg-2'); // in-dialog: sent with the dialog id, not a URI of ours
    const byeTxn = server.confirm(bye);
    server.respond(byeTxn, sipMessage('SIP/2.0 200 OK', [['Call-ID', 'call-2@test'], ['CSeq', '1 BYE'], ['From', '<sip:x@127.0.0.1>;tag=srvtag'], ['To', '<sip:y@127.0.0.1>;tag=caller1']]), 'dlg-2');
  });

  test("broken frames on the admin connection (drachtio-server's interleaved writes) are dropped and logged; the call goes on", async () => {
    const calls = answeringAll();
    server.deliver(invite('frames-1@test'));
    const ok = await server.nextSip(/^SIP\/2\.0 200/);
    server.confirm(ok, { dialogId: 'dlg-f' });
    await until(() => calls.length === 1, 2000, 'the call');
    const digits: string[] = [];
    calls[0].channel.onDtmf((d) => digits.push(d));
    await new Promise((r) => setTimeout(r, 50));
    const info = (cseq: number, digit: string) =>
      server.sipFrame(
        sipMessage(
          'INFO sip:127.0.0.1:5060 SIP/2.0',
          [
            ['From', '"Test" <sip:4255550101@127.0.0.1:5062>;tag=caller1'],
            ['To', '<sip:14255550100@127.0.0.1:5060>;tag=srvtag'],
            ['Call-ID', 'frames-1@test'],
            ['CSeq', `${cseq} INFO`],
            ['Content-Type', 'application/dtmf-relay'],
          ],
          `Signal=${digit}\r\nDuration=160\r\n`,
        ),
        { dialogId: 'dlg-f' },
      );
    const answeredInfo = async (cseq: number) => {
      const infoOk = await server.nextSip(/^SIP\/2\.0 200/);
      expect(infoOk.parsed.headers.cseq).toBe(`${cseq} INFO`);
      server.confirm(infoOk);
    };
    // What bench:freeswitch met at 200 calls/s: the tail of a message whose start went out earlier, then a whole
    // frame, in one read. drachtio-srf 5.0.29 threw "invalid message, missing length specifier" and the process ended.
    const tail = 'Content-Length: 158\r\nRemote-Party-ID: "drachtio" <sip:drachtio@127.0.0.1>\r\n\r\nv=0\r\na=ptime:20\r\n';
    server.writeRaw(tail + info(2, '3'));
    await answeredInfo(2);
    // A length that is not a number, then a frame split over two writes.
    const next = info(3, '4');
    server.writeRaw('x1z#garbage|sip|\r\n' + next.slice(0, 40));
    await new Promise((r) => setTimeout(r, 20));
    server.writeRaw(next.slice(40));
    await answeredInfo(3);
    await until(() => digits.length === 2, 2000, 'the two digits');
    expect(digits).toEqual(['3', '4']);
    const dropped = logLines.map((l) => JSON.parse(l) as { code?: string; msg: string; reason?: string }).filter((l) => l.code === 'VA_ERR_DRACHTIO_MESSAGE');
    expect(dropped).toHaveLength(2);
    expect(dropped[0].reason).toBe('invalid message, missing length specifier');
    expect(logLines.join('\n')).not.toContain('Signal=');
    expect(calls[0].channel.ended).toBe(false);
  });

  test('a number that routes nowhere gets 404 before any answer; an unknown source 403', async () => {
    engine.calls.onCall((c) => void c.channel.hangup('not-found'));
    server.deliver(invite('call-3@test', '19999999'));
    const nf = await server.nextSip(/^SIP\/2\.0 \d+/);
    expect(nf.parsed.status).toBe(404);
    server.confirm(nf);
    server.deliver(invite('call-4@test'), { address: '192.0.2.7' });
    const forbidden = await server.nextSip(/^SIP\/2\.0 \d+/);
    expect(forbidden.parsed.status).toBe(403);
  });

  test('an unsolicited NOTIFY goes out through srf.request and returns the gateway status', async () => {
    const pending = engine.mwi.sendNotify({ host: '10.0.0.9', port: 5070, transport: 'tcp', extension: '51234', body: 'Messages-Waiting: yes\r\nVoice-Message: 1/0\r\n' });
    const notify = await server.nextSip(/^NOTIFY /);
    expect(notify.args).toEqual(['', '']); // outside any dialog
    expect(notify.parsed.uri).toBe('sip:51234@10.0.0.9:5070;transport=tcp');
    expect(notify.parsed.headers.to).toBe('<sip:51234@10.0.0.9>');
    expect(notify.parsed.headers.event).toBe('message-summary');
    expect(notify.parsed.headers['subscription-state']).toBe('terminated');
    expect(notify.parsed.headers['content-type']).toBe('application/simple-message-summary');
    expect(notify.parsed.body).toBe('Messages-Waiting: yes\r\nVoice-Message: 1/0\r\n');
    const txn = server.confirm(notify);
    server.respond(txn, sipMessage('SIP/2.0 480 Temporarily Unavailable', [['Call-ID', 'n1'], ['CSeq', '1 NOTIFY'], ['From', '<sip:127.0.0.1>;tag=a'], ['To', '<sip:51234@10.0.0.9>;tag=b']]));
    await expect(pending).resolves.toEqual({ status: 480, reason: 'Temporarily Unavailable' });

    const refused = engine.mwi.sendNotify({ host: '10.0.0.9', port: 5071, transport: 'tls', extension: '51234', body: 'Messages-Waiting: no\r\n' });
    const tls = await server.nextSip(/^NOTIFY /);
    expect(tls.parsed.uri).toBe('sip:51234@10.0.0.9:5071;transport=tls');
    server.refuse(tls, 'requested protocol/transport not available');
    await expect(refused).rejects.toThrow(/could not send the NOTIFY to 10\.0\.0\.9:5071 over tls: requested protocol\/transport not available/);
  });

  test('a subscription: 200 OK with Expires (not 202), an in-dialog NOTIFY, and Expires: 0 answered 200 by us', async () => {
    const subs: IncomingSubscription[] = [];
    engine.subscriptions.onSubscribe((s) => void subs.push(s));
    const subscribe = (cseq: number, expires: number, toTag?: string) =>
      sipMessage(
        'SUBSCRIBE sip:51234@127.0.0.1:5060 SIP/2.0',
        [
          ['Via', `SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKs${cseq}`],
          ['From', '<sip:51234@127.0.0.1:5062>;tag=sub1'],
          ['To', `<sip:51234@127.0.0.1:5060>${toTag ? `;tag=${toTag}` : ''}`],
          ['Call-ID', 'sub-call@test'],
          ['CSeq', `${cseq} SUBSCRIBE`],
          ['Contact', '<sip:51234@127.0.0.1:5062>'],
          ['Event', 'message-summary'],
          ['Expires', String(expires)],
        ],
      );
    server.deliver(subscribe(1, 3600));
    await until(() => subs.length === 1, 2000, 'the subscription');
    expect(subs[0]).toMatchObject({ event: 'message-summary', expires: 3600, toUser: '51234', fromUser: '51234', sourceAddress: '127.0.0.1' });
    const dialog = subs[0].accept(1800);
    const refreshes: number[] = [];
    dialog.onRefresh((r) => {
      refreshes.push(r.expires ?? -1);
      r.accept(r.expires ?? 1800);
    });
    const notified = dialog.notify('active;expires=1800', 'Messages-Waiting: no\r\n');
    const ok = await server.nextSip(/^SIP\/2\.0 /);
    expect(ok.parsed.status).toBe(200);
    expect(ok.parsed.headers.expires).toBe('1800');
    server.confirm(ok, { dialogId: 'sub-dlg', toTag: 'nt1' });
    const notify = await server.nextSip(/^NOTIFY /);
    expect(notify.args[1]).toBe('sub-dlg');
    expect(notify.parsed.headers.event).toBe('message-summary');
    expect(notify.parsed.headers['subscription-state']).toBe('active;expires=1800');
    const txn = server.confirm(notify);
    server.respond(txn, sipMessage('SIP/2.0 200 OK', [['Call-ID', 'sub-call@test'], ['CSeq', '1 NOTIFY'], ['From', '<sip:51234@127.0.0.1>;tag=nt1'], ['To', '<sip:51234@127.0.0.1:5062>;tag=sub1']]), 'sub-dlg');
    await expect(notified).resolves.toBe(200);
    // Unsubscribe: drachtio-srf alone would answer 202; our dialog hands it to onRefresh, which answers 200.
    server.deliver(subscribe(2, 0, 'nt1'), { dialogId: 'sub-dlg' });
    const unsub = await server.nextSip(/^SIP\/2\.0 /);
    expect(unsub.parsed.status).toBe(200);
    expect(unsub.parsed.headers.cseq).toBe('2 SUBSCRIBE');
    expect(unsub.parsed.headers.expires).toBe('0');
    expect(refreshes).toEqual([0]);
    expect(parseSip(unsub.sip).headers['call-id']).toBe('sub-call@test');
  });
});
