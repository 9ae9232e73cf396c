/**
 * EmbeddedSipServer against hostile or odd input over real UDP and TCP sockets on 127.0.0.x (issue 19, "SIP input"):
 * size limits before parsing (513), RFC 3261 / RFC 4475 checks the `sip` package does not make (416 for every
 * method, Content-Length, CSeq, escaped methods, 501, malformed Via and Contact, §17.2.3 transaction matching), and
 * the per-address flood limit. Metrics are read as deltas (`counterValue`): other servers share them.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { counterValue, metrics } from '../../src/metrics';
import * as offers from './helpers/offers';
import { RawCall, TcpPeer, UdpPeer, h, isStatus, message, randomToken, tagOf, type RawMessage } from './helpers/raw-sip';
import { startTestServer, waitFor, type TestSipServer } from './helpers/test-server';

jest.setTimeout(30_000);

const peers: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.close()));
});

async function udp(t: TestSipServer, address = '127.0.0.1'): Promise<UdpPeer> {
  const p = await UdpPeer.open(t.target, address);
  peers.push(p);
  return p;
}

async function tcp(t: TestSipServer, address = '127.0.0.1'): Promise<TcpPeer> {
  const p = await TcpPeer.open(t.target, address);
  peers.push(p);
  return p;
}

/** A request from `peer` with the usual headers; `extra` go after them. */
function request(t: TestSipServer, peer: UdpPeer | TcpPeer, method: string, o: { uri?: string; callId?: string; branch?: string; cseq?: string; extra?: Array<[string, string]>; viaPort?: number } = {}): string {
  return message(`${method} ${o.uri ?? `sip:ivr@${t.target.address}:${t.target.port}`} SIP/2.0`, [
    ['Via', `SIP/2.0/${peer.transport} ${peer.address}:${o.viaPort ?? peer.port};branch=${o.branch ?? `z9hG4bK${randomToken()}`};rport`],
    ['Max-Forwards', '70'],
    ['From', `<sip:tester@${peer.address}>;tag=${randomToken(4)}`],
    ['To', `<sip:ivr@${t.target.address}>`],
    ['Call-ID', o.callId ?? `${randomToken(8)}@test`],
    ['CSeq', o.cseq ?? `1 ${method}`],
    ...(o.extra ?? []),
  ]);
}

const forCall = (callId: string) => (m: RawMessage) => h(m, 'call-id') === callId;

/** A header line of `bytes` bytes of white space and letters: the package's parsers are quadratic on such runs. */
function longValue(bytes: number): string {
  return `<sip:x@127.0.0.1>${' '.repeat(bytes - 20)}x`;
}

