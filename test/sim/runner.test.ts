import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { formatTranscript, runScenario } from '../../src/sim/runner';
import { captureIo, tempDir, writeConfig } from '../helpers';

/** Writes a scenario next to a fast-hashing copy of the demo directory; returns its path. */
function scenario(dir: string, name: string, body: string): string {
  if (!existsSync(path.join(dir, 'directory.yaml'))) writeConfig(dir);
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\nconfig: directory.yaml\n${body}`);
  return file;
}

const DAVID_SIGNS_IN = `
calls:
  - id: david
    from: "+14255550999"
    to: "+14255550100"
    steps:
      - expectPrompt: welcome
      - expectPrompt: enter-extension
      - dtmf: "51235"
      - expectPrompt: enter-pin
      - dtmf: "739164#"
      - expectPrompt: main-menu
      - dtmf: "*"
      - expectHangup: true
expect:
  - result: { call: david, is: signed-out }
  - mailbox: david@contoso.com
    pinExpired: false
    firstTimeUser: false
    lockedOut: false
    voiceMessages: { total: 0, unheard: 0 }
`;

describe('runScenario', () => {
  it('runs david signing in to the main menu on the virtual clock', async () => {
    const dir = tempDir('va-run-');
    const report = await runScenario(scenario(dir, 'david-signs-in', DAVID_SIGNS_IN));
    expect(report.failures).toEqual([]);
    expect(report.passed).toBe(true);
    const [call] = report.calls;
    expect(call.record).toMatchObject({ callId: 'david', flow: 'sign-in', result: 'signed-out', identity: 'david@contoso.com' });
    const ids = call.heard.map((h) => h.id);
    expect(ids.slice(0, 3)).toEqual(['welcome', 'enter-extension', 'enter-pin']);
    expect(ids).toContain('main-menu');
    expect(call.heard[0]).toEqual({ at: 0, id: 'welcome', text: 'Welcome to Voice Access.', locale: 'en-US' });
    const text = formatTranscript(call);
    expect(text).toContain('call david: +14255550999 -> +14255550100');
    expect(text).toContain('caller presses ******# (150ms apart)');
    expect(text).toContain('plays main-menu "For voice mail, press 1.');
    expect(text).toContain('result: signed-out (sign-in, david@contoso.com)');
    expect(report.virtualMs).toBeGreaterThan(3_000);
    expect(report.dataDir).toBeNull();
  });

  it('speaks French on the Paris dial plan, and ends a silent call with no-input', async () => {
    const dir = tempDir('va-run-');
    const report = await runScenario(
      scenario(
        dir,
        'claire',
        `
calls:
  - id: claire
    to: "+33155550100"
    steps:
      - expectPrompt: enter-extension
      - dtmf: "4321"
      - expectPrompt: enter-pin
      - dtmf: "582047#"
      - expectPrompt: main-menu
  - id: silent
    to: "+33155550100"
    steps:
      - expectHangup: { within: 2m }
expect:
  - result: { call: silent, is: no-input }
`,
      ),
    );
    expect(report.failures).toEqual([]);
    const [claire, silent] = report.calls;
    expect(claire.heard[0].text).toBe('Bienvenue dans Accès vocal.');
    expect(claire.record).toMatchObject({ identity: 'claire@contoso.com' });
    expect(silent.heard.map((h) => h.id)).toEqual([
      'welcome',
      'enter-extension',
      'no-input',
      'enter-extension',
      'no-input',
      'enter-extension',
      'goodbye',
    ]);
    expect(silent.transcript.at(-1)).toMatchObject({ who: 'ivr', text: 'hangs up (normal)' });
  });

  it('is deterministic: the same scenario gives the same transcript', async () => {
    const dir = tempDir('va-run-');
    const file = scenario(dir, 'david-signs-in', DAVID_SIGNS_IN);
    const a = await runScenario(file);
    const b = await runScenario(file);
    expect(b.calls.map((c) => c.transcript)).toEqual(a.calls.map((c) => c.transcript));
  });

  it('names the call, the step and what was heard instead when a step fails', async () => {
    const dir = tempDir('va-run-');
    const report = await runScenario(
      scenario(
        dir,
        'own-phone',
        `
calls:
  - id: david
    from: "+14255550112"
    to: "+14255550100"
    steps:
      - expectPrompt: welcome
      - expectPrompt: { id: enter-pin, within: 12s }
      - dtmf: "739164#"
`,
      ),
    );
    expect(report.passed).toBe(false);
    expect(report.failures).toEqual([
      'call david, step 2 (expectPrompt: enter-pin): not heard within 12s; heard instead: enter-pin-own-mailbox',
    ]);
    expect(report.calls[0].transcript.map((l) => l.text)).toContain('FAILED step 2 (expectPrompt: enter-pin): not heard within 12s; heard instead: enter-pin-own-mailbox');
  });

  it('runs concurrent calls: wrong PINs across two calls reset the PIN and mail it; a message and a missed call', async () => {
    const dir = tempDir('va-run-');
    const report = await runScenario(
      scenario(
        dir,
        'wrong-pins',
        `
calls:
  - id: first
    to: "+14255550100"
    steps:
      - expectPrompt: enter-extension
      - dtmf: "51235"
      - expectPrompt: enter-pin
      - dtmf: "111111#"
      - expectPrompt: pin-incorrect
      - dtmf: "222222#"
      - expectPrompt: pin-incorrect
      - dtmf: "333333#"
      - expectPrompt: try-later
      - expectHangup: { within: 30s }
  - id: second
    start: 2m
    to: "+14255550100"
    steps:
      - expectPrompt: enter-extension
      - dtmf: "51235"
      - expectPrompt: enter-pin
      - dtmf: "444444#"
      - expectPrompt: pin-incorrect
      - dtmf: "555555#"
      - expectPrompt: pin-reset-sent
      - expectHangup: true
  - id: message
    start: 30s
    from: "+14255550999"
    to: "+14255550100"
    diversion: "51234"
    steps:
      - expectPrompt: tone:beep
      - expectRecording: true
      - speak: { seconds: 4 }
      - hangup: true
  - id: missed
    start: 30s
    to: "51234"
    steps:
      - expectPrompt: greeting-extension-prefix
      - wait: 1s
      - hangup: true
advance: 61d
expect:
  - result: { call: first, is: too-many-logon-failures }
  - result: { call: second, is: pin-reset }
  - result: { call: message, is: message-left }
  - result: { call: missed, is: missed-call }
  - email: { to: david@contoso.com, contains: PIN, count: 1 }
  - email: { to: tony@contoso.com, contains: PIN, count: 0 }
  - email: { to: tony@contoso.com, subject: "Voice Mail from +14255550999", count: 1 }   # the message, WAV attached
  - sms: { to: "+14255550111", count: 0 }    # tony's UMSMSNotificationOption is None
  - mailbox: tony@contoso.com
    voiceMessages: { total: 1, unheard: 1 }
    pinExpired: true
  - missedCalls: { identity: tony@contoso.com, count: 1 }
  - mailbox: david@contoso.com
    pinExpired: true
    lockedOut: false
`,
      ),
      { keepData: true },
    );
    expect(report.failures).toEqual([]);
    expect(report.mails.map((m) => m.to)).toEqual(['tony@contoso.com', 'david@contoso.com']);
    // The configured mailer still delivered them: the outbox of the (kept) throw-away data folder has the .eml files.
    const outbox = path.join(report.dataDir!, 'outbox');
    expect(readdirSync(outbox).filter((f) => f.endsWith('.eml'))).toHaveLength(2);
    expect(report.mails[1].at).toBeGreaterThan(120_000);
    expect(report.sms).toEqual([]);
    expect(report.countsChanged.map((c) => c.identity)).toContain('tony@contoso.com');
    expect(report.virtualMs).toBeGreaterThan(61 * 86_400_000);
    const msg = report.calls.find((c) => c.id === 'message')!;
    expect(msg.transcript.some((l) => /recorded 4s of audio \(hangup\)/.test(l.text))).toBe(true);
  });

  it('ends calls that outlast the scenario timeout, and says so', async () => {
    const dir = tempDir('va-run-');
    const report = await runScenario(
      scenario(
        dir,
        'lobby-forever',
        `
timeout: 10m
calls:
  - id: waiter
    to: "+14255550199"
    steps:
      - expectPrompt: conf-welcome
      - dtmf: "4455667#"
      - expectPrompt: conf-lobby
      - wait: 1h
`,
      ),
    );
    expect(report.failures).toEqual([`call waiter: the call did not end: not within the scenario's timeout of 10m; the caller hangs up`]);
    expect(report.calls[0].record).toMatchObject({ flow: 'conference', result: 'hung-up' });
    expect(report.calls[0].heard.filter((h) => h.id === 'tone:music-on-hold').length).toBeGreaterThan(50);
    expect(report.virtualMs).toBe(600_000);
  });

  it('reports failed expectations, and keeps --data with its outbox and recordings', async () => {
    const dir = tempDir('va-run-');
    const data = path.join(dir, 'data');
    const file = scenario(
      dir,
      'message-kept',
      `
calls:
  - id: caller
    to: "51234"
    steps:
      - expectPrompt: tone:beep
      - speak: 2s
      - dtmf: "#"
      - expectPrompt: message-saved
expect:
  - mailbox: tony@contoso.com
    voiceMessages: { total: 2 }
  - email: { to: tony@contoso.com, contains: PIN }
  - missedCalls: { identity: nobody@contoso.com, count: 0 }
`,
    );
    const report = await runScenario(file, { data });
    expect(report.dataDir).toBe(data);
    expect(report.failures).toEqual([
      'expect[0] (mailbox tony@contoso.com): voiceMessages.total is 1, expected 2',
      'expect[1] (email to tony@contoso.com containing "PIN"): no such mail; mails sent: to tony@contoso.com "Voice Mail from unknown caller (0:02)"',
      'expect[2] (missed calls of nobody@contoso.com): no such mailbox',
    ]);
    const recordings = readdirSync(path.join(data, 'recordings')).filter((f) => f.endsWith('.wav'));
    expect(recordings).toHaveLength(1);
    // A second run on the same data folder sees the first run's message.
    const again = await runScenario(file, { data });
    expect(again.failures).toEqual([
      'expect[1] (email to tony@contoso.com containing "PIN"): no such mail; mails sent: to tony@contoso.com "Voice Mail from unknown caller (0:02)"',
      'expect[2] (missed calls of nobody@contoso.com): no such mailbox',
    ]);
  });
});

