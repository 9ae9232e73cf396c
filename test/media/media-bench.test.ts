import { measureMedia } from '../../bench/media-bench';

jest.setTimeout(30_000);

it('the media benchmark runs (smoke: 10 sessions for 1 s, every packet reaches the sink)', async () => {
  const r = await measureMedia(10, 1);
  expect(r.packetsSent).toBeGreaterThan(200);
  expect(r.packetsReceived).toBe(r.packetsSent);
  expect(r.tick.ticks).toBeGreaterThan(20);
  expect(r.sendIntervalP99DeviationMs).toBeGreaterThanOrEqual(0);
});
