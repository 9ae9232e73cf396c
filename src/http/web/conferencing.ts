/**
 * Audio conferencing users, after the Teams / Office 365 admin center (seeds/003): the list of dial-in conferencing
 * users (Get-CsOnlineDialInConferencingUser: the leader PIN listed as `*****`) and, for a role with the conferencing
 * right, "Reset" under PIN (Set-CsOnlineDialInConferencingUser -ResetLeaderPIN). The new PIN is shown to the
 * administrator once, on the page right after the reset ("le code confidentiel ne s'affiche à un administrateur
 * qu'une seule fois"); the next load lists it as `*****` again. It is e-mailed when the tenant's
 * AutomaticallySendEmailsToUsers is on (the cmdlet's rule).
 */
import { html, seg } from './html';
import type { WebKit } from './kit';
import { csrfField, page, valueText, WEB_BASE, yesNo } from './layout';
import { fmt } from './strings';

const base = `${WEB_BASE}/conferencing`;

/** Registers the Audio conferencing page and its Reset action. */
export function registerConferencingPages(kit: WebKit): void {
  kit.page('/conferencing', async (ctx, req) => {
    const { t } = ctx;
    const users = await kit.run(ctx, req, 'Get-CsOnlineDialInConferencingUser', {});
    const [tenant] = await kit.run(ctx, req, 'Get-CsOnlineDialInConferencingTenantSettings', {});
    const shown = ctx.flash?.leaderPin;
    const rows = users.map((u) => {
      const identity = String(u.Identity);
      const justReset = shown && shown.identity.toLowerCase() === identity.toLowerCase() ? shown.pin : undefined;
      return html`<tr data-identity="${identity}">
  <td>${String(u.DisplayName)}</td>
  <td>${identity}</td>
  <td class="leader-pin" data-col="leader-pin">${justReset ?? valueText(t, u.LeaderPin)}</td>
  <td>${yesNo(t, u.AllowPSTNOnlyMeetings)}</td>
  <td>${valueText(t, u.ConferenceIds)}</td>
  ${ctx.can('conferencing')
    ? html`<td><form method="post" action="${base}/${seg(identity)}/reset-pin" data-confirm="${t.reset} ${t.leaderPin}: ${String(u.DisplayName)}?">${csrfField(ctx)}<button type="submit" class="reset-leader-pin">${t.reset}</button></form></td>`
    : ''}
</tr>`;
    });
    return page(ctx, {
      title: t.navConferencing,
      section: 'conferencing',
      body: html`${shown
        ? html`<div class="flash ok" role="status" id="leader-pin-shown"><p>${fmt(t.leaderPinNew, shown.identity)} <span class="leader-pin" id="new-leader-pin">${shown.pin}</span></p><p>${t.leaderPinShownOnce}</p>${tenant.AutomaticallySendEmailsToUsers === true ? html`<p>${t.leaderPinMailed}</p>` : ''}</div>`
        : ''}
<h2>${t.users}</h2>
<table id="conferencing-users">
  <thead><tr><th>${t.displayName}</th><th>${t.emailAddress}</th><th>${t.leaderPin}</th><th>${t.allowPstnOnly}</th><th>${t.conferenceIds}</th>${ctx.can('conferencing') ? html`<th></th>` : ''}</tr></thead>
  <tbody>${rows}</tbody>
</table>
<p class="note">${fmt(t.tenantPinLength, String(tenant.PinLength))}</p>`,
    });
  });

  kit.action('/conferencing/:identity/reset-pin', 'conferencing', async (ctx, req) => {
    const [out] = await kit.run(ctx, req, 'Set-CsOnlineDialInConferencingUser', { Identity: req.params.identity, ResetLeaderPIN: true });
    // Kept in the session's memory until the next page shows it; never in a URL, a cookie or a log.
    return { redirect: base, flash: { kind: 'ok', text: '', leaderPin: { identity: String(out.Identity), pin: String(out.LeaderPin) } } };
  });
}
