/**
 * The CallChannel media contract (`call-channel-contract.ts`) on each media engine: our RTP engine behind the
 * embedded SIP engine, and FreeSWITCH (drachtio-fsmrf) behind a real drachtio-server. The second is skipped, with
 * one line naming what is missing, when drachtio-server or FreeSWITCH is not installed.
 */
import pino from 'pino';
import { admitSource } from '../../src/domain/gateway-admission';
import { FreeswitchPool } from '../../src/media/freeswitch/freeswitch-pool';
import { MediaEngine } from '../../src/media/media-engine';
import { systemClock } from '../../src/ports/clock';
import { PromptCatalog } from '../../src/prompts/catalog';
import { startDrachtioSignalling } from '../../src/sip/drachtio/drachtio-signalling';
import { EmbeddedCallSource } from '../../src/sip/embedded/embedded-call-source';
import { EmbeddedSipServer } from '../../src/sip/embedded/sip-server';
import { tempDir } from '../helpers';
import { startFreeswitch } from '../helpers/real-servers';
import { describeWithServers, startDrachtio } from '../helpers/real-servers';
import { describeCallChannelContract, type ChannelHarness } from './call-channel-contract';

const logger = pino({ level: process.env.SIP_TEST_LOG ?? 'silent' });
const catalog = PromptCatalog.load();
const admit = (address: string) => admitSource(address, [{ name: 'pbx', address: '127.0.0.1', status: 'Enabled' }]);

describeCallChannelContract('our RTP engine (embedded SIP)', async (): Promise<ChannelHarness> => {
  const server = await EmbeddedSipServer.start({ host: '127.0.0.1', port: 0, logger, stopTimeoutMs: 300 });
  const media = await MediaEngine.start({ host: '127.0.0.1', portMin: 0, portMax: 0 });
  const source = new EmbeddedCallSource({ server, media, mediaAddress: '127.0.0.1', admit, clock: systemClock, catalog, recordingsDir: tempDir('va-chan-rec-'), logger });
  return {
    source,
    target: { transport: 'udp', host: '127.0.0.1', port: server.port },
    close: async () => {
      await server.stop();
      await media.stop();
    },
  };
});

describeWithServers(['drachtio-server', 'freeswitch'], 'FreeSWITCH media', () => {
  describeCallChannelContract('FreeSWITCH (drachtio-fsmrf, behind drachtio-server)', async (): Promise<ChannelHarness> => {
    const [fs, drachtio] = await Promise.all([startFreeswitch(), startDrachtio()]);
    const media = await MediaEngine.start({ host: '127.0.0.1', portMin: 0, portMax: 0 });
    const recordingsDir = tempDir('va-chan-fs-rec-');
    const signalling = await startDrachtioSignalling({
      host: '127.0.0.1',
      port: drachtio.adminPort,
      secret: drachtio.secret,
      media,
      mediaAddress: '127.0.0.1',
      admit,
      clock: systemClock,
      catalog,
      recordingsDir,
      logger,
      openMediaServers: (srf) =>
        FreeswitchPool.start({ srf, servers: [{ host: '127.0.0.1', port: fs.eslPort, secret: fs.secret }], listenAddress: '127.0.0.1', clock: systemClock, catalog, recordingsDir, logger }),
    });
    return {
      source: signalling.calls,
      target: { transport: 'udp', host: '127.0.0.1', port: drachtio.sipPort },
      close: async () => {
        await signalling.stop();
        await media.stop();
        await Promise.all([drachtio.stop(), fs.stop()]);
      },
    };
  });
});
