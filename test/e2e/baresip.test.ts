/**
 * A real phone: baresip (Debian `baresip-core`) dials the Outlook Voice Access number of the running server, listens
 * to the welcome, types extension and PIN as RFC 4733 digits when the IVR asks for them, hears the main menu and
 * presses * to sign out. What the phone heard (its `sndfile` dump) must hold sound, and the first prompt in it,
 * found by its energy envelope, must be as long as the catalog's `welcome.wav`. Run on each engine (embedded, drachtio,
 * drachtio with FreeSWITCH media: then FreeSWITCH plays the prompts and receives the digits).
 */
import { rmSync } from 'node:fs';
import type { RtpCallChannel } from '../../src/channel/rtp-call-channel';
import { readWavPcm } from '../../src/media/wav';
import { PromptCatalog } from '../../src/prompts/catalog';
import { tempDir } from '../helpers';
import { firstSound, rms, soundShare, soundSpan } from './helpers/audio';
import { BaresipPhone, requireBaresip } from './helpers/baresip';
import { freeswitchChannels, freeswitchMedia } from './helpers/freeswitch';
import { describeCall, describeEngines, dialUri, heardIds, receivedKeys, startIvrServer, type IvrServer } from './helpers/ivr-server';

jest.setTimeout(55_000);

test('baresip is installed (apt-get install -y baresip-core)', () => {
  expect(() => requireBaresip()).not.toThrow();
});

describeEngines('baresip signs in', (engine) => {
  let t: IvrServer;
  let phoneDir: string;

  beforeAll(async () => {
    t = await startIvrServer({ engine });
    phoneDir = tempDir('va-e2e-baresip-');
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    if (phoneDir && !process.env.E2E_KEEP) rmSync(phoneDir, { recursive: true, force: true });
  }, 30_000);

  test('baresip calls the access number, signs in as david with RFC 4733 digits, hears the prompts; the welcome it heard is as long as welcome.wav', async () => {
    const phone = await BaresipPhone.start({ dir: phoneDir, proxy: t.target, dial: dialUri(t, '14255550100'), quitAfterS: 45 });
    const explain = () => `${t.explain()}\nbaresip output (end):\n${phone.log.replace(/\[\d+:\d+:\d+\] audio=[^\n]*?(?=\[|\n|$)/g, '').slice(-2500)}`;
    try {
      // baresip starts, loads its modules and sends its INVITE: under the whole suite's load that took over 15 s once.
      await t.until(() => t.calls.length > 0, 25_000, 'the call from baresip').catch((e) => Promise.reject(new Error(`${e.message}\n${explain()}`)));
      const call = t.calls[0];
      const heard = (id: string) => call.channel.heard.some((p) => p.id === id);
      // The whole welcome plays first: the keys wait for the prompt that follows it.
      await t.until(() => heard('enter-extension'), 15_000, 'the enter-extension prompt').catch((e) => Promise.reject(new Error(`${e.message}\n${explain()}`)));
      await phone.type('51235');
      await t.until(() => heard('enter-pin'), 15_000, 'the enter-pin prompt').catch((e) => Promise.reject(new Error(`${e.message}\n${explain()}`)));
      await phone.type('739164#');
      await t.until(() => heard('main-menu'), 20_000, 'the main menu').catch((e) => Promise.reject(new Error(`${e.message}\n${explain()}`)));
      // With FreeSWITCH media the RTP runs between baresip and FreeSWITCH: its counters, read while the call is up.
      const fsMedia = t.freeswitch ? await Promise.all((await freeswitchChannels(t.freeswitch)).map((uuid) => freeswitchMedia(t.freeswitch!, uuid))) : null;
      await phone.type('*');
      await t.ended(0, 15_000).catch((e) => Promise.reject(new Error(`${e.message}\n${explain()}`)));
      // The IVR said goodbye and hung up: baresip saw the BYE.
      await phone.waitFor(/terminated/, 10_000);

      const why = describeCall(call);
      expect({ why, from: call.from, record: call.record }).toEqual({
        why,
        from: 'baresip',
        record: { callId: call.callId, flow: 'sign-in', result: 'signed-out', identity: 'david@contoso.com' },
      });
      expect({ why, keys: receivedKeys(call) }).toEqual({ why, keys: '51235739164#*' });
      const ids = heardIds(call);
      expect(ids[0]).toBe('welcome');
      expect(call.channel.heard[0].stoppedBy).toBeUndefined(); // played to its end
      expect(ids).toEqual(expect.arrayContaining(['enter-extension', 'enter-pin', 'no-new-messages', 'main-menu', 'goodbye']));
      // RTP both ways, on loopback only: baresip's audio and digits came in, ours went to 127.0.0.1. On our RTP engine
      // (embedded and drachtio) the call's RTP session shows it; with FreeSWITCH media, FreeSWITCH's one channel does.
      if (fsMedia) {
        expect(fsMedia).toHaveLength(1);
        expect(fsMedia[0].remote.address).toBe('127.0.0.1');
        expect(fsMedia[0].packetsIn).toBeGreaterThan(100);
        expect(fsMedia[0].packetsOut).toBeGreaterThan(100);
      } else {
        const media = (call.channel as RtpCallChannel).media;
        expect(media.remoteTarget?.address).toBe('127.0.0.1');
        expect(media.stats.packetsIn).toBeGreaterThan(100);
      }
    } finally {
      await phone.quit();
    }

    // What the phone heard.
    const files = phone.heardFiles();
    expect(files).toHaveLength(1);
    const pcm = readWavPcm(files[0]);
    expect(pcm.length / 8000).toBeGreaterThan(5); // welcome, enter-extension, enter-pin, ... at least
    expect(rms(pcm)).toBeGreaterThan(300);
    expect(soundShare(pcm)).toBeGreaterThan(0.3);

    // The first prompt, by its energy envelope: the first sound up to the first quiet stretch of 70 ms (the pause
    // between two prompts; the words of one prompt are closer together). Its length must be welcome.wav's: within
    // 0.5 s of the file's duration, and within 0.25 s of the sound in the file (its leading and trailing silence
    // left out), which is what the envelope can see.
    const welcome = PromptCatalog.load().render(['welcome'], 'en-US')[0];
    const span = firstSound(pcm);
    const inWav = soundSpan(readWavPcm(welcome.file))!;
    const measured = { heardMs: span && span.endMs - span.startMs, soundInWavMs: inWav.endMs - inWav.startMs, wavMs: welcome.durationMs };
    if (process.env.E2E_DEBUG) console.log(measured, span, files[0], pcm.length / 8000);
    expect(span).not.toBeNull();
    expect({
      measured,
      within500msOfTheWav: Math.abs(measured.heardMs! - measured.wavMs) <= 500,
      within250msOfItsSound: Math.abs(measured.heardMs! - measured.soundInWavMs) <= 250,
    }).toEqual({ measured, within500msOfTheWav: true, within250msOfItsSound: true });
    // It starts at the start of the call's audio (nothing was lost before it).
    expect(span!.startMs).toBeLessThan(300);
  });
});
