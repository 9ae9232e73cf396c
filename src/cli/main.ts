/**
 * The `voice-access` command line: the administrator's cmdlets (`voice-access Get-UMMailboxPIN -Identity x`), with
 * `--json`, `--data DIR` and `--config FILE` on every command (or the `VA_DATA` and `VA_CONFIG` environment
 * variables; the options win), `serve` and `simulate` (parsed with commander in `serve.ts` and `simulate.ts`), and
 * `--version`. A cmdlet that finds no store in the data folder creates one from the directory file and says so on
 * stderr. Exit codes: 0 success, 1 the operation failed, 2 the command line was wrong (nothing was changed then).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { runAudited } from '../admin/audit';
import { CMDLETS, findCmdlet } from '../admin/cmdlets';
import { displayPath } from '../admin/directory-import';
import { formatList } from '../admin/ps-format';
import { parseParams } from '../admin/ps-params';
import { DEFAULT_DATA_DIR, openApp } from '../app';
import { loadDirectory } from '../config/load';
import { assertDirectoryPins } from '../directory/directory-pins';
import { ErrorCodes, VaError, isVaError } from '../errors';
import { ENV, readEnvironment } from '../config/environment';

/** Where the CLI writes; replaceable for in-process tests. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** True when `err` writes to a terminal (a live line may then be redrawn in place); false or absent otherwise. */
  errIsTty?: boolean;
}

const stdio: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  errIsTty: process.stderr.isTTY === true,
};

/** The `--` options every command accepts. */
export interface GlobalOptions {
  json: boolean;
  data?: string;
  config?: string;
  /** `--store URL`: a PostgreSQL store instead of the data folder's SQLite. */
  store?: string;
  help: boolean;
  /** `--version`: print the package version. */
  version?: boolean;
}

/** The environment variable that stands for `--data` when it is not given. */
export const DATA_ENV = ENV.data;
/** The environment variable that stands for `--config` when it is not given. */
export const CONFIG_ENV = ENV.config;

/**
 * The data folder, directory file and store a command uses: the options, else `VA_DATA` / `VA_CONFIG` /
 * `VA_STORE_URL` (empty counts as unset), else undefined (the defaults: `./data`, the built-in demo, the directory
 * file's `store.url` or SQLite in the data folder).
 */
export function dataAndConfig(
  options: Pick<GlobalOptions, 'data' | 'config' | 'store'>,
  env: NodeJS.ProcessEnv = process.env,
): { data?: string; config?: string; store?: string } {
  const e = readEnvironment(env);
  return { data: options.data ?? e.data, config: options.config ?? e.config, store: options.store ?? e.storeUrl };
}

/** The version in the package's `package.json` (found from `src/` under ts-jest and from `dist/src/` compiled). */
export function packageVersion(): string {
  for (const p of [path.resolve(__dirname, '..', '..', 'package.json'), path.resolve(__dirname, '..', '..', '..', 'package.json')]) {
    try {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'voice-access' && pkg.version) return pkg.version;
    } catch {
      /* try the next */
    }
  }
  return 'unknown';
}

/**
 * Removes the global `--json`, `--data DIR`, `--config FILE` (also `--data=DIR`), `--help`/`-?` and `--version`
 * options from the arguments; the rest are the command's own.
 * @throws VaError VA_ERR_CLI_PARAMETER when `--data` or `--config` has no value, or an unknown `--` option is given
 */
