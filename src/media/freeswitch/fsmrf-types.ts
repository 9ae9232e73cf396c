/**
 * Narrow typings of drachtio-fsmrf 4.1.2 (it ships none), covering what `media/freeswitch/` uses and nothing more,
 * as `sip/drachtio/srf-types.ts` does for drachtio-srf. Nothing outside this folder sees these shapes (DESIGN.md,
 * "Layers"). Checked against the package's `lib/mrf.js`, `lib/mediaserver.js` and `lib/endpoint.js`.
 */

import { applyEslFastPath, fsmrfModesl } from './esl-fast-path';
import { guardEslReconnect } from './esl-reconnect-guard';

/** An event or command reply on FreeSWITCH's event socket (drachtio-modesl's `Event`). */
export interface EslEvent {
  getHeader(name: string): string | undefined;
  getBody(): string;
}

/** drachtio-modesl's `Connection`, as an endpoint exposes it (`endpoint.conn`). */
export interface EslConnection {
  subscribe(events: string | string[], cb?: () => void): void;
  /** Sends a raw event-socket command (`nixevent ...`) and calls `cb` with the reply. */
  sendRecv(command: string, cb?: (reply: EslEvent) => void): void;
  on(event: string, listener: (evt: EslEvent) => void): unknown;
  removeListener(event: string, listener: (evt: EslEvent) => void): unknown;
}

/** The DTMF an endpoint reports (`lib/endpoint.js` `_onDtmf`): FreeSWITCH's `DTMF` event. */
export interface FsDtmf {
  dtmf: string;
  /** In samples (FreeSWITCH's DTMF-Duration). */
  duration?: string;
  /** `RTP` (RFC 2833/4733), `INBAND_AUDIO` (spandsp), `ENDPOINT` (SIP INFO to FreeSWITCH), `APP`, `UNKNOWN`. */
  source?: string;
}

/** An `Endpoint`: one call leg on FreeSWITCH (`lib/endpoint.js`). */
export interface FsEndpoint {
  /** FreeSWITCH's Channel-Unique-ID. */
  readonly uuid: string;
  /** FreeSWITCH's side of the media: its SDP (the answer for the caller), address and port. */
  readonly local: { sdp: string; mediaIp: string; mediaPort: string };
  readonly conn: EslConnection | null;
  /** Runs a dialplan application; resolves with its CHANNEL_EXECUTE_COMPLETE event. */
  execute(app: string, arg?: string): Promise<EslEvent>;
  /** Runs an API command on the endpoint's connection; resolves with the reply. */
  api(command: string, args?: string | string[]): Promise<EslEvent>;
  /** Joins a mod_conference room (`name@profile`); resolves with the member id once FreeSWITCH reports it. */
  join(conf: string, opts?: { profile?: string }): Promise<{ memberId: number | string; confUuid: string }>;
  /** Sends the endpoint a new remote SDP (re-INVITE from drachtio to FreeSWITCH). */
  modify(sdp: string): Promise<unknown>;
  /** Hangs up the leg on FreeSWITCH. */
  destroy(): Promise<void>;
  on(event: 'dtmf', listener: (e: FsDtmf) => void): unknown;
  on(event: 'destroy', listener: (e?: { reason?: string }) => void): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
}

/** A `MediaServer`: one FreeSWITCH reached on its event socket (`lib/mediaserver.js`). */
export interface FsMediaServer {
  /** The event socket's remote address. */
  readonly address: string;
  connected(): boolean;
  /**
   * Creates an endpoint streaming to `remoteSdp` (an INVITE from drachtio-server to FreeSWITCH's SIP profile).
   * Without `remoteSdp` (3pcc): the INVITE has no SDP, FreeSWITCH offers (`local.sdp`) and drachtio-srf ACKs with
   * that offer made `recvonly` (nothing flows) until `modify` gives FreeSWITCH the real remote SDP.
   */
  createEndpoint(opts: { remoteSdp?: string; codecs?: string[]; headers?: Record<string, string> }): Promise<FsEndpoint>;
  /** Runs an API command on the inbound connection; resolves with the reply's body. */
  api(command: string): Promise<string>;
  disconnect(): void;
  on(event: 'end', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
}

/** What `Mrf#connect` takes (`lib/mrf.js`). */
export interface FsConnectOptions {
  address: string;
  /** Event socket port (8021). */
  port: number;
  secret: string;
  /** Where the outbound event socket listener binds (it picks the first non-loopback address otherwise). */
  listenAddress: string;
  listenPort?: number;
  /** The SIP profile endpoints are created on (`drachtio_mrf`). */
  profile?: string;
}

/** The `Mrf` object (`new Mrf(srf)`). */
export interface FsMrf {
  connect(opts: FsConnectOptions): Promise<FsMediaServer>;
}

/** The package's export. */
export type FsMrfClass = new (srf: unknown, opts?: Record<string, unknown>) => FsMrf;

/**
 * Loads drachtio-fsmrf (kept out of the embedded engine's start-up: only `--media freeswitch` needs it), with
 * drachtio-modesl's own reconnecting turned off (`esl-reconnect-guard.ts`: the pool reconnects) and its event
 * decoding and command writing made cheaper (`esl-fast-path.ts`).
 */
export function loadMrf(): FsMrfClass {
  const modesl = fsmrfModesl();
  guardEslReconnect(modesl.Connection);
  applyEslFastPath(modesl);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('drachtio-fsmrf') as FsMrfClass;
}
