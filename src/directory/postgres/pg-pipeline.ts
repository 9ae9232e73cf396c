/**
 * The statements a PostgreSQL store runs outside transactions, on a few pipelined connections (node-postgres'
 * `pipeline: true`, https://node-postgres.com/features/pipelining; the protocol's pipelining, PostgreSQL
 * documentation §55.2.4): a statement is written without waiting for the answers to the ones before it on its
 * connection; PostgreSQL runs them in order, each in its own implicit transaction (each ends with its own Sync, so one
 * that fails fails alone, and a write is committed when its answer comes, as on a pooled connection).
 *
 * The statements issued in one turn of the event loop leave in one socket write: a connection's socket is corked at
 * the first of them and uncorked on the next tick (the calls whose answers came in one read send their next
 * statements together). Why (issue 20): on a pool, every statement of every call is a write of its own that wakes a
 * backend gone idle, and on loopback that wake-up cost our process as much CPU as the statement itself; pipelined,
 * ten calls at a time need about half the CPU per sign-in.
 *
 * Not for transactions (a BEGIN on a shared connection would take in the other calls' statements) nor for anything
 * that leaves session state: those use the pool. A lost connection fails the statements written on it (the store
 * makes that `VA_ERR_STORE_UNAVAILABLE`) and the next statement opens a new one.
 */
import type { Duplex } from 'node:stream';
import pg from 'pg';

/** One pipelined connection. */
interface Lane {
  readonly client: pg.Client;
  /** Settles when the connection is open (or failed to open). */
  readonly ready: Promise<void>;
  open: boolean;
  /** The socket is corked until the next tick. */
  corked: boolean;
}

/** The socket under a pg client (not in pg's typings): corked to send a tick's statements in one write. */
function socketOf(client: pg.Client): Duplex | undefined {
  return (client as unknown as { connection?: { stream?: Duplex } }).connection?.stream;
}

/** A few pipelined connections, used in turn; see the file comment. */
export class PgPipeline {
  private readonly lanes: Array<Lane | null>;
  private turn = 0;
  private closed = false;

  /**
   * @param config how to connect (`pipeline` is set here); nothing is opened until the first statement
   * @param connections how many pipelined connections, used in turn (default 2)
   */
  constructor(
    private readonly config: pg.ClientConfig,
    connections = 2,
  ) {
    this.lanes = Array.from({ length: Math.max(1, connections) }, () => null);
  }

  /**
   * Runs one statement on the next connection in turn (opened if it is not).
   * @throws the driver's error: the statement's own, or the connection's when it could not be opened or was lost
   */
  async query(q: pg.QueryConfig): Promise<pg.QueryResult> {
    if (this.closed) throw new Error('Client was closed and is not queryable');
    const i = this.turn++ % this.lanes.length;
    const lane = this.lanes[i] ?? this.openLane(i);
    if (!lane.open) await lane.ready;
    if (!lane.corked) {
      const socket = socketOf(lane.client);
      if (socket?.cork) {
        lane.corked = true;
        socket.cork();
        process.nextTick(() => {
          lane.corked = false;
          socket.uncork();
        });
      }
    }
    return lane.client.query(q);
  }

  private openLane(i: number): Lane {
    const client = new pg.Client({ ...this.config, pipeline: true } as pg.ClientConfig);
    const drop = () => {
      if (this.lanes[i] === lane) this.lanes[i] = null;
    };
    // A lost connection must not crash the process: its statements fail, and the next one opens a new connection.
    client.on('error', drop);
    client.on('end', drop);
    const lane: Lane = {
      client,
      open: false,
      corked: false,
      ready: client.connect().then(
        () => {
          lane.open = true;
        },
        (err: unknown) => {
          drop();
          throw err;
        },
      ),
    };
    this.lanes[i] = lane;
    return lane;
  }

  /** Closes every connection; statements already written get their answers first. */
  async close(): Promise<void> {
    this.closed = true;
    const lanes = this.lanes.splice(0).filter((l): l is Lane => l !== null);
    await Promise.all(lanes.map((l) => l.ready.then(() => l.client.end()).catch(() => undefined)));
  }
}
