import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument } from '@trainyard/contracts/errors';

/** SageMaker keeps the first 1024 characters of output/failure as FailureReason. */
const failureChars = 1024;

/**
 * Maps a container path under `/opt/ml` onto the job's working folder, which stands in for it.
 * @throws INVALID_ARGUMENT for paths outside /opt/ml or with ".." segments
 */
export function hostPathOf(root: string, containerPath: string, field = 'LocalPath'): string {
  if (containerPath !== '/opt/ml' && !containerPath.startsWith('/opt/ml/')) {
    throw invalidArgument(field, `"${containerPath}" must be under /opt/ml`);
  }
  const rest = containerPath.slice('/opt/ml'.length).replace(/^\/+/, '');
  if (rest.split('/').includes('..'))
    throw invalidArgument(field, `"${containerPath}" must not contain ".."`);
  return rest === '' ? root : join(root, rest);
}

/**
 * Rewrites `/opt/ml/...` in command arguments (alone or after `=`, as in `--input=/opt/ml/...`)
 * to the working folder, so scripts written for SageMaker's paths get the real ones.
 */
export function rewriteOptMlArgs(args: readonly string[], root: string): string[] {
  return args.map((arg) => arg.replace(/(^|=)\/opt\/ml(?=\/|$)/, (_m, lead: string) => `${lead}${root}`));
}

/** The first 1024 characters of `<root>/output/failure`, or undefined when the file is absent or empty. */
export function readFailureFile(root: string): Promise<string | undefined> {
  return readOutputNote(root, 'failure');
}

/**
 * `output/<stoppedEarlyFile>`: a built-in that stopped itself by its tuning stop rule writes the
 * reason there; the training job then ends Stopped (with its model) instead of Completed.
 */
export const stoppedEarlyFile = 'stopped-early';

/** The first 1024 characters of `<root>/output/<name>`, or undefined when absent or empty. */
export async function readOutputNote(root: string, name: string): Promise<string | undefined> {
  try {
    const text = (await readFile(join(root, 'output', name), 'utf8')).trim();
    return text === '' ? undefined : text.slice(0, failureChars);
  } catch {
    return undefined;
  }
}

export interface TrainingChannel {
  name: string;
  contentType?: string;
  inputMode?: 'File';
  s3DistributionType?: 'FullyReplicated' | 'ShardedByS3Key';
  recordWrapperType?: 'None' | 'RecordIO';
}

export interface TrainingLayoutSpec {
  jobName: string;
  jobArn: string;
  /** Values are strings, as SageMaker passes them. */
  hyperParameters: Record<string, string>;
  channels: TrainingChannel[];
  instanceType: string;
  vcpus: number;
  gpus: number;
  /** Passed to the script as arguments; also in SM_USER_ARGS. */
  userArgs?: string[];
  /** This instance's host name; default `algo-1`. */
  currentHost?: string;
  /** Every host of the job (`algo-1` … `algo-N`); default `[currentHost]`. */
  hosts?: string[];
}

export interface TrainingLayout {
  /** Env vars the script gets: SageMaker's and the training toolkit's SM_* ones, pointing into root. */
  env: Record<string, string>;
  modelDir: string;
  outputDir: string;
  outputDataDir: string;
  checkpointsDir: string;
  codeDir: string;
  /** Folder per channel, `<root>/input/data/<channel>`, to be filled with the channel's files. */
  channelDirs: Record<string, string>;
}

/**
 * Lays out `/opt/ml` for a training job under `root` (SageMaker's training contract: input/config
 * files, input/data/<channel>/, model/, output/, checkpoints/, code/) and returns the env a
 * script sees. The training toolkit derives the SM_* variables inside framework containers; with
 * no container here the platform sets them itself.
 */
