import { existsSync } from 'node:fs';
import { cp, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobFailure } from '@trainyard/contracts/jobs';
import { type CreateTrainingJobBody, EvaluationReport } from '@trainyard/contracts/training-jobs';
import { parseBlobUri } from '@trainyard/core/blob/blob-address';
import type { JobDatasetCatalog } from '@trainyard/core/jobs/job-dataset-catalog';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import type { JobRecord } from '@trainyard/core/ports/job-store';
import { resolveTrainingLaunch } from '@trainyard/core/training/training-algorithms';
import { modelArtifactsUri, type TrainingJobResult } from '@trainyard/core/training/training-job-service';
import type { JobKindRunner, JobRunContext, JobRunOutcome } from '../jobs/job-kind-runner.js';
import type { JobProcessResult } from '../jobs/job-process.js';
import {
  hostPathOf,
  prepareTrainingLayout,
  readFailureFile,
  rewriteOptMlArgs,
} from '../jobs/opt-ml-layout.js';
import { MetricCollector } from './metric-extraction.js';
import {
  downloadPrefix,
  FolderSync,
  hasFiles,
  packDirectory,
  unpackArchive,
  uploadFile,
} from './model-packaging.js';
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
  /** How often CheckpointConfig's folder is synced to its S3 URI while the job runs, ms. Default 2000. */
  checkpointSyncMs?: number;
}

function failed(code: JobFailure['code'], message: string, retryable = false): JobRunOutcome {
  return { status: 'Failed', failure: { code, message, retryable } };
}

/** The compiled built-in entry point (`dist/training/builtin-algorithm-entry.js`), or undefined before a build. */
export function builtInEntryPath(): string | undefined {
  const here = fileURLToPath(import.meta.url);
  const candidates = [
    join(dirname(here), 'builtin-algorithm-entry.js'),
    here.replace(/[/\\]src[/\\]training[/\\][^/\\]+$/, '/dist/training/builtin-algorithm-entry.js'),
  ];
  return candidates.find((path) => path.endsWith('.js') && existsSync(path));
}

/** How a process's end becomes a failure, or undefined when it exited 0. */
async function processFailure(
  result: JobProcessResult,
  root: string,
  command: string,
  context: JobRunContext,
): Promise<JobRunOutcome | undefined> {
  const limits = `${context.instanceType.name}: ${context.instanceType.memoryMiB} MiB`;
  if (result.endedBy === 'memory') {
    return failed(
      'RESOURCE_EXHAUSTED',
      `MemoryLimitExceeded: the job's processes used ${(result.peakRssBytes / 1048576).toFixed(0)} MiB, over the memory of ${limits}; the job was killed. Use a larger instance type.`,
    );
  }
  if (result.heapExhausted && result.exitCode !== 0) {
    return failed(
      'RESOURCE_EXHAUSTED',
      `MemoryLimitExceeded: the node process ran out of JavaScript heap (capped at 75% of ${limits}). Use a larger instance type.`,
    );
  }
  if (result.spawnError) {
    return failed('INVALID_ARGUMENT', `ClientError: could not start "${command}": ${result.spawnError}`);
  }
  if (result.exitCode !== 0) {
    const reason = await readFailureFile(root);
    return failed(
      'FAILED_PRECONDITION',
      reason ??
        `AlgorithmError: "${command}" ${result.exitSignal ? `was killed by ${result.exitSignal}` : `exited with code ${result.exitCode}`}; see the job log`,
    );
  }
  return undefined;
}

/**
 * TrainingJobs with SageMaker's training contract: each instance (`algo-1` … `algo-N`) gets its own
 * folder laid out like /opt/ml (config JSONs, channels, model/, output/, checkpoints/) and SM_* env;
 * the process is a built-in algorithm (@trainyard/ml through `builtin-algorithm-entry`), a script in
 * script mode (`sagemaker_program` from `sagemaker_submit_directory`) or any command; metrics come
 * from its log lines; model/ is packed to `<S3OutputPath>/<job>/output/model.tar.gz`.
 */
