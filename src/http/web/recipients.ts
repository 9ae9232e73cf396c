/**
 * Recipients, after the Exchange admin center (seeds/000, 001, 002): the list of UM-enabled users with a search box
 * and their PIN status (Get-UMMailboxPIN: locked out, PIN expired, first-time user); a user's UM mailbox settings
 * (Get-UMMailbox), PIN status, message waiting indicator and voice messages; "Reset PIN" with Exchange's two options
 * and checkbox and their defaults ("Automatically generate a PIN" selected, "Require the user to reset their PIN
 * the first time they sign in" checked: telephony-facts.md §2 items 6-8), which runs Set-UMMailboxPIN and mails the
 * PIN; and Unlock, which is a PIN reset (Set-UMMailboxPIN unlocks; the new PIN is generated and mailed, seeds/001).
 * The lamp and the voice messages are `voice-messages.ts`.
 */
import { findCmdlet } from '../../admin/cmdlets';
import type { OutputObject } from '../../admin/ps-format';
import { convertValue, type ParamValues } from '../../admin/ps-params';
import { ErrorCodes, VaError, isVaError } from '../../errors';
import { html, seg, type SafeHtml } from './html';
import type { ActionResult, PageRequest, WebKit } from './kit';
import { csrfField, page, settingsList, valueText, WEB_BASE, yesNo, type PageContext } from './layout';
import { fmt } from './strings';
import type { ServerState } from '../server-state';
import { voiceMailSections } from './voice-messages';

const base = `${WEB_BASE}/recipients`;

/** Whether a mailbox matches a search: display name, address or extension contain the text (case-insensitive). */
export function matchesSearch(m: OutputObject, q: string): boolean {
  const needle = q.trim().toLowerCase();
  if (!needle) return true;
  const hay = [m.DisplayName, m.Identity, ...((m.Extensions as unknown[]) ?? [])].map((v) => String(v ?? '').toLowerCase());
  return hay.some((h) => h.includes(needle));
}

/** A Yes/No cell; Yes is marked (a state that needs the administrator). */
const flagCell = (ctx: PageContext, v: unknown, name: string) => html`<td class="${v === true ? 'flag-yes' : 'flag-no'}" data-col="${name}">${yesNo(ctx.t, v)}</td>`;

