/**
 * Meetings on the simulator (issue 6): the in-meeting commands of every channel (`*6` mute, `*8` admit, lobby
 * notices; `IvrChannel.joinConference`), the simulated room (tones heard by the others unless muted, entry and exit
 * tones), and the meeting state of the runtime (`MeetingRooms`: lobby, start, admission, end).
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PromptCatalog } from '../../src/prompts/catalog';
import { MeetingRooms } from '../../src/runtime/meeting-rooms';
import { runScenario } from '../../src/sim/runner';
import { SimCallChannel } from '../../src/sim/sim-call-channel';
import { parseScenario } from '../../src/sim/scenario';
import { SimConferenceRooms } from '../../src/sim/sim-conference';
import { VirtualClock } from '../../src/sim/virtual-clock';
import { tempDir } from '../helpers';

const catalog = PromptCatalog.load();
const T0 = 1_000_000;

function setup(n: number) {
  const clock = new VirtualClock(T0);
  const dir = tempDir('va-conf-');
  const chs = Array.from({ length: n }, (_, i) => new SimCallChannel({ callId: `c${i + 1}`, clock, catalog, recordingsDir: dir }));
  return { clock, chs };
}
const ids = (ch: SimCallChannel) => ch.heard.map((h) => h.id);
/** Presses keys 150 ms apart on the virtual clock. */
async function press(clock: VirtualClock, ch: SimCallChannel, digits: string): Promise<void> {
  const p = ch.pressDigits(digits);
  await clock.advance(150 * digits.length);
  await p;
}

describe('in-meeting commands', () => {
  it('*6 mutes and unmutes, with a prompt to the caller alone; other keys are ignored or not valid', async () => {
    const { clock, chs } = setup(2);
    const [a, b] = chs;
    void a.joinConference('r', 'participant');
    void b.joinConference('r', 'participant');
    await clock.advance(100);
    a.pressDigit('5'); // not a command
    await press(clock, a, '*6');
    await clock.advance(100);
    expect(ids(a)).toEqual(['tone:conf-join', 'conf-muted']);
    expect(ids(b)).toEqual([]);
    void a.speakTone(1000, 1_000);
    await clock.advance(2_000);
    expect(b.heardTones).toEqual([]);
    await press(clock, a, '*6');
    await clock.advance(2_000);
    expect(ids(a).at(-1)).toBe('conf-unmuted');
    void a.speakTone(1000, 1_000);
    await clock.advance(2_000);
    expect(b.heardTones).toMatchObject([{ hz: 1000, from: 'c1' }]);
    await press(clock, a, '*9');
    await clock.advance(10);
    expect(ids(a).at(-1)).toBe('invalid-choice');
    // A `*` alone is forgotten after 3 s.
    a.pressDigit('*');
    await clock.advance(3_500);
    a.pressDigit('6');
    await clock.advance(10);
    expect(ids(a).at(-1)).toBe('invalid-choice');
  });

  it('*8 admits the lobby for an organizer (how many), and is not a valid choice for a participant', async () => {
    const { clock, chs } = setup(2);
    const [org, p] = chs;
    let admitted = 0;
    let notify: ((n: number) => void) | undefined;
    void org.joinConference('r', 'organizer', undefined, {
      admitLobby: () => ++admitted,
      onLobbyArrival: (l) => {
        notify = l;
        return () => (notify = undefined);
      },
    });
    void p.joinConference('r', 'participant');
    await clock.advance(10);
    notify!(1);
    await clock.advance(10);
    expect(ids(org).at(-1)).toBe('conf-lobby-waiting');
    await press(clock, org, '*8');
    await clock.advance(10);
    expect(admitted).toBe(1);
    expect(ids(org).at(-1)).toBe('conf-lobby-admitted');
    await press(clock, p, '*8');
    await clock.advance(10);
    expect(ids(p).at(-1)).toBe('invalid-choice');
    org.callerHangup(); // while p hears "not a valid choice": the exit tone is not heard
    await clock.advance(10);
    expect(ids(p).at(-1)).toBe('invalid-choice');
    expect(p.events.at(-1)).toMatchObject({ type: 'note', text: 'tone:conf-leave not heard: a prompt is playing' });
    await clock.advance(3_000);
    const q = new SimCallChannel({ callId: 'q', clock, catalog, recordingsDir: tempDir('va-conf-') });
    void q.joinConference('r', 'participant');
    await clock.advance(10);
    q.callerHangup();
    await clock.advance(10);
    expect(notify).toBeUndefined(); // the notices stop with the call
    expect(ids(p).at(-1)).toBe('tone:conf-leave');
  });
});

