import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { DatasetProfile, DatasetVersion, IngestOptions } from '@trainyard/contracts/datasets';
import { ColumnType, DataFormat } from '@trainyard/contracts/datasets';
import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import cliProgress from 'cli-progress';
import { type Command, Option } from 'commander';
import { type ClientFlags, clientCommand, clientOf } from './client-command.js';
import { ingestErrorInCliTerms } from './ingest-flags.js';
import { printObject, printRows } from './output.js';

interface IngestFlags {
  format?: string;
  delimiter?: string;
  quote?: string;
  escape?: string;
  header?: boolean;
  skipRows?: string;
  columns?: string;
  onMalformed?: 'fail' | 'skip';
  type?: string[];
  target?: string;
  description?: string;
  force?: boolean;
}

function withIngestOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--format <format>', 'file format (default: from the file name)').choices([
        ...DataFormat.options,
      ]),
    )
    .option('--delimiter <char>', 'CSV field separator (default: detected)')
    .option('--quote <char>', 'CSV quote character (default: detected)')
    .option('--escape <char>', 'CSV escape character (default: detected)')
    .option('--header', 'the first CSV row (after --skip-rows) names the columns (default: detected)')
    .option('--no-header', 'the first CSV row is data')
    .option(
      '--skip-rows <n>',
      'CSV lines to skip before the header or data (default: leading lines that are neither are skipped)',
    )
    .option('--columns <names>', 'comma-separated column names in file order, replacing the header')
    .addOption(
      new Option('--on-malformed <policy>', 'malformed CSV rows fail the upload, or are skipped and kept')
        .choices(['fail', 'skip'])
        .default('fail'),
    )
    .option(
      '--type <column:type>',
      `override an inferred type (repeatable); types: ${ColumnType.options.join(', ')}`,
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--target <column>', 'the column models will predict')
    .option('--description <text>', 'describe the dataset');
}

function skipRowsOf(flags: IngestFlags): number | undefined {
  if (flags.skipRows === undefined) return undefined;
  const n = Number(flags.skipRows);
  if (!/^\d+$/.test(flags.skipRows) || !Number.isSafeInteger(n)) {
    throw invalidArgument('--skip-rows', `"${flags.skipRows}" is not a number of lines (0, 1, 2, …)`);
  }
  return n;
}

function columnsOf(flags: IngestFlags): string[] | undefined {
  if (flags.columns === undefined) return undefined;
  const names = flags.columns.split(',').map((n) => n.trim());
  if (names.some((n) => n === '')) {
    throw invalidArgument(
      '--columns',
      `"${flags.columns}" has an empty name; give names separated by commas`,
    );
  }
  return names;
}

function typesOf(flags: IngestFlags): Record<string, ColumnType> | undefined {
  if (!flags.type?.length) return undefined;
  const types: Record<string, ColumnType> = {};
  for (const spec of flags.type) {
    const at = spec.lastIndexOf(':');
    const type = ColumnType.safeParse(spec.slice(at + 1));
    if (at <= 0 || !type.success) {
      throw invalidArgument(
        '--type',
        `"${spec}" is not column:type (types: ${ColumnType.options.join(', ')})`,
      );
    }
    types[spec.slice(0, at)] = type.data;
  }
  return types;
}

const versionColumns = [
  'version',
  'status',
  'rowCount',
  'columns',
  'sizeBytes',
  'hash',
  'lineage',
  'createdAt',
];

function versionRow(v: DatasetVersion): Record<string, unknown> {
  const lineage = v.lineage;
  const from = [
    lineage.parentDataset ? `${lineage.parentDataset}:v${lineage.parentVersion ?? '?'}` : lineage.source,
    lineage.recipe ? `recipe ${lineage.recipe.name}` : undefined,
    lineage.split,
    lineage.jobName ? `job ${lineage.jobName}` : undefined,
  ]
    .filter(Boolean)
    .join(' ');
  return {
    version: v.version,
    status: v.status,
    rowCount: v.rowCount,
    columns: v.schema.length,
    sizeBytes: v.sizeBytes,
    hash: v.contentHash.slice(0, 19),
    lineage: from || '-',
    createdAt: v.createdAt,
  };
}

function printVersion(v: DatasetVersion, json: boolean): void {
  if (json) {
    printObject(v, true);
    return;
  }
  printObject(
    {
      dataset: v.dataset,
      version: v.version,
      status: v.status,
      uri: v.uri,
      rows: v.rowCount,
      skippedRows: v.skippedRows,
      csv: v.csv
        ? `delimiter ${JSON.stringify(v.csv.delimiter)}, ${v.csv.skipRows} line(s) skipped, ${v.csv.header ? 'header row' : 'no header row'}`
        : undefined,
      target: v.target,
      contentHash: v.contentHash,
      lineage: v.lineage,
    },
    false,
  );
  process.stdout.write('\n');
  printRows(v.schema, ['name', 'type', 'storageType'], false);
}

