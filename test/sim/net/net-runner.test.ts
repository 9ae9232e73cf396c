/**
 * The network runner beyond the example scenarios: digits by SIP INFO over TCP, a refused call (404, and 403 when we
 * are not a UM IP gateway of the server), the `wait` cap, what happens without the server's data folder or log, the
 * `via` key of `dtmf` steps, and the `simulate --target` command line. The real server runs in-process on
 * 127.0.0.1 and free ports.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import { runSimulateCli } from '../../../src/cli/simulate';
import { startServer } from '../../../src/cli/serve';
import { createLogger } from '../../../src/log';
import { parseTarget, runScenarioOverNetwork, timeTravelOf } from '../../../src/sim/net/net-runner';
import { formatTranscript, runScenario, type ScenarioReport } from '../../../src/sim/runner';
import { loadScenario, parseScenario } from '../../../src/sim/scenario';
import { captureIo, ROOT, tempDir } from '../../helpers';
import { sharedSignInServer, startServerFor } from './net-helpers';

const EXAMPLES = path.join(ROOT, 'scenarios');
const shared = sharedSignInServer('va-net-scn-');

const scenario = (name: string, body: string) => shared.scenario(name, body);

/** Prints a report when it did not go as expected (jest shows console output beside the failure). */
const show = (r: ScenarioReport) => `${r.calls.map(formatTranscript).join('\n')}\nnotes: ${r.notes.join(' | ')}\nfailures: ${r.failures.join(' | ')}`;

const INFO_SIGN_IN = `
calls:
  - id: david
    from: "+14255550999"
    to: "+14255550100"
    steps:
      - expectPrompt: enter-extension
      - dtmf: { digits: "51235", via: info }
      - expectPrompt: enter-pin
      - dtmf: "739164#"
        via: info
        gap: 200ms
      - expectPrompt: main-menu
      - dtmf: "6"                    # RFC 4733 in the same call
      - expectPrompt: personal-options-menu
      - dtmf: { digits: "*", via: rfc4733 }
      - expectPrompt: main-menu
      - wait: 1200ms                 # the server counts one key by INFO and RFC 4733 within 1 s as one press
      - dtmf: { digits: "*", via: info }
      - expectHangup: { within: 10s }
expect:
  - result: { call: david, is: signed-out }
  - mailbox: david@contoso.com
    lockedOut: false
`;

