import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { WaveFile } from 'wavefile';
import { INFO_DTMF_INVALID_STATUS, isDtmfInfoContentType, parseInfoDtmf } from '../../src/media/sip-info-dtmf';
import { clearWavCache, encodeWav, readWavPcm, writeWavAtomic } from '../../src/media/wav';
import { tempDir } from '../helpers';
import { sine } from './media-helpers';

const ROOT = path.resolve(__dirname, '..', '..');

describe('parseInfoDtmf', () => {
  const relay = 'application/dtmf-relay';

  it('reads Signal and Duration (Asterisk format)', () => {
    expect(parseInfoDtmf(relay, 'Signal=5\r\nDuration=160\r\n')).toEqual({ digit: '5', durationMs: 160 });
    expect(parseInfoDtmf(relay, Buffer.from('Signal=#\r\nDuration=250'))).toEqual({ digit: '#', durationMs: 250 });
  });

  it('keys are case-insensitive, spaces and LF-only lines are accepted, the Content-Type may carry parameters', () => {
    expect(parseInfoDtmf('Application/DTMF-Relay; charset=utf-8', 'signal = 7\nDURATION= 90')).toEqual({ digit: '7', durationMs: 90 });
  });

  it('maps 10 -> *, 11 -> #, 12-15 -> A-D, 16 and ! -> flash, lower-case a-d', () => {
    const d = (s: string) => (parseInfoDtmf(relay, `Signal=${s}`) as { digit: string }).digit;
    expect(['10', '11', '12', '13', '14', '15', '16', '!', 'a', 'D', '*', '0'].map(d)).toEqual([
      '*', '#', 'A', 'B', 'C', 'D', '!', '!', 'A', 'D', '*', '0',
    ]);
  });

  it('defaults Duration to 100 ms when absent or not a number', () => {
    expect(parseInfoDtmf(relay, 'Signal=1')).toEqual({ digit: '1', durationMs: 100 });
    expect(parseInfoDtmf(relay, 'Signal=1\r\nDuration=abc')).toEqual({ digit: '1', durationMs: 100 });
  });

  it('application/dtmf: the body is the digit', () => {
    expect(parseInfoDtmf('application/dtmf', '9')).toEqual({ digit: '9', durationMs: 100 });
    expect(parseInfoDtmf('application/dtmf', '11\r\n')).toEqual({ digit: '#', durationMs: 100 });
    expect(parseInfoDtmf('application/dtmf', 'Signal=4\r\nDuration=80')).toEqual({ digit: '4', durationMs: 80 });
  });

  it('application/hook-flash is a flash', () => {
    expect(parseInfoDtmf('application/hook-flash', 'signal=hf')).toEqual({ digit: '!', durationMs: 100 });
  });

  it('an empty body is null (answer 200, no digit)', () => {
    expect(parseInfoDtmf(relay, '')).toBeNull();
    expect(parseInfoDtmf(relay, '\r\n  ')).toBeNull();
    expect(parseInfoDtmf('application/dtmf', undefined)).toBeNull();
  });

  it(`an unparsable body is 'invalid' (answer ${INFO_DTMF_INVALID_STATUS})`, () => {
    expect(INFO_DTMF_INVALID_STATUS).toBe(400);
    for (const body of ['Signal=Z', 'Signal=17', 'Signal=55', 'Duration=100', 'garbage', 'Signal=']) {
      expect(parseInfoDtmf(relay, body)).toBe('invalid');
    }
    expect(parseInfoDtmf('application/dtmf', 'xy')).toBe('invalid');
    expect(parseInfoDtmf('application/sdp', 'v=0')).toBe('invalid');
  });

  it('isDtmfInfoContentType tells DTMF bodies from other INFO packages', () => {
    expect(isDtmfInfoContentType('application/dtmf-relay')).toBe(true);
    expect(isDtmfInfoContentType(' application/DTMF ;x=y')).toBe(true);
    expect(isDtmfInfoContentType('application/media_control+xml')).toBe(false);
  });
});

