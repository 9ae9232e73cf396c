/**
 * The directory file's validated objects (`config/schema.ts`, zod) and the domain's plain types
 * (`domain/directory-objects.ts`, what the store ports speak) must stay the same shape: a change to one that the
 * other lacks fails the build here. Types only; nothing runs.
 */
import type * as domain from '../domain/directory-objects';
import type * as schema from '../config/schema';

/** true when A and B are mutually assignable. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** The conferencing tenant part of the schema (organizers and meetings are stored apart). */
type SchemaTenant = Omit<schema.Directory['conferencing'], 'organizers' | 'meetings'>;

/** Each entry must be `true`. */
export type SchemaMatchesDomain = [
  Same<schema.DialPlan, domain.DialPlan>,
  Same<schema.Gateway, domain.Gateway>,
  Same<schema.MailboxPolicy, domain.MailboxPolicy>,
  Same<schema.SmsNotificationOption, domain.SmsNotificationOption>,
  Same<schema.VoipSecurity, domain.VoipSecurity>,
  Same<schema.GatewayStatus, domain.GatewayStatus>,
  Same<SchemaTenant, domain.ConferencingTenantSettings>,
];

const matches: SchemaMatchesDomain = [true, true, true, true, true, true, true];
void matches;
