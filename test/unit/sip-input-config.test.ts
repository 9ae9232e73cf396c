/**
 * The directory file's `sip.limits` and `sip.floodLimit` (issue 19, "SIP input"): their defaults, and a bad value
 * named by its key.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { loadDirectory, parseDirectory } from '../../src/config/load';
import { isVaError } from '../../src/errors';
import { DEFAULT_MESSAGE_LIMITS } from '../../src/sip/embedded/message-limits';
import { ROOT } from '../helpers';

function errorOf(sip: unknown): string {
  const d = parse(readFileSync(path.join(ROOT, 'config', 'contoso.yaml'), 'utf8'));
  d.sip = sip;
  try {
    parseDirectory(stringify(d), 'test.yaml');
  } catch (err) {
    expect(isVaError(err, 'VA_ERR_CONFIG_INVALID')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected the directory to be refused');
}

test('defaults: 64 KB, 256 header fields, 8 KB per field (the embedded server defaults too); flood limit on', () => {
  const { sip } = loadDirectory().directory;
  expect(sip.limits).toEqual({ maxMessageBytes: 65_536, maxHeaders: 256, maxHeaderLineBytes: 8192 });
  expect(sip.limits).toEqual({ ...DEFAULT_MESSAGE_LIMITS });
  expect(sip.floodLimit).toEqual({ enabled: true, requests: 50, windowMs: 1000, blockMs: 60_000, gatewayRequests: 20_000 });
});

test('a partial setting keeps the other defaults; a bad one is named by its key', () => {
  const d = parse(readFileSync(path.join(ROOT, 'config', 'contoso.yaml'), 'utf8'));
  d.sip = { limits: { maxHeaders: 100 }, floodLimit: { enabled: false } };
  const dir = parseDirectory(stringify(d), 'test.yaml');
  expect(dir.sip.limits).toEqual({ maxMessageBytes: 65_536, maxHeaders: 100, maxHeaderLineBytes: 8192 });
  expect(dir.sip.floodLimit.enabled).toBe(false);
  expect(errorOf({ limits: { maxMessageBytes: 100 } })).toMatch(/sip\.limits\.maxMessageBytes/);
  expect(errorOf({ limits: { maxHeaderLines: 10 } })).toMatch(/sip\.limits/);
  expect(errorOf({ floodLimit: { requests: 0 } })).toMatch(/sip\.floodLimit\.requests/);
  expect(errorOf({ floodLimit: { windowMs: 'often' } })).toMatch(/sip\.floodLimit\.windowMs/);
});
