import { readFileSync } from 'node:fs';
import { TrainyardError } from '@trainyard/contracts/errors';
import { type Lineage, lineageKinds, type ModelPackage } from '@trainyard/contracts/model-packages';
import type { Command } from 'commander';
import { type ClientFlags, clientCommand, clientOf } from './client-command.js';
import { printObject, printRows } from './output.js';

/** `<group>/<version>` or a package ARN as route params. */
function refOf(ref: string): { group: string; version: number } {
  const match = /(?:^|\/)([a-zA-Z0-9-]{1,63})\/([0-9]{1,9})$/.exec(ref);
  if (!match || Number(match[2]) < 1)
    throw new TrainyardError('INVALID_ARGUMENT', `${ref}: use <group>/<version> or the package ARN`, {
      field: 'package',
    });
  return { group: match[1] as string, version: Number(match[2]) };
}

function packageView(p: ModelPackage): Record<string, unknown> {
  const container = p.InferenceSpecification.Containers[0];
  return {
    Package: `${p.ModelPackageGroupName}/${p.ModelPackageVersion}`,
    ModelPackageArn: p.ModelPackageArn,
    ModelApprovalStatus: p.ModelApprovalStatus,
    ...(p.ApprovalDescription ? { ApprovalDescription: p.ApprovalDescription } : {}),
    ...(p.ModelPackageDescription ? { Description: p.ModelPackageDescription } : {}),
    Image: container?.Image,
    ModelDataUrl: container?.ModelDataUrl,
    CreatedBy: `${p.CreatedBy.KeyName} at ${p.CreationTime}`,
    LastModifiedBy: `${p.LastModifiedBy.KeyName} at ${p.LastModifiedTime}`,
    ...(p.SourceTrainingJob ? { SourceTrainingJob: p.SourceTrainingJob.TrainingJobName } : {}),
    ...(p.SourceTrainingJob?.Datasets.length
      ? {
          Datasets: p.SourceTrainingJob.Datasets.map(
            (d) => `${d.ChannelName}=${d.DatasetName}@${d.Version ?? 'latest'}`,
          ).join(', '),
        }
      : {}),
    ...(p.FinalMetricDataList?.length
      ? { FinalMetrics: p.FinalMetricDataList.map((m) => `${m.MetricName}=${m.Value}`).join(', ') }
      : {}),
  };
}

function printLineage(lineage: Lineage): void {
  const label = (id: string) => {
    const node = lineage.nodes.find((n) => n.id === id);
    return node?.status ? `${id} (${node.status})` : id;
  };
  process.stdout.write(`start: ${label(lineage.start)}\n`);
  if (lineage.edges.length === 0) process.stdout.write('(no lineage recorded)\n');
  for (const edge of lineage.edges) process.stdout.write(`${label(edge.from)}  ->  ${label(edge.to)}\n`);
}

async function decide(
  ref: string,
  status: 'Approved' | 'Rejected',
  flags: ClientFlags & { reason?: string },
): Promise<void> {
  const updated = await clientOf(flags).call('updateModelPackage', {
    params: refOf(ref),
    body: {
      ModelApprovalStatus: status,
      ...(flags.reason !== undefined ? { ApprovalDescription: flags.reason } : {}),
    },
  });
  printObject(flags.json ? updated : packageView(updated), flags.json ?? false);
}

