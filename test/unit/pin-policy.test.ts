import {
  checkPin,
  generatePin,
  isExtensionTail,
  isPinExpired,
  isRepeatedDigit,
  isSequentialRun,
  MAX_PIN_LENGTH,
  DAY_MS,
} from '../../src/domain/pin-policy';

const strict = { minPinLength: 6, allowCommonPatterns: false };
const lax = { minPinLength: 6, allowCommonPatterns: true };

describe('checkPin: length (MinPINLength 4-24, [D-POL])', () => {
  it('refuses one digit below the minimum and accepts the minimum', () => {
    expect(checkPin('58204', strict, '51234')?.rule).toBe('too-short');
    expect(checkPin('582047', strict, '51234')).toBeNull();
  });
  it('works at the range ends: 4 and 24', () => {
    expect(checkPin('582', { minPinLength: 4, allowCommonPatterns: false })?.rule).toBe('too-short');
    expect(checkPin('5820', { minPinLength: 4, allowCommonPatterns: false })).toBeNull();
    const long = '58204719365820471936582'; // 23 digits
    expect(checkPin(long, { minPinLength: 24, allowCommonPatterns: false })?.rule).toBe('too-short');
    expect(checkPin(long + '4', { minPinLength: 24, allowCommonPatterns: false })).toBeNull();
  });
  it(`refuses more than ${MAX_PIN_LENGTH} digits`, () => {
    expect(checkPin('5820471936582047193658204', strict)?.rule).toBe('too-long');
  });
  it('refuses anything but digits', () => {
    expect(checkPin('58204a', strict)?.rule).toBe('not-digits');
    expect(checkPin('58204*', strict)?.rule).toBe('not-digits');
    expect(checkPin('', strict)?.rule).toBe('not-digits');
  });
  it('says which rule in words, and never includes the PIN', () => {
    const v = checkPin('123456', strict)!;
    expect(v.message).toMatch(/consecutive|repeated/);
    expect(v.message).not.toContain('123456');
  });
});

describe('checkPin: common patterns (AllowCommonPatterns, [E-PINSEC])', () => {
  it.each(['123456', '654321', '456789', '987654', '012345', '111111', '000000'])('refuses %s when not allowed', (pin) => {
    expect(checkPin(pin, strict)?.rule).toBe('common-pattern');
  });
  it.each(['123456', '654321', '111111'])('accepts %s when allowed', (pin) => {
    expect(checkPin(pin, lax)).toBeNull();
  });
  it.each(['123457', '112233', '121212', '135791', '901234'])('accepts near-patterns %s', (pin) => {
    expect(checkPin(pin, strict)).toBeNull();
  });
  it('detects runs and repeats exactly', () => {
    expect(isSequentialRun('8901')).toBe(false); // no wrap-around
    expect(isSequentialRun('3210')).toBe(true);
    expect(isSequentialRun('1')).toBe(false);
    expect(isRepeatedDigit('7777')).toBe(true);
    expect(isRepeatedDigit('7776')).toBe(false);
  });
});

describe('checkPin: the extension tail (both settings)', () => {
  it('refuses a PIN ending with the extension, allowed patterns or not', () => {
    expect(checkPin('951234', strict, '51234')?.rule).toBe('extension-tail');
    expect(checkPin('951234', lax, '51234')?.rule).toBe('extension-tail');
  });
  it("refuses the extension's last 4+ digits (ext 36697 -> 6697, the doc's example)", () => {
    expect(isExtensionTail('6697', '36697')).toBe(true);
    expect(checkPin('6697', { minPinLength: 4, allowCommonPatterns: true }, '36697')?.rule).toBe('extension-tail');
    expect(isExtensionTail('697', '36697')).toBe(false);
    expect(isExtensionTail('6698', '36697')).toBe(false);
  });
  it('accepts a PIN that only contains the extension elsewhere', () => {
    expect(checkPin('512349', strict, '51234')).toBeNull();
  });
  it('checks patterns before the tail (the order is stable)', () => {
    expect(checkPin('111111', strict, '11111')?.rule).toBe('common-pattern');
  });
});

describe('generatePin', () => {
  it('always satisfies the policy, at the minimum length', () => {
    for (let i = 0; i < 500; i++) {
      const pin = generatePin({ minPinLength: 4, allowCommonPatterns: false }, '1234');
      expect(pin).toHaveLength(4);
      expect(checkPin(pin, { minPinLength: 4, allowCommonPatterns: false }, '1234')).toBeNull();
    }
  });
  it('respects an avoid predicate', () => {
    const seen = new Set<string>();
    const pin = generatePin(strict, '51234', (p) => {
      seen.add(p);
      return seen.size < 3;
    });
    expect(seen.size).toBe(3);
    expect(pin).toMatch(/^\d{6}$/);
  });
  it('is random: 200 PINs are nearly all distinct', () => {
    const pins = new Set(Array.from({ length: 200 }, () => generatePin(strict)));
    expect(pins.size).toBeGreaterThan(195);
  });
});

describe('isPinExpired (PINLifetime, [D-POL])', () => {
  const set = Date.UTC(2026, 0, 1);
  it('expires exactly at the lifetime, not a millisecond before', () => {
    expect(isPinExpired(false, set, 60, set + 60 * DAY_MS - 1)).toBe(false);
    expect(isPinExpired(false, set, 60, set + 60 * DAY_MS)).toBe(true);
  });
  it('never expires with Unlimited', () => {
    expect(isPinExpired(false, set, 'Unlimited', set + 10_000 * DAY_MS)).toBe(false);
  });
  it('the PinExpired flag wins', () => {
    expect(isPinExpired(true, set, 'Unlimited', set)).toBe(true);
  });
});
