import { existsSync } from 'node:fs';
import { cp, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DatasetDelivery, parseDeliveryContentType } from '@trainyard/contracts/datasets';
import type { JobFailure } from '@trainyard/contracts/jobs';
import { type CreateTrainingJobBody, EvaluationReport } from '@trainyard/contracts/training-jobs';
import { parseBlobUri } from '@trainyard/core/blob/blob-address';
import type { JobDatasetCatalog } from '@trainyard/core/jobs/job-dataset-catalog';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import type { ExecutorExit } from '@trainyard/core/ports/executor';
import { MetricCollector } from '@trainyard/core/training/metric-extraction';
import {
  resolveTrainingLaunch,
  type TrainingLaunch,
  unlabeledBuiltIns,
} from '@trainyard/core/training/training-algorithms';
import {
  modelArtifactsUri,
  type TrainingJobResult,
  trainingJobKind,
} from '@trainyard/core/training/training-job-service';
import { earlyStopMessagePrefix } from '@trainyard/core/tuning/tuning-strategies';
import { classifyJobExit } from '../jobs/job-exit.js';
import { JobInputStager } from '../jobs/job-input-staging.js';
import type { JobKindRunner, JobRunContext, JobRunOutcome } from '../jobs/job-kind-runner.js';
import {
  hostPathOf,
  prepareTrainingLayout,
  readOutputNote,
  rewriteOptMlArgs,
  stoppedEarlyFile,
} from '../jobs/opt-ml-layout.js';
import { FolderSync, hasFiles, packHostDirectories, unpackArchive, uploadFile } from './model-packaging.js';
import {
  hyperParameterArgs,
  missingPythonPackages,
  readRequirements,
  ScriptModeError,
  scriptCommand,
  userHyperParameters,
} from './script-mode.js';

export interface TrainingJobRunnerOptions {
  blobs: BlobStore;
  datasets?: JobDatasetCatalog | undefined;
  /** The built entry script of the built-in algorithms (`runBuiltInAlgorithm`); undefined before a build. */
  builtInEntry?: string | undefined;
  /** How often CheckpointConfig's folder is synced to its S3 URI while the job runs, ms. Default 2000. */
  checkpointSyncMs?: number;
}

function failed(code: JobFailure['code'], message: string, retryable = false): JobRunOutcome {
  return { status: 'Failed', failure: { code, message, retryable } };
}

/**
 * TrainingJobs with SageMaker's training contract: each instance (`algo-1` … `algo-N`) gets its own
 * folder laid out like /opt/ml (config JSONs, channels, model/, output/, checkpoints/) and SM_* env;
 * the process is a built-in algorithm (@trainyard/ml through `builtin-algorithm-entry`), a script in
 * script mode (`sagemaker_program` from `sagemaker_submit_directory`) or any command; metrics come
 * from its log lines; model/ is packed to `<S3OutputPath>/<job>/output/model.tar.gz`.
 */
/**
 * The file format a dataset channel is delivered in, from its ContentType: Parquet when absent
 * (undefined here). Built-ins read CSV as SageMaker's do: no header, the target column first
 * (`label_size=1`, the default of the supervised ones) or no label (`label_size=0`, the default of
 * k-means, PCA and RCF). Scripts get what they ask for (`text/csv` has a header row).
 */
function trainingDelivery(
  launch: TrainingLaunch,
  contentType: string | undefined,
): DatasetDelivery | undefined {
  const parsed = parseDeliveryContentType(contentType);
  // The service refused unknown content types at create; anything left unreadable is Parquet.
  if (typeof parsed === 'string' || parsed.format === 'parquet') return undefined;
  if (launch.mode !== 'builtin' || parsed.format !== 'csv') return parsed;
  const labelSize = /label_size\s*=\s*(\d+)/.exec(contentType ?? '')?.[1];
  const labelFirst =
    labelSize === undefined ? !unlabeledBuiltIns.includes(launch.algorithm) : labelSize === '1';
  return { format: 'csv', header: false, labelFirst };
}

export class TrainingJobRunner implements JobKindRunner<CreateTrainingJobBody> {
  readonly definition = trainingJobKind;
  readonly #inputs: JobInputStager;

  constructor(private readonly options: TrainingJobRunnerOptions) {
    this.#inputs = new JobInputStager(options.blobs, options.datasets);
  }

