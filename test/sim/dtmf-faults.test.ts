/**
 * DTMF control and fault injection (issue 22): what each fault sends (the plans both callers use), the `dtmf`
 * options of scenario files and their errors, the in-band audio (twist, level, talk-off) against the server's
 * detector, and the in-process line that feeds keys through the server's own DTMF decoding.
 */
import { decodeG711, encodeG711 } from '../../src/media/g711';
import { DTMF_COL_HZ, DTMF_KEYPAD, DTMF_ROW_HZ, DtmfDetector } from '../../src/media/goertzel';
import { DtmfEventSender, parseTelephoneEvent, scheduleDtmfPlan } from '../../src/media/rfc4733';
import { PromptCatalog } from '../../src/prompts/catalog';
import { inbandKeyAudio, inbandStepAudio, talkOffNoise } from '../../src/sim/dtmf-audio';
import {
  DTMF_FAULTS,
  defaultGapMs,
  infoSends,
  keySpanMs,
  rfc4733KeyPackets,
  signalDefaults,
  type DtmfFault,
  type DtmfSignal,
} from '../../src/sim/dtmf-faults';
import { parseScenario, ScenarioError, type Step } from '../../src/sim/scenario';
import { SimCallChannel } from '../../src/sim/sim-call-channel';
import { VirtualClock } from '../../src/sim/virtual-clock';
import { tempDir } from '../helpers';

const sig = (faults: DtmfFault[] = [], over: Partial<DtmfSignal> = {}): DtmfSignal => ({ ...signalDefaults(faults), faults, ...over });
/** A packet as `slot/seq marker|end duration`, e.g. `0/0 M 160`, `3/3 E 640`. */
const show = (digit: string, s: DtmfSignal) =>
  rfc4733KeyPackets(digit, s).map((p) => {
    const te = parseTelephoneEvent(p.payload)!;
    return `${p.slot}/${p.seq}${p.marker ? ' M' : ''}${te.end ? ' E' : ''} ${te.duration}`;
  });

describe('RFC 4733 fault plans (what the network caller sends and the in-process line feeds)', () => {
  it('no fault: our sender\'s own plan (marker, 20 ms updates, the end 3x), the volume field from volumeDb', () => {
    expect(rfc4733KeyPackets('5', sig([], { volumeDb: -12 }))).toEqual(scheduleDtmfPlan(new DtmfEventSender({ volume: 12 }).plan('5', 80)));
    expect(show('5', sig())).toEqual(['0/0 M 160', '1/1 320', '2/2 480', '3/3 E 640', '4/4 E 640', '5/5 E 640']);
  });

  it.each<[DtmfFault[], string[]]>([
    [['lose-end'], ['0/0 M 160', '1/1 320', '2/2 480']],
    [['single-end'], ['0/0 M 160', '1/1 320', '2/2 480', '3/3 E 640']],
    [['end-only'], ['3/0 M E 640', '4/1 E 640', '5/2 E 640']],
    [['duplicate-packets'], ['0/0 M 160', '0/0 M 160', '1/1 320', '1/1 320', '2/2 480', '2/2 480', '3/3 E 640', '3/3 E 640', '4/4 E 640', '4/4 E 640', '5/5 E 640', '5/5 E 640']],
    [['duplicate-event'], ['0/0 M 160', '1/1 320', '2/2 480', '3/3 E 640', '4/4 E 640', '5/5 E 640', '6/6 M 160', '7/7 320', '8/8 480', '9/9 E 640', '10/10 E 640', '11/11 E 640']],
    [['split-marker'], ['0/0 M 160', '1/1 320', '12/2 M 480', '13/3 E 640', '14/4 E 640', '15/5 E 640']],
    [['reorder'], ['1/1 320', '1/0 M 160', '3/3 E 640', '3/2 480', '4/4 E 640', '5/5 E 640']],
    [['lose-end', 'reorder'], ['1/1 320', '1/0 M 160', '2/2 480']],
    [['single-end', 'duplicate-event'], ['0/0 M 160', '1/1 320', '2/2 480', '3/3 E 640', '4/4 M 160', '5/5 320', '6/6 480', '7/7 E 640']],
  ])('%j', (faults, expected) => {
    expect(show('5', sig(faults))).toEqual(expected);
  });

  it('a key\'s span and the default gap make room for its packets (and the split stall)', () => {
    expect(keySpanMs('rfc4733', sig())).toBe(120);
    expect(defaultGapMs('rfc4733', sig())).toBe(150);
    expect(keySpanMs('rfc4733', sig(['split-marker']))).toBe(320);
    expect(defaultGapMs('rfc4733', sig(['split-marker']))).toBe(350);
    expect(keySpanMs('inband', sig(['talk-off']))).toBe(1060);
    expect(keySpanMs('info', sig(['duplicate']))).toBe(50);
    expect(keySpanMs('rfc4733', undefined)).toBe(0);
  });
});

