/**
 * Starts a FreeSWITCH of the machine's for a test or a benchmark (found by `findFreeswitch`: `FREESWITCH_BIN`, `FREESWITCH_DIR`, PATH,
 * `/opt/fs`) for a test, as drachtio-fsmrf expects one (`../shared/reference/real-servers.md`): an event socket, a
 * `drachtio_mrf` SIP profile with RFC 2833 on payload type 101, a dialplan that hands drachtio-fsmrf's INVITEs to
 * the outbound event socket, mod_conference with no caller controls of its own (the IVR's `*6`/`*8` are ours), and
 * an RTP range of its own. All on 127.0.0.1 and free ports, in a temporary folder; `-np` (no real-time priority),
 * `-nonat`, `-nc -nf` (no console, no fork), so the PID is FreeSWITCH's and it is stopped by it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { findFreeSipPort } from '../../src/sip/embedded/free-port';
import { accepts, findFreeswitch, freeTcpPort, removeDir, tail, terminate, track } from './real-servers';

/** A running FreeSWITCH on 127.0.0.1. */
export interface RunningFreeswitch {
  host: '127.0.0.1';
  /** The event socket (drachtio-fsmrf connects here). */
  eslPort: number;
  /** Its password (random per start). */
  secret: string;
  /** The `drachtio_mrf` SIP profile's port (UDP and TCP). */
  sipPort: number;
  /** Its RTP port range, inclusive. */
  rtp: { min: number; max: number };
  pid: number;
  /** The temporary folder: `conf/freeswitch.xml`, `log/freeswitch.log`, `stdout.log`. */
  dir: string;
  /** The last lines of its log. */
  logTail(lines?: number): string;
  /** SIGTERM, SIGKILL after 5 s; resolves once it exited. Idempotent. */
  stop(): Promise<void>;
}

/** Sends one API command on the event socket; resolves with the reply body. */
export function eslApi(port: number, secret: string, command: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    let sent = false;
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`event socket: no answer to "${command}"`));
    }, timeoutMs);
    c.on('data', (d) => {
      buf += d.toString('utf8');
      if (!sent && buf.includes('auth/request')) {
        sent = true;
        buf = '';
        c.write(`auth ${secret}\n\napi ${command}\n\n`);
        return;
      }
      const m = /Content-Type: api\/response\nContent-Length: (\d+)\n\n/.exec(buf);
      if (m && buf.length >= m.index + m[0].length + Number(m[1])) {
        clearTimeout(timer);
        c.destroy();
        resolve(buf.slice(m.index + m[0].length, m.index + m[0].length + Number(m[1])));
      }
    });
    c.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** The configuration: one self-contained freeswitch.xml (FreeSWITCH 1.10.12, the modules of real-servers.md). */
