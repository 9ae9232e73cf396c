/**
 * request-validation.ts: Via, Contact and CSeq syntax as written (RFC 3261 §25.1, §8.1.1.5; RFC 4475's torture
 * messages where they apply), and validateRequest on messages as the `sip` package parses them.
 */
import { DEFAULT_MESSAGE_LIMITS, prepareForPackage, scanMessage } from '../../src/sip/embedded/message-limits';
import { contactProblem, cseqProblem, isKnownMethod, validateRequest, viaProblem } from '../../src/sip/embedded/request-validation';
import { sipPackage, type SipFlow, type SipRequest } from '../../src/sip/embedded/sip-package';
import { message } from './helpers/raw-sip';

describe('viaProblem (RFC 3261 §25.1 via-parm)', () => {
  test.each([
    'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK776asdhds;rport',
    'SIP/2.0/TCP pbx.example.com;branch=z9hG4bK1;received=192.0.2.1;rport=5062',
    'SIP/2.0/UDP 192.0.2.2;branch=390skdjuw',
    'SIP  /   2.0 /UDP 192.0.2.2;branch=390skdjuw', // RFC 4475 wsinv, unfolded
    'SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111;received=[2001:db8::9:255]',
    'SIP/2.0/UDP 10.0.0.1:5060 ; branch = z9hG4bK1 ; ttl=16 ; maddr=224.2.0.1',
    'SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com:5070;branch=z9hG4bK2',
    'SIP/2.0/SCTP t1.example.com;branch=z9hG4bK1;x-extension="quoted, value"',
  ])('valid: %s', (v) => {
    expect(viaProblem(v)).toBeNull();
  });
  test.each([
    ['SIP/2.0/UDP 127.0.0.1:5060;branch=', 'an empty or bad value of branch'],
    ['SIP/2.0/UDP 127.0.0.1:5060;;branch=z9hG4bK1', 'an empty parameter'],
    ['SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1;', 'an empty parameter'],
    ['SIP/2.0/UDP 127.0.0.1:5060;branch', 'branch without a value'],
    ['SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1,', 'sent-protocol is not name/version/transport'],
    [',SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1', 'sent-protocol is not name/version/transport'],
    ['SIP/2.0/UDP', 'no space before sent-by'],
    ['SIP/2.0 127.0.0.1', 'sent-protocol is not name/version/transport'],
    ['SIP/2.0/UDP 127.0.0.1:abc;branch=z9hG4bK1', 'bad sent-by port'],
    ['SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1 garbage', 'stray characters'],
    ['garbage!!', 'sent-protocol is not name/version/transport'],
    ['', 'sent-protocol is not name/version/transport'],
  ])('malformed: %s (%s)', (v, why) => {
    expect(viaProblem(v)).toBe(why);
  });
});

describe('contactProblem (RFC 3261 §25.1 Contact)', () => {
  test.each([
    '<sip:caller@127.0.0.1:5062>',
    '"Bob, the caller" <sip:bob@pbx.example.com;transport=tcp>;expires=60;q=0.7',
    'Bob <sip:bob@h>',
    'caller<sip:caller@example.com>', // RFC 4475 lwsdisp
    'sip:a@b;expires=5',
    '<sip:a@b>, <sip:c@d>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"',
    '<tel:+14255550100>',
  ])('valid: %s', (v) => {
    expect(contactProblem(v, false)).toBeNull();
  });
  test.each([
    ['<sip:a@b', 'no > after the URI'],
    ['<>', 'not a URI between < and >'],
    ['< sip:a@b >', 'not a URI between < and >'], // RFC 4475 badaspec
    ['"Bob <sip:bob@h>', 'unterminated display name'], // RFC 4475 quotbal
    ['<sip:a@b>;;', 'an empty parameter'],
    ['<sip:a@b>;expires=', 'an empty or bad value of expires'],
    ['<sip:a@b>;q', 'q without a value'],
    ['<sip:a@b>,', 'not a URI'],
    [',<sip:a@b>', 'not a URI'],
    ['*', '* is for REGISTER only'],
    ['', 'not a URI'],
    ['just words', 'not a URI'],
  ])('malformed: %s (%s)', (v, why) => {
    expect(contactProblem(v, false)).toBe(why);
  });
  test('* is a Contact for REGISTER', () => {
    expect(contactProblem('*', true)).toBeNull();
  });
});

describe('cseqProblem (RFC 3261 §20.16, §8.1.1.5; RFC 4475 scalar02)', () => {
  test.each([
    [['1 INVITE'], null],
    [['2147483647 INVITE'], null],
    [['0 INVITE'], null],
    [['1 INVITE', '1 INVITE'], null],
    [['2147483648 INVITE'], 'number over 2**31-1'],
    [['4294967296 INVITE'], 'number over 2**31-1'],
    [['36893488147419103232 INVITE'], 'not a number and a method'],
    [['-1 INVITE'], 'not a number and a method'],
    [['1.5 INVITE'], 'not a number and a method'],
    [['1 BYE'], 'method differs from the request'],
    [['1'], 'not a number and a method'],
    [['1 INVITE extra'], 'not a number and a method'],
    [['1 INVITE', '2 INVITE'], 'two different CSeq values'],
    [[], 'no CSeq'],
  ])('%j', (values, expected) => {
    expect(cseqProblem(values as string[], 'INVITE')).toBe(expected);
  });
});

test('known methods get 405, others 501', () => {
  for (const m of ['REGISTER', 'PRACK', 'UPDATE', 'REFER', 'MESSAGE', 'NOTIFY', 'PUBLISH']) expect(isKnownMethod(m)).toBe(true);
  for (const m of ['FOO', 'RE%47IST%45R', 'register', 'INVITEX']) expect(isKnownMethod(m)).toBe(false);
});

