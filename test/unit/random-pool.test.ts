import { randomHex, randomU32 } from '../../src/util/random-pool';

describe('random pool', () => {
  test('hex strings have two characters a byte and differ', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const h = randomHex(6);
      expect(h).toMatch(/^[0-9a-f]{12}$/);
      seen.add(h);
    }
    expect(seen.size).toBe(2000);
  });

  test('32-bit values cover the range and go on past a refill of the pool', () => {
    const values = Array.from({ length: 5000 }, () => randomU32()); // 20,000 bytes: several refills
    expect(values.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff)).toBe(true);
    expect(new Set(values).size).toBeGreaterThan(4990);
    expect(values.some((v) => v > 0x80000000)).toBe(true);
    expect(values.some((v) => v < 0x80000000)).toBe(true);
  });

  test('sizes outside 1..256 bytes are refused', () => {
    expect(() => randomHex(0)).toThrow(RangeError);
    expect(() => randomHex(257)).toThrow(RangeError);
  });
});