/** Keeps a table row on one line: newlines inside values are shown as \\n. */
const oneLine = (text: string | null | undefined) =>
  (text ?? '-').replaceAll('\r', '\\r').replaceAll('\n', '\\n');

const round = (x: number | null | undefined) =>
  x === null || x === undefined
    ? '-'
    : Math.abs(x) >= 1e6 || Number.isInteger(x)
      ? String(x)
      : x.toPrecision(6);

function printProfile(profile: DatasetProfile): void {
  process.stdout.write(`rows: ${profile.rowCount}\n\n`);
  printRows(
    profile.columns.map((c) => ({
      column: c.name,
      type: c.type,
      missing: c.missing,
      distinct: c.distinct,
      min: c.numeric ? round(c.numeric.min) : oneLine(c.minText),
      max: c.numeric ? round(c.numeric.max) : oneLine(c.maxText),
      mean: c.numeric ? round(c.numeric.mean) : '-',
      std: c.numeric ? round(c.numeric.std) : '-',
      p50: c.numeric ? round(c.numeric.quantiles.p50) : '-',
      top: c.topK?.length
        ? c.topK
            .slice(0, 3)
            .map((t) => `${oneLine(t.value)}(${t.count})`)
            .join(' ')
        : '-',
    })),
    ['column', 'type', 'missing', 'distinct', 'min', 'max', 'mean', 'std', 'p50', 'top'],
    false,
  );
  if (profile.target) {
    const t = profile.target;
    const dist = t.classes
      ? t.classes.map((c) => `${c.value}: ${c.count}`).join(', ')
      : (t.histogram ?? []).map((b) => b.count).join(' ');
    process.stdout.write(`\ntarget ${t.name} (${t.type}): ${dist}\n`);
  }
}

async function readRecipe(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw invalidArgument('recipe', `${file} is not readable JSON: ${(error as Error).message}`);
  }
}

function versionArg(value: string | undefined): number | 'latest' {
  if (value === undefined || value === 'latest') return 'latest';
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw invalidArgument('--at', `"${value}" is not a version number`);
  return n;
}

