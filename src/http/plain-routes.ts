/**
 * The HTTP API's routes that are not one cmdlet (issue 21): a voice message's audio, a mailbox's lamp, live calls,
 * the drain switch, `/healthz`, `/readyz`. Each is one {@link PlainRoute}: the same object gives fastify its route
 * (with the key check of its right and the JSON schema of its body) and `/openapi.json` its operation
 * ({@link plainOpenApiPaths}), so the document describes everything served.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditCaller } from '../admin/audit';
import type { AdminContext } from '../admin/cmdlets';
import type { Right } from './access';
import type { JsonSchema } from './params';
import type { ServerState } from './server-state';

/** One response of an operation in the OpenAPI document: its description and, by media type, its schema. */
export interface PlainResponse {
  description: string;
  content?: Record<string, { schema: JsonSchema }>;
}

/** What a plain route's handler is given. */
export interface PlainRouteContext {
  app: AdminContext;
  state: ServerState;
  /** Who asks (the key's name and the client's address), for the audit log; only on routes that need a key. */
  caller(req: FastifyRequest): AuditCaller;
}

/** A route served by its own handler, and described in `/openapi.json`. */
export interface PlainRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** OpenAPI style: `/api/mailboxes/{identity}/mwi`. */
  path: string;
  summary: string;
  /** The right the key's role needs (`access.ts`), or null: no key (health checks). */
  right: Right | null;
  /** The path's placeholders, with their description. */
  pathParams?: Readonly<Record<string, string>>;
  /** The JSON body's schema: fastify validates it, the document shows it. */
  body?: JsonSchema;
  /** The document's responses besides the errors every keyed route may give. */
  responses: Record<string, PlainResponse>;
  /** Serves the request; what it returns is sent (unless it sent a reply itself). */
  handler(req: FastifyRequest, reply: FastifyReply, ctx: PlainRouteContext): Promise<unknown>;
}

/** The fastify form of an OpenAPI path. */
const fastifyPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');

/**
 * Registers plain routes on fastify.
 * @param guard the onRequest hook that checks a key's right (401/403), from `server.ts`
 */
export function registerPlainRoutes(
  server: FastifyInstance,
  routes: readonly PlainRoute[],
  ctx: PlainRouteContext,
  guard: (right: Right) => (req: FastifyRequest) => Promise<void>,
): void {
  for (const r of routes) {
    const placeholders = Object.keys(r.pathParams ?? {});
    const schema: Record<string, unknown> = {};
    if (placeholders.length > 0) schema.params = { type: 'object', properties: Object.fromEntries(placeholders.map((p) => [p, { type: 'string', minLength: 1 }])), required: placeholders };
    if (r.body) schema.body = r.body;
    server.route({
      method: r.method,
      url: fastifyPath(r.path),
      schema,
      ...(r.right ? { onRequest: guard(r.right) } : {}),
      handler: (req, reply) => r.handler(req, reply, ctx),
    });
  }
}

/** A JSON response of the document. */
export const jsonResponse = (description: string, schema: JsonSchema = { type: 'object' }): PlainResponse => ({ description, content: { 'application/json': { schema } } });

/**
 * The OpenAPI operations of plain routes, by path and method.
 * @param keyedErrors the error responses every route with a key may give (401, 403, 404...)
 */
export function plainOpenApiPaths(routes: readonly PlainRoute[], keyedErrors: Record<string, unknown>): Record<string, Record<string, unknown>> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const parameters = Object.entries(r.pathParams ?? {}).map(([name, description]) => ({ name, in: 'path', required: true, description, schema: { type: 'string', minLength: 1 } }));
    (paths[r.path] ??= {})[r.method.toLowerCase()] = {
      summary: r.summary,
      operationId: `${r.method.toLowerCase()}${r.path.replace(/[{}]/g, '').replace(/(^|\/)(\w)/g, (_m, _s, c: string) => c.toUpperCase())}`,
      tags: [r.path.startsWith('/api/') ? (r.path.split('/')[2] ?? 'api') : 'server'],
      ...(r.right ? { 'x-right': r.right, security: [{ apiKey: [] }] } : { security: [] }),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: r.body } } } } : {}),
      responses: { ...(r.right ? keyedErrors : {}), ...r.responses },
    };
  }
  return paths;
}
