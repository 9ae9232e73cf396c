/**
 * `voice-access export-sipp FILE.yaml... --out DIR [--target HOST:PORT]` (issue 22): writes a SIPp scenario per call
 * of each scenario file (`sim/export-sipp.ts`) and prints the SIPp command line of each.
 */
import * as path from 'node:path';
import { isVaError } from '../errors';
import { exportSipp } from '../sim/export-sipp';
import { cliCommand, parseCommand } from './command';
import type { CliIo } from './main';

/**
 * The `export-sipp` command line (commander).
 * @param args the arguments after `export-sipp`; @param io where output goes
 * @returns 0 every file exported; 1 a scenario is invalid or has a step SIPp cannot do (named); 2 a wrong command line
 */
export async function runExportSippCli(args: readonly string[], io: CliIo): Promise<number> {
  let code = 0;
  const program = cliCommand('voice-access export-sipp', io)
    .description(
      "Write a SIPp XML scenario per call of each scenario file: the same call, waiting for the IVR's prompts by their events (X-VA-Test-Events; the server must list SIPp's address under testing.eventsAllowedFrom).",
    )
    .argument('<files...>', 'scenario files (YAML)')
    .requiredOption('--out <dir>', 'folder for the XML files and the audio they stream (created when missing)')
    .option('--target <host:port>', 'the server, for the command lines printed', '127.0.0.1:5060')
    .action((files: string[], opts: { out: string; target: string }) => {
      for (const file of files) {
        try {
          for (const e of exportSipp(file, path.resolve(opts.out), opts.target)) {
            const when = e.startMs > 0 ? ` (start it ${e.startMs / 1000} s after the first)` : '';
            io.out(`${path.relative(process.cwd(), e.file) || e.file}: call ${e.call}${when}\n  cd ${path.relative(process.cwd(), path.dirname(e.file)) || '.'} && ${e.command}\n`);
          }
        } catch (err) {
          if (!isVaError(err)) throw err;
          io.err(`${file}: ${err.code}: ${err.message}\n`);
          code = 1;
        }
      }
    });
  return (await parseCommand(program, args)) ?? code;
}
