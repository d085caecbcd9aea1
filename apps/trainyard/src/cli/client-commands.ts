import { roles } from '@trainyard/contracts/route';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type ClientFlags, clientCommand, clientOf } from './client-command.js';
import { printObject, printRows } from './output.js';

const keyColumns = ['id', 'name', 'role', 'createdAt', 'lastUsedAt', 'expiresAt', 'revokedAt'];
const auditColumns = ['at', 'keyName', 'role', 'door', 'action', 'target', 'status', 'sourceIp'];

/** "30d", "12h", "90m", "45s" from now, or an ISO 8601 time, as ISO 8601. */
export function timeFromNow(text: string, option: string, sign = 1): string {
  const match = /^(\d+)\s*([smhd])$/.exec(text.trim());
  if (match) {
    const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(Date.now() + sign * Number(match[1]) * unit * 1000).toISOString();
  }
  const at = Date.parse(text);
  if (Number.isNaN(at)) {
    throw new InvalidArgumentError(
      `${option}: "${text}" is neither a duration such as 30d, 12h, 90m nor an ISO 8601 time`,
    );
  }
  return new Date(at).toISOString();
}

function seconds(text: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError(`"${text}" is not a duration such as 1d, 12h, 0`);
  return (
    Number(match[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd']
  );
}
const typeColumns = ['name', 'vcpus', 'memoryMiB', 'gpus', 'pricePerHour', 'version', 'description'];

export function addClientCommands(program: Command): void {
  clientCommand(program, 'whoami', 'Show the access key in use').action(async (flags: ClientFlags) => {
    printObject(await clientOf(flags).call('whoami'), flags.json ?? false);
  });

  const keys = program.command('keys').description('Create, list and revoke access keys (admin)');
  clientCommand(keys, 'create', 'Create an access key and print its secret once')
    .argument('<name>', 'a name for the key, e.g. "ci"')
    .addOption(new Option('--role <role>', 'what the key may do').choices([...roles]).default('developer'))
    .option(
      '--expires <when>',
      'refuse the key after this: a duration from now (30d, 12h) or an ISO 8601 time',
    )
    .action(async (name: string, flags: ClientFlags & { role: (typeof roles)[number]; expires?: string }) => {
      const expiresAt = flags.expires === undefined ? undefined : timeFromNow(flags.expires, '--expires');
      const key = await clientOf(flags).call('createKey', {
        body: { name, role: flags.role, ...(expiresAt ? { expiresAt } : {}) },
      });
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

  clientCommand(
    keys,
    'rotate',
    'Give a key a new secret, printed once; the old one works for the grace period',
  )
    .argument('<id>', 'access key id')
    .option('--grace <duration>', 'how long the old secret keeps working (0 ends it now; up to 30d)', '1d')
    .action(async (id: string, flags: ClientFlags & { grace: string }) => {
      const key = await clientOf(flags).call('rotateKey', {
        params: { id },
        body: { graceSeconds: seconds(flags.grace) },
      });
      printObject(key, flags.json ?? false);
      if (!flags.json) process.stdout.write('\nThe new secret is not shown again: store it now.\n');
    });

  const audit = program.command('audit').description('The audit log of mutating calls (admin)');
  clientCommand(audit, 'list', 'Mutating calls, newest first: who, what, when, from where, the answer')
    .option('--key-id <id>', 'only calls made with this access key id')
    .option('--since <when>', 'only calls after this: a duration ago (1h, 7d) or an ISO 8601 time')
    .option('--limit <n>', 'at most this many entries', (v) => Number(v), 100)
    .action(async (flags: ClientFlags & { keyId?: string; since?: string; limit: number }) => {
      const query = {
        limit: Math.min(flags.limit, 1000),
        ...(flags.keyId ? { keyId: flags.keyId } : {}),
        ...(flags.since ? { since: timeFromNow(flags.since, '--since', -1) } : {}),
      };
      const rows = [];
      for await (const entry of clientOf(flags).listAll('listAuditLog', { query })) {
        rows.push(entry);
        if (rows.length >= flags.limit) break;
      }
      printRows(rows, auditColumns, flags.json ?? false);
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
