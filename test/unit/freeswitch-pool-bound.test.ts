/**
 * The FreeSWITCH pool's bound on endpoints being created at once (`maxPendingEndpoints`): past it on every server that
 * is up, a call is refused at once with VA_ERR_MEDIA_SERVER_UNAVAILABLE (the signalling's 503 with Retry-After) and
 * costs FreeSWITCH nothing. The media servers here are stand-ins for drachtio-fsmrf's (a port inside a unit test):
 * their `createEndpoint` stays pending until the test settles it. `test/media/freeswitch-pool.test.ts` runs the pool
 * on real servers.
 */
import pino from 'pino';
import { systemClock } from '../../src/ports/clock';
import { FreeswitchPool } from '../../src/media/freeswitch/freeswitch-pool';
import type { FsMediaServer, FsMrf } from '../../src/media/freeswitch/fsmrf-types';
import type { PromptCatalog } from '../../src/prompts/catalog';
import type { CallLeg } from '../../src/ports/media-server';

/** A media server whose endpoint creations wait for the test: each one's `fail` settles it. */
function standIn(address: string) {
  const creations: { fail(): void }[] = [];
  const ms = {
    address,
    connected: () => true,
    createEndpoint: () =>
      new Promise<never>((_resolve, reject) => {
        creations.push({ fail: () => reject(new Error('Connection timeout')) });
      }),
    api: async () => '',
    disconnect: () => undefined,
    on: () => undefined,
  };
  return { ms: ms as unknown as FsMediaServer, creations };
}

async function poolOf(servers: ReturnType<typeof standIn>[], maxPendingEndpoints: number): Promise<FreeswitchPool> {
  const byPort = new Map(servers.map((s, i) => [8021 + i, s.ms]));
  const mrf: FsMrf = { connect: async (o) => byPort.get(o.port)! };
  return FreeswitchPool.start({
    srf: {},
    servers: servers.map((_, i) => ({ host: '127.0.0.1', port: 8021 + i, secret: 'ClueCon' })),
    listenAddress: '127.0.0.1',
    clock: systemClock,
    catalog: {} as PromptCatalog,
    recordingsDir: '/nonexistent',
    logger: pino({ level: 'silent' }),
    mrf,
    maxPendingEndpoints,
  });
}

const leg = {} as CallLeg;
const open = (pool: FreeswitchPool, n: number) => pool.open({ callId: `call-${n}`, offer: 'v=0\r\n', leg });
const tick = () => new Promise((r) => setImmediate(r));

test('past the bound the call is refused at once, without asking FreeSWITCH; a settled creation makes room', async () => {
  const a = standIn('127.0.0.1:8021');
  const pool = await poolOf([a], 2);
  const first = open(pool, 1);
  const second = open(pool, 2);
  await tick();
  expect(a.creations).toHaveLength(2);
  await expect(open(pool, 3)).rejects.toMatchObject({ code: 'VA_ERR_MEDIA_SERVER_UNAVAILABLE', message: expect.stringContaining('busy: 2 endpoints being created') });
  expect(a.creations).toHaveLength(2); // the refused call never reached FreeSWITCH
  a.creations[0].fail();
  await expect(first).rejects.toMatchObject({ code: 'VA_ERR_MEDIA_SERVER_UNAVAILABLE', message: expect.stringContaining('could not create the endpoint') });
  const fourth = open(pool, 4);
  await tick();
  expect(a.creations).toHaveLength(3); // room again
  for (const c of a.creations.slice(1)) c.fail();
  await expect(second).rejects.toBeDefined();
  await expect(fourth).rejects.toBeDefined();
  await pool.close();
});

test('a busy server is passed over for one with room; refused only when every server is at the bound', async () => {
  const a = standIn('127.0.0.1:8021');
  const b = standIn('127.0.0.1:8022');
  const pool = await poolOf([a, b], 1);
  const calls = [open(pool, 1), open(pool, 2)];
  await tick();
  expect([a.creations.length, b.creations.length]).toEqual([1, 1]);
  await expect(open(pool, 3)).rejects.toMatchObject({ code: 'VA_ERR_MEDIA_SERVER_UNAVAILABLE' });
  b.creations[0].fail();
  await expect(calls[1]).rejects.toBeDefined();
  const again = open(pool, 4); // a is still busy: b takes it, whatever the round robin says
  await tick();
  expect([a.creations.length, b.creations.length]).toEqual([1, 2]);
  a.creations[0].fail();
  b.creations[1].fail();
  await Promise.allSettled([calls[0], again]);
  await pool.close();
});
