/**
 * The roles of the HTTP API's keys (issue 21, docs/admin-center.md), after Exchange's RBAC role groups: View-Only
 * reads; UM Management does the UM actions (mailbox PIN, policies, dial plans, gateways); Audio Conferencing
 * Administrator does conferencing; Organization Management does everything, keys and the audit log included. What
 * each may do is `http/access.ts`'s table.
 */
export const ADMIN_ROLES = ['View-Only', 'UM Management', 'Audio Conferencing Administrator', 'Organization Management'] as const;

/** One of {@link ADMIN_ROLES}. */
export type AdminRole = (typeof ADMIN_ROLES)[number];
