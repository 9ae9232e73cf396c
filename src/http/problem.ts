/**
 * Errors of the HTTP API as RFC 9457 problem bodies (`application/problem+json`): `type`, `title`, `status`,
 * `detail` and our `code` (`VA_ERR_*`, docs/error-codes.md), with the status that fits the code. The detail is the
 * VaError's message, which never holds a PIN; an unexpected error's message is not shown (500, "internal error").
 */
import type { FastifyReply } from 'fastify';
import { ErrorCodes, isVaError } from '../errors';

/** An RFC 9457 problem body. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}

/** The HTTP status of each error code the API answers with; 500 for any other. */
const STATUS: Record<string, number> = {
  [ErrorCodes.NOT_FOUND]: 404,
  [ErrorCodes.HTTP]: 404,
  [ErrorCodes.CLI_PARAMETER]: 400,
  [ErrorCodes.INVALID_SETTING]: 400,
  [ErrorCodes.GATEWAY_ADDRESS]: 400,
  [ErrorCodes.ALREADY_EXISTS]: 409,
  [ErrorCodes.PIN_POLICY]: 422,
  [ErrorCodes.HTTP_UNAUTHORIZED]: 401,
  [ErrorCodes.HTTP_FORBIDDEN]: 403,
  [ErrorCodes.STORE_UNAVAILABLE]: 503,
};

const TITLE: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The HTTP status for a `VA_ERR_*` code (500 when it has none). */
export function statusOf(code: string): number {
  return STATUS[code] ?? 500;
}

/**
 * The problem body of a code and a message. `type` is `urn:voice-access:error:<code>`: the code's row of
 * docs/error-codes.md says what it means and what to do.
 * @param status the HTTP status when not the code's own (a 415 from fastify's body parser, say)
 */
export function problem(code: string, detail: string, status = statusOf(code)): Problem {
  return { type: `urn:voice-access:error:${code}`, title: TITLE[status] ?? 'Error', status, detail, code };
}

/** The problem body of any thrown value: a VaError as itself, anything else as 500 without its message. */
export function problemOf(err: unknown): Problem {
  if (isVaError(err)) return problem(err.code, err.message);
  return problem(ErrorCodes.INTERNAL, 'internal error (see the server log)');
}

/** Sends a problem body with its status. */
export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type('application/problem+json').send(p);
}

/** The JSON schema of a problem body (OpenAPI). */
export const PROBLEM_SCHEMA = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', pattern: '^VA_ERR_' },
  },
} as const;
