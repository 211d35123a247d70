/** One `flow` subcommand: its help and how to run it. */
export interface Command {
  /** As typed after `flow`, e.g. `proxy` or `9p get`. */
  readonly name: string;
  /** One line for `flow --help`. */
  readonly summary: string;
  /** The usage line, also shown as the example after a usage error. */
  readonly usage: string;
  /** The rest of `flow <cmd> --help`: options, examples, exit statuses. */
  readonly details: string;
  /** Runs with the arguments after the command name; resolves with the exit status. */
  run(args: readonly string[]): Promise<number>;
}

export function commandHelp(command: Command): string {
  return `Usage: ${command.usage}\n\n${command.summary}\n\n${command.details.trimEnd()}\n`;
}
