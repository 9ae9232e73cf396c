/**
 * Opening the SQLite store and migrating its schema. WAL journal and a busy timeout let the CLI and a running server
 * use one data folder at once; every read-modify-write runs in an IMMEDIATE transaction so writers queue instead of
 * failing. The schema version is SQLite's `user_version`; the migrations are `migrations.ts`'s list, shared with PostgreSQL.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, VaError } from '../errors';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations';

export { SCHEMA_VERSION } from './migrations';

/**
 * Opens (creating when needed) `<dataDir>/voice-access.db` and brings its schema up to {@link SCHEMA_VERSION}.
 * @param dataDir the data folder (created when missing)
 * @throws VaError VA_ERR_STORE_OPEN when the folder or database cannot be opened, or was written by newer code
 */
export function openDatabase(dataDir: string): Database.Database {
  let db: Database.Database;
  try {
    mkdirSync(dataDir, { recursive: true });
    db = new Database(path.join(dataDir, 'voice-access.db'), { timeout: 15_000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
  } catch (err) {
    throw new VaError(ErrorCodes.STORE_OPEN, `cannot open the store in ${dataDir}: ${(err as Error).message}`, { cause: err });
  }
  try {
    migrate(db);
  } catch (err) {
    db.close();
    if (err instanceof VaError) throw err;
    throw new VaError(ErrorCodes.STORE_OPEN, `cannot migrate the store in ${dataDir}: ${(err as Error).message}`, { cause: err });
  }
  return db;
}

function migrate(db: Database.Database): void {
  const run = db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION)
      throw new VaError(ErrorCodes.STORE_OPEN, `the store has schema version ${current}, newer than this program's ${SCHEMA_VERSION}`);
    for (let v = current; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v].sqlite);
    if (current !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  });
  run.immediate();
}
