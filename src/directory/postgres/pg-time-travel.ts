/**
 * Time travel in a PostgreSQL store (as `../time-travel.ts` does for SQLite, from the same list of stored times): every
 * time the store holds goes `ms` back in one transaction, so servers on the real clock see the store `ms` later (the
 * network simulator's `start:` and `advance:`).
 */
import { STORED_META_TIMES, STORED_TIMES } from '../time-travel';
import type { PgContext } from './pg-context';

/**
 * @param ms how far, ms (> 0; anything else moves nothing)
 * @returns how many rows changed
 */
export async function timeTravelPostgres(ctx: PgContext, ms: number): Promise<number> {
  if (!(ms > 0)) return 0;
  const shift = Math.round(ms);
  try {
    return await ctx.tx(async (c) => {
      let rows = 0;
      for (const { table, column } of STORED_TIMES)
        rows += (await c.query(`UPDATE ${table} SET ${column} = ${column} - $1 WHERE ${column} IS NOT NULL`, [shift])).rowCount ?? 0;
      for (const key of STORED_META_TIMES)
        rows += (await c.query(`UPDATE meta SET value = (value::bigint - $1)::text WHERE key = $2 AND value ~ '^[0-9]+$'`, [shift, key])).rowCount ?? 0;
      return rows;
    });
  } finally {
    ctx.settingsWritten();
  }
}
