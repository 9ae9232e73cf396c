/**
 * The frame finder of the guard on drachtio-srf's wire protocol (`src/sip/drachtio/wire-guard.ts`): where reading
 * resumes after a broken frame. The guard itself runs through the real drachtio-srf in `real-srf.wire.test.ts`.
 */
import { nextFrameStart } from '../../../src/sip/drachtio/wire-guard';

const ID = '7176f3b3-1f90-4d0d-bbc5-4f69d234d309';

describe('nextFrameStart', () => {
  test('a header at the start of the buffer or of a line; the length, #, a message id, | and a type, |', () => {
    expect(nextFrameStart(Buffer.from(`1047#${ID}|sip|network|...`), 0)).toBe(0);
    const tail = 'a=ptime:20\r\n';
    expect(nextFrameStart(Buffer.from(`${tail}1047#${ID}|sip|network|`), 1)).toBe(tail.length);
    expect(nextFrameStart(Buffer.from(`${tail}88#${ID}|response|${ID}|OK|`), 0)).toBe(tail.length);
  });

  test('not inside a line, not from before `from`, and not without the id and type', () => {
    // Digits and # inside a message (a SIP header, a URI) are not a frame.
    expect(nextFrameStart(Buffer.from(`X-Note: 12#${ID}|sip|\r\n`), 0)).toBe(-1);
    expect(nextFrameStart(Buffer.from(`1047#${ID}|sip|`), 1)).toBe(-1);
    expect(nextFrameStart(Buffer.from('\r\n1047#not an id|sip|'), 0)).toBe(-1);
    expect(nextFrameStart(Buffer.from(`\r\n1047#${ID}|`), 0)).toBe(-1);
    expect(nextFrameStart(Buffer.alloc(0), 0)).toBe(-1);
  });

  test('byte offsets, also after multi-byte text', () => {
    const before = Buffer.from('Subject: café ☎\r\n', 'utf8');
    const buf = Buffer.concat([before, Buffer.from(`12#${ID}|sip|`)]);
    expect(nextFrameStart(buf, 0)).toBe(before.length);
  });
});
