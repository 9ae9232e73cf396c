/**
 * The host under a benchmark: on a shared machine the hypervisor takes a varying share of the CPU (steal), and every
 * figure moves with it. Benchmarks print that share beside their figures.
 */
import { readFileSync } from 'node:fs';

/**
 * Starts measuring the host's share of CPU time (the `steal` column of /proc/stat, all CPUs); call the result to
 * read the share since the start, 0-1 (0 where /proc/stat has no steal column).
 */
export function stealMeter(): () => number {
  const read = () => {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { steal: cpu[7] ?? 0, total: cpu.reduce((a, b) => a + b, 0) };
  };
  const before = read();
  return () => {
    const now = read();
    return (now.steal - before.steal) / Math.max(1, now.total - before.total);
  };
}