describe('SimConferenceRooms', () => {
  it('a tone is heard by whoever is in the room while it sounds, never by the speaker; rooms are separate', async () => {
    const { clock, chs } = setup(4);
    const [a, b, c, d] = chs;
    void a.joinConference('r', 'participant', undefined, { entryExitTones: false });
    void b.joinConference('r', 'participant', undefined, { entryExitTones: false });
    void d.joinConference('other', 'participant');
    await clock.advance(10);
    void a.speakTone(1000, 4_000);
    await clock.advance(1_000);
    void c.joinConference('r', 'participant', undefined, { entryExitTones: false }); // joins during the tone
    await clock.advance(5_000);
    expect(a.heardTones).toEqual([]);
    expect(b.heardTones).toEqual([{ hz: 1000, at: T0 + 10, end: T0 + 4_010, from: 'c1' }]);
    expect(c.heardTones).toEqual([{ hz: 1000, at: T0 + 1_010, end: T0 + 4_010, from: 'c1' }]);
    expect(d.heardTones).toEqual([]);
    expect(ids(b)).toEqual([]); // no entry tones in this room
    expect(SimConferenceRooms.of(clock).membersOf('r').map((m) => m.callId)).toEqual(['c1', 'c2', 'c3']);
  });

  it('muting or leaving in the middle of a tone cuts it short for the listeners', async () => {
    const { clock, chs } = setup(2);
    const [a, b] = chs;
    void a.joinConference('r', 'participant');
    void b.joinConference('r', 'participant');
    await clock.advance(10);
    void a.speakTone(700, 4_000);
    await clock.advance(1_000);
    await press(clock, a, '*6');
    await clock.advance(5_000);
    expect(b.heardTones).toEqual([{ hz: 700, at: T0 + 10, end: T0 + 1_160, from: 'c1' }]);
    await press(clock, a, '*6');
    void a.speakTone(700, 4_000);
    await clock.advance(1_000);
    a.callerHangup();
    await clock.advance(10);
    expect(b.heardTones[1].end).toBe(b.heardTones[1].at + 1_000);
    expect(ids(b)).toEqual(['tone:conf-leave']);
  });

  it('waitForTone finds a tone already sounding, or waits for one', async () => {
    const { clock, chs } = setup(2);
    const [a, b] = chs;
    void a.joinConference('r', 'participant');
    void b.joinConference('r', 'participant');
    await clock.advance(10);
    const none = b.waitForTone(1800, clock.now(), 1_000);
    await clock.advance(1_000);
    expect(await none).toBe('timeout');
    void a.speakTone(1800, 2_000);
    await clock.advance(500);
    expect(await b.waitForTone(1810, clock.now(), 1_000)).toMatchObject({ hz: 1800 });
    const later = b.waitForTone(1000, clock.now(), 5_000);
    await clock.advance(2_000);
    void a.speakTone(1000, 500);
    await clock.advance(10);
    expect(await later).toMatchObject({ hz: 1000, at: T0 + 3_510 });
  });
});

describe('MeetingRooms', () => {
  it('automatic admission: the start lets the lobby in; a started meeting is entered at once', async () => {
    const m = new MeetingRooms();
    const order: string[] = [];
    const w = m.waitForStart('1', undefined, 'start').then(() => order.push('released'));
    expect(m.lobbySize('1')).toBe(1);
    m.start('1');
    await w;
    expect(order).toEqual(['released']);
    await m.waitForStart('1', undefined, 'start');
    expect(m.isStarted('1')).toBe(true);
  });

  it('organizer admission: the start keeps the lobby waiting until admitLobby; arrivals are told', async () => {
    const m = new MeetingRooms();
    const arrivals: number[] = [];
    const stop = m.onLobbyArrival('1', (n) => arrivals.push(n));
    let released = 0;
    void m.waitForStart('1', undefined, 'admitted').then(() => released++);
    void m.waitForStart('1', undefined, 'admitted').then(() => released++);
    m.start('1', false);
    await Promise.resolve();
    expect(released).toBe(0);
    expect(arrivals).toEqual([1, 2]);
    expect(m.admitLobby('1')).toBe(2);
    await new Promise((r) => setImmediate(r));
    expect(released).toBe(2);
    expect(m.admitLobby('1')).toBe(0);
    stop();
    void m.waitForStart('1', undefined, 'admitted');
    expect(arrivals).toEqual([1, 2]);
  });

  it('a caller who leaves the lobby is no longer waiting; the meeting ends with its last caller, not with the organizer', async () => {
    const m = new MeetingRooms();
    const abort = new AbortController();
    const w = m.waitForStart('1', abort.signal);
    abort.abort();
    await expect(w).rejects.toThrow(/lobby/);
    expect(m.lobbySize('1')).toBe(0);
    m.start('1');
    m.joined('1'); // the organizer
    m.joined('1');
    m.left('1'); // the organizer leaves: the meeting goes on
    expect(m.isStarted('1')).toBe(true);
    expect(m.memberCount('1')).toBe(1);
    m.left('1');
    expect(m.isStarted('1')).toBe(false);
  });

  it('a meeting started by a caller who hung up before entering it ends, unless someone is in it', () => {
    const m = new MeetingRooms();
    m.start('1');
    m.endIfEmpty('1');
    expect(m.isStarted('1')).toBe(false);
    m.start('1');
    m.joined('1');
    m.endIfEmpty('1');
    expect(m.isStarted('1')).toBe(true);
    m.left('1');
    m.joined('1'); // someone admitted enters: the meeting is in progress again
    expect(m.isStarted('1')).toBe(true);
  });
});

