/**
 * PIN hashing: salted scrypt (RFC 7914) through node:crypto. The seed says "the PIN is encrypted and stored in the
 * mailbox" (seeds 000/002); we keep only a one-way hash, so no PIN can be read back from the store. The encoded form
 * carries its own parameters, so hashes made with another cost still verify:
 * `scrypt$<log2 N>$<r>$<p>$<salt base64>$<hash base64>`.
 */
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;

/** Below this cost a hash takes microseconds: computing it inline beats a round trip through the thread pool. */
const INLINE_BELOW_LOG2N = 10;

function derive(pin: string, salt: Buffer, log2N: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** log2N;
  if (log2N < INLINE_BELOW_LOG2N) return Promise.resolve(scryptSync(pin, salt, KEY_LENGTH, { N, r, p }));
  return new Promise((resolve, reject) =>
    scrypt(pin, salt, KEY_LENGTH, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/**
 * Hashes a PIN with a fresh random salt.
 * @param pin the PIN digits; @param log2N scrypt cost as log2 of N (14 = 16384, ~30 ms here)
 * @returns the encoded hash
 */
export async function hashPin(pin: string, log2N = 14): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(pin, salt, log2N, BLOCK_SIZE, PARALLELISM);
  return `scrypt$${log2N}$${BLOCK_SIZE}$${PARALLELISM}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * Checks a PIN against an encoded hash in constant time. A malformed hash never matches.
 * @returns true when the PIN produced the hash
 */
export async function verifyPin(pin: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [log2N, r, p] = parts.slice(1, 4).map(Number);
  if (![log2N, r, p].every((n) => Number.isInteger(n) && n > 0) || log2N > 22) return false;
  const salt = Buffer.from(parts[4], 'base64');
  const expected = Buffer.from(parts[5], 'base64');
  const key = await derive(pin, salt, log2N, r, p);
  return key.length === expected.length && timingSafeEqual(key, expected);
}
