/**
 * What the HTTP API sees of the running server besides the store (issue 21): the calls in progress, the drain
 * switch, whether SIP is up, and the MWI service. `serve` hands it to {@link startHttpApi} (`cli/serve-http.ts`);
 * these are narrow, read-mostly views, so the HTTP layer imports neither the runtime nor `notify/`.
 */

/** A call in progress, as the API lists it: never the digits typed, never the caller's number. */
export interface LiveCallView {
  /** The signalling's call id (as in the call's log lines). */
  callId: string;
  /** `sign-in`, `call-answering` or `conference`; null before the call is routed. */
  flow: string | null;
  /** The innermost running flow's `flowId.state` (`mailboxMenu.summary`), or null before it starts. */
  state: string | null;
  /** The mailbox a message is left in, or the one signed in to (once the PIN was right); else null. */
  mailbox: string | null;
  /** When the call was taken, ms since the epoch. */
  startedAt: number;
  /** How long it has lasted, ms. */
  durationMs: number;
}

/** The drain switch, after Exchange's `Set-UMService -Status` (Enabled | NoNewCalls). */
export type ServiceStatus = 'Enabled' | 'NoNewCalls';

/** A mailbox's lamp (the MWI service's `MwiLampState`, `notify/mwi-service.ts`). */
export interface MwiLampView {
  identity: string;
  extension: string;
  /** The policy's AllowMessageWaitingIndicator. */
  allowed: boolean;
  messagesWaiting: boolean;
  state: { newMessages: number; oldMessages: number; urgentNew: number; urgentOld: number };
  /** The UM IP gateways its NOTIFY goes to, in failover order. */
  gateways: string[];
  /** Whether the gateways were told the state it has now: current, stale, unconfirmed, never, or off. */
  delivery: 'current' | 'stale' | 'unconfirmed' | 'never' | 'off';
  /** A NOTIFY for it is in flight or waiting for a retry. */
  sending: boolean;
}

/** The MWI service as the API uses it. */
export interface MwiControl {
  /** @throws VaError VA_ERR_NOT_FOUND for an unknown mailbox */
  lampState(identity: string): Promise<MwiLampView>;
  /** Sends the lamp state again, changed or not. @throws VaError VA_ERR_NOT_FOUND for an unknown mailbox */
  resend(identity: string): Promise<void>;
}

/** What `/status`, `/readyz` and the server routes report about the server, and the switch they turn. */
export interface ServerState {
  /** True while the server takes no new calls: the drain switch is NoNewCalls, or it is stopping. */
  draining(): boolean;
  /** Calls in progress. */
  calls(): number;
  /** The calls in progress, oldest first. */
  liveCalls(): LiveCallView[];
  /** The drain switch's position. */
  status(): ServiceStatus;
  /**
   * Turns the drain switch (this process, until it stops): NoNewCalls refuses new calls with 503, calls in progress
   * finish. @returns true when it changed
   */
  setStatus(status: ServiceStatus): boolean;
  /** True once `serve` is stopping (its calls are being ended). */
  stopping(): boolean;
  /** The SIP side takes calls: the embedded stack's sockets are bound, or drachtio-server is attached. */
  sipReady(): boolean;
  mwi: MwiControl;
}