/** Registers the Recipients pages and actions. */
export function registerRecipientPages(kit: WebKit, state: ServerState | undefined): void {
  kit.page('/recipients', async (ctx, req) => {
    const { t } = ctx;
    const q = req.query.q ?? '';
    const mailboxes = (await kit.run(ctx, req, 'Get-UMMailbox', {})).filter((m) => matchesSearch(m, q));
    const pins = new Map((await kit.run(ctx, req, 'Get-UMMailboxPIN', {})).map((p) => [String(p.Identity).toLowerCase(), p]));
    const rows = mailboxes.map((m) => {
      const p = pins.get(String(m.Identity).toLowerCase()) ?? {};
      return html`<tr data-identity="${String(m.Identity)}">
  <td><a href="${base}/${seg(String(m.Identity))}">${String(m.DisplayName)}</a></td>
  <td>${String(m.Identity)}</td>
  <td>${valueText(t, m.Extensions)}</td>
  ${flagCell(ctx, p.LockedOut, 'locked-out')}${flagCell(ctx, p.PinExpired, 'pin-expired')}${flagCell(ctx, p.FirstTimeUser, 'first-time-user')}
</tr>`;
    });
    return page(ctx, {
      title: t.navRecipients,
      section: 'recipients',
      body: html`<form method="get" action="${base}" role="search" class="actions">
  <input type="search" name="q" value="${q}" placeholder="${t.searchPlaceholder}" aria-label="${t.search}">
  <button type="submit" id="search">${t.search}</button>
</form>
<table id="recipients">
  <thead><tr><th>${t.displayName}</th><th>${t.emailAddress}</th><th>${t.extension}</th><th>${t.lockedOut}</th><th>${t.pinExpired}</th><th>${t.firstTimeUser}</th></tr></thead>
  <tbody>${rows.length ? rows : html`<tr><td colspan="6">${t.noRecipients}</td></tr>`}</tbody>
</table>`,
    });
  });

  kit.page('/recipients/:identity', async (ctx, req) => {
    const { t } = ctx;
    const id = req.params.identity;
    const [m] = await kit.run(ctx, req, 'Get-UMMailbox', { Identity: id });
    const [pin] = await kit.run(ctx, req, 'Get-UMMailboxPIN', { Identity: id });
    const [policy] = await kit.run(ctx, req, 'Get-UMMailboxPolicy', { Identity: String(m.UMMailboxPolicy) });
    const [plan] = await kit.run(ctx, req, 'Get-UMDialPlan', { Identity: String(m.UMDialPlan) });
    const identity = String(m.Identity);
    const voiceMail = await voiceMailSections(kit, ctx, req, identity, policy.AllowMessageWaitingIndicator !== false, state);
    const actions: SafeHtml[] = [];
    if (ctx.can('um')) {
      actions.push(html`<a href="${base}/${seg(identity)}/reset-pin" id="reset-pin">${t.resetPin}</a>`);
      if (pin.LockedOut === true) {
        actions.push(html`<form method="post" action="${base}/${seg(identity)}/unlock" data-confirm="${t.unlockNote}">${csrfField(ctx)}<button type="submit" id="unlock">${t.unlock}</button></form>`);
      }
    }
    return page(ctx, {
      title: `${String(m.DisplayName)} - ${t.umMailbox}`,
      section: 'recipients',
      body: html`<p class="note">${t.navRecipients} &gt; ${t.phoneAndVoice} &gt; ${t.umMailbox}</p>
<h2>${t.umMailboxSettings}</h2>
${settingsList(
  [
    [t.displayName, String(m.DisplayName)],
    [t.emailAddress, identity],
    [t.extension, valueText(t, m.Extensions)],
    [t.umDialPlan, String(m.UMDialPlan)],
    [t.umMailboxPolicy, String(m.UMMailboxPolicy)],
    [t.language, m.Language ? String(m.Language) : fmt(t.dialPlanLanguage, String(plan.DefaultLanguage))],
    [t.smsNotification, String(m.UMSMSNotificationOption)],
    [t.mobileNumber, valueText(t, m.MobileNumber)],
  ],
  'mailbox-settings',
)}
<h2>${t.pinStatus}</h2>
${settingsList(
  [
    [t.lockedOut, html`<span id="locked-out">${yesNo(t, pin.LockedOut)}</span>`],
    [t.pinExpired, html`<span id="pin-expired">${yesNo(t, pin.PinExpired)}</span>`],
    [t.firstTimeUser, html`<span id="first-time-user">${yesNo(t, pin.FirstTimeUser)}</span>`],
  ],
  'pin-status',
)}
${actions.length ? html`<div class="actions">${actions}</div>` : ''}
${voiceMail}`,
    });
  });

  kit.page('/recipients/:identity/reset-pin', async (ctx, req) => {
    if (!ctx.can('um')) throw new VaError(ErrorCodes.HTTP_FORBIDDEN, `the role ${ctx.key.role} of the key "${ctx.key.name}" does not allow this (it needs the um right)`);
    const [m] = await kit.run(ctx, req, 'Get-UMMailbox', { Identity: req.params.identity });
    return resetPinPage(ctx, m, { mode: 'generate', pinExpired: true });
  });

  kit.action('/recipients/:identity/reset-pin', 'um', async (ctx, req, form) => {
    const [m] = await kit.run(ctx, req, 'Get-UMMailbox', { Identity: req.params.identity });
    const mode = form.mode === 'type' ? 'type' : 'generate';
    const pinExpired = form.pinExpired === 'true';
    const again = (status: number, error: string): ActionResult => ({ status, html: resetPinPage(ctx, m, { mode, pinExpired, error }) });
    const values: ParamValues = { Identity: String(m.Identity), PinExpired: pinExpired };
    if (mode === 'type') {
      if (!form.pin) return again(400, ctx.t.pinMissing);
      try {
        values.Pin = convertValue(pinSpec(), form.pin);
      } catch (err) {
        if (isVaError(err)) return again(400, err.message);
        throw err;
      }
    }
    return resetPin(kit, ctx, req, values, (out) => fmt(ctx.t.pinResetDone, String(out.EmailSentTo ?? '')), again);
  });

  kit.action('/recipients/:identity/unlock', 'um', async (ctx, req) => {
    const [m] = await kit.run(ctx, req, 'Get-UMMailbox', { Identity: req.params.identity });
    // Set-UMMailboxPIN without -Pin: a generated PIN, mailed, PinExpired $true, and the mailbox unlocked.
    return resetPin(kit, ctx, req, { Identity: String(m.Identity) }, (out) => fmt(ctx.t.unlocked, String(out.EmailSentTo ?? '')), (status, error) => ({
      redirect: `${base}/${seg(String(m.Identity))}`,
      flash: { kind: 'error', text: error },
    }));
  });
}