export function addRegistryCommands(program: Command): void {
  const groups = program
    .command('model-package-groups')
    .description('Model registry: groups holding the numbered versions of one model');
  clientCommand(groups, 'create', 'Create a model package group')
    .argument('<name>')
    .option('--description <text>', 'ModelPackageGroupDescription')
    .action(async (name: string, flags: ClientFlags & { description?: string }) =>
      printObject(
        await clientOf(flags).call('createModelPackageGroup', {
          body: {
            ModelPackageGroupName: name,
            ...(flags.description !== undefined ? { ModelPackageGroupDescription: flags.description } : {}),
          },
        }),
        flags.json ?? false,
      ),
    );
  clientCommand(groups, 'list', 'List model package groups')
    .option('--name-contains <text>', 'only groups whose name contains this')
    .action(async (flags: ClientFlags & { nameContains?: string }) => {
      const rows = [];
      for await (const g of clientOf(flags).listAll('listModelPackageGroups', {
        query: flags.nameContains ? { nameContains: flags.nameContains } : {},
      }))
        rows.push({ ...g, CreatedBy: g.CreatedBy.KeyName });
      printRows(
        rows,
        [
          'ModelPackageGroupName',
          'LatestVersion',
          'CreatedBy',
          'CreationTime',
          'ModelPackageGroupDescription',
        ],
        flags.json ?? false,
      );
    });
  clientCommand(groups, 'describe', 'Show a model package group')
    .argument('<name>')
    .action(async (name: string, flags: ClientFlags) =>
      printObject(
        await clientOf(flags).call('describeModelPackageGroup', { params: { group: name } }),
        flags.json ?? false,
      ),
    );
  clientCommand(groups, 'delete', 'Delete a group that holds no package')
    .argument('<name>')
    .action(async (name: string, flags: ClientFlags) =>
      printObject(
        await clientOf(flags).call('deleteModelPackageGroup', { params: { group: name } }),
        flags.json ?? false,
      ),
    );

  const packages = program
    .command('model-packages')
    .description('Model registry: versioned model packages, approval and lineage');
  clientCommand(
    packages,
    'create',
    'Register the next version of a group (from a training job or a container)',
  )
    .requiredOption('--group <name>', 'ModelPackageGroupName')
    .option(
      '--from-training-job <name>',
      'a Completed training job: its image, model.tar.gz, metrics and datasets',
    )
    .option('--image <image>', "container image (default: the job's, or trainyard/model-server)")
    .option('--model-data-url <s3uri>', 'the model.tar.gz (not with --from-training-job)')
    .option('--description <text>', 'ModelPackageDescription')
    .option('--approve', 'register as Approved (default PendingManualApproval)')
    .option('--spec <file>', 'JSON with CreateModelPackage fields; flags override it')
    .action(
      async (
        flags: ClientFlags & {
          group: string;
          fromTrainingJob?: string;
          image?: string;
          modelDataUrl?: string;
          description?: string;
          approve?: boolean;
          spec?: string;
        },
      ) => {
        let body: Record<string, unknown> = {};
        if (flags.spec) {
          try {
            body = JSON.parse(readFileSync(flags.spec, 'utf8')) as Record<string, unknown>;
          } catch (error) {
            throw new TrainyardError(
              'INVALID_ARGUMENT',
              `--spec ${flags.spec}: ${(error as Error).message}`,
              {
                field: 'spec',
              },
            );
          }
        }
        body.ModelPackageGroupName = flags.group;
        if (flags.fromTrainingJob) body.SourceTrainingJobName = flags.fromTrainingJob;
        if (flags.description !== undefined) body.ModelPackageDescription = flags.description;
        if (flags.approve) body.ModelApprovalStatus = 'Approved';
        if (flags.image || flags.modelDataUrl)
          body.InferenceSpecification = {
            Containers: [
              {
                Image: flags.image ?? 'trainyard/model-server',
                ...(flags.modelDataUrl ? { ModelDataUrl: flags.modelDataUrl } : {}),
              },
            ],
          };
        const created = await clientOf(flags).call('createModelPackage', { body: body as never });
        printObject(flags.json ? created : packageView(created), flags.json ?? false);
      },
    );
  clientCommand(packages, 'list', 'List package versions')
    .option('--group <name>', 'only this group')
    .option('--status <status>', 'only PendingManualApproval, Approved or Rejected')
    .option('--newest-first', 'highest version first')
    .action(async (flags: ClientFlags & { group?: string; status?: string; newestFirst?: boolean }) => {
      const rows = [];
      for await (const p of clientOf(flags).listAll('listModelPackages', {
        query: {
          ...(flags.group ? { group: flags.group } : {}),
          ...(flags.status ? { approvalStatus: flags.status as never } : {}),
          ...(flags.newestFirst ? { sortOrder: 'Descending' as const } : {}),
        },
      }))
        rows.push({ ...p, Package: `${p.ModelPackageGroupName}/${p.ModelPackageVersion}` });
      printRows(
        rows,
        ['Package', 'ModelApprovalStatus', 'CreationTime', 'ModelPackageDescription'],
        flags.json ?? false,
      );
    });
  clientCommand(
    packages,
    'describe',
    'Show a package version; --lineage adds where it came from and where it runs',
  )
    .argument('<package>', '<group>/<version> or the package ARN')
    .option('--lineage', 'also print dataset -> job -> package -> model -> endpoint')
    .action(async (ref: string, flags: ClientFlags & { lineage?: boolean }) => {
      const client = clientOf(flags);
      const pkg = await client.call('describeModelPackage', { params: refOf(ref) });
      const lineage = flags.lineage
        ? await client.call('lineage', {
            query: { kind: 'model-package', name: `${pkg.ModelPackageGroupName}/${pkg.ModelPackageVersion}` },
          })
        : undefined;
      if (flags.json) {
        printObject(lineage ? { ...pkg, Lineage: lineage } : pkg, true);
        return;
      }
      printObject(packageView(pkg), false);
      if (pkg.ApprovalHistory.length > 0) {
        process.stdout.write('\napproval history:\n');
        printRows(
          pkg.ApprovalHistory.map((e) => ({ ...e, By: e.By.KeyName })),
          ['Time', 'ModelApprovalStatus', 'By', 'ApprovalDescription'],
          false,
        );
      }
      if (lineage) {
        process.stdout.write('\nlineage:\n');
        printLineage(lineage);
      }
    });
  clientCommand(packages, 'approve', 'Approve a package version (admin or developer)')
    .argument('<package>', '<group>/<version> or the package ARN')
    .option('--reason <text>', 'ApprovalDescription: why')
    .action((ref: string, flags: ClientFlags & { reason?: string }) => decide(ref, 'Approved', flags));
  clientCommand(packages, 'reject', 'Reject a package version: it can no longer be deployed')
    .argument('<package>', '<group>/<version> or the package ARN')
    .requiredOption('--reason <text>', 'ApprovalDescription: why')
    .action((ref: string, flags: ClientFlags & { reason?: string }) => decide(ref, 'Rejected', flags));
  clientCommand(packages, 'delete', 'Delete a package version (models made from it keep their copy)')
    .argument('<package>', '<group>/<version> or the package ARN')
    .action(async (ref: string, flags: ClientFlags) =>
      printObject(
        await clientOf(flags).call('deleteModelPackage', { params: refOf(ref) }),
        flags.json ?? false,
      ),
    );

  clientCommand(
    program,
    'lineage',
    'Lineage both ways: dataset version -> training job -> model package -> model -> endpoint',
  )
    .argument('<kind>', `where to start: ${lineageKinds.join(' | ')}`)
    .argument(
      '<name>',
      'its name; a dataset as name or name@version, a model package as <group>/<version> or ARN',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  trainyard lineage dataset churn@3\n  trainyard lineage endpoint churn',
    )
    .action(async (kind: string, name: string, flags: ClientFlags) => {
      if (!(lineageKinds as readonly string[]).includes(kind))
        throw new TrainyardError(
          'INVALID_ARGUMENT',
          `kind "${kind}": use one of ${lineageKinds.join(', ')}`,
          {
            field: 'kind',
          },
        );
      let query: { kind: (typeof lineageKinds)[number]; name: string; version?: number } = {
        kind: kind as (typeof lineageKinds)[number],
        name,
      };
      const at = name.lastIndexOf('@');
      if (kind === 'dataset' && at > 0)
        query = { ...query, name: name.slice(0, at), version: Number(name.slice(at + 1)) };
      const lineage = await clientOf(flags).call('lineage', { query });
      if (flags.json) printObject(lineage, true);
      else printLineage(lineage);
    });
}
