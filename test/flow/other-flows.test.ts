import { DEFAULT_IVR_SETTINGS } from '../../src/flow-kit/ivr';
import type { DialPlanInfo, MailboxInfo, MeetingInfo, MessageInfo } from '../../src/flow-kit/effects';
import { runWithFakes } from './fake-effects';

const dialPlan: DialPlanInfo = {
  name: 'Contoso-DP',
  numberOfDigitsInExtension: 5,
  logonFailuresBeforeDisconnect: 3,
  inputFailuresBeforeDisconnect: 3,
  maxRecordingMs: 1_200_000,
  recordingIdleMs: 5000,
  locale: 'en-US',
};
const tony: MailboxInfo = { identity: 'tony@contoso.com', displayName: 'Tony', extension: '51234', locale: 'en-US', lockedOut: false, greetingFile: null, nameFile: null };
const msg = (id: string, unheard: boolean, receivedAt: number): MessageInfo => ({ id, caller: '+14255550123', receivedAt, durationMs: 3000, unheard, urgent: false, file: `/m/${id}.wav` });

/** An in-memory mailbox for the menu's domain effects. */
function mailboxDomain(messages: MessageInfo[]) {
  const box = messages.map((m) => ({ ...m }));
  return {
    box,
    domain: {
      listMessages: () => [...box].sort((a, b) => Number(b.unheard) - Number(a.unheard) || b.receivedAt - a.receivedAt),
      setMessageHeard: ({ id, heard }: { id: string; heard: boolean }) => void (box.find((m) => m.id === id)!.unheard = !heard),
      deleteMessage: ({ id }: { id: string }) => void box.splice(box.findIndex((m) => m.id === id), 1),
      changePin: () => ({ ok: true }),
      saveRecording: () => undefined,
    },
  };
}

const menuInput = { mailbox: tony, locale: 'en-US', settings: DEFAULT_IVR_SETTINGS, dialPlan };

