/**
 * Administrators' actions in scenarios (`admin:` entries): a cmdlet line (`Set-UMMailboxPIN -Identity x -Pin 1234`)
 * run at its point of the scenario clock, on the scenario's store, through the same cmdlet operations as the CLI,
 * the HTTP API and the web pages (`admin/cmdlets.ts`). The in-process runner (`runner.ts`) runs them on its App on
 * the virtual clock; the network runner (`net/net-runner.ts`) on the server's data folder, in real time.
 */
import type { App } from '../app';
import { findCmdlet } from '../admin/cmdlets';
import { parseParams } from '../admin/ps-params';
import { ErrorCodes, VaError } from '../errors';

/**
 * Runs one cmdlet line (`Set-UMMailboxPIN -Identity x -Pin 1234 -PinExpired $false`) against the scenario's app.
 * @returns a one-line summary of its output
 * @throws VaError for an unknown cmdlet, bad parameters, or a failing cmdlet
 */
export async function runAdminAction(app: App, args: string[]): Promise<string> {
  const [name, ...rest] = args;
  const cmdlet = findCmdlet(name);
  if (!cmdlet) throw new VaError(ErrorCodes.CLI_UNKNOWN_COMMAND, `'${name}' is not a cmdlet`);
  const output = await cmdlet.run(app, parseParams(cmdlet.name, cmdlet.params, rest));
  return output.length === 0 ? 'ok' : `${output.length} object${output.length > 1 ? 's' : ''}`;
}