describe('SIP INFO fault plans', () => {
  it('duplicate: each key in two requests 40 ms apart, consecutive CSeqs', () => {
    expect(infoSends('45', 150, ['duplicate'])).toEqual([
      { digit: '4', key: 0, cseq: 0, atMs: 0 },
      { digit: '4', key: 0, cseq: 1, atMs: 40 },
      { digit: '5', key: 1, cseq: 2, atMs: 150 },
      { digit: '5', key: 1, cseq: 3, atMs: 190 },
    ]);
  });

  it('out-of-order: in pairs, the second key (higher CSeq) first; a last odd key goes alone', () => {
    expect(infoSends('149', 150, ['out-of-order'])).toEqual([
      { digit: '4', key: 1, cseq: 1, atMs: 150 },
      { digit: '1', key: 0, cseq: 0, atMs: 190 },
      { digit: '9', key: 2, cseq: 2, atMs: 300 },
    ]);
  });
});

describe('in-band audio against the server\'s detector (through G.711)', () => {
  const detect = (pcm: Int16Array) => {
    const d = new DtmfDetector();
    const through = decodeG711(encodeG711(pcm, 0), 0);
    return [...d.feed(through), ...d.flush()].map((x) => x.digit).join('');
  };

  it('twist: 6 dB normal twist is a digit, 8 dB reverse twist is not (Q.24: +4/-8 dB)', () => {
    expect(detect(inbandStepAudio('4455667#', 170, sig(['twist'])))).toBe('4455667#');
    expect(detect(inbandStepAudio('9', 170, sig(['twist'], { twistDb: 8 })))).toBe('');
  });

  it('low level: -28 dBm0 tones are digits, -36 dBm0 tones are not (the detector\'s floor is -30)', () => {
    expect(detect(inbandStepAudio('4455667#', 170, sig(['low-level'])))).toBe('4455667#');
    expect(detect(inbandStepAudio('9', 170, sig(['low-level'], { volumeDb: -36 })))).toBe('');
  });

  it('talk-off: speech-like sound with its strongest components near each key\'s pair is never a digit', () => {
    for (const key of '123A456B789C*0#D') {
      for (const seed of [1, 2]) {
        const pcm = talkOffNoise(key, 1500, -10, seed);
        expect(`${key}/${seed}: ${detect(pcm)}`).toBe(`${key}/${seed}: `);
      }
    }
  });

  it('talk-off is a real test: the key\'s pair carries a good share of the energy, often the strongest of each group', () => {
    const goertzel = (x: Int16Array, f: number) => {
      const c = 2 * Math.cos((2 * Math.PI * f) / 8000);
      let s1 = 0;
      let s2 = 0;
      for (const v of x) [s1, s2] = [v + c * s1 - s2, s1];
      return ((s1 * s1 + s2 * s2 - c * s1 * s2) * 2) / x.length;
    };
    for (const key of '159#') {
      const pcm = talkOffNoise(key, 1000, -10, 1);
      const row = DTMF_KEYPAD.findIndex((r) => r.includes(key));
      const col = DTMF_KEYPAD[row].indexOf(key);
      let share = 0;
      let strongest = 0;
      let blocks = 0;
      for (let i = 0; i + 160 <= pcm.length; i += 160) {
        const b = pcm.subarray(i, i + 160);
        const energy = b.reduce((a, v) => a + v * v, 0);
        const rows = DTMF_ROW_HZ.map((f) => goertzel(b, f));
        const cols = DTMF_COL_HZ.map((f) => goertzel(b, f));
        share += (rows[row] + cols[col]) / energy;
        if (rows[row] === Math.max(...rows) && cols[col] === Math.max(...cols)) strongest++;
        blocks++;
      }
      expect(share / blocks).toBeGreaterThan(0.15);
      expect(strongest / blocks).toBeGreaterThan(0.2);
    }
  });

  it('a step\'s audio: key i at i x gap, the tail silent', () => {
    const pcm = inbandKeyAudio('5', sig([], { durationMs: 100 }));
    expect(pcm.length).toBe(800);
    const step = inbandStepAudio('55', 200, sig([], { durationMs: 100 }));
    expect(step.length).toBe((200 + 100 + 100) * 8);
    expect(step.subarray(800, 1600).every((v) => v === 0)).toBe(true);
  });
});

