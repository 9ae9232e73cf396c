/**
 * Loading the directory file: YAML -> zod-validated {@link Directory}. Every failure names the file, the key path
 * (`mailboxPolicies[0].minPinLength`) and the rule broken, and never echoes a PIN value.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import * as path from 'node:path';
import type { z } from 'zod';
import { ErrorCodes, VaError } from '../errors';
import { parseYamlData } from '../util/yaml';
import { DirectorySchema, type Directory } from './schema';

/**
 * The built-in demo organisation (`config/contoso.yaml`), used when no `--config` is given; found whether running
 * from `src/` (ts-jest) or `dist/src/` (compiled).
 */
export function defaultConfigPath(): string {
  const candidates = [
    path.resolve(__dirname, '..', '..', 'config', 'contoso.yaml'),
    path.resolve(__dirname, '..', '..', '..', 'config', 'contoso.yaml'),
  ];
  for (const c of candidates) {
    try {
      readFileSync(c);
      return c;
    } catch {
      /* try the next */
    }
  }
  return candidates[0];
}

/** Formats a zod issue path as `a.b[0].c`. */
export function formatPath(p: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of p) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out || '(top level)';
}

/** Turns zod issues into one readable message: one line per issue, `path: rule`. Values are never echoed. */
export function describeIssues(issues: ReadonlyArray<z.core.$ZodIssue>): string {
  return issues.map((i) => `${formatPath(i.path)}: ${issueMessage(i)}`).join('\n');
}

function issueMessage(i: z.core.$ZodIssue): string {
  if (i.code === 'unrecognized_keys') return `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`;
  if (i.code === 'invalid_type' && /received undefined/.test(i.message)) return `is required (${i.expected})`;
  return i.message;
}

/**
 * Parses and validates directory YAML text.
 * @param text the YAML source
 * @param source a name for messages (the file path)
 * @throws VaError VA_ERR_CONFIG_INVALID with every problem, each with its key path
 */
export function parseDirectory(text: string, source = 'directory'): Directory {
  const yaml = parseYamlData(text);
  if (!yaml.ok) throw new VaError(ErrorCodes.CONFIG_INVALID, `${source}: not valid YAML: ${yaml.message}`);
  const result = DirectorySchema.safeParse(yaml.value ?? {});
  if (!result.success) {
    throw new VaError(ErrorCodes.CONFIG_INVALID, `${source}: invalid directory\n${describeIssues(result.error.issues)}`);
  }
  const problems = result.data.gateways.flatMap((g, i) => {
    const why = gatewayAddressProblem(g.address);
    return why ? [`gateways[${i}].address: ${why} (UM IP gateway ${g.name})`] : [];
  });
  if (problems.length) throw new VaError(ErrorCodes.CONFIG_INVALID, `${source}: invalid directory\n${problems.join('\n')}`);
  return result.data;
}

const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * Whether a UM IP gateway address can be one: an IP address (IPv4, or IPv6 without brackets) or a syntactically
 * valid host name: labels of letters, digits and hyphens, 1-63 characters, neither starting nor ending with a
 * hyphen (RFC 1123 §2.1), 253 characters at most, one trailing dot allowed, and a last label that is not all digits
 * (RFC 3696 §2), so that a mistyped IPv4 address such as `10.0.0.256` is not taken for a name.
 * Whether a name resolves is not checked here: loading the directory file is synchronous and must not depend on
 * the DNS at that instant; New-/Set-UMIPGateway and Import-Directory look names up (`admin/gateway-address.ts`).
 * @param address the address as written (`Address` of New-UMIPGateway [D-NGW], `gateways[].address`)
 * @returns why it is not an address, for a message naming the key or parameter, or null when it is one
 */
export function gatewayAddressProblem(address: string): string | null {
  if (isIP(address) !== 0) return null;
  const bad = `"${address}" is neither an IP address nor a host name`;
  if (/^\[.*\]$/.test(address) && isIP(address.slice(1, -1)) === 6) return `${bad} (write an IPv6 address without brackets)`;
  const name = address.endsWith('.') ? address.slice(0, -1) : address;
  if (name.length === 0 || name.length > 253) return bad;
  const labels = name.split('.');
  if (!labels.every((l) => HOST_LABEL.test(l))) return bad;
  if (/^[0-9]+$/.test(labels[labels.length - 1])) return bad;
  return null;
}

/**
 * Reads and validates a directory file.
 * @param file path to the YAML file; the built-in demo directory when undefined
 * @throws VaError VA_ERR_CONFIG_NOT_FOUND when unreadable; VA_ERR_CONFIG_INVALID when invalid
 */
export function loadDirectory(file?: string): { directory: Directory; path: string } {
  const p = path.resolve(file ?? defaultConfigPath());
  let text: string;
  try {
    text = readFileSync(p, 'utf8');
  } catch (err) {
    throw new VaError(ErrorCodes.CONFIG_NOT_FOUND, `cannot read the directory file ${p}: ${(err as NodeJS.ErrnoException).code ?? err}`, { cause: err });
  }
  return { directory: parseDirectory(text, p), path: p };
}
