/**
 * Contract harnesses for the drachtio adapter (`src/sip/drachtio/`) on {@link FakeSrf}, the fake of our drachtio-srf
 * wrapper: the test plays drachtio-server and the network (requests, responses and dialogs with drachtio-srf's
 * shapes), the adapter is the real code, with a real RTP engine and the shared admission rule.
 *
 * On drachtio, "a gateway that cannot be reached" is drachtio-server refusing to send the NOTIFY (its API answer
 * NOK, e.g. no transport for `transport=tls`); a refused TCP connection or a SIP timeout inside drachtio-server's
 * stack comes back as a final status (503, 408), which the notifier treats like any failure status.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { admitSource, type GatewayAddress } from '../../src/domain/gateway-admission';
import { MediaEngine } from '../../src/media/media-engine';
import { systemClock } from '../../src/ports/clock';
import { PromptCatalog } from '../../src/prompts/catalog';
import { DrachtioCallSource } from '../../src/sip/drachtio/drachtio-call-source';
import { DrachtioMwiTransport, DrachtioSubscriptionSource } from '../../src/sip/drachtio/drachtio-mwi';
import { tempDir } from '../helpers';
import { FakeRequest, FakeSrf, type SentResponse } from '../sip/drachtio/fake-srf';
import type { CallSourceHarness, ContractCaller, GatewayKind } from './call-source-contract';
import { DEFAULT_OFFER } from './call-source-contract';
import type { ContractGateway, ContractSubscriber, MwiHarness, SeenNotify, SubscribeResponse } from './mwi-contract';

/** The harness's UM IP gateways (as drachtio-server would report their source addresses). */
export const FAKE_ADDRESSES: Record<GatewayKind, string> = { enabled: '10.1.0.1', draining: '10.1.0.2', unknown: '10.1.0.3' };

const GATEWAYS: GatewayAddress[] = [
  { name: 'pbx', address: FAKE_ADDRESSES.enabled, status: 'Enabled' },
  { name: 'old-pbx', address: FAKE_ADDRESSES.draining, status: 'NoNewCalls' },
];

const token = () => randomBytes(5).toString('hex');

const lower = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));

/** A {@link CallSourceHarness} on a {@link FakeSrf}; `srf` is exposed for drachtio-specific tests. */
export async function makeDrachtioCallHarness(): Promise<CallSourceHarness & { srf: FakeSrf; media: MediaEngine; calls: DrachtioCallSource }> {
  const srf = new FakeSrf();
  const media = await MediaEngine.start({ host: '127.0.0.1', portMin: 0, portMax: 0 });
  const calls = new DrachtioCallSource({
    srf,
    media,
    mediaAddress: '127.0.0.1',
    admit: (address) => admitSource(address, GATEWAYS),
    clock: systemClock,
    catalog: PromptCatalog.load(),
    recordingsDir: tempDir('va-drachtio-rec-'),
    logger: pino({ level: process.env.SIP_TEST_LOG ?? 'silent' }),
  });
  return {
    srf,
    media,
    calls,
    source: calls,
    addresses: FAKE_ADDRESSES,
    async call({ gateway, to, headers = [], sdp, ackSdp }): Promise<ContractCaller> {
      const address = FAKE_ADDRESSES[gateway];
      const offer = sdp === undefined ? DEFAULT_OFFER : sdp;
      const req = new FakeRequest(
        'INVITE',
        `sip:${to}@127.0.0.1:5060`,
        [
          ['Via', `SIP/2.0/UDP ${address}:5060;branch=z9hG4bK${token()};rport`],
          ['Max-Forwards', '69'],
          ['From', `"Test" <sip:4255550101@${address}:5060>;tag=${token()}`],
          ['To', `<sip:${to}@127.0.0.1:5060>`],
          ['Call-ID', `${token()}@${address}`],
          ['CSeq', '1 INVITE'],
          ['Contact', `<sip:caller@${address}:5060>`],
          ...headers,
          ...(offer ? ([['Content-Type', 'application/sdp']] as Array<[string, string]>) : []),
        ],
        offer ?? '',
        address,
        5060,
      );
      if (ackSdp !== undefined) req.ackSdp = ackSdp;
      const res = srf.deliver(req);
      let cancelled = false;
      const dialog = () => srf.dialogFor(req);
      return {
        async final(timeoutMs = 3000) {
          // drachtio-server itself answers a cancelled INVITE with 487 (the application's later response is discarded).
          if (cancelled) return { status: 487, sdp: '' };
          const f: SentResponse = await res.waitFinal(timeoutMs);
          return { status: f.status, sdp: f.body ?? '' };
        },
        async info(contentType, body) {
          return (await (await dialog()).receive('info', 'INFO', [['Content-Type', contentType]], body)).status;
        },
        async reinvite(newSdp) {
          const r = await (await dialog()).receive('modify', 'INVITE', [['Content-Type', 'application/sdp']], newSdp);
          return { status: r.status, sdp: r.body ?? '' };
        },
        async bye() {
          (await dialog()).remoteBye();
        },
        async cancel() {
          cancelled = true;
          req.cancel();
        },
        async byeFromIvr(timeoutMs = 3000) {
          await (await dialog()).waitDestroyed(timeoutMs);
        },
      };
    },
    async close() {
      await media.stop();
    },
  };
}

