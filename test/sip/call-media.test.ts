/**
 * CallMedia.open gives the RTP session back whenever no call will own it: an offer it cannot answer (null, 488) and a
 * session that refuses the remote media (the error propagates: 500). A fake engine stands in for the RTP engine.
 */
import { CallMedia } from '../../src/sip/call-media';
import type { MediaEngine } from '../../src/media/media-engine';
import * as offers from './helpers/offers';

function fakeEngine(setRemote: () => void) {
  const session = { localPort: 40000, closed: 0, setRemote, setSending: () => {}, close() { this.closed++; } };
  const media = { openSession: async () => session } as unknown as MediaEngine;
  return { media, session };
}

test('an offer without usable audio: null, and the session is closed', async () => {
  const { media, session } = fakeEngine(() => {});
  await expect(CallMedia.open(media, '127.0.0.1', offers.NO_G711)).resolves.toBeNull();
  expect(session.closed).toBe(1);
});

test('a session that refuses the remote media: the error propagates and the session is closed', async () => {
  const { media, session } = fakeEngine(() => {
    throw new Error('refused');
  });
  await expect(CallMedia.open(media, '127.0.0.1', offers.SIPP_DEFAULT)).rejects.toThrow('refused');
  expect(session.closed).toBe(1);
});

test('a usable offer: the call owns the session (not closed)', async () => {
  const { media, session } = fakeEngine(() => {});
  const cm = await CallMedia.open(media, '127.0.0.1', offers.SIPP_DEFAULT);
  expect(cm?.answer).toContain('m=audio 40000 RTP/AVP 0');
  expect(session.closed).toBe(0);
});
