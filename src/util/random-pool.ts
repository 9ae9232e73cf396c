/**
 * Random numbers for per-call identifiers (RTP SSRC, sequence and timestamp bases, RFC 3550 §5.1; SIP tags, RFC 3261
 * §19.3), from node's CSPRNG through a pooled buffer: one `randomFillSync` of 4 KiB serves hundreds of calls,
 * where a `randomBytes` per value cost a native call and an allocation each (several per call on the call path).
 */
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;

/** Reserves `n` fresh bytes of the pool (refilled when spent). @returns the offset of the first */
function take(n: number): number {
  if (offset + n > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const at = offset;
  offset += n;
  return at;
}

/** A random unsigned 32-bit integer. */
export function randomU32(): number {
  return pool.readUInt32BE(take(4));
}

/**
 * `bytes` random bytes as lowercase hex (2 characters a byte).
 * @throws RangeError when `bytes` is not between 1 and 256
 */
export function randomHex(bytes: number): string {
  if (!(bytes >= 1 && bytes <= 256)) throw new RangeError(`randomHex: ${bytes} bytes`);
  const at = take(bytes);
  return pool.toString('hex', at, at + bytes);
}
