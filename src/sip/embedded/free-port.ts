/**
 * Finds a port that is free for both UDP and TCP on one address (SIP listens on both with one port number; the `sip`
 * package turns port 0 into 5060, so "any free port" has to be chosen before it binds).
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';

/**
 * Probes free ports: binds UDP to port 0, then tries TCP on the same number.
 * @param host the address to bind (IPv4 or IPv6 literal)
 * @param attempts how many candidate ports to try before giving up (bounded)
 * @returns a port number that was free for both at the moment of the probe (another process may still take it)
 * @throws Error when no candidate in `attempts` was free for both, or the address cannot be bound at all
 */
export async function findFreeSipPort(host: string, attempts = 20): Promise<number> {
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(0, host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      const port = udp.address().port;
      const tcp = net.createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, host, () => {
            tcp.off('error', reject);
            resolve();
          });
        });
        return port;
      } catch (e) {
        lastError = e;
      } finally {
        await new Promise<void>((resolve) => tcp.close(() => resolve()));
      }
    } catch (e) {
      lastError = e;
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
    } finally {
      udp.close();
    }
  }
  throw new Error(`no port free for both UDP and TCP on ${host}: ${String(lastError)}`);
}
