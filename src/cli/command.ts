/** What every `voice-access` subcommand built on commander shares: its output through the CLI's io, and its exit codes. */
import { Command, CommanderError } from 'commander';
import type { CliIo } from './main';

/** A commander program that writes through `io` and throws instead of exiting (see {@link parseCommand}). */
export function cliCommand(name: string, io: CliIo): Command {
  return new Command(name)
    .exitOverride()
    .configureOutput({ writeOut: (t) => io.out(t), writeErr: (t) => io.err(t) });
}

/**
 * Parses `args` (after the subcommand's name) and runs the program's action.
 * @returns null when the action ran; 0 after `--help`; 2 for a wrong command line (commander already said why)
 * @throws what the action throws, other than commander's own exits
 */
export async function parseCommand(program: Command, args: readonly string[]): Promise<0 | 2 | null> {
  try {
    await program.parseAsync([...args], { from: 'user' });
    return null;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
}
