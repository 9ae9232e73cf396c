/**
 * flood-limiter.ts on a virtual clock: N new requests per window per address, then a block period; gateways get
 * their own limit and no block beyond the window; retransmissions, ACKs and responses do not count.
 */
import { FREE_RETRANSMISSIONS, FloodLimiter, type FloodLimitOptions } from '../../src/sip/embedded/flood-limiter';

const OPTS: FloodLimitOptions = { requests: 5, windowMs: 1000, blockMs: 10_000, gatewayRequests: 50 };

function limiter(opts: Partial<FloodLimitOptions> = {}, gateways: string[] = ['127.0.0.1']) {
  let now = 1_000_000;
  const asked: string[] = [];
  const l = new FloodLimiter(
    { ...OPTS, ...opts },
    (a) => {
      asked.push(a);
      return gateways.includes(a);
    },
    () => now,
  );
  return {
    l,
    asked,
    gateways,
    advance: (ms: number) => (now += ms),
    /** `n` new requests (each its own branch); the verdicts. */
    burst: (address: string, n: number, prefix = 'b') => Array.from({ length: n }, (_, i) => l.check(address, 'request', `INVITE ${prefix}${i}`)),
  };
}

test('N new requests per window pass; the next is dropped and blocks the address (one "block" verdict) for blockMs', () => {
  const t = limiter();
  expect(t.burst('127.0.0.3', 5)).toEqual(Array(5).fill('pass'));
  expect(t.l.check('127.0.0.3', 'request', 'INVITE x')).toBe('block');
  expect(t.burst('127.0.0.3', 3, 'y')).toEqual(['drop', 'drop', 'drop']);
  expect(t.l.blocked('127.0.0.3')).toBe(true);
  // Responses and ACKs from a blocked address are dropped too.
  expect(t.l.check('127.0.0.3', 'response', null)).toBe('drop');
  t.advance(5000);
  expect(t.l.check('127.0.0.3', 'request', 'INVITE z')).toBe('drop');
  t.advance(5001);
  expect(t.l.blocked('127.0.0.3')).toBe(false);
  expect(t.burst('127.0.0.3', 5, 'w')).toEqual(Array(5).fill('pass'));
  // Another address has a budget of its own.
  expect(t.burst('127.0.0.4', 5)).toEqual(Array(5).fill('pass'));
});

test('the window slides: N per window, indefinitely, without a block', () => {
  const t = limiter();
  for (let w = 0; w < 20; w++) {
    expect(t.burst('127.0.0.3', 5, `w${w}-`)).toEqual(Array(5).fill('pass'));
    t.advance(1000);
  }
});

test('a UM IP gateway has gatewayRequests, and over it is dropped only until its window ends', () => {
  const t = limiter();
  expect(t.burst('127.0.0.1', 50).every((v) => v === 'pass')).toBe(true);
  expect(t.l.check('127.0.0.1', 'request', 'INVITE over')).toBe('block');
  expect(t.l.isGatewaySource('127.0.0.1')).toBe(true);
  t.advance(999);
  expect(t.l.check('127.0.0.1', 'request', 'INVITE still')).toBe('drop');
  t.advance(1);
  expect(t.l.check('127.0.0.1', 'request', 'INVITE next-window')).toBe('pass');
});

test('whether an address is a gateway is asked again at each window (a gateway added by a cmdlet counts)', () => {
  const t = limiter();
  t.burst('127.0.0.9', 5);
  expect(t.l.check('127.0.0.9', 'request', 'INVITE 6')).toBe('block');
  t.advance(10_001);
  t.gateways.push('127.0.0.9');
  expect(t.burst('127.0.0.9', 40, 'g').every((v) => v === 'pass')).toBe(true);
  expect(t.asked.filter((a) => a === '127.0.0.9').length).toBeGreaterThanOrEqual(2);
});

test('retransmissions of a counted transaction do not count (up to the RFC 3261 maximum); ACKs and responses do not count', () => {
  const t = limiter();
  expect(t.l.check('127.0.0.3', 'request', 'INVITE r1')).toBe('pass');
  for (let i = 0; i < FREE_RETRANSMISSIONS; i++) expect(t.l.check('127.0.0.3', 'request', 'INVITE r1')).toBe('pass');
  // A CANCEL shares the INVITE's branch but is another transaction.
  expect(t.l.check('127.0.0.3', 'request', 'CANCEL r1')).toBe('pass');
  for (let i = 0; i < 5; i++) expect(t.l.check('127.0.0.3', 'ack', null)).toBe('pass');
  for (let i = 0; i < 20; i++) expect(t.l.check('127.0.0.3', 'response', null)).toBe('pass');
  expect(t.burst('127.0.0.3', 3)).toEqual(['pass', 'pass', 'pass']);
  // Now 5 new ones were counted: the next new one is over.
  expect(t.l.check('127.0.0.3', 'request', 'INVITE r2')).toBe('block');
});

test('the same datagram replayed without end counts once it has come back more often than RFC 3261 ever sends it', () => {
  const t = limiter();
  const verdicts = Array.from({ length: 30 }, () => t.l.check('127.0.0.3', 'request', 'OPTIONS same'));
  expect(verdicts.slice(0, 1 + FREE_RETRANSMISSIONS).every((v) => v === 'pass')).toBe(true);
  expect(verdicts).toContain('block');
});

test('ACKs have an allowance of their own; requests without a branch always count', () => {
  const t = limiter();
  expect(Array.from({ length: 5 }, () => t.l.check('127.0.0.3', 'ack', null))).toEqual(Array(5).fill('pass'));
  expect(t.l.check('127.0.0.3', 'ack', null)).toBe('block');
  const u = limiter();
  expect(Array.from({ length: 6 }, () => u.l.check('127.0.0.5', 'request', null))).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'block']);
});

test('idle addresses are forgotten by sweep(); blocked ones are kept until their block ends', () => {
  const t = limiter();
  t.burst('127.0.0.3', 6);
  t.burst('127.0.0.4', 1);
  expect(t.l.size).toBe(2);
  t.advance(65_000);
  t.l.sweep();
  expect(t.l.size).toBe(0);
  const u = limiter({ blockMs: 600_000 });
  u.burst('127.0.0.3', 6);
  u.advance(65_000);
  u.l.sweep();
  expect(u.l.size).toBe(1);
  expect(u.l.blocked('127.0.0.3')).toBe(true);
});
