import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { JobFailure } from '@trainyard/contracts/jobs';
import type { CreateProcessingJobBody } from '@trainyard/contracts/processing-jobs';
import { formatBlobUri, parseBlobUri } from '@trainyard/core/blob/blob-address';
import type { JobDatasetCatalog } from '@trainyard/core/jobs/job-dataset-catalog';
import type { ProcessingJobResult } from '@trainyard/core/jobs/processing-job-service';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import type { JobRecord } from '@trainyard/core/ports/job-store';
import type { JobKindRunner, JobRunContext, JobRunOutcome } from './job-kind-runner.js';
import { hostPathOf, readFailureFile, rewriteOptMlArgs } from './opt-ml-layout.js';

/**
 * A processor the runtime implements itself, selected by AppSpecification.ImageUri; it returns
 * the command to run in the job process.
 */
export interface BuiltInProcessor {
  imageUri: string;
  /** The job process to run; its env is added to the job's. */
  command(
    context: JobRunContext,
    spec: CreateProcessingJobBody,
  ): { command: string; args: string[]; env?: Record<string, string> };
  /**
   * For processors that write dataset versions themselves: their results (read after a clean
   * exit) replace the upload and registration of every output that has a DatasetOutput.
   */
  datasetOutputs?(
    context: JobRunContext,
    spec: CreateProcessingJobBody,
  ): Promise<ProcessingJobResult['outputs']>;
}

export interface ProcessingJobRunnerOptions {
  blobs: BlobStore;
  datasets?: JobDatasetCatalog | undefined;
  builtIns?: BuiltInProcessor[];
}

function failed(code: JobFailure['code'], message: string, retryable = false): JobRunOutcome {
  return { status: 'Failed', failure: { code, message, retryable } };
}

function envName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

async function* filesUnder(dir: string): AsyncGenerator<string> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else if (entry.isFile()) yield path;
  }
}

/**
 * ProcessingJobs with SageMaker's processing contract: inputs streamed from the BlobStore to
 * `<workdir>/processing/input/<name>` (their LocalPath under /opt/ml), `config/processingjobconfig.json`
 * and `config/resourceconfig.json` written, the command run, then every file under each output's
 * LocalPath uploaded to its S3Uri and, when asked, registered as a new dataset version.
 */
export class ProcessingJobRunner implements JobKindRunner {
  readonly kind = 'processing' as const;

  constructor(private readonly options: ProcessingJobRunnerOptions) {}

  get builtInImages(): string[] {
    return (this.options.builtIns ?? []).map((b) => b.imageUri);
  }

  maxRuntimeSeconds(job: JobRecord): number | undefined {
    return (job.spec as CreateProcessingJobBody).StoppingCondition?.MaxRuntimeInSeconds;
  }

  instanceTypeOf(job: JobRecord): string {
    return (job.spec as CreateProcessingJobBody).ProcessingResources.ClusterConfig.InstanceType;
  }

