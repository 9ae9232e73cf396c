/**
 * The check of a directory file's initial PINs against their UM mailbox policies, shared by the first import of
 * every store adapter and by `Import-Directory` (which checks the new mailboxes only). Pure: the file and the rules.
 */
import type { Directory, MailboxEntry } from '../config/schema';
import { checkPin } from '../domain/pin-policy';
import { ErrorCodes, VaError } from '../errors';

/**
 * Refuses a directory whose initial PINs break their mailbox policies (`domain/pin-policy.ts`: length, common
 * patterns, the extension's tail), naming every such mailbox, its key path and the rule, never the PIN.
 * @param source the directory file, for the message
 * @param only when given, only the mailboxes it accepts are checked (Import-Directory: the new ones)
 * @throws VaError VA_ERR_PIN_POLICY
 */
export function assertDirectoryPins(dir: Pick<Directory, 'mailboxes' | 'mailboxPolicies'>, source: string, only?: (m: MailboxEntry) => boolean): void {
  const policies = new Map(dir.mailboxPolicies.map((p) => [p.name.toLowerCase(), p]));
  const problems = dir.mailboxes.flatMap((m, i) => {
    const policy = policies.get(m.policy.toLowerCase());
    if (m.pin === undefined || !policy || (only && !only(m))) return [];
    const v = checkPin(m.pin, policy, m.extension);
    return v ? [`mailboxes[${i}].pin of ${m.identity}: ${v.message} (UM mailbox policy ${policy.name})`] : [];
  });
  if (problems.length) throw new VaError(ErrorCodes.PIN_POLICY, `${source}: initial PINs that break their UM mailbox policy\n${problems.join('\n')}`);
}
