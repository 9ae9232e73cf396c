/**
 * The `voice-access` command line: the administrator's cmdlets (`voice-access Get-UMMailboxPIN -Identity x`), with
 * `--json`, `--data DIR` and `--config FILE` on every command, and `simulate` (scenario files on the simulator, parsed
 * with commander in `simulate.ts`). Exit codes: 0 success, 1 the operation failed, 2 the command line was wrong
 * (nothing was changed then).
 */
import { CMDLETS, findCmdlet } from '../admin/cmdlets';
import { formatList } from '../admin/ps-format';
import { parseParams } from '../admin/ps-params';
import { openApp } from '../app';
import { ErrorCodes, VaError, isVaError } from '../errors';

/** Where the CLI writes; replaceable for in-process tests. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const stdio: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** The `--` options every command accepts. */
export interface GlobalOptions {
  json: boolean;
  data?: string;
  config?: string;
  help: boolean;
}

/**
 * Removes the global `--json`, `--data DIR`, `--config FILE` (also `--data=DIR`) and `--help`/`-?` options from the
 * arguments; the rest are the command's own.
 * @throws VaError VA_ERR_CLI_PARAMETER when `--data` or `--config` has no value, or an unknown `--` option is given
 */
export function extractGlobalOptions(argv: readonly string[]): { options: GlobalOptions; rest: string[] } {
  const options: GlobalOptions = { json: false, help: false };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--(data|config)(?:=(.*))?$/.exec(a);
    if (m) {
      const v = m[2] ?? argv[++i];
      if (v === undefined || v === '') throw new VaError(ErrorCodes.CLI_PARAMETER, `--${m[1]} needs a value`);
      options[m[1] as 'data' | 'config'] = v;
    } else if (a === '--json') options.json = true;
    else if (a === '--help' || a === '-?' || a === '-h') options.help = true;
    else if (a.startsWith('--')) throw new VaError(ErrorCodes.CLI_PARAMETER, `unknown option ${a}`);
    else rest.push(a);
  }
  return { options, rest };
}

/**
 * When the command is `simulate`, the arguments for it (everything but the word `simulate`, global options
 * included: the simulate command parses `--data`, `--config`, `--json` itself); otherwise null.
 */
export function subcommandArgs(argv: readonly string[], name: string): string[] | null {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--data' || a === '--config') {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return a.toLowerCase() === name ? [...argv.slice(0, i), ...argv.slice(i + 1)] : null;
  }
  return null;
}

function usage(): string {
  const names = CMDLETS.map((c) => `  ${c.name.padEnd(46)} ${c.synopsis}`).join('\n');
  return `voice-access: an Outlook-Voice-Access-style IVR and simulator

Usage:
  voice-access <Cmdlet> [-Parameter value ...] [--json] [--data DIR] [--config FILE]
  voice-access <Cmdlet> --help
  voice-access serve [--config FILE] [--data DIR] [--sip-host 127.0.0.1] [--sip-port 5060] [--rtp-ports 20000-29999]
                     [--sip-engine embedded|drachtio] [--drachtio HOST:PORT] [--drachtio-secret S]
  voice-access simulate FILE... [--config FILE] [--data DIR] [--junit OUT.xml] [--json]
  voice-access simulate --target udp:HOST:PORT FILE... [--data DIR] [--server-log FILE] [--max-wait 60s|none]

Options on every command:
  --data DIR      the data folder (SQLite store, outbox, recordings); default ./data
  --config FILE   the directory file imported on first use; default: the built-in demo config/contoso.yaml
  --json          print JSON instead of PowerShell's list format

Commands:
  simulate FILE...   run scenario files (scripted calls) on the in-process simulator; voice-access simulate --help

Cmdlets:
${names}
`;
}

function cmdletHelp(name: string): string {
  const c = findCmdlet(name)!;
  const params = c.params
    .map((p) => `  -${p.name}${p.required ? ' (required)' : ''}${p.position !== undefined ? ' (positional)' : ''}\n      ${p.help ?? ''}`)
    .join('\n');
  return `${c.name}: ${c.synopsis}\n\nParameters:\n${params || '  (none)'}\n`;
}

/**
 * Runs the CLI. @param argv the arguments after the program name; @param io where output goes
 * @returns the process exit code
 */
export async function main(argv: readonly string[], io: CliIo = stdio): Promise<number> {
  const sim = subcommandArgs(argv, 'simulate');
  if (sim) {
    const { runSimulateCli } = await import('./simulate');
    return runSimulateCli(sim, io);
  }
  const serve = subcommandArgs(argv, 'serve');
  if (serve) {
    const { runServeCli } = await import('./serve');
    return runServeCli(serve, io);
  }
  let parsed: ReturnType<typeof extractGlobalOptions>;
  try {
    parsed = extractGlobalOptions(argv);
  } catch (err) {
    io.err(`${(err as Error).message}\n`);
    return 2;
  }
  const { options, rest } = parsed;
  const [command, ...args] = rest;
  if (command === undefined || command === 'help') {
    io.out(usage());
    return command === undefined && !options.help ? 2 : 0;
  }
  const cmdlet = findCmdlet(command);
  if (!cmdlet) {
    io.err(`${ErrorCodes.CLI_UNKNOWN_COMMAND}: '${command}' is not a voice-access command or cmdlet. Run 'voice-access help' for the list.\n`);
    return 2;
  }
  if (options.help) {
    io.out(cmdletHelp(cmdlet.name));
    return 0;
  }
  let app: Awaited<ReturnType<typeof openApp>> | undefined;
  try {
    const values = parseParams(cmdlet.name, cmdlet.params, args);
    app = await openApp({ config: options.config, data: options.data });
    const output = await cmdlet.run(app, values);
    io.out(options.json ? `${JSON.stringify(output, null, 2)}\n` : formatList(output));
    return 0;
  } catch (err) {
    if (isVaError(err)) {
      io.err(`${err.code}: ${err.message}\n`);
      return err.code === ErrorCodes.CLI_PARAMETER ? 2 : 1;
    }
    throw err;
  } finally {
    app?.close();
  }
}
