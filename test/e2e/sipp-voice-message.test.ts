/**
 * Call answering over the network: SIPp calls the access number with `Diversion: <sip:51235@127.0.0.1>` (a call to
 * david's extension that was not answered), waits through the greeting and the beep, speaks for 4 s and hangs up.
 * `Get-VoiceMessage` then shows one message whose DurationSeconds is within 1 s of what was spoken, and its WAV exists
 * and holds sound. Once with `rtp_stream` (PCMU, 20 ms packets, a generated voice-like signal), once with the
 * package's `g711a.pcap` capture (PCMA in 30 ms packets, replayed with play_pcap_audio). Run on each engine
 * (embedded, drachtio, drachtio with FreeSWITCH media: there FreeSWITCH records and the stored WAV must still be as
 * long as what was spoken, within 1 s).
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { encodeG711 } from '../../src/media/g711';
import { readWavPcm } from '../../src/media/wav';
import { PromptCatalog } from '../../src/prompts/catalog';
import { greetingPrompts } from '../../flows/call-answering.flow';
import { mailboxInfo } from '../../src/runtime/call-runtime';
import { tempDir } from '../helpers';
import { rms, soundShare, speechLike } from './helpers/audio';
import { describeCall, describeEngines, expectSippSuccess, heardIds, sippCall, startIvrServer, type IvrServer } from './helpers/ivr-server';

jest.setTimeout(55_000);

const SPOKEN_S = 4;

describeEngines('a diverted call leaves a message', (engine) => {
  let t: IvrServer;
  /** How long david's greeting and the beep play, ms. */
  let greetingMs: number;

  beforeAll(async () => {
    t = await startIvrServer({ engine });
    const store = t.server.app.store;
    const prompts = PromptCatalog.load().render([...greetingPrompts(await mailboxInfo(store, await store.getMailbox('david@contoso.com'))), { tone: 'beep' }], 'en-US');
    greetingMs = PromptCatalog.durationOf(prompts);
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  }, 30_000);

  /** Get-VoiceMessage for david, as JSON rows. */
  async function davidsMessages(): Promise<Array<{ From: string | null; DurationSeconds: number; AudioFile: string; Unheard: boolean }>> {
    const r = await t.cmdlet('Get-VoiceMessage', '-Identity', 'david@contoso.com', '--json');
    if (r.code !== 0) throw new Error(`Get-VoiceMessage failed (${r.code}): ${r.stderr}`);
    return Array.isArray(r.json) ? r.json : r.json ? [r.json] : [];
  }

  async function leaveMessage(scenario: string, caller: string, cwd?: string): Promise<void> {
    const before = await davidsMessages();
    const n = t.calls.length;
    // The pause before speaking: the greeting and the beep, and a little more so the speech starts once recording has.
    const run = await sippCall(t, scenario, { extra: ['-d', String(Math.round(greetingMs + 150))], cwd, timeoutS: 45 });
    expectSippSuccess(t, run);
    const call = await t.ended(n);
    const why = describeCall(call);
    expect({ why, flow: call.record!.flow, result: call.record!.result, identity: call.record!.identity, diversion: call.diversion }).toEqual({
      why,
      flow: 'call-answering',
      result: 'message-left',
      identity: 'david@contoso.com',
      diversion: '51235',
    });
    expect({ why, ids: heardIds(call) }).toEqual({ why, ids: expect.arrayContaining(['greeting-extension-prefix', 'greeting-unavailable', 'tone:beep']) });

    const after = await davidsMessages();
    const added = after.filter((m) => !before.some((b) => b.AudioFile === m.AudioFile));
    expect(added).toHaveLength(1);
    const [msg] = added;
    expect({ From: msg.From, Unheard: msg.Unheard }).toEqual({ From: caller, Unheard: true });
    expect(Math.abs(msg.DurationSeconds - SPOKEN_S)).toBeLessThanOrEqual(1);
    // The WAV exists, is as long as the message, and holds the caller's voice (not silence).
    expect(existsSync(msg.AudioFile)).toBe(true);
    const pcm = readWavPcm(msg.AudioFile);
    expect(Math.abs(pcm.length / 8000 - msg.DurationSeconds)).toBeLessThanOrEqual(0.5);
    expect(rms(pcm)).toBeGreaterThan(300);
    expect(soundShare(pcm)).toBeGreaterThan(0.6);
  }

  test('rtp_stream: a diverted call speaks 4 s (PCMU) and hangs up; Get-VoiceMessage shows the message', async () => {
    // rtp_stream sends raw codec bytes: the voice-like signal as G.711 mu-law, in SIPp's working directory.
    const cwd = tempDir('va-e2e-speech-');
    try {
      writeFileSync(`${cwd}/speech-4s.ulaw`, encodeG711(speechLike(SPOKEN_S), 0));
      await leaveMessage('leave-message-rtp-stream.xml', '+14255550123', cwd);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('play_pcap_audio with g711a.pcap: PCMA in 30 ms packets, 4 s spoken; Get-VoiceMessage shows a second message', async () => {
    await leaveMessage('leave-message-g711a-pcap.xml', '+14255550124');
    expect(await davidsMessages()).toHaveLength(2);
  });
});