describe('mailbox menu flow', () => {
  it('summary counts new messages; voice mail plays newest unheard first and marks it heard', async () => {
    const { box, domain } = mailboxDomain([msg('old', false, 1), msg('a', true, 2), msg('b', true, 3)]);
    const r = await runWithFakes('mailboxMenu', menuInput, [{ digits: '1', reason: 'max' }, { digits: '*', reason: 'max' }, { digits: '*', reason: 'max' }], domain);
    expect(r.log.heard.slice(0, 3)).toEqual(['you-have', '#2', 'new-voice-messages']);
    const files = r.log.heard.filter((h) => h.startsWith('file:'));
    expect(files).toEqual(['file:/m/b.wav']);
    expect(box.find((m) => m.id === 'b')!.unheard).toBe(false);
    expect(r.countsChanged).toEqual(['tony@contoso.com']);
    expect(r.output.result).toBe('signed-out');
  });

  it('# next, 7 delete, 9 mark unheard, 1 replay: each count change is reported once', async () => {
    const { box, domain } = mailboxDomain([msg('a', true, 3), msg('b', true, 2), msg('c', false, 1)]);
    const r = await runWithFakes(
      'mailboxMenu',
      menuInput,
      [
        { digits: '1', reason: 'max' }, // voice mail: plays a (heard: change 1)
        { digits: '1', reason: 'max' }, // replay a (no change)
        { digits: '7', reason: 'max' }, // delete a (change 2), then plays b (heard: change 3)
        { digits: '9', reason: 'max' }, // mark b unheard (change 4), then plays c (already heard)
        { digits: '#', reason: 'terminator' }, // next: no more messages -> main menu
        { digits: '*', reason: 'max' },
      ],
      domain,
    );
    expect(r.log.heard.filter((h) => h.startsWith('file:'))).toEqual(['file:/m/a.wav', 'file:/m/a.wav', 'file:/m/b.wav', 'file:/m/c.wav']);
    expect(box.map((m) => [m.id, m.unheard])).toEqual([
      ['b', true],
      ['c', false],
    ]);
    expect(r.countsChanged).toHaveLength(4);
    expect(r.log.heard).toEqual(expect.arrayContaining(['message-deleted', 'message-marked-unheard', 'no-more-messages']));
  });

  it('personal options: 2 records the greeting, 3 changes the PIN', async () => {
    const { domain } = mailboxDomain([]);
    const r = await runWithFakes(
      'mailboxMenu',
      menuInput,
      [
        { digits: '6', reason: 'max' },
        { digits: '2', reason: 'max' },
        { record: {} },
        { digits: '1', reason: 'max' },
        { digits: '3', reason: 'max' },
        { digits: '582047' },
        { digits: '582047' },
        { digits: '*', reason: 'max' },
        { digits: '*', reason: 'max' },
      ],
      domain,
    );
    expect(r.log.heard).toEqual(expect.arrayContaining(['personal-options-menu', 'record-greeting', 'tone:beep', 'recording-review', 'recording-saved', 'enter-new-pin', 'pin-changed']));
    expect(r.output.result).toBe('signed-out');
  });

  it('recording the greeting: 2 at the review records again, 1 keeps the second take only', async () => {
    const { domain } = mailboxDomain([]);
    const r = await runWithFakes(
      'mailboxMenu',
      menuInput,
      [
        { digits: '6', reason: 'max' },
        { digits: '2', reason: 'max' },
        { record: { file: '/tmp/take-1.wav' } },
        { digits: '2', reason: 'max' }, // re-record
        { record: { file: '/tmp/take-2.wav' } },
        { digits: '1', reason: 'max' }, // accept
        { digits: '*', reason: 'max' },
        { digits: '*', reason: 'max' },
      ],
      domain,
    );
    expect(r.log.heard.filter((h) => h === 'tone:beep')).toHaveLength(2);
    expect(r.log.heard.filter((h) => h === 'recording-review')).toHaveLength(2);
    expect(r.log.calls.filter((c) => c.name === 'saveRecording')).toEqual([
      { name: 'saveRecording', input: { identity: 'tony@contoso.com', purpose: 'greeting', file: '/tmp/take-2.wav' } },
    ]);
    expect(r.output.result).toBe('signed-out');
  });

  it('invalid keys count toward InputFailuresBeforeDisconnect', async () => {
    const { domain } = mailboxDomain([]);
    const r = await runWithFakes('mailboxMenu', menuInput, [{ digits: '5', reason: 'max' }, { digits: '8', reason: 'max' }, { digits: '4', reason: 'max' }], domain);
    expect(r.output.result).toBe('too-many-input-failures');
    expect(r.log.heard.filter((h) => h === 'invalid-choice')).toHaveLength(3);
  });
});

describe('call answering flow', () => {
  const input = { mailbox: tony, caller: '+14255550123', settings: DEFAULT_IVR_SETTINGS, dialPlan };
  const domain = { storeMessage: () => undefined, recordMissedCall: () => undefined };

  it('default greeting names the extension; a recorded message is stored and reported', async () => {
    const r = await runWithFakes('callAnswering', input, [{ record: { durationMs: 4200 } }], domain);
    expect(r.log.heard.slice(0, 7)).toEqual(['greeting-extension-prefix', 'digits:51234', 'greeting-unavailable', 'tone:beep', 'message-saved'].slice(0, 7));
    expect(r.output).toEqual({ result: 'message-left', identity: 'tony@contoso.com' });
    expect(r.log.calls).toEqual([{ name: 'storeMessage', input: { identity: 'tony@contoso.com', caller: '+14255550123', file: '/tmp/rec.wav', durationMs: 4200 } }]);
    expect(r.countsChanged).toEqual(['tony@contoso.com']);
  });

  it('the personal greeting replaces the default', async () => {
    const r = await runWithFakes('callAnswering', { ...input, mailbox: { ...tony, greetingFile: '/g.wav' } }, [{ record: {} }], domain);
    expect(r.log.heard[0]).toBe('file:/g.wav');
  });

  it('nothing said is a missed call, not a message', async () => {
    const r = await runWithFakes('callAnswering', input, [{ record: { heardSpeech: false, file: null, reason: 'silence' } }], domain);
    expect(r.output.result).toBe('missed-call');
    expect(r.log.calls.map((c) => c.name)).toEqual(['recordMissedCall']);
    expect(r.countsChanged).toEqual([]);
  });
});