describe('validateRequest on parsed messages', () => {
  const UDP: SipFlow = { protocol: 'UDP', address: '127.0.0.1', port: 5999, local: { address: '127.0.0.1', port: 5070 } };

  function request(method: string, uri: string, extra: Array<[string, string]> = [], replace?: (s: string) => string): { rq: SipRequest; text: string } {
    let text = message(`${method} ${uri} SIP/2.0`, [
      ['Via', 'SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKv1'],
      ['Max-Forwards', '70'],
      ['From', '<sip:a@127.0.0.1>;tag=1'],
      ['To', '<sip:b@127.0.0.1>'],
      ['Call-ID', 'v@test'],
      ['CSeq', `1 ${method}`],
      ...extra,
    ]);
    if (replace) text = replace(text);
    const scan = scanMessage(text, DEFAULT_MESSAGE_LIMITS);
    return { rq: sipPackage().parse(Buffer.from(prepareForPackage(text, scan), 'latin1')) as SipRequest, text };
  }

  function check(method: string, uri: string, extra: Array<[string, string]> = [], replace?: (s: string) => string) {
    const { rq, text } = request(method, uri, extra, replace);
    return validateRequest(rq, UDP, scanMessage(text, DEFAULT_MESSAGE_LIMITS));
  }

  test('a good request proceeds', () => {
    expect(check('OPTIONS', 'sip:b@127.0.0.1')).toBeNull();
    expect(check('INVITE', 'tel:+14255550100', [['Contact', '<sip:a@127.0.0.1:5999>']])).toBeNull();
  });

  test.each(['INVITE', 'OPTIONS', 'BYE', 'INFO', 'SUBSCRIBE', 'CANCEL', 'REGISTER', 'MESSAGE', 'FOO'])('§8.2.2.1: %s to an unknown URI scheme gets 416', (method) => {
    expect(check(method, 'mailto:someone@example.com')).toEqual({ status: 416 });
    expect(check(method, 'urn:service:sos')).toEqual({ status: 416 });
    expect(check(method, '<sip:b@127.0.0.1>')).toEqual({ status: 400, reason: 'Bad Request-URI' }); // RFC 4475 ltgtruri
    expect(check(method, 'sip:')).toEqual({ status: 400, reason: 'Bad Request-URI' });
    expect(check(method, 'tel:;phone-context=x')).toEqual({ status: 400, reason: 'Bad Request-URI' });
  });

  test('two Content-Length values that differ: 400 (RFC 4475 mcl01); negative or overlarge: 400', () => {
    expect(check('OPTIONS', 'sip:b@h', [], (s) => s.replace('Content-Length: 0', 'Content-Length: 0\r\nContent-Length: 5'))).toEqual({ status: 400, reason: 'Bad Content-Length' });
    expect(check('OPTIONS', 'sip:b@h', [], (s) => s.replace('Content-Length: 0', 'l: 0\r\nContent-Length: 0'))).toBeNull();
    expect(check('OPTIONS', 'sip:b@h', [], (s) => s.replace('Content-Length: 0', 'Content-Length: -5'))).toEqual({ status: 400, reason: 'Bad Content-Length' });
    expect(check('OPTIONS', 'sip:b@h', [], (s) => s.replace('Content-Length: 0', 'Content-Length: 99999999999999999999'))).toEqual({ status: 400, reason: 'Bad Content-Length' });
  });

  test('a CSeq number outside 0..2**31-1, as written: 400 (the package would read -1 as 1)', () => {
    for (const cseq of ['4294967296', '2147483648', '99999999999999999999', '-1']) {
      const { rq } = request('OPTIONS', 'sip:b@h', [], (s) => s.replace('CSeq: 1 OPTIONS', `CSeq: ${cseq} OPTIONS`));
      if (cseq === '-1') expect(rq.headers.cseq.seq).toBe(1);
      expect({ cseq, problem: check('OPTIONS', 'sip:b@h', [], (s) => s.replace('CSeq: 1 OPTIONS', `CSeq: ${cseq} OPTIONS`)) }).toEqual({ cseq, problem: { status: 400, reason: 'Bad CSeq' } });
    }
  });

  test('Max-Forwards: 0-255 (RFC 3261 §20.22); 0 is 483 except for OPTIONS', () => {
    expect(check('OPTIONS', 'sip:b@h', [], (s) => s.replace('Max-Forwards: 70', 'Max-Forwards: 300'))).toEqual({ status: 400, reason: 'Bad Max-Forwards' });
    expect(check('OPTIONS', 'sip:b@h', [], (s) => s.replace('Max-Forwards: 70', 'Max-Forwards: -1'))).toEqual({ status: 400, reason: 'Bad Max-Forwards' });
    expect(check('INVITE', 'sip:b@h', [], (s) => s.replace('Max-Forwards: 70', 'Max-Forwards: 0'))).toEqual({ status: 483 });
    expect(check('OPTIONS', 'sip:b@h', [], (s) => s.replace('Max-Forwards: 70', 'Max-Forwards: 0'))).toBeNull();
  });

  test('a malformed Contact: 400 for INVITE and SUBSCRIBE, not looked at otherwise', () => {
    expect(check('INVITE', 'sip:b@h', [['Contact', '<sip:a@127.0.0.1>;;']])).toEqual({ status: 400, reason: 'Bad Contact' });
    expect(check('SUBSCRIBE', 'sip:b@h', [['Contact', '<sip:a@127.0.0.1']])).toEqual({ status: 400, reason: 'Bad Contact' });
    expect(check('OPTIONS', 'sip:b@h', [['Contact', '<sip:a@127.0.0.1>;;']])).toBeNull();
  });
});
