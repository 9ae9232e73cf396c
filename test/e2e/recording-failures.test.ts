/**
 * A voice message that cannot be written (issue 19, "Nothing lost"): the data folder's `recordings` is replaced by a
 * file while the server runs, and a diverted caller leaves a message (our SIP caller, `NetCaller`, with RTP both ways).
 * The write fails; the runtime takes the path FreeSWITCH's failed recordings take (VA_ERR_MEDIA_RECORDING): the
 * caller still on the line hears an apology (`try-later`, `goodbye`) and the IVR hangs up; the error is logged once,
 * with its code and the call id; `va_recording_failures_total{code}` counts it; the call gets its `call ended` line;
 * no message row is stored (and no temporary file is left). Three times: the folder replaced before the call (the
 * recording fails as it starts, right after the beep), and replaced once recording has started, with `#` ending the
 * message or the caller hanging up (the usual way to finish, as SIPp does: no apology can be heard then). On each
 * engine: embedded, drachtio (our RTP engine writes), and drachtio with FreeSWITCH media (FreeSWITCH records: its raw
 * file vanishes with the folder) — one path for both writers.
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { MediaEngine } from '../../src/media/media-engine';
import { counterValue, metrics } from '../../src/metrics';
import type { NetCaller } from '../../src/sim/net/net-caller';
import { SipClient } from '../../src/sip/embedded/sip-client';
import { ROOT } from '../helpers';
import { describeCall, describeEngines, startIvrServer, type IvrServer, type ObservedCall } from './helpers/ivr-server';
import { divertedCall } from './helpers/serve-process';

jest.setTimeout(60_000);

const CODE = 'VA_ERR_MEDIA_RECORDING';

describeEngines('a recording that cannot be written', (engine) => {
  let t: IvrServer;
  let client: SipClient;
  let media: MediaEngine;
  const live: NetCaller[] = [];

  beforeAll(async () => {
    t = await startIvrServer({ engine });
    // A short personal greeting ("A.M."): the beep comes after a second, not after the default greeting's 11 s.
    const greeting = path.join(t.dir, 'greeting-david.wav');
    copyFileSync(path.join(ROOT, 'prompts', 'en-US', 'am.wav'), greeting);
    await t.server.app.store.updateMailbox('david@contoso.com', { greetingFile: greeting });
    client = await SipClient.start({ localAddress: '127.0.0.1' });
    media = await MediaEngine.start({ host: '127.0.0.1', portMin: 0, portMax: 0 });
  }, 60_000);
  afterEach(() => {
    for (const c of live.splice(0)) c.callerHangup();
    // The server's start-up check found the folder writable: each test puts a file in its way when it wants.
    rmSync(recordings(), { recursive: true, force: true });
    mkdirSync(recordings());
  });
  afterAll(async () => {
    await client?.stop();
    await media?.stop();
    await t?.stop();
  }, 30_000);

  const recordings = () => path.join(t.data, 'recordings');

  /** A file where the recordings folder was: nothing can be written there any more. */
  function blockRecordings(): void {
    rmSync(recordings(), { recursive: true, force: true });
    writeFileSync(recordings(), 'a file in the way of the recordings folder\n');
  }

  async function davidsMessages(): Promise<unknown[]> {
    const r = await t.cmdlet('Get-VoiceMessage', '-Identity', 'david@contoso.com', '--json');
    if (r.code !== 0) throw new Error(`Get-VoiceMessage failed (${r.code}): ${r.stderr}`);
    return Array.isArray(r.json) ? r.json : r.json ? [r.json] : [];
  }

  /** The server's log lines (parsed) about one call. */
  function linesOf(callId: string): Array<Record<string, any>> {
    return t.logs.map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.callId === callId);
  }

  /**
   * Places a diverted call and waits until the IVR records: the server's channel says so (`record-start`). The
   * caller's own view (the beep heard to its end) is not waited for: a media server under load (FreeSWITCH in CI
   * beside a 6-minute suite) can shift the beep out of the caller's recogniser, and this test is about the write.
   */
  async function untilRecording(from: string): Promise<NetCaller> {
    const caller = await divertedCall(client, media, t.target, from);
    live.push(caller);
    const recording = () => t.calls.find((c) => c.callId === caller.callId)?.channel.events.some((e) => e.type === 'record-start') ?? false;
    try {
      await t.until(() => recording() || caller.ended, 30_000, `the IVR to record ${caller.callId}`);
    } catch {
      /* told below */
    }
    if (!recording() || caller.ended) {
      const call = t.calls.find((c) => c.callId === caller.callId);
      throw new Error(`no recording started: ${caller.events.map((e) => e.text).join('; ')}\n${describeCall(call)}\n${t.explain()}`);
    }
    return caller;
  }

  async function serverCall(caller: NetCaller): Promise<ObservedCall> {
    await t.until(() => t.calls.some((c) => c.callId === caller.callId && c.record !== null), 15_000, `the server to end ${caller.callId}`);
    return t.calls.find((c) => c.callId === caller.callId)!;
  }

  /** Exactly one error line for the call, with the code; the call's `call ended` line; no message row. */
  async function expectReportedOnce(call: ObservedCall, messagesBefore: number, errorsBefore: number): Promise<void> {
    const why = `${describeCall(call)}\n${t.explain()}`;
    const lines = linesOf(call.callId);
    const errors = lines.filter((l) => l.level >= 50);
    expect({ why, errors: errors.map((l) => ({ code: l.code, callId: l.callId })) }).toEqual({ why, errors: [{ code: CODE, callId: call.callId }] });
    // Nothing else logged the failure (no effect-failure line without the call id, no uncaught error).
    expect(t.errors.slice(errorsBefore).filter((l) => !l.includes(call.callId))).toEqual([]);
    const ended = lines.filter((l) => l.msg === 'call ended');
    expect(ended).toEqual([expect.objectContaining({ result: 'error', mailbox: 'david@contoso.com' })]);
    expect(call.record).toMatchObject({ flow: 'call-answering', result: 'error' });
    expect(await davidsMessages()).toHaveLength(messagesBefore);
    // No temporary or partial file anywhere in the data folder.
    expect(readdirSync(t.data).filter((f) => f.endsWith('.tmp') || f.endsWith('.wav'))).toEqual([]);
  }

  test('the recordings folder is gone before the call: the recording fails as it starts, the caller hears an apology, the IVR hangs up', async () => {
    const before = await davidsMessages();
    const errorsBefore = t.errors.length;
    const counted = await counterValue(metrics.recordingFailures, { code: CODE });
    blockRecordings();
    // Nothing to wait for before the failure (the folder is gone already): the caller only has to hear the apology.
    const caller = await divertedCall(client, media, t.target, '+14255550149');
    live.push(caller);
    expect(await caller.waitForPrompt('try-later', 0, 30_000)).toMatchObject({ ids: expect.arrayContaining(['try-later']) });
    expect(await caller.waitForEnd(10_000)).toBe('ivr');
    const call = await serverCall(caller);
    expect(call.channel.heard.map((p) => p.id)).toEqual(expect.arrayContaining(['tone:beep', 'try-later', 'goodbye']));
    await expectReportedOnce(call, before.length, errorsBefore);
    expect((await counterValue(metrics.recordingFailures, { code: CODE })) - counted).toBe(1);
    // The flow did not go on after the failure: the apology is the last thing the caller heard.
    expect(call.channel.heard.map((p) => p.id).slice(-2)).toEqual(['try-later', 'goodbye']);
  });

  test('the caller ends the message with #: the write fails, the caller hears an apology, the IVR hangs up, no message is stored', async () => {
    const before = await davidsMessages();
    const errorsBefore = t.errors.length;
    const counted = await counterValue(metrics.recordingFailures, { code: CODE });
    const caller = await untilRecording('+14255550150');
    blockRecordings();
    await caller.speak(1500);
    await caller.pressDigits('#', 0);
    expect(await caller.waitForPrompt('try-later', 0, 15_000)).toMatchObject({ ids: expect.arrayContaining(['try-later']) });
    expect(await caller.waitForPrompt('goodbye', 0, 10_000)).toMatchObject({ ids: expect.arrayContaining(['goodbye']) });
    expect(await caller.waitForEnd(10_000)).toBe('ivr');
    const call = await serverCall(caller);
    expect(call.channel.heard.map((p) => p.id)).toEqual(expect.arrayContaining(['tone:beep', 'try-later', 'goodbye']));
    await expectReportedOnce(call, before.length, errorsBefore);
    expect((await counterValue(metrics.recordingFailures, { code: CODE })) - counted).toBe(1);
  });

  test('the caller hangs up to end the message: the write fails, logged once with the code, counted, the call ends, no message is stored', async () => {
    const before = await davidsMessages();
    const errorsBefore = t.errors.length;
    const counted = await counterValue(metrics.recordingFailures, { code: CODE });
    const caller = await untilRecording('+14255550151');
    blockRecordings();
    await caller.speak(1500);
    caller.callerHangup();
    const call = await serverCall(caller);
    // Nothing is played to a caller who has gone (FreeSWITCH may find its file gone before the hang-up: then the
    // apology is played while the caller is still there).
    const hungUp = call.channel.events.find((e) => e.type === 'hangup');
    expect(hungUp).toMatchObject({ by: 'caller' });
    expect(call.channel.heard.filter((p) => p.id === 'try-later' && p.at >= hungUp!.at)).toEqual([]);
    await expectReportedOnce(call, before.length, errorsBefore);
    expect((await counterValue(metrics.recordingFailures, { code: CODE })) - counted).toBe(1);
  });
});
