import { runConferenceBench } from '../../bench/conference-bench';

it('the conference benchmark runs (smoke: meetings of 3 and 20, a few hundred frames) and prints its figures', () => {
  const log = jest.spyOn(console, 'log').mockImplementation(() => {});
  try {
    const r = runConferenceBench([3, 20], 200);
    expect(r.map((x) => x.participants)).toEqual([3, 20]);
    for (const x of r) {
      expect(x.mixUsPerFrame).toBeGreaterThan(0);
      expect(x.referenceUsPerFrame).toBeGreaterThan(0);
      expect(x.ratio).toBeCloseTo(x.mixUsPerFrame / x.referenceUsPerFrame, 6);
      expect(x.budgetPercent).toBeLessThan(100); // a meeting of 20 mixes in far less than its 20 ms frame
    }
    expect(log.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/20 participants: .* µs per frame .* ratio/);
  } finally {
    log.mockRestore();
  }
});