function freeswitchXml(o: { eslPort: number; secret: string; sipPort: number; rtpMin: number; rtpMax: number }): string {
  const loglevel = process.env.FREESWITCH_LOGLEVEL ?? 'warning';
  const modules = ['console', 'logfile', 'event_socket', 'sofia', 'loopback', 'commands', 'conference', 'db', 'dptools', 'expr', 'hash', 'spandsp', 'dialplan_xml', 'sndfile', 'native_file', 'tone_stream'];
  return `<?xml version="1.0"?>
<document type="freeswitch/xml">
  <section name="configuration">
    <configuration name="modules.conf"><modules>
${modules.map((m) => `      <load module="mod_${m}"/>`).join('\n')}
    </modules></configuration>
    <configuration name="switch.conf"><settings>
      <param name="colorize-console" value="false"/>
      <param name="max-sessions" value="2000"/>
      <param name="sessions-per-second" value="1000"/>
      <param name="loglevel" value="${loglevel}"/>
      <param name="dump-cores" value="no"/>
      <param name="rtp-start-port" value="${o.rtpMin}"/>
      <param name="rtp-end-port" value="${o.rtpMax}"/>
    </settings></configuration>
    <configuration name="console.conf"><settings><param name="loglevel" value="${loglevel}"/></settings></configuration>
    <configuration name="logfile.conf"><profiles><profile name="default">
      <settings><param name="rollover" value="10485760"/></settings>
      <mappings><map name="all" value="debug,info,notice,warning,err,crit,alert"/></mappings>
    </profile></profiles></configuration>
    <configuration name="event_socket.conf"><settings>
      <param name="nat-map" value="false"/>
      <param name="listen-ip" value="127.0.0.1"/>
      <param name="listen-port" value="${o.eslPort}"/>
      <param name="password" value="${o.secret}"/>
      <param name="apply-inbound-acl" value="loopback.auto"/>
    </settings></configuration>
    <configuration name="sofia.conf">
      <global_settings><param name="log-level" value="0"/><param name="auto-restart" value="false"/></global_settings>
      <profiles><profile name="drachtio_mrf"><settings>
        <param name="user-agent-string" value="drachtio MRF"/>
        <param name="context" value="mrf"/>
        <param name="dialplan" value="XML"/>
        <param name="sip-ip" value="127.0.0.1"/>
        <param name="sip-port" value="${o.sipPort}"/>
        <param name="rtp-ip" value="127.0.0.1"/>
        <param name="ext-sip-ip" value="127.0.0.1"/>
        <param name="ext-rtp-ip" value="127.0.0.1"/>
        <param name="rfc2833-pt" value="101"/>
        <param name="dtmf-type" value="rfc2833"/>
        <param name="codec-prefs" value="PCMU,PCMA"/>
        <param name="inbound-codec-negotiation" value="greedy"/>
        <param name="auth-calls" value="false"/>
        <param name="accept-blind-auth" value="true"/>
        <param name="disable-register" value="true"/>
        <param name="manage-presence" value="false"/>
        <param name="enable-3pcc" value="true"/>
        <param name="rtp-timer-name" value="soft"/>
        <param name="aggressive-nat-detection" value="false"/>
      </settings></profile></profiles>
    </configuration>
    <configuration name="conference.conf">
      <profiles><profile name="default">
        <param name="domain" value="127.0.0.1"/>
        <param name="rate" value="8000"/>
        <param name="interval" value="20"/>
        <param name="energy-level" value="200"/>
        <param name="comfort-noise" value="false"/>
        <param name="caller-controls" value="none"/>
      </profile></profiles>
    </configuration>
    <configuration name="db.conf"><settings/></configuration>
    <configuration name="spandsp.conf"><modem-settings><param name="total-modems" value="0"/></modem-settings></configuration>
  </section>
  <section name="dialplan">
    <context name="mrf">
      <extension name="drachtio-fsmrf">
        <condition field="\${sip_user_agent}" expression="^drachtio-fsmrf:(.*)$">
          <action application="answer"/>
          <action application="set" data="playback_terminators=none"/>
          <action application="socket" data="\${sip_h_X-esl-outbound} async full"/>
        </condition>
      </extension>
      <extension name="refuse">
        <condition field="destination_number" expression="^.*$"><action application="respond" data="403 Forbidden"/></condition>
      </extension>
    </context>
  </section>
</document>
`;
}

/** FreeSWITCH's folders, each pointed into the temporary folder (`-conf DIR -log DIR ...`). */
const FOLDERS = ['conf', 'log', 'run', 'db', 'cache', 'recordings', 'storage', 'sounds', 'temp', 'certs'];

/** Where the RTP ranges of the FreeSWITCH servers the tests start lie, and the slots they are cut into (ports). */
const RTP_BASE = 10_000;
const RTP_SLOT = 400;
const RTP_SLOTS = 25;
/** One lock file per slot in use, holding the owner's PID, shared by every test process on this machine. */
const SLOT_DIR = path.join(tmpdir(), 'va-freeswitch-rtp-slots');

