/**
 * The HTTP API's resources, each one cmdlet (issue 21): the route runs the cmdlet's own code with the cmdlet's own
 * parameter specs (validation, error codes), writes changes to the admin audit log as the key's name, and answers
 * with the cmdlet's output objects (PascalCase, as the cmdlets print them with `--json`). One table feeds fastify and
 * `/openapi.json` (`openapi.ts`), so the document cannot drift from what is served.
 */
import { findCmdlet, type Cmdlet } from '../admin/cmdlets';
import type { ParamSpec } from '../admin/ps-params';
import type { Right } from './access';

/** One resource of the API, served by one cmdlet. */
export interface CmdletRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** OpenAPI style: `/api/mailboxes/{identity}/pin`; `{identity}` is the cmdlet's -Identity. */
  path: string;
  /** One line for the OpenAPI document. */
  summary: string;
  /** The right the key's role needs (`access.ts`). */
  right: Right;
  /** The cmdlet that does the work. */
  cmdlet: string;
  /** Where the cmdlet's other parameters come from: the query string (reads) or a JSON body (changes). */
  params: 'query' | 'body' | 'none';
  /** Answers with the first output object (one resource) rather than the list. */
  single?: boolean;
  /** Answers 201 Created rather than 200. */
  created?: boolean;
  /** The path's other placeholders (`{id}`), each the cmdlet parameter it fills: `{ id: 'MessageId' }`. */
  pathParams?: Readonly<Record<string, string>>;
}

/** The resources served today; see docs/admin-center.md for what issue 21 still asks. */
export const CMDLET_ROUTES: readonly CmdletRoute[] = [
  { method: 'GET', path: '/api/mailboxes', summary: 'UM-enabled mailboxes (Get-UMMailbox)', right: 'read', cmdlet: 'Get-UMMailbox', params: 'none' },
  { method: 'GET', path: '/api/mailboxes/{identity}', summary: 'One UM-enabled mailbox (Get-UMMailbox -Identity)', right: 'read', cmdlet: 'Get-UMMailbox', params: 'none', single: true },
  {
    method: 'POST',
    path: '/api/mailboxes',
    summary: 'UM-enables a mailbox: Identity, Extensions, UMMailboxPolicy; the PIN (given or generated) is mailed, never in this response (Enable-UMMailbox)',
    right: 'um',
    cmdlet: 'Enable-UMMailbox',
    params: 'body',
    single: true,
    created: true,
  },
  { method: 'PATCH', path: '/api/mailboxes/{identity}', summary: "Changes a mailbox's UM settings: the parameters given (Set-UMMailbox)", right: 'um', cmdlet: 'Set-UMMailbox', params: 'body', single: true },
  { method: 'DELETE', path: '/api/mailboxes/{identity}', summary: 'Removes Unified Messaging from a mailbox; its voice messages stay (Disable-UMMailbox)', right: 'um', cmdlet: 'Disable-UMMailbox', params: 'none' },
  { method: 'GET', path: '/api/pins', summary: "Every mailbox's PIN state: expired, first-time user, locked out (Get-UMMailboxPIN); never a PIN", right: 'read', cmdlet: 'Get-UMMailboxPIN', params: 'none' },
  { method: 'GET', path: '/api/mailboxes/{identity}/pin', summary: "A mailbox's PIN state (Get-UMMailboxPIN); never the PIN", right: 'read', cmdlet: 'Get-UMMailboxPIN', params: 'none', single: true },
  {
    method: 'POST',
    path: '/api/mailboxes/{identity}/pin',
    summary:
      'Resets the PIN (given in Pin, or generated per the policy), PinExpired true by default, unlocks (or locks with LockedOut true alone), and mails it unless SendEmail is false: then a generated PIN is in this response, once (Set-UMMailboxPIN)',
    right: 'um',
    cmdlet: 'Set-UMMailboxPIN',
    params: 'body',
    single: true,
  },
  { method: 'GET', path: '/api/mailboxes/{identity}/messages', summary: "A mailbox's voice messages, unheard first (Get-VoiceMessage)", right: 'read', cmdlet: 'Get-VoiceMessage', params: 'none' },
  {
    method: 'DELETE',
    path: '/api/mailboxes/{identity}/messages/{id}',
    summary: "Deletes a voice message and its audio; the mailbox's lamp follows (Remove-VoiceMessage)",
    right: 'um',
    cmdlet: 'Remove-VoiceMessage',
    params: 'none',
    pathParams: { id: 'MessageId' },
  },
  { method: 'GET', path: '/api/policies', summary: 'UM mailbox policies (Get-UMMailboxPolicy)', right: 'read', cmdlet: 'Get-UMMailboxPolicy', params: 'none' },
  { method: 'GET', path: '/api/policies/{identity}', summary: 'One UM mailbox policy (Get-UMMailboxPolicy -Identity)', right: 'read', cmdlet: 'Get-UMMailboxPolicy', params: 'none', single: true },
  { method: 'PATCH', path: '/api/policies/{identity}', summary: 'Changes a UM mailbox policy: the parameters given (Set-UMMailboxPolicy)', right: 'um', cmdlet: 'Set-UMMailboxPolicy', params: 'body', single: true },
  { method: 'GET', path: '/api/dialplans', summary: 'UM dial plans (Get-UMDialPlan)', right: 'read', cmdlet: 'Get-UMDialPlan', params: 'none' },
  { method: 'PATCH', path: '/api/dialplans/{identity}', summary: 'Changes a UM dial plan (Set-UMDialPlan)', right: 'um', cmdlet: 'Set-UMDialPlan', params: 'body', single: true },
  { method: 'GET', path: '/api/gateways', summary: 'UM IP gateways in failover order (Get-UMIPGateway)', right: 'read', cmdlet: 'Get-UMIPGateway', params: 'none' },
  { method: 'POST', path: '/api/gateways', summary: 'Adds a UM IP gateway (New-UMIPGateway)', right: 'um', cmdlet: 'New-UMIPGateway', params: 'body', single: true, created: true },
  { method: 'PATCH', path: '/api/gateways/{identity}', summary: 'Changes a UM IP gateway: address, port, MWI, Status Enabled | Disabled | NoNewCalls (Set-UMIPGateway)', right: 'um', cmdlet: 'Set-UMIPGateway', params: 'body', single: true },
  { method: 'DELETE', path: '/api/gateways/{identity}', summary: 'Removes a UM IP gateway (Remove-UMIPGateway)', right: 'um', cmdlet: 'Remove-UMIPGateway', params: 'none' },
  { method: 'GET', path: '/api/conferencing/users', summary: 'Dial-in conferencing users, leader PINs masked (Get-CsOnlineDialInConferencingUser)', right: 'read', cmdlet: 'Get-CsOnlineDialInConferencingUser', params: 'none' },
  {
    method: 'PATCH',
    path: '/api/conferencing/users/{identity}',
    summary: 'Resets the leader PIN (ResetLeaderPIN: the new PIN is in this response, once, and masked everywhere else) or changes AllowPSTNOnlyMeetings (Set-CsOnlineDialInConferencingUser)',
    right: 'conferencing',
    cmdlet: 'Set-CsOnlineDialInConferencingUser',
    params: 'body',
    single: true,
  },
  { method: 'GET', path: '/api/conferencing/settings', summary: 'Tenant dial-in conferencing settings (Get-CsOnlineDialInConferencingTenantSettings)', right: 'read', cmdlet: 'Get-CsOnlineDialInConferencingTenantSettings', params: 'none', single: true },
  { method: 'PATCH', path: '/api/conferencing/settings', summary: 'Changes tenant dial-in conferencing settings (Set-CsOnlineDialInConferencingTenantSettings)', right: 'conferencing', cmdlet: 'Set-CsOnlineDialInConferencingTenantSettings', params: 'body' },
  { method: 'GET', path: '/api/audit', summary: 'The admin audit log, newest first (Search-AdminAuditLog)', right: 'organization', cmdlet: 'Search-AdminAuditLog', params: 'query' },
  { method: 'GET', path: '/api/keys', summary: 'API keys: name, role, when made and last used; never a key (Get-VaApiKey)', right: 'organization', cmdlet: 'Get-VaApiKey', params: 'none' },
  { method: 'POST', path: '/api/keys', summary: 'Makes an API key; the key is in this response, once (New-VaApiKey)', right: 'organization', cmdlet: 'New-VaApiKey', params: 'body', single: true, created: true },
  { method: 'DELETE', path: '/api/keys/{identity}', summary: 'Removes an API key (Remove-VaApiKey)', right: 'organization', cmdlet: 'Remove-VaApiKey', params: 'none' },
];