describe('scenario files: dtmf options', () => {
  const FILE = '/scenarios/dtmf.yaml';
  const catalog = PromptCatalog.load();
  const stepsOf = (steps: string, callExtra = '') =>
    parseScenario(`name: x\ncalls:\n  - id: c\n    to: "+14255550199"\n${callExtra}    steps:\n${steps}`, FILE, catalog).calls[0].steps;
  const errorOf = (steps: string, callExtra = ''): string => {
    try {
      stepsOf(steps, callExtra);
    } catch (err) {
      expect(err).toBeInstanceOf(ScenarioError);
      return (err as Error).message;
    }
    throw new Error('expected the scenario to be refused');
  };

  it('reads the options inside dtmf or beside it, fills the defaults and labels the step', () => {
    const steps = stepsOf(`      - dtmf: { digits: "12", durationMs: 120, gapMs: 300, volumeDb: -12, fault: lose-end }
      - dtmf: "5"
        fault: [single-end, reorder]
      - dtmf: { digits: "4", fault: talk-off }
      - dtmf: { digits: "9", via: inband, gap: 1s }
      - dtmf: "77"
`);
    expect(steps[0]).toEqual({
      kind: 'dtmf',
      digits: '12',
      gapMs: 300,
      via: 'rfc4733',
      signal: { durationMs: 120, volumeDb: -12, twistDb: 0, faults: ['lose-end'] },
      label: 'dtmf: 12 via rfc4733 (120 ms, -12 dBm0, fault lose-end)',
    });
    expect(steps[1]).toMatchObject({ via: 'rfc4733', gapMs: 150, signal: { faults: ['single-end', 'reorder'], durationMs: 80 } });
    expect(steps[2]).toMatchObject({ via: 'inband', gapMs: 1090, signal: { durationMs: 1000, faults: ['talk-off'] } });
    expect(steps[3]).toMatchObject({ via: 'inband', gapMs: 1000, signal: { durationMs: 80, volumeDb: -10, faults: [] } });
    expect(steps[4]).toEqual({ kind: 'dtmf', digits: '77', gapMs: 150, label: 'dtmf: 77' });
  });

  it('a call\'s dtmf gives every step its defaults; a step overrides them', () => {
    const steps = stepsOf(
      `      - dtmf: "12"
      - dtmf: { digits: "3", via: rfc4733 }
      - dtmf: { digits: "4", fault: low-level }
`,
      '    dtmf: { via: inband, volumeDb: -15, gapMs: 400 }\n',
    );
    expect(steps.map((s) => (s as Extract<Step, { kind: 'dtmf' }>).via)).toEqual(['inband', 'rfc4733', 'inband']);
    expect(steps[0]).toMatchObject({ gapMs: 400, signal: { volumeDb: -15 } });
    expect(steps[1]).toMatchObject({ gapMs: 400, signal: { volumeDb: -15, faults: [] } });
    expect(steps[2]).toMatchObject({ signal: { volumeDb: -15, faults: ['low-level'] } }); // the call's level wins over the fault's default
  });

  it.each([
    ['      - dtmf: { digits: "1", fault: lose-ends }\n', 'calls[0].steps[0].dtmf.fault: unknown fault "lose-ends": one of lose-end, '],
    ['      - dtmf: { digits: "1", fault: [reorder, talkoff] }\n', 'calls[0].steps[0].dtmf.fault[1]: unknown fault "talkoff"'],
    ['      - dtmf: { digits: "1", via: info, fault: talk-off }\n', 'calls[0].steps[0].dtmf.fault: "talk-off" is an in-band fault: it needs via: inband (this step sends via info)'],
    ['      - dtmf: { digits: "1", fault: [lose-end, single-end] }\n', 'calls[0].steps[0].dtmf.fault: "lose-end" and "single-end" cannot be combined'],
    ['      - dtmf: { digits: "1", fault: [talk-off, duplicate] }\n', 'calls[0].steps[0].dtmf.fault: "duplicate" is a SIP INFO fault: it needs via: info (this step sends via inband)'],
    ['      - dtmf: { digits: "12", fault: split-marker, gapMs: 200 }\n', 'calls[0].steps[0].dtmf.gapMs: must be at least 320 ms'],
    ['      - dtmf: { digits: "1", fault: split-marker, durationMs: 40 }\n', 'calls[0].steps[0].dtmf.durationMs: split-marker needs keys of at least 60 ms'],
    ['      - dtmf: { digits: "1", via: info, fault: out-of-order }\n', 'calls[0].steps[0].dtmf.digits: out-of-order needs at least two keys'],
    ['      - dtmf: { digits: "1", durationMs: 20 }\n', 'calls[0].steps[0].dtmf.durationMs: must be 40 to 8000 ms'],
    ['      - dtmf: { digits: "1", volumeDb: 3 }\n', 'calls[0].steps[0].dtmf.volumeDb: must be -63 to 0 dBm0'],
    ['      - dtmf: { digits: "1", twistDb: 3 }\n', 'calls[0].steps[0].dtmf.twistDb: applies to in-band keys only (via: inband)'],
    ['      - dtmf: { digits: "1", via: info, volumeDb: -20 }\n', 'calls[0].steps[0].dtmf.volumeDb: a SIP INFO carries no level'],
    ['      - dtmf: { digits: "1", gap: 1s, gapMs: 100 }\n', 'calls[0].steps[0].dtmf.gap: give gap (a duration) or gapMs (ms), not both'],
    ['      - dtmf: { digits: "1", via: sms }\n', 'calls[0].steps[0].dtmf.via: must be rfc4733, info or inband'],
    ['      - dtmf: "1"\n        fault: nope\n', 'calls[0].steps[0].fault: unknown fault "nope"'],
    ['      - dtmf: { digits: "1" }\n        fault: lose-end\n', 'calls[0].steps[0].fault: give fault either inside dtmf or beside it, not both'],
  ].map(([steps, message]) => ({ steps, message })))('refused: $message', ({ steps, message }) => {
    expect(errorOf(steps)).toContain(message);
  });

  it('errors of a call\'s dtmf name the call\'s key, and say when a step inherits the problem', () => {
    expect(errorOf('      - dtmf: "1"\n', '    dtmf: { fault: bogus }\n')).toContain('calls[0].dtmf.fault: unknown fault "bogus"');
    expect(errorOf('      - dtmf: { digits: "1", via: info }\n', '    dtmf: { fault: lose-end }\n')).toContain(
      'calls[0].dtmf.fault: "lose-end" is an RFC 4733 fault: it needs via: rfc4733 (this step sends via info) (from the call\'s dtmf)',
    );
    expect(errorOf('      - dtmf: "1"\n', '    dtmf: { digits: "1" }\n')).toContain('calls[0].dtmf: unknown key "digits"');
  });

  it('every fault the simulator knows has an example scenario in scenarios/dtmf', () => {
    expect([...DTMF_FAULTS].sort()).toEqual(['duplicate', 'duplicate-event', 'duplicate-packets', 'end-only', 'lose-end', 'low-level', 'out-of-order', 'reorder', 'single-end', 'split-marker', 'talk-off', 'twist']);
  });
});

