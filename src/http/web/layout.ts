/**
 * The frame of every web page (issue 21): the page shell (title, stylesheet, script), the navigation between the
 * consoles' pages, who is signed in with the sign-out form, the one-time result line (flash), and small pieces the
 * pages share (a Yes/No cell, a CSRF hidden field, a settings list).
 */
import type { ApiKey } from '../../ports/store/admin';
import type { Right } from '../access';
import { html, type HtmlValue, type SafeHtml } from './html';
import type { Flash, WebSession } from './sessions';
import { fmt, type StringKey, type Strings, type WebLocale } from './strings';

/** Where the pages are served. */
export const WEB_BASE = '/admin';

/** What a page knows about the request: the signed-in key, its rights, the locale. */
export interface PageContext {
  t: Strings;
  locale: WebLocale;
  session: WebSession;
  /** The key as the store has it now. */
  key: ApiKey;
  /** Whether the key's role has a right (`access.ts`): actions without it are not shown. */
  can(right: Right): boolean;
  /** The one-time result of the last action (shown by {@link page}, then gone). */
  flash?: Flash;
}

/** The hidden field every POST form carries (checked against the session's token). */
export function csrfField(ctx: PageContext): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${ctx.session.csrf}">`;
}

/** Yes / No in the page's language. */
export function yesNo(t: Strings, v: unknown): string {
  return v === true ? t.yes : v === false ? t.no : String(v ?? '');
}

/** A value of a cmdlet's output as text: lists comma-separated, booleans Yes/No, null as "(none)". */
export function valueText(t: Strings, v: unknown): string {
  if (v === null || v === undefined || v === '') return t.none;
  if (typeof v === 'boolean') return yesNo(t, v);
  if (Array.isArray(v)) return v.length === 0 ? t.none : v.map(String).join(', ');
  return String(v);
}

/** A definition list of label / value rows. */
export function settingsList(rows: ReadonlyArray<readonly [string, HtmlValue]>, id?: string): SafeHtml {
  return html`<dl class="settings"${id ? html` id="${id}"` : ''}>${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

/** The result line of the last action, if any. */
export function flashLine(flash: Flash | undefined): SafeHtml {
  if (!flash || !flash.text) return html``;
  return html`<p class="flash ${flash.kind}" role="${flash.kind === 'error' ? 'alert' : 'status'}" id="flash">${flash.text}</p>`;
}

const NAV: ReadonlyArray<readonly [string, StringKey]> = [
  ['recipients', 'navRecipients'],
  ['conferencing', 'navConferencing'],
  ['policies', 'navPolicies'],
  ['dialplans', 'navDialPlans'],
  ['gateways', 'navGateways'],
  ['calls', 'navCalls'],
  ['server', 'navServer'],
];

/** What {@link page} needs besides the context. */
export interface PageParts {
  title: string;
  /** The navigation entry to highlight (`recipients`, `conferencing`...). */
  section?: string;
  body: HtmlValue;
  flash?: Flash;
}

/** A whole page for a signed-in administrator. */
export function page(ctx: PageContext, p: PageParts): SafeHtml {
  const { t } = ctx;
  return shell(ctx.locale, `${p.title} - ${t.appTitle}`, html`
<header class="top">
  <span class="app">${t.appTitle}</span>
  <form method="post" action="${WEB_BASE}/sign-out" class="who">
    ${csrfField(ctx)}
    <span id="signed-in-as">${fmt(t.signedInAs, ctx.key.name, ctx.key.role)}</span>
    <button type="submit" id="sign-out">${t.signOut}</button>
  </form>
</header>
<nav>${NAV.map(([href, label]) => html`<a href="${WEB_BASE}/${href}"${p.section === href ? html` aria-current="page"` : ''}>${t[label]}</a>`)}</nav>
<main>
  <h1>${p.title}</h1>
  ${flashLine(p.flash ?? ctx.flash)}
  ${p.body}
</main>`);
}

/** The HTML document around a body: language, title, the stylesheet and script of `assets.ts`. */
export function shell(locale: WebLocale, title: string, body: HtmlValue): SafeHtml {
  return html`<!DOCTYPE html>
<html lang="${locale.slice(0, 2)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="${WEB_BASE}/assets/admin.css">
<script src="${WEB_BASE}/assets/admin.js" defer></script>
</head>
<body>${body}</body>
</html>
`;
}
