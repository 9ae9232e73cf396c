/**
 * An EmbeddedSipServer on 127.0.0.1, port 0, with a tiny in-test application:
 * - a source other than 127.0.0.1 -> 403 (the UM IP gateway allow-list, in miniature)
 * - user `404` -> 404; user `ring` -> 180 and no answer (for CANCEL); user `info-bye` -> answer, and BYE after the
 *   first INFO; any other user -> 200 with an SDP answer from sdp.ts (RTP port 40000, no RTP sent), 488 without G.711
 * Every call is recorded (fields, dialog events) for the assertions. `SIP_TEST_LOG=debug` shows the server's log.
 */
import pino from 'pino';
import { answerOffer } from '../../../src/sip/embedded/sdp';
import {
  EmbeddedSipServer,
  type Dialog,
  type DialogEndedBy,
  type IncomingInvite,
  type SipServerOptions,
} from '../../../src/sip/embedded/sip-server';

export interface CallRecord {
  invite: IncomingInvite;
  dialog?: Dialog;
  cancelled: boolean;
  ended?: { by: DialogEndedBy; cause?: string };
  infos: Array<{ contentType: string; body: string }>;
  reinvites: Array<string | null>;
}

export interface TestSipServer {
  server: EmbeddedSipServer;
  target: { address: string; port: number };
  calls: CallRecord[];
  /** Replaces the default application for one test (return true when it handled the INVITE). */
  custom: ((invite: IncomingInvite, record: CallRecord) => boolean) | null;
  call(callId: string): CallRecord | undefined;
  stop(): Promise<void>;
}

export async function startTestServer(options: Partial<SipServerOptions> = {}): Promise<TestSipServer> {
  const server = await EmbeddedSipServer.start({
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: process.env.SIP_TEST_LOG ?? 'silent' }),
    ...options,
  });
  const t: TestSipServer = {
    server,
    target: { address: server.host, port: server.port },
    calls: [],
    custom: null,
    call: (callId) => t.calls.find((c) => c.invite.callId === callId),
    stop: () => server.stop(),
  };
  let sessionVersion = 1;
  server.onInvite((invite) => {
    const record: CallRecord = { invite, cancelled: false, infos: [], reinvites: [] };
    t.calls.push(record);
    invite.onCancel(() => (record.cancelled = true));
    if (t.custom && t.custom(invite, record)) return;
    if (invite.source.address !== '127.0.0.1') return invite.reject(403);
    if (invite.toUser === '404') return invite.reject(404);
    if (invite.toUser === 'ring') return invite.ringing();
    const a = answerOffer(invite.offer ?? '', { address: '127.0.0.1', port: 40000, sessionId: '1', sessionVersion });
    if (!a) return invite.reject(488);
    const dialog = invite.accept(a.answer);
    record.dialog = dialog;
    dialog.onEnded((by, cause) => (record.ended = cause === undefined ? { by } : { by, cause }));
    dialog.onInfo((contentType, body, respond) => {
      record.infos.push({ contentType, body });
      respond(200);
      if (invite.toUser === 'info-bye') void dialog.bye();
    });
    dialog.onReinvite((offer) => {
      record.reinvites.push(offer);
      return answerOffer(offer ?? '', { address: '127.0.0.1', port: 40000, sessionId: '1', sessionVersion: ++sessionVersion })?.answer ?? null;
    });
  });
  return t;
}

/** Polls `pred` every 10 ms until true; rejects after `timeoutMs`. */
export async function waitFor(pred: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