describe('WAV read and atomic write', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('va-media-wav-');
    clearWavCache();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a catalog prompt (8 kHz mono 16-bit) at its catalog length', () => {
    const file = path.join(ROOT, 'prompts', 'tones', 'beep.wav');
    const pcm = readWavPcm(file);
    expect(pcm.length).toBe((statSync(file).size - 44) / 2);
    expect(readWavPcm(file)).toBe(pcm); // cached
  });

  it('writes atomically and reads back the same samples; no temporary file is left', () => {
    const pcm = sine(300, 500, 9000);
    const file = path.join(dir, 'msg.wav');
    writeWavAtomic(file, pcm);
    expect(Array.from(readWavPcm(file))).toEqual(Array.from(pcm));
    expect(readdirSync(dir)).toEqual(['msg.wav']);
    const w = new WaveFile(readFileSync(file));
    expect(w.fmt).toMatchObject({ audioFormat: 1, numChannels: 1, sampleRate: 8000, bitsPerSample: 16 });
  });

  it('re-reads a file replaced by rename (cache keyed on mtime, size, inode)', () => {
    const file = path.join(dir, 'greeting.wav');
    writeWavAtomic(file, Int16Array.of(1, 2, 3));
    expect(Array.from(readWavPcm(file))).toEqual([1, 2, 3]);
    writeWavAtomic(file, Int16Array.of(4, 5, 6));
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(Array.from(readWavPcm(file))).toEqual([4, 5, 6]);
  });

  it('an unchanging file (a catalog prompt) is served from the cache without asking the file system again', () => {
    const file = path.join(dir, 'prompt.wav');
    writeWavAtomic(file, Int16Array.of(7, 8, 9));
    expect(Array.from(readWavPcm(file, { unchanging: true }))).toEqual([7, 8, 9]);
    rmSync(file);
    expect(Array.from(readWavPcm(file, { unchanging: true }))).toEqual([7, 8, 9]);
    // Without the option the file is checked, and a missing file is an error.
    expect(() => readWavPcm(file)).toThrow(/cannot read/);
  });

  it('converts 16 kHz stereo, A-law, μ-law and 24-bit 44.1 kHz files to 8 kHz mono 16-bit', () => {
    const tone = Array.from(sine(440, 1000, 8000, 16000));
    const stereo = new WaveFile();
    stereo.fromScratch(2, 16000, '16', [tone, tone]);
    writeFileSync(path.join(dir, 'stereo.wav'), stereo.toBuffer());
    const s = readWavPcm(path.join(dir, 'stereo.wav'));
    expect(Math.abs(s.length - 8000)).toBeLessThanOrEqual(2);
    expect(Math.max(...s)).toBeGreaterThan(6000);

    for (const law of ['a', 'mu'] as const) {
      const w = new WaveFile();
      w.fromScratch(1, 8000, '16', Array.from(sine(440, 200, 8000)));
      if (law === 'a') w.toALaw();
      else w.toMuLaw();
      writeFileSync(path.join(dir, `${law}.wav`), w.toBuffer());
      const p = readWavPcm(path.join(dir, `${law}.wav`));
      expect(Math.abs(p.length - 1600)).toBeLessThanOrEqual(1);
      expect(Math.max(...p)).toBeGreaterThan(7000);
    }

    const hi = new WaveFile();
    hi.fromScratch(1, 44100, '24', Array.from({ length: 44100 }, (_, i) => Math.round(2e6 * Math.sin((2 * Math.PI * 440 * i) / 44100))));
    writeFileSync(path.join(dir, 'hi.wav'), hi.toBuffer());
    const h = readWavPcm(path.join(dir, 'hi.wav'));
    expect(Math.abs(h.length - 8000)).toBeLessThanOrEqual(2);
    expect(Math.max(...h)).toBeGreaterThan(7000); // 2e6 of 2^23 full scale is about 7,800 in 16 bits
  });

  it('rejects clearly: missing file, not a WAV', () => {
    expect(() => readWavPcm(path.join(dir, 'none.wav'))).toThrow(/none\.wav: cannot read/);
    writeFileSync(path.join(dir, 'junk.wav'), 'not a wav at all');
    expect(() => readWavPcm(path.join(dir, 'junk.wav'))).toThrow(expect.objectContaining({ code: 'VA_ERR_MEDIA_WAV_UNSUPPORTED' }));
  });

  it('encodeWav writes a canonical 44-byte header', () => {
    const b = encodeWav(Int16Array.of(1, -1), 16000);
    expect(b.length).toBe(48);
    expect(b.toString('ascii', 0, 4) + b.toString('ascii', 8, 16)).toBe('RIFFWAVEfmt ');
    expect(b.readUInt32LE(24)).toBe(16000);
    expect(() => encodeWav(new Int16Array(0), 0)).toThrow();
    expect(existsSync(path.join(dir, 'x'))).toBe(false);
  });
});
