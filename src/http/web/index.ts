/**
 * The admin center's web pages (issue 21, docs/admin-center.md "Web pages"), served under `/admin` by the same
 * fastify instance as the HTTP API: plain server-rendered HTML (`html.ts` escapes every value), English or French by
 * the browser's Accept-Language (`strings.ts`), a stylesheet and a little progressive script (`assets.ts`).
 *
 * Sign-in with an API key (`New-VaApiKey`): a session cookie (`sessions.ts`; `HttpOnly`, `SameSite=Strict`,
 * `Path=/`), every POST form carrying the session's CSRF token, every page checking that the key is still in the
 * store and what its role may do (`access.ts`): actions the role cannot do are not shown, and posting them anyway
 * gets 403. Changes run the cmdlets' own code through `runAudited`, so the audit log names the key and the address.
 *
 * Never logged: the key typed at sign-in, a session id, a CSRF token, a PIN (form bodies are not logged).
 */
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { runAudited, runAuditedAction } from '../../admin/audit';
import { findCmdlet, type AdminContext } from '../../admin/cmdlets';
import { apiKeyHash } from '../../admin/admin-cmdlets';
import { ErrorCodes, VaError, isVaError } from '../../errors';
import { authorize, ROLE_RIGHTS } from '../access';
import { statusOf } from '../problem';
import type { ServerState } from '../server-state';
import { ADMIN_CSS, ADMIN_JS } from './assets';
import { registerConferencingPages } from './conferencing';
import { html, type SafeHtml } from './html';
import type { ActionResult, FormFields, PageRequest, WebKit } from './kit';
import { page, shell, WEB_BASE, type PageContext } from './layout';
import { registerRecipientPages } from './recipients';
import { registerVoiceMessageRoutes } from './voice-messages';
import { sameToken, randomToken, WebSessions, type Flash } from './sessions';
import { registerServerPages } from './server-pages';
import { registerSettingsPages } from './settings-pages';
import { pickLocale, STRINGS, type Strings, type WebLocale } from './strings';

/** The session cookie's name. */
export const SESSION_COOKIE = 'va_session';
/** The cookie that ties the sign-in form to the browser that loaded it (login CSRF). */
const SIGN_IN_COOKIE = 'va_sign_in';

/** Options of {@link registerWebPages}. */
export interface WebPagesOptions {
  /** The cmdlets' context (the running app). */
  app: AdminContext;
  logger: Logger;
  /** The sessions (default: a new in-memory set with an 8 h idle expiry). */
  sessions?: WebSessions;
  /**
   * The running server (live calls, the drain switch, the lamps); without it the pages that need it are not served
   * and a user's lamp is worked out from the unheard messages.
   */
  state?: ServerState;
}

/**
 * Registers the web pages under `/admin` on the HTTP API's fastify instance, in their own encapsulated context (the
 * cookie and form-body parsers do not reach the JSON API, which keeps refusing other bodies with 415).
 */
