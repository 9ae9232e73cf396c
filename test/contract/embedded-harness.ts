/**
 * Contract harness for the embedded engine (`src/sip/embedded/`): a real {@link EmbeddedSipServer} on 127.0.0.1 and
 * a real RTP engine, the {@link EmbeddedCallSource} with the shared admission rule, and raw SIP callers on real UDP
 * sockets from 127.0.0.1 (an Enabled UM IP gateway), 127.0.0.2 (NoNewCalls) and 127.0.0.3 (no gateway).
 */
import pino from 'pino';
import { admitSource, type GatewayAddress } from '../../src/domain/gateway-admission';
import { MediaEngine } from '../../src/media/media-engine';
import { systemClock } from '../../src/ports/clock';
import { PromptCatalog } from '../../src/prompts/catalog';
import { EmbeddedCallSource } from '../../src/sip/embedded/embedded-call-source';
import { EmbeddedSipServer } from '../../src/sip/embedded/sip-server';
import { tempDir } from '../helpers';
import { answer, h, isRequest, RawCall, UdpPeer, type RawMessage } from '../sip/helpers/raw-sip';
import type { CallSourceHarness, ContractCaller, GatewayKind } from './call-source-contract';
import { DEFAULT_OFFER } from './call-source-contract';

const ADDRESSES: Record<GatewayKind, string> = { enabled: '127.0.0.1', draining: '127.0.0.2', unknown: '127.0.0.3' };

const GATEWAYS: GatewayAddress[] = [
  { name: 'pbx', address: ADDRESSES.enabled, status: 'Enabled' },
  { name: 'old-pbx', address: ADDRESSES.draining, status: 'NoNewCalls' },
];

/** The final response (>= 200) to the request with CSeq `seq METHOD`. */
const finalFor = (seq: number, method: string) => (m: RawMessage) => (m.status ?? 0) >= 200 && h(m, 'cseq') === `${seq} ${method}`;

/**
 * Places one call as a UM IP gateway would: a raw UDP peer bound to `from` (a 127.0.0.x address) sends an INVITE to
 * `target` and plays the caller's side of the {@link ContractCaller} (ACKs the final response, answers the IVR's BYE).
 * Also used by the real drachtio-server harness (`drachtio-real-harness.ts`).
 * @param target where the SIP server listens (UDP)
 * @param peers the peer is added here, for the harness to close
 */
export async function rawSipCaller(
  target: { address: string; port: number },
  from: string,
  { to, headers = [], sdp, ackSdp }: { to: string; headers?: Array<[string, string]>; sdp?: string | null; ackSdp?: string },
  peers: UdpPeer[],
): Promise<ContractCaller> {
  const peer = await UdpPeer.open(target, from);
  peers.push(peer);
  const call = new RawCall(peer, target, to);
  const offer = sdp === undefined ? DEFAULT_OFFER : sdp;
  peer.send(call.invite(offer, headers));
  let final: Promise<{ status: number; sdp: string }> | null = null;
  return {
    final(timeoutMs = 3000) {
      final ??= peer.expect(finalFor(1, 'INVITE'), timeoutMs, 'final response to the INVITE').then((rs) => {
        call.learn(rs);
        peer.send(call.ack(rs.status! >= 300, 1, rs.status! < 300 ? ackSdp : undefined));
        return { status: rs.status!, sdp: rs.body };
      });
      return final;
    },
    async info(contentType, body) {
      peer.send(call.inDialog('INFO', body, [['Content-Type', contentType]]));
      return (await peer.expect(finalFor(call.cseq, 'INFO'), 3000, 'INFO response')).status!;
    },
    async reinvite(newSdp) {
      peer.send(call.inDialog('INVITE', newSdp, [['Contact', call.contact], ['Content-Type', 'application/sdp']]));
      const seq = call.cseq;
      const rs = await peer.expect(finalFor(seq, 'INVITE'), 3000, 're-INVITE response');
      peer.send(call.ack(rs.status! >= 300, seq));
      return { status: rs.status!, sdp: rs.body };
    },
    async bye() {
      peer.send(call.inDialog('BYE'));
      await peer.expect(finalFor(call.cseq, 'BYE'), 3000, 'BYE response');
    },
    async cancel() {
      peer.send(call.cancel());
      await peer.expect(finalFor(1, 'CANCEL'), 3000, 'CANCEL response');
    },
    async byeFromIvr(timeoutMs = 3000) {
      const bye = await peer.expect(isRequest('BYE'), timeoutMs, "the IVR's BYE");
      peer.send(answer(bye));
    },
  };
}

/** A {@link CallSourceHarness} on the embedded engine. */
export async function makeEmbeddedCallHarness(): Promise<CallSourceHarness> {
  const logger = pino({ level: process.env.SIP_TEST_LOG ?? 'silent' });
  const server = await EmbeddedSipServer.start({ host: '127.0.0.1', port: 0, logger, stopTimeoutMs: 300 });
  const media = await MediaEngine.start({ host: '127.0.0.1', portMin: 0, portMax: 0 });
  const source = new EmbeddedCallSource({
    server,
    media,
    mediaAddress: '127.0.0.1',
    admit: (address) => admitSource(address, GATEWAYS),
    clock: systemClock,
    catalog: PromptCatalog.load(),
    recordingsDir: tempDir('va-embedded-rec-'),
    logger,
  });
  const target = { address: server.host, port: server.port };
  const peers: UdpPeer[] = [];
  return {
    source,
    addresses: ADDRESSES,
    media,
    async call({ gateway, to, headers = [], sdp, ackSdp }): Promise<ContractCaller> {
      return rawSipCaller(target, ADDRESSES[gateway], { to, headers, sdp, ackSdp }, peers);
    },
    async close() {
      await server.stop();
      await media.stop();
      await Promise.all(peers.map((p) => p.close()));
    },
  };
}
