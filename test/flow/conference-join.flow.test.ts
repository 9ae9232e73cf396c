/**
 * The conference join flow's rules added for real meetings (issue 6): anonymous callers and AllowPSTNOnlyMeetings,
 * organizer admission of the lobby, the lobby's music and announcements, and what the joinConference effect is told.
 */
import { lobbyLoop, mayStartWithoutPin } from '../../flows/conference-join.flow';
import { DEFAULT_CONFERENCE_SETTINGS, type ConferenceSettings, type MeetingInfo } from '../../src/flow-kit/effects';
import { DEFAULT_IVR_SETTINGS } from '../../src/flow-kit/ivr';
import { runWithFakes } from './fake-effects';

const meeting = (over: Partial<MeetingInfo> = {}): MeetingInfo => ({
  conferenceId: '4455667',
  organizer: 'amos.marble@contoso.com',
  allowPstnOnlyMeetings: false,
  started: false,
  ...over,
});
const organizerMode: ConferenceSettings = { ...DEFAULT_CONFERENCE_SETTINGS, lobbyAdmission: 'organizer' };
const input = (caller: string | null, conference?: ConferenceSettings) => ({ settings: DEFAULT_IVR_SETTINGS, locale: 'en-US', caller, conference });
const domain = (m: MeetingInfo) => ({
  findMeeting: () => m,
  verifyLeaderPin: ({ pin }: { pin: string }) => pin === '90210',
  startMeeting: () => undefined,
  waitForMeetingStart: () => undefined,
});

describe('who may start a meeting without a PIN', () => {
  it('needs AllowPSTNOnlyMeetings, and a known number unless anonymous callers are allowed (seed 003)', () => {
    const open = meeting({ allowPstnOnlyMeetings: true });
    expect(mayStartWithoutPin(open, '+14255550140', DEFAULT_CONFERENCE_SETTINGS)).toBe(true);
    expect(mayStartWithoutPin(open, null, DEFAULT_CONFERENCE_SETTINGS)).toBe(false);
    expect(mayStartWithoutPin(open, null, { ...DEFAULT_CONFERENCE_SETTINGS, allowAnonymousMeetingStart: true })).toBe(true);
    expect(mayStartWithoutPin(meeting(), '+14255550140', DEFAULT_CONFERENCE_SETTINGS)).toBe(false);
  });

  it('an anonymous caller to an AllowPSTNOnlyMeetings meeting hears that it cannot start it, and waits in the lobby', async () => {
    const r = await runWithFakes('conferenceJoin', input(null), [{ digits: '4455667' }], domain(meeting({ allowPstnOnlyMeetings: true })));
    expect(r.log.heard).toEqual(expect.arrayContaining(['conf-organizer-question', 'conf-cannot-start', 'conf-lobby', 'tone:music-on-hold']));
    expect(r.log.calls.map((c) => c.name)).toEqual(['findMeeting', 'waitForMeetingStart']);
  });

  it('with allowAnonymousMeetingStart the anonymous caller starts it', async () => {
    const r = await runWithFakes(
      'conferenceJoin',
      input(null, { ...DEFAULT_CONFERENCE_SETTINGS, allowAnonymousMeetingStart: true }),
      [{ digits: '4455667' }],
      domain(meeting({ allowPstnOnlyMeetings: true })),
    );
    expect(r.log.calls.map((c) => c.name)).toEqual(['findMeeting', 'startMeeting']);
    expect(r.log.calls[1].input).toEqual({ conferenceId: '4455667', admitLobby: true });
  });
});

describe('the lobby', () => {
  it('plays 30 s of music on hold, then the announcement, looped (automatic admission)', () => {
    expect(lobbyLoop(DEFAULT_CONFERENCE_SETTINGS)).toEqual([{ tone: 'music-on-hold', ms: 30_000 }, 'conf-lobby']);
    expect(lobbyLoop({ ...DEFAULT_CONFERENCE_SETTINGS, lobbyAnnouncementMs: 0 })).toEqual([{ tone: 'music-on-hold' }]);
    expect(lobbyLoop(organizerMode)).toEqual([{ tone: 'music-on-hold', ms: 30_000 }, 'conf-lobby-admit']);
  });

  it('waits for the start with automatic admission, for the organizer with organizer admission', async () => {
    const auto = await runWithFakes('conferenceJoin', input('+14255550130'), [{ digits: '4455667' }], domain(meeting()));
    expect(auto.log.calls.find((c) => c.name === 'waitForMeetingStart')!.input).toEqual({ conferenceId: '4455667', until: 'start' });
    const org = await runWithFakes('conferenceJoin', input('+14255550130', organizerMode), [{ digits: '4455667' }], domain(meeting()));
    expect(org.log.calls.find((c) => c.name === 'waitForMeetingStart')!.input).toEqual({ conferenceId: '4455667', until: 'admitted' });
    expect(org.log.heard).toEqual(expect.arrayContaining(['conf-lobby-admit']));
  });
});

describe('organizer admission', () => {
  it('asks for the organizer even when the meeting has started; a participant then waits to be admitted', async () => {
    const r = await runWithFakes('conferenceJoin', input('+14255550130', organizerMode), [{ digits: '4455667' }], domain(meeting({ started: true })));
    expect(r.log.heard).toEqual(expect.arrayContaining(['conf-organizer-question', 'conf-lobby-admit', 'conf-joining']));
    expect(r.log.calls.map((c) => c.name)).toEqual(['findMeeting', 'waitForMeetingStart']);
  });

  it('the organizer who starts it does not let the lobby in: *8 will', async () => {
    const r = await runWithFakes('conferenceJoin', input('+14255550131', organizerMode), [{ digits: '4455667' }, { digits: '*', reason: 'max' }, { digits: '90210' }], domain(meeting()));
    expect(r.log.calls.find((c) => c.name === 'startMeeting')!.input).toEqual({ conferenceId: '4455667', admitLobby: false });
    expect(r.output).toEqual({ result: 'left', conferenceId: '4455667', role: 'organizer' });
  });

  it('a caller who may start the meeting bypasses the lobby', async () => {
    const r = await runWithFakes('conferenceJoin', input('+14255550140', organizerMode), [{ digits: '4455667' }], domain(meeting({ started: true, allowPstnOnlyMeetings: true })));
    expect(r.log.heard).not.toContain('conf-lobby-admit');
    expect(r.log.calls.map((c) => c.name)).toEqual(['findMeeting', 'startMeeting']);
  });
});

describe('in the meeting', () => {
  it('joinConference gets the room, the role, the locale and the settings it needs', async () => {
    let joined: unknown;
    const r = await runWithFakes('conferenceJoin', input('+14255550131', organizerMode), [{ digits: '4455667' }, { digits: '*', reason: 'max' }, { digits: '90210' }], {
      ...domain(meeting()),
      joinConference: (i: unknown) => {
        joined = i;
        return { reason: 'hangup' };
      },
    });
    expect(r.output.result).toBe('left');
    expect(joined).toEqual({ room: '4455667', role: 'organizer', locale: 'en-US', lobbyAdmission: 'organizer', entryExitTones: true });
  });
});