describe('scenario steps for meetings', () => {
  const parse = (steps: string) =>
    parseScenario(`name: t\ncalls:\n  - id: a\n    to: "+14255550199"\n    steps:\n${steps}`, '/scenarios/t.yaml');

  it('reads speak with a tone, expectTone and expectNoTone', () => {
    const s = parse(
      [
        '      - speak: { toneHz: 1000, seconds: 2 }',
        '      - expectTone: { hz: 1000, within: 5s }',
        '      - expectTone: 1800',
        '        within: 10s',
        '      - expectNoTone: { hz: 700, for: 3s }',
      ].join('\n'),
    );
    expect(s.calls[0].steps).toEqual([
      { kind: 'speak', ms: 2000, toneHz: 1000, label: 'speak: 1000 Hz tone for 2s' },
      { kind: 'expectTone', hz: 1000, withinMs: 5000, label: 'expectTone: 1000 Hz' },
      { kind: 'expectTone', hz: 1800, withinMs: 10_000, label: 'expectTone: 1800 Hz' },
      { kind: 'expectNoTone', hz: 700, forMs: 3000, label: 'expectNoTone: 700 Hz for 3s' },
    ]);
  });

  it('names what is wrong', () => {
    const msg = (() => {
      try {
        parse(['      - speak: { toneHz: 5000, seconds: 2 }', '      - expectTone: { hz: 1000, within: soon }', '      - expectNoTone: { hz: 700 }'].join('\n'));
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(msg).toContain('calls[0].steps[0].speak.toneHz:');
    expect(msg).toContain('calls[0].steps[1].expectTone.within: must be a duration');
    expect(msg).toContain('calls[0].steps[2].expectNoTone.for:');
  });
});

describe('the meeting settings, changed by the cmdlet', () => {
  it('apply from the next call: -LobbyAdmission Organizer makes the lobby wait for *8', async () => {
    const dir = tempDir('va-conf-scn-');
    const file = path.join(dir, 'admission.yaml');
    writeFileSync(
      file,
      `name: the admission setting is read at each call
admin:
  - at: 0s
    run: Set-CsOnlineDialInConferencingTenantSettings -LobbyAdmission Organizer -LobbyAnnouncementIntervalSeconds 0
calls:
  - id: participant
    from: "+14255550130"
    to: "+14255550199"
    start: 1s
    steps:
      - expectPrompt: conf-welcome
      - dtmf: "4455667#"
      - expectPrompt: conf-lobby-admit
      - expectPrompt: { id: conf-joining, within: 2m }
      - wait: 5s
      - hangup: true
  - id: organizer
    from: "+14255550131"
    to: "+14255550199"
    start: 30s
    steps:
      - expectPrompt: conf-welcome
      - dtmf: "4455667#"
      - expectPrompt: conf-organizer-question
      - dtmf: "*"
      - expectPrompt: conf-enter-leader-pin
      - dtmf: "90210#"
      - expectPrompt: conf-lobby-waiting
      - dtmf: "*8"
      - expectPrompt: conf-lobby-admitted
      - wait: 10s
      - hangup: true
`,
    );
    const r = await runScenario(file);
    expect(r.failures).toEqual([]);
    // No announcement loop (interval 0): the music alone, once it started.
    const heard = r.calls[0].heard.map((h) => h.id);
    expect(heard.filter((id) => id === 'conf-lobby-admit')).toHaveLength(1);
  });
});
