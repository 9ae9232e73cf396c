/**
 * SqliteSettingsRepository: the store's own facts in SQLite's `meta` table (organization, default locale, where and
 * when the directory was imported, the snapshot of the imported directory file).
 */
import type { SettingsRepository } from '../ports/store/settings';
import type { SqliteContext } from './sqlite-context';

export class SqliteSettingsRepository implements SettingsRepository {
  /** @param ctx the store's connection */
  constructor(private readonly ctx: SqliteContext) {}

  /** A value from the meta table (organization, default_locale, imported_from, imported_at), or undefined. */
  async meta(key: string): Promise<string | undefined> {
    return this.metaSync(key);
  }

  /** {@link meta}, synchronously (the better-sqlite3 work the promise wraps). */
  metaSync(key: string): string | undefined {
    const r = this.ctx.sql('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return r?.value;
  }
}
