/**
 * PgDirectoryObjectsRepository: UM dial plans, UM mailbox policies and UM IP gateways on PostgreSQL (settings as JSON
 * validated by the directory file's schemas, as in `../directory-objects-repository.ts`). Reads of what every call
 * needs are cached ({@link PgContext.cachedSettings}) until this store writes settings or another instance commits.
 */
import type pg from 'pg';
import { DialPlanSchema, GatewaySchema, MailboxPolicySchema } from '../../config/schema';
import { ErrorCodes, VaError } from '../../errors';
import type { DialPlan, Gateway, MailboxPolicy } from '../../domain/directory-objects';
import type { DirectoryObjectsRepository } from '../../ports/store/directory-objects';
import { notFound, validated } from '../store-rows';
import type { PgContext } from './pg-context';

type Settings = { settings: string };

export class PgDirectoryObjectsRepository implements DirectoryObjectsRepository {
  /** @param ctx the store's pool */
  constructor(private readonly ctx: PgContext) {}

  /** Runs a settings change in one transaction and forgets cached settings (also when it fails half way). */
  private async change<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    try {
      return await this.ctx.tx(fn);
    } finally {
      this.ctx.settingsWritten();
    }
  }

  // ---------------------------------------------------------------- dial plans

  async listDialPlans(): Promise<DialPlan[]> {
    const all = await this.ctx.cachedSettings('dial plans', async () =>
      (await this.ctx.rows<Settings>('SELECT settings FROM dial_plans ORDER BY name')).map((r) => this.ctx.settings('DialPlanSchema', DialPlanSchema, r.settings)),
    );
    return [...all];
  }

  async getDialPlan(name: string): Promise<DialPlan> {
    const plan = await this.ctx.cachedSettings(`dial plan ${name.toLowerCase()}`, async () => {
      const r = await this.ctx.row<Settings>('SELECT settings FROM dial_plans WHERE name = $1', [name]);
      return r ? this.ctx.settings('DialPlanSchema', DialPlanSchema, r.settings) : null;
    });
    if (!plan) throw notFound('UM dial plan', name);
    return plan;
  }

  addDialPlan(plan: DialPlan): Promise<DialPlan> {
    const dp = validated(DialPlanSchema, plan, `UM dial plan ${plan.name}`);
    return this.change(async (c) => {
      const r = await c.query('INSERT INTO dial_plans (name, settings) VALUES ($1, $2) ON CONFLICT DO NOTHING', [dp.name, JSON.stringify(dp)]);
      if (r.rowCount === 0) throw new VaError(ErrorCodes.ALREADY_EXISTS, `a UM dial plan named "${dp.name}" already exists`);
      return dp;
    });
  }

  updateDialPlan(name: string, patch: Partial<DialPlan>): Promise<DialPlan> {
    return this.change(async (c) => {
      const r = await c.query<Settings>('SELECT settings FROM dial_plans WHERE name = $1 FOR UPDATE', [name]);
      if (!r.rows[0]) throw notFound('UM dial plan', name);
      const current = DialPlanSchema.parse(JSON.parse(r.rows[0].settings));
      const next = validated(DialPlanSchema, { ...current, ...patch, name: current.name }, `UM dial plan ${current.name}`);
      if (next.numberOfDigitsInExtension !== current.numberOfDigitsInExtension) {
        const n = Number((await c.query('SELECT count(*) AS n FROM mailboxes WHERE dial_plan = $1', [current.name])).rows[0].n);
        if (n > 0) throw new VaError(ErrorCodes.INVALID_SETTING, `UM dial plan ${current.name}: NumberOfDigitsInExtension cannot change while ${n} mailboxes use it`);
      }
      await c.query('UPDATE dial_plans SET settings = $1 WHERE name = $2', [JSON.stringify(next), current.name]);
      return next;
    });
  }

  // ---------------------------------------------------------------- UM IP gateways

  async listGateways(): Promise<Gateway[]> {
    const all = await this.ctx.cachedSettings('gateways', async () =>
      (await this.ctx.rows<Settings>('SELECT settings FROM ip_gateways ORDER BY position, name')).map((r) => this.ctx.settings('GatewaySchema', GatewaySchema, r.settings)),
    );
    return [...all];
  }

  async getGateway(name: string): Promise<Gateway> {
    const r = await this.ctx.row<Settings>('SELECT settings FROM ip_gateways WHERE name = $1', [name]);
    if (!r) throw notFound('UM IP gateway', name);
    return this.ctx.settings('GatewaySchema', GatewaySchema, r.settings);
  }

  newGateway(gateway: Partial<Gateway> & Pick<Gateway, 'name' | 'address' | 'dialPlan'>): Promise<Gateway> {
    const g = validated(GatewaySchema, gateway, `UM IP gateway ${gateway.name}`);
    return this.change(async (c) => {
      const plan = await c.query<{ name: string }>('SELECT name::text AS name FROM dial_plans WHERE name = $1', [g.dialPlan]);
      if (!plan.rows[0]) throw notFound('UM dial plan', g.dialPlan);
      g.dialPlan = plan.rows[0].name;
      // The position is the next after the last: the lock on the table keeps two instances from taking the same one.
      await c.query('LOCK TABLE ip_gateways IN SHARE ROW EXCLUSIVE MODE');
      const r = await c.query(
        'INSERT INTO ip_gateways (name, position, settings) SELECT $1, coalesce(max(position), -1) + 1, $2 FROM ip_gateways ON CONFLICT DO NOTHING',
        [g.name, JSON.stringify(g)],
      );
      if (r.rowCount === 0) throw new VaError(ErrorCodes.ALREADY_EXISTS, `a UM IP gateway named "${g.name}" already exists`);
      return g;
    });
  }

  updateGateway(name: string, patch: Partial<Gateway>): Promise<Gateway> {
    return this.change(async (c) => {
      const r = await c.query<Settings>('SELECT settings FROM ip_gateways WHERE name = $1 FOR UPDATE', [name]);
      if (!r.rows[0]) throw notFound('UM IP gateway', name);
      const current = GatewaySchema.parse(JSON.parse(r.rows[0].settings));
      const next = validated(GatewaySchema, { ...current, ...patch }, `UM IP gateway ${current.name}`);
      if (patch.dialPlan !== undefined) {
        const plan = await c.query<{ name: string }>('SELECT name::text AS name FROM dial_plans WHERE name = $1', [next.dialPlan]);
        if (!plan.rows[0]) throw notFound('UM dial plan', next.dialPlan);
        next.dialPlan = plan.rows[0].name;
      }
      try {
        await c.query('UPDATE ip_gateways SET name = $1, settings = $2 WHERE name = $3', [next.name, JSON.stringify(next), current.name]);
      } catch (err) {
        if ((err as { code?: string }).code === '23505') throw new VaError(ErrorCodes.ALREADY_EXISTS, `a UM IP gateway named "${next.name}" already exists`);
        throw err;
      }
      return next;
    });
  }

  async removeGateway(name: string): Promise<void> {
    const r = await this.change((c) => c.query('DELETE FROM ip_gateways WHERE name = $1', [name]));
    if (r.rowCount === 0) throw notFound('UM IP gateway', name);
  }

  setGatewayOrder(names: readonly string[]): Promise<void> {
    return this.change(async (c) => {
      const all = (await c.query<{ name: string }>('SELECT name::text AS name FROM ip_gateways ORDER BY position, name FOR UPDATE')).rows.map((r) => r.name);
      const first = names.map((n) => {
        const hit = all.find((a) => a.toLowerCase() === n.toLowerCase());
        if (!hit) throw notFound('UM IP gateway', n);
        return hit;
      });
      const order = [...first, ...all.filter((a) => !first.includes(a))];
      await c.query('UPDATE ip_gateways g SET position = o.i FROM unnest($1::text[]) WITH ORDINALITY AS o(name, i) WHERE g.name = o.name::citext', [order]);
    });
  }

  // ---------------------------------------------------------------- UM mailbox policies

  async listPolicies(): Promise<MailboxPolicy[]> {
    return (await this.ctx.rows<Settings>('SELECT settings FROM mailbox_policies ORDER BY name')).map((r) =>
      this.ctx.settings('MailboxPolicySchema', MailboxPolicySchema, r.settings),
    );
  }

  async getPolicy(name: string): Promise<MailboxPolicy> {
    const policy = await this.ctx.cachedSettings(`policy ${name.toLowerCase()}`, async () => {
      const r = await this.ctx.row<Settings>('SELECT settings FROM mailbox_policies WHERE name = $1', [name]);
      return r ? this.ctx.settings('MailboxPolicySchema', MailboxPolicySchema, r.settings) : null;
    });
    if (!policy) throw notFound('UM mailbox policy', name);
    return policy;
  }

  addPolicy(policy: MailboxPolicy): Promise<MailboxPolicy> {
    const p = validated(MailboxPolicySchema, policy, `UM mailbox policy ${policy.name}`);
    return this.change(async (c) => {
      const plan = await c.query<{ name: string }>('SELECT name::text AS name FROM dial_plans WHERE name = $1', [p.dialPlan]);
      if (!plan.rows[0]) throw notFound('UM dial plan', p.dialPlan);
      p.dialPlan = plan.rows[0].name;
      const r = await c.query('INSERT INTO mailbox_policies (name, settings) VALUES ($1, $2) ON CONFLICT DO NOTHING', [p.name, JSON.stringify(p)]);
      if (r.rowCount === 0) throw new VaError(ErrorCodes.ALREADY_EXISTS, `a UM mailbox policy named "${p.name}" already exists`);
      return p;
    });
  }

  updatePolicy(name: string, patch: Partial<MailboxPolicy>): Promise<MailboxPolicy> {
    return this.change(async (c) => {
      const r = await c.query<Settings>('SELECT settings FROM mailbox_policies WHERE name = $1 FOR UPDATE', [name]);
      if (!r.rows[0]) throw notFound('UM mailbox policy', name);
      const current = MailboxPolicySchema.parse(JSON.parse(r.rows[0].settings));
      const next = validated(MailboxPolicySchema, { ...current, ...patch, name: current.name, dialPlan: current.dialPlan }, `UM mailbox policy ${current.name}`);
      await c.query('UPDATE mailbox_policies SET settings = $1 WHERE name = $2', [JSON.stringify(next), current.name]);
      return next;
    });
  }
}