/** True when process `pid` is running. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes slot `i` for this process; a lock left by a process that is gone is taken over. */
function takeSlot(i: number): boolean {
  const file = path.join(SLOT_DIR, `${i}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) return false;
      rmSync(file, { force: true });
    }
  }
  return false;
}

/**
 * Reserves an RTP port range for one FreeSWITCH, apart from every other FreeSWITCH the tests and benches run on this
 * machine at the same time: FreeSWITCH picks its ports at random in its range without trying them first, so two
 * servers with overlapping ranges (or a range another process's sockets use) fail calls' media now and then. The
 * ranges lie in 10000-19999: below the kernel's ephemeral range (32768-60999), where every socket bound to port 0
 * lands (our callers, SIPp's media, clients), and clear of what the tests give our RTP engine and baresip (20000
 * and up). Cut into slots of 400 ports (200 calls); a range takes whole consecutive slots, each held by a lock file
 * with the PID of the test process (taken over when that process is gone).
 * @param count ports wanted (rounded up to whole slots; at most 10,000)
 * @param want the range of a stopped server to take again (a restart), if its slots are free
 * @throws Error when no such range is free
 */
export function reserveRtpRange(count: number, want?: { min: number; max: number }): { min: number; max: number; release(): void } {
  mkdirSync(SLOT_DIR, { recursive: true });
  const slots = Math.min(RTP_SLOTS, Math.max(1, Math.ceil(count / RTP_SLOT)));
  const starts = Array.from({ length: RTP_SLOTS - slots + 1 }, (_, i) => i).sort(() => Math.random() - 0.5);
  if (want) starts.unshift(Math.floor((want.min - RTP_BASE) / RTP_SLOT));
  for (const first of starts) {
    if (first < 0 || first + slots > RTP_SLOTS) continue;
    const taken: number[] = [];
    for (let i = first; i < first + slots && takeSlot(i); i++) taken.push(i);
    const release = () => {
      for (const i of taken.splice(0)) rmSync(path.join(SLOT_DIR, `${i}.lock`), { force: true });
    };
    if (taken.length === slots) return { min: RTP_BASE + first * RTP_SLOT, max: RTP_BASE + (first + slots) * RTP_SLOT - 1, release };
    release();
  }
  throw new Error(`no ${slots * RTP_SLOT} free RTP ports for FreeSWITCH in ${RTP_BASE}-${RTP_BASE + RTP_SLOTS * RTP_SLOT - 1} (locks in ${SLOT_DIR})`);
}

/**
 * Starts FreeSWITCH and waits until its event socket answers and the `drachtio_mrf` profile is RUNNING.
 * @param opts.bin the binary (default: `findFreeswitch()`); @param opts.startTimeoutMs [30 000]; @param opts.rtpPorts
 *   how many RTP ports it gets [400]; @param opts.sameAs a stopped one whose ports and password to take again (a restart)
 * @throws Error when there is no binary, or it did not get ready in time (with the tail of its log)
 */
export async function startFreeswitch(opts: { bin?: string; startTimeoutMs?: number; rtpPorts?: number; sameAs?: RunningFreeswitch } = {}): Promise<RunningFreeswitch> {
  const bin = opts.bin ?? findFreeswitch();
  if (!bin) throw new Error('FreeSWITCH not found (FREESWITCH_BIN, FREESWITCH_DIR, PATH, /opt/fs/bin)');
  const dir = mkdtempSync(path.join(tmpdir(), 'va-freeswitch-'));
  for (const d of FOLDERS) mkdirSync(path.join(dir, d), { recursive: true });
  const same = opts.sameAs;
  const eslPort = same?.eslPort ?? (await freeTcpPort());
  const sipPort = same?.sipPort ?? (await findFreeSipPort('127.0.0.1'));
  const range = reserveRtpRange(opts.rtpPorts ?? 400, same?.rtp);
  const rtp = { min: range.min, max: range.max };
  const secret = same?.secret ?? randomBytes(8).toString('hex');
  writeFileSync(path.join(dir, 'conf', 'freeswitch.xml'), freeswitchXml({ eslPort, secret, sipPort, rtpMin: rtp.min, rtpMax: rtp.max }));
  const out = openSync(path.join(dir, 'stdout.log'), 'a');
  const args = ['-np', '-nonat', '-nc', '-nf'];
  for (const d of FOLDERS) args.push(`-${d}`, path.join(dir, d));
  const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', out, out] });
  track(child);
  const logTail = (lines = 40) => `${tail(path.join(dir, 'stdout.log'), lines)}\n${tail(path.join(dir, 'log', 'freeswitch.log'), lines)}`;
  let stopping: Promise<void> | null = null;
  // FreeSWITCH takes 4-5 s to exit on SIGTERM.
  const stop = () => (stopping ??= terminate(child, child.pid!, 6000).then(() => (range.release(), removeDir(dir))));
  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null) {
      range.release();
      throw new Error(`FreeSWITCH exited at start (code ${child.exitCode}):\n${logTail()}`);
    }
    if (await accepts(eslPort)) {
      const status = await eslApi(eslPort, secret, 'sofia status').catch(() => '');
      if (/drachtio_mrf\s.*RUNNING/.test(status)) break;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`FreeSWITCH was not ready within ${opts.startTimeoutMs ?? 30_000} ms:\n${logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { host: '127.0.0.1', eslPort, secret, sipPort, rtp, pid: child.pid!, dir, logTail, stop };
}
