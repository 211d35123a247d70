import type { Command } from '../command';
import { connectCommand } from './connect';
import { listenCommand } from './listen';
import { ninepClientCommands } from './ninep-client';
import { ninepServeCommand } from './ninep-serve';
import { proxyCommand } from './proxy';

/** Every command, in the order `flow --help` lists them. */
export const commands: readonly Command[] = [proxyCommand, connectCommand, listenCommand, ninepServeCommand, ...ninepClientCommands];
