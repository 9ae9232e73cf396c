/**
 * Bringing a PostgreSQL store's schema up to date from the shared list (`../migrations.ts`, the `postgresql` side of
 * each entry). The version is the highest row of `schema_migrations`. Several instances starting at once on an empty
 * database serialise on a transaction-scoped advisory lock: one migrates, the others then find nothing to do.
 */
import { ErrorCodes, VaError } from '../../errors';
import { MIGRATIONS, SCHEMA_VERSION } from '../migrations';
import { redactUrl, type PgContext } from './pg-context';

/** The advisory lock key of migrations and of the first directory import ("va" in ASCII, then a number). */
export const MIGRATION_LOCK = 0x7661_0001;

/**
 * Applies the migrations the database lacks, each in the one transaction that also records it.
 * @returns the versions applied (empty when the schema was current)
 * @throws VaError VA_ERR_STORE_OPEN when the database has a newer schema than this program, or cannot be migrated
 */
export async function migratePostgres(ctx: PgContext): Promise<number[]> {
  try {
    return await ctx.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
      );
      const current = Number((await c.query('SELECT coalesce(max(version), 0) AS v FROM schema_migrations')).rows[0].v);
      if (current > SCHEMA_VERSION)
        throw new VaError(ErrorCodes.STORE_OPEN, `the store ${redactUrl(ctx.opts.url)} has schema version ${current}, newer than this program's ${SCHEMA_VERSION}`);
      const applied: number[] = [];
      for (let v = current; v < SCHEMA_VERSION; v++) {
        await c.query(MIGRATIONS[v].postgresql);
        await c.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [v + 1, MIGRATIONS[v].name]);
        applied.push(v + 1);
      }
      return applied;
    });
  } catch (err) {
    if (err instanceof VaError) throw err;
    throw new VaError(ErrorCodes.STORE_OPEN, `cannot migrate the store ${redactUrl(ctx.opts.url)}: ${(err as Error).message}`, { cause: err });
  }
}
