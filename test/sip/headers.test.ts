import {
  callerUser,
  diversionUser,
  parseHistoryInfo,
  parseNameAddr,
  parseUriParts,
  sdpFromBody,
  splitHeaderList,
} from '../../src/sip/embedded/headers';
import { isKeepAlive, rawBadRequest } from '../../src/sip/embedded/malformed';

describe('name-addr and URIs', () => {
  test('splitHeaderList keeps commas inside quotes and angle brackets', () => {
    expect(splitHeaderList('"Doe, John" <sip:1@a>;x=1, <sip:2@b?h=a,b>, sip:3@c')).toEqual([
      '"Doe, John" <sip:1@a>;x=1',
      '<sip:2@b?h=a,b>',
      'sip:3@c',
    ]);
  });

  test('parseNameAddr', () => {
    expect(parseNameAddr('"Doe, John" <sip:2001@pbx.contoso.com;user=phone>;reason=no-answer;counter=1')).toEqual({
      displayName: 'Doe, John',
      uri: 'sip:2001@pbx.contoso.com;user=phone',
      params: { reason: 'no-answer', counter: '1' },
    });
    expect(parseNameAddr('sip:bob@h;tag=abc')).toEqual({ displayName: undefined, uri: 'sip:bob@h', params: { tag: 'abc' } });
    expect(parseNameAddr('<no-scheme>')).toBeNull();
  });

  test('parseUriParts: sip user parameters, percent-encoding, user=phone separators, tel, IPv6, port', () => {
    expect(parseUriParts('sip:+1-425-555-0100;phone-context=contoso.com@gw.contoso.com;user=phone')).toMatchObject({
      user: '+14255550100',
      host: 'gw.contoso.com',
      port: null,
    });
    expect(parseUriParts('sips:%32001@[2001:db8::1]:5061;transport=tls')).toMatchObject({ scheme: 'sips', user: '2001', host: '2001:db8::1', port: 5061 });
    expect(parseUriParts('tel:+1-425-555-0100;phone-context=+1')).toMatchObject({ scheme: 'tel', user: '+14255550100' });
    expect(parseUriParts('sip:127.0.0.1:5070')).toMatchObject({ user: null, host: '127.0.0.1', port: 5070 });
    expect(parseUriParts('mailto:a@b')).toBeNull();
  });
});

describe('callerUser', () => {
  test('P-Asserted-Identity wins over From; first entry', () => {
    expect(callerUser('sip:anonymous@anonymous.invalid', '"Alice" <sip:4255550101@gw.contoso.com>, <tel:+14255550101>')).toBe('4255550101');
    expect(callerUser('sip:4255550199@gw', '<tel:+1-425-555-0101>')).toBe('+14255550101');
  });
  test('From when no PAI; null for anonymous', () => {
    expect(callerUser('sip:2001@pbx', undefined)).toBe('2001');
    expect(callerUser('sip:anonymous@anonymous.invalid', undefined)).toBeNull();
    expect(callerUser('sip:Anonymous@pbx', undefined)).toBeNull();
    expect(callerUser('sip:pbx.contoso.com', undefined)).toBeNull();
    expect(callerUser('sip:2001@pbx', '<sip:anonymous@anonymous.invalid>')).toBeNull();
  });
});

