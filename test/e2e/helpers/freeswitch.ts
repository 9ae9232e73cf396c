/**
 * What a FreeSWITCH running a test's media says about its calls, asked on its event socket: the channels it has
 * (drachtio-fsmrf's endpoints, one per call) and, for each, the RTP addresses and the packet counts. With FreeSWITCH
 * media the RTP of a call flows between the caller and FreeSWITCH: this is where a test sees it, as it reads
 * `RtpCallChannel.media.stats` on our own engine.
 */
import { eslApi, type RunningFreeswitch } from '../../helpers/real-servers';

/** One FreeSWITCH channel's media, read while the call is up. */
export interface FreeswitchMedia {
  uuid: string;
  /** FreeSWITCH's RTP address and port for the call (what its SDP answer offered the caller). */
  local: { address: string; port: number };
  /** Where FreeSWITCH sends the call's RTP (the caller's address and port). */
  remote: { address: string; port: number };
  /** RTP audio packets received from the caller and sent to it, so far. */
  packetsIn: number;
  packetsOut: number;
}

/** The UUIDs of FreeSWITCH's channels (`show channels as json`). */
export async function freeswitchChannels(fs: RunningFreeswitch): Promise<string[]> {
  const reply = await eslApi(fs.eslPort, fs.secret, 'show channels as json');
  const rows = (JSON.parse(reply) as { rows?: Array<{ uuid: string }> }).rows ?? [];
  return rows.map((r) => r.uuid);
}

/**
 * The media of one FreeSWITCH channel: `uuid_set_media_stats` (mod_commands) puts the RTP counters into channel
 * variables, `uuid_getvar` reads them and the negotiated addresses.
 * @throws Error when FreeSWITCH has no such channel
 */
export async function freeswitchMedia(fs: RunningFreeswitch, uuid: string): Promise<FreeswitchMedia> {
  const api = (cmd: string) => eslApi(fs.eslPort, fs.secret, cmd).then((r) => r.trim());
  const set = await api(`uuid_set_media_stats ${uuid}`);
  if (!set.startsWith('+OK')) throw new Error(`FreeSWITCH: uuid_set_media_stats ${uuid}: ${set}`);
  const v = async (name: string) => {
    const r = await api(`uuid_getvar ${uuid} ${name}`);
    return r === '_undef_' || r.startsWith('-ERR') ? '' : r;
  };
  return {
    uuid,
    local: { address: await v('local_media_ip'), port: Number(await v('local_media_port')) },
    remote: { address: await v('remote_media_ip'), port: Number(await v('remote_media_port')) },
    packetsIn: Number(await v('rtp_audio_in_packet_count')),
    packetsOut: Number(await v('rtp_audio_out_packet_count')),
  };
}