describe('conference join flow', () => {
  const input = { settings: DEFAULT_IVR_SETTINGS, locale: 'en-US', caller: '+14255550123' };
  const meeting = (over: Partial<MeetingInfo> = {}): MeetingInfo => ({ conferenceId: '4455667', organizer: 'amos.marble@contoso.com', allowPstnOnlyMeetings: false, started: false, ...over });
  const domain = (m: MeetingInfo | null, pinOk = (p: string) => p === '90210') => ({
    findMeeting: ({ conferenceId }: { conferenceId: string }) => (m && conferenceId === m.conferenceId ? m : null),
    verifyLeaderPin: ({ pin }: { pin: string }) => pinOk(pin),
    startMeeting: () => undefined,
    waitForMeetingStart: () => undefined,
  });

  it('the organizer presses * and starts the meeting with the leader PIN', async () => {
    const r = await runWithFakes('conferenceJoin', input, [{ digits: '4455667' }, { digits: '*', reason: 'max' }, { digits: '90210' }], domain(meeting()));
    expect(r.output).toEqual({ result: 'left', conferenceId: '4455667', role: 'organizer' });
    expect(r.log.calls.map((c) => c.name)).toEqual(['findMeeting', 'verifyLeaderPin', 'startMeeting']);
  });

  it('a participant waits in the lobby with music until the meeting starts', async () => {
    const r = await runWithFakes('conferenceJoin', input, [{ digits: '4455667' }], domain(meeting()));
    expect(r.log.heard).toEqual(expect.arrayContaining(['conf-organizer-question', 'conf-lobby', 'tone:music-on-hold', 'conf-joining']));
    expect(r.log.calls.map((c) => c.name)).toEqual(['findMeeting', 'waitForMeetingStart']);
    expect(r.output.role).toBe('participant');
  });

  it('a wrong leader PIN three times ends the call', async () => {
    const r = await runWithFakes('conferenceJoin', input, [{ digits: '4455667' }, { digits: '*', reason: 'max' }, { digits: '1' }, { digits: '2' }, { digits: '3' }], domain(meeting()));
    expect(r.output.result).toBe('leader-pin-failed');
    expect(r.log.calls.filter((c) => c.name === 'verifyLeaderPin')).toHaveLength(3);
  });

  it('AllowPSTNOnlyMeetings lets a caller start it without a PIN', async () => {
    const r = await runWithFakes('conferenceJoin', input, [{ digits: '4455667' }], domain(meeting({ allowPstnOnlyMeetings: true })));
    expect(r.log.calls.map((c) => c.name)).toEqual(['findMeeting', 'startMeeting']);
    expect(r.log.heard).not.toContain('conf-lobby');
  });

  it('an unknown conference ID asks again, then ends the call', async () => {
    const r = await runWithFakes('conferenceJoin', input, [{ digits: '1111111' }, { digits: '2222222' }], domain(meeting()));
    expect(r.output.result).toBe('unknown-conference');
    expect(r.log.heard.filter((h) => h === 'conf-id-invalid')).toHaveLength(2);
  });

  it('a started meeting is joined at once', async () => {
    const r = await runWithFakes('conferenceJoin', input, [{ digits: '4455667' }], domain(meeting({ started: true })));
    expect(r.log.heard).not.toContain('conf-organizer-question');
    expect(r.output.result).toBe('left');
  });
});
