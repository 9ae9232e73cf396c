/**
 * Reads the PEM files named in `notifications.mwi.tls` (paths relative to the directory file) for SIP over TLS.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, VaError } from '../errors';
import type { MwiSettings } from './mwi-service';

/** PEM contents for a TLS client. */
export interface TlsMaterial {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
}

/**
 * Loads the certificate, key and CA files.
 * @param tls the `notifications.mwi.tls` section, or undefined (then: no client certificate, the system's CAs)
 * @param configPath the directory file (relative paths are resolved from its folder)
 * @throws VaError VA_ERR_CONFIG_INVALID naming the key and the file when one cannot be read, or when only one of
 *   certFile and keyFile is given
 */
export function readTlsMaterial(tls: MwiSettings['tls'], configPath: string): TlsMaterial {
  if (!tls) return {};
  const base = path.dirname(configPath);
  const read = (key: 'certFile' | 'keyFile' | 'caFile'): Buffer | undefined => {
    const file = tls[key];
    if (!file) return undefined;
    const full = path.resolve(base, file);
    try {
      return readFileSync(full);
    } catch (err) {
      throw new VaError(ErrorCodes.CONFIG_INVALID, `notifications.mwi.tls.${key}: cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
        cause: err,
      });
    }
  };
  if (!!tls.certFile !== !!tls.keyFile) {
    throw new VaError(ErrorCodes.CONFIG_INVALID, `notifications.mwi.tls: certFile and keyFile go together (${tls.certFile ? 'keyFile' : 'certFile'} is missing)`);
  }
  return { cert: read('certFile'), key: read('keyFile'), ca: read('caFile') };
}
