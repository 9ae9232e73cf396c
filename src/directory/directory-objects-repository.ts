/**
 * SqliteDirectoryObjectsRepository: UM dial plans, UM mailbox policies and UM IP gateways in SQLite (the
 * `dial_plans`, `mailbox_policies` and `ip_gateways` tables; settings as JSON validated by the directory file's
 * schemas). Reads are cached per connection ({@link SqliteContext.cachedSettings}); every write empties the cache.
 *
 * The port is asynchronous; better-sqlite3 is not: each method does its whole work synchronously when called and
 * returns a settled promise. The `*Sync` readers are for SQLite code that runs them inside one of its own
 * transactions (a mailbox's policy and dial plan, the snapshots).
 */
import { DialPlanSchema, GatewaySchema, MailboxPolicySchema } from '../config/schema';
import { ErrorCodes, VaError } from '../errors';
import type { DialPlan, Gateway, MailboxPolicy } from '../domain/directory-objects';
import type { DirectoryObjectsRepository } from '../ports/store/directory-objects';
import { notFound, validated, type Row, type SqliteContext } from './sqlite-context';

export class SqliteDirectoryObjectsRepository implements DirectoryObjectsRepository {
  /** @param ctx the store's connection */
  constructor(private readonly ctx: SqliteContext) {}

  // ---------------------------------------------------------------- dial plans

  /** All dial plans, by name. */
  async listDialPlans(): Promise<DialPlan[]> {
    return this.listDialPlansSync();
  }

  /** {@link listDialPlans}, synchronously. */
  listDialPlansSync(): DialPlan[] {
    const all = this.ctx.cachedSettings('dial plans', () =>
      (this.ctx.sql('SELECT settings FROM dial_plans ORDER BY name').all() as Row[]).map((r) =>
        this.ctx.settings('DialPlanSchema', DialPlanSchema, r.settings as string),
      ),
    );
    return [...all];
  }

  /** The dial plan. @throws VaError VA_ERR_NOT_FOUND */
  async getDialPlan(name: string): Promise<DialPlan> {
    return this.getDialPlanSync(name);
  }

  /** {@link getDialPlan}, synchronously (inside a transaction). @throws VaError VA_ERR_NOT_FOUND */
  getDialPlanSync(name: string): DialPlan {
    const plan = this.ctx.cachedSettings(`dial plan ${name.toLowerCase()}`, () => {
      const r = this.ctx.sql('SELECT settings FROM dial_plans WHERE name = ?').get(name) as Row | undefined;
      return r ? this.ctx.settings('DialPlanSchema', DialPlanSchema, r.settings as string) : null;
    });
    if (!plan) throw notFound('UM dial plan', name);
    return plan;
  }

  /** Adds a dial plan (Import-Directory). @throws VaError VA_ERR_ALREADY_EXISTS, VA_ERR_INVALID_SETTING */
  async addDialPlan(plan: DialPlan): Promise<DialPlan> {
    return this.ctx.transaction(() => {
      const dp = validated(DialPlanSchema, plan, `UM dial plan ${plan.name}`);
      if (this.ctx.sql('SELECT 1 FROM dial_plans WHERE name = ?').get(dp.name))
        throw new VaError(ErrorCodes.ALREADY_EXISTS, `a UM dial plan named "${dp.name}" already exists`);
      this.ctx.sql('INSERT INTO dial_plans (name, settings) VALUES (?, ?)').run(dp.name, JSON.stringify(dp));
      this.ctx.settingsWritten();
      return dp;
    });
  }

  /**
   * Changes a dial plan's settings (Set-UMDialPlan); the name cannot change.
   * @throws VaError VA_ERR_NOT_FOUND, VA_ERR_INVALID_SETTING (names the key)
   */
  async updateDialPlan(name: string, patch: Partial<DialPlan>): Promise<DialPlan> {
    return this.ctx.transaction(() => {
      const current = this.getDialPlanSync(name);
      const next = validated(DialPlanSchema, { ...current, ...patch, name: current.name }, `UM dial plan ${current.name}`);
      if (next.numberOfDigitsInExtension !== current.numberOfDigitsInExtension) {
        const n = this.ctx.sql('SELECT count(*) AS n FROM mailboxes WHERE dial_plan = ?').get(current.name) as { n: number };
        if (n.n > 0)
          throw new VaError(ErrorCodes.INVALID_SETTING, `UM dial plan ${current.name}: NumberOfDigitsInExtension cannot change while ${n.n} mailboxes use it`);
      }
      this.ctx.sql('UPDATE dial_plans SET settings = ? WHERE name = ?').run(JSON.stringify(next), current.name);
      this.ctx.settingsWritten();
      return next;
    });
  }