describe('voice-access simulate', () => {
  it('prints transcripts and a summary, writes JUnit XML, and exits 1 when a scenario fails', async () => {
    const dir = tempDir('va-cli-');
    const good = scenario(dir, 'good', DAVID_SIGNS_IN);
    const bad = scenario(dir, 'bad', DAVID_SIGNS_IN.replace('is: signed-out', 'is: locked-out'));
    const invalid = path.join(dir, 'invalid.yaml');
    writeFileSync(invalid, 'name: x\ncalls: []\n');
    const junit = path.join(dir, 'out', 'junit.xml');

    const io = captureIo();
    expect(await main(['simulate', good, '--junit', junit], io)).toBe(0);
    expect(io.stdout).toContain('=== good');
    expect(io.stdout).toContain('plays main-menu');
    expect(io.stdout).toMatch(/PASS good \(/);
    expect(io.stdout.trimEnd().split('\n').at(-1)).toBe('1 passed, 0 failed');

    const io2 = captureIo();
    expect(await main(['simulate', good, bad, invalid, '--junit', junit], io2)).toBe(1);
    expect(io2.stdout).toContain('expect[0] (result of call david): the result is "signed-out", expected "locked-out"');
    expect(io2.stdout).toContain('calls: at least one call is needed');
    expect(io2.stdout.trimEnd().split('\n').at(-1)).toBe('1 passed, 2 failed');
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain('<testsuite name="voice-access simulate" tests="3" failures="1" errors="1"');
    expect(xml.match(/<testcase /g)).toHaveLength(3);
    expect(xml).toContain('<failure message="expect[0] (result of call david): the result is &quot;signed-out&quot;, expected &quot;locked-out&quot;"');
    expect(xml).toContain('<error message="VA_ERR_SIM_SCENARIO_INVALID:');
  });

  it('accepts global options before the command, --json, and refuses a bad command line with 2', async () => {
    const dir = tempDir('va-cli-');
    const good = scenario(dir, 'good', DAVID_SIGNS_IN);
    const io = captureIo();
    expect(await main(['--data', path.join(dir, 'data'), 'simulate', good, '--json'], io)).toBe(0);
    const results = JSON.parse(io.stdout);
    expect(results[0].report.passed).toBe(true);
    expect(io.stderr).toBe('1 passed, 0 failed\n');
    expect(existsSync(path.join(dir, 'data'))).toBe(true);

    const io2 = captureIo();
    expect(await main(['simulate'], io2)).toBe(2);
    expect(io2.stderr).toContain("missing required argument 'files'");
    expect(await main(['simulate', good, '--nope'], captureIo())).toBe(2);
    // The cmdlets still take the global options.
    const io3 = captureIo();
    expect(await main(['Get-UMMailboxPIN', '-Identity', 'david@contoso.com', '--data', path.join(dir, 'data'), '--json'], io3)).toBe(0);
    expect(JSON.parse(io3.stdout)).toMatchObject([{ UserID: 'david@contoso.com' }]);
  });
});

describe('transcripts and load scenarios', () => {
  it('show flow states and never a PIN', async () => {
    const dir = tempDir('va-run-');
    const report = await runScenario(scenario(dir, 'pin-masked', DAVID_SIGNS_IN));
    const text = formatTranscript(report.calls[0]);
    expect(text).toContain('flow   state signIn.pin');
    expect(text).toContain('flow   state mailboxMenu.mainMenu');
    expect(text).toContain('got digits "******" (terminator #)');
    expect(text).toContain('caller presses ******#');
    expect(text).not.toContain('739164');
  });

  it('repeat runs a call many times on one clock; a result expectation covers every copy', async () => {
    const dir = tempDir('va-run-');
    const body = DAVID_SIGNS_IN.replace('    to: "+14255550100"\n', '    to: "+14255550100"\n    repeat: { count: 3, every: 2s }\n');
    const report = await runScenario(scenario(dir, 'repeat', body));
    expect(report.failures).toEqual([]);
    expect(report.calls.map((c) => c.id)).toEqual(['david#1', 'david#2', 'david#3']);
    expect(report.calls.every((c) => c.record?.result === 'signed-out')).toBe(true);
  });
});