  async run(context: JobRunContext<CreateTrainingJobBody>): Promise<JobRunOutcome> {
    try {
      return await this.#run(context);
    } catch (error) {
      if (error instanceof ScriptModeError)
        return failed('INVALID_ARGUMENT', `ClientError: ${error.message}`);
      throw error;
    }
  }

  async #run(context: JobRunContext<CreateTrainingJobBody>): Promise<JobRunOutcome> {
    const { job, spec, workdir, signal } = context;
    const launch = resolveTrainingLaunch(spec);
    const count = spec.ResourceConfig.InstanceCount;
    const hosts = Array.from({ length: count }, (_, i) => `algo-${i + 1}`);
    const roots = count === 1 ? [workdir] : hosts.map((h) => join(workdir, 'hosts', h));
    const channels = spec.InputDataConfig ?? [];
    const hps = spec.HyperParameters ?? {};
    const userHps = launch.mode === 'script' ? userHyperParameters(hps) : hps;
    const userArgs = launch.mode === 'script' ? hyperParameterArgs(userHps) : [];
    const layouts = [];
    for (const [i, root] of roots.entries()) {
      const layout = await prepareTrainingLayout(root, {
        jobName: job.name,
        jobArn: job.arn,
        hyperParameters: hps,
        channels: channels.map((c) => ({
          name: c.ChannelName,
          ...(c.ContentType !== undefined ? { contentType: c.ContentType } : {}),
          s3DistributionType: c.DataSource.S3DataSource?.S3DataDistributionType ?? 'FullyReplicated',
        })),
        instanceType: context.instanceType.name,
        vcpus: context.instanceType.vcpus,
        gpus: context.instanceType.gpus,
        userArgs,
        currentHost: hosts[i]!,
        hosts,
      });
      await mkdir(join(root, 'tmp'), { recursive: true });
      layouts.push(layout);
    }
    const first = layouts[0]!;

