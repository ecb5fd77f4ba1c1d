import { Command, CommanderError } from 'commander';

/**
 * The exit code of a command line commander refused: 2, the shell's usual code
 * for a usage error, so a script can tell a mistyped flag from a command that
 * ran and failed (1).
 */
export const USAGE_ERROR = 2;

/**
 * Parses `argv` (without `node script`) for one of the project's commands. The
 * program must be built with `exitOverride()`, so commander reports instead of
 * exiting the process (tests run the commands in process). Returns the exit
 * code when parsing ended the command (0 after `--help`, {@link USAGE_ERROR}
 * after an unknown flag or a missing value; commander has printed why through
 * the program's configured output), or undefined when the command goes on.
 */
export function parseCommandLine(program: Command, argv: readonly string[]): number | undefined {
  try {
    program.parse([...argv], { from: 'user' });
    return undefined;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : USAGE_ERROR;
    throw error;
  }
}
