import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Endpoint } from '@trainyard/contracts/endpoints';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import { type Command, InvalidArgumentError } from 'commander';
import { type ClientFlags, clientCommand, clientOf } from './client-command.js';
import { printObject, printRows } from './output.js';

function readJson(file: string, flag: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new TrainyardError('INVALID_ARGUMENT', `${flag} ${file}: ${(error as Error).message}`, {
      field: flag,
    });
  }
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `KEY=VALUE` pairs of repeated `--env`. */
function envOf(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0)
      throw new TrainyardError('INVALID_ARGUMENT', `--env ${pair}: use KEY=VALUE`, { field: 'env' });
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

/** `VariantName:ModelName:InstanceType[:count[:weight]]` of repeated `--variant`. */
function variantOf(text: string) {
  const [VariantName, ModelName, InstanceType, count = '1', weight = '1'] = text.split(':');
  if (!VariantName || !ModelName || !InstanceType)
    throw new TrainyardError(
      'INVALID_ARGUMENT',
      `--variant ${text}: use VariantName:ModelName:InstanceType[:InstanceCount[:Weight]]`,
      { field: 'variant' },
    );
  return {
    VariantName,
    ModelName,
    InstanceType,
    InitialInstanceCount: Number(count),
    InitialVariantWeight: Number(weight),
  };
}

function endpointRow(e: Endpoint): Record<string, unknown> {
  return {
    EndpointName: e.EndpointName,
    EndpointStatus: e.EndpointStatus,
    EndpointConfigName: e.EndpointConfigName,
    ...(e.PendingEndpointConfigName ? { PendingEndpointConfigName: e.PendingEndpointConfigName } : {}),
    ...(e.FailureReason ? { FailureReason: e.FailureReason } : {}),
    Variants: e.ProductionVariants.map(
      (v) =>
        `${v.VariantName} (${v.ModelName}, weight ${v.CurrentWeight}, ${v.CurrentInstanceCount}/${v.DesiredInstanceCount} ${v.InstanceType})`,
    ).join('; '),
  };
}

/** Polls until the endpoint leaves Creating/Updating/RollingBack (or is gone after a delete). */
async function waitSettled(client: TrainyardClient, name: string): Promise<Endpoint | undefined> {
  let seen = '';
  for (;;) {
    let endpoint: Endpoint;
    try {
      endpoint = await client.call('describeEndpoint', { params: { name } });
    } catch (error) {
      if (TrainyardError.is(error, 'NOT_FOUND')) return undefined;
      throw error;
    }
    if (endpoint.EndpointStatus !== seen) {
      process.stderr.write(`${new Date().toISOString().slice(11, 19)}  ${endpoint.EndpointStatus}\n`);
      seen = endpoint.EndpointStatus;
    }
    if (endpoint.EndpointStatus === 'InService' || endpoint.EndpointStatus === 'Failed') return endpoint;
    await sleep(500);
  }
}

async function printSettled(client: TrainyardClient, name: string, flags: ClientFlags): Promise<void> {
  const final = await waitSettled(client, name);
  if (!final) return;
  printObject(flags.json ? final : endpointRow(final), flags.json ?? false);
  if (final.EndpointStatus !== 'InService' || final.FailureReason) process.exitCode = 1;
}

function parseEntrypoint(text: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string'))
    throw new InvalidArgumentError(
      `--entrypoint must be a JSON array of strings, e.g. '["python3","/opt/ml/model/code/app.py"]'; got ${text}`,
    );
  return value as string[];
}