/** `trainyard datasets …` and `trainyard recipes …`. */
export function addDatasetCommands(program: Command): void {
  const datasets = program
    .command('datasets')
    .description('Datasets with immutable numbered versions: upload, import, inspect, profile');

  clientCommand(datasets, 'list', 'List datasets').action(async (flags: ClientFlags) => {
    const rows = [];
    for await (const d of clientOf(flags).listAll('listDatasets')) rows.push(d);
    printRows(rows, ['name', 'latestVersion', 'description', 'updatedAt'], flags.json ?? false);
  });

  clientCommand(datasets, 'show', 'Describe a dataset version: schema, counts, hash, lineage')
    .argument('<name>', 'dataset name')
    .option('--at <version>', 'version number (default: latest)')
    .action(async (name: string, flags: ClientFlags & { at?: string }) => {
      const version = await clientOf(flags).call('getDatasetVersion', {
        params: { name, version: versionArg(flags.at) },
      });
      printVersion(version as DatasetVersion, flags.json ?? false);
    });

  clientCommand(datasets, 'versions', 'List the versions of a dataset, newest first')
    .argument('<name>', 'dataset name')
    .action(async (name: string, flags: ClientFlags) => {
      const rows: DatasetVersion[] = [];
      for await (const v of clientOf(flags).listAll('listDatasetVersions', { params: { name } })) {
        rows.push(v as DatasetVersion);
      }
      if (flags.json) printRows(rows, [], true);
      else printRows(rows.map(versionRow), versionColumns, false);
    });

  clientCommand(datasets, 'profile', 'Show the profile of a version (per-column statistics, target)')
    .argument('<name>', 'dataset name')
    .option('--at <version>', 'version number (default: latest)')
    .addOption(
      new Option('--as <shape>', 'print SageMaker Model Monitor JSON instead').choices([
        'statistics',
        'constraints',
      ]),
    )
    .action(async (name: string, flags: ClientFlags & { at?: string; as?: 'statistics' | 'constraints' }) => {
      const client = clientOf(flags);
      const params = { name, version: versionArg(flags.at) };
      if (flags.as) {
        const route = flags.as === 'statistics' ? 'getDatasetStatistics' : 'getDatasetConstraints';
        printObject(await client.call(route, { params }), true);
        return;
      }
      const profile = (await client.call('getDatasetProfile', { params })) as DatasetProfile;
      if (flags.json) printObject(profile, true);
      else printProfile(profile);
    });

  clientCommand(
    datasets,
    'delete',
    'Delete a dataset, or one version with --at (refused while other versions derive from it)',
  )
    .argument('<name>', 'dataset name')
    .option('--at <version>', 'delete only this version')
    .action(async (name: string, flags: ClientFlags & { at?: string }) => {
      const client = clientOf(flags);
      if (flags.at === undefined) await client.call('deleteDataset', { params: { name } });
      else {
        const version = versionArg(flags.at);
        if (version === 'latest') throw invalidArgument('--at', 'give a version number to delete');
        await client.call('deleteDatasetVersion', { params: { name, version } });
      }
      if (!flags.json) process.stdout.write(`deleted ${name}${flags.at ? ` v${flags.at}` : ''}\n`);
    });

  clientCommand(datasets, 'rejects', 'Show malformed rows skipped while ingesting a version')
    .argument('<name>', 'dataset name')
    .option('--at <version>', 'version number (default: latest)')
    .action(async (name: string, flags: ClientFlags & { at?: string }) => {
      const { items } = await clientOf(flags).call('getDatasetRejects', {
        params: { name, version: versionArg(flags.at) },
      });
      printRows(items, ['line', 'column', 'error', 'text'], flags.json ?? false);
    });

  withIngestOptions(
    clientCommand(datasets, 'upload', 'Upload a CSV, JSON Lines or Parquet file as a new version (streamed)')
      .argument('<file>', 'the file to upload')
      .requiredOption('--name <dataset>', 'dataset to add the version to (created when new)')
      .option(
        '--force',
        'a new version even when the same file was uploaded with the same options before (default: that version is returned)',
      ),
  ).action(async (file: string, flags: ClientFlags & IngestFlags & { name: string }) => {
    const size = (await stat(file)).size;
    const types = typesOf(flags);
    const query: Record<string, string | boolean | undefined> = {
      fileName: basename(file),
      description: flags.description,
      force: flags.force ? 'true' : undefined,
      format: flags.format,
      delimiter: flags.delimiter,
      quote: flags.quote,
      escape: flags.escape,
      header: flags.header === undefined ? undefined : String(flags.header),
      skipRows: skipRowsOf(flags)?.toString(),
      columns: columnsOf(flags)?.join(','),
      onMalformed: flags.onMalformed,
      target: flags.target,
      types: types
        ? Object.entries(types)
            .map(([c, t]) => `${c}:${t}`)
            .join(',')
        : undefined,
    };
    const showBar = !flags.json && process.stderr.isTTY;
    const bar = new cliProgress.SingleBar(
      {
        format: 'upload |{bar}| {percentage}% {value}/{total} KiB',
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    if (showBar) bar.start(Math.ceil(size / 1024), 0);
    let sent = 0;
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
        sent += chunk.length;
        if (showBar) bar.update(Math.floor(sent / 1024));
        yield chunk;
      }
      if (showBar) {
        bar.update(Math.ceil(size / 1024));
        bar.stop();
        process.stderr.write('ingesting and profiling on the server…\n');
      }
    }
    try {
      const version = await clientOf(flags).upload(
        'uploadDatasetVersion',
        { params: { name: flags.name }, query: query as never },
        counted(),
      );
      printVersion(version as DatasetVersion, flags.json ?? false);
    } catch (error) {
      throw ingestErrorInCliTerms(error);
    } finally {
      if (showBar) bar.stop();
    }
  });

  withIngestOptions(
    clientCommand(
      datasets,
      'import',
      'Create a version from s3://bucket/key, s3://bucket/prefix/ or file:/path',
    )
      .argument('<name>', 'dataset to add the version to')
      .argument('<source>', 'URI of the data'),
  ).action(async (name: string, source: string, flags: ClientFlags & IngestFlags) => {
    const options: IngestOptions = { onMalformed: flags.onMalformed ?? 'fail' };
    if (flags.format) options.format = flags.format as DataFormat;
    if (flags.delimiter) options.delimiter = flags.delimiter;
    if (flags.quote) options.quote = flags.quote;
    if (flags.escape) options.escape = flags.escape;
    if (flags.header !== undefined) options.header = flags.header;
    const skipRows = skipRowsOf(flags);
    if (skipRows !== undefined) options.skipRows = skipRows;
    const columns = columnsOf(flags);
    if (columns) options.columns = columns;
    if (flags.target) options.target = flags.target;
    const types = typesOf(flags);
    if (types) options.types = types;
    const version = await clientOf(flags)
      .call('importDatasetVersion', {
        params: { name },
        body: { source, options, ...(flags.description ? { description: flags.description } : {}) },
      })
      .catch((error: unknown) => {
        throw ingestErrorInCliTerms(error);
      });
    printVersion(version as DatasetVersion, flags.json ?? false);
  });

  const recipes = program
    .command('recipes')
    .description('Declarative transform recipes (JSON): preview on a few rows, run into new versions');

  clientCommand(recipes, 'preview', 'Fit and apply a recipe on the first rows of a version; stores nothing')
    .argument('<recipe>', 'recipe JSON file')
    .requiredOption('--dataset <name>', 'input dataset')
    .option('--at <version>', 'input version (default: latest)')
    .option('--rows <n>', 'rows to preview (1-1000)', '20')
    .action(async (file: string, flags: ClientFlags & { dataset: string; at?: string; rows: string }) => {
      const version = versionArg(flags.at);
      const preview = await clientOf(flags).call('previewRecipe', {
        body: {
          dataset: flags.dataset,
          ...(version === 'latest' ? {} : { version }),
          recipe: (await readRecipe(file)) as never,
          rows: Number(flags.rows),
        },
      });
      if (flags.json) {
        printObject(preview, true);
        return;
      }
      const columns = preview.columns.map((c) => c.name);
      const rows = preview.rows.map((r, i) => (preview.splits ? { split: preview.splits[i], ...r } : r));
      printRows(rows, preview.splits ? ['split', ...columns] : columns, false);
    });

  clientCommand(
    recipes,
    'run',
    'Run a recipe on a version as a processing job; each output (or split) becomes a new version',
  )
    .argument('<recipe>', 'recipe JSON file')
    .requiredOption('--dataset <name>', 'input dataset')
    .option('--at <version>', 'input version (default: latest)')
    .option(
      '--output <name>',
      'output dataset (default: <dataset>-<recipe name>; splits add -train/-validation/-test)',
    )
    .option('--job-name <name>', 'name of the processing job (default: recipe-<time>-<random>)')
    .option('--instance-type <type>', 'instance type of the job (default ml.m5.large)')
    .option('--no-wait', 'print the queued job and return instead of waiting for the new versions')
    .action(
      async (
        file: string,
        flags: ClientFlags & {
          dataset: string;
          at?: string;
          output?: string;
          jobName?: string;
          instanceType?: string;
          wait: boolean;
        },
      ) => {
        const version = versionArg(flags.at);
        const client = clientOf(flags);
        let job = await client.call('runRecipe', {
          body: {
            dataset: flags.dataset,
            ...(version === 'latest' ? {} : { version }),
            ...(flags.output ? { output: flags.output } : {}),
            ...(flags.jobName ? { jobName: flags.jobName } : {}),
            ...(flags.instanceType ? { instanceType: flags.instanceType } : {}),
            recipe: (await readRecipe(file)) as never,
          },
        });
        if (!flags.json) process.stderr.write(`processing job ${job.ProcessingJobName} queued\n`);
        if (flags.wait) {
          while (job.ProcessingJobStatus === 'InProgress' || job.ProcessingJobStatus === 'Stopping') {
            await new Promise((r) => setTimeout(r, 500));
            job = await client.call('describeProcessingJob', { params: { name: job.ProcessingJobName } });
          }
        }
        if (flags.json || !flags.wait) {
          printObject(job, flags.json ?? false);
          return;
        }
        if (job.ProcessingJobStatus !== 'Completed') {
          throw new TrainyardError(
            job.Failure?.code ?? 'FAILED_PRECONDITION',
            `processing job ${job.ProcessingJobName} ended ${job.ProcessingJobStatus}: ${job.FailureReason ?? 'see its logs'}`,
          );
        }
        const versions: DatasetVersion[] = [];
        for (const out of job.ProcessingOutputs ?? []) {
          if (out.DatasetName && out.DatasetVersion) {
            versions.push(
              await client.call('getDatasetVersion', {
                params: { name: out.DatasetName, version: String(out.DatasetVersion) },
              }),
            );
          }
        }
        printRows(
          versions.map((v) => ({ dataset: v.dataset, ...versionRow(v) })),
          ['dataset', ...versionColumns],
          false,
        );
        if (versions[0]?.fittedRecipeUri)
          process.stdout.write(`\nfitted recipe: ${versions[0].fittedRecipeUri}\n`);
      },
    );
}
