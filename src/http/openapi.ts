/**
 * `/openapi.json`: the OpenAPI 3.1 document of the HTTP API, made from the same route table and cmdlet parameter
 * specs that fastify validates requests with (`routes.ts`, `params.ts`).
 */
import { paramSchema, paramsSchema, type JsonSchema } from './params';
import { PROBLEM_SCHEMA } from './problem';
import { plainOpenApiPaths, type PlainRoute } from './plain-routes';
import type { ResolvedRoute } from './routes';

const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });

/** The error responses every route with a key may give. */
const KEYED_ERRORS = {
  '400': problemResponse('A parameter is unknown, missing or invalid (VA_ERR_CLI_PARAMETER, VA_ERR_INVALID_SETTING)'),
  '401': problemResponse('No API key, or an unknown one (VA_ERR_HTTP_UNAUTHORIZED)'),
  '403': problemResponse("The key's role does not allow it (VA_ERR_HTTP_FORBIDDEN)"),
  '404': problemResponse('No such object (VA_ERR_NOT_FOUND)'),
  '503': problemResponse('The store does not answer (VA_ERR_STORE_UNAVAILABLE)'),
};

/**
 * The OpenAPI document.
 * @param version the package version (info.version)
 * @param plain the routes that are not one cmdlet (`plain-routes.ts`)
 */
export function openApiDocument(routes: readonly ResolvedRoute[], version: string, plain: readonly PlainRoute[] = []): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, ops] of Object.entries(plainOpenApiPaths(plain, KEYED_ERRORS))) Object.assign((paths[path] ??= {}), ops);
  for (const r of routes) {
    const parameters: unknown[] = [];
    if (r.identity) parameters.push({ name: 'identity', in: 'path', required: true, description: r.identity.help, schema: paramSchema(r.identity, 'query') });
    for (const p of r.pathSpecs) parameters.push({ name: p.placeholder, in: 'path', required: true, description: p.spec.help, schema: paramSchema(p.spec, 'query') });
    if (r.params === 'query') for (const s of r.specs) parameters.push({ name: s.name, in: 'query', required: s.required === true, schema: paramSchema(s, 'query') });
    const ok = r.created ? '201' : '200';
    const responses: Record<string, unknown> = {
      [ok]: { description: r.single ? 'The object, as the cmdlet outputs it' : 'The objects, as the cmdlet outputs them', content: { 'application/json': { schema: r.single ? { type: 'object' } : { type: 'array', items: { type: 'object' } } } } },
      ...KEYED_ERRORS,
    };
    if (r.method !== 'GET') responses['204'] = { description: 'Done, nothing to show' };
    if (r.method === 'POST' || r.method === 'PATCH') {
      responses['409'] = problemResponse('It already exists (VA_ERR_ALREADY_EXISTS)');
      responses['422'] = problemResponse('The PIN breaks the UM mailbox policy (VA_ERR_PIN_POLICY)');
    }
    (paths[r.path] ??= {})[r.method.toLowerCase()] = {
      summary: r.summary,
      operationId: `${r.method.toLowerCase()}${r.path.replace(/[{}]/g, '').replace(/(^|\/)(\w)/g, (_m, _s, c: string) => c.toUpperCase())}`,
      tags: [r.path.split('/')[2] ?? 'api'],
      'x-cmdlet': r.cmdlet,
      'x-right': r.right,
      security: [{ apiKey: [] }],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(r.params === 'body' ? { requestBody: { required: true, content: { 'application/json': { schema: paramsSchema(r.specs, 'body') } } } } : {}),
      responses,
    };
  }
  paths['/status'] = {
    get: {
      summary: 'The server: ok or draining, calls in progress, store reachable (no key needed)',
      operationId: 'getStatus',
      tags: ['server'],
      security: [],
      responses: {
        '200': { description: 'Serving', content: { 'application/json': { schema: STATUS_SCHEMA } } },
        '503': { description: 'Draining or the store does not answer', content: { 'application/json': { schema: STATUS_SCHEMA } } },
      },
    },
  };
  paths['/metrics'] = {
    get: {
      summary: 'Prometheus metrics (text format 0.0.4)',
      operationId: 'getMetrics',
      tags: ['server'],
      'x-right': 'read',
      security: [{ apiKey: [] }],
      responses: { '200': { description: 'The metrics', content: { 'text/plain': { schema: { type: 'string' } } } }, '401': KEYED_ERRORS['401'], '403': KEYED_ERRORS['403'] },
    },
  };
  paths['/openapi.json'] = {
    get: { summary: 'This document', operationId: 'getOpenApi', tags: ['server'], security: [], responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } } },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'voice-access admin API',
      version,
      description: "The admin center's HTTP API: each resource runs one cmdlet, with its parameters, validation and VA_ERR_* codes. See docs/admin-center.md.",
    },
    paths,
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'A key made by New-VaApiKey (va_...)' } },
      schemas: { Problem: PROBLEM_SCHEMA },
    },
  };
}

/** The body of `/status`. */
export const STATUS_SCHEMA = {
  type: 'object',
  required: ['status', 'draining', 'calls', 'store'],
  properties: {
    status: { type: 'string', enum: ['ok', 'draining', 'store-unavailable'] },
    draining: { type: 'boolean' },
    calls: { type: 'integer', minimum: 0 },
    store: { type: 'string', enum: ['ok', 'unavailable'] },
  },
} as const;
