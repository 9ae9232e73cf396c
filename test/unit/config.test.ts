import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { resolveMediaEngine } from '../../src/cli/serve';
import { defaultConfigPath, loadDirectory, parseDirectory } from '../../src/config/load';
import { isVaError } from '../../src/errors';
import { ROOT, tempDir } from '../helpers';

const demo = () => parse(readFileSync(path.join(ROOT, 'config', 'contoso.yaml'), 'utf8'));

/** Parses the demo with an edit and returns the error message (or fails when it parses). */
function errorOf(edit: (d: any) => void): string {
  const d = demo();
  edit(d);
  try {
    parseDirectory(stringify(d), 'test.yaml');
  } catch (err) {
    expect(isVaError(err, 'VA_ERR_CONFIG_INVALID')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected the directory to be refused');
}

describe('the directory file', () => {
  it('the built-in demo loads, with Exchange defaults filled in', () => {
    const { directory, path: p } = loadDirectory();
    expect(p).toBe(defaultConfigPath());
    expect(directory.organization).toBe('Contoso');
    const paris = directory.mailboxPolicies.find((x) => x.name === 'Contoso-Paris-Policy')!;
    expect(paris).toMatchObject({ minPinLength: 6, pinLifetimeDays: 60, pinHistoryCount: 5, allowCommonPatterns: false, logonFailuresBeforePinReset: 5, maxLogonAttempts: 15 });
    expect(directory.gateways.find((g) => g.name === 'gw2')).toMatchObject({ status: 'Enabled', messageWaitingIndicatorAllowed: true });
    expect(directory.mail.smtp).toBeUndefined();
  });

  it('a missing file names the path', () => {
    try {
      loadDirectory('/nonexistent/dir.yaml');
      throw new Error('expected failure');
    } catch (err) {
      expect(isVaError(err, 'VA_ERR_CONFIG_NOT_FOUND')).toBe(true);
      expect((err as Error).message).toContain('/nonexistent/dir.yaml');
    }
  });

  it('invalid YAML is reported as such', () => {
    expect(() => parseDirectory('dialPlans: [unclosed', 'x.yaml')).toThrow(/x\.yaml: not valid YAML/);
    // An alias before its anchor: the yaml package throws a ReferenceError of its own when making the data.
    expect(() => parseDirectory('dialPlans: *later\nx: &later []\n', 'x.yaml')).toThrow(expect.objectContaining({ code: 'VA_ERR_CONFIG_INVALID', message: expect.stringMatching(/x\.yaml: not valid YAML: .*alias/i) }));
  });

  it.each<[string, (d: any) => void, RegExp]>([
    ['an unknown key', (d) => (d.mailboxPolicies[0].minPinLenght = 6), /mailboxPolicies\[0\]: unknown key "minPinLenght"/],
    ['a value out of range', (d) => (d.mailboxPolicies[0].minPinLength = 3), /mailboxPolicies\[0\]\.minPinLength: .*(>=|at least|too small).*4/i],
    ['a bad enum', (d) => (d.gateways[0].status = 'On'), /gateways\[0\]\.status: /],
    ['a missing required key', (d) => delete d.dialPlans[0].numberOfDigitsInExtension, /dialPlans\[0\]\.numberOfDigitsInExtension: is required/],
    ['reset not below lockout', (d) => (d.mailboxPolicies[0].logonFailuresBeforePinReset = 15), /mailboxPolicies\[0\]\.logonFailuresBeforePinReset: must be less than maxLogonAttempts/],
    ['an extension of the wrong length', (d) => (d.mailboxes[0].extension = '1234'), /mailboxes\[0\]\.extension: must have 5 digits \(dial plan Contoso-DP\)/],
    ['a duplicate extension', (d) => (d.mailboxes[1].extension = '51234'), /mailboxes\[1\]\.extension: extension 51234 is already used/],
    ['an unknown policy', (d) => (d.mailboxes[0].policy = 'Nope'), /mailboxes\[0\]\.policy: no mailbox policy named "Nope"/],
    ['an unknown dial plan on a gateway', (d) => (d.gateways[0].dialPlan = 'Nope'), /gateways\[0\]\.dialPlan: no dial plan named "Nope"/],
    ['a non-digit extension', (d) => (d.mailboxes[0].extension = '5123a'), /mailboxes\[0\]\.extension: extension must contain only the digits/],
    ['a conferencing PIN length out of range', (d) => (d.conferencing.pinLength = 13), /conferencing\.pinLength: /],
    ['a meeting of an unknown organizer', (d) => (d.conferencing.meetings[0].organizer = 'x@contoso.com'), /conferencing\.meetings\[0\]\.organizer: no organizer/],
    ['a bad locale', (d) => (d.defaultLocale = 'de-DE'), /defaultLocale: /],
  ])('%s fails with the key path and the rule', (_what, edit, expected) => {
    expect(errorOf(edit)).toMatch(expected);
  });

  it('an initial PIN shorter than the policy minimum is refused without echoing the PIN', () => {
    const msg = errorOf((d) => (d.mailboxes[0].pin = '48392'));
    expect(msg).toMatch(/mailboxes\[0\]\.pin: must have at least 6 digits/);
    expect(msg).not.toContain('48392');
  });

  it('sip.maxCallsAllowed: no limit by default, a positive integer otherwise (the key named when wrong)', () => {
    expect(loadDirectory().directory.sip).toMatchObject({ maxCallsAllowed: null, retryAfterSeconds: 5 });
    expect(errorOf((d) => (d.sip = { maxCallsAllowed: 0 }))).toMatch(/sip\.maxCallsAllowed/);
    expect(errorOf((d) => (d.sip = { retryAfterSeconds: 1.5 }))).toMatch(/sip\.retryAfterSeconds/);
  });

  it('media.maxPendingEndpoints: 20 by default, a positive integer otherwise (the key named when wrong)', () => {
    expect(loadDirectory().directory.media.maxPendingEndpoints).toBe(20);
    expect(errorOf((d) => (d.media = { maxPendingEndpoints: 0 }))).toMatch(/media\.maxPendingEndpoints/);
    expect(errorOf((d) => (d.media = { maxPendingEndpoints: 'many' }))).toMatch(/media\.maxPendingEndpoints/);
    // What serve hands the FreeSWITCH pool.
    const media = { ...loadDirectory().directory.media, engine: 'freeswitch' as const, maxPendingEndpoints: 7 };
    const engine = resolveMediaEngine({ freeswitch: { servers: [{ host: '127.0.0.1', port: 8021 }], secret: 's' } }, media, 'drachtio', {});
    expect(engine).toMatchObject({ name: 'freeswitch', maxPendingEndpoints: 7 });
  });

  it('reports every problem at once', () => {
    const msg = errorOf((d) => {
      d.gateways[0].port = 70000;
      d.mailboxes[0].smsNotificationOption = 'Always';
    });
    expect(msg).toMatch(/gateways\[0\]\.port/);
    expect(msg).toMatch(/mailboxes\[0\]\.smsNotificationOption/);
  });

  it('loadDirectory reads a file from disk', () => {
    const dir = tempDir();
    const f = path.join(dir, 'd.yaml');
    const d = demo();
    d.organization = 'Fabrikam';
    writeFileSync(f, stringify(d));
    expect(loadDirectory(f).directory.organization).toBe('Fabrikam');
  });
});