export async function registerWebPages(server: FastifyInstance, opts: WebPagesOptions): Promise<void> {
  const log = opts.logger.child({ part: 'web' });
  const sessions = opts.sessions ?? new WebSessions();
  const { app } = opts;

  await server.register(
    async (web) => {
      await web.register(fastifyCookie);
      await web.register(fastifyFormbody, { bodyLimit: 16 * 1024 });

      const cookieOptions = (req: FastifyRequest) => ({ httpOnly: true, sameSite: 'strict' as const, path: '/', secure: req.protocol === 'https' });
      const localeOf = (req: FastifyRequest): WebLocale => pickLocale(req.headers['accept-language']);

      web.addHook('onSend', async (_req, reply, payload) => {
        reply.header('cache-control', 'no-store');
        reply.header('x-content-type-options', 'nosniff');
        reply.header('referrer-policy', 'same-origin');
        reply.header(
          'content-security-policy',
          "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        );
        return payload;
      });

      const sendHtml = (reply: FastifyReply, status: number, body: SafeHtml) => reply.code(status).type('text/html; charset=utf-8').send(body.text);

      /** An error page: with the frame when signed in, bare otherwise. Unexpected errors are logged, not shown. */
      const errorPage = (reply: FastifyReply, t: Strings, locale: WebLocale, err: unknown, ctx?: PageContext) => {
        const status = isVaError(err) ? statusOf(err.code) : typeof (err as { statusCode?: number }).statusCode === 'number' ? (err as { statusCode: number }).statusCode : 500;
        if (status >= 500) log.error({ code: isVaError(err) ? err.code : ErrorCodes.INTERNAL, err: isVaError(err) ? err.message : String(err) }, 'web: page failed');
        const title = status === 403 ? t.forbiddenTitle : status === 404 ? t.notFoundTitle : t.errorTitle;
        const message = isVaError(err) ? err.message : status < 500 ? String((err as Error).message ?? err) : 'internal error (see the server log)';
        const body = html`<p class="flash error" role="alert" id="error">${message}</p><p><a href="${WEB_BASE}/recipients">${t.back}</a></p>`;
        return sendHtml(reply, status, ctx ? page(ctx, { title, body }) : shell(locale, title, html`<main><h1>${title}</h1>${body}</main>`));
      };

      web.setErrorHandler((err, req, reply) => {
        const locale = localeOf(req);
        return errorPage(reply, STRINGS[locale], locale, err);
      });
      web.setNotFoundHandler((req, reply) => {
        const locale = localeOf(req);
        return errorPage(reply, STRINGS[locale], locale, new VaError(ErrorCodes.NOT_FOUND, `no page ${req.url.split('?')[0]}`));
      });

      const refused = (req: FastifyRequest, code: string, who: string | null) =>
        log.warn({ address: req.ip, method: req.method, route: req.routeOptions.url ?? null, code, who }, 'web: request refused');

      /**
       * The signed-in context of a request, or undefined after answering with a redirect to the sign-in page (no
       * session, idle too long, or its key was removed: that ends the session).
       */
      const signedIn = async (req: FastifyRequest, reply: FastifyReply): Promise<PageContext | undefined> => {
        const locale = localeOf(req);
        const session = sessions.touch(req.cookies[SESSION_COOKIE]);
        if (!session) {
          if (req.cookies[SESSION_COOKIE]) reply.clearCookie(SESSION_COOKIE, { path: '/' });
          reply.redirect(`${WEB_BASE}/sign-in${req.cookies[SESSION_COOKIE] ? '?ended=1' : ''}`, 303);
          return undefined;
        }
        const key = (await app.store.admin.listApiKeys()).find((k) => k.id === session.keyId);
        if (!key) {
          sessions.end(session.id);
          refused(req, ErrorCodes.HTTP_UNAUTHORIZED, session.keyName);
          reply.clearCookie(SESSION_COOKIE, { path: '/' });
          reply.redirect(`${WEB_BASE}/sign-in?ended=1`, 303);
          return undefined;
        }
        await app.store.admin.touchApiKey(key.id, app.store.now());
        session.role = key.role;
        return { t: STRINGS[locale], locale, session, key, can: (right) => ROLE_RIGHTS[key.role]?.includes(right) ?? false };
      };

      /** The one-time result line of the session, taken (a flash shows once). */
      const takeFlash = (ctx: PageContext): Flash | undefined => {
        const f = ctx.session.flash;
        ctx.session.flash = undefined;
        return f;
      };

      const answer = (ctx: PageContext, reply: FastifyReply, r: ActionResult) => {
        if ('redirect' in r) {
          ctx.session.flash = r.flash;
          return reply.redirect(r.redirect, 303);
        }
        return sendHtml(reply, r.status, r.html);
      };

      const kit: WebKit = {
        app,
        page(url, render) {
          web.get(url, async (req, reply) => {
            const ctx = await signedIn(req, reply);
            if (!ctx) return reply;
            try {
              const body = await render({ ...ctx, flash: takeFlash(ctx) }, req as PageRequest);
              return sendHtml(reply, 200, body);
            } catch (err) {
              return errorPage(reply, ctx.t, ctx.locale, err, ctx);
            }
          });
        },
        action(url, right, act) {
          web.post(url, async (req, reply) => {
            const ctx = await signedIn(req, reply);
            if (!ctx) return reply;
            const form = formFields(req.body);
            try {
              if (!sameToken(form._csrf, ctx.session.csrf)) {
                refused(req, ErrorCodes.HTTP_FORBIDDEN, ctx.key.name);
                throw new VaError(ErrorCodes.HTTP_FORBIDDEN, 'the form is not from this session (reload the page and try again)');
              }
              try {
                authorize(ctx.key, right);
              } catch (err) {
                refused(req, ErrorCodes.HTTP_FORBIDDEN, ctx.key.name);
                throw err;
              }
              return answer(ctx, reply, await act(ctx, req as PageRequest, form));
            } catch (err) {
              return errorPage(reply, ctx.t, ctx.locale, err, ctx);
            }
          });
        },
        run(ctx, req, name, values) {
          const cmdlet = findCmdlet(name);
          if (!cmdlet) throw new Error(`no cmdlet ${name}`);
          return runAudited(app, cmdlet, values, { who: ctx.key.name, address: req.ip });
        },
        audited(ctx, req, what, change) {
          return runAuditedAction(app, what, { who: ctx.key.name, address: req.ip }, change);
        },
        file(url, send) {
          web.get(url, async (req, reply) => {
            const ctx = await signedIn(req, reply);
            if (!ctx) return reply;
            try {
              return await send(ctx, req as PageRequest, reply);
            } catch (err) {
              return errorPage(reply, ctx.t, ctx.locale, err, ctx);
            }
          });
        },
      };

      // ------------------------------------------------------------ assets, sign-in, sign-out
      web.get('/assets/admin.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(ADMIN_CSS));
      web.get('/assets/admin.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(ADMIN_JS));
      web.get('/', async (_req, reply) => reply.redirect(`${WEB_BASE}/recipients`, 303));

      const signInPage = (req: FastifyRequest, reply: FastifyReply, status: number, message?: { kind: 'ok' | 'error'; text: string }) => {
        const locale = localeOf(req);
        const t = STRINGS[locale];
        const token = randomToken();
        reply.setCookie(SIGN_IN_COOKIE, token, { ...cookieOptions(req), path: `${WEB_BASE}/sign-in` });
        return sendHtml(
          reply,
          status,
          shell(
            locale,
            `${t.signInTitle} - ${t.appTitle}`,
            html`<main class="sign-in">
  <h1>${t.appTitle}</h1>
  ${message ? html`<p class="flash ${message.kind}" id="flash" role="${message.kind === 'error' ? 'alert' : 'status'}">${message.text}</p>` : ''}
  <form method="post" action="${WEB_BASE}/sign-in">
    <input type="hidden" name="_csrf" value="${token}">
    <label for="key">${t.apiKey}</label>
    <input type="password" id="key" name="key" autocomplete="off" required>
    <p class="note">${t.signInHelp}</p>
    <button type="submit" id="sign-in">${t.signIn}</button>
  </form>
</main>`,
          ),
        );
      };

      web.get('/sign-in', async (req, reply) => {
        const t = STRINGS[localeOf(req)];
        const q = req.query as Record<string, string | undefined>;
        if (sessions.touch(req.cookies[SESSION_COOKIE])) return reply.redirect(`${WEB_BASE}/recipients`, 303);
        return signInPage(req, reply, 200, q.ended ? { kind: 'error', text: t.sessionEnded } : q.out ? { kind: 'ok', text: t.signedOut } : undefined);
      });

      web.post('/sign-in', async (req, reply) => {
        const t = STRINGS[localeOf(req)];
        const form = formFields(req.body);
        if (!sameToken(form._csrf, req.cookies[SIGN_IN_COOKIE])) {
          refused(req, ErrorCodes.HTTP_FORBIDDEN, null);
          return signInPage(req, reply, 403, { kind: 'error', text: t.signInExpired });
        }
        const typed = (form.key ?? '').trim();
        const key = typed ? await app.store.admin.findApiKeyByHash(apiKeyHash(typed)) : undefined;
        if (!key) {
          refused(req, ErrorCodes.HTTP_UNAUTHORIZED, null);
          return signInPage(req, reply, 401, { kind: 'error', text: t.signInRefused });
        }
        await app.store.admin.touchApiKey(key.id, app.store.now());
        const old = req.cookies[SESSION_COOKIE];
        if (old) sessions.end(old);
        const session = sessions.create(key);
        log.info({ address: req.ip, who: key.name, role: key.role }, 'web: signed in');
        reply.clearCookie(SIGN_IN_COOKIE, { path: `${WEB_BASE}/sign-in` });
        reply.setCookie(SESSION_COOKIE, session.id, cookieOptions(req));
        return reply.redirect(`${WEB_BASE}/recipients`, 303);
      });

      web.post('/sign-out', async (req, reply) => {
        const form = formFields(req.body);
        const session = sessions.touch(req.cookies[SESSION_COOKIE]);
        // Without a valid token nobody is signed out (a cross-site form cannot end a session either).
        if (session && sameToken(form._csrf, session.csrf)) {
          sessions.end(session.id);
          log.info({ address: req.ip, who: session.keyName }, 'web: signed out');
        }
        reply.clearCookie(SESSION_COOKIE, { path: '/' });
        return reply.redirect(`${WEB_BASE}/sign-in?out=1`, 303);
      });

      registerRecipientPages(kit, opts.state);
      registerVoiceMessageRoutes(kit, opts.state);
      registerConferencingPages(kit);
      registerSettingsPages(kit);
      if (opts.state) registerServerPages(kit, opts.state);
    },
    { prefix: WEB_BASE },
  );
  // The server's root is where a person types the address: the admin center (the API is under /api).
  server.get('/', async (_req, reply) => reply.redirect(`${WEB_BASE}/`, 303));
}

/** A form body (`application/x-www-form-urlencoded`) as name -> value; the last value of a repeated name. */
function formFields(body: unknown): FormFields {
  const out: Record<string, string | undefined> = {};
  if (!body || typeof body !== 'object') return out;
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    if (typeof last === 'string') out[k] = last;
  }
  return out;
}
