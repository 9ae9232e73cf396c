/**
 * drachtio-modesl's reconnecting of an event-socket connection that FreeSWITCH refused (`esl-reconnect-guard.ts`):
 * without the guard, drachtio-modesl 1.3.1 tries the dead port again every millisecond for ever (its backoff is NaN
 * until a first connection succeeded). With it, one failed `Mrf#connect` is one connection attempt, and the pool's
 * own retries are the only ones. No FreeSWITCH needed: the port is a closed loopback port.
 */
import net from 'node:net';
import { loadMrf } from '../../src/media/freeswitch/fsmrf-types';
import { closedPort } from '../helpers';

test('a FreeSWITCH that refuses the event socket is tried once per connect, not again and again by drachtio-modesl', async () => {
  const Mrf = loadMrf();
  const port = await closedPort();
  const attempts = jest.spyOn(net, 'createConnection');
  try {
    const mrf = new Mrf({});
    await expect(mrf.connect({ address: '127.0.0.1', port, secret: 'x', listenAddress: '127.0.0.1' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    // Unguarded, this is several hundred attempts (one a millisecond) and still going.
    await new Promise((r) => setTimeout(r, 500));
    const toPort = attempts.mock.calls.filter(([opts]) => (opts as { port?: number }).port === port);
    expect(toPort).toHaveLength(1);
  } finally {
    attempts.mockRestore();
  }
});
