/**
 * Who may do what through the HTTP API (issue 21): each request carries an API key (`Authorization: Bearer va_...`,
 * made by `New-VaApiKey`), whose role grants rights after Exchange's RBAC role groups:
 *
 * | role | rights |
 * | --- | --- |
 * | View-Only | `read`: lists, PIN status (never a PIN), metrics |
 * | UM Management | `read`, `um`: mailbox PIN, policy, dial plan, gateway, voice message actions |
 * | Audio Conferencing Administrator | `read`, `conferencing`: conferencing users and tenant settings |
 * | Organization Management | every right, `organization` included: keys and the audit log |
 *
 * The key is never logged: a refusal is logged with the address, the route and the code only.
 */
import type { AdminRole, ApiKey } from '../ports/store/admin';
import type { Store } from '../ports/store';
import { apiKeyHash } from '../admin/admin-cmdlets';
import { ErrorCodes, VaError } from '../errors';

/** A right a route needs. */
export type Right = 'read' | 'um' | 'conferencing' | 'organization';

/** The rights of each role. */
export const ROLE_RIGHTS: Readonly<Record<AdminRole, readonly Right[]>> = {
  'View-Only': ['read'],
  'UM Management': ['read', 'um'],
  'Audio Conferencing Administrator': ['read', 'conferencing'],
  'Organization Management': ['read', 'um', 'conferencing', 'organization'],
};

/**
 * The key of an `Authorization` header, checked against the store; its last use is recorded.
 * @throws VaError VA_ERR_HTTP_UNAUTHORIZED (no header, not Bearer, unknown key)
 */
export async function authenticate(store: Pick<Store, 'admin' | 'now'>, authorization: string | undefined): Promise<ApiKey> {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m) throw new VaError(ErrorCodes.HTTP_UNAUTHORIZED, 'an API key is needed: Authorization: Bearer <key> (New-VaApiKey makes one)');
  const key = await store.admin.findApiKeyByHash(apiKeyHash(m[1]));
  if (!key) throw new VaError(ErrorCodes.HTTP_UNAUTHORIZED, 'the API key is not known (removed or mistyped)');
  await store.admin.touchApiKey(key.id, store.now());
  return key;
}

/**
 * Checks that a key's role has a right.
 * @throws VaError VA_ERR_HTTP_FORBIDDEN naming the role and the right
 */
export function authorize(key: ApiKey, right: Right): void {
  if (!ROLE_RIGHTS[key.role]?.includes(right)) {
    throw new VaError(ErrorCodes.HTTP_FORBIDDEN, `the role ${key.role} of the key "${key.name}" does not allow this (it needs the ${right} right)`);
  }
}
