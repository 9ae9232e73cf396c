/**
 * sendRedirectingConsole: the `sip` package's "err: ..." console lines, from the error listeners it adds to TCP
 * connections, go to the sink, also when a later send reuses a connection an earlier one is still opening (the
 * package's `open` hands the same socket out again while it connects). Real sockets; the two sends stand in for the
 * package's `stack.send` (as its stream transport does: one connection per address, a listener per request).
 */
import * as net from 'node:net';
import { sendRedirectingConsole } from '../../src/sip/embedded/socket-capture';
import { closedPort } from '../helpers';

test('the error listeners of new and reused client connections log to the sink, never to stdout', async () => {
  const port = await closedPort();
  const remotes = new Map<number, net.Socket>();
  // The package's transport: one connection per remote, reused while it exists; each request adds its listener.
  const packageSend = () => {
    let s = remotes.get(port);
    if (!s) {
      s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      remotes.set(port, s);
    }
    s.on('error', (err: Error) => console.log('err: ', err));
  };
  const clients = new Set<net.Socket>();
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log');
  try {
    const first = sendRedirectingConsole(packageSend, clients, (l) => lines.push(l));
    const second = sendRedirectingConsole(packageSend, clients, (l) => lines.push(l));
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(0); // the second send reused the connection
    await new Promise<void>((r) => first[0].once('close', () => r()));
    expect(log).not.toHaveBeenCalled();
    expect(lines).toEqual([expect.stringMatching(/^err: .*connect ECONNREFUSED/), expect.stringMatching(/^err: .*connect ECONNREFUSED/)]);
    expect(clients.size).toBe(0); // a closed connection leaves the set
  } finally {
    log.mockRestore();
  }
});