describe('RFC 3261 / RFC 4475 checks the package does not make', () => {
  let t: TestSipServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.stop();
  });

  test('§8.2.2.1: a Request-URI with an unknown scheme gets 416 for every method, not only INVITE', async () => {
    const peer = await udp(t);
    for (const method of ['INVITE', 'OPTIONS', 'BYE', 'INFO', 'SUBSCRIBE', 'REGISTER', 'MESSAGE', 'NOTIFY', 'FOO']) {
      const callId = `scheme-${method}-${randomToken()}`;
      peer.send(request(t, peer, method, { uri: 'mailto:alice@example.com', callId }));
      const rs = await peer.expect(forCall(callId), 2000, `the answer to ${method}`);
      expect({ method, status: rs.status }).toEqual({ method, status: 416 });
    }
    expect(t.calls).toHaveLength(0);
  });

  test('two different Content-Length values: 400 over UDP; over TCP 400 and the connection is closed (its framing is lost)', async () => {
    const peer = await udp(t);
    const callId = `cl-${randomToken()}`;
    peer.send(request(t, peer, 'OPTIONS', { callId }).replace('Content-Length: 0', 'Content-Length: 0\r\nContent-Length: 12'));
    const rs = await peer.expect(forCall(callId));
    expect(rs.startLine).toBe('SIP/2.0 400 Bad Content-Length');
    const k = await tcp(t);
    const id2 = `cl-tcp-${randomToken()}`;
    k.send(request(t, k, 'OPTIONS', { callId: id2 }).replace('Content-Length: 0', 'Content-Length: 0\r\nContent-Length: 12'));
    expect((await k.expect(forCall(id2))).startLine).toBe('SIP/2.0 400 Bad Content-Length');
    await k.waitClosed(3000);
  });

  test('a CSeq number outside 0..2**31-1 gets 400, checked on the text as written (never rounded)', async () => {
    const peer = await udp(t);
    for (const seq of ['2147483648', '4294967296', '99999999999999999999', '-1']) {
      for (const method of ['OPTIONS', 'INVITE']) {
        const callId = `cseq-${seq}-${method}-${randomToken()}`;
        peer.send(request(t, peer, method, { callId, cseq: `${seq} ${method}`, extra: method === 'INVITE' ? [['Contact', `<sip:c@127.0.0.1:${peer.port}>`]] : [] }));
        const rs = await peer.expect(forCall(callId), 2000, `the answer to CSeq ${seq} ${method}`);
        expect({ seq, method, status: rs.status }).toEqual({ seq, method, status: 400 });
      }
    }
    // The highest number is fine.
    const ok = `cseq-max-${randomToken()}`;
    peer.send(request(t, peer, 'OPTIONS', { callId: ok, cseq: '2147483647 OPTIONS' }));
    expect((await peer.expect(forCall(ok))).status).toBe(200);
    expect(t.calls).toHaveLength(0);
  });

  test('an escaped method is not unescaped (RFC 4475 esc02): 501, CSeq as written; unknown methods 501; known ones 405 with Allow', async () => {
    const peer = await udp(t);
    const callId = `esc02-${randomToken()}`;
    peer.send(request(t, peer, 'RE%47IST%45R', { callId }));
    const rs = await peer.expect(forCall(callId));
    expect(rs.startLine).toBe('SIP/2.0 501 Not Implemented');
    expect(h(rs, 'cseq')).toBe('1 RE%47IST%45R');
    const foo = `foo-${randomToken()}`;
    peer.send(request(t, peer, 'FOO', { callId: foo }));
    expect((await peer.expect(forCall(foo))).status).toBe(501);
    const reg = `reg-${randomToken()}`;
    peer.send(request(t, peer, 'REGISTER', { callId: reg }));
    const r405 = await peer.expect(forCall(reg));
    expect(r405.status).toBe(405);
    expect(h(r405, 'allow')).toBe('INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, SUBSCRIBE');
  });

  test('an INVITE whose Via or Contact is malformed gets 400 before any routing', async () => {
    const peer = await udp(t);
    const vias = [';branch=', ';branch=z9hG4bK1;;rport', ';branch=z9hG4bK1;rport,', ';branch=z9hG4bK1 ;;'];
    for (const tail of vias) {
      const call = new RawCall(peer, t.target, `badvia`);
      peer.send(call.invite(offers.SIPP_DEFAULT).replace(/;branch=[^\r]*/, tail));
      const rs = await peer.expect(forCall(call.callId), 2000, `the answer to Via ...${tail}`);
      expect({ tail, line: rs.startLine }).toEqual({ tail, line: 'SIP/2.0 400 Bad Via' });
    }
    const contacts = ['<sip:caller@127.0.0.1', '<sip:caller@127.0.0.1>;;', '<sip:caller@127.0.0.1>;expires=', '<sip:caller@127.0.0.1>,', '*', '"unterminated <sip:a@b>'];
    for (const contact of contacts) {
      const call = new RawCall(peer, t.target, `badcontact`);
      peer.send(call.invite(offers.SIPP_DEFAULT).replace(/Contact: [^\r]*/, `Contact: ${contact}`));
      const rs = await peer.expect(forCall(call.callId), 2000, `the answer to Contact: ${contact}`);
      expect({ contact, line: rs.startLine }).toEqual({ contact, line: 'SIP/2.0 400 Bad Contact' });
    }
    expect(t.calls).toHaveLength(0);
  });

  test('§17.2.3: the same branch and Call-ID from another sent-by is a new transaction: answered, and the first sender gets nothing more', async () => {
    const a = await udp(t);
    const b = await udp(t, '127.0.0.2');
    const branch = `z9hG4bK${randomToken()}`;
    const callId = `reuse-${randomToken()}`;
    a.send(request(t, a, 'OPTIONS', { branch, callId, cseq: '1 OPTIONS' }));
    expect((await a.expect(forCall(callId))).status).toBe(200);
    const before = t.server.stats.branchCollisions;
    const fromB = request(t, b, 'OPTIONS', { branch, callId, cseq: '2 OPTIONS' });
    b.send(fromB);
    const rs = await b.expect(forCall(callId), 2000, "B's answer");
    expect(rs.status).toBe(200);
    expect(h(rs, 'cseq')).toBe('2 OPTIONS');
    // B's retransmission gets the same answer again; A hears nothing of B.
    b.send(fromB);
    const again = await b.expect(forCall(callId), 2000, "the answer to B's retransmission");
    expect(again.raw).toBe(rs.raw);
    expect(await a.collect(() => true, 200)).toEqual([]);
    expect(t.server.stats.branchCollisions).toBe(before + 1);
  });

  test('§17.2.3 with §8.2.2.2: a copy of an INVITE from another sent-by is a merged request (482); a different one is a call', async () => {
    const a = await udp(t);
    const b = await udp(t, '127.0.0.2');
    const call = new RawCall(a, t.target, 'first');
    const invite = call.invite(offers.SIPP_DEFAULT);
    a.send(invite);
    const ok = await a.expect(isStatus(200, 'INVITE'));
    call.learn(ok);
    a.send(call.ack());
    // The same INVITE (branch, From tag, Call-ID, CSeq) with B's Via: 482 to B, nothing to A.
    b.send(invite.replace(`127.0.0.1:${a.port};branch`, `127.0.0.2:${b.port};branch`));
    expect((await b.expect(forCall(call.callId))).status).toBe(482);
    // Another From tag: a new call, answered to B without the package's transaction (which A's INVITE holds).
    t.custom = (inv, record) => {
      record.dialog = inv.accept(offers.SIPP_DEFAULT);
      return true;
    };
    // (From C, another port: from B it would be B's own INVITE again by §17.2.3, and get B's 482 again.)
    const c = await udp(t, '127.0.0.2');
    c.send(invite.replace(`127.0.0.1:${a.port};branch`, `127.0.0.2:${c.port};branch`).replace(`tag=${call.fromTag}`, 'tag=other-caller'));
    const okC = await c.expect(isStatus(200, 'INVITE'), 2000, "C's 200");
    expect(tagOf(h(okC, 'to'))).not.toBe(call.toTag);
    expect(t.calls.filter((x) => x.invite.callId === call.callId)).toHaveLength(2);
    // C's 200 is retransmitted until C's ACK (RFC 3261 §13.3.1.4), to C; A and B get nothing of it.
    const again = await c.expect(isStatus(200, 'INVITE'), 1500, "C's 200 again");
    expect(again.raw).toBe(okC.raw);
    expect(await a.collect(() => true, 100)).toEqual([]);
    expect(await b.collect(() => true, 0)).toEqual([]);
    t.custom = null;
  });
});

