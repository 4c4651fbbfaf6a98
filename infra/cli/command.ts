import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import type { Env } from '../../functions/shared/env.ts';

/** infra/cli/, where the samples are. */
export const CLI_ROOT = dirname(fileURLToPath(import.meta.url));

/** What a command may touch: injected, so a command runs in a test as it does in a shell. */
export interface CliIo {
  readonly env: Env;
  readonly cwd: string;
  out(text: string): void;
  err(text: string): void;
  readonly fetch: typeof fetch;
  /** Milliseconds since the epoch. */
  now(): number;
}

/** One subcommand of `hookonce`: its help, and what it does. Answers the exit code. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly help: string;
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/** Something the user asked for that cannot be done as asked; the CLI prints it and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Something the command cannot do here, though it was asked for correctly (a
 * secret or a credential this shell lacks): the CLI prints it, with what to do,
 * and exits 1, without the usage line.
 */
export class CommandFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandFailure';
  }
}

/**
 * A command's arguments, parsed strictly (positionals allowed): an unknown option or
 * a missing value is a UsageError, which the CLI prints with the usage line.
 */
export function parseCommandArgs<const O extends ParseArgsOptionsConfig>(
  args: readonly string[],
  options: O,
  /** Accept `--no-<flag>` for a boolean option. */
  allowNegative = false,
) {
  try {
    return parseArgs({
      args: [...args],
      allowPositionals: true,
      allowNegative,
      strict: true,
      options,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
