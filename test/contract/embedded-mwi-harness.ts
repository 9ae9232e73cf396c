/**
 * The MWI port contract's harness for the embedded engine (`src/sip/embedded/`): the {@link EmbeddedMwiTransport}
 * (unsolicited NOTIFY over TCP) against raw TCP gateways on 127.0.0.1, and the {@link EmbeddedSipServer}'s
 * SUBSCRIBE handling against a raw UDP subscriber on 127.0.0.1 (test/sip/helpers/raw-sip.ts).
 *
 * Named hook: `makeEmbeddedMwiHarness` is what `embedded.contract.test.ts` runs the MWI contract with; setting it to
 * null skips the embedded MWI cases (with a note in the test output).
 */
import * as net from 'node:net';
import pino from 'pino';
import { EmbeddedMwiTransport } from '../../src/sip/embedded/mwi-notify-client';
import { EmbeddedSipServer } from '../../src/sip/embedded/sip-server';
import { answer, h, message, onTcpMessages, randomToken, tagOf, UdpPeer, type RawMessage } from '../sip/helpers/raw-sip';
import type { ContractGateway, ContractSubscriber, MwiHarness, MwiHarnessFactory, SeenNotify, SubscribeResponse } from './mwi-contract';
import { closedPort } from '../helpers';

/** All of a message's headers, lower-case names, repeats joined with `, `. */
function headersOf(m: RawMessage): Record<string, string> {
  return Object.fromEntries([...m.headers].map(([k, v]) => [k, v.join(', ')]));
}

function seen(m: RawMessage): SeenNotify {
  return { requestUri: m.startLine.split(' ')[1] ?? '', headers: headersOf(m), body: m.body };
}

/**
 * A raw TCP gateway on 127.0.0.1 that answers (or not) the NOTIFYs it receives (`received`: the first one). Also
 * used by the real drachtio-server harness (`drachtio-real-harness.ts`).
 */
export async function tcpGateway(reply: { status: number; reason?: string } | 'silent'): Promise<{ port: number; received: Promise<SeenNotify>; close(): Promise<void> }> {
  const server = net.createServer();
  const sockets = new Set<net.Socket>();
  let resolveSeen: (s: SeenNotify) => void = () => undefined;
  const received = new Promise<SeenNotify>((r) => (resolveSeen = r));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onTcpMessages(socket, (m) => {
      if (m.method !== 'NOTIFY') return;
      if (reply !== 'silent') socket.write(answer(m, reply.status, reply.reason ?? 'OK'));
      resolveSeen(seen(m));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    received,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}


/**
 * A subscriber on a raw UDP socket on 127.0.0.1: sends a SUBSCRIBE to `target` and plays the subscriber's side of
 * a {@link ContractSubscriber} (reads the response's To tag, answers NOTIFYs, sends in-dialog refreshes). Also used
 * by the real drachtio-server harness (`drachtio-real-harness.ts`).
 * @param closers the socket's close is added here, for the harness to run
 */
export async function rawUdpSubscriber(
  target: { address: string; port: number },
  { toUser, fromUser, event = 'message-summary', expires }: { toUser: string; fromUser?: string; event?: string; expires?: number },
  closers: Array<() => Promise<void>>,
): Promise<ContractSubscriber> {
  const peer = await UdpPeer.open(target, '127.0.0.1');
  closers.push(() => peer.close());
  const callId = `${randomToken(8)}@test`;
  const fromTag = randomToken(4);
  let toTag: string | undefined;
  let cseq = 1;
  const request = (seq: number, exp: number | undefined) =>
    message(`SUBSCRIBE sip:${toUser}@${target.address}:${target.port} SIP/2.0`, [
      ['Via', `SIP/2.0/UDP ${peer.address}:${peer.port};branch=z9hG4bK${randomToken(6)};rport`],
      ['Max-Forwards', '70'],
      ['From', `<sip:${fromUser ?? toUser}@${peer.address}:${peer.port}>;tag=${fromTag}`],
      ['To', `<sip:${toUser}@${target.address}:${target.port}>${toTag ? `;tag=${toTag}` : ''}`],
      ['Call-ID', callId],
      ['CSeq', `${seq} SUBSCRIBE`],
      ['Contact', `<sip:${fromUser ?? toUser}@${peer.address}:${peer.port}>`],
      ['Event', event],
      ['Accept', 'application/simple-message-summary'],
      ...(exp !== undefined ? ([['Expires', String(exp)]] as Array<[string, string]>) : []),
    ]);
  const finalFor = (seq: number) => (m: RawMessage) => (m.status ?? 0) >= 200 && h(m, 'cseq') === `${seq} SUBSCRIBE`;
  const toResponse = (m: RawMessage): SubscribeResponse => ({ status: m.status!, headers: headersOf(m) });
  peer.send(request(1, expires));
  let first: Promise<SubscribeResponse> | null = null;
  return {
    response(timeoutMs = 3000) {
      first ??= peer.expect(finalFor(1), timeoutMs, 'the SUBSCRIBE response').then((m) => {
        toTag = tagOf(h(m, 'to'));
        return toResponse(m);
      });
      return first;
    },
    async nextNotify(status = 200, timeoutMs = 3000) {
      const m = await peer.expect((x) => x.method === 'NOTIFY', timeoutMs, 'a NOTIFY');
      peer.send(answer(m, status, status === 200 ? 'OK' : 'Call/Transaction Does Not Exist'));
      return seen(m);
    },
    async refresh(exp) {
      const seq = ++cseq;
      peer.send(request(seq, exp));
      return toResponse(await peer.expect(finalFor(seq), 3000, 'the refresh response'));
    },
  };
}

/** An {@link MwiHarness} on the embedded engine (NOTIFY response timeout 300 ms). */
async function makeHarness(): Promise<MwiHarness> {
  const logger = pino({ level: process.env.SIP_TEST_LOG ?? 'silent' });
  const server = await EmbeddedSipServer.start({ host: '127.0.0.1', port: 0, logger, stopTimeoutMs: 200 });
  const transport = new EmbeddedMwiTransport({ localHost: '127.0.0.1', logger, timeoutMs: 300 });
  const target = { address: server.host, port: server.port };
  const closers: Array<() => Promise<void>> = [];
  return {
    transport,
    subscriptions: server,
    subscriberAddress: '127.0.0.1',
    async gateway(reply): Promise<ContractGateway> {
      if (reply === 'refuse') {
        return { host: '127.0.0.1', port: await closedPort(), transport: 'tcp', received: () => new Promise<SeenNotify>(() => undefined) };
      }
      const gw = await tcpGateway(reply);
      closers.push(gw.close);
      return { host: '127.0.0.1', port: gw.port, transport: 'tcp', received: () => gw.received };
    },
    async subscribe(opts): Promise<ContractSubscriber> {
      return rawUdpSubscriber(target, opts, closers);
    },
    async close() {
      transport.close();
      await server.stop();
      await Promise.all(closers.map((c) => c()));
    },
  };
}

/** The hook `embedded.contract.test.ts` runs the MWI contract with (null skips it). */
export const makeEmbeddedMwiHarness: MwiHarnessFactory | null = makeHarness;
