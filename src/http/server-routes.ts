/**
 * The running server over the HTTP API (issue 21): live calls, the drain switch (Exchange's `Set-UMService -Status
 * NoNewCalls`: new calls get 503, calls in progress finish), and the health checks a load balancer or an orchestrator
 * polls: `/healthz` (the process serves) and `/readyz` (it would take a call: store reachable, SIP up, not draining).
 */
import { runAuditedAction } from '../admin/audit';
import type { AdminContext } from '../admin/cmdlets';
import { jsonResponse, type PlainRoute } from './plain-routes';
import type { ServerState, ServiceStatus } from './server-state';

/** The body of `/readyz`: ready, and each condition. */
export const READY_SCHEMA = {
  type: 'object',
  required: ['ready', 'store', 'sip', 'draining'],
  properties: {
    ready: { type: 'boolean' },
    store: { type: 'string', enum: ['ok', 'unavailable'] },
    sip: { type: 'string', enum: ['ok', 'down'] },
    draining: { type: 'boolean' },
  },
} as const;

/** The server object of `GET /api/server` (after Get-UMService's Status). */
const SERVER_SCHEMA = {
  type: 'object',
  required: ['Status', 'Stopping', 'CallsInProgress'],
  properties: {
    Status: { type: 'string', enum: ['Enabled', 'NoNewCalls'], description: 'NoNewCalls: new calls get 503 with Retry-After, calls in progress finish' },
    Stopping: { type: 'boolean', description: 'serve is stopping (its calls are being ended)' },
    CallsInProgress: { type: 'integer', minimum: 0 },
  },
} as const;

/** One live call of `GET /api/calls`. */
const CALL_SCHEMA = {
  type: 'object',
  required: ['CallId', 'Flow', 'State', 'Mailbox', 'Started', 'DurationSeconds'],
  properties: {
    CallId: { type: 'string' },
    Flow: { type: ['string', 'null'], enum: ['sign-in', 'call-answering', 'conference', null] },
    State: { type: ['string', 'null'], description: "the innermost running flow's flowId.state" },
    Mailbox: { type: ['string', 'null'], description: 'the mailbox a message is left in, or the one signed in to' },
    Started: { type: 'string', format: 'date-time' },
    DurationSeconds: { type: 'number', minimum: 0 },
  },
} as const;

/**
 * Whether the server would take a call now, and why not (`/readyz`): the store answers (one light read), the SIP side
 * is up, the server is not draining.
 * @returns the body, with `ready` true only when all three hold; never throws
 */
export async function readiness(app: Pick<AdminContext, 'store'>, state: Pick<ServerState, 'draining' | 'sipReady'>): Promise<{ ready: boolean; store: 'ok' | 'unavailable'; sip: 'ok' | 'down'; draining: boolean }> {
  let store: 'ok' | 'unavailable' = 'ok';
  try {
    await app.store.listDialPlans();
  } catch {
    store = 'unavailable';
  }
  const sip = state.sipReady() ? 'ok' : 'down';
  const draining = state.draining();
  return { ready: store === 'ok' && sip === 'ok' && !draining, store, sip, draining };
}

const serverObject = (state: ServerState) => ({ Status: state.status(), Stopping: state.stopping(), CallsInProgress: state.calls() });

/** The routes of this module. */
export const SERVER_ROUTES: readonly PlainRoute[] = [
  {
    method: 'GET',
    path: '/healthz',
    summary: 'Liveness: the process serves HTTP (no key needed)',
    right: null,
    responses: { '200': jsonResponse('Alive', { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } }) },
    handler: async (_req, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }),
  },
  {
    method: 'GET',
    path: '/readyz',
    summary: 'Readiness: the store answers, SIP is up (sockets bound, or drachtio-server attached), not draining; 503 with the failing condition otherwise (no key needed)',
    right: null,
    responses: { '200': jsonResponse('Ready to take calls', READY_SCHEMA), '503': jsonResponse('Not ready: the body says which condition fails', READY_SCHEMA) },
    handler: async (_req, reply, { app, state }) => {
      const r = await readiness(app, state);
      return reply.code(r.ready ? 200 : 503).header('cache-control', 'no-store').send(r);
    },
  },
  {
    method: 'GET',
    path: '/api/calls',
    summary: 'Calls in progress, oldest first: flow, state, mailbox (once known), duration; never digits, never the caller\'s number',
    right: 'read',
    responses: { '200': jsonResponse('The calls', { type: 'array', items: CALL_SCHEMA }) },
    handler: async (_req, reply, { state }) =>
      reply.header('cache-control', 'no-store').send(
        state.liveCalls().map((c) => ({
          CallId: c.callId,
          Flow: c.flow,
          State: c.state,
          Mailbox: c.mailbox,
          Started: new Date(c.startedAt).toISOString(),
          DurationSeconds: Math.round(c.durationMs / 100) / 10,
        })),
      ),
  },
  {
    method: 'GET',
    path: '/api/server',
    summary: 'The server: the drain switch (Status Enabled | NoNewCalls, after Get-UMService), stopping, calls in progress',
    right: 'read',
    responses: { '200': jsonResponse('The server', SERVER_SCHEMA) },
    handler: async (_req, reply, { state }) => reply.header('cache-control', 'no-store').send(serverObject(state)),
  },
  {
    method: 'PATCH',
    path: '/api/server',
    summary:
      "The drain switch (Set-UMService -Status): NoNewCalls answers new calls 503 with Retry-After while calls in progress finish; Enabled takes calls again. This process only, until it stops; /status and /readyz say draining",
    right: 'um',
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['Status'],
      properties: { Status: { type: 'string', enum: ['Enabled', 'NoNewCalls'], description: 'Enabled | NoNewCalls' } },
    },
    responses: { '200': jsonResponse('The server, as changed', SERVER_SCHEMA) },
    handler: async (req, reply, { app, state, caller }) => {
      const status = (req.body as { Status: ServiceStatus }).Status;
      await runAuditedAction(app, { action: 'Set-UMService', target: null, parameters: { Status: status } }, caller(req), async () => state.setStatus(status));
      return reply.header('cache-control', 'no-store').send(serverObject(state));
    },
  },
];
