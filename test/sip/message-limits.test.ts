/**
 * message-limits.ts: the scan before the `sip` package parses (limits, the package's line syntax, the values a raw
 * response needs) and the rewrite for the package, in linear time. The package's own parser is used here only to
 * show what it makes of the rewritten text (tests may not import it otherwise: see sip-package.ts).
 */
import { seededRandom } from '../helpers';
import {
  DEFAULT_MESSAGE_LIMITS,
  MAX_WHITESPACE_RUN,
  contentLengthOf,
  headerColon,
  prepareForPackage,
  scanMessage,
  startLineParses,
  type MessageLimits,
} from '../../src/sip/embedded/message-limits';
import { sipPackage, type SipRequest } from '../../src/sip/embedded/sip-package';
import { message } from './helpers/raw-sip';

const LIMITS: MessageLimits = { ...DEFAULT_MESSAGE_LIMITS };

function options(extra: Array<[string, string]> = [], startLine = 'OPTIONS sip:ivr@127.0.0.1:5070 SIP/2.0', body = ''): string {
  return message(
    startLine,
    [
      ['Via', 'SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKabc123;rport'],
      ['Max-Forwards', '70'],
      ['From', '<sip:monitor@127.0.0.1>;tag=f1'],
      ['To', '<sip:ivr@127.0.0.1>'],
      ['Call-ID', 'call-1@test'],
      ['CSeq', '7 OPTIONS'],
      ...extra,
    ],
    body,
  );
}

/** The package's parse time of `text`, ms (best of three). */
function parseMs(text: string): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    sipPackage().parse(Buffer.from(text, 'latin1'));
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

describe('scanMessage', () => {
  test('a well-formed request: start line, header end, values a response needs, nothing to rewrite', () => {
    const text = options([['Contact', '<sip:a@127.0.0.1>, <sip:b@127.0.0.1>']], undefined, 'hello');
    const scan = scanMessage(text, LIMITS);
    expect(scan).toMatchObject({
      start: 0,
      headerEnd: text.indexOf('\r\n\r\n'),
      kind: 'request',
      method: 'OPTIONS',
      violation: null,
      parseable: true,
      needsRewrite: false,
      branch: 'z9hG4bKabc123',
      contentLengths: ['5'],
      vias: ['SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKabc123;rport'],
      contacts: ['<sip:a@127.0.0.1>, <sip:b@127.0.0.1>'],
      cseqs: ['7 OPTIONS'],
      address: {
        via: ['SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKabc123;rport'],
        from: '<sip:monitor@127.0.0.1>;tag=f1',
        to: '<sip:ivr@127.0.0.1>',
        callId: 'call-1@test',
        cseq: '7 OPTIONS',
      },
    });
    // 7 lines + a Contact list of two entries (RFC 3261 §7.3.1).
    expect(scan.headerCount).toBe(9);
    expect(contentLengthOf(scan)).toBe(5);
  });

  test('compact forms, folded lines and CRLFs before the start line (RFC 3261 §7.3.1, §7.3.3, §7.5)', () => {
    const text = '\r\n\r\n' + options().replace('Via: ', 'v:  ').replace('Call-ID: call-1@test', 'i: call-1@test').replace('CSeq: 7 OPTIONS', 'CSeq: 7\r\n OPTIONS');
    const scan = scanMessage(text, LIMITS);
    expect(scan.start).toBe(4);
    expect(scan.needsRewrite).toBe(true);
    expect(scan.address.callId).toBe('call-1@test');
    expect(scan.cseqs).toEqual(['7 OPTIONS']);
    expect(scan.vias).toHaveLength(1);
  });

  test('a response is a response; garbage is neither and does not parse', () => {
    expect(scanMessage('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n', LIMITS)).toMatchObject({ kind: 'response', method: null, parseable: true });
    expect(scanMessage('hello world\r\n\r\n', LIMITS)).toMatchObject({ kind: 'unknown', parseable: false });
    expect(scanMessage(options([['Broken header without colon', 'x']]).replace('Broken header without colon: x', 'Broken header without colon'), LIMITS).parseable).toBe(false);
    expect(scanMessage(options().replace('\r\n\r\n', '\r\n'), LIMITS).headerEnd).toBe(-1);
  });

  test('limits: the whole message, the number of header fields (list entries count), one header field', () => {
    const small: MessageLimits = { maxMessageBytes: 2000, maxHeaders: 20, maxHeaderLineBytes: 300 };
    expect(scanMessage(options(), small).violation).toBeNull();
    expect(scanMessage(options([], undefined, 'x'.repeat(2000)), small).violation).toBe('too-large');
    expect(scanMessage(options([['Subject', 'y'.repeat(300)]]), small).violation).toBe('header-too-long');
    expect(scanMessage(options([], `OPTIONS sip:${'u'.repeat(300)}@h SIP/2.0`), small).violation).toBe('header-too-long');
    expect(scanMessage(options(Array.from({ length: 14 }, (_, i) => [`X-${i}`, 'v'] as [string, string])), small).violation).toBe('too-many-headers');
    const contacts = Array.from({ length: 14 }, (_, i) => `<sip:c${i}@h>`).join(', ');
    expect(scanMessage(options([['Contact', contacts]]), small).violation).toBe('too-many-headers');
    // A comma inside quotes or angle brackets separates nothing.
    expect(scanMessage(options([['Contact', `"a, b, c, d, e, f, g, h, i, j, k, l, m, n" <sip:x@h;a=1,2,3,4,5,6,7,8,9,10,11,12,13,14>`]]), small).violation).toBeNull();
  });

  test('the values of a raw response leave out header fields over the line limit and values with control characters', () => {
    const small: MessageLimits = { maxMessageBytes: 10_000, maxHeaders: 50, maxHeaderLineBytes: 200 };
    const text = options([['Via', `SIP/2.0/UDP 127.0.0.2:5;branch=z9hG4bK${'b'.repeat(300)}`]]).replace('Call-ID: call-1@test', 'Call-ID: call\x01-1');
    const scan = scanMessage(text, small);
    expect(scan.address.via).toEqual(['SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKabc123;rport']);
    expect(scan.vias).toHaveLength(2);
    expect(scan.address.callId).toBeUndefined();
  });

  test('linear: 1 MB of pathological headers scans in well under a second', () => {
    const run = ' '.repeat(200_000);
    const big = options([
      ['Via', `SIP/2.0/UDP h;branch=z9hG4bK2${run}x`],
      ['Contact', `<sip:b@h>${run}x`],
      ['Authorization', `Digest ${'a'.repeat(200_000)}`],
      ['Contact', Array.from({ length: 20_000 }, () => '<sip:a@b>').join(',')],
      [`X-Name${run}`, 'v'],
    ]).replace('CSeq: 7 OPTIONS', `CSeq: 7 OPTIONS${run}`);
    const t0 = performance.now();
    const scan = scanMessage(big, { maxMessageBytes: 2_000_000, maxHeaders: 100_000, maxHeaderLineBytes: 1_000_000 });
    const ms = performance.now() - t0;
    expect(scan.headerCount).toBeGreaterThan(20_000);
    expect(ms).toBeLessThan(500);
  });
});

