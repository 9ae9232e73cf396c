/**
 * The pure pieces of the admin center's web pages (src/http/web/): HTML escaping, the locale from Accept-Language,
 * the session store's idle expiry and eviction, and the edit forms' conversion by the cmdlets' own rules.
 */
import { findCmdlet } from '../../src/admin/cmdlets';
import { html, raw } from '../../src/http/web/html';
import { matchesSearch } from '../../src/http/web/recipients';
import { sameToken, WebSessions } from '../../src/http/web/sessions';
import { changedValues, formValue } from '../../src/http/web/settings-pages';
import { fmt, pickLocale, STRINGS } from '../../src/http/web/strings';

describe('html', () => {
  test('escapes every value, text and attributes alike; keeps what html made; drops null and false', () => {
    const name = `<script>alert("x")</script>' & \``;
    const out = html`<td title="${name}">${name}${null}${false}${undefined}${[html`<b>${'<i>'}</b>`, 1]}${raw('<br>')}</td>`.text;
    expect(out).toBe('<td title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; &amp; &#96;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; &amp; &#96;<b>&lt;i&gt;</b>1<br></td>');
  });
});

describe('pickLocale', () => {
  test.each([
    [undefined, 'en-US'],
    ['', 'en-US'],
    ['fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7', 'fr-FR'],
    ['fr', 'fr-FR'],
    ['en-GB,fr;q=0.5', 'en-US'],
    ['de-DE,fr;q=0.4,en;q=0.3', 'fr-FR'],
    ['de-DE', 'en-US'],
    ['en;q=0.2,fr-CA;q=0.8', 'fr-FR'],
    ['fr;q=0,en', 'en-US'],
  ])('%s -> %s', (header, locale) => {
    expect(pickLocale(header)).toBe(locale);
  });

  test('both tables have the same keys, none empty; fmt fills the placeholders', () => {
    expect(Object.keys(STRINGS['fr-FR']).sort()).toEqual(Object.keys(STRINGS['en-US']).sort());
    for (const table of Object.values(STRINGS)) for (const v of Object.values(table)) expect(v.length).toBeGreaterThan(0);
    expect(fmt(STRINGS['fr-FR'].pinResetDone, 'tony@contoso.com')).toBe('Le code confidentiel a été réinitialisé et envoyé à tony@contoso.com.');
  });
});

describe('WebSessions', () => {
  test('a session lives while used and ends after the idle time, at end(), and oldest-first past the maximum', () => {
    let now = 0;
    const s = new WebSessions({ idleMs: 1000, max: 2, now: () => now });
    const a = s.create({ id: 1, name: 'a', role: 'View-Only' });
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.csrf).not.toBe(a.id);
    now = 900;
    expect(s.touch(a.id)).toBe(a);
    now = 1800;
    expect(s.touch(a.id)).toBe(a); // 900 ms after its last use
    now = 2801;
    expect(s.touch(a.id)).toBeUndefined();
    expect(s.touch(undefined)).toBeUndefined();

    const b = s.create({ id: 2, name: 'b', role: 'UM Management' });
    const c = s.create({ id: 3, name: 'c', role: 'UM Management' });
    s.touch(b.id);
    const d = s.create({ id: 4, name: 'd', role: 'UM Management' });
    expect([s.touch(b.id), s.touch(c.id), s.touch(d.id)]).toEqual([b, undefined, d]);
    s.end(b.id);
    expect(s.touch(b.id)).toBeUndefined();
  });

  test('sameToken: equal tokens only, never a missing one', () => {
    expect(sameToken('abc', 'abc')).toBe(true);
    expect(sameToken('abc', 'abd')).toBe(false);
    expect(sameToken('abc', 'abcd')).toBe(false);
    expect(sameToken(undefined, undefined)).toBe(false);
    expect(sameToken('', '')).toBe(false);
  });
});

describe('edit forms', () => {
  const specs = findCmdlet('Set-UMMailboxPolicy')!.params.filter((p) => ['MinPINLength', 'PINLifetime', 'AllowCommonPatterns', 'MaxLogonAttempts'].includes(p.name));
  const current = { Name: 'P', MinPINLength: 6, PINLifetime: '60.00:00:00', AllowCommonPatterns: false, MaxLogonAttempts: 'Unlimited' };

  test('formValue shows what the cmdlet takes', () => {
    expect([formValue('60.00:00:00'), formValue(true), formValue(['+1', '+2']), formValue(null), formValue('Unlimited')]).toEqual(['60', 'true', '+1, +2', '', 'Unlimited']);
  });

  test('only changed fields are passed, converted by the cmdlet; refusals carry the cmdlet\'s message', () => {
    expect(changedValues(specs, current, { MinPINLength: '6', PINLifetime: '60', AllowCommonPatterns: 'false', MaxLogonAttempts: 'Unlimited' })).toEqual({ values: {}, errors: {} });
    expect(changedValues(specs, current, { MinPINLength: ' 8 ', PINLifetime: 'unlimited', AllowCommonPatterns: 'true', MaxLogonAttempts: '20' })).toEqual({
      values: { MinPINLength: 8, PINLifetime: 'Unlimited', AllowCommonPatterns: true, MaxLogonAttempts: 20 },
      errors: {},
    });
    expect(changedValues(specs, current, { MinPINLength: '25', PINLifetime: 'soon', MaxLogonAttempts: '' })).toEqual({
      values: {},
      errors: {
        MinPINLength: '-MinPINLength: must be between 4 and 24',
        PINLifetime: '-PINLifetime: "soon" is not a whole number or Unlimited',
        MaxLogonAttempts: '-MaxLogonAttempts: "" is not a whole number or Unlimited',
      },
    });
  });

  test('the recipients search looks at the name, the address and the extension', () => {
    const m = { DisplayName: 'Tony Smith', Identity: 'tony@contoso.com', Extensions: ['51234'] };
    expect(['tony', 'SMITH', 'contoso', '5123', '', '  '].map((q) => matchesSearch(m, q))).toEqual([true, true, true, true, true, true]);
    expect(matchesSearch(m, 'david')).toBe(false);
  });
});
