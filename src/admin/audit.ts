/**
 * The admin audit log's writer (issue 21): every cmdlet that changes something, run from the HTTP API or the command
 * line, leaves one line in the store (`ports/store/admin.ts`): who, from where, which cmdlet on which object, its
 * parameters without any PIN, and whether it succeeded. Reads (`Get-*`, `Search-*`) and `-WhatIf` leave none. The
 * HTTP API's changes that are no cmdlet (the drain switch, a lamp resend) are logged the same way
 * ({@link runAuditedAction}).
 */
import { ErrorCodes, isVaError } from '../errors';
import type { AdminContext, Cmdlet } from './cmdlets';
import type { OutputObject } from './ps-format';
import type { ParamValues } from './ps-params';

/** Who ran a cmdlet: an API key's name and the client's address, or `cli`. */
export interface AuditCaller {
  who: string;
  address: string | null;
}

/**
 * Parameters whose value is never written to the log: a PIN (`-Pin`, any `...Pin` given a value) and anything named
 * like a password or secret. Settings about PINs (`-PINLifetime`, `-MinPINLength`) and switches (`-ResetLeaderPIN`)
 * are not secrets and stay.
 */
const SECRET_PARAM = /pin$|password|secret/i;

/** True when running the cmdlet with these values changes something (so it is audited). */
export function isChange(cmdlet: Pick<Cmdlet, 'name'>, values: ParamValues): boolean {
  if (/^(get|search)-/i.test(cmdlet.name)) return false;
  return values.WhatIf !== true;
}

/** The parameters as the log keeps them: without PINs (see {@link SECRET_PARAM}). */
export function auditedParameters(values: ParamValues | Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    if (SECRET_PARAM.test(k) && typeof v !== 'boolean' && v !== null) continue;
    out[k] = v;
  }
  return out;
}

/** A change that is not one cmdlet run (an HTTP API action on the running server: the drain switch, a lamp resend). */
export interface AuditedAction {
  /** The name the log keeps, cmdlet style (`Set-UMService`, `Send-VaMwiState`). */
  action: string;
  /** Its object (a mailbox, the server), or null. */
  target: string | null;
  /** Its parameters; any PIN is left out as for cmdlets ({@link auditedParameters}). */
  parameters: Record<string, unknown>;
}

/**
 * Runs a change and writes its audit line (also when it fails, with the `VA_ERR_*` code, or VA_ERR_INTERNAL). A
 * failure to write the line is not hidden: it rejects after the change ran.
 * @returns what `change` returns; @throws what `change` throws
 */
export async function runAuditedAction<T>(ctx: Pick<AdminContext, 'store'>, what: AuditedAction, caller: AuditCaller, change: () => Promise<T>): Promise<T> {
  const line = (succeeded: boolean, errorCode: string | null) => ({
    at: ctx.store.now(),
    who: caller.who,
    address: caller.address,
    action: what.action,
    target: what.target,
    parameters: auditedParameters(what.parameters),
    succeeded,
    errorCode,
  });
  let output: T;
  try {
    output = await change();
  } catch (err) {
    await ctx.store.admin.addAuditEntry(line(false, isVaError(err) ? err.code : ErrorCodes.INTERNAL)).catch(() => undefined);
    throw err;
  }
  await ctx.store.admin.addAuditEntry(line(true, null));
  return output;
}

/**
 * Runs a cmdlet and, when it changes something, writes its audit line (also when it fails, with the `VA_ERR_*`
 * code). A failure to write the line is not hidden: it rejects after the cmdlet ran.
 * @returns the cmdlet's output; @throws what the cmdlet throws
 */
export async function runAudited(ctx: AdminContext, cmdlet: Cmdlet, values: ParamValues, caller: AuditCaller): Promise<OutputObject[]> {
  if (!isChange(cmdlet, values)) return cmdlet.run(ctx, values);
  const target = (values.Identity ?? values.Name ?? null) as string | null;
  return runAuditedAction(ctx, { action: cmdlet.name, target: target === null ? null : String(target), parameters: values }, caller, () => cmdlet.run(ctx, values));
}
