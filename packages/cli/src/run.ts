import type { Command } from './command';
import { commandHelp } from './command';
import { commands } from './commands/index';
import { endpointHelp } from './endpoints/registry';
import { ExitCode } from './exit-codes';
import { isUsageError } from './usage-error';

const VERSION = readVersion();

function readVersion(): string {
  try {
    // dist/run.js sits one level below package.json.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pkg = require('../package.json') as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The text `flow --help` prints: the commands, the endpoint URI forms and where to read more. */
export function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `Usage: flow <command> [options]

Bridge any byte-stream endpoint to any other, talk to one like nc, serve and browse 9P.

Commands:
${lines.join('\n')}

Endpoints:
${endpointHelp().map((l) => `  ${l}`).join('\n')}

Run 'flow <command> --help' for a command's options, examples and exit statuses.
Options: --help, --version
`;
}

/** Finds the command for the arguments: the longest name that matches, e.g. `9p get`. */
function findCommand(args: readonly string[]): { command: Command; rest: readonly string[] } | undefined {
  const sorted = [...commands].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
  for (const command of sorted) {
    const words = command.name.split(' ');
    if (words.every((w, i) => args[i] === w)) return { command, rest: args.slice(words.length) };
  }
  return undefined;
}

/** Runs `flow` with `args` (the words after `flow`); resolves with the exit status. */
export async function run(args: readonly string[]): Promise<number> {
  const first = args[0];
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? findCommand(args.slice(1)) : undefined;
    if (first === undefined) {
      // No command at all is a usage error: the help goes to stderr, the status says so.
      process.stderr.write(mainHelp());
      return ExitCode.usage;
    }
    process.stdout.write(topic ? commandHelp(topic.command) : mainHelp());
    return ExitCode.ok;
  }
  if (first === '--version' || first === '-V') {
    process.stdout.write(`flow ${VERSION}\n`);
    return ExitCode.ok;
  }
  const found = findCommand(args);
  if (!found) {
    const group = commands.filter((c) => c.name.startsWith(`${first} `));
    if (group.length > 0 && (args[1] === '--help' || args[1] === '-h')) {
      const width = Math.max(...group.map((c) => c.name.length));
      process.stdout.write(
        `Usage: flow ${first} <command> ...\n\nCommands:\n${group.map((c) => `  flow ${c.name.padEnd(width)}  ${c.summary}\n`).join('')}\nRun 'flow ${first} <command> --help' for a command's options.\n`,
      );
      return ExitCode.ok;
    }
    const known = group.length > 0 ? group.map((c) => c.name) : commands.map((c) => c.name);
    const what = group.length > 0 ? `'${first}' needs a subcommand` : `unknown command '${first}'`;
    const detail = group.length > 0 && args[1] !== undefined && !args[1].startsWith('-') ? `; '${args[1]}' is not one` : '';
    return reportUsage(`flow: ${what}${detail}; commands are ${known.join(', ')}`, 'flow --help');
  }
  const { command, rest } = found;
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandHelp(command));
    return ExitCode.ok;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (isUsageError(error)) {
      return reportUsage(error.message, error.example, error.command);
    }
    throw error;
  }
}

function reportUsage(message: string, example: string | undefined, command?: string): number {
  const more = command ? `Run 'flow ${command} --help' for more.\n` : '';
  process.stderr.write(`${message}\n${example ? `Example: ${example}\n` : ''}${more}`);
  return ExitCode.usage;
}
