/**
 * The administration port (issue 21): API keys for the HTTP API and the admin audit log, in the store so every
 * instance on one database sees the same keys and writes one log.
 *
 * - An API key is shown once, when `New-VaApiKey` makes it; the store keeps only its SHA-256 (`keyHash`, hex). A key
 *   is 32 random bytes, so a fast hash is enough (nothing to brute-force) and a request finds its key by an indexed
 *   equality, where a salted scrypt would cost one hash per stored key on every request.
 * - The audit log: who (the key's name, or `cli`), when (ms), from which address, which cmdlet on which object, its
 *   parameters without any PIN, and whether it succeeded (with the `VA_ERR_*` code when not). Exchange's admin audit
 *   log and `Search-AdminAuditLog` are the model.
 *
 * Asynchronous: SQLite answers at once (`directory/admin-repository.ts`), PostgreSQL over the network
 * (`directory/postgres/pg-admin-repository.ts`); each method is one statement.
 */

import type { AdminRole } from '../../domain/admin-roles';

export type { AdminRole } from '../../domain/admin-roles';

/** An API key as stored (never the key itself). */
export interface ApiKey {
  id: number;
  /** Unique, case-insensitively; what the audit log names as `who`. */
  name: string;
  role: AdminRole;
  /** When it was made, ms. */
  createdAt: number;
  /** When a request last used it, ms; null when never. */
  lastUsedAt: number | null;
}

/** One line of the admin audit log. */
export interface AuditEntry {
  id: number;
  /** When, ms. */
  at: number;
  /** The API key's name, or `cli`. */
  who: string;
  /** The client's IP address; null from the command line. */
  address: string | null;
  /** The cmdlet, e.g. `Set-UMMailboxPIN`. */
  action: string;
  /** The object changed (an identity, a gateway's name); null when none. */
  target: string | null;
  /** The cmdlet's parameters, without any PIN. */
  parameters: Record<string, unknown>;
  succeeded: boolean;
  /** The `VA_ERR_*` code of a failure; null when it succeeded. */
  errorCode: string | null;
}

/** What {@link AdminRepository.searchAuditLog} returns (Search-AdminAuditLog's parameters). */
export interface AuditQuery {
  /** Only these cmdlets (case-insensitive); all when absent or empty. */
  cmdlets?: readonly string[];
  /** From this time on, ms (inclusive). */
  startDate?: number;
  /** Up to this time, ms (inclusive). */
  endDate?: number;
  /** At most this many entries, newest first (default 1000, Exchange's). */
  resultSize?: number;
}

/** API keys and the admin audit log. */
export interface AdminRepository {
  /**
   * Stores a new key's hash.
   * @throws VaError VA_ERR_ALREADY_EXISTS when a key has this name
   */
  addApiKey(key: { name: string; role: AdminRole; keyHash: string; createdAt: number }): Promise<ApiKey>;
  /** Every key, by name. */
  listApiKeys(): Promise<ApiKey[]>;
  /** The key whose SHA-256 (hex) this is, or undefined. */
  findApiKeyByHash(keyHash: string): Promise<ApiKey | undefined>;
  /** Records that a request used the key at `at` (ms). */
  touchApiKey(id: number, at: number): Promise<void>;
  /**
   * Removes a key by name (case-insensitive); requests with it get 401 from then on.
   * @throws VaError VA_ERR_NOT_FOUND
   */
  removeApiKey(name: string): Promise<void>;
  /** Appends one line to the audit log. */
  addAuditEntry(entry: Omit<AuditEntry, 'id'>): Promise<AuditEntry>;
  /** Audit lines matching the query, newest first. */
  searchAuditLog(query: AuditQuery): Promise<AuditEntry[]>;
}
