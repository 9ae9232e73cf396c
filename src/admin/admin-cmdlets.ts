/**
 * The cmdlets of the admin center (issue 21): API keys of the HTTP API (`New-VaApiKey`, `Get-VaApiKey`,
 * `Remove-VaApiKey`, our additions, after Exchange's RBAC role groups) and `Search-AdminAuditLog` (Exchange's name and
 * parameters: -Cmdlets, -StartDate, -EndDate, -ResultSize). Part of {@link CMDLETS} (`cmdlets.ts`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { ErrorCodes, VaError } from '../errors';
import { ADMIN_ROLES, type AdminRole } from '../domain/admin-roles';
import type { ApiKey } from '../ports/store/admin';
import type { Cmdlet } from './cmdlets';
import type { OutputObject } from './ps-format';
import type { ParamValues } from './ps-params';

/** The prefix of every API key, so a leaked one is recognisable (secret scanners, logs). */
export const API_KEY_PREFIX = 'va_';

/** A new API key: the prefix and 32 random bytes in base64url (43 characters). */
export function newApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * What the store keeps of a key: its SHA-256, hex. A fast hash is enough for 256 random bits (nothing to guess),
 * and a request finds its key by one indexed lookup (`ports/store/admin.ts`).
 */
export function apiKeyHash(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function apiKeyObject(k: ApiKey): OutputObject {
  return {
    Name: k.name,
    Role: k.role,
    WhenCreated: new Date(k.createdAt).toISOString(),
    LastUsed: k.lastUsedAt === null ? null : new Date(k.lastUsedAt).toISOString(),
  };
}

/**
 * A date parameter (-StartDate, -EndDate): an ISO 8601 date or date-time (a date alone is midnight UTC).
 * @returns ms; @throws VaError VA_ERR_CLI_PARAMETER naming the parameter
 */
function dateParam(p: ParamValues, name: string): number | undefined {
  const v = p[name];
  if (v === undefined || v === null) return undefined;
  const ms = Date.parse(String(v));
  if (Number.isNaN(ms)) throw new VaError(ErrorCodes.CLI_PARAMETER, `-${name}: "${String(v)}" is not a date (use ISO 8601, e.g. 2026-12-07 or 2026-12-07T12:00:00Z)`);
  return ms;
}

/** The admin center's cmdlets. */
export const ADMIN_CMDLETS: readonly Cmdlet[] = [
  {
    name: 'New-VaApiKey',
    synopsis: 'Makes a key of the HTTP API with a role; the key is printed once, only its hash is stored (our addition).',
    params: [
      { name: 'Name', type: { kind: 'string', maxLength: 64, pattern: /^[A-Za-z0-9][A-Za-z0-9 ._@-]*$/, patternText: 'letters, digits, space . _ @ -' }, required: true, position: 0, help: 'the key name (the audit log names it)' },
      { name: 'Role', type: { kind: 'enum', values: ADMIN_ROLES }, required: true, help: ADMIN_ROLES.join(' | ') },
    ],
    async run(ctx, p) {
      const key = newApiKey();
      const made = await ctx.store.admin.addApiKey({ name: p.Name as string, role: p.Role as AdminRole, keyHash: apiKeyHash(key), createdAt: ctx.store.now() });
      // The only place the key is ever shown: it is neither logged nor stored.
      return [{ ...apiKeyObject(made), Key: key }];
    },
  },
  {
    name: 'Get-VaApiKey',
    synopsis: 'The keys of the HTTP API: name, role, when made and last used (never a key) (our addition).',
    params: [],
    async run(ctx) {
      return (await ctx.store.admin.listApiKeys()).map(apiKeyObject);
    },
  },
  {
    name: 'Remove-VaApiKey',
    synopsis: 'Removes a key of the HTTP API: requests with it get 401 from then on (our addition).',
    params: [{ name: 'Identity', type: { kind: 'string' }, required: true, position: 0, help: 'the key name' }],
    async run(ctx, p) {
      await ctx.store.admin.removeApiKey(p.Identity as string);
      return [];
    },
  },
  {
    name: 'Search-AdminAuditLog',
    synopsis: 'The admin audit log: who changed what, when, from where, and whether it succeeded (never a PIN).',
    params: [
      { name: 'Cmdlets', type: { kind: 'stringList' }, help: 'only these cmdlets, e.g. Set-UMMailboxPIN,Set-UMMailboxPolicy' },
      { name: 'StartDate', type: { kind: 'string' }, help: 'from this date (ISO 8601)' },
      { name: 'EndDate', type: { kind: 'string' }, help: 'up to this date (ISO 8601)' },
      { name: 'ResultSize', type: { kind: 'int', min: 1, max: 250000 }, help: 'at most this many entries, newest first (default 1000)' },
    ],
    async run(ctx, p) {
      const entries = await ctx.store.admin.searchAuditLog({
        cmdlets: p.Cmdlets as string[] | undefined,
        startDate: dateParam(p, 'StartDate'),
        endDate: dateParam(p, 'EndDate'),
        resultSize: p.ResultSize as number | undefined,
      });
      return entries.map((e) => ({
        RunDate: new Date(e.at).toISOString(),
        Caller: e.who,
        ClientIP: e.address,
        CmdletName: e.action,
        ObjectModified: e.target,
        CmdletParameters: e.parameters as OutputObject[string],
        Succeeded: e.succeeded,
        Error: e.errorCode,
      }));
    },
  },
];
