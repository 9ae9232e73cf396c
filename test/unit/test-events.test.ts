/**
 * Issue 22, "Prompt and state events for any test tool": the pure parts. The `X-VA-Test-Events` header's parsing,
 * the allow-list's address and CIDR matching, the directory key's validation (`testing.eventsAllowedFrom`), and the
 * event bodies (`eventBody`). The events over SIP are tested end to end in test/e2e/sipp-test-events.test.ts.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { parseDirectory } from '../../src/config/load';
import { AddressList, addressListErrors, ipBytes } from '../../src/domain/address-list';
import { flowPosition, parseTestEventsHeader } from '../../src/domain/test-events';
import { eventBody } from '../../src/runtime/test-events';
import { ROOT } from '../helpers';

describe('X-VA-Test-Events', () => {
  it.each([
    ['prompts, digits, states', ['prompts', 'digits', 'states']],
    ['prompts', ['prompts']],
    ['PROMPTS,States', ['prompts', 'states']],
    ['  states ,  prompts  ', ['prompts', 'states']],
    ['digits,digits', ['digits']],
    ['prompts, tones, everything', ['prompts']],
    ['prompts,,', ['prompts']],
    ['', []],
    ['  ', []],
    ['nothing-known', []],
  ])('%j -> %j', (value, kinds) => {
    expect(parseTestEventsHeader(value)).toEqual(kinds);
  });

  it('no header asks for nothing', () => {
    expect(parseTestEventsHeader(undefined)).toEqual([]);
  });
});

describe('the allow-list (IP addresses and CIDR prefixes)', () => {
  it('an empty list matches nobody', () => {
    const list = AddressList.parse([]);
    expect(list.empty).toBe(true);
    expect(list.matches('127.0.0.1')).toBe(false);
  });

  it('single IPv4 addresses and prefixes', () => {
    const list = AddressList.parse(['127.0.0.1', '10.0.0.0/8', '192.168.4.0/22', '172.16.5.4/32']);
    expect(list.matches('127.0.0.1')).toBe(true);
    expect(list.matches('127.0.0.2')).toBe(false);
    expect(list.matches('10.255.1.2')).toBe(true);
    expect(list.matches('11.0.0.1')).toBe(false);
    expect(list.matches('192.168.4.1')).toBe(true);
    expect(list.matches('192.168.7.255')).toBe(true);
    expect(list.matches('192.168.8.0')).toBe(false);
    expect(list.matches('172.16.5.4')).toBe(true);
    expect(list.matches('172.16.5.5')).toBe(false);
  });

  it('/0 matches every IPv4 address and no IPv6 one', () => {
    const list = AddressList.parse(['0.0.0.0/0']);
    expect(list.matches('203.0.113.9')).toBe(true);
    expect(list.matches('2001:db8::1')).toBe(false);
  });

  it('IPv6 addresses and prefixes, with :: and brackets', () => {
    const list = AddressList.parse(['2001:db8::/32', '::1', 'fe80::1:2:3:4/128']);
    expect(list.matches('2001:db8:ffff::9')).toBe(true);
    expect(list.matches('[2001:db8::1]')).toBe(true);
    expect(list.matches('2001:db9::1')).toBe(false);
    expect(list.matches('::1')).toBe(true);
    expect(list.matches('0:0:0:0:0:0:0:1')).toBe(true);
    expect(list.matches('::2')).toBe(false);
    expect(list.matches('fe80:0::1:2:3:4')).toBe(true);
  });

  it('an IPv4-mapped IPv6 address matches as its IPv4 address, both ways', () => {
    expect(AddressList.parse(['127.0.0.0/8']).matches('::ffff:127.0.0.1')).toBe(true);
    expect(AddressList.parse(['::ffff:10.1.2.3']).matches('10.1.2.3')).toBe(true);
    expect(AddressList.parse(['::ffff:10.0.0.0/104']).matches('10.9.9.9')).toBe(true);
    expect(AddressList.parse(['::ffff:10.0.0.0/104']).matches('11.9.9.9')).toBe(false);
  });

  it('what is not an IP address never matches', () => {
    const list = AddressList.parse(['0.0.0.0/0', '::/0']);
    for (const a of ['', 'localhost', '127.0.0.1:5060', '256.1.1.1', '1.2.3', '01.2.3.4', '1::2::3', 'gggg::1', '1:2:3:4:5:6:7:8:9']) {
      expect({ a, m: list.matches(a) }).toEqual({ a, m: false });
    }
  });

  it('bad entries are named, each with its index', () => {
    expect(addressListErrors(['127.0.0.1', 'example.com', '10.0.0.0/33', '2001:db8::/129', '1.2.3.4/', '::1'])).toEqual([
      { index: 1, message: expect.stringContaining('"example.com" is not an IPv4 or IPv6 address') },
      { index: 2, message: expect.stringContaining('the prefix length must be 0-32') },
      { index: 3, message: expect.stringContaining('the prefix length must be 0-128') },
      { index: 4, message: expect.stringContaining('"1.2.3.4/" is not an IP address or a CIDR prefix') },
    ]);
    expect(() => AddressList.parse(['nope'])).toThrow(/"nope" is not an IPv4 or IPv6 address/);
  });

  it('ipBytes reads the forms the signalling reports', () => {
    expect([...ipBytes('192.0.2.1')!]).toEqual([192, 0, 2, 1]);
    expect(ipBytes('::')!.length).toBe(16);
    expect([...ipBytes('::ffff:192.0.2.1')!]).toEqual([192, 0, 2, 1]);
    expect(ipBytes('x')).toBeNull();
  });
});

describe('the directory key testing.eventsAllowedFrom', () => {
  const demo = () => parse(readFileSync(path.join(ROOT, 'config', 'contoso.yaml'), 'utf8'));

  it('is empty by default: production never sends events', () => {
    const { testing } = parseDirectory(stringify(demo()), 'test.yaml');
    expect(testing.eventsAllowedFrom).toEqual([]);
  });

  it('takes addresses and prefixes', () => {
    const d = demo();
    d.testing = { eventsAllowedFrom: ['127.0.0.1', '10.0.0.0/8', '2001:db8::/32'] };
    expect(parseDirectory(stringify(d), 'test.yaml').testing.eventsAllowedFrom).toEqual(['127.0.0.1', '10.0.0.0/8', '2001:db8::/32']);
  });

  it('refuses a bad entry with a message naming the key', () => {
    const d = demo();
    d.testing = { eventsAllowedFrom: ['127.0.0.1', 'lab-host'] };
    expect(() => parseDirectory(stringify(d), 'test.yaml')).toThrow(
      expect.objectContaining({ code: 'VA_ERR_CONFIG_INVALID', message: expect.stringMatching(/testing\.eventsAllowedFrom\[1\]: "lab-host" is not an IPv4 or IPv6 address/) }),
    );
  });

  it('refuses an unknown key under testing (a typo)', () => {
    const d = demo();
    d.testing = { eventAllowedFrom: ['127.0.0.1'] };
    expect(() => parseDirectory(stringify(d), 'test.yaml')).toThrow(expect.objectContaining({ message: expect.stringMatching(/testing/) }));
  });
});

describe('event bodies', () => {
  it('flowPosition splits flowId.state', () => {
    expect(flowPosition('signIn.extension')).toEqual({ flow: 'signIn', state: 'extension' });
    expect(flowPosition('mailboxMenu.playing.body')).toEqual({ flow: 'mailboxMenu', state: 'playing.body' });
    expect(flowPosition(null)).toEqual({ flow: null, state: null });
  });

  it('is compact JSON in the issue\'s key order, ASCII only', () => {
    const body = eventBody({ event: 'prompt', prompt: 'enter-extension', locale: 'en-US', flow: 'signIn', state: 'extension', seq: 2 });
    expect(body).toBe('{"event":"prompt","prompt":"enter-extension","locale":"en-US","flow":"signIn","state":"extension","seq":2}');
    expect(eventBody({ event: 'state', flow: 'signIn', state: 'é', seq: 1 })).toBe('{"event":"state","flow":"signIn","state":"\\u00e9","seq":1}');
    expect(eventBody({ event: 'prompt', prompt: null, locale: 'fr-FR', flow: 'mailboxMenu', state: 'playing', seq: 3 })).toContain('"prompt":null');
  });
});
