import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DatasetDelivery, parseDeliveryContentType } from '@trainyard/contracts/datasets';
import type { JobFailure } from '@trainyard/contracts/jobs';
import type { CreateProcessingJobBody } from '@trainyard/contracts/processing-jobs';
import type { JobDatasetCatalog } from '@trainyard/core/jobs/job-dataset-catalog';
import { type ProcessingJobResult, processingJobKind } from '@trainyard/core/jobs/processing-job-kind';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import { classifyJobExit, readExitMessage } from './job-exit.js';
import { JobInputStager } from './job-input-staging.js';
import type { JobKindRunner, JobRunContext, JobRunOutcome } from './job-kind-runner.js';
import { uploadJobOutput } from './job-output-upload.js';
import { hostPathOf, rewriteOptMlArgs } from './opt-ml-layout.js';

/**
 * A processor the runtime implements itself, selected by AppSpecification.ImageUri; it returns
 * the command to run in the job process.
 */
export interface BuiltInProcessor {
  imageUri: string;
  /** Prepares the job process (after inputs are staged) and says what to run; its env is added to the job's. */
  command(
    context: JobRunContext<CreateProcessingJobBody>,
    spec: CreateProcessingJobBody,
    staged: StagedInputs,
  ): Promise<{ command: string; args: string[]; env?: Record<string, string> }>;
  /**
   * For processors whose outputs become dataset versions in their own way: run in the worker after
   * a clean exit, it replaces the upload and registration of every output that has a DatasetOutput.
   */
  datasetOutputs?(
    context: JobRunContext<CreateProcessingJobBody>,
    spec: CreateProcessingJobBody,
    staged: StagedInputs,
  ): Promise<ProcessingJobResult['outputs']>;
}

/** The staged inputs by InputName: their folder on this host and, for a DatasetInput, the version read. */
export type StagedInputs = ReadonlyMap<
  string,
  { path: string; dataset?: { datasetName: string; version: number } }
>;

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

/**
 * ProcessingJobs with SageMaker's processing contract: inputs staged to
 * `<workdir>/processing/input/<name>` (their LocalPath under /opt/ml), `config/processingjobconfig.json`
 * and `config/resourceconfig.json` written, the command run, then every file under each output's
 * LocalPath uploaded to its S3Uri and, when asked, registered as a new dataset version.
 */
/** The contract already refused unknown content types; anything unreadable here is Parquet. */
function deliveryOf(contentType: string | undefined): DatasetDelivery | undefined {
  const parsed = parseDeliveryContentType(contentType);
  return typeof parsed === 'string' ? undefined : parsed;
}

export class ProcessingJobRunner implements JobKindRunner<CreateProcessingJobBody> {
  readonly definition = processingJobKind;
  readonly #inputs: JobInputStager;

  constructor(private readonly options: ProcessingJobRunnerOptions) {
    this.#inputs = new JobInputStager(options.blobs, options.datasets);
  }

  get builtInImages(): string[] {
    return (this.options.builtIns ?? []).map((b) => b.imageUri);
  }

  async run(context: JobRunContext<CreateProcessingJobBody>): Promise<JobRunOutcome> {
    const { job, spec, workdir, signal } = context;
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
    const stagedInputs = new Map<
      string,
      { path: string; dataset?: { datasetName: string; version: number } }
    >();
    for (const [i, input] of spec.ProcessingInputs.entries()) {
      if (signal.aborted) return failed('INTERNAL', 'aborted');
      const ds = input.DatasetInput;
      const localPath = (input.S3Input ?? ds)?.LocalPath ?? `/opt/ml/processing/input/${input.InputName}`;
      const target = hostPathOf(workdir, localPath);
      const staged = await this.#inputs.stage(
        input.S3Input
          ? { type: 's3', uri: input.S3Input.S3Uri, field: `ProcessingInputs.${i}.S3Input.S3Uri` }
          : {
              type: 'dataset',
              datasetName: ds!.DatasetName,
              version: ds!.Version,
              delivery: deliveryOf(ds!.ContentType),
            },
        target,
        signal,
      );
      stagedInputs.set(input.InputName, {
        path: target,
        ...(staged.dataset ? { dataset: staged.dataset } : {}),
      });
      if (staged.dataset) {
        parents.push(staged.dataset);
        context.log(
          `input ${input.InputName}: dataset ${staged.dataset.datasetName} version ${staged.dataset.version} (${staged.uri})`,
        );
      }
      if (staged.objects === 0) {
        return failed('NOT_FOUND', `ClientError: input "${input.InputName}": no objects under ${staged.uri}`);
      }
      context.log(
        `input ${input.InputName}: ${staged.objects} object(s), ${staged.bytes} bytes -> ${localPath}`,
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
      const launch = await builtIn.command(context, spec, stagedInputs);
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
    const failure = await classifyJobExit(result, { command, instanceType: context.instanceType, workdir });
    if (failure) return { status: 'Failed', failure };

    await context.advance('Uploading');
    const outputs: ProcessingJobResult['outputs'] = [];
    const ownsDatasets = builtIn?.datasetOutputs !== undefined && !app.ContainerEntrypoint;
    if (ownsDatasets) outputs.push(...(await builtIn!.datasetOutputs!(context, spec, stagedInputs)));
    for (const [i, output] of (spec.ProcessingOutputConfig?.Outputs ?? []).entries()) {
      if (signal.aborted) return failed('INTERNAL', 'aborted');
      if (ownsDatasets && output.DatasetOutput) continue;
      const source = hostPathOf(
        workdir,
        output.S3Output!.LocalPath ?? `/opt/ml/processing/output/${output.OutputName}`,
      );
      const uploaded = await uploadJobOutput(
        this.options.blobs,
        source,
        output.S3Output!.S3Uri,
        `ProcessingOutputConfig.Outputs.${i}.S3Output.S3Uri`,
        signal,
      );
      context.log(
        `output ${output.OutputName}: ${uploaded.objects} object(s), ${uploaded.bytes} bytes -> ${uploaded.uri}`,
      );
      const entry: ProcessingJobResult['outputs'][number] = {
        OutputName: output.OutputName,
        S3Uri: uploaded.uri,
        Objects: uploaded.objects,
        Bytes: uploaded.bytes,
      };
      if (output.DatasetOutput) {
        if (!this.options.datasets)
          return failed('FAILED_PRECONDITION', 'datasets are not available on this worker');
        if (uploaded.objects === 0) {
          return failed(
            'FAILED_PRECONDITION',
            `ClientError: output "${output.OutputName}" is empty; nothing to register as a dataset version`,
          );
        }
        const registered = await this.options.datasets.registerOutput({
          datasetName: output.DatasetOutput.DatasetName,
          uri: uploaded.uri,
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
    const exitMessage = await readExitMessage(workdir);
    return {
      status: 'Completed',
      result: { outputs } satisfies ProcessingJobResult,
      ...(exitMessage ? { exitMessage } : {}),
    };
  }
}
