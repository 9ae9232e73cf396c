/**
 * `voice-access export-sipp` (issue 22): example scenarios exported as SIPp XML and run by SIPp against `serve`
 * (the embedded engine; SIPp's 127.0.0.1 under `testing.eventsAllowedFrom`). Each exported call waits for the IVR's
 * prompts by their events: David signs in and signs out (RFC 4733 keys by `play_dtmf`), a diverted caller leaves a
 * 4 s message (speech streamed by `rtp_stream`), Tony's first sign-in changes his PIN with keys as SIP INFO; the
 * server's call records say signed-out, message-left and the PIN changed. A scenario expecting a prompt the IVR does
 * not play fails in SIPp (exit status non-zero). A tone check is refused at export, naming the step.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { verifyPin } from '../../src/domain/pin-hash';
import { runSipp, type SippRun } from '../sip/helpers/sipp';
import { captureIo, ROOT, tempDir } from '../helpers';
import { describeCall, startIvrServer, type IvrServer } from './helpers/ivr-server';

jest.setTimeout(90_000);

let t: IvrServer;
let out: string;

beforeAll(async () => {
  t = await startIvrServer({ patch: (doc) => (doc.testing = { eventsAllowedFrom: ['127.0.0.1'] }) });
  out = tempDir('va-export-sipp-');
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

/** Exports `files` with the CLI; the printed text and exit code. */
async function exportCli(...args: string[]) {
  const io = captureIo();
  const code = await main(['export-sipp', ...args, '--out', out, '--target', `${t.target.address}:${t.target.port}`], io);
  return { code, out: io.stdout, err: io.stderr };
}

/** Runs an exported XML (relative to `out`) once with SIPp, from `out` (where its audio is). */
function sipp(xml: string, service: string): Promise<SippRun> {
  return runSipp({ scenario: { file: path.join(out, xml) }, target: t.target, service, cwd: out, timeoutS: 60, killAfterMs: 75_000 });
}

function explain(run: SippRun): string {
  return `SIPp exit ${run.code}, ${run.successful} ok, ${run.failed} failed\nerrors: ${run.errors}\nstderr: ${run.stderr.slice(-1500)}\n${t.calls.map((c) => describeCall(c)).join('\n')}`;
}

test('the exported sign-in, message and first-time PIN change run in SIPp against serve, as the scenarios describe', async () => {
  const exported = await exportCli(path.join(ROOT, 'scenarios', 'sign-in.yaml'), path.join(ROOT, 'scenarios', 'leave-message.yaml'));
  expect({ code: exported.code, err: exported.err }).toEqual({ code: 0, err: '' });
  expect(exported.out).toContain('sipp -sf sign-in.xml -m 1 -i 127.0.0.1');
  const signIn = readFileSync(path.join(out, 'sign-in.xml'), 'utf8');
  expect(signIn).toContain('X-VA-Test-Events: prompts');
  expect(signIn).toContain('<exec play_dtmf="51235"/>');

  const first = await sipp('sign-in.xml', '14255550100');
  expect({ code: first.code, successful: first.successful, why: first.code === 0 ? '' : explain(first) }).toEqual({ code: 0, successful: 1, why: '' });
  const david = await t.ended(t.calls.length - 1);
  expect(david.record).toMatchObject({ flow: 'sign-in', result: 'signed-out', identity: 'david@contoso.com' });

  const message = await sipp('leave-message.xml', '14255550100');
  expect({ code: message.code, why: message.code === 0 ? '' : explain(message) }).toEqual({ code: 0, why: '' });
  const left = await t.ended(t.calls.length - 1);
  expect(left.record).toMatchObject({ flow: 'call-answering', result: 'message-left' });

  // Keys as SIP INFO (via: info): Tony's first sign-in, a new PIN.
  const scenario = path.join(out, 'tony-info.yaml');
  writeFileSync(
    scenario,
    `name: tony's first sign-in with keys as SIP INFO
calls:
  - id: tony
    from: "+14255550121"
    to: "+14255550100"
    dtmf: { via: info }
    steps:
      - expectPrompt: enter-extension
      - dtmf: "51234"
      - expectPrompt: enter-pin
      - dtmf: "483920#"
      - expectPrompt: first-time-welcome
      - expectPrompt: enter-new-pin
      - dtmf: "720418#"
      - expectPrompt: reenter-new-pin
      - dtmf: "720418#"
      - expectPrompt: pin-changed
      - hangup: true
`,
  );
  expect((await exportCli(scenario)).code).toBe(0);
  expect(readFileSync(path.join(out, 'tony-info.xml'), 'utf8')).toContain('Content-Type: application/dtmf-relay');
  const tony = await sipp('tony-info.xml', '14255550100');
  expect({ code: tony.code, why: tony.code === 0 ? '' : explain(tony) }).toEqual({ code: 0, why: '' });
  await t.ended(t.calls.length - 1);
  expect(await verifyPin('720418', (await t.server.app.store.getMailbox('tony@contoso.com')).pinHash)).toBe(true);
});

test('a prompt the IVR does not play fails the SIPp call; a tone check is refused at export', async () => {
  const wrong = path.join(out, 'wrong-prompt.yaml');
  writeFileSync(
    wrong,
    `name: expects the main menu where the IVR asks for the PIN
calls:
  - id: david
    from: "+14255550123"
    to: "+14255550100"
    steps:
      - expectPrompt: enter-extension
      - dtmf: "51235"
      - expectPrompt: { id: main-menu, within: 8s }
`,
  );
  expect((await exportCli(wrong)).code).toBe(0);
  const run = await sipp('wrong-prompt.xml', '14255550100');
  expect(run.code).not.toBe(0);
  expect(run.successful).toBe(0);

  const tones = await exportCli(path.join(ROOT, 'scenarios', 'conference-hear-each-other.yaml'));
  expect(tones.code).toBe(1);
  expect(tones.err).toMatch(/expectTone: 1000 Hz: SIPp does not analyse the audio it hears/);
});