  // ---------------------------------------------------------------- UM IP gateways

  /** All UM IP gateways in failover order. */
  async listGateways(): Promise<Gateway[]> {
    return this.listGatewaysSync();
  }

  /** {@link listGateways}, synchronously. */
  listGatewaysSync(): Gateway[] {
    const all = this.ctx.cachedSettings('gateways', () =>
      (this.ctx.sql('SELECT settings FROM ip_gateways ORDER BY position, name').all() as Row[]).map((r) =>
        this.ctx.settings('GatewaySchema', GatewaySchema, r.settings as string),
      ),
    );
    return [...all];
  }

  /** The gateway. @throws VaError VA_ERR_NOT_FOUND */
  async getGateway(name: string): Promise<Gateway> {
    return this.getGatewaySync(name);
  }

  /** {@link getGateway}, synchronously. @throws VaError VA_ERR_NOT_FOUND */
  private getGatewaySync(name: string): Gateway {
    const r = this.ctx.sql('SELECT settings FROM ip_gateways WHERE name = ?').get(name) as Row | undefined;
    if (!r) throw notFound('UM IP gateway', name);
    return this.ctx.settings('GatewaySchema', GatewaySchema, r.settings as string);
  }

  /**
   * Adds a UM IP gateway at the end of the failover order (New-UMIPGateway).
   * @throws VaError VA_ERR_ALREADY_EXISTS, VA_ERR_NOT_FOUND (dial plan), VA_ERR_INVALID_SETTING
   */
  async newGateway(gateway: Partial<Gateway> & Pick<Gateway, 'name' | 'address' | 'dialPlan'>): Promise<Gateway> {
    return this.ctx.transaction(() => {
      const g = validated(GatewaySchema, gateway, `UM IP gateway ${gateway.name}`);
      if (this.ctx.sql('SELECT 1 FROM ip_gateways WHERE name = ?').get(g.name))
        throw new VaError(ErrorCodes.ALREADY_EXISTS, `a UM IP gateway named "${g.name}" already exists`);
      g.dialPlan = this.getDialPlanSync(g.dialPlan).name;
      const pos = this.ctx.sql('SELECT coalesce(max(position), -1) + 1 AS p FROM ip_gateways').get() as { p: number };
      this.ctx.sql('INSERT INTO ip_gateways (name, position, settings) VALUES (?, ?, ?)').run(g.name, pos.p, JSON.stringify(g));
      this.ctx.settingsWritten();
      return g;
    });
  }

  /**
   * Changes a gateway (Set-UMIPGateway); a new `name` renames it.
   * @throws VaError VA_ERR_NOT_FOUND, VA_ERR_ALREADY_EXISTS, VA_ERR_INVALID_SETTING
   */
  async updateGateway(name: string, patch: Partial<Gateway>): Promise<Gateway> {
    return this.ctx.transaction(() => {
      const current = this.getGatewaySync(name);
      const next = validated(GatewaySchema, { ...current, ...patch }, `UM IP gateway ${current.name}`);
      if (patch.dialPlan !== undefined) next.dialPlan = this.getDialPlanSync(next.dialPlan).name;
      if (next.name.toLowerCase() !== current.name.toLowerCase() && this.ctx.sql('SELECT 1 FROM ip_gateways WHERE name = ?').get(next.name))
        throw new VaError(ErrorCodes.ALREADY_EXISTS, `a UM IP gateway named "${next.name}" already exists`);
      this.ctx.sql('UPDATE ip_gateways SET name = ?, settings = ? WHERE name = ?').run(next.name, JSON.stringify(next), current.name);
      this.ctx.settingsWritten();
      return next;
    });
  }

  /** Removes a gateway (Remove-UMIPGateway). @throws VaError VA_ERR_NOT_FOUND */
  async removeGateway(name: string): Promise<void> {
    const r = this.ctx.sql('DELETE FROM ip_gateways WHERE name = ?').run(name);
    this.ctx.settingsWritten();
    if (r.changes === 0) throw notFound('UM IP gateway', name);
  }