describe('size limits before parsing (513 Message Too Large, RFC 3261 §21.5.14)', () => {
  let t: TestSipServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.stop();
  });

  test('UDP: 16, 32 and 64 KB datagrams with a long header get 513 quickly; one without a Via is dropped; OPTIONS still answered', async () => {
    const peer = await udp(t);
    const before = { large: await counterValue(metrics.sipRejected, { reason: 'header-too-long' }), oversized: t.server.stats.oversized };
    for (const kb of [16, 32, 64]) {
      const callId = `big-${kb}-${randomToken()}`;
      const text = request(t, peer, 'OPTIONS', { callId, extra: [['X-Long', longValue(kb * 1024 - 500)]] });
      expect(text.length).toBeLessThanOrEqual(65_507);
      const sent = performance.now();
      peer.send(text);
      const rs = await peer.expect(forCall(callId), 3000, `the 513 to ${kb} KB`);
      expect(rs.startLine).toBe('SIP/2.0 513 Message Too Large');
      expect(rs.at - sent).toBeLessThan(500);
    }
    peer.send(request(t, peer, 'OPTIONS', { extra: [['X-Long', longValue(20_000)]] }).replace(/Via: [^\r]*\r\n/, ''));
    expect(await peer.collect(() => true, 200)).toEqual([]);
    // A 20 KB Request-URI is a header field too long as well.
    const uri = `uri-${randomToken()}`;
    peer.send(request(t, peer, 'OPTIONS', { callId: uri, uri: `sip:${'u'.repeat(20_000)}@127.0.0.1` }));
    expect((await peer.expect(forCall(uri))).status).toBe(513);
    expect(await counterValue(metrics.sipRejected, { reason: 'header-too-long' })).toBe(before.large + 5);
    expect(t.server.stats.oversized).toBe(before.oversized + 5);
    const ping = `ping-${randomToken()}`;
    peer.send(request(t, peer, 'OPTIONS', { callId: ping }));
    expect((await peer.expect(forCall(ping))).status).toBe(200);
  });

  test('too many header fields: 513 (a Contact list counts each entry)', async () => {
    const peer = await udp(t);
    const before = await counterValue(metrics.sipRejected, { reason: 'too-many-headers' });
    const many = `many-${randomToken()}`;
    peer.send(request(t, peer, 'OPTIONS', { callId: many, extra: Array.from({ length: 300 }, (_, i) => [`X-H${i}`, 'v'] as [string, string]) }));
    expect((await peer.expect(forCall(many))).status).toBe(513);
    const list = `list-${randomToken()}`;
    peer.send(request(t, peer, 'OPTIONS', { callId: list, extra: [['Contact', Array.from({ length: 300 }, (_, i) => `<sip:c${i}@h>`).join(',')]] }));
    expect((await peer.expect(forCall(list))).status).toBe(513);
    expect(await counterValue(metrics.sipRejected, { reason: 'too-many-headers' })).toBe(before + 2);
  });

  test('under the limits, header lines the package would take seconds to parse are answered at once', async () => {
    // Seven 7 KB lines of white space runs and an Authorization token: about 1 s of the package's parsing as sent.
    const peer = await udp(t);
    const callId = `slow-${randomToken()}`;
    const extra: Array<[string, string]> = [
      ...Array.from({ length: 7 }, (_, i) => [`Route`, `<sip:p${i}@127.0.0.1;lr>${' '.repeat(7000)}x`] as [string, string]),
      ['Authorization', `Digest ${'a'.repeat(7000)}`],
    ];
    const text = request(t, peer, 'OPTIONS', { callId, extra });
    expect(text.length).toBeGreaterThan(50_000);
    const sent = performance.now();
    peer.send(text);
    const rs = await peer.expect(forCall(callId), 5000);
    expect(rs.status).toBe(200);
    expect(rs.at - sent).toBeLessThan(150);
  });

  test('TCP: a 128 KB message with long headers gets 513 and the connection is closed; a new connection works', async () => {
    const k = await tcp(t);
    const before = await counterValue(metrics.sipRejected, { reason: 'header-too-long' });
    const callId = `tcp-big-${randomToken()}`;
    const text = request(t, k, 'OPTIONS', { callId, extra: Array.from({ length: 8 }, (_, i) => [`X-Long-${i}`, longValue(16 * 1024)] as [string, string]) });
    expect(text.length).toBeGreaterThan(128 * 1024);
    k.send(text);
    const rs = await k.expect(forCall(callId), 3000, 'the 513');
    expect(rs.startLine).toBe('SIP/2.0 513 Message Too Large');
    await k.waitClosed(3000);
    expect(await counterValue(metrics.sipRejected, { reason: 'header-too-long' })).toBe(before + 1);
    const k2 = await tcp(t);
    const ping = `ping-${randomToken()}`;
    k2.send(request(t, k2, 'OPTIONS', { callId: ping }));
    expect((await k2.expect(forCall(ping))).status).toBe(200);
  });

  test('TCP: a body announced over the limit gets 513; a stream sent one byte at a time is framed; pipelined messages are answered in order', async () => {
    const k = await tcp(t);
    const big = `tcp-body-${randomToken()}`;
    k.send(request(t, k, 'OPTIONS', { callId: big }).replace('Content-Length: 0', 'Content-Length: 100000'));
    expect((await k.expect(forCall(big))).status).toBe(513);
    await k.waitClosed(3000);
    const slow = await tcp(t);
    const id = `bytewise-${randomToken()}`;
    const text = request(t, slow, 'OPTIONS', { callId: id });
    for (const ch of text) {
      slow.socket.write(ch, 'latin1');
      await new Promise((r) => setImmediate(r));
    }
    expect((await slow.expect(forCall(id))).status).toBe(200);
    const ids = Array.from({ length: 20 }, (_, i) => `pipe-${i}-${randomToken()}`);
    slow.send('\r\n\r\n' + ids.map((callId) => request(t, slow, 'OPTIONS', { callId })).join('\r\n'));
    for (const callId of ids) expect((await slow.expect(forCall(callId))).status).toBe(200);
  });

  test('the limits are options: a server with small limits refuses what the default one takes', async () => {
    const small = await startTestServer({ limits: { maxMessageBytes: 3000, maxHeaders: 20, maxHeaderLineBytes: 400 } });
    try {
      const peer = await UdpPeer.open(small.target);
      peers.push(peer);
      const ok = `small-ok-${randomToken()}`;
      peer.send(request(small, peer, 'OPTIONS', { callId: ok }));
      expect((await peer.expect(forCall(ok))).status).toBe(200);
      for (const [what, extra] of [
        ['line', [['Subject', 'x'.repeat(500)]]],
        ['count', Array.from({ length: 20 }, (_, i) => [`X-${i}`, 'y'])],
        ['size', Array.from({ length: 10 }, (_, i) => [`X-${i}`, 'z'.repeat(350)])],
      ] as Array<[string, Array<[string, string]>]>) {
        const callId = `small-${what}-${randomToken()}`;
        peer.send(request(small, peer, 'OPTIONS', { callId, extra }));
        expect({ what, status: (await peer.expect(forCall(callId))).status }).toEqual({ what, status: 513 });
      }
    } finally {
      await small.stop();
    }
  });
});