describe('over the network', () => {
  it('signs in with digits sent as SIP INFO, over TCP', async () => {
    const file = scenario('info-over-tcp', INFO_SIGN_IN);
    const r = await runScenarioOverNetwork(file, { target: shared.server.target('tcp'), data: shared.server.data, config: shared.server.config, results: shared.server.results });
    if (!r.passed) console.log(show(r));
    expect({ failures: r.failures, passed: r.passed }).toEqual({ failures: [], passed: true });
    const lines = r.calls[0].transcript.map((l) => l.text);
    expect(lines).toContain('presses 51235 (150ms apart) by SIP INFO');
    expect(lines).toContain('presses ******# (200ms apart) by SIP INFO'); // the PIN is masked
    expect(lines).toContain('presses 6');
    expect(r.calls[0].record).toMatchObject({ flow: 'sign-in', result: 'signed-out' });
    expect(r.calls[0].heard.map((h) => h.id)).toEqual(expect.arrayContaining(['welcome', 'enter-extension', 'enter-pin', 'main-menu', 'goodbye']));
  }, 60_000);

  it('a number that routes nowhere is refused (404), and a caller that is not a UM IP gateway (403)', async () => {
    const file = scenario(
      'refused',
      `
calls:
  - id: nowhere
    to: "19999999"
    steps:
      - expectHangup: { within: 10s }
expect:
  - result: { call: nowhere, is: unknown-number }
`,
    );
    const r = await runScenarioOverNetwork(file, { target: shared.server.target(), data: shared.server.data, config: shared.server.config, results: shared.server.results });
    expect(r.failures).toEqual([]);
    expect(r.calls[0].transcript.map((l) => l.text)).toContain('the IVR refuses the call: 404 Not Found');

    // A server whose gateways are elsewhere: our address (127.0.0.1) is not one of them.
    const strict = await startServerFor(path.join(EXAMPLES, 'sign-in.yaml'), (doc) => {
      for (const g of doc.gateways) g.address = '192.0.2.1';
    });
    try {
      const stranger = scenario(
        'stranger',
        `
calls:
  - id: stranger
    to: "+14255550100"
    steps:
      - expectPrompt: { id: welcome, within: 5s }
expect:
  - result: { call: stranger, is: sip-403 }
`,
      );
      const r2 = await runScenarioOverNetwork(stranger, { target: strict.target(), data: strict.data, config: strict.config, results: strict.results });
      expect(r2.failures).toEqual([expect.stringMatching(/^call stranger, step 1 \(expectPrompt: welcome\): not heard: the call ended \(the IVR hung up at .*\); heard nothing$/)]);
      expect(r2.calls[0].transcript.map((l) => l.text)).toContain('the IVR refuses the call: 403 Forbidden');
      expect(r2.calls[0].record).toMatchObject({ flow: 'rejected', result: 'sip-403' });
    } finally {
      await strict.stop();
    }
  }, 60_000);

  it('caps long waits (the transcript says so), and speaks into a recording', async () => {
    const file = scenario(
      'capped',
      `
calls:
  - id: caller
    from: "+14255550123"
    to: "+14255550100"
    diversion: "51234"
    steps:
      - expectRecording: true
      - speak: 1500ms
      - wait: 10m
      - dtmf: "#"
      - expectPrompt: message-saved
      - expectHangup: { within: 10s }
expect:
  - result: { call: caller, is: message-left }
  - mailbox: tony@contoso.com
    voiceMessages: { total: 1, unheard: 1 }
`,
    );
    const t0 = Date.now();
    const r = await runScenarioOverNetwork(file, { target: shared.server.target(), data: shared.server.data, config: shared.server.config, results: shared.server.results, maxWaitMs: 2_000 });
    if (!r.passed) console.log(show(r));
    expect({ failures: r.failures, passed: r.passed }).toEqual({ failures: [], passed: true });
    expect(r.calls[0].transcript.map((l) => l.text)).toEqual(
      expect.arrayContaining(['records (the beep has played)', 'speaks for 1.5s', 'waits 2s instead of 10m (the longest wait of this run)']),
    );
    expect(Date.now() - t0).toBeLessThan(60_000);
  }, 90_000);

  it('without the data folder: state expectations fail saying why, results are skipped with a note', async () => {
    const r = await runScenarioOverNetwork(path.join(EXAMPLES, 'sign-in.yaml'), { target: shared.server.target() });
    expect(r.failures).toEqual(["expect[1] (mailbox david@contoso.com): mailbox state is in the server's store: give its data folder with --data"]);
    expect(r.notes).toContain(
      'expect[0] (result of call david) not checked: call results are known only to the server: give its log with --server-log FILE',
    );
    expect(r.calls[0].record).toBeNull();
    expect(formatTranscript(r.calls[0])).toContain('result: (unknown: the server knows it, see --server-log)');
    expect(r.calls[0].heard.length).toBeGreaterThan(3);
  }, 60_000);

  it('without the data folder a scenario that needs time travel or cmdlets fails at once, calling no one', async () => {
    for (const name of ['expired-pin.yaml', 'lockout-and-admin-unlock.yaml']) {
      const r = await runScenarioOverNetwork(path.join(EXAMPLES, name), { target: shared.server.target() });
      expect(r.failures).toHaveLength(1);
      expect(r.failures[0]).toMatch(/^this scenario needs the server's data folder \(--data DIR\): .*no call was made$/);
      expect(r.calls.every((c) => c.transcript.length === 0)).toBe(true);
    }
    expect(timeTravelOf(loadScenario(path.join(EXAMPLES, 'expired-pin.yaml')))).toEqual(['call david starts at 61d (time travel of up to 61d)']);
    expect(timeTravelOf(loadScenario(path.join(EXAMPLES, 'lockout-and-admin-unlock.yaml')))).toEqual([]);
  });

  it("refuses a scenario's admin: cmdlets on a live server unless allowed (--allow-admin), calling no one", async () => {
    const file = path.join(EXAMPLES, 'lockout-and-admin-unlock.yaml');
    const r = await runScenarioOverNetwork(file, { target: shared.server.target(), data: shared.server.data, config: shared.server.config, results: shared.server.results });
    expect(r.failures).toEqual([expect.stringMatching(/^this scenario runs cmdlets on the server's store \(admin\[0\] \(Set-UMMailboxPIN.*they run only with --allow-admin; no call was made$/)]);
    expect(r.calls.every((c) => c.transcript.length === 0)).toBe(true);
    expect(r.notes.filter((n) => n.startsWith('admin at'))).toEqual([]);
  });

  it('refuses a data folder without a store', async () => {
    const r = await runScenarioOverNetwork(path.join(EXAMPLES, 'sign-in.yaml'), { target: shared.server.target(), data: tempDir('va-empty-') });
    expect(r.failures[0]).toMatch(/^no store in .* \(voice-access\.db\): --data must be the data folder the server runs on; no call was made$/);
  });
});

describe('the via key of dtmf steps', () => {
  it('is read beside or inside the step, and refused when it is none of the transports (rfc4733, info, inband)', () => {
    const s1 = parseScenario(`name: x\ncalls:\n  - id: a\n    to: "1"\n    steps:\n      - dtmf: "12"\n        via: info\n      - dtmf: { digits: "3", via: rfc4733 }\n      - dtmf: "4"\n`, '/x.yaml');
    expect(s1.calls[0].steps).toEqual([
      { kind: 'dtmf', digits: '12', gapMs: 150, via: 'info', label: 'dtmf: 12 via info' },
      { kind: 'dtmf', digits: '3', gapMs: 150, via: 'rfc4733', label: 'dtmf: 3 via rfc4733' },
      { kind: 'dtmf', digits: '4', gapMs: 150, label: 'dtmf: 4' },
    ]);
    expect(() => parseScenario(`name: x\ncalls:\n  - id: a\n    to: "1"\n    steps:\n      - dtmf: "1"\n        via: sms\n`, '/x.yaml')).toThrow(
      /calls\[0\]\.steps\[0\]\.via/,
    );
    expect(() => parseScenario(`name: x\ncalls:\n  - id: a\n    to: "1"\n    steps:\n      - dtmf: { digits: "1", via: info }\n        via: info\n`, '/x.yaml')).toThrow(
      /give via either inside dtmf or beside it/,
    );
  });

  it('makes no difference in-process', async () => {
    const r = await runScenario(scenario('info-in-process', INFO_SIGN_IN));
    expect(r.failures).toEqual([]);
    expect(r.calls[0].transcript.map((l) => l.text)).toContain('presses ******# (200ms apart) by SIP INFO');
  });
});

describe('voice-access simulate --target', () => {
  it('parses targets', () => {
    expect(parseTarget('udp:127.0.0.1:5070')).toEqual({ transport: 'udp', host: '127.0.0.1', port: 5070 });
    expect(parseTarget('TCP:[::1]:5070')).toEqual({ transport: 'tcp', host: '::1', port: 5070 });
    for (const bad of ['127.0.0.1:5060', 'udp:127.0.0.1', 'tls:127.0.0.1:5061', 'udp:example.com:5060', 'udp:127.0.0.1:70000']) expect(() => parseTarget(bad)).toThrow(/--target/);
  });

  it('wrong command lines exit 2', async () => {
    const io = captureIo();
    expect(await runSimulateCli(['--target', 'sip.example.com', 'x.yaml'], io)).toBe(2);
    expect(io.stderr).toContain('--target must be udp:HOST:PORT');
    const io2 = captureIo();
    expect(await runSimulateCli(['--server-log', 'x.log', 'x.yaml'], io2)).toBe(2);
    expect(io2.stderr).toContain('need --target');
  });

  it("runs a scenario against a server whose log is a file, and checks every expectation", async () => {
    const root = tempDir('va-net-cli-');
    const log = path.join(root, 'server.log');
    const config = shared.server.config; // the demo directory with a cheap hash
    const server = await startServer({
      config,
      data: path.join(root, 'data'),
      sipHost: '127.0.0.1',
      sipPort: 0,
      rtpPortMin: 0,
      rtpPortMax: 0,
      logger: createLogger({ level: 'info', destination: pino.destination({ dest: log, sync: true }) }),
    });
    try {
      const io = captureIo();
      const junit = path.join(root, 'junit.xml');
      const code = await runSimulateCli(
        ['--target', `udp:127.0.0.1:${server.sip.port}`, '--data', path.join(root, 'data'), '--config', config, '--server-log', log, '--max-wait', '5s', '--junit', junit, path.join(EXAMPLES, 'sign-in.yaml')],
        io,
      );
      expect({ code, out: io.stdout }).toEqual({ code: 0, out: expect.stringContaining('1 passed, 0 failed') });
      expect(io.stdout).toContain('plays enter-pin [en-US] "Please enter your PIN and press the pound key."');
      expect(io.stdout).toContain('result: signed-out (sign-in)');
      expect(io.stdout).not.toContain('not checked');
      expect(readFileSync(junit, 'utf8')).toContain('failures="0"');
    } finally {
      await server.stop();
    }
  }, 60_000);
});
