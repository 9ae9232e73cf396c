/**
 * MWI end to end (issue 5): SIPp plays the UM IP gateways (TCP UAS, `-t t1`, every header and the body checked
 * with regular expressions) while the real server runs.
 * - A SIPp caller leaves a message for david (51235): gw1 receives `Messages-Waiting: yes`, `Voice-Message: 1/0`.
 * - david hears the message over the network (our SIP/RTP caller): gw1 receives `no`, `0/1`.
 * - gw1 answers 480: the NOTIFY goes to gw2, in that order.
 * - A gateway that is Disabled or does not allow MWI, or a policy without MWI, gets nothing; the change that
 *   follows re-enabling it does arrive (so "nothing" is not a broken watcher).
 * Changes other than the calls are made through a second store connection on the same data folder, as another
 * voice-access process (a cmdlet, a second instance behind drachtio) would. Run on the embedded engine and behind
 * drachtio-server (which sends the NOTIFYs). The media engine has no part in MWI: with FreeSWITCH media, the lamp
 * lit by a message FreeSWITCH recorded is `freeswitch-media.test.ts`'s.
 */
import { rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { encodeG711 } from '../../src/media/g711';
import { PromptCatalog } from '../../src/prompts/catalog';
import { mailboxInfo } from '../../src/runtime/call-runtime';
import { greetingPrompts } from '../../flows/call-answering.flow';
import { DirectoryStore } from '../../src/directory/store';
import { runScenarioOverNetwork } from '../../src/sim/net/net-runner';
import { findFreeSipPort } from '../../src/sip/embedded/free-port';
import { tempDir } from '../helpers';
import { speechLike } from './helpers/audio';
import { describeEngines, expectSippSuccess, sippCall, startIvrServer, type IvrServer } from './helpers/ivr-server';
import { killSippGateways, startSippGateway, type SippGateway } from './helpers/sipp-gateway';

jest.setTimeout(90_000);

describeEngines('MWI to SIPp gateways', (engine) => {
  let t: IvrServer;
  let gw1Port: number;
  let gw2Port: number;
  /** SIPp's working folders (the speech file), removed at the end. */
  const temps: string[] = [];

  beforeAll(async () => {
    gw1Port = await findFreeSipPort('127.0.0.1');
    gw2Port = await findFreeSipPort('127.0.0.1');
    t = await startIvrServer({
      engine,
      patch: (doc) => {
        doc.gateways = doc.gateways.map((g: any) =>
          g.name === 'gw1' ? { ...g, port: gw1Port } : g.name === 'gw2' ? { ...g, port: gw2Port } : g,
        );
        doc.notifications = { mwi: { notifyTimeoutSeconds: 5, initialBackoffSeconds: 0.5, maxBackoffSeconds: 2 } };
      },
    });
  }, 60_000);
  afterEach(() => killSippGateways());
  afterAll(async () => {
    await t?.stop();
    for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
  }, 30_000);

  async function gatewayDone(gw: SippGateway, what: string): Promise<void> {
    const r = await gw.done;
    if (r.code !== 0) throw new Error(`SIPp gateway (${what}) exit ${r.code}\nerrors: ${r.errors}\nstderr: ${r.stderr.slice(-1500)}\n${t.explain()}`);
  }

  /** Another process's change: a message added through a second connection on the same data folder. */
  async function addMessageElsewhere(identity: string): Promise<void> {
    const other = DirectoryStore.open(t.data);
    try {
      await other.addVoiceMessage({ identity, caller: '+14255550199', receivedAt: Date.now(), durationMs: 3000, urgent: false, audioFile: path.join(t.data, 'none.wav') });
    } finally {
      await other.close();
    }
  }

  test('a message left by a SIPp caller lights the lamp on the SIPp gateway; hearing it turns the lamp off', async () => {
    const gw = startSippGateway(gw1Port, { extension: '51235', host: '127.0.0.1', messagesWaiting: 'yes', voiceMessage: '1/0 (0/0)' });
    const cwd = tempDir('va-e2e-mwi-');
    temps.push(cwd);
    writeFileSync(`${cwd}/speech-4s.ulaw`, encodeG711(speechLike(4), 0));
    const store = t.server.app.store;
    const greeting = PromptCatalog.load().render([...greetingPrompts(await mailboxInfo(store, await store.getMailbox('david@contoso.com'))), { tone: 'beep' }], 'en-US');
    const pauseMs = Math.round(PromptCatalog.durationOf(greeting) + 150);
    const run = await sippCall(t, 'leave-message-rtp-stream.xml', { extra: ['-d', String(pauseMs)], cwd, timeoutS: 45 });
    expectSippSuccess(t, run);
    const hungUpAt = Date.now();
    await gatewayDone(gw, 'message left');
    // The lamp lit within a second or so of the hang-up (printed, not asserted: shared machines are noisy).
    process.stdout.write(`MWI NOTIFY answered ${Date.now() - hungUpAt} ms after SIPp's BYE\n`);

    const off = startSippGateway(gw1Port, { extension: '51235', host: '127.0.0.1', messagesWaiting: 'no', voiceMessage: '0/1 (0/0)' });
    const scenario = path.join(cwd, 'hear.yaml');
    writeFileSync(
      scenario,
      [
        'name: david hears his message',
        'calls:',
        '  - id: david',
        '    from: "+14255550123"',
        '    to: "+14255550100"',
        '    steps:',
        '      - expectPrompt: enter-extension',
        '      - dtmf: "51235"',
        '      - expectPrompt: enter-pin',
        '      - dtmf: "739164#"',
        '      - expectPrompt: main-menu',
        '      - dtmf: "1"',
        '      - expectPrompt: message-from',
        '      - expectPrompt: voicemail-menu',
        '      - hangup: true',
        '',
      ].join('\n'),
    );
    const report = await runScenarioOverNetwork(scenario, { target: { transport: 'udp', host: t.target.address, port: t.target.port }, data: t.data, config: t.config });
    expect({ passed: report.passed, failures: report.failures }).toEqual({ passed: true, failures: [] });
    await gatewayDone(off, 'message heard');
  });

  test('the first gateway answers 480: the NOTIFY goes to the second, in that order', async () => {
    const first = startSippGateway(gw1Port, { extension: '51234', host: '127.0.0.1', messagesWaiting: 'yes', voiceMessage: '1/0 (0/0)' }, 480, 'Temporarily Unavailable');
    const second = startSippGateway(gw2Port, { extension: '51234', host: '127.0.0.1', messagesWaiting: 'yes', voiceMessage: '1/0 (0/0)' });
    await new Promise((r) => setTimeout(r, 300)); // both listening
    const logFrom = t.logs.length;
    await addMessageElsewhere('tony@contoso.com');
    await gatewayDone(first, 'gw1 480');
    await gatewayDone(second, 'gw2 200');
    await t.until(() => t.logs.slice(logFrom).some((l) => l.includes('mwi notify delivered')), 5000, 'the delivery log line');
    const delivered = JSON.parse(t.logs.slice(logFrom).find((l) => l.includes('mwi notify delivered'))!);
    expect(delivered).toMatchObject({ identity: 'tony@contoso.com', extension: '51234', gateway: 'gw2', status: 200, messagesWaiting: true, failedAttempts: 1 });
  });

  /** A TCP listener on a gateway's port that counts connections (a NOTIFY would need one). */
  async function countConnections(port: number): Promise<{ count: () => number; close: () => Promise<void> }> {
    let n = 0;
    const server = net.createServer((s) => {
      n++;
      s.destroy();
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return { count: () => n, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  test('a disabled gateway, a gateway without MWI, or a policy without MWI gets nothing; re-enabled, the lamp follows', async () => {
    const gw1 = await countConnections(gw1Port);
    const gw2 = await countConnections(gw2Port);
    try {
      expect((await t.cmdlet('Set-UMIPGateway', '-Identity', 'gw1', '-Status', 'Disabled')).code).toBe(0);
      expect((await t.cmdlet('Set-UMIPGateway', '-Identity', 'gw2', '-MessageWaitingIndicatorAllowed', '$false')).code).toBe(0);
      await addMessageElsewhere('tony@contoso.com');
      await new Promise((r) => setTimeout(r, 2500)); // the server looks for other processes' changes every second
      expect({ gw1: gw1.count(), gw2: gw2.count() }).toEqual({ gw1: 0, gw2: 0 });

      expect((await t.cmdlet('Set-UMIPGateway', '-Identity', 'gw1', '-Status', 'Enabled')).code).toBe(0);
      expect((await t.cmdlet('Set-UMMailboxPolicy', '-Identity', 'Contoso-Policy', '-AllowMessageWaitingIndicator', '$false')).code).toBe(0);
      await addMessageElsewhere('tony@contoso.com');
      await new Promise((r) => setTimeout(r, 2500));
      expect({ gw1: gw1.count(), gw2: gw2.count() }).toEqual({ gw1: 0, gw2: 0 });

      expect((await t.cmdlet('Set-UMMailboxPolicy', '-Identity', 'Contoso-Policy', '-AllowMessageWaitingIndicator', '$true')).code).toBe(0);
      await addMessageElsewhere('tony@contoso.com');
      await t.until(() => gw1.count() > 0, 10_000, 'a NOTIFY connection to gw1 once MWI is allowed again');
      expect(gw2.count()).toBe(0);
    } finally {
      await gw1.close();
      await gw2.close();
    }
  });
}, ['embedded', 'drachtio']);