export class TrainingJobRunner implements JobKindRunner {
  readonly kind = 'training' as const;

  constructor(private readonly options: TrainingJobRunnerOptions) {}

  maxRuntimeSeconds(job: JobRecord): number | undefined {
    return (job.spec as CreateTrainingJobBody).StoppingCondition.MaxRuntimeInSeconds;
  }

  instanceTypeOf(job: JobRecord): string {
    return (job.spec as CreateTrainingJobBody).ResourceConfig.InstanceType;
  }

  async run(context: JobRunContext): Promise<JobRunOutcome> {
    try {
      return await this.#run(context);
    } catch (error) {
      if (error instanceof ScriptModeError)
        return failed('INVALID_ARGUMENT', `ClientError: ${error.message}`);
      throw error;
    }
  }

  async #run(context: JobRunContext): Promise<JobRunOutcome> {
    const { job, workdir, signal } = context;
    const spec = job.spec as CreateTrainingJobBody;
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
      let uri: string;
      if (channel.DataSource.S3DataSource) uri = channel.DataSource.S3DataSource.S3Uri;
      else {
        const ds = channel.DataSource.DatasetSource!;
        if (!this.options.datasets)
          return failed('FAILED_PRECONDITION', 'datasets are not available on this worker');
        const resolved = await this.options.datasets.resolveVersion(ds.DatasetName, ds.Version);
        uri = resolved.uri;
        // Built-ins take the dataset's target column as the label wherever it sits in the file.
        if (resolved.target)
          channelLabels[`TRAINYARD_CHANNEL_${channel.ChannelName.toUpperCase()}_LABEL`] = resolved.target;
        context.log(
          `channel ${channel.ChannelName}: dataset ${ds.DatasetName} version ${resolved.version} (${uri})${resolved.target ? `, label column "${resolved.target}"` : ''}`,
        );
      }
      const copied = await downloadPrefix(
        this.options.blobs,
        uri,
        target,
        signal,
        `InputDataConfig.${channel.ChannelName}`,
      );
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
      const restored = await downloadPrefix(
        this.options.blobs,
        spec.CheckpointConfig.S3Uri.endsWith('/')
          ? spec.CheckpointConfig.S3Uri
          : `${spec.CheckpointConfig.S3Uri}/`,
        checkpointDir,
        signal,
        'CheckpointConfig.S3Uri',
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
      const entry = builtInEntryPath();
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
            await mkdir(dirname(archive), { recursive: true });
            const got = await downloadPrefix(
              this.options.blobs,
              launch.submitDirectory,
              join(workdir, 'tmp', 'submit'),
              signal,
              'HyperParameters.sagemaker_submit_directory',
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
    let results: JobProcessResult[];
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
            onLine: (_stream, line) => metrics.line(line),
          });
        }),
      );
    } finally {
      if (syncTimer) clearInterval(syncTimer);
    }
    const trainingSeconds = (Date.now() - started) / 1000;
    if (signal.aborted) return failed('INTERNAL', 'aborted');
    for (const [i, result] of results.entries()) {
      const failure = await processFailure(result, roots[i]!, command, context);
      if (failure) {
        if (checkpoints) await checkpoints.sync().catch(() => 0);
        return failure;
      }
    }

    await context.advance('Uploading');
    if (checkpoints) {
      const n = await checkpoints.sync();
      context.log(`checkpoints: ${n} changed file(s) synced to ${spec.CheckpointConfig!.S3Uri}`);
    }
    const modelUri = modelArtifactsUri(spec, job.name);
    const modelTar = join(workdir, 'tmp', 'model.tar.gz');
    await packDirectory(first.modelDir, modelTar);
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
    if (await hasFiles(first.outputDataDir)) {
      const outputUri = modelUri.replace(/model\.tar\.gz$/, 'output.tar.gz');
      const outputTar = join(workdir, 'tmp', 'output.tar.gz');
      await packDirectory(first.outputDataDir, outputTar);
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
    return { status: 'Completed', result };
  }
}
