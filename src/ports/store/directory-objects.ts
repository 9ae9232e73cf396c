/**
 * The directory objects: UM dial plans, UM mailbox policies and UM IP gateways (in failover order). Read on every
 * call, changed rarely (the cmdlets, Import-Directory): an adapter may cache them, but a change, its own or another
 * instance's, must apply from the next call. Every change is validated against the directory file's rules
 * (VA_ERR_INVALID_SETTING names the key). Names compare case-insensitively.
 *
 * Asynchronous: the embedded SQLite adapter (`directory/directory-objects-repository.ts`) answers at once, the PostgreSQL one
 * (`directory/postgres/`) over the network.
 */
import type { DialPlan, Gateway, MailboxPolicy } from '../../domain/directory-objects';

/** Reading dial plans and mailbox policies: what the PIN rules need. */
export interface DirectoryObjectsReader {
  /** All dial plans, by name. */
  listDialPlans(): Promise<DialPlan[]>;
  /** The dial plan. @throws VaError VA_ERR_NOT_FOUND */
  getDialPlan(name: string): Promise<DialPlan>;
  /** All UM mailbox policies, by name. */
  listPolicies(): Promise<MailboxPolicy[]>;
  /** The policy. @throws VaError VA_ERR_NOT_FOUND */
  getPolicy(name: string): Promise<MailboxPolicy>;
  /** All UM IP gateways in failover order. */
  listGateways(): Promise<Gateway[]>;
  /** The gateway. @throws VaError VA_ERR_NOT_FOUND */
  getGateway(name: string): Promise<Gateway>;
}

/** Dial plans, mailbox policies and gateways, read and changed. */
export interface DirectoryObjectsRepository extends DirectoryObjectsReader {
  /** Adds a dial plan (Import-Directory). @throws VaError VA_ERR_ALREADY_EXISTS, VA_ERR_INVALID_SETTING */
  addDialPlan(plan: DialPlan): Promise<DialPlan>;

  /**
   * Changes a dial plan's settings (Set-UMDialPlan); the name cannot change, nor NumberOfDigitsInExtension while
   * mailboxes use the plan.
   * @throws VaError VA_ERR_NOT_FOUND, VA_ERR_INVALID_SETTING (names the key)
   */
  updateDialPlan(name: string, patch: Partial<DialPlan>): Promise<DialPlan>;

  /** Adds a UM mailbox policy of an existing dial plan (Import-Directory). @throws VaError VA_ERR_ALREADY_EXISTS, VA_ERR_NOT_FOUND, VA_ERR_INVALID_SETTING */
  addPolicy(policy: MailboxPolicy): Promise<MailboxPolicy>;

  /**
   * Changes a policy (Set-UMMailboxPolicy); name and dial plan cannot change. The combined settings are validated,
   * so LogonFailuresBeforePINReset must stay below MaxLogonAttempts ([D-POL]).
   * @throws VaError VA_ERR_NOT_FOUND, VA_ERR_INVALID_SETTING (names the key and rule)
   */
  updatePolicy(name: string, patch: Partial<MailboxPolicy>): Promise<MailboxPolicy>;

  /**
   * Adds a UM IP gateway at the end of the failover order (New-UMIPGateway).
   * @throws VaError VA_ERR_ALREADY_EXISTS, VA_ERR_NOT_FOUND (dial plan), VA_ERR_INVALID_SETTING
   */
  newGateway(gateway: Partial<Gateway> & Pick<Gateway, 'name' | 'address' | 'dialPlan'>): Promise<Gateway>;

  /** Changes a gateway (Set-UMIPGateway); a new `name` renames it. @throws VaError VA_ERR_NOT_FOUND, VA_ERR_ALREADY_EXISTS, VA_ERR_INVALID_SETTING */
  updateGateway(name: string, patch: Partial<Gateway>): Promise<Gateway>;

  /** Removes a gateway (Remove-UMIPGateway). @throws VaError VA_ERR_NOT_FOUND */
  removeGateway(name: string): Promise<void>;

  /**
   * Puts the named gateways first in the failover order, in the order given; the others follow in their order.
   * @throws VaError VA_ERR_NOT_FOUND for a name that is not a gateway
   */
  setGatewayOrder(names: readonly string[]): Promise<void>;
}
