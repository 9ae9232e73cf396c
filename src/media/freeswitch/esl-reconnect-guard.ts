/**
 * A guard on drachtio-modesl's own reconnecting of an inbound event-socket connection (`lib/esl/Connection.js`,
 * 1.3.1, the one drachtio-fsmrf 4.1.2 uses), so that a FreeSWITCH that refuses the connection is not tried again
 * every millisecond for ever.
 *
 * drachtio-modesl reconnects an inbound connection itself when it is lost or fails (`_onError` and the socket's
 * `close` call `_onConnectionGone`). Its backoff variables are set only once a connection has succeeded
 * (`initializeRetryVars` in `_onConnect`): for a connection refused from the start the delay is `undefined * 1.7`,
 * NaN, which Node's `setTimeout` takes as 1 ms, and every new attempt that fails schedules the next one. Each failed
 * `Mrf#connect` therefore left a loop connecting to the dead port about a thousand times a second, for the life of
 * the process, and nothing can stop it (the connection is not handed back on failure). Seen as the test worker that
 * "failed to exit gracefully" after `test/media/freeswitch-pool.test.ts` (December 2026); in `serve`, one such loop
 * per retry while a listed FreeSWITCH is down.
 *
 * Reconnecting is the pool's (`freeswitch-pool.ts`: backoff, logging, a new `Mrf#connect` each time; a media server
 * whose connection ends is disconnected there), so the guard makes drachtio-modesl's `_onConnectionGone` end the
 * connection for good instead (`closing`, no timer).
 */

/** What the guard needs of drachtio-modesl's `Connection`. */
interface EslConnectionLike {
  _onConnectionGone(): void;
  closing?: boolean;
  _inbound?: boolean;
}

const GUARDED = Symbol.for('voice-access.esl-reconnect-guard');

/**
 * Replaces `Connection.prototype._onConnectionGone` once (idempotent): an inbound connection that is lost or
 * refused is closed, not retried by drachtio-modesl.
 * @param Connection the class drachtio-fsmrf uses (`fsmrfModesl().Connection`, `esl-fast-path.ts`)
 */
export function guardEslReconnect(Connection: { prototype: object }): void {
  const proto = Connection.prototype as EslConnectionLike & { [GUARDED]?: boolean };
  if (proto[GUARDED]) return;
  proto._onConnectionGone = function closeInsteadOfRetrying(this: EslConnectionLike): void {
    this.closing = true;
  };
  proto[GUARDED] = true;
}