/** Set-UMMailboxPIN's -Pin parameter (its checks: digits only). */
function pinSpec() {
  const spec = findCmdlet('Set-UMMailboxPIN')?.params.find((p) => p.name === 'Pin');
  if (!spec) throw new Error('Set-UMMailboxPIN has no -Pin');
  return spec;
}

/**
 * Runs Set-UMMailboxPIN; a refusal the administrator can fix (the policy's PIN rules, a bad parameter, the mail not
 * sent) goes back to `again`, anything else to the error page. The PIN is never in a redirect, a flash or a log.
 */
async function resetPin(
  kit: WebKit,
  ctx: PageContext,
  req: PageRequest,
  values: ParamValues,
  done: (out: OutputObject) => string,
  again: (status: number, error: string) => ActionResult,
): Promise<ActionResult> {
  try {
    const [out] = await kit.run(ctx, req, 'Set-UMMailboxPIN', values);
    return { redirect: `${base}/${seg(String(values.Identity))}`, flash: { kind: 'ok', text: done(out) } };
  } catch (err) {
    if (isVaError(err) && [ErrorCodes.PIN_POLICY, ErrorCodes.CLI_PARAMETER, ErrorCodes.MAIL_SEND].includes(err.code as never)) return again(err.code === ErrorCodes.PIN_POLICY ? 422 : 400, err.message);
    throw err;
  }
}

/** The "Reset UM Mailbox PIN" page (seeds/001 step 4), with Exchange's defaults unless a posted form is shown again. */
function resetPinPage(ctx: PageContext, m: OutputObject, o: { mode: 'generate' | 'type'; pinExpired: boolean; error?: string }): SafeHtml {
  const { t } = ctx;
  const identity = String(m.Identity);
  return page(ctx, {
    title: t.resetPinTitle,
    section: 'recipients',
    flash: o.error ? { kind: 'error', text: o.error } : undefined,
    body: html`<p>${String(m.DisplayName)} (${identity})</p>
<form method="post" action="${base}/${seg(identity)}/reset-pin" class="reset" autocomplete="off">
  ${csrfField(ctx)}
  <fieldset>
    <label><input type="radio" name="mode" value="generate" id="mode-generate"${o.mode === 'generate' ? html` checked` : ''}> ${t.autoGenerate}</label>
    <label><input type="radio" name="mode" value="type" id="mode-type"${o.mode === 'type' ? html` checked` : ''}> ${t.typePin}</label>
    <label>${t.newPin} <input type="password" name="pin" id="pin" inputmode="numeric" autocomplete="new-password"></label>
    <label><input type="checkbox" name="pinExpired" value="true" id="pin-expired-required"${o.pinExpired ? html` checked` : ''}> ${t.requireReset}</label>
  </fieldset>
  <p class="note">${t.resetPinMailNote}</p>
  <div class="actions"><button type="submit" id="save">${t.save}</button> <a href="${base}/${seg(identity)}">${t.cancel}</a></div>
</form>`,
  });
}

