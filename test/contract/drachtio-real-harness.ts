/**
 * Contract harnesses for the drachtio adapter (`src/sip/drachtio/`) against a REAL drachtio-server
 * (`test/helpers/real-servers.ts` starts one per test file). The adapter is wired as `serve --sip-engine drachtio`
 * wires it: {@link startDrachtioSignalling} (the call source) and {@link DrachtioConnection} with the two MWI ports,
 * through the real drachtio-srf package, over drachtio-server's admin port. Each harness opens its own admin
 * connection (a fresh adapter per test) and closes it after the test.
 *
 * The network side is real SIP: callers are raw UDP peers on 127.0.0.1 (an Enabled UM IP gateway), 127.0.0.2
 * (NoNewCalls) and 127.0.0.3 (no gateway) that send to drachtio-server's SIP port (the embedded harness's caller,
 * `rawSipCaller`); the MWI gateway is a raw TCP listener on 127.0.0.1 that receives drachtio-server's NOTIFYs, and the
 * subscriber a raw UDP peer on 127.0.0.1 (the embedded MWI harness's, `tcpGateway` and `rawUdpSubscriber`).
 *
 * Engine-specific, as in `drachtio-harness.ts`: "a gateway that cannot be reached" is drachtio-server refusing to
 * send the NOTIFY (its API answers NOK: there is no TLS `<contact>`, so `transport=tls` has no transport). A TCP
 * gateway that refuses the connection is, on drachtio, a final status synthesized by its SIP stack, which the
 * notifier treats like any failure status (`drachtio-real.contract.test.ts` checks that separately).
 */
import pino from 'pino';
import { admitSource, type GatewayAddress } from '../../src/domain/gateway-admission';
import { MediaEngine } from '../../src/media/media-engine';
import { systemClock } from '../../src/ports/clock';
import { PromptCatalog } from '../../src/prompts/catalog';
import { DrachtioConnection } from '../../src/sip/drachtio/drachtio-connection';
import { DrachtioMwiTransport, DrachtioSubscriptionSource } from '../../src/sip/drachtio/drachtio-mwi';
import { startDrachtioSignalling, type DrachtioSignalling } from '../../src/sip/drachtio/drachtio-signalling';
import { closedPort, tempDir } from '../helpers';
import type { RunningDrachtio } from '../helpers/real-servers';
import type { UdpPeer } from '../sip/helpers/raw-sip';
import type { CallSourceHarness, ContractCaller, GatewayKind } from './call-source-contract';
import { rawSipCaller } from './embedded-harness';
import { rawUdpSubscriber, tcpGateway } from './embedded-mwi-harness';
import type { ContractGateway, MwiHarness, SeenNotify } from './mwi-contract';

/** Where the harness's callers send from (drachtio-server reports these as `source_address`). */
export const REAL_ADDRESSES: Record<GatewayKind, string> = { enabled: '127.0.0.1', draining: '127.0.0.2', unknown: '127.0.0.3' };

const GATEWAYS: GatewayAddress[] = [
  { name: 'pbx', address: REAL_ADDRESSES.enabled, status: 'Enabled' },
  { name: 'old-pbx', address: REAL_ADDRESSES.draining, status: 'NoNewCalls' },
];

const logger = () => pino({ level: process.env.SIP_TEST_LOG ?? 'silent' });

/**
 * Waits 20 ms before a harness closes its sockets: a datagram sent just before (the ACK of the last final response)
 * is dropped when its socket closes in the same turn (drachtio-server would then retransmit that response into a
 * closed port for 32 s), and drachtio-server forgets a closed admin connection asynchronously: the next test's
 * connection should not share the server with this one's (new INVITEs are shared among attached connections).
 */
const settle = () => new Promise((r) => setTimeout(r, 20));

/**
 * A {@link CallSourceHarness} on `server`: the drachtio engine as `serve` starts it, with a real RTP engine on
 * 127.0.0.1; callers over UDP to the SIP address drachtio-server reported on authentication.
 * @throws Error when the engine cannot attach, or drachtio-server reports another SIP address than it was given
 */
