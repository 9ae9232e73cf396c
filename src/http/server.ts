/**
 * The admin center's HTTP API in the `serve` process (issue 21, docs/admin-center.md): fastify on `serve --http
 * HOST:PORT` / `http.listen`. Every `/api` route and `/metrics` need an API key (`access.ts`); `/status`, `/healthz`,
 * `/readyz` and `/openapi.json` do not. Routes that are one cmdlet come from `routes.ts`; the others (a message's
 * audio, the lamp, live calls, the drain switch, health) from `mailbox-routes.ts` and `server-routes.ts`. Errors are RFC 9457 problem bodies (`problem.ts`). Changes are written to the admin audit
 * log (`admin/audit.ts`) with the key's name and the client's address.
 *
 * Never logged: a request's body (it may hold a PIN), the response (a generated PIN, a new key), the Authorization
 * header. Each request is logged once with its method, route, status, duration and the key's name.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { runAudited } from '../admin/audit';
import type { AdminContext } from '../admin/cmdlets';
import { convertValue } from '../admin/ps-params';
import { ErrorCodes, VaError, isVaError } from '../errors';
import { registry } from '../metrics';
import type { ApiKey } from '../ports/store/admin';
import { authenticate, authorize, type Right } from './access';
import { openApiDocument } from './openapi';
import { paramsSchema, valuesOf } from './params';
import { problem, problemOf, sendProblem } from './problem';
import { fastifyPath, resolveRoutes, type ResolvedRoute } from './routes';
import { MAILBOX_ROUTES } from './mailbox-routes';
import { registerPlainRoutes, type PlainRoute } from './plain-routes';
import { SERVER_ROUTES } from './server-routes';
import type { ServerState } from './server-state';
import { registerWebPages } from './web';

export type { LiveCallView, MwiControl, MwiLampView, ServerState, ServiceStatus } from './server-state';

/** The routes that are not one cmdlet: a message's audio, the lamp, live calls, the drain switch, health. */
const PLAIN_ROUTES: readonly PlainRoute[] = [...MAILBOX_ROUTES, ...SERVER_ROUTES];

/** Options of {@link startHttpApi}. */
export interface HttpApiOptions {
  /** The cmdlets' context: the store, PIN and conferencing services (the running app). */
  app: AdminContext;
  /** HOST:PORT; port 0 picks a free one. */
  listen: string;
  logger: Logger;
  state: ServerState;
  /** The package version, for the OpenAPI document's info.version. */
  version: string;
}

/** A running HTTP API. */
export interface RunningHttpApi {
  /** `http://HOST:PORT` with the bound port, for the `ready` line. */
  url: string;
  host: string;
  port: number;
  /** Stops listening; requests in progress finish. */
  close(): Promise<void>;
}