export async function prepareTrainingLayout(root: string, spec: TrainingLayoutSpec): Promise<TrainingLayout> {
  const inputDir = join(root, 'input');
  const configDir = join(inputDir, 'config');
  const modelDir = join(root, 'model');
  const outputDir = join(root, 'output');
  const outputDataDir = join(outputDir, 'data');
  const checkpointsDir = join(root, 'checkpoints');
  const codeDir = join(root, 'code');
  const channelDirs: Record<string, string> = {};
  for (const dir of [
    configDir,
    modelDir,
    outputDataDir,
    join(outputDir, 'intermediate'),
    checkpointsDir,
    codeDir,
  ]) {
    await mkdir(dir, { recursive: true });
  }
  const inputDataConfig: Record<string, Record<string, string>> = {};
  for (const channel of spec.channels) {
    if (!/^[A-Za-z0-9.\-_]{1,64}$/.test(channel.name)) {
      throw invalidArgument('InputDataConfig.ChannelName', `"${channel.name}" is not a valid channel name`);
    }
    const dir = join(inputDir, 'data', channel.name);
    await mkdir(dir, { recursive: true });
    channelDirs[channel.name] = dir;
    const entry: Record<string, string> = {
      TrainingInputMode: channel.inputMode ?? 'File',
      S3DistributionType: channel.s3DistributionType ?? 'FullyReplicated',
      RecordWrapperType: channel.recordWrapperType ?? 'None',
    };
    if (channel.contentType !== undefined) entry.ContentType = channel.contentType;
    inputDataConfig[channel.name] = entry;
  }
  const currentHost = spec.currentHost ?? 'algo-1';
  const hosts = spec.hosts ?? [currentHost];
  const resourceConfig = {
    current_host: currentHost,
    hosts,
    current_instance_type: spec.instanceType,
    current_group_name: 'homogeneousCluster',
    instance_groups: [{ instance_group_name: 'homogeneousCluster', instance_type: spec.instanceType, hosts }],
    network_interface_name: 'lo',
  };
  await writeFile(join(configDir, 'hyperparameters.json'), JSON.stringify(spec.hyperParameters));
  await writeFile(join(configDir, 'inputdataconfig.json'), JSON.stringify(inputDataConfig));
  await writeFile(join(configDir, 'resourceconfig.json'), JSON.stringify(resourceConfig));

  const channelNames = spec.channels.map((c) => c.name).sort();
  const userArgs = spec.userArgs ?? [];
  const env: Record<string, string> = {
    TRAINING_JOB_NAME: spec.jobName,
    TRAINING_JOB_ARN: spec.jobArn,
    TRAINYARD_OPT_ML: root,
    SM_MODEL_DIR: modelDir,
    SM_INPUT_DIR: inputDir,
    SM_INPUT_CONFIG_DIR: configDir,
    SM_OUTPUT_DIR: outputDir,
    SM_OUTPUT_DATA_DIR: outputDataDir,
    SM_OUTPUT_INTERMEDIATE_DIR: join(outputDir, 'intermediate'),
    SM_CHANNELS: JSON.stringify(channelNames),
    SM_HPS: JSON.stringify(spec.hyperParameters),
    SM_NUM_CPUS: String(Math.max(1, Math.floor(spec.vcpus))),
    SM_NUM_GPUS: String(spec.gpus),
    SM_CURRENT_HOST: currentHost,
    SM_HOSTS: JSON.stringify(hosts),
    SM_CURRENT_INSTANCE_TYPE: spec.instanceType,
    SM_NETWORK_INTERFACE_NAME: 'lo',
    SM_LOG_LEVEL: '20',
    SM_INPUT_DATA_CONFIG: JSON.stringify(inputDataConfig),
    SM_RESOURCE_CONFIG: JSON.stringify(resourceConfig),
    SM_USER_ARGS: JSON.stringify(userArgs),
    SM_MODULE_DIR: codeDir,
  };
  for (const name of channelNames) env[`SM_CHANNEL_${name.toUpperCase()}`] = channelDirs[name]!;
  for (const [name, value] of Object.entries(spec.hyperParameters))
    env[`SM_HP_${name.toUpperCase()}`] = value;
  env.SM_TRAINING_ENV = JSON.stringify({
    job_name: spec.jobName,
    channel_input_dirs: channelDirs,
    hyperparameters: spec.hyperParameters,
    model_dir: modelDir,
    output_dir: outputDir,
    output_data_dir: outputDataDir,
    input_dir: inputDir,
    input_config_dir: configDir,
    current_host: currentHost,
    hosts,
    num_cpus: Number(env.SM_NUM_CPUS),
    num_gpus: spec.gpus,
    module_dir: codeDir,
    user_args: userArgs,
  });
  return { env, modelDir, outputDir, outputDataDir, checkpointsDir, codeDir, channelDirs };
}