describe('diversionUser', () => {
  test('first (most recent) Diversion entry, RFC 5806', () => {
    expect(diversionUser('<sip:2002@pbx>;reason=no-answer;counter=1, <sip:2001@pbx>;reason=unconditional', undefined)).toBe('2002');
    expect(diversionUser('"Bob" <tel:+14255552001>;reason=user-busy', '<sip:9999@x>;index=1')).toBe('+14255552001');
  });

  test('History-Info: the entry named by mp of the last mapped entry (RFC 7044 voice mail example)', () => {
    const hi =
      '<sip:bob@example.com>;index=1, <sip:bob@192.0.2.4?Reason=SIP%3Bcause%3D408>;index=1.1;rc=1, ' +
      '<sip:voicemail@example.com;target=sip:bob%40example.com;cause=480>;index=1.2;mp=1';
    expect(parseHistoryInfo(hi).map((e) => e.index)).toEqual(['1', '1.1', '1.2']);
    expect(diversionUser(undefined, hi)).toBe('bob');
  });

  test('History-Info without mp: RFC 4458 target, then the parent of a cause entry', () => {
    expect(diversionUser(undefined, '<sip:2001@pbx>;index=1, <sip:um@ex;target=sip:2001%40pbx;cause=302>;index=1.1')).toBe('2001');
    expect(diversionUser(undefined, '<sip:2003@pbx>;index=1, <sip:um@ex;cause=486>;index=1.1')).toBe('2003');
  });

  test('no diversion', () => {
    expect(diversionUser(undefined, undefined)).toBeUndefined();
    expect(diversionUser(undefined, '<sip:2001@pbx>;index=1')).toBeUndefined();
    expect(diversionUser('garbage', undefined)).toBeUndefined();
  });
});

describe('sdpFromBody', () => {
  test('plain SDP, empty, other types', () => {
    expect(sdpFromBody('application/sdp', 'v=0\r\n')).toEqual({ sdp: 'v=0\r\n' });
    expect(sdpFromBody(undefined, '')).toEqual({ sdp: null });
    expect(sdpFromBody('text/plain', 'hello')).toEqual({ unsupported: true });
  });

  test('multipart/mixed with SDP and ISUP (SIP-I)', () => {
    const body = [
      '--b1',
      'Content-Type: application/sdp',
      '',
      'v=0',
      'm=audio 5000 RTP/AVP 0',
      '--b1',
      'Content-Type: application/ISUP;version=itu-t92+',
      'Content-Disposition: signal;handling=optional',
      '',
      '\x01\x00\x49',
      '--b1--',
      '',
    ].join('\r\n');
    expect(sdpFromBody('multipart/mixed;boundary=b1', body)).toEqual({ sdp: 'v=0\r\nm=audio 5000 RTP/AVP 0' });
  });
});

describe('malformed', () => {
  test('keep-alives', () => {
    expect(isKeepAlive(Buffer.from('\r\n\r\n'))).toBe(true);
    expect(isKeepAlive(Buffer.from('x'))).toBe(false);
  });

  test('rawBadRequest copies Via/From/To/Call-ID/CSeq and adds a To tag', () => {
    const raw = Buffer.from(
      'INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4:5060;branch=z9hG4bKx\r\nv: SIP/2.0/UDP p;branch=z9hG4bKy\r\n' +
        'f: <sip:a@b>;tag=1\r\nTo: <sip:1@h>\r\ni: abc\r\nCSeq: 1 INVITE\r\nthis line is broken\r\nContent-Length: 99\r\n\r\nv=0',
    );
    const rs = rawBadRequest(raw)!;
    expect(rs).toMatch(/^SIP\/2\.0 400 Bad Request\r\n/);
    expect(rs).toContain('Via: SIP/2.0/UDP 1.2.3.4:5060;branch=z9hG4bKx\r\nVia: SIP/2.0/UDP p;branch=z9hG4bKy\r\n');
    expect(rs).toMatch(/To: <sip:1@h>;tag=[0-9a-f]+\r\n/);
    expect(rs).toContain('Call-ID: abc\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n');
  });

  test('rawBadRequest: nothing for responses, ACK, garbage, or a request without Call-ID', () => {
    expect(rawBadRequest(Buffer.from('SIP/2.0 200 OK\r\nVia: x\r\n\r\n'))).toBeNull();
    expect(rawBadRequest(Buffer.from('ACK sip:a@b SIP/2.0\r\nVia: x\r\nFrom: a\r\nTo: b\r\nCall-ID: c\r\nCSeq: 1 ACK\r\n\r\n'))).toBeNull();
    expect(rawBadRequest(Buffer.from('\x00\xff garbage'))).toBeNull();
    expect(rawBadRequest(Buffer.from('INVITE sip:a@b SIP/2.0\r\nVia: x\r\nFrom: a\r\nTo: b\r\nCSeq: 1 INVITE\r\n\r\n'))).toBeNull();
  });
});