  /**
   * Puts the named gateways first in the failover order, in the order given; the others follow in their order.
   * @throws VaError VA_ERR_NOT_FOUND for a name that is not a gateway
   */
  async setGatewayOrder(names: readonly string[]): Promise<void> {
    this.ctx.transaction(() => {
      const all = this.listGatewaysSync().map((g) => g.name);
      const first = names.map((n) => {
        const hit = all.find((a) => a.toLowerCase() === n.toLowerCase());
        if (!hit) throw notFound('UM IP gateway', n);
        return hit;
      });
      const rest = all.filter((a) => !first.includes(a));
      const set = this.ctx.sql('UPDATE ip_gateways SET position = ? WHERE name = ?');
      [...first, ...rest].forEach((n, i) => set.run(i, n));
      this.ctx.settingsWritten();
    });
  }

  // ---------------------------------------------------------------- UM mailbox policies

  /** All UM mailbox policies, by name. */
  async listPolicies(): Promise<MailboxPolicy[]> {
    return this.listPoliciesSync();
  }

  /** {@link listPolicies}, synchronously. */
  listPoliciesSync(): MailboxPolicy[] {
    return (this.ctx.sql('SELECT settings FROM mailbox_policies ORDER BY name').all() as Row[]).map((r) =>
      this.ctx.settings('MailboxPolicySchema', MailboxPolicySchema, r.settings as string),
    );
  }

  /** The policy. @throws VaError VA_ERR_NOT_FOUND */
  async getPolicy(name: string): Promise<MailboxPolicy> {
    return this.getPolicySync(name);
  }

  /** {@link getPolicy}, synchronously (inside a transaction). @throws VaError VA_ERR_NOT_FOUND */
  getPolicySync(name: string): MailboxPolicy {
    const policy = this.ctx.cachedSettings(`policy ${name.toLowerCase()}`, () => {
      const r = this.ctx.sql('SELECT settings FROM mailbox_policies WHERE name = ?').get(name) as Row | undefined;
      return r ? this.ctx.settings('MailboxPolicySchema', MailboxPolicySchema, r.settings as string) : null;
    });
    if (!policy) throw notFound('UM mailbox policy', name);
    return policy;
  }

  /** Adds a UM mailbox policy of an existing dial plan (Import-Directory). @throws VaError VA_ERR_ALREADY_EXISTS, VA_ERR_NOT_FOUND, VA_ERR_INVALID_SETTING */
  async addPolicy(policy: MailboxPolicy): Promise<MailboxPolicy> {
    return this.ctx.transaction(() => {
      const p = validated(MailboxPolicySchema, policy, `UM mailbox policy ${policy.name}`);
      if (this.ctx.sql('SELECT 1 FROM mailbox_policies WHERE name = ?').get(p.name))
        throw new VaError(ErrorCodes.ALREADY_EXISTS, `a UM mailbox policy named "${p.name}" already exists`);
      p.dialPlan = this.getDialPlanSync(p.dialPlan).name;
      this.ctx.sql('INSERT INTO mailbox_policies (name, settings) VALUES (?, ?)').run(p.name, JSON.stringify(p));
      this.ctx.settingsWritten();
      return p;
    });
  }

  /**
   * Changes a policy (Set-UMMailboxPolicy); name and dial plan cannot change. The combined settings are validated,
   * so LogonFailuresBeforePINReset must stay below MaxLogonAttempts.
   * @throws VaError VA_ERR_NOT_FOUND, VA_ERR_INVALID_SETTING (names the key and rule)
   */
  async updatePolicy(name: string, patch: Partial<MailboxPolicy>): Promise<MailboxPolicy> {
    return this.ctx.transaction(() => {
      const current = this.getPolicySync(name);
      const next = validated(
        MailboxPolicySchema,
        { ...current, ...patch, name: current.name, dialPlan: current.dialPlan },
        `UM mailbox policy ${current.name}`,
      );
      this.ctx.sql('UPDATE mailbox_policies SET settings = ? WHERE name = ?').run(JSON.stringify(next), current.name);
      this.ctx.settingsWritten();
      return next;
    });
  }
}
