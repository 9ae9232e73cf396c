import { DEFAULT_IVR_SETTINGS } from '../../src/flow-kit/ivr';
import type { DialPlanInfo, MailboxInfo, SignInOutcome } from '../../src/flow-kit/effects';
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
const david: MailboxInfo = { identity: 'david@contoso.com', displayName: 'David', extension: '51235', locale: 'en-US', lockedOut: false, greetingFile: null, nameFile: null };
const input = (over: object = {}) => ({ settings: DEFAULT_IVR_SETTINGS, dialPlan, caller: '+14255550123', callerMailbox: null, ...over });

/** Domain fakes: one mailbox; the PIN 739164 signs in; `outcome` overrides the sign-in result. */
function domain(outcome?: (pin: string) => SignInOutcome, mailbox: MailboxInfo = david) {
  return {
    lookupExtension: ({ extension }: { extension: string }) => (extension === mailbox.extension ? mailbox : null),
    signIn: ({ pin }: { pin: string }) =>
      outcome ? outcome(pin) : pin === '739164' ? { outcome: 'ok', mustChangePin: false, firstTimeUser: false } : { outcome: 'failed', action: 'retry' },
    listMessages: () => [],
    changePin: () => ({ ok: true }),
    completeFirstTimeSetup: () => undefined,
    saveRecording: () => undefined,
  };
}

describe('sign-in flow (with fake effects)', () => {
  it('extension then PIN reaches the mailbox; * at the main menu signs out', async () => {
    const r = await runWithFakes('signIn', input(), [{ digits: '51235', reason: 'max' }, { digits: '739164' }, { digits: '*', reason: 'max' }], domain());
    expect(r.output).toEqual({ result: 'signed-out', identity: 'david@contoso.com' });
    expect(r.log.heard.slice(0, 3)).toEqual(['welcome', 'enter-extension', 'enter-pin']);
    expect(r.log.heard).toContain('no-new-messages');
    expect(r.log.heard).toContain('main-menu');
    expect(r.log.heard.at(-1)).toBe('goodbye');
  });

  it('the PIN never enters the flow context: it goes from collect to signIn', async () => {
    const r = await runWithFakes('signIn', input(), [{ digits: '51235', reason: 'max' }, { digits: '739164' }], domain());
    expect(r.log.calls.find((c) => c.name === 'signIn')!.input).toEqual({ identity: 'david@contoso.com', pin: '739164' });
  });

  it('disconnects after LogonFailuresBeforeDisconnect wrong PINs in one call', async () => {
    const r = await runWithFakes('signIn', input(), [{ digits: '51235', reason: 'max' }, { digits: '000001' }, { digits: '000002' }, { digits: '000003' }], domain());
    expect(r.output.result).toBe('too-many-logon-failures');
    expect(r.log.heard.filter((h) => h === 'pin-incorrect')).toHaveLength(3);
    expect(r.log.heard.slice(-2)).toEqual(['try-later', 'goodbye']);
  });

  it('an unknown extension counts toward InputFailuresBeforeDisconnect', async () => {
    const r = await runWithFakes('signIn', input(), [{ digits: '11111', reason: 'max' }, { digits: '22222', reason: 'max' }, { digits: '33333', reason: 'max' }], domain());
    expect(r.output.result).toBe('too-many-input-failures');
    expect(r.log.calls.filter((c) => c.name === 'lookupExtension')).toHaveLength(3);
    expect(r.log.calls.some((c) => c.name === 'signIn')).toBe(false);
  });

  it('a locked mailbox is refused before the PIN is asked', async () => {
    const r = await runWithFakes('signIn', input(), [{ digits: '51235', reason: 'max' }], domain(undefined, { ...david, lockedOut: true }));
    expect(r.output.result).toBe('locked-out');
    expect(r.log.heard).not.toContain('enter-pin');
    expect(r.log.calls.some((c) => c.name === 'signIn')).toBe(false);
  });

  it('an automatic PIN reset is announced and ends the call', async () => {
    const r = await runWithFakes('signIn', input(), [{ digits: '51235', reason: 'max' }, { digits: '000001' }], domain(() => ({ outcome: 'failed', action: 'reset' })));
    expect(r.output.result).toBe('pin-reset');
    expect(r.log.heard).toContain('pin-reset-sent');
  });

  it('a lockout on this failure is announced', async () => {
    const r = await runWithFakes('signIn', input(), [{ digits: '51235', reason: 'max' }, { digits: '000001' }], domain(() => ({ outcome: 'failed', action: 'lockout' })));
    expect(r.output.result).toBe('locked-out');
    expect(r.log.heard).toContain('mailbox-locked');
  });

  it('own phone: straight to the PIN prompt; * gives another extension', async () => {
    const own = await runWithFakes('signIn', input({ callerMailbox: david }), [{ digits: '739164' }, { digits: '*', reason: 'max' }], domain());
    expect(own.log.heard.slice(0, 2)).toEqual(['welcome', 'enter-pin-own-mailbox']);
    expect(own.output.result).toBe('signed-out');
    const other = await runWithFakes('signIn', input({ callerMailbox: david }), [{ digits: '', terminator: '*' }, { digits: '51235', reason: 'max' }, { digits: '739164' }], domain());
    expect(other.log.heard.slice(0, 3)).toEqual(['welcome', 'enter-pin-own-mailbox', 'enter-extension']);
  });

  it('no input repeats the prompt maxPromptRepeats times, then goodbye', async () => {
    const r = await runWithFakes('signIn', input(), [], domain());
    expect(r.output.result).toBe('no-input');
    expect(r.log.heard.filter((h) => h === 'enter-extension')).toHaveLength(3);
    expect(r.log.heard.filter((h) => h === 'no-input')).toHaveLength(2);
  });

  it('an expired PIN forces a change; a first-time user then records name and greeting', async () => {
    const r = await runWithFakes(
      'signIn',
      input(),
      [
        { digits: '51235', reason: 'max' },
        { digits: '739164' },
        { digits: '582047' },
        { digits: '582047' },
        { record: {} },
        { digits: '1', reason: 'max' },
        { record: { terminator: '*', heardSpeech: false, file: null } },
        { digits: '*', reason: 'max' },
      ],
      domain(() => ({ outcome: 'ok', mustChangePin: true, firstTimeUser: true })),
    );
    expect(r.output.result).toBe('signed-out');
    const names = r.log.calls.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['changePin', 'saveRecording', 'completeFirstTimeSetup']));
    expect(r.log.calls.filter((c) => c.name === 'saveRecording').map((c) => c.input.purpose)).toEqual(['name']);
    expect(r.log.heard).toEqual(expect.arrayContaining(['first-time-welcome', 'enter-new-pin', 'reenter-new-pin', 'pin-changed', 'record-name', 'record-greeting', 'setup-complete']));
  });

  it('three failed PIN changes end the call without a change', async () => {
    const r = await runWithFakes(
      'signIn',
      input(),
      [{ digits: '51235', reason: 'max' }, { digits: '739164' }, { digits: '123456' }, { digits: '123456' }, { digits: '1111' }, { digits: '2222' }, { digits: '582047' }, { digits: '582048' }],
      { ...domain(() => ({ outcome: 'ok', mustChangePin: true, firstTimeUser: false })), changePin: () => ({ ok: false, rule: 'common-pattern', minPinLength: 6, historyCount: 5 }) },
    );
    expect(r.output.result).toBe('pin-not-changed');
    expect(r.log.heard).toEqual(expect.arrayContaining(['pin-expired', 'pin-common-pattern', 'pin-mismatch', 'pin-not-changed']));
  });
});