describe('the in-process line: keys through the server\'s own DTMF decoding', () => {
  const T0 = 1_000_000;
  function setup() {
    const clock = new VirtualClock(T0);
    const ch = new SimCallChannel({ callId: 'c1', clock, catalog: PromptCatalog.load(), recordingsDir: tempDir('va-dtmf-') });
    const keys: { digit: string; at: number }[] = [];
    ch.onDtmf((digit) => keys.push({ digit, at: clock.now() - T0 }));
    return { clock, ch, keys, digits: () => keys.map((k) => k.digit).join('') };
  }

  it('an RFC 4733 key counts at its end; a lost end 150 ms after the last update; the step lasts until the last packet', async () => {
    const t = setup();
    let done = -1;
    void t.ch.pressDigits('12', 150, 'rfc4733', sig()).then(() => (done = t.clock.now() - T0));
    await t.clock.advance(1000);
    expect(t.keys).toEqual([
      { digit: '1', at: 60 },
      { digit: '2', at: 210 },
    ]);
    expect(done).toBe(250); // the second key's last end copy leaves at 150 + 100 ms
    void t.ch.pressDigits('3', 150, 'rfc4733', sig(['lose-end']));
    await t.clock.advance(1000);
    expect(t.keys[2]).toEqual({ digit: '3', at: 1000 + 40 + 150 });
  });

  it('a plain key ends an RFC 4733 event still open (as its first packet would), so the order is kept', async () => {
    const t = setup();
    await Promise.all([t.ch.pressDigits('7', 150, 'rfc4733', sig(['lose-end'])), t.clock.advance(60)]);
    t.ch.pressDigit('#');
    expect(t.digits()).toBe('7#');
  });

  it('in-band keys within 2 s of an out-of-band key are not heard (the server suspends its detector); later ones are', async () => {
    const t = setup();
    t.ch.pressDigit('1');
    void t.ch.pressDigits('2', 170, 'inband', sig());
    await t.clock.advance(1000);
    expect(t.digits()).toBe('1');
    await t.clock.advance(2000);
    void t.ch.pressDigits('3', 170, 'inband', sig());
    await t.clock.advance(1000);
    expect(t.digits()).toBe('13');
  });

  it('one key sent by SIP INFO and RFC 4733 within 1 s is one press; INFO out of order loses the late request', async () => {
    const t = setup();
    await t.ch.pressDigits('5', 150, 'info');
    t.ch.pressDigit('5');
    expect(t.digits()).toBe('5');
    void t.ch.pressDigits('89', 150, 'info', sig(['out-of-order']));
    await t.clock.advance(1000);
    expect(t.digits()).toBe('59');
    expect(t.ch.events.some((e) => e.type === 'note' && /500/.test(e.text))).toBe(true);
  });
});