export function extractGlobalOptions(argv: readonly string[]): { options: GlobalOptions; rest: string[] } {
  const options: GlobalOptions = { json: false, help: false };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--(data|config|store)(?:=(.*))?$/.exec(a);
    if (m) {
      const v = m[2] ?? argv[++i];
      if (v === undefined || v === '') throw new VaError(ErrorCodes.CLI_PARAMETER, `--${m[1]} needs a value`);
      options[m[1] as 'data' | 'config' | 'store'] = v;
    } else if (a === '--json') options.json = true;
    else if (a === '--help' || a === '-?' || a === '-h') options.help = true;
    else if (a === '--version') options.version = true;
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
    if (a === '--data' || a === '--config' || a === '--store') {
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
  return `voice-access ${packageVersion()}: an Outlook-Voice-Access-style IVR and simulator

Usage:
  voice-access <Cmdlet> [-Parameter value ...] [--json] [--data DIR] [--config FILE] [--store URL]
  voice-access <Cmdlet> --help
  voice-access serve [--config FILE] [--data DIR] [--sip-host 127.0.0.1] [--sip-port 5060] [--rtp-ports 20000-29999]
                     [--sip-engine embedded|drachtio] [--drachtio HOST:PORT] [--drachtio-secret S] [--log-level info]
                     [--media embedded|freeswitch] [--freeswitch HOST:PORT ...] [--freeswitch-secret S]
                     [--store postgresql://USER@HOST:PORT/DB] [--recordings DIR]
  voice-access simulate FILE... [--config FILE] [--data DIR] [--junit OUT.xml] [--json]
  voice-access simulate --target udp:HOST:PORT FILE... [--data DIR] [--server-log FILE] [--max-wait 60s|none]
  voice-access simulate --target udp:HOST:PORT --calls N --rate R/s [--concurrency C] [--duration D]
                        [--max-failures K] [--report FILE.json] [--junit FILE.xml] FILE...   (a load run)
  voice-access copy-store --to postgresql://USER@HOST:PORT/DB [--data DIR]
  voice-access export-sipp FILE.yaml... --out DIR [--target HOST:PORT]
  voice-access --version

Options on every command:
  --data DIR      the data folder (SQLite store, outbox, recordings); default $VA_DATA, else ./data
  --config FILE   the directory file imported on first use; default $VA_CONFIG, else the built-in demo
                  config/contoso.yaml (simulate uses VA_DATA and VA_CONFIG only with --target)
  --store URL     a PostgreSQL store (postgresql://USER@HOST:PORT/DB) instead of SQLite in the data folder;
                  default $VA_STORE_URL, else the directory file's store.url
  --json          print JSON instead of PowerShell's list format

Commands:
  serve              the IVR on SIP and RTP (the log level: --log-level or VA_LOG_LEVEL); voice-access serve --help
  simulate FILE...   run scenario files (scripted calls) on the in-process simulator; voice-access simulate --help
  copy-store         copy the data folder's SQLite store into an empty PostgreSQL database (--to URL), whole
  export-sipp FILE   write a SIPp scenario per call that waits for the prompts by their events; voice-access export-sipp --help
  help               this text

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
 * Runs the CLI.
 * @param argv the arguments after the program name
 * @param io where output goes
 * @param env the environment (`VA_DATA`, `VA_CONFIG`); the process's by default
 * @returns the process exit code
 */
export async function main(argv: readonly string[], io: CliIo = stdio, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const sim = subcommandArgs(argv, 'simulate');
  if (sim) {
    const { runSimulateCli } = await import('./simulate');
    return runSimulateCli(sim, io);
  }
  const copy = subcommandArgs(argv, 'copy-store');
  if (copy) return copyStore(copy, io, env);
  const exported = subcommandArgs(argv, 'export-sipp');
  if (exported) {
    const { runExportSippCli } = await import('./export-sipp');
    return runExportSippCli(exported, io);
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
  if (options.version && command === undefined) {
    io.out(`${packageVersion()}\n`);
    return 0;
  }
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
    const where = dataAndConfig(options, env);
    // Import-Directory FILE on a data folder without a store creates it from FILE, not from the demo.
    const importing = cmdlet.name === 'Import-Directory' ? (values.Path as string) : undefined;
    const config = where.config ?? importing;
    const dataDir = path.resolve(where.data ?? DEFAULT_DATA_DIR);
    if (importing !== undefined && values.WhatIf === true && !existsSync(path.join(dataDir, 'voice-access.db'))) {
      // -WhatIf changes nothing, not even by creating the store: check the file as the first import would.
      const { directory, path: file } = loadDirectory(config);
      assertDirectoryPins(directory, file);
      io.err(`no store in ${displayPath(dataDir)}: without -WhatIf, one would be created from ${displayPath(file)}\n`);
      return 0;
    }
    app = await openApp({ config, data: dataDir, store: where.store });
    if (app.imported) io.err(`created a new store in ${displayPath(app.dataDir)} from ${displayPath(app.configPath)}\n`);
    // A change is written to the admin audit log as `cli` (issue 21); reads are not.
    const output = await runAudited(app, cmdlet, values, { who: 'cli', address: null });
    io.out(options.json ? `${JSON.stringify(output, null, 2)}\n` : formatList(output));
    return 0;
  } catch (err) {
    if (isVaError(err)) {
      io.err(`${err.code}: ${err.message}\n`);
      return err.code === ErrorCodes.CLI_PARAMETER ? 2 : 1;
    }
    throw err;
  } finally {
    await app?.close();
  }
}

/**
 * `voice-access copy-store --to URL [--data DIR]`: copies the data folder's SQLite store into an empty PostgreSQL
 * database (`directory/postgres/store-copy.ts`), the move from one machine to several (docs/scaling-out.md).
 * @returns 0 copied; 1 the copy failed (nothing copied); 2 the command line was wrong
 */
async function copyStore(argv: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  let to: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const m = /^--to(?:=(.*))?$/.exec(argv[i]);
    if (m) to = m[1] ?? argv[++i];
    else rest.push(argv[i]);
  }
  let options: GlobalOptions;
  try {
    const parsed = extractGlobalOptions(rest);
    options = parsed.options;
    if (parsed.rest.length > 0) throw new VaError(ErrorCodes.CLI_PARAMETER, `copy-store takes no argument ${parsed.rest[0]}`);
  } catch (err) {
    io.err(`${(err as VaError).code ?? ErrorCodes.CLI_PARAMETER}: ${(err as Error).message}\n`);
    return 2;
  }
  if (options.help) {
    io.out(`copy-store --to postgresql://USER@HOST:PORT/DB [--data DIR]: copies the data folder's SQLite store, whole, into an empty
PostgreSQL database (its schema is created). Run it with the instances stopped; the recordings folder stays where it is.
`);
    return 0;
  }
  if (!to) {
    io.err(`${ErrorCodes.CLI_PARAMETER}: copy-store needs --to postgresql://USER@HOST:PORT/DB\n`);
    return 2;
  }
  const { copySqliteToPostgres } = await import('../directory/postgres/store-copy');
  const { redactUrl } = await import('../directory/postgres/pg-context');
  const dataDir = path.resolve(dataAndConfig(options, env).data ?? DEFAULT_DATA_DIR);
  try {
    const report = await copySqliteToPostgres(dataDir, to);
    const summary = { From: path.join(dataDir, 'voice-access.db'), To: redactUrl(to), ...report };
    io.out(options.json ? `${JSON.stringify(summary, null, 2)}\n` : formatList([summary]));
    return 0;
  } catch (err) {
    if (isVaError(err)) {
      io.err(`${err.code}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
