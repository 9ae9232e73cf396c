/**
 * baresip (Debian `baresip-core`, 1.0.0 in Debian 12) as a real phone for the end-to-end tests, with no sound card:
 * - the microphone is the `aufile` module reading a WAV (8 kHz mono 16-bit);
 * - what the phone hears is written by the `sndfile` module, an audio filter that dumps the decoded audio of each
 *   call to `<snd_path>/dump-<time>-dec.wav` (and what it sends to `...-enc.wav`). Debian's build has no file
 *   player (`aufile` is a source only in 1.0.0) and none is needed: without a player the received audio is still
 *   decoded and goes through the filters. The dump holds the received packets back to back: a time with no RTP
 *   (between prompts) leaves no gap in it.
 * - keys are typed on its standard input (the `stdio` UI and the `menu` module: a digit, `*` or `#` during a call
 *   is sent as an RFC 4733 telephone-event when the answer has one); the call is placed with `-e "/dial <uri>"`.
 * SIP and RTP bind to 127.0.0.1 only (`net_interface 127.0.0.1`; `lo` is not accepted by this build), the account
 * does not register (`regint=0`) and its outbound proxy is the server under test. Every run has a hard kill.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { encodeWav } from '../../../src/media/wav';
import { findFreeSipPort } from '../../../src/sip/embedded/free-port';

export const BARESIP = process.env.BARESIP_BIN ?? '/usr/bin/baresip';
export const BARESIP_MODULES = process.env.BARESIP_MODULES ?? '/usr/lib/baresip/modules';
const NEEDED_MODULES = ['stdio', 'menu', 'account', 'g711', 'aufile', 'sndfile'];

/** Throws a clear error when baresip or a module it needs is missing (the test must fail, not skip). */
export function requireBaresip(): void {
  if (!existsSync(BARESIP) || spawnSync(BARESIP, ['-h'], { timeout: 5000 }).error) {
    throw new Error(`baresip not found at ${BARESIP}: install it with 'apt-get install -y baresip-core' (or set BARESIP_BIN)`);
  }
  const missing = NEEDED_MODULES.filter((m) => !existsSync(path.join(BARESIP_MODULES, `${m}.so`)));
  if (missing.length) throw new Error(`baresip modules missing in ${BARESIP_MODULES}: ${missing.join(', ')} (apt-get install -y baresip-core)`);
}

export interface BaresipOptions {
  /** A fresh folder for its configuration, microphone file and recordings. */
  dir: string;
  /** The server under test (outbound proxy). */
  proxy: { address: string; port: number };
  /** The SIP URI to call. */
  dial: string;
  /** The user part of our own address (the caller's number as the server sees it). */
  user?: string;
  /** baresip quits by itself after this long (`-t`), and is killed 5 s later. */
  quitAfterS?: number;
  /** What its microphone says from the start of the call (8 kHz samples); silence after it. Default: silence. */
  mic?: Int16Array;
}

export class BaresipPhone {
  private output = '';
  private exited: Promise<number | null>;
  private killTimer: NodeJS.Timeout;

  private constructor(
    private readonly child: ChildProcess,
    /** Where the `sndfile` module writes its dumps. */
    readonly recordingsDir: string,
    quitAfterS: number,
  ) {
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString('latin1')).slice(-100_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.killTimer = setTimeout(() => child.kill('SIGKILL'), (quitAfterS + 5) * 1000);
    this.exited = new Promise((resolve) => {
      child.on('error', (err) => {
        this.output += String(err);
        clearTimeout(this.killTimer);
        resolve(null);
      });
      // 'close', not 'exit': the output read after it must be complete.
      child.on('close', (code) => {
        clearTimeout(this.killTimer);
        resolve(code);
      });
    });
  }

  /** Writes the configuration and starts baresip; it dials at once. */
  static async start(o: BaresipOptions): Promise<BaresipPhone> {
    requireBaresip();
    const quitAfterS = o.quitAfterS ?? 50;
    const sipPort = await findFreeSipPort('127.0.0.1');
    const rtpBase = 40_000 + 2 * Math.floor(Math.random() * 9_000);
    const recordingsDir = path.join(o.dir, 'recordings');
    mkdirSync(recordingsDir, { recursive: true });
    const mic = path.join(o.dir, 'mic.wav');
    const micPcm = new Int16Array(8000 * (quitAfterS + 5)); // longer than the call
    if (o.mic) micPcm.set(o.mic.subarray(0, micPcm.length));
    writeFileSync(mic, encodeWav(micPcm));
    writeFileSync(
      path.join(o.dir, 'config'),
      [
        'poll_method poll',
        `sip_listen 127.0.0.1:${sipPort}`,
        'sip_trans_def udp',
        'net_interface 127.0.0.1',
        'call_local_timeout 60',
        'call_max_calls 1',
        `audio_source aufile,${mic}`,
        'audio_alert none',
        'ausrc_srate 8000',
        'auplay_srate 8000',
        'ausrc_channels 1',
        'auplay_channels 1',
        `rtp_ports ${rtpBase}-${rtpBase + 400}`,
        'rtcp_mux no',
        'jitter_buffer_delay 1-10',
        `module_path ${BARESIP_MODULES}`,
        'module stdio.so',
        'module g711.so',
        'module aufile.so',
        'module sndfile.so',
        'module_app account.so',
        'module_app menu.so',
        `snd_path ${recordingsDir}`,
        '',
      ].join('\n'),
    );
    writeFileSync(
      path.join(o.dir, 'accounts'),
      `<sip:${o.user ?? 'baresip'}@127.0.0.1>;regint=0;outbound="sip:${o.proxy.address}:${o.proxy.port}";audio_codecs=PCMU,PCMA\n`,
    );
    const child = spawn(BARESIP, ['-f', o.dir, '-t', String(quitAfterS), '-e', `/dial ${o.dial}`], { stdio: ['pipe', 'pipe', 'pipe'], cwd: o.dir });
    return new BaresipPhone(child, recordingsDir, quitAfterS);
  }

  /** Its console output so far (the most recent 100 kB). */
  get log(): string {
    return this.output;
  }

  /** Types keys on its console, `gapMs` apart (during a call a key is sent as a DTMF digit). */
  async type(keys: string, gapMs = 400): Promise<void> {
    for (const k of keys) {
      this.child.stdin!.write(k);
      await new Promise((r) => setTimeout(r, gapMs));
    }
  }

  /** Resolves when its output matches `re`; rejects after `timeoutMs`. */
  async waitFor(re: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.output)) {
      if (Date.now() > deadline) throw new Error(`baresip: no ${re} within ${timeoutMs} ms; output:\n${this.output.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Asks it to quit (`q`), then waits for it to exit (killed after `timeoutMs`). @returns the exit code */
  async quit(timeoutMs = 5000): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.stdin!.write('q');
      const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      try {
        return await this.exited;
      } finally {
        clearTimeout(t);
      }
    }
    return this.exited;
  }

  /** The WAV files of what the phone heard (`dump-*-dec.wav`). */
  heardFiles(): string[] {
    return readdirSync(this.recordingsDir)
      .filter((f) => /^dump-.*-dec\.wav$/.test(f))
      .map((f) => path.join(this.recordingsDir, f));
  }
}