export function addEndpointCommands(program: Command): void {
  const models = program
    .command('models')
    .description('Models: a serving image, a model.tar.gz and environment');
  clientCommand(models, 'create', 'Create a model (SageMaker CreateModel)')
    .option('--spec <file>', 'JSON with CreateModel fields (ModelName, PrimaryContainer, ...)')
    .option('--name <name>', 'ModelName')
    .option('--image <image>', 'PrimaryContainer.Image', 'trainyard/model-server')
    .option('--model-data-url <s3uri>', 'PrimaryContainer.ModelDataUrl: s3://bucket/key/model.tar.gz')
    .option(
      '--env <KEY=VALUE>',
      'PrimaryContainer.Environment entry (repeatable), e.g. SAGEMAKER_PROGRAM=inference.py for a script handler',
      collect,
      [],
    )
    .option(
      '--entrypoint <json>',
      'PrimaryContainer.ContainerEntrypoint: a server command as a JSON array, e.g. \'["python3","/opt/ml/model/code/app.py"]\'',
      parseEntrypoint,
    )
    .option(
      '--model-package <package>',
      'copy the container of a registered package (<group>/<version> or its ARN) instead; it must be Approved',
    )
    .option(
      '--allow-unapproved',
      'with --model-package: accept a PendingManualApproval package (never a Rejected one)',
    )
    .action(
      async (
        flags: ClientFlags & {
          spec?: string;
          name?: string;
          image: string;
          modelDataUrl?: string;
          env: string[];
          modelPackage?: string;
          allowUnapproved?: boolean;
          entrypoint?: string[];
        },
      ) => {
        const entrypoint = flags.entrypoint;
        const body = flags.spec
          ? readJson(flags.spec, 'spec')
          : flags.modelPackage
            ? {
                ModelName: flags.name,
                modelPackageName: flags.modelPackage,
                ...(flags.allowUnapproved ? { allowUnapprovedModelPackage: true } : {}),
              }
            : {
                ModelName: flags.name,
                PrimaryContainer: {
                  Image: flags.image,
                  ModelDataUrl: flags.modelDataUrl,
                  Environment: envOf(flags.env),
                  ...(entrypoint ? { ContainerEntrypoint: entrypoint } : {}),
                },
              };
        if (flags.spec && flags.name) body.ModelName = flags.name;
        const model = await clientOf(flags).call('createModel', { body: body as never });
        printObject(model, flags.json ?? false);
      },
    );
  clientCommand(models, 'list', 'List models').action(async (flags: ClientFlags) => {
    const rows = [];
    for await (const m of clientOf(flags).listAll('listModels')) rows.push({ ...m, ...m.PrimaryContainer });
    printRows(rows, ['ModelName', 'Image', 'ModelDataUrl', 'CreationTime'], flags.json ?? false);
  });
  clientCommand(models, 'describe', 'Show a model')
    .argument('<name>')
    .action(async (name: string, flags: ClientFlags) =>
      printObject(await clientOf(flags).call('describeModel', { params: { name } }), flags.json ?? false),
    );
  clientCommand(models, 'delete', 'Delete a model')
    .argument('<name>')
    .action(async (name: string, flags: ClientFlags) =>
      printObject(await clientOf(flags).call('deleteModel', { params: { name } }), flags.json ?? false),
    );

  const configs = program
    .command('endpoint-configs')
    .description('Endpoint configs: immutable sets of production variants');
  clientCommand(configs, 'create', 'Create an endpoint config (SageMaker CreateEndpointConfig)')
    .option('--spec <file>', 'JSON with CreateEndpointConfig fields')
    .option('--name <name>', 'EndpointConfigName')
    .option(
      '--variant <spec>',
      'VariantName:ModelName:InstanceType[:InstanceCount[:Weight]] (repeatable), e.g. a:churn-v1:ml.m5.large:2:0.8',
      collect,
      [],
    )
    .action(async (flags: ClientFlags & { spec?: string; name?: string; variant: string[] }) => {
      const body = flags.spec
        ? readJson(flags.spec, 'spec')
        : { EndpointConfigName: flags.name, ProductionVariants: flags.variant.map(variantOf) };
      if (flags.spec && flags.name) body.EndpointConfigName = flags.name;
      printObject(
        await clientOf(flags).call('createEndpointConfig', { body: body as never }),
        flags.json ?? false,
      );
    });
  clientCommand(configs, 'list', 'List endpoint configs').action(async (flags: ClientFlags) => {
    const rows = [];
    for await (const c of clientOf(flags).listAll('listEndpointConfigs'))
      rows.push({ ...c, Variants: c.ProductionVariants.map((v) => v.VariantName).join(',') });
    printRows(rows, ['EndpointConfigName', 'Variants', 'CreationTime'], flags.json ?? false);
  });
  clientCommand(configs, 'describe', 'Show an endpoint config')
    .argument('<name>')
    .action(async (name: string, flags: ClientFlags) =>
      printObject(
        await clientOf(flags).call('describeEndpointConfig', { params: { name } }),
        flags.json ?? false,
      ),
    );
  clientCommand(configs, 'delete', 'Delete an endpoint config no endpoint uses')
    .argument('<name>')
    .action(async (name: string, flags: ClientFlags) =>
      printObject(
        await clientOf(flags).call('deleteEndpointConfig', { params: { name } }),
        flags.json ?? false,
      ),
    );

  const endpoints = program.command('endpoints').description('Real-time endpoints: create, update, invoke');
  clientCommand(endpoints, 'create', 'Create an endpoint from a config')
    .requiredOption('--name <name>', 'EndpointName')
    .requiredOption('--config <name>', 'EndpointConfigName')
    .option('--wait', 'wait until InService; exit 1 if it fails')
    .action(async (flags: ClientFlags & { name: string; config: string; wait?: boolean }) => {
      const client = clientOf(flags);
      const created = await client.call('createEndpoint', {
        body: { EndpointName: flags.name, EndpointConfigName: flags.config },
      });
      if (flags.wait) await printSettled(client, flags.name, flags);
      else printObject(flags.json ? created : endpointRow(created), flags.json ?? false);
    });
  clientCommand(endpoints, 'list', 'List endpoints').action(async (flags: ClientFlags) => {
    const rows = [];
    for await (const e of clientOf(flags).listAll('listEndpoints')) rows.push(e);
    printRows(
      rows,
      ['EndpointName', 'EndpointStatus', 'CreationTime', 'LastModifiedTime'],
      flags.json ?? false,
    );
  });
  clientCommand(endpoints, 'describe', 'Show an endpoint: status, failure reason, variants')
    .argument('<name>')
    .action(async (name: string, flags: ClientFlags) => {
      const e = await clientOf(flags).call('describeEndpoint', { params: { name } });
      printObject(flags.json ? e : endpointRow(e), flags.json ?? false);
    });
  clientCommand(
    endpoints,
    'instances',
    'List the running instances of an endpoint, with CPU (100 = one core) and memory of the last sample',
  )
    .argument('<name>')
    .action(async (name: string, flags: ClientFlags) => {
      const { items } = await clientOf(flags).call('listEndpointInstances', { params: { name } });
      const rows = flags.json
        ? items
        : items.map((i) => ({
            ...i,
            CpuPercent: i.CpuPercent === undefined ? '' : `${i.CpuPercent}%`,
            MemoryMiB: i.MemoryBytes === undefined ? '' : (i.MemoryBytes / 1048576).toFixed(0),
          }));
      printRows(
        rows,
        [
          'InstanceId',
          'VariantName',
          'EndpointConfigName',
          'Status',
          'Url',
          'Pid',
          'Restarts',
          'CpuPercent',
          'MemoryMiB',
          'LastError',
        ],
        flags.json ?? false,
      );
    });
  clientCommand(
    endpoints,
    'metrics',
    'Traffic of an endpoint per variant (or instance) from the stored 10 s series: invocations, 4xx/5xx, latency mean/p50/p99, CPU',
  )
    .argument('<name>')
    .option('--minutes <n>', 'the last n minutes (default 30, at most 1440)')
    .option('--from <time>', 'window start, ISO 8601 (e.g. 2026-01-01T12:00:00Z)')
    .option('--to <time>', 'window end, ISO 8601 (default now)')
    .option('--per-instance', 'one row per instance instead of per variant')
    .action(
      async (
        name: string,
        flags: ClientFlags & { minutes?: string; from?: string; to?: string; perInstance?: boolean },
      ) => {
        const query: Record<string, string> = {};
        if (flags.minutes !== undefined) query.minutes = flags.minutes;
        if (flags.from !== undefined) query.from = flags.from;
        if (flags.to !== undefined) query.to = flags.to;
        if (flags.perInstance) query.perInstance = 'true';
        const m = await clientOf(flags).call('getEndpointMetrics', { params: { name }, query });
        if (flags.json) {
          printObject(m, true);
          return;
        }
        type Samples = (typeof m.variants)[number]['samples'];
        const mean = (pairs: [number | null, number][]) => {
          const known = pairs.filter((p): p is [number, number] => p[0] !== null && p[1] > 0);
          const n = known.reduce((s, [, w]) => s + w, 0);
          return n === 0 ? '' : (known.reduce((s, [v, w]) => s + v * w, 0) / n).toFixed(2);
        };
        // Quantiles of a window cannot be summed from samples: the worst sample's is shown.
        const worst = (samples: Samples, key: 'modelLatencyP50Ms' | 'modelLatencyP99Ms') => {
          const values = samples.flatMap((s) => (s[key] === null ? [] : [s[key] as number]));
          return values.length ? Math.max(...values).toFixed(2) : '';
        };
        const row = (samples: Samples) => {
          const last = samples.findLast((s) => s.instances > 0);
          return {
            Samples: samples.length,
            Invocations: samples.reduce((s, x) => s + x.invocations, 0),
            Errors4xx: samples.reduce((s, x) => s + x.errors4xx, 0),
            Errors5xx: samples.reduce((s, x) => s + x.errors5xx, 0),
            ModelMs: mean(samples.map((s) => [s.modelLatencyMs, s.invocations])),
            MaxP50Ms: worst(samples, 'modelLatencyP50Ms'),
            MaxP99Ms: worst(samples, 'modelLatencyP99Ms'),
            OverheadMs: mean(samples.map((s) => [s.overheadLatencyMs, s.invocations])),
            Instances: last?.instances ?? '',
            CpuPercent:
              last?.cpuPercent === null || last === undefined ? '' : `${last.cpuPercent.toFixed(1)}%`,
          };
        };
        const rows = m.variants.flatMap((v) => {
          const variant = v.VariantName || '(not routed)';
          if (!flags.perInstance) return [{ VariantName: variant, ...row(v.samples) }];
          return (v.instances ?? []).map((i) => ({
            VariantName: variant,
            InstanceId: i.InstanceId,
            ...row(i.samples),
          }));
        });
        printRows(
          rows,
          [
            'VariantName',
            ...(flags.perInstance ? ['InstanceId'] : []),
            'Samples',
            'Invocations',
            'Errors4xx',
            'Errors5xx',
            'ModelMs',
            'MaxP50Ms',
            'MaxP99Ms',
            'OverheadMs',
            'Instances',
            'CpuPercent',
          ],
          false,
        );
        process.stderr.write(
          `one sample every ${m.intervalSeconds} s over ${m.windowSeconds / 60} min, in memory of the answering API process\n`,
        );
      },
    );
  clientCommand(endpoints, 'update', 'Move an endpoint to another config (blue/green)')
    .argument('<name>')
    .requiredOption('--config <name>', 'the new EndpointConfigName')
    .option('--wait', 'wait until it settles; exit 1 if it rolled back')
    .action(async (name: string, flags: ClientFlags & { config: string; wait?: boolean }) => {
      const client = clientOf(flags);
      const e = await client.call('updateEndpoint', {
        params: { name },
        body: { EndpointConfigName: flags.config },
      });
      if (flags.wait) await printSettled(client, name, flags);
      else printObject(flags.json ? e : endpointRow(e), flags.json ?? false);
    });
  clientCommand(endpoints, 'update-weights', 'Change variant weights and instance counts in place')
    .argument('<name>')
    .option(
      '--variant <spec>',
      'VariantName[:weight[:count]] (repeatable); leave a part empty to keep it',
      collect,
      [],
    )
    .action(async (name: string, flags: ClientFlags & { variant: string[] }) => {
      const DesiredWeightsAndCapacities = flags.variant.map((spec) => {
        const [VariantName = '', weight, count] = spec.split(':');
        return {
          VariantName,
          ...(weight ? { DesiredWeight: Number(weight) } : {}),
          ...(count ? { DesiredInstanceCount: Number(count) } : {}),
        };
      });
      const e = await clientOf(flags).call('updateEndpointWeightsAndCapacities', {
        params: { name },
        body: { DesiredWeightsAndCapacities },
      });
      printObject(flags.json ? e : endpointRow(e), flags.json ?? false);
    });
  clientCommand(endpoints, 'delete', 'Delete an endpoint and stop its instances')
    .argument('<name>')
    .option('--wait', 'wait until it is gone')
    .action(async (name: string, flags: ClientFlags & { wait?: boolean }) => {
      const client = clientOf(flags);
      const e = await client.call('deleteEndpoint', { params: { name } });
      if (flags.wait) await waitSettled(client, name);
      printObject(flags.json ? e : endpointRow(e), flags.json ?? false);
    });
  clientCommand(endpoints, 'invoke', 'Send rows to an endpoint and print the predictions')
    .argument('<name>')
    .option('--body <text>', 'the request body, e.g. "0.5,1,3"')
    .option('--file <path>', 'read the request body from a file')
    .option('--content-type <type>', 'text/csv, application/json or application/jsonlines', 'text/csv')
    .option('--accept <type>', 'the response type (default: the content type)')
    .option('--target-variant <name>', 'send to this variant instead of choosing by weight')
    .action(
      async (
        name: string,
        flags: ClientFlags & {
          body?: string;
          file?: string;
          contentType: string;
          accept?: string;
          targetVariant?: string;
        },
      ) => {
        if ((flags.body === undefined) === (flags.file === undefined))
          throw new TrainyardError('INVALID_ARGUMENT', 'give exactly one of --body and --file', {
            field: 'body',
          });
        const body = flags.file ? readFileSync(flags.file) : (flags.body as string);
        const result = await clientOf(flags).invokeEndpoint(name, body, {
          contentType: flags.contentType,
          ...(flags.accept ? { accept: flags.accept } : {}),
          ...(flags.targetVariant ? { targetVariant: flags.targetVariant } : {}),
        });
        if (flags.json) printObject(result, true);
        else {
          process.stderr.write(`variant: ${result.invokedProductionVariant}\n`);
          process.stdout.write(result.body.endsWith('\n') ? result.body : `${result.body}\n`);
        }
      },
    );
}
