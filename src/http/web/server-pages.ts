/**
 * The running server on the web pages (issue 21): the live calls (flow, state, mailbox once known, duration; never
 * digits, never the caller's number: `ServerState.liveCalls`, as `GET /api/calls`), reloaded every 5 seconds by the
 * page's script, and the drain switch (Exchange's `Set-UMService -Status`: NoNewCalls refuses new calls with 503
 * while calls in progress finish; Enabled takes calls again), audited as `Set-UMService` like `PATCH /api/server`.
 */
import { ErrorCodes, VaError } from '../../errors';
import type { ServerState } from '../server-state';
import { html } from './html';
import type { WebKit } from './kit';
import { csrfField, page, settingsList, valueText, WEB_BASE, yesNo } from './layout';
import { fmt } from './strings';

/** Registers the Live calls and Server pages and the drain switch. */
export function registerServerPages(kit: WebKit, state: ServerState): void {
  kit.page('/calls', async (ctx) => {
    const { t } = ctx;
    const calls = state.liveCalls();
    return page(ctx, {
      title: t.navCalls,
      section: 'calls',
      body: html`<div data-refresh="5"><p class="note">${t.callsRefresh}</p>
<table id="live-calls">
  <thead><tr><th>${t.callId}</th><th>${t.callFlow}</th><th>${t.callState}</th><th>${t.callMailbox}</th><th>${t.callStarted}</th><th>${t.callDuration}</th></tr></thead>
  <tbody>${
    calls.length
      ? calls.map(
          (c) => html`<tr data-call="${c.callId}"><td>${c.callId}</td><td data-col="flow">${valueText(t, c.flow)}</td><td data-col="state">${valueText(t, c.state)}</td><td data-col="mailbox">${valueText(t, c.mailbox)}</td><td>${new Date(c.startedAt).toISOString()}</td><td>${(Math.round(c.durationMs / 100) / 10).toFixed(1)}</td></tr>`,
        )
      : html`<tr><td colspan="6">${t.noCalls}</td></tr>`
  }</tbody>
</table></div>`,
    });
  });

  kit.page('/server', async (ctx) => {
    const { t } = ctx;
    const status = state.status();
    const next = status === 'Enabled' ? 'NoNewCalls' : 'Enabled';
    return page(ctx, {
      title: t.navServer,
      section: 'server',
      body: html`${settingsList(
        [
          [t.serverStatus, html`<span id="server-status">${status}</span>`],
          [t.serverStopping, yesNo(t, state.stopping())],
          [t.callsInProgress, html`<span id="calls-in-progress">${state.calls()}</span>`],
        ],
        'server',
      )}
<p class="note">${status === 'Enabled' ? t.statusEnabledNote : t.statusNoNewCallsNote} ${t.drainScope}</p>
${
  ctx.can('um')
    ? html`<form method="post" action="${WEB_BASE}/server" class="actions" data-confirm="${status === 'Enabled' ? t.drain : t.undrain}?">${csrfField(ctx)}<input type="hidden" name="Status" value="${next}"><button type="submit" id="drain-switch">${status === 'Enabled' ? t.drain : t.undrain}</button></form>`
    : ''
}`,
    });
  });

  kit.action('/server', 'um', async (ctx, req, form) => {
    const status = form.Status;
    if (status !== 'Enabled' && status !== 'NoNewCalls') throw new VaError(ErrorCodes.CLI_PARAMETER, `-Status: "${status ?? ''}" is not one of Enabled, NoNewCalls`);
    await kit.audited(ctx, req, { action: 'Set-UMService', target: null, parameters: { Status: status } }, async () => state.setStatus(status));
    return { redirect: `${WEB_BASE}/server`, flash: { kind: 'ok', text: fmt(ctx.t.statusChanged, state.status()) } };
  });
}
