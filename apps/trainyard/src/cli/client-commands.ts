import { roles } from '@trainyard/contracts/route';
import { type Command, Option } from 'commander';
import { type ClientFlags, clientCommand, clientOf } from './client-command.js';
import { printObject, printRows } from './output.js';

const keyColumns = ['id', 'name', 'role', 'createdAt', 'lastUsedAt', 'revokedAt'];
const typeColumns = ['name', 'vcpus', 'memoryMiB', 'gpus', 'pricePerHour', 'version', 'description'];

export function addClientCommands(program: Command): void {
  clientCommand(program, 'whoami', 'Show the access key in use').action(async (flags: ClientFlags) => {
    printObject(await clientOf(flags).call('whoami'), flags.json ?? false);
  });

  const keys = program.command('keys').description('Create, list and revoke access keys (admin)');
  clientCommand(keys, 'create', 'Create an access key and print its secret once')
    .argument('<name>', 'a name for the key, e.g. "ci"')
    .addOption(new Option('--role <role>', 'what the key may do').choices([...roles]).default('developer'))
    .action(async (name: string, flags: ClientFlags & { role: (typeof roles)[number] }) => {
      const key = await clientOf(flags).call('createKey', { body: { name, role: flags.role } });
      printObject(key, flags.json ?? false);
      if (!flags.json) process.stdout.write('\nThe secret is not shown again: store it now.\n');
    });
  clientCommand(keys, 'list', 'List access keys').action(async (flags: ClientFlags) => {
    const rows = [];
    for await (const key of clientOf(flags).listAll('listKeys')) rows.push(key);
    printRows(rows, keyColumns, flags.json ?? false);
  });
  clientCommand(keys, 'revoke', 'Revoke an access key')
    .argument('<id>', 'access key id')
    .action(async (id: string, flags: ClientFlags) => {
      printObject(await clientOf(flags).call('revokeKey', { params: { id } }), flags.json ?? false);
    });

  const types = program
    .command('instance-types')
    .description('The hardware catalog jobs and endpoints run on');
  clientCommand(types, 'list', 'List instance types').action(async (flags: ClientFlags) => {
    const rows = [];
    for await (const type of clientOf(flags).listAll('listInstanceTypes')) rows.push(type);
    printRows(rows, typeColumns, flags.json ?? false);
  });
  clientCommand(types, 'show', 'Describe an instance type')
    .argument('<name>')
    .action(async (name: string, flags: ClientFlags) => {
      printObject(await clientOf(flags).call('getInstanceType', { params: { name } }), flags.json ?? false);
    });
  clientCommand(types, 'create', 'Add an instance type (admin)')
    .argument('<name>', 'e.g. ml.m5.4xlarge')
    .requiredOption('--vcpus <n>', 'virtual CPUs', Number)
    .requiredOption('--memory-mib <n>', 'memory in MiB', Number)
    .requiredOption('--price-per-hour <usd>', 'price in USD per hour', Number)
    .option('--gpus <n>', 'GPUs', Number, 0)
    .option('--description <text>', 'what it is for', '')
    .action(
      async (
        name: string,
        flags: ClientFlags & {
          vcpus: number;
          memoryMib: number;
          pricePerHour: number;
          gpus: number;
          description: string;
        },
      ) => {
        const created = await clientOf(flags).call('createInstanceType', {
          body: {
            name,
            vcpus: flags.vcpus,
            memoryMiB: flags.memoryMib,
            pricePerHour: flags.pricePerHour,
            gpus: flags.gpus,
            description: flags.description,
          },
        });
        printObject(created, flags.json ?? false);
      },
    );
  clientCommand(types, 'delete', 'Remove an instance type (admin)')
    .argument('<name>')
    .action(async (name: string, flags: ClientFlags) => {
      await clientOf(flags).call('deleteInstanceType', { params: { name } });
      if (!flags.json) process.stdout.write(`deleted ${name}\n`);
    });
}
