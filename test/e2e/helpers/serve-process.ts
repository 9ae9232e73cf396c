/**
 * `voice-access serve` as a child process (`bin/voice-access.js`, the compiled `dist/`: `npm run build` first, as
 * `npm test` does), for the tests of what only a process shows: its exit status, signals, SIGKILL and a restart on
 * the same data folder. Its log lines (JSON, pino, stdout) and stderr are kept; every process started here is
 * stopped by PID (`kill()`, or the hard timer given at start).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import * as path from 'node:path';
import { openApp } from '../../../src/app';
import { NetCaller } from '../../../src/sim/net/net-caller';
import type { MediaEngine } from '../../../src/media/media-engine';
import { PromptCatalog } from '../../../src/prompts/catalog';
import type { SipClient } from '../../../src/sip/embedded/sip-client';
import { ROOT } from '../../helpers';

/** A `serve` child process. */
export interface ServeProcess {
  child: ChildProcess;
  pid: number;
  /** stdout so far (pino's JSON lines). */
  readonly out: string;
  readonly err: string;
  /** The JSON log lines so far (lines that do not parse are left out). */
  lines(): Array<Record<string, any>>;
  /** Resolves with the first log line `pred` accepts (checked every 50 ms); rejects after `timeoutMs`, or when the process exits first. */
  line(pred: (l: Record<string, any>) => boolean, timeoutMs: number, what: string): Promise<Record<string, any>>;
  /** Resolves with the exit code (null when killed by a signal) and the signal, once it has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Sends SIGKILL by PID when it is still running. */
  kill(): void;
}

/**
 * Starts `voice-access serve` with `args` (after `serve`).
 * @param hardKillMs SIGKILL after this long whatever happens (bounded tests), ms
 */
export function spawnServe(args: string[], hardKillMs: number): ServeProcess {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'voice-access.js'), 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => {
      done = true;
      clearTimeout(killer);
      resolve({ code, signal, at: Date.now() });
    }),
  );
  const kill = () => {
    if (!done && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };
  const killer = setTimeout(kill, hardKillMs);
  const lines = () => {
    const parsed: Array<Record<string, any>> = [];
    for (const l of out.split('\n')) {
      if (!l.startsWith('{')) continue;
      try {
        parsed.push(JSON.parse(l));
      } catch {
        /* a line being written */
      }
    }
    return parsed;
  };
  return {
    child,
    pid: child.pid!,
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    lines,
    async line(pred, timeoutMs, what) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = lines().find(pred);
        if (hit) return hit;
        if (done) throw new Error(`serve exited before ${what}\nstdout:\n${out.slice(-4000)}\nstderr:\n${err.slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\nstdout:\n${out.slice(-4000)}\nstderr:\n${err.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    exited,
    kill,
  };
}

/** The catalog the callers recognise prompts with. */
export const catalog = PromptCatalog.load();

/**
 * Places a call diverted from david's extension (51235) to the Outlook Voice Access number: call answering.
 * @param target the server's SIP port on 127.0.0.1, or its address and port (UDP)
 * @param from the caller's number
 */
export function divertedCall(client: SipClient, media: MediaEngine, target: number | { address: string; port: number }, from: string): Promise<NetCaller> {
  return accessNumberCall(client, media, target, from, '51235');
}

/**
 * Places a call to the Outlook Voice Access number (sign-in), or, with `diversion`, one diverted from that extension
 * (call answering); the caller recognises en-US prompts.
 */
export function accessNumberCall(client: SipClient, media: MediaEngine, target: number | { address: string; port: number }, from: string, diversion?: string): Promise<NetCaller> {
  const to = typeof target === 'number' ? { address: '127.0.0.1', port: target } : target;
  return NetCaller.place({
    client,
    target: { transport: 'udp', host: to.address, port: to.port },
    media,
    mediaAddress: '127.0.0.1',
    catalog,
    locales: ['en-US'],
    now: () => Date.now(),
    to: '+14255550100',
    from,
    ...(diversion ? { diversion } : {}),
  });
}

/**
 * Gives david a short personal greeting (the catalog's `am.wav`, "A.M.", copied into `dir`) in the store of `data`,
 * so a diverted caller reaches the beep in about a second instead of the 11 s of the default greeting. The store is
 * created (the directory imported) when it does not exist yet.
 * @returns the greeting file
 */
export async function shortGreeting(config: string, data: string, dir: string): Promise<string> {
  const app = await openApp({ config, data });
  try {
    const file = path.join(dir, 'greeting-david.wav');
    copyFileSync(path.join(ROOT, 'prompts', 'en-US', 'am.wav'), file);
    await app.store.updateMailbox('david@contoso.com', { greetingFile: file });
    return file;
  } finally {
    app.close();
  }
}