describe('flood limit (per source address; Kamailio pike)', () => {
  let t: TestSipServer;
  const lines: string[] = [];
  beforeAll(async () => {
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        cb();
      },
    });
    t = await startTestServer({
      logger: pino({ level: 'warn' }, destination),
      floodLimit: { requests: 20, windowMs: 1000, blockMs: 1500, gatewayRequests: 2000 },
      isGateway: (a) => a === '127.0.0.1',
    });
  });
  afterAll(async () => {
    await t.stop();
  });

  test('a flood from 127.0.0.3 is cut after 20 requests and logged once; the gateway at 127.0.0.1 is answered throughout', async () => {
    const flooder = await udp(t, '127.0.0.3');
    const gw = await udp(t);
    const before = await counterValue(metrics.sipRejected, { reason: 'flood' });
    const gwIds: string[] = [];
    for (let i = 0; i < 300; i++) {
      flooder.send(request(t, flooder, 'OPTIONS', { callId: `flood-${i}` }));
      if (i % 10 === 0) {
        const id = `gw-${i}-${randomToken()}`;
        gwIds.push(id);
        gw.send(request(t, gw, 'OPTIONS', { callId: id }));
      }
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 5));
    }
    for (const id of gwIds) expect((await gw.expect(forCall(id), 3000)).status).toBe(200);
    const answered = await flooder.collect(() => true, 300);
    expect(answered.length).toBeLessThanOrEqual(20);
    expect(answered.length).toBeGreaterThanOrEqual(15);
    expect(await counterValue(metrics.sipRejected, { reason: 'flood' })).toBeGreaterThanOrEqual(before + 280);
    const logged = lines.filter((l) => l.includes('sip flood') && l.includes('127.0.0.3'));
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0])).toMatchObject({ level: 40, address: '127.0.0.3', gateway: false, requests: 20 });
    // Over TCP the blocked address is refused as well.
    const k = await tcp(t, '127.0.0.3');
    k.send(request(t, k, 'OPTIONS'));
    await k.waitClosed(3000);
    // After the block it is served again.
    await new Promise((r) => setTimeout(r, 1600));
    const back = `back-${randomToken()}`;
    flooder.send(request(t, flooder, 'OPTIONS', { callId: back }));
    expect((await flooder.expect(forCall(back), 2000)).status).toBe(200);
  });

  test('retransmissions of a counted request and ACKs do not count', async () => {
    const p = await udp(t, '127.0.0.4');
    const same = request(t, p, 'OPTIONS', { callId: `rtx-${randomToken()}` });
    for (let i = 0; i < 10; i++) p.send(same);
    for (let i = 0; i < 15; i++) p.send(request(t, p, 'ACK', { callId: `ack-${i}` }));
    const ids = Array.from({ length: 19 }, (_, i) => `new-${i}-${randomToken()}`);
    for (const callId of ids) p.send(request(t, p, 'OPTIONS', { callId }));
    for (const callId of ids) expect((await p.expect(forCall(callId), 2000)).status).toBe(200);
    expect(lines.some((l) => l.includes('127.0.0.4'))).toBe(false);
    p.send(request(t, p, 'OPTIONS', { callId: 'the-21st' }));
    expect(await p.collect(forCall('the-21st'), 300)).toEqual([]);
    await waitFor(() => lines.some((l) => l.includes('127.0.0.4')), 1000, 'the log line');
  });
});