/**
 * HOST:PORT (`127.0.0.1:8080`, `[::1]:8080`) as a host and a port.
 * @throws VaError VA_ERR_CLI_PARAMETER
 */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:\s[\]]+):([0-9]{1,5})$/.exec(listen);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new VaError(ErrorCodes.CLI_PARAMETER, `--http: "${listen}" must be HOST:PORT, e.g. 127.0.0.1:8080 (port 0-65535)`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

/** The key a request was authenticated with (set by the route's onRequest hook). */
const keys = new WeakMap<FastifyRequest, ApiKey>();

/**
 * Starts the HTTP API.
 * @throws VaError VA_ERR_CLI_PARAMETER (a bad address), VA_ERR_HTTP (cannot listen there)
 */
export async function startHttpApi(opts: HttpApiOptions): Promise<RunningHttpApi> {
  const { host, port } = parseListen(opts.listen);
  const log = opts.logger.child({ part: 'http' });
  const routes = resolveRoutes();
  const document = openApiDocument(routes, opts.version, PLAIN_ROUTES);
  const server: FastifyInstance = Fastify({
    logger: false,
    trustProxy: false,
    bodyLimit: 64 * 1024,
    // Unknown parameters are refused (400), not silently dropped; a query string's "2" is the integer 2.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
  });

  // JSON bodies only: anything else is 415.
  server.removeContentTypeParser('text/plain');
  server.setErrorHandler((err: Error & { validation?: unknown; statusCode?: number }, _req, reply) => {
    if (err.validation) return sendProblem(reply, problem(ErrorCodes.CLI_PARAMETER, err.message));
    if (!isVaError(err) && err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return sendProblem(reply, problem(ErrorCodes.CLI_PARAMETER, err.message, err.statusCode));
    }
    const p = problemOf(err);
    // RFC 6750 §3: a 401 names the scheme it wants.
    if (p.status === 401) reply.header('www-authenticate', 'Bearer realm="voice-access"');
    if (p.status >= 500) log.error({ code: p.code, err: isVaError(err) ? err.message : String(err) }, 'http: request failed');
    return sendProblem(reply, p);
  });
  server.setNotFoundHandler((req, reply) => sendProblem(reply, problem(ErrorCodes.HTTP, `no ${req.method} ${req.url.split('?')[0]} here (see /openapi.json)`)));
  server.addHook('onResponse', async (req, reply) => {
    log.info({ method: req.method, route: req.routeOptions.url ?? null, status: reply.statusCode, ms: Math.round(reply.elapsedTime), who: keys.get(req)?.name ?? null }, 'http request');
  });

  /** The onRequest hook of a route that needs `right`: 401/403 before anything is parsed. Never logs the key. */
  const guard = (right: Right) => async (req: FastifyRequest) => {
    try {
      const key = await authenticate(opts.app.store, req.headers.authorization);
      keys.set(req, key);
      authorize(key, right);
    } catch (err) {
      if (isVaError(err)) log.warn({ address: req.ip, method: req.method, route: req.routeOptions.url ?? null, code: err.code, who: keys.get(req)?.name ?? null }, 'http: request refused');
      throw err;
    }
  };

  for (const r of routes) registerCmdletRoute(server, r, opts.app, guard(r.right));
  registerPlainRoutes(server, PLAIN_ROUTES, { app: opts.app, state: opts.state, caller: (req) => ({ who: keys.get(req)?.name ?? 'unknown', address: req.ip }) }, guard);
  // The web pages (sign-in, recipients, conferencing, policies...) under /admin: src/http/web/.
  await registerWebPages(server, { app: opts.app, logger: opts.logger, state: opts.state });

  server.get('/status', async (_req, reply) => {
    let store: 'ok' | 'unavailable' = 'ok';
    try {
      await opts.app.store.listDialPlans();
    } catch {
      store = 'unavailable';
    }
    const draining = opts.state.draining();
    const status = draining ? 'draining' : store === 'ok' ? 'ok' : 'store-unavailable';
    return reply.code(status === 'ok' ? 200 : 503).send({ status, draining, calls: opts.state.calls(), store });
  });
  server.get('/metrics', { onRequest: guard('read') }, async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  server.get('/openapi.json', async () => document);

  try {
    await server.listen({ host, port });
  } catch (err) {
    await server.close().catch(() => undefined);
    throw new VaError(ErrorCodes.HTTP, `the HTTP API cannot listen on ${opts.listen}: ${(err as Error).message}`);
  }
  const bound = server.server.address();
  const boundPort = typeof bound === 'object' && bound ? bound.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${shown}:${boundPort}`, host, port: boundPort, close: () => server.close() };
}

/** Serves one cmdlet route: its schema from the cmdlet's specs, its values converted by the CLI's rules. */
function registerCmdletRoute(server: FastifyInstance, r: ResolvedRoute, app: AdminContext, onRequest: (req: FastifyRequest) => Promise<void>): void {
  const schema: Record<string, unknown> = {};
  const placeholders = [...(r.identity ? ['identity'] : []), ...r.pathSpecs.map((p) => p.placeholder)];
  if (placeholders.length > 0) schema.params = { type: 'object', properties: Object.fromEntries(placeholders.map((p) => [p, { type: 'string', minLength: 1 }])), required: placeholders };
  if (r.params === 'query') schema.querystring = paramsSchema(r.specs, 'query');
  if (r.params === 'body') schema.body = paramsSchema(r.specs, 'body');
  server.route({
    method: r.method,
    url: fastifyPath(r.path),
    schema,
    onRequest,
    handler: async (req, reply) => {
      const values = {
        ...valuesOf(r.params === 'query' ? r.specs : [], r.params === 'query' ? (req.query as Record<string, unknown>) : undefined),
        ...valuesOf(r.params === 'body' ? r.specs : [], r.params === 'body' ? (req.body as Record<string, unknown>) : undefined),
      };
      const inPath = req.params as Record<string, string>;
      if (r.identity) values.Identity = convertValue(r.identity, inPath.identity);
      for (const p of r.pathSpecs) values[p.spec.name] = convertValue(p.spec, inPath[p.placeholder]);
      const key = keys.get(req)!;
      const out = await runAudited(app, r.run, values, { who: key.name, address: req.ip });
      // A generated PIN or a new key may be in the answer: no cache may keep it.
      reply.header('cache-control', 'no-store');
      // A change with nothing to show (Remove-*, most Set-*): 204.
      if (r.method !== 'GET' && out.length === 0) return reply.code(204).send();
      return reply.code(r.created ? 201 : 200).send(r.single ? (out[0] ?? {}) : out);
    },
  });
}
