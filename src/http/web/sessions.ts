/**
 * Sign-in sessions of the web pages (issue 21): a random id in a cookie (`HttpOnly`, `SameSite=Strict`, `Path=/`),
 * and on the server, in memory, the API key's id, name and role, a CSRF token for the session's forms and the last
 * use. A session ends after `idleMs` without a request (8 h by default), at sign-out, or when its key is removed
 * from the store (checked on every page). Sessions are not shared between instances or kept across a restart: the
 * administrator signs in again.
 *
 * Never logged: a session id, a CSRF token, a flash message's leader PIN.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AdminRole } from '../../ports/store/admin';

/** What a page shows once after a redirect (Post/Redirect/Get): a result line, or a new leader PIN. */
export interface Flash {
  kind: 'ok' | 'error';
  text: string;
  /** A leader PIN just reset: shown on the next page, once, then forgotten. */
  leaderPin?: { identity: string; pin: string };
}

/** One signed-in administrator. */
export interface WebSession {
  id: string;
  keyId: number;
  keyName: string;
  role: AdminRole;
  /** The token every form of this session carries in a hidden field (`_csrf`). */
  csrf: string;
  /** Last request, ms. */
  lastSeen: number;
  flash?: Flash;
}

/** A random token: 32 bytes, base64url (43 characters). */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Compares two tokens in constant time; false when either is missing. */
export function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || a.length !== b.length || a.length === 0) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** Options of {@link WebSessions}. */
export interface WebSessionsOptions {
  /** Idle time that ends a session, ms (default 8 h). */
  idleMs?: number;
  /** Sessions kept at most; the least recently used goes first (default 1000). */
  max?: number;
  /** The clock, ms (default Date.now). */
  now?: () => number;
}

/** The sessions of one process, in memory. */
export class WebSessions {
  private readonly byId = new Map<string, WebSession>();
  readonly idleMs: number;
  private readonly max: number;
  private readonly now: () => number;

  constructor(o: WebSessionsOptions = {}) {
    this.idleMs = o.idleMs ?? 8 * 3600_000;
    this.max = o.max ?? 1000;
    this.now = o.now ?? Date.now;
  }

  /** Starts a session for a key. @returns the new session (its id goes in the cookie) */
  create(key: { id: number; name: string; role: AdminRole }): WebSession {
    this.sweep();
    while (this.byId.size >= this.max) this.byId.delete(this.byId.keys().next().value!);
    const s: WebSession = { id: randomToken(), keyId: key.id, keyName: key.name, role: key.role, csrf: randomToken(), lastSeen: this.now() };
    this.byId.set(s.id, s);
    return s;
  }

  /**
   * The live session of a cookie value, its last use moved to now; undefined when unknown or idle too long (then it
   * is removed).
   */
  touch(id: string | undefined): WebSession | undefined {
    if (!id) return undefined;
    const s = this.byId.get(id);
    if (!s) return undefined;
    const now = this.now();
    if (now - s.lastSeen > this.idleMs) {
      this.byId.delete(id);
      return undefined;
    }
    s.lastSeen = now;
    // Map order is the eviction order: most recently used last.
    this.byId.delete(id);
    this.byId.set(id, s);
    return s;
  }

  /** Ends a session (sign-out, key removed). */
  end(id: string): void {
    this.byId.delete(id);
  }

  /** Sessions alive now. */
  get size(): number {
    return this.byId.size;
  }

  /** Removes the sessions idle too long. */
  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.byId) if (now - s.lastSeen > this.idleMs) this.byId.delete(id);
  }
}
