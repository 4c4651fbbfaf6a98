/** The `hookonce` command line: a table of subcommands, each with its own --help. */
import { ConfigError } from '../../functions/shared/errors.ts';
import { type CliIo, type Command, CommandFailure, UsageError } from './command.ts';
import { consoleCommand } from './console.ts';
import { costCommand } from './cost.ts';
import { dlqCommand } from './dlq.ts';
import { deliveriesCommand } from './parked.ts';
import { providersCommand } from './providers.ts';
import { replayCommand } from './replay.ts';
import { sendCommand } from './send.ts';
import { tailCommand } from './tail.ts';

/** Every subcommand, by name. A new one is a module with a Command and a line here. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  send: sendCommand,
  providers: providersCommand,
  cost: costCommand,
  replay: replayCommand,
  dlq: dlqCommand,
  deliveries: deliveriesCommand,
  tail: tailCommand,
  console: consoleCommand,
};

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

function overview(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  return [
    'usage: hookonce <command> [options]',
    '',
    'commands:',
    ...Object.values(COMMANDS).map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `hookonce <command> --help` for a command’s options.',
  ].join('\n');
}

/** Runs one command line; answers the exit code (0 ok, 1 the command failed, 2 a usage error). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') {
    io.out(overview());
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === 'help') {
    const command = rest[0] ? COMMANDS[rest[0]] : undefined;
    io.out(command ? `usage: ${command.usage}\n\n${command.help}` : overview());
    return command || rest.length === 0 ? EXIT.ok : EXIT.usage;
  }
  const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (!command) {
    io.err(`hookonce: unknown command "${first}"\n\n${overview()}`);
    return EXIT.usage;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof CommandFailure) {
      io.err(`hookonce ${command.name}: ${error.message}`);
      return EXIT.failed;
    }
    if (error instanceof UsageError || error instanceof ConfigError) {
      io.err(`hookonce ${command.name}: ${error.message}`);
      io.err(`usage: ${command.usage}  (see \`hookonce ${command.name} --help\`)`);
      return EXIT.usage;
    }
    throw error;
  }
}
