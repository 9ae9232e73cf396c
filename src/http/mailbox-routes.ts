/**
 * A mailbox's voice-message audio and its lamp over the HTTP API (issue 21): the WAV file of one message as
 * `audio/wav` (the rule and the checks are `services/voice-message-service.ts`, shared with the web pages), the MWI
 * state, and "send the lamp state again" (the MWI service's refresh NOTIFY). Deleting a message is the
 * `Remove-VoiceMessage` cmdlet's route (`routes.ts`).
 */
import { createReadStream } from 'node:fs';
import type { FastifyReply } from 'fastify';
import { runAuditedAction } from '../admin/audit';
import { voiceMessageAudio } from '../services/voice-message-service';
import { jsonResponse, type PlainRoute } from './plain-routes';
import type { MwiLampView } from './server-state';

/** The lamp object of `GET /api/mailboxes/{identity}/mwi` (PascalCase, as the cmdlets print objects). */

/**
 * Answers with a voice message's WAV (`audio/wav`, its length, `inline` with a file name), streamed from its file; a
 * voice message is personal, so no shared cache may keep it (`private, no-store`). Used by the API and the web pages.
 */
export function sendVoiceMessageAudio(reply: FastifyReply, audio: Awaited<ReturnType<typeof voiceMessageAudio>>): FastifyReply {
  return reply
    .type('audio/wav')
    .header('content-length', audio.bytes)
    .header('cache-control', 'private, no-store')
    .header('content-disposition', `inline; filename="voice-message-${audio.message.id}.wav"`)
    .send(createReadStream(audio.file));
}

const LAMP_SCHEMA = {
  type: 'object',
  required: ['Identity', 'Extension', 'AllowMessageWaitingIndicator', 'MessagesWaiting', 'NewMessages', 'OldMessages', 'Gateways', 'Delivery', 'Sending'],
  properties: {
    Identity: { type: 'string' },
    Extension: { type: 'string' },
    AllowMessageWaitingIndicator: { type: 'boolean', description: "the UM mailbox policy's setting" },
    MessagesWaiting: { type: 'boolean', description: 'the lamp: on when there are new messages (RFC 3842 Messages-Waiting)' },
    NewMessages: { type: 'integer' },
    OldMessages: { type: 'integer' },
    UrgentNew: { type: 'integer' },
    UrgentOld: { type: 'integer' },
    Gateways: { type: 'array', items: { type: 'string' }, description: 'the UM IP gateways the NOTIFY goes to, in failover order' },
    Delivery: {
      type: 'string',
      enum: ['Current', 'Stale', 'Unconfirmed', 'Never', 'Off'],
      description: 'Current: the gateways were told this state; Stale: a change is on its way or was given up; Unconfirmed: the last delivery went unanswered; Never; Off: no NOTIFY goes out',
    },
    Sending: { type: 'boolean', description: 'a NOTIFY is in flight or waiting for a retry' },
  },
} as const;

const lampObject = (l: MwiLampView) => ({
  Identity: l.identity,
  Extension: l.extension,
  AllowMessageWaitingIndicator: l.allowed,
  MessagesWaiting: l.messagesWaiting,
  NewMessages: l.state.newMessages,
  OldMessages: l.state.oldMessages,
  UrgentNew: l.state.urgentNew,
  UrgentOld: l.state.urgentOld,
  Gateways: l.gateways,
  Delivery: l.delivery.charAt(0).toUpperCase() + l.delivery.slice(1),
  Sending: l.sending,
});

const MAILBOX = { identity: 'the mailbox (its primary SMTP address)' };

/** The routes of this module. */
export const MAILBOX_ROUTES: readonly PlainRoute[] = [
  {
    method: 'GET',
    path: '/api/mailboxes/{identity}/messages/{id}/audio',
    summary: "A voice message's audio, as recorded (WAV, 8 kHz mono)",
    right: 'read',
    pathParams: { ...MAILBOX, id: "the message (Get-VoiceMessage's Identity)" },
    responses: { '200': { description: 'The WAV file', content: { 'audio/wav': { schema: { type: 'string', format: 'binary' } } } } },
    handler: async (req, reply, { app }) => {
      const { identity, id } = req.params as { identity: string; id: string };
      return sendVoiceMessageAudio(reply, await voiceMessageAudio(app.store, identity, id));
    },
  },
  {
    method: 'GET',
    path: '/api/mailboxes/{identity}/mwi',
    summary: "A mailbox's lamp (MWI): counts, whether the lamp is on, the gateways its NOTIFY goes to and whether they have its state",
    right: 'read',
    pathParams: MAILBOX,
    responses: { '200': jsonResponse('The lamp', LAMP_SCHEMA) },
    handler: async (req, reply, { state }) => reply.header('cache-control', 'no-store').send(lampObject(await state.mwi.lampState((req.params as { identity: string }).identity))),
  },
  {
    method: 'POST',
    path: '/api/mailboxes/{identity}/mwi',
    summary: "Sends the lamp state again, changed or not: a NOTIFY to the mailbox's first UM IP gateway (then failover, retried as any lamp change) and to its subscribers; 202 with the lamp",
    right: 'um',
    pathParams: MAILBOX,
    responses: { '202': jsonResponse('The NOTIFY is on its way; the lamp as now', LAMP_SCHEMA) },
    handler: async (req, reply, { app, state, caller }) => {
      const identity = (req.params as { identity: string }).identity;
      await runAuditedAction(app, { action: 'Send-VaMwiState', target: identity, parameters: { Identity: identity } }, caller(req), () => state.mwi.resend(identity));
      return reply.code(202).header('cache-control', 'no-store').send(lampObject(await state.mwi.lampState(identity)));
    },
  },
];
