/**
 * SqliteAdminRepository: the HTTP API's keys and the admin audit log in SQLite (`api_keys`, `admin_audit_log`,
 * migration 5), the embedded adapter of the {@link AdminRepository} port. Each method is one statement, run when
 * called (better-sqlite3 is synchronous), returning a settled promise.
 */
import { ErrorCodes, VaError } from '../errors';
import type { AdminRepository, AdminRole, ApiKey, AuditEntry, AuditQuery } from '../ports/store/admin';
import type { SqliteContext } from './sqlite-context';

/** A row of `api_keys` (without the hash) as both adapters read it. */
export interface ApiKeyRow {
  id: number | string;
  name: string;
  role: string;
  created_at: number | string;
  last_used_at: number | string | null;
}

/** A row of `admin_audit_log` as both adapters read it. */
export interface AuditRow {
  id: number | string;
  at: number | string;
  who: string;
  address: string | null;
  action: string;
  target: string | null;
  parameters: string;
  succeeded: number | boolean;
  error_code: string | null;
}

/** Exchange's default ResultSize of Search-AdminAuditLog. */
export const DEFAULT_AUDIT_RESULT_SIZE = 1000;

/** The columns of an {@link ApiKey}, never the hash. */
export const API_KEY_COLUMNS = 'id, name, role, created_at, last_used_at';

/** An `api_keys` row as an {@link ApiKey}. */
export function apiKeyOf(r: ApiKeyRow): ApiKey {
  return {
    id: Number(r.id),
    name: r.name,
    role: r.role as AdminRole,
    createdAt: Number(r.created_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  };
}

/** An `admin_audit_log` row as an {@link AuditEntry}. */
export function auditEntryOf(r: AuditRow): AuditEntry {
  return {
    id: Number(r.id),
    at: Number(r.at),
    who: r.who,
    address: r.address,
    action: r.action,
    target: r.target,
    parameters: JSON.parse(r.parameters) as Record<string, unknown>,
    succeeded: r.succeeded === true || r.succeeded === 1,
    errorCode: r.error_code,
  };
}

/**
 * The WHERE clause and values of an audit query, with `?` or `$n` placeholders.
 * @param placeholder the placeholder of the n-th value (1-based)
 */
export function auditWhere(q: AuditQuery, placeholder: (n: number) => string): { where: string; values: unknown[]; limit: number } {
  const terms: string[] = [];
  const values: unknown[] = [];
  const add = (v: unknown) => {
    values.push(v);
    return placeholder(values.length);
  };
  if (q.cmdlets && q.cmdlets.length > 0) terms.push(`lower(action) IN (${q.cmdlets.map((c) => add(c.toLowerCase())).join(', ')})`);
  if (q.startDate !== undefined) terms.push(`at >= ${add(q.startDate)}`);
  if (q.endDate !== undefined) terms.push(`at <= ${add(q.endDate)}`);
  return { where: terms.length > 0 ? `WHERE ${terms.join(' AND ')}` : '', values, limit: q.resultSize ?? DEFAULT_AUDIT_RESULT_SIZE };
}

/** The SQLite adapter of the {@link AdminRepository} port. */
export class SqliteAdminRepository implements AdminRepository {
  /** @param store the store's connection */
  constructor(private readonly store: Pick<SqliteContext, 'sql' | 'db'>) {}

  async addApiKey(key: { name: string; role: AdminRole; keyHash: string; createdAt: number }): Promise<ApiKey> {
    const r = this.store
      .sql(`INSERT INTO api_keys (name, role, key_hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING ${API_KEY_COLUMNS}`)
      .get(key.name, key.role, key.keyHash, key.createdAt) as ApiKeyRow | undefined;
    if (!r) throw new VaError(ErrorCodes.ALREADY_EXISTS, `an API key named "${key.name}" already exists`);
    return apiKeyOf(r);
  }

  async listApiKeys(): Promise<ApiKey[]> {
    return (this.store.sql(`SELECT ${API_KEY_COLUMNS} FROM api_keys ORDER BY name`).all() as ApiKeyRow[]).map(apiKeyOf);
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKey | undefined> {
    const r = this.store.sql(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE key_hash = ?`).get(keyHash) as ApiKeyRow | undefined;
    return r ? apiKeyOf(r) : undefined;
  }

  async touchApiKey(id: number, at: number): Promise<void> {
    this.store.sql('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(at, id);
  }

  async removeApiKey(name: string): Promise<void> {
    const r = this.store.sql('DELETE FROM api_keys WHERE name = ?').run(name);
    if (r.changes === 0) throw new VaError(ErrorCodes.NOT_FOUND, `no API key named "${name}"`);
  }

  async addAuditEntry(e: Omit<AuditEntry, 'id'>): Promise<AuditEntry> {
    const r = this.store
      .sql(
        `INSERT INTO admin_audit_log (at, who, address, action, target, parameters, succeeded, error_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         RETURNING *`,
      )
      .get(e.at, e.who, e.address, e.action, e.target, JSON.stringify(e.parameters), e.succeeded ? 1 : 0, e.errorCode) as AuditRow;
    return auditEntryOf(r);
  }

  async searchAuditLog(q: AuditQuery): Promise<AuditEntry[]> {
    const { where, values, limit } = auditWhere(q, () => '?');
    // Not a cached statement: the number of cmdlets varies.
    const rows = this.store.db.prepare(`SELECT * FROM admin_audit_log ${where} ORDER BY at DESC, id DESC LIMIT ?`).all(...values, limit) as AuditRow[];
    return rows.map(auditEntryOf);
  }
}