    await context.advance('Downloading');
    const channelLabels: Record<string, string> = {};
    for (const channel of channels) {
      if (signal.aborted) return failed('INTERNAL', 'aborted');
      const target = first.channelDirs[channel.ChannelName]!;
      const s3 = channel.DataSource.S3DataSource;
      const ds = channel.DataSource.DatasetSource;
      const copied = await this.#inputs.stage(
        s3
          ? { type: 's3', uri: s3.S3Uri, field: `InputDataConfig.${channel.ChannelName}.S3Uri` }
          : {
              type: 'dataset',
              datasetName: ds!.DatasetName,
              version: ds!.Version,
              delivery: trainingDelivery(launch, channel.ContentType),
            },
        target,
        signal,
      );
      const uri = copied.uri;
      if (copied.dataset) {
        const label = copied.dataset.target;
        // From Parquet the built-ins take the dataset's target column as the label wherever it
        // sits; a CSV delivery already put it first (label_size=1) or left it out of the label.
        const parquet = trainingDelivery(launch, channel.ContentType) === undefined;
        if (label && parquet)
          channelLabels[`TRAINYARD_CHANNEL_${channel.ChannelName.toUpperCase()}_LABEL`] = label;
        context.log(
          `channel ${channel.ChannelName}: dataset ${copied.dataset.datasetName} version ${copied.dataset.version} (${uri})${label ? `, label column "${label}"` : ''}`,
        );
      }
      if (copied.objects === 0) {
        return failed('NOT_FOUND', `ClientError: channel "${channel.ChannelName}": no objects under ${uri}`);
      }
      context.log(`channel ${channel.ChannelName}: ${copied.objects} object(s), ${copied.bytes} bytes`);
      for (const layout of layouts.slice(1)) {
        await cp(target, layout.channelDirs[channel.ChannelName]!, { recursive: true });
      }
    }
    const checkpointDir = spec.CheckpointConfig
      ? hostPathOf(workdir, spec.CheckpointConfig.LocalPath, 'CheckpointConfig.LocalPath')
      : undefined;
    let checkpoints: FolderSync | undefined;
    if (spec.CheckpointConfig && checkpointDir) {
      const restored = await this.#inputs.stage(
        {
          type: 's3',
          uri: spec.CheckpointConfig.S3Uri.endsWith('/')
            ? spec.CheckpointConfig.S3Uri
            : `${spec.CheckpointConfig.S3Uri}/`,
          field: 'CheckpointConfig.S3Uri',
        },
        checkpointDir,
        signal,
      );
      if (restored.objects > 0)
        context.log(`checkpoints: restored ${restored.objects} file(s) from ${spec.CheckpointConfig.S3Uri}`);
      checkpoints = new FolderSync(this.options.blobs, checkpointDir, spec.CheckpointConfig.S3Uri);
      await checkpoints.sync();
    }

    // What runs, per instance.
    let command: string;
    let args: string[];
    const extraEnv: Record<string, string> = {};
    if (launch.mode === 'builtin') {
      const entry = this.options.builtInEntry;
      if (!entry)
        return failed(
          'UNAVAILABLE',
          'the built-in algorithms are not built on this worker (run npm run build)',
          true,
        );
      command = 'node';
      args = [entry, launch.algorithm];
      if (checkpointDir) extraEnv.TRAINYARD_CHECKPOINT_DIR = checkpointDir;
      Object.assign(extraEnv, channelLabels);
    } else if (launch.mode === 'script') {
      for (const layout of layouts) {
        if (launch.submitDirectory) {
          const archive = join(workdir, 'tmp', 'sourcedir.tar.gz');
          if (layout === first) {
            const address = parseBlobUri(
              launch.submitDirectory,
              'HyperParameters.sagemaker_submit_directory',
            );
            const got = await this.#inputs.stage(
              {
                type: 's3',
                uri: launch.submitDirectory,
                field: 'HyperParameters.sagemaker_submit_directory',
              },
              join(workdir, 'tmp', 'submit'),
              signal,
            );
            if (got.objects === 0) {
              return failed(
                'NOT_FOUND',
                `ClientError: sagemaker_submit_directory: no object at ${launch.submitDirectory}`,
              );
            }
            const name = address.key.split('/').at(-1)!;
            await cp(join(workdir, 'tmp', 'submit', name), archive);
          }
          try {
            await unpackArchive(archive, layout.codeDir);
          } catch (error) {
            return failed(
              'INVALID_ARGUMENT',
              `ClientError: sagemaker_submit_directory ${launch.submitDirectory} is not a .tar.gz: ${(error as Error).message.slice(0, 300)}`,
            );
          }
        } else {
          await cp(layout.channelDirs.code!, layout.codeDir, { recursive: true });
        }
      }
      if (launch.language === 'python') {
        const missing = await missingPythonPackages(await readRequirements(first.codeDir));
        if (missing.length > 0) {
          return failed(
            'FAILED_PRECONDITION',
            `ClientError: requirements.txt names packages that are not installed here (nothing is downloaded): ${missing.join(', ')}`,
          );
        }
      }
      ({ command, args } = await scriptCommand(first.codeDir, launch.program, launch.language));
      if (existsSync(join(first.codeDir, '.trainyard'))) {
        for (const layout of layouts.slice(1)) {
          await cp(join(first.codeDir, '.trainyard'), join(layout.codeDir, '.trainyard'), {
            recursive: true,
          });
        }
      }
      extraEnv.SM_MODULE_NAME = launch.program.replace(/\.[^.]+$/, '');
      extraEnv.SAGEMAKER_PROGRAM = launch.program;
      extraEnv.SM_HPS = JSON.stringify(userHps);
      extraEnv.PYTHONPATH = first.codeDir;
    } else {
      const entry = rewriteOptMlArgs(
        [
          ...(spec.AlgorithmSpecification.ContainerEntrypoint ?? []),
          ...(spec.AlgorithmSpecification.ContainerArguments ?? []),
        ],
        workdir,
      );
      command = entry[0] ?? '';
      args = entry.slice(1);
    }
    if (signal.aborted) return failed('INTERNAL', 'aborted');

    const metrics = new MetricCollector(spec.AlgorithmSpecification.MetricDefinitions ?? [], {
      builtIns: launch.mode === 'builtin',
    });
    await context.advance('Training', [command, ...args].join(' ').slice(0, 200));
    const started = Date.now();
    const syncTimer = checkpoints
      ? setInterval(() => {
          void checkpoints
            .sync()
            .catch((error) => context.log(`checkpoint sync failed: ${(error as Error).message}`));
        }, this.options.checkpointSyncMs ?? 2000)
      : undefined;
    let results: ExecutorExit[];
    try {
      results = await Promise.all(
        layouts.map((layout, i) => {
          const root = roots[i]!;
          // Each instance runs its own copy of the code; paths point into its own folder.
          const hostArgs =
            launch.mode === 'script' ? args.map((a) => a.split(first.codeDir).join(layout.codeDir)) : args;
          const env: Record<string, string> = {
            ...(spec.Environment ?? {}),
            ...layout.env,
            ...extraEnv,
            ...(launch.mode === 'script' ? { PYTHONPATH: layout.codeDir } : {}),
            TRAINYARD_OPT_ML: root,
          };
          for (const [k, v] of Object.entries(userHps)) env[`SM_HP_${k.toUpperCase()}`] = v;
          return context.runProcess({
            command,
            args: launch.mode === 'script' ? [...hostArgs, ...userArgs] : hostArgs,
            env,
            cwd: launch.mode === 'script' ? layout.codeDir : root,
            onLine: (line) => metrics.line(line.text, line.at),
          });
        }),
      );
    } finally {
      if (syncTimer) clearInterval(syncTimer);
    }
    const trainingSeconds = (Date.now() - started) / 1000;
    if (signal.aborted) return failed('INTERNAL', 'aborted');
    for (const [i, result] of results.entries()) {
      const failure = await classifyJobExit(result, {
        command,
        instanceType: context.instanceType,
        workdir: roots[i]!,
      });
      if (failure) {
        if (checkpoints) await checkpoints.sync().catch(() => 0);
        return { status: 'Failed', failure };
      }
    }

    await context.advance('Uploading');
    if (checkpoints) {
      const n = await checkpoints.sync();
      context.log(`checkpoints: ${n} changed file(s) synced to ${spec.CheckpointConfig!.S3Uri}`);
    }
    const modelUri = modelArtifactsUri(spec, job.name);
    const modelTar = join(workdir, 'tmp', 'model.tar.gz');
    const modelClashes = await packHostDirectories(
      layouts.map((l) => l.modelDir),
      modelTar,
      join(workdir, 'tmp', 'merged-model'),
    );
    if (modelClashes.length > 0) {
      context.log(
        `model: ${modelClashes.length} file(s) written by more than one instance, algo-1's kept: ${modelClashes.slice(0, 5).join(', ')}`,
      );
    }
    const modelBytes = await uploadFile(
      this.options.blobs,
      modelTar,
      modelUri,
      'OutputDataConfig.S3OutputPath',
    );
    context.log(`model: ${modelBytes} bytes -> ${modelUri}`);
    const result: TrainingJobResult = {
      modelArtifacts: modelUri,
      metrics: metrics.series(),
      trainingSeconds,
    };
    const outputDirs = layouts.map((l) => l.outputDataDir);
    if ((await Promise.all(outputDirs.map(hasFiles))).some(Boolean)) {
      const outputUri = modelUri.replace(/model\.tar\.gz$/, 'output.tar.gz');
      const outputTar = join(workdir, 'tmp', 'output.tar.gz');
      await packHostDirectories(outputDirs, outputTar, join(workdir, 'tmp', 'merged-output'));
      await uploadFile(this.options.blobs, outputTar, outputUri, 'OutputDataConfig.S3OutputPath');
      result.outputArtifacts = outputUri;
      context.log(`output data -> ${outputUri}`);
    }
    const reportText = await readFile(join(first.outputDataDir, 'evaluation-report.json'), 'utf8').catch(
      () => undefined,
    );
    if (reportText !== undefined) {
      const parsed = EvaluationReport.safeParse(JSON.parse(reportText));
      if (parsed.success) result.evaluation = parsed.data;
      else
        context.log(
          `output/data/evaluation-report.json is not an evaluation report: ${parsed.error.message.slice(0, 300)}`,
        );
    }
    // A built-in tuning trial that stopped itself by its stop rule ends Stopped, model kept.
    const stoppedEarly =
      launch.mode === 'builtin' ? await readOutputNote(roots[0]!, stoppedEarlyFile) : undefined;
    if (stoppedEarly)
      return { status: 'Stopped', result, message: `${earlyStopMessagePrefix}${stoppedEarly}` };
    return { status: 'Completed', result };
  }
}
