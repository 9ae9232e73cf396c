/**
 * A UM IP gateway on TCP for the tests of the lamp (MWI goes over TCP to the gateways of an Unsecured dial plan):
 * a listener on 127.0.0.1 that keeps every NOTIFY it receives (framed by Content-Length, RFC 3261 §18.3) and
 * answers 200 to the ones `answer` accepts (all by default); the others get nothing, as from a gateway that hangs.
 */
import * as net from 'node:net';
import { answer as answerOf, onTcpMessages, type RawMessage } from '../sip/helpers/raw-sip';

/** A running gateway. */
export interface TcpGateway {
  port: number;
  /** Every NOTIFY received, in order (`at`: performance.now() at arrival). */
  notifies: RawMessage[];
  /** The NOTIFYs answered 200. */
  answered: Set<RawMessage>;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

/**
 * Starts the gateway on a free port of 127.0.0.1.
 * @param answer decides, per NOTIFY, whether it gets a 200 (true) or nothing (false); called before it is kept
 */
export async function startTcpGateway(answer: (m: RawMessage) => boolean = () => true): Promise<TcpGateway> {
  const notifies: RawMessage[] = [];
  const answered = new Set<RawMessage>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onTcpMessages(socket, (m) => {
      if (m.method !== 'NOTIFY') return;
      const yes = answer(m);
      notifies.push(m);
      if (!yes) return;
      answered.add(m);
      socket.write(answerOf(m));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    notifies,
    answered,
    close: async () => {
      for (const k of sockets) k.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