/** An {@link MwiHarness} on a {@link FakeSrf}; NOTIFY and SUBSCRIBE response timeouts are short (300 ms). */
export async function makeDrachtioMwiHarness(): Promise<MwiHarness & { srf: FakeSrf }> {
  const srf = new FakeSrf();
  const logger = pino({ level: process.env.SIP_TEST_LOG ?? 'silent' });
  const transport = new DrachtioMwiTransport({ srf, isConnected: () => srf.connected, where: '127.0.0.1:9022', logger, responseTimeoutMs: 300 });
  const subscriptions = new DrachtioSubscriptionSource({ srf, logger, responseTimeoutMs: 300 });
  return {
    srf,
    transport,
    subscriptions,
    subscriberAddress: FAKE_ADDRESSES.enabled,
    async gateway(answer): Promise<ContractGateway> {
      srf.refuseRequests = answer === 'refuse' ? 'requested protocol/transport not available' : null;
      const seen: Promise<SeenNotify> =
        answer === 'refuse'
          ? new Promise<SeenNotify>(() => undefined)
          : srf.outgoing.next(3000, 'NOTIFY').then((o) => {
              if (answer !== 'silent') o.respond(answer.status, answer.reason);
              return { requestUri: o.uri ?? '', headers: lower(o.headers), body: o.body };
            });
      seen.catch(() => undefined);
      return { host: '10.1.0.9', port: 5070, transport: 'tcp', received: () => seen };
    },
    async subscribe({ toUser, fromUser, event = 'message-summary', expires }): Promise<ContractSubscriber> {
      const address = FAKE_ADDRESSES.enabled;
      const req = new FakeRequest(
        'SUBSCRIBE',
        `sip:${toUser}@127.0.0.1:5060`,
        [
          ['Via', `SIP/2.0/TCP ${address}:5060;branch=z9hG4bK${token()}`],
          ['From', `<sip:${fromUser ?? toUser}@${address}>;tag=${token()}`],
          ['To', `<sip:${toUser}@127.0.0.1>`],
          ['Call-ID', `${token()}@${address}`],
          ['CSeq', '1 SUBSCRIBE'],
          ['Contact', `<sip:${fromUser ?? toUser}@${address}:5060;transport=tcp>`],
          ['Event', event],
          ['Accept', 'application/simple-message-summary'],
          ...(expires !== undefined ? ([['Expires', String(expires)]] as Array<[string, string]>) : []),
        ],
        '',
        address,
        5060,
        'tcp',
      );
      const res = srf.deliver(req);
      const toResponse = (r: SentResponse): SubscribeResponse => ({ status: r.status, headers: lower(r.headers) });
      return {
        async response(timeoutMs = 3000) {
          return toResponse(await res.waitFinal(timeoutMs));
        },
        async nextNotify(status = 200, timeoutMs = 3000) {
          const d = await srf.dialogFor(req, timeoutMs);
          const o = await d.requests.next(timeoutMs, 'NOTIFY');
          o.respond(status);
          return { requestUri: d.req.uri, headers: lower(o.headers), body: o.body };
        },
        async refresh(exp) {
          const d = await srf.dialogFor(req);
          const r = await d.receive('subscribe', 'SUBSCRIBE', [
            ['To', `<sip:${toUser}@127.0.0.1>;tag=${d.sip.localTag}`],
            ['Event', event],
            ['Expires', String(exp)],
          ]);
          return toResponse(r);
        },
      };
    },
    async close() {
      srf.close();
    },
  };
}
