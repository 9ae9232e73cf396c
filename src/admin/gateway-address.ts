/**
 * The check of a UM IP gateway address that New-UMIPGateway, Set-UMIPGateway and Import-Directory make before a
 * change: an IP address, or a host name that is well formed (`config/load.ts`, also checked when the directory file
 * is loaded) and resolves now. Exchange takes "the IP address or FQDN of the gateway" [D-NGW]; a name that does not
 * resolve would only fail later, when the first MWI NOTIFY goes to it or a call from it is not recognised.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { gatewayAddressProblem } from '../config/load';
import { ErrorCodes, VaError } from '../errors';

/** Resolves a host name (`dns.lookup`: the hosts file, then the DNS, as every other program on the machine). */
export type HostLookup = (hostname: string) => Promise<unknown>;

/** How long a name may take to resolve before it counts as not resolving, ms. */
export const GATEWAY_LOOKUP_TIMEOUT_MS = 5_000;

/**
 * Checks a gateway address before it is stored.
 * @param address the address given (`-Address`, `gateways[].address`)
 * @param what names it in messages, e.g. `-Address` or `UM IP gateway gw1`
 * @param lookup resolves a name; `dns.lookup` by default
 * @throws VaError VA_ERR_CLI_PARAMETER when it is neither an IP address nor a host name (nothing was changed);
 *   VA_ERR_GATEWAY_ADDRESS when it is a host name that does not resolve within {@link GATEWAY_LOOKUP_TIMEOUT_MS}
 */
export async function checkGatewayAddress(address: string, what: string, lookup: HostLookup = dnsLookup): Promise<void> {
  const problem = gatewayAddressProblem(address);
  if (problem) throw new VaError(ErrorCodes.CLI_PARAMETER, `${what}: ${problem}`);
  if (isIP(address) !== 0) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      lookup(address),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('timed out'), { code: 'ETIMEOUT' })), GATEWAY_LOOKUP_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new VaError(ErrorCodes.GATEWAY_ADDRESS, `${what}: the host name "${address}" does not resolve (${code}); give an IP address or a name this machine resolves`, {
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}
