/**
 * The directory file's `testing:` section: what the server offers test tools, never production callers.
 * `eventsAllowedFrom` lists the IP addresses and CIDR prefixes whose calls may ask for prompt, digits and state events
 * (`X-VA-Test-Events`, sent back as SIP INFO: issue 22, docs/calling.md "Prompt events for SIP test tools"). Empty by
 * default: nobody gets them.
 */
import { z } from 'zod';
import { addressListErrors } from '../domain/address-list';

/** `testing.eventsAllowedFrom`: IPv4/IPv6 addresses and CIDR prefixes (`127.0.0.1`, `10.0.0.0/8`, `2001:db8::/32`). */
export const TestingSchema = z
  .object({
    eventsAllowedFrom: z
      .array(z.string().min(1, 'must be an IP address or a CIDR prefix'))
      .default([])
      .superRefine((list, ctx) => {
        for (const e of addressListErrors(list)) {
          ctx.addIssue({ code: 'custom', path: [e.index], message: e.message });
        }
      }),
  })
  .strict();
export type TestingSettings = z.infer<typeof TestingSchema>;