export async function makeRealDrachtioCallHarness(server: RunningDrachtio): Promise<CallSourceHarness & { signalling: DrachtioSignalling }> {
  const media = await MediaEngine.start({ host: '127.0.0.1', portMin: 0, portMax: 0 });
  let signalling: DrachtioSignalling;
  try {
    signalling = await startDrachtioSignalling({
      host: server.host,
      port: server.adminPort,
      secret: server.secret,
      connectTimeoutMs: 5000,
      stopTimeoutMs: 1000,
      media,
      mediaAddress: '127.0.0.1',
      admit: (address) => admitSource(address, GATEWAYS),
      clock: systemClock,
      catalog: PromptCatalog.load(),
      recordingsDir: tempDir('va-drachtio-real-rec-'),
      logger: logger(),
    });
  } catch (e) {
    await media.stop();
    throw e;
  }
  // Where `serve` tells callers to call: drachtio-server's own report of its SIP address (UDP first).
  const target = { address: signalling.sip.host, port: signalling.sip.port };
  if (target.address !== server.host || target.port !== server.sipPort) {
    await signalling.stop();
    await media.stop();
    throw new Error(`drachtio-server reported SIP at ${target.address}:${target.port} (${signalling.sip.addresses.join(', ')}), not ${server.host}:${server.sipPort}`);
  }
  const peers: UdpPeer[] = [];
  return {
    signalling,
    source: signalling.calls,
    addresses: REAL_ADDRESSES,
    media,
    async call({ gateway, to, headers, sdp, ackSdp }): Promise<ContractCaller> {
      return rawSipCaller(target, REAL_ADDRESSES[gateway], { to, headers, sdp, ackSdp }, peers);
    },
    async close() {
      await signalling.stop();
      await media.stop();
      await settle();
      await Promise.all(peers.map((p) => p.close()));
    },
  };
}

/**
 * An {@link MwiHarness} on `server`: one admin connection with the MWI ports on it (NOTIFY response timeouts 300 ms),
 * TCP gateways and a UDP subscriber on 127.0.0.1.
 * @throws Error when the connection to drachtio-server cannot be made
 */
export async function makeRealDrachtioMwiHarness(server: RunningDrachtio): Promise<MwiHarness & { connection: DrachtioConnection }> {
  const log = logger();
  const connection = await DrachtioConnection.open({ host: server.host, port: server.adminPort, secret: server.secret, logger: log, connectTimeoutMs: 5000 });
  const transport = new DrachtioMwiTransport({ srf: connection.srf, isConnected: () => connection.connected, where: connection.where, logger: log, responseTimeoutMs: 300 });
  const subscriptions = new DrachtioSubscriptionSource({ srf: connection.srf, logger: log, responseTimeoutMs: 300 });
  // As startDrachtioSignalling does: drachtio-server routes SUBSCRIBEs to us only once it took the route.
  await connection.srf.routesConfirmed(2000);
  const target = { address: server.host, port: server.sipPort };
  const closers: Array<() => Promise<void>> = [];
  return {
    connection,
    transport,
    subscriptions,
    subscriberAddress: '127.0.0.1',
    async gateway(reply): Promise<ContractGateway> {
      if (reply === 'refuse') {
        // drachtio-server has no TLS transport here: it refuses to send (see the file's comment).
        return { host: '127.0.0.1', port: await closedPort(), transport: 'tls', received: () => new Promise<SeenNotify>(() => undefined) };
      }
      const gw = await tcpGateway(reply);
      closers.push(gw.close);
      return { host: '127.0.0.1', port: gw.port, transport: 'tcp', received: () => gw.received };
    },
    async subscribe(opts) {
      return rawUdpSubscriber(target, opts, closers);
    },
    async close() {
      transport.close();
      connection.close();
      await settle();
      await Promise.all(closers.map((c) => c()));
    },
  };
}
