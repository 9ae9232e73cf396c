/**
 * A user's voice mail on the Recipients page (issue 21): the message waiting indicator (the MWI service's lamp state
 * when the server runs one: on or off, the counts, the UM IP gateways and whether they were told; otherwise worked
 * out from the unheard messages) with "Send the lamp state again", and the voice messages (Get-VoiceMessage) with an
 * audio player and Delete (Remove-VoiceMessage: the audio file goes too, and the lamp follows). The audio is served
 * to the signed-in session (`/admin/recipients/{identity}/messages/{id}/audio`), by the same service and checks as
 * the API's `audio/wav` route (`services/voice-message-service.ts`).
 */
import type { FastifyRequest } from 'fastify';
import { voiceMessageAudio } from '../../services/voice-message-service';
import { sendVoiceMessageAudio } from '../mailbox-routes';
import type { ServerState } from '../server-state';
import { html, seg, type SafeHtml } from './html';
import type { WebKit } from './kit';
import { csrfField, settingsList, WEB_BASE, yesNo, type PageContext } from './layout';
import { fmt } from './strings';

const base = `${WEB_BASE}/recipients`;

/**
 * The "Message waiting indicator" and "Voice messages" sections of a user's page.
 * @param allowed the UM mailbox policy's AllowMessageWaitingIndicator (for the lamp without an MWI service)
 * @throws what the cmdlets throw (VaError VA_ERR_NOT_FOUND)
 */
export async function voiceMailSections(kit: WebKit, ctx: PageContext, req: FastifyRequest, identity: string, allowed: boolean, state: ServerState | undefined): Promise<SafeHtml> {
  const { t } = ctx;
  const messages = await kit.run(ctx, req, 'Get-VoiceMessage', { Identity: identity });
  const unheard = messages.filter((v) => v.Unheard === true).length;
  const rows: Array<readonly [string, SafeHtml | string]> = [];
  if (state) {
    const l = await state.mwi.lampState(identity);
    const lamp = !l.allowed ? t.lampNotAllowed : l.messagesWaiting ? fmt(t.lampOn, l.state.newMessages) : t.lampOff;
    rows.push([t.mwi, html`<span id="lamp">${lamp}</span>`], [t.lampGateways, l.gateways.join(', ') || t.none], [t.lampDelivery, html`<span id="lamp-delivery">${l.delivery}</span>${l.sending ? ` (${t.lampSending})` : ''}`]);
  } else {
    // The lamp is lit while a message is unheard, when the policy allows MWI (seeds/004).
    rows.push([t.mwi, html`<span id="lamp">${!allowed ? t.lampNotAllowed : unheard > 0 ? fmt(t.lampOn, unheard) : t.lampOff}</span>`]);
  }
  rows.push([t.voiceMessages, fmt(t.voiceMessagesCount, messages.length, unheard)]);
  const resend =
    state && ctx.can('um')
      ? html`<div class="actions"><form method="post" action="${base}/${seg(identity)}/mwi">${csrfField(ctx)}<button type="submit" id="resend-lamp">${t.resendLamp}</button></form></div>`
      : '';
  const table = messages.length
    ? html`<table id="voice-messages">
  <thead><tr><th>${t.messageFrom}</th><th>${t.messageReceived}</th><th>${t.messageDuration}</th><th>${t.messageUnheard}</th><th>${t.messageUrgent}</th><th>${t.messagePlay}</th>${ctx.can('um') ? html`<th></th>` : ''}</tr></thead>
  <tbody>${messages.map((v) => {
    const id = String(v.Identity);
    const url = `${base}/${seg(identity)}/messages/${seg(id)}`;
    return html`<tr data-message="${id}">
  <td>${v.From === null || v.From === undefined ? t.withheld : String(v.From)}</td>
  <td><time datetime="${String(v.Received)}">${new Date(String(v.Received)).toLocaleString(ctx.locale, { timeZone: 'UTC', timeZoneName: 'short' })}</time></td>
  <td>${String(v.DurationSeconds)}</td>
  <td>${yesNo(t, v.Unheard)}</td>
  <td>${yesNo(t, v.Urgent)}</td>
  <td><audio controls preload="none" src="${url}/audio"></audio></td>
  ${ctx.can('um') ? html`<td><form method="post" action="${url}/delete" data-confirm="${t.deleteMessage}?">${csrfField(ctx)}<button type="submit" class="delete-message">${t.deleteMessage}</button></form></td>` : ''}
</tr>`;
  })}</tbody>
</table>`
    : html`<p class="note">${t.noMessages}</p>`;
  return html`<h2>${t.mwi}</h2>
${settingsList(rows, 'lamp-state')}
${resend}
<h2>${t.voiceMessages}</h2>
${table}`;
}

/** Registers a voice message's audio and Delete, and "Send the lamp state again" when the server runs MWI. */
export function registerVoiceMessageRoutes(kit: WebKit, state: ServerState | undefined): void {
  kit.file('/recipients/:identity/messages/:id/audio', async (_ctx, req, reply) => {
    return sendVoiceMessageAudio(reply, await voiceMessageAudio(kit.app.store, req.params.identity, req.params.id));
  });

  kit.action('/recipients/:identity/messages/:id/delete', 'um', async (ctx, req) => {
    const [m] = await kit.run(ctx, req, 'Get-UMMailbox', { Identity: req.params.identity });
    const identity = String(m.Identity);
    await kit.run(ctx, req, 'Remove-VoiceMessage', { Identity: identity, MessageId: req.params.id });
    return { redirect: `${base}/${seg(identity)}`, flash: { kind: 'ok', text: ctx.t.messageDeleted } };
  });

  if (state) {
    kit.action('/recipients/:identity/mwi', 'um', async (ctx, req) => {
      const [m] = await kit.run(ctx, req, 'Get-UMMailbox', { Identity: req.params.identity });
      const identity = String(m.Identity);
      await kit.audited(ctx, req, { action: 'Send-VaMwiState', target: identity, parameters: { Identity: identity } }, () => state.mwi.resend(identity));
      return { redirect: `${base}/${seg(identity)}`, flash: { kind: 'ok', text: ctx.t.lampResent } };
    });
  }
}
