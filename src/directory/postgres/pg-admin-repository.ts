/**
 * PgAdminRepository: the HTTP API's keys and the admin audit log on PostgreSQL (as `../admin-repository.ts`), so every
 * instance on one database accepts the same keys and writes one log. Each method is one statement.
 */
import { ErrorCodes, VaError } from '../../errors';
import type { AdminRepository, AdminRole, ApiKey, AuditEntry, AuditQuery } from '../../ports/store/admin';
import { API_KEY_COLUMNS, apiKeyOf, auditEntryOf, auditWhere, type ApiKeyRow, type AuditRow } from '../admin-repository';
import type { PgContext } from './pg-context';

/** The PostgreSQL adapter of the {@link AdminRepository} port. */
export class PgAdminRepository implements AdminRepository {
  /** @param ctx the store's pool */
  constructor(private readonly ctx: PgContext) {}

  async addApiKey(key: { name: string; role: AdminRole; keyHash: string; createdAt: number }): Promise<ApiKey> {
    const r = await this.ctx.row<ApiKeyRow>(
      `INSERT INTO api_keys (name, role, key_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING ${API_KEY_COLUMNS}`,
      [key.name, key.role, key.keyHash, key.createdAt],
    );
    if (!r) throw new VaError(ErrorCodes.ALREADY_EXISTS, `an API key named "${key.name}" already exists`);
    return apiKeyOf(r);
  }

  async listApiKeys(): Promise<ApiKey[]> {
    return (await this.ctx.rows<ApiKeyRow>(`SELECT ${API_KEY_COLUMNS} FROM api_keys ORDER BY lower(name::text)`)).map(apiKeyOf);
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKey | undefined> {
    const r = await this.ctx.row<ApiKeyRow>(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1`, [keyHash]);
    return r ? apiKeyOf(r) : undefined;
  }

  async touchApiKey(id: number, at: number): Promise<void> {
    await this.ctx.query('UPDATE api_keys SET last_used_at = $1 WHERE id = $2', [at, id]);
  }

  async removeApiKey(name: string): Promise<void> {
    const r = await this.ctx.query('DELETE FROM api_keys WHERE name = $1', [name]);
    if (r.rowCount === 0) throw new VaError(ErrorCodes.NOT_FOUND, `no API key named "${name}"`);
  }

  async addAuditEntry(e: Omit<AuditEntry, 'id'>): Promise<AuditEntry> {
    const r = await this.ctx.row<AuditRow>(
      `INSERT INTO admin_audit_log (at, who, address, action, target, parameters, succeeded, error_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       RETURNING *`,
      [e.at, e.who, e.address, e.action, e.target, JSON.stringify(e.parameters), e.succeeded, e.errorCode],
    );
    return auditEntryOf(r!);
  }

  async searchAuditLog(q: AuditQuery): Promise<AuditEntry[]> {
    const { where, values, limit } = auditWhere(q, (n) => `$${n}`);
    const rows = await this.ctx.rows<AuditRow>(`SELECT * FROM admin_audit_log ${where} ORDER BY at DESC, id DESC LIMIT $${values.length + 1}`, [...values, limit]);
    return rows.map(auditEntryOf);
  }
}
