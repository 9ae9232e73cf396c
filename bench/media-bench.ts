/**
 * RTP engine benchmark (issue 4, "Concurrent calls hearing prompts"; figures, not assertions): N sessions each
 * play a long prompt as PCMU to a sink socket on 127.0.0.1 for a while, from the engine's one shared 20 ms tick.
 * Printed per N: the tick's lateness against its deadlines (p50/p99/max), the send interval's deviation from 20 ms
 * over all sessions (p99, and the worst session's p99), packets sent and received by the sink, CPU, and RSS growth
 * per session. Target (issue 4): 500 concurrent calls on this 2-core machine within 5 ms p99.
 *
 * The sink runs in a worker thread (its own event loop) so that receiving 25,000 packets/s does not load the loop
 * being measured. Everything stays on 127.0.0.1.
 *
 * Usage: `node dist/bench/media-bench.js [N ...]` (default 100 250 500), `BENCH_MEDIA_SECONDS` (default 10),
 * `BENCH_MEDIA_DUPLEX=1` to have the sink echo every packet back (each session also receives and analyses audio).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { MediaEngine } from '../src/media/media-engine';
import { MsHistogram } from '../src/media/histogram';
import { readWavPcm } from '../src/media/wav';

/** The result of one run. */
export interface MediaBenchResult {
  sessions: number;
  seconds: number;
  tick: { ticks: number; p50Ms: number; p99Ms: number; maxMs: number; skipped: number };
  sendIntervalP99DeviationMs: number;
  worstSessionP99DeviationMs: number;
  packetsSent: number;
  packetsReceived: number;
  /** Packets the sessions received back (duplex runs only). */
  packetsEchoed: number;
  cpuPercent: number;
  rssPerSessionKiB: number;
}

