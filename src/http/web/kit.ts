/**
 * What the page modules (`recipients.ts`, `conferencing.ts`, `settings-pages.ts`) register their routes with: a GET
 * page for a signed-in administrator, a POST action checked for the session, the CSRF token and the role's right,
 * and a way to run a cmdlet audited as the session's key. Made by `index.ts`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditedAction } from '../../admin/audit';
import type { AdminContext } from '../../admin/cmdlets';
import type { OutputObject } from '../../admin/ps-format';
import type { ParamValues } from '../../admin/ps-params';
import type { Right } from '../access';
import type { SafeHtml } from './html';
import type { PageContext } from './layout';
import type { Flash } from './sessions';

/** A request to a page: path parameters and the query string. */
export type PageRequest = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string | undefined> }>;

/** A posted form's fields (the last value when a name is repeated). */
export type FormFields = Readonly<Record<string, string | undefined>>;

/**
 * What an action answers: a redirect to a page (Post/Redirect/Get) with a one-time result line, or a page shown in
 * answer to the POST (a form again with its error), with its status.
 */
export type ActionResult = { redirect: string; flash?: Flash } | { status: number; html: SafeHtml };

/** The route registrar the page modules get. */
export interface WebKit {
  /** The cmdlets' context (the running app): for reads that are not a cmdlet (a voice message's audio file). */
  readonly app: AdminContext;
  /**
   * A page for any signed-in administrator (every role reads). `render` may throw a VaError: it is shown as an error
   * page with the code's status (404 for VA_ERR_NOT_FOUND...).
   * @param url relative to `/admin`, fastify syntax (`/recipients/:identity`)
   */
  page(url: string, render: (ctx: PageContext, req: PageRequest) => Promise<SafeHtml>): void;
  /**
   * A form action: refused with 403 (a page) when the session's CSRF token is missing or wrong, or the key's role
   * lacks `right`; a VaError thrown by `act` is shown as an error page.
   */
  action(url: string, right: Right, act: (ctx: PageContext, req: PageRequest, form: FormFields) => Promise<ActionResult>): void;
  /**
   * Runs a cmdlet by name with the key's name and the client's address in the audit log (changes only).
   * @throws what the cmdlet throws (VaError)
   */
  run(ctx: PageContext, req: FastifyRequest, cmdlet: string, values: ParamValues): Promise<OutputObject[]>;
  /**
   * Runs a change that is not a cmdlet (the drain switch, sending the lamp state again) with its audit line, as the
   * API does (`runAuditedAction`). @throws what `change` throws
   */
  audited<T>(ctx: PageContext, req: FastifyRequest, what: AuditedAction, change: () => Promise<T>): Promise<T>;
  /**
   * A GET for a signed-in administrator that answers with something else than a page (a voice message's audio):
   * `send` writes the reply; a VaError it throws is shown as an error page.
   */
  file(url: string, send: (ctx: PageContext, req: PageRequest, reply: FastifyReply) => Promise<FastifyReply>): void;
}
