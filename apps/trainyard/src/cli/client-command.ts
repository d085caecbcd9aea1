import { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import type { Command } from 'commander';
import { loadClientConfig } from '../config.js';

/** Flags every command that talks to a server takes. */
export interface ClientFlags {
  endpoint?: string;
  key?: string;
  json?: boolean;
}

/** Adds a subcommand with --endpoint, --key and --json. */
export function clientCommand(parent: Command, name: string, description: string): Command {
  return parent
    .command(name)
    .description(description)
    .option(
      '--endpoint <url>',
      'server URL (env TRAINYARD_ENDPOINT; default: the server running on this machine with the same config, per <data-dir>/server.json, else http://127.0.0.1:7070)',
    )
    .option('--key <secret>', 'access key (env TRAINYARD_KEY)')
    .option('--json', 'print JSON instead of a table');
}

export function clientOf(flags: ClientFlags): TrainyardClient {
  return new TrainyardClient(loadClientConfig(flags));
}