describe('contentLengthOf (RFC 3261 §20.14; RFC 4475 ncl, scalar02, mcl01)', () => {
  const cl = (...values: string[]) => contentLengthOf(scanMessage(options().replace('Content-Length: 0\r\n', values.map((v) => `Content-Length: ${v}\r\n`).join('')), LIMITS));
  test.each([
    [[], null],
    [['0'], 0],
    [['12'], 12],
    [['12', '12'], 12],
    [['12', '0012'], 12],
    [['12', '13'], 'invalid'],
    [['-1'], 'invalid'],
    [['abc'], 'invalid'],
    [['1e3'], 'invalid'],
    [['99999999999'], 'invalid'],
    [[''], 'invalid'],
  ])('%j -> %j', (values, expected) => {
    expect(cl(...(values as string[]))).toBe(expected);
  });
  test('the compact form l counts', () => {
    expect(contentLengthOf(scanMessage(options().replace('Content-Length: 0', 'l: 0\r\nContent-Length: 4'), LIMITS))).toBe('invalid');
  });
});

describe('the package syntax checks agree with its own patterns (seeded)', () => {
  const PACKAGE_HEADER_LINE = /^([\S]*?)\s*:\s*([\s\S]*)$/;
  const PACKAGE_REQUEST = /^([\w\-.!%*_+`'~]+)\s([^\s]+)\sSIP\s*\/\s*(\d+\.\d+)/;
  const PACKAGE_RESPONSE = /^SIP\/(\d+\.\d+)\s+(\d+)\s*(.*)\s*$/;
  const ALPHABET = ['a', 'Z', '0', '9', ':', ' ', '\t', '\v', '\xa0', '\r', '\n', '/', '.', '%', 'SIP', 'SIP/2.0', ' 200', ';', '@', '<', '>', '"'];

  test('2,000 random lines: headerColon and startLineParses say what the regular expressions say', () => {
    const r = seededRandom(4475);
    for (let i = 0; i < 2000; i++) {
      let line = '';
      for (let k = 0, n = Math.floor(r.next() * 12); k < n; k++) line += r.pick(ALPHABET);
      expect({ line, colon: headerColon(line, 0, line.length) >= 0 }).toEqual({ line, colon: PACKAGE_HEADER_LINE.test(line) });
      const start = i % 2 === 0 ? line : r.pick(['INVITE ', 'SIP/2.0 ', 'OPTIONS sip:x ']) + line;
      expect({ start, ok: startLineParses(start) }).toEqual({ start, ok: start !== '' && (PACKAGE_REQUEST.test(start) || PACKAGE_RESPONSE.test(start)) });
    }
  });
});

describe('prepareForPackage', () => {
  test('nothing to change: the same text', () => {
    const text = options();
    expect(prepareForPackage(text, scanMessage(text, LIMITS))).toBe(text);
  });

  test('white space runs are cut to one SP, so the package parses in linear time (RFC 3261 §25.1)', () => {
    const run = ' '.repeat(8000);
    const text = options([['Contact', `<sip:a@127.0.0.1>${run};expires=60`], ['Route', `<sip:p@127.0.0.1;lr>${run}x`]]).replace('branch=z9hG4bKabc123', `branch=z9hG4bKabc123${run}`).replace('<sip:ivr@127.0.0.1>', `<sip:ivr@127.0.0.1>${'\t'.repeat(8000)}`);
    const scan = scanMessage(text, LIMITS);
    expect(scan.needsRewrite).toBe(true);
    const out = prepareForPackage(text, scan);
    expect(out.length).toBeLessThan(text.length - 30_000);
    expect(out).not.toMatch(new RegExp(`[ \\t]{${MAX_WHITESPACE_RUN + 1}}`));
    const before = parseMs(text);
    const after = parseMs(out);
    if (process.env.SIP_TEST_FIGURES) console.log(`package parse: ${before.toFixed(1)} ms as received, ${after.toFixed(2)} ms prepared`);
    expect(after).toBeLessThan(10);
    const rq = sipPackage().parse(Buffer.from(out, 'latin1')) as SipRequest;
    expect(rq.headers.via[0].params.branch).toBe('z9hG4bKabc123');
    expect(rq.headers.contact).toEqual([expect.objectContaining({ uri: 'sip:a@127.0.0.1', params: { expires: '60' } })]);
  });

  test('an escaped method stays escaped (RFC 4475 esc02); so do header names and the CSeq method', () => {
    const text = options([['X%2DCustom', 'v']], 'RE%47IST%45R sip:registrar.example.com SIP/2.0').replace('CSeq: 7 OPTIONS', 'CSeq: 7 RE%47IST%45R');
    const scan = scanMessage(text, LIMITS);
    expect(scan.method).toBe('RE%47IST%45R');
    const rq = sipPackage().parse(Buffer.from(prepareForPackage(text, scan), 'latin1')) as SipRequest;
    expect(rq.method).toBe('RE%47IST%45R');
    expect(rq.headers.cseq).toEqual({ seq: 7, method: 'RE%47IST%45R' });
    expect(rq.headers['x%2dcustom']).toBe('v');
    // Without the rewrite the package unescapes them: REGISTER, a method this server knows.
    expect((sipPackage().parse(Buffer.from(text, 'latin1')) as SipRequest).method).toBe('REGISTER');
    // Only the method is escaped, whatever separates it from the Request-URI.
    const tab = options([], 'M%41SSAGE\tsip:%61lice@h SIP/2.0').replace('CSeq: 7 OPTIONS', 'CSeq: 7 M%41SSAGE');
    const parsed = sipPackage().parse(Buffer.from(prepareForPackage(tab, scanMessage(tab, LIMITS)), 'latin1')) as SipRequest;
    expect([parsed.method, parsed.uri]).toEqual(['M%41SSAGE', 'sip:%61lice@h']);
  });

  test('authentication headers are left out (nothing reads them; their parsers are quadratic)', () => {
    const token = 'a'.repeat(8000);
    const text = options([['Authorization', `Digest ${token}`], ['WWW-Authenticate', token], ['Proxy-Authorization', 'Digest username="a", realm="b"']]);
    const scan = scanMessage(text, LIMITS);
    const out = prepareForPackage(text, scan);
    expect(out).not.toMatch(/Authoriz|Authenticate/);
    expect(parseMs(out)).toBeLessThan(10);
    expect(out.endsWith('Content-Length: 0\r\n\r\n')).toBe(true);
  });

  test('leading CRLFs are dropped; the body is never touched', () => {
    const body = `v=0\r\ns=${' '.repeat(100)}x\r\n`;
    const text = '\r\n' + options([['Subject', `a${' '.repeat(100)}b`], ['Content-Type', 'application/sdp']], undefined, body);
    const out = prepareForPackage(text, scanMessage(text, LIMITS));
    expect(out.startsWith('OPTIONS ')).toBe(true);
    expect(out.endsWith(body)).toBe(true);
    expect(out).toContain('Subject: a b\r\n');
  });
});