/** A route with its cmdlet and the specs of its path, query and body parameters. */
export interface ResolvedRoute extends CmdletRoute {
  run: Cmdlet;
  /** The -Identity spec when the path has `{identity}`. */
  identity?: ParamSpec;
  /** The parameters read from the query string or the body (without those in the path). */
  specs: ParamSpec[];
  /** The specs of {@link CmdletRoute.pathParams}, by placeholder. */
  pathSpecs: Array<{ placeholder: string; spec: ParamSpec }>;
}

/** The route table with each route's cmdlet. @throws Error when a route names no cmdlet (a programming error) */
export function resolveRoutes(routes: readonly CmdletRoute[] = CMDLET_ROUTES): ResolvedRoute[] {
  return routes.map((r) => {
    const run = findCmdlet(r.cmdlet);
    if (!run) throw new Error(`route ${r.method} ${r.path}: no cmdlet ${r.cmdlet}`);
    const inPath = r.path.includes('{identity}');
    const identity = inPath ? run.params.find((p) => p.name === 'Identity') : undefined;
    const pathSpecs = Object.entries(r.pathParams ?? {}).map(([placeholder, name]) => {
      const spec = run.params.find((p) => p.name === name);
      if (!spec || !r.path.includes(`{${placeholder}}`)) throw new Error(`route ${r.method} ${r.path}: {${placeholder}} is no parameter ${name} of ${r.cmdlet}`);
      return { placeholder, spec };
    });
    const inPathNames = new Set([...(inPath ? ['Identity'] : []), ...pathSpecs.map((p) => p.spec.name)]);
    const specs = r.params === 'none' ? [] : run.params.filter((p) => !inPathNames.has(p.name));
    return { ...r, run, identity, specs, pathSpecs };
  });
}

/** The fastify form of an OpenAPI path: `/api/mailboxes/:identity/pin`. */
export function fastifyPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}