const SINK_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const dgram = require('node:dgram');
const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
let count = 0;
s.on('message', (m, r) => { count++; if (workerData.echo) s.send(m, r.port, r.address); });
s.bind(0, '127.0.0.1', () => parentPort.postMessage({ port: s.address().port }));
parentPort.on('message', (m) => {
  if (m === 'count') parentPort.postMessage({ count });
  if (m === 'stop') { s.close(); parentPort.postMessage({ count }); parentPort.close(); }
});
`;

function startSink(echo: boolean): Promise<{ port: number; count: () => Promise<number>; stop: () => Promise<number> }> {
  const w = new Worker(SINK_CODE, { eval: true, workerData: { echo } });
  const ask = (msg: string) =>
    new Promise<number>((resolve) => {
      w.once('message', (m: { count: number }) => resolve(m.count));
      w.postMessage(msg);
    });
  return new Promise((resolve, reject) => {
    w.once('error', reject);
    w.once('message', (m: { port: number }) =>
      resolve({
        port: m.port,
        count: () => ask('count'),
        stop: async () => {
          const n = await ask('stop');
          await w.terminate();
          return n;
        },
      }),
    );
  });
}

/** The repository root, from source (`bench/`), from `dist/bench/`, or the working directory. */
function repoRoot(): string {
  const candidates = [path.resolve(__dirname, '..'), path.resolve(__dirname, '..', '..'), process.cwd()];
  return candidates.find((p) => existsSync(path.join(p, 'prompts', 'tones'))) ?? process.cwd();
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs one measurement.
 * @param sessions concurrent sessions
 * @param seconds how long they play, s
 * @param duplex when true the sink echoes every packet back, so each session also receives, decodes, runs VAD
 *        and the in-band DTMF detector on 50 packets/s (a caller talking all the time: the worst case)
 */
export async function measureMedia(sessions: number, seconds: number, duplex = false): Promise<MediaBenchResult> {
  const prompt = readWavPcm(path.join(repoRoot(), 'prompts', 'tones', 'music-on-hold.wav'));
  const sink = await startSink(duplex);
  if (global.gc) global.gc();
  const rss0 = process.memoryUsage().rss;
  const engine = await MediaEngine.start({ host: '127.0.0.1', portMin: 0, portMax: 0 });
  try {
    const list = [];
    for (let i = 0; i < sessions; i++) {
      const s = await engine.openSession({ inbandDtmf: duplex });
      s.setRemote({ address: '127.0.0.1', port: sink.port, payloadType: 0, telephoneEventPt: 101 });
      list.push(s);
    }
    // Warm-up: let the tick settle before measuring.
    for (const s of list) for (let k = 0; k < Math.ceil((seconds + 3) * 1000 / 10_000); k++) s.play(prompt);
    await sleep(1000);
    engine.resetTickStats();
    for (const s of list) s.sendIntervalHistogram.reset();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const elapsed = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const rss1 = process.memoryUsage().rss;
    const tick = engine.tickStats();
    const all = new MsHistogram(0.1, 100);
    let worst = 0;
    for (const s of list) {
      const h = s.sendIntervalHistogram;
      worst = Math.max(worst, h.percentile(99));
      all.merge(h);
    }
    // Loss over the whole run: stop sending, let the last packets land, compare totals.
    for (const s of list) s.setSending(false);
    await sleep(300);
    const packetsSent = list.reduce((n, s) => n + s.stats.packetsOut, 0);
    const packetsReceived = await sink.count();
    const packetsEchoed = list.reduce((n, s) => n + s.stats.packetsIn, 0);
    return {
      sessions,
      seconds,
      tick,
      sendIntervalP99DeviationMs: all.percentile(99),
      worstSessionP99DeviationMs: worst,
      packetsSent,
      packetsReceived,
      packetsEchoed,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / elapsed) * 100,
      rssPerSessionKiB: (rss1 - rss0) / 1024 / sessions,
    };
  } finally {
    await engine.stop();
    await sink.stop();
  }
}

/**
 * Runs the benchmark for each size and prints one line per size.
 * @param sizes session counts (default 100, 250, 500)
 * @param seconds measured seconds per size (default `BENCH_MEDIA_SECONDS` or 10)
 */
export async function runMediaBench(
  sizes: number[] = [100, 250, 500],
  seconds = Number(process.env.BENCH_MEDIA_SECONDS ?? 10),
  duplex = process.env.BENCH_MEDIA_DUPLEX === '1',
): Promise<MediaBenchResult[]> {
  const out: MediaBenchResult[] = [];
  const f = (n: number) => n.toFixed(2);
  console.log(
    `RTP engine: N sessions playing PCMU to a sink on 127.0.0.1, one shared 20 ms tick, ${seconds} s each` +
      (duplex ? '; the sink echoes every packet back (receive, VAD, in-band DTMF on)' : ''),
  );
  for (const n of sizes) {
    const r = await measureMedia(n, seconds, duplex);
    out.push(r);
    const loss = r.packetsSent ? (1 - r.packetsReceived / r.packetsSent) * 100 : 0;
    console.log(
      `  ${String(n).padStart(4)} sessions: tick lateness p50 ${f(r.tick.p50Ms)} / p99 ${f(r.tick.p99Ms)} / max ${f(r.tick.maxMs)} ms` +
        ` (${r.tick.skipped} skipped); send interval |dev from 20 ms| p99 ${f(r.sendIntervalP99DeviationMs)} ms` +
        ` (worst session ${f(r.worstSessionP99DeviationMs)}; target 5); ${r.packetsSent} sent, ${r.packetsReceived} received` +
        ` (${f(loss)}% lost)${duplex ? `, ${r.packetsEchoed} echoed back` : ''}; CPU ${r.cpuPercent.toFixed(0)}%; RSS +${r.rssPerSessionKiB.toFixed(1)} KiB/session`,
    );
  }
  return out;
}

if (require.main === module) {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  void runMediaBench(sizes.length ? sizes : undefined);
}