  async run(context: JobRunContext): Promise<JobRunOutcome> {
    const { job, workdir, signal } = context;
    const spec = job.spec as CreateProcessingJobBody;
    const configDir = join(workdir, 'config');
    await mkdir(configDir, { recursive: true });
    await mkdir(join(workdir, 'output'), { recursive: true });
    // What SageMaker writes to /opt/ml/config/processingjobconfig.json: the job's own description.
    const jobConfig = {
      ProcessingJobArn: job.arn,
      ProcessingJobName: job.name,
      AppSpecification: spec.AppSpecification,
      ProcessingInputs: spec.ProcessingInputs,
      ProcessingOutputConfig: spec.ProcessingOutputConfig,
      ProcessingResources: spec.ProcessingResources,
      RoleArn: spec.RoleArn,
      StoppingCondition: spec.StoppingCondition,
      Environment: spec.Environment ?? {},
    };
    await writeFile(join(configDir, 'processingjobconfig.json'), JSON.stringify(jobConfig, null, 2));
    await writeFile(
      join(configDir, 'resourceconfig.json'),
      JSON.stringify({
        current_host: 'algo-1',
        hosts: ['algo-1'],
        current_instance_type: context.instanceType.name,
      }),
    );

    const env: Record<string, string> = {
      ...(spec.Environment ?? {}),
      PROCESSING_JOB_NAME: job.name,
      PROCESSING_JOB_ARN: job.arn,
      TRAINYARD_OPT_ML: workdir,
      SM_CURRENT_HOST: 'algo-1',
      SM_NUM_CPUS: String(Math.max(1, Math.floor(context.instanceType.vcpus))),
      SM_MEMORY_LIMIT_MIB: String(context.instanceType.memoryMiB),
    };

    await context.advance('Downloading');
    const parents: { datasetName: string; version: number }[] = [];
    for (const input of spec.ProcessingInputs) {
      if (signal.aborted) return failed('INTERNAL', 'aborted');
      let uri: string;
      let localPath: string;
      if (input.S3Input) {
        uri = input.S3Input.S3Uri;
        localPath = input.S3Input.LocalPath ?? `/opt/ml/processing/input/${input.InputName}`;
      } else {
        const ds = input.DatasetInput!;
        if (!this.options.datasets)
          return failed('FAILED_PRECONDITION', 'datasets are not available on this worker');
        const resolved = await this.options.datasets.resolveVersion(ds.DatasetName, ds.Version);
        parents.push({ datasetName: ds.DatasetName, version: resolved.version });
        uri = resolved.uri;
        localPath = ds.LocalPath ?? `/opt/ml/processing/input/${input.InputName}`;
        context.log(
          `input ${input.InputName}: dataset ${ds.DatasetName} version ${resolved.version} (${uri})`,
        );
      }
      const target = hostPathOf(workdir, localPath);
      const copied = await this.#download(uri, target, signal);
      if (copied.objects === 0) {
        return failed('NOT_FOUND', `ClientError: input "${input.InputName}": no objects under ${uri}`);
      }
      context.log(
        `input ${input.InputName}: ${copied.objects} object(s), ${copied.bytes} bytes -> ${localPath}`,
      );
      env[`PROCESSING_INPUT_${envName(input.InputName)}`] = target;
    }
    for (const output of spec.ProcessingOutputConfig?.Outputs ?? []) {
      const target = hostPathOf(
        workdir,
        output.S3Output!.LocalPath ?? `/opt/ml/processing/output/${output.OutputName}`,
      );
      await mkdir(target, { recursive: true });
      env[`PROCESSING_OUTPUT_${envName(output.OutputName)}`] = target;
    }
    if (signal.aborted) return failed('INTERNAL', 'aborted');

    const app = spec.AppSpecification;
    const builtIn = this.options.builtIns?.find((b) => b.imageUri === app.ImageUri);
    let command: string;
    let args: string[];
    if (builtIn && !app.ContainerEntrypoint) {
      const launch = builtIn.command(context, spec);
      ({ command, args } = launch);
      Object.assign(env, launch.env ?? {});
    } else {
      const entry = rewriteOptMlArgs(
        [...(app.ContainerEntrypoint ?? []), ...(app.ContainerArguments ?? [])],
        workdir,
      );
      command = entry[0] ?? '';
      args = entry.slice(1);
    }
    await context.advance('Processing', [command, ...args].join(' ').slice(0, 200));
    const result = await context.runProcess({ command, args, env, cwd: workdir });
    if (signal.aborted) return failed('INTERNAL', 'aborted');
    const limits = `${context.instanceType.name}: ${context.instanceType.memoryMiB} MiB`;
    if (result.endedBy === 'memory') {
      return failed(
        'RESOURCE_EXHAUSTED',
        `MemoryLimitExceeded: the job's processes used ${(result.peakRssBytes / 1048576).toFixed(0)} MiB, over the memory of ${limits}; the job was killed. Use a larger instance type or process the data in chunks.`,
      );
    }
    if (result.heapExhausted && result.exitCode !== 0) {
      return failed(
        'RESOURCE_EXHAUSTED',
        `MemoryLimitExceeded: the node script ran out of JavaScript heap (capped at 75% of ${limits}). Use a larger instance type or stream the data.`,
      );
    }
    if (result.spawnError) {
      return failed('INVALID_ARGUMENT', `ClientError: could not start "${command}": ${result.spawnError}`);
    }
    if (result.exitCode !== 0) {
      const reason = await readFailureFile(workdir);
      return failed(
        'FAILED_PRECONDITION',
        reason ??
          `AlgorithmError: "${command}" ${result.exitSignal ? `was killed by ${result.exitSignal}` : `exited with code ${result.exitCode}`}; see the job log`,
      );
    }

    await context.advance('Uploading');
    const outputs: ProcessingJobResult['outputs'] = [];
    const ownsDatasets = builtIn?.datasetOutputs !== undefined && !app.ContainerEntrypoint;
    if (ownsDatasets) outputs.push(...(await builtIn!.datasetOutputs!(context, spec)));
    for (const output of spec.ProcessingOutputConfig?.Outputs ?? []) {
      if (signal.aborted) return failed('INTERNAL', 'aborted');
      if (ownsDatasets && output.DatasetOutput) continue;
      const source = hostPathOf(
        workdir,
        output.S3Output!.LocalPath ?? `/opt/ml/processing/output/${output.OutputName}`,
      );
      const address = parseBlobUri(output.S3Output!.S3Uri, 'S3Output.S3Uri');
      const prefix = address.key === '' || address.key.endsWith('/') ? address.key : `${address.key}/`;
      let objects = 0;
      let bytes = 0;
      for await (const file of filesUnder(source)) {
        const key = prefix + relative(source, file).split(sep).join('/');
        const size = (await stat(file)).size;
        await this.options.blobs.put({ bucket: address.bucket, key }, createReadStream(file));
        objects++;
        bytes += size;
      }
      const uri = formatBlobUri({ bucket: address.bucket, key: prefix });
      context.log(`output ${output.OutputName}: ${objects} object(s), ${bytes} bytes -> ${uri}`);
      const entry: ProcessingJobResult['outputs'][number] = {
        OutputName: output.OutputName,
        S3Uri: uri,
        Objects: objects,
        Bytes: bytes,
      };
      if (output.DatasetOutput) {
        if (!this.options.datasets)
          return failed('FAILED_PRECONDITION', 'datasets are not available on this worker');
        if (objects === 0) {
          return failed(
            'FAILED_PRECONDITION',
            `ClientError: output "${output.OutputName}" is empty; nothing to register as a dataset version`,
          );
        }
        const registered = await this.options.datasets.registerOutput({
          datasetName: output.DatasetOutput.DatasetName,
          uri,
          jobName: job.name,
          jobArn: job.arn,
          parents,
        });
        entry.DatasetName = output.DatasetOutput.DatasetName;
        entry.DatasetVersion = registered.version;
        context.log(
          `output ${output.OutputName}: registered as dataset ${entry.DatasetName} version ${registered.version}`,
        );
      }
      outputs.push(entry);
    }
    const exitMessage = await readFile(join(workdir, 'output', 'message'), 'utf8').then(
      (text) => text.trim().slice(0, 1024) || undefined,
      () => undefined,
    );
    return {
      status: 'Completed',
      result: { outputs } satisfies ProcessingJobResult,
      ...(exitMessage ? { exitMessage } : {}),
    };
  }

  async #download(
    uri: string,
    target: string,
    signal: AbortSignal,
  ): Promise<{ objects: number; bytes: number }> {
    const address = parseBlobUri(uri, 'S3Input.S3Uri');
    // S3Prefix semantics: every key starting with the prefix; paths kept relative to its folder.
    const folder = address.key.slice(0, address.key.lastIndexOf('/') + 1);
    await mkdir(target, { recursive: true });
    let objects = 0;
    let bytes = 0;
    let pageToken: string | undefined;
    do {
      const page = await this.options.blobs.list(address.bucket, {
        prefix: address.key,
        ...(pageToken ? { pageToken } : {}),
      });
      for (const info of page.items) {
        if (info.key.endsWith('/')) continue;
        const dest = join(target, ...info.key.slice(folder.length).split('/'));
        if (relative(target, dest).startsWith('..')) continue;
        await mkdir(dirname(dest), { recursive: true });
        const { body } = await this.options.blobs.get({ bucket: address.bucket, key: info.key });
        await pipeline(body, createWriteStream(dest), { signal });
        objects++;
        bytes += info.size;
      }
      pageToken = page.nextPageToken;
    } while (pageToken);
    return { objects, bytes };
  }
}
