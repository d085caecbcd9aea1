import { invalidArgument } from '@trainyard/contracts/errors';
import type { CreateTrainingJobBody } from '@trainyard/contracts/training-jobs';
import { parseStoppingReference, stopRuleHyperParameter } from '../tuning/tuning-strategies.js';

/** Built-in algorithms, by SageMaker's image repository names. */
export const builtInAlgorithms = [
  'xgboost',
  'linear-learner',
  'kmeans',
  'pca',
  'knn',
  'randomcutforest',
] as const;
export type BuiltInAlgorithm = (typeof builtInAlgorithms)[number];

/** Built-ins that read no label by default (SageMaker's `text/csv;label_size=0` for them). */
export const unlabeledBuiltIns: readonly BuiltInAlgorithm[] = ['kmeans', 'pca', 'randomcutforest'];

interface AlgorithmRules {
  /** Hyperparameters that must be given. */
  required: readonly string[];
  /** Every name the algorithm accepts (SageMaker's list for it). */
  known: readonly string[];
  /** Channels it needs; others it reads when present. */
  requiredChannels: readonly string[];
  optionalChannels: readonly string[];
}

const rules: Record<BuiltInAlgorithm, AlgorithmRules> = {
  xgboost: {
    required: ['num_round'],
    known: [
      'num_round',
      'num_class',
      'alpha',
      'base_score',
      'booster',
      'colsample_bylevel',
      'colsample_bynode',
      'colsample_bytree',
      'csv_weights',
      'deterministic_histogram',
      'early_stopping_rounds',
      'eta',
      'eval_metric',
      'gamma',
      'grow_policy',
      'interaction_constraints',
      'lambda',
      'lambda_bias',
      'max_bin',
      'max_delta_step',
      'max_depth',
      'max_leaves',
      'min_child_weight',
      'monotone_constraints',
      'normalize_type',
      'nthread',
      'num_parallel_tree',
      'objective',
      'one_drop',
      'process_type',
      'rate_drop',
      'refresh_leaf',
      'sample_type',
      'scale_pos_weight',
      'seed',
      'single_precision_histogram',
      'sketch_eps',
      'skip_drop',
      'subsample',
      'tree_method',
      'tweedie_variance_power',
      'updater',
      'use_dask_gpu_training',
      'validate_parameters',
      'verbosity',
      'learning_rate',
      'reg_alpha',
      'reg_lambda',
      'checkpoint_frequency',
    ],
    requiredChannels: ['train'],
    optionalChannels: ['validation', 'test'],
  },
  'linear-learner': {
    required: ['predictor_type'],
    known: [
      'predictor_type',
      'num_classes',
      'feature_dim',
      'epochs',
      'mini_batch_size',
      'learning_rate',
      'optimizer',
      'loss',
      'l1',
      'wd',
      'normalize_data',
      'normalize_label',
      'use_bias',
      'num_models',
      'early_stopping_patience',
      'early_stopping_tolerance',
      'binary_classifier_model_selection_criteria',
      'positive_example_weight_mult',
      'target_recall',
      'target_precision',
      'momentum',
      'beta_1',
      'beta_2',
      'bias_lr_mult',
      'bias_wd_mult',
      'init_method',
      'init_scale',
      'init_sigma',
      'init_bias',
      'lr_scheduler_factor',
      'lr_scheduler_minimum_lr',
      'lr_scheduler_step',
      'margin',
      'num_calibration_samples',
      'num_point_for_scaler',
      'quantile',
      'unbias_data',
      'unbias_label',
      'accuracy_top_k',
      'f_beta',
      'huber_delta',
      'loss_insensitivity',
      'balance_multiclass_weights',
    ],
    requiredChannels: ['train'],
    optionalChannels: ['validation', 'test'],
  },
  kmeans: {
    required: ['k'],
    known: [
      'k',
      'feature_dim',
      'mini_batch_size',
      'epochs',
      'init_method',
      'extra_center_factor',
      'local_lloyd_max_iter',
      'local_lloyd_tol',
      'local_lloyd_num_trials',
      'local_lloyd_init_method',
      'half_life_time_size',
      'eval_metrics',
    ],
    requiredChannels: ['train'],
    optionalChannels: ['test'],
  },
  pca: {
    required: ['num_components'],
    known: [
      'num_components',
      'feature_dim',
      'mini_batch_size',
      'algorithm_mode',
      'subtract_mean',
      'extra_components',
    ],
    requiredChannels: ['train'],
    optionalChannels: ['test'],
  },
  knn: {
    required: ['k', 'predictor_type'],
    known: [
      'k',
      'predictor_type',
      'feature_dim',
      'sample_size',
      'dimension_reduction_type',
      'dimension_reduction_target',
      'index_type',
      'index_metric',
      'faiss_index_ivf_nlists',
      'faiss_index_pq_m',
      'mini_batch_size',
    ],
    requiredChannels: ['train'],
    optionalChannels: ['test'],
  },
  randomcutforest: {
    required: [],
    known: ['feature_dim', 'num_trees', 'num_samples_per_tree', 'eval_metrics'],
    requiredChannels: ['train'],
    optionalChannels: ['test'],
  },
};

/** How a training job's process is chosen from its AlgorithmSpecification and hyperparameters. */
export type TrainingLaunch =
  | { mode: 'builtin'; algorithm: BuiltInAlgorithm }
  | { mode: 'script'; program: string; submitDirectory: string | undefined; language: 'python' | 'node' }
  | { mode: 'command' };

const frameworkImage = /(scikit-learn|sklearn|pytorch|torch|python|tensorflow|huggingface|mxnet)/i;

/** The built-in an image URI or AlgorithmName names, if any (`…/sagemaker-xgboost:1.7-1` → xgboost). */
export function builtInOf(
  spec: CreateTrainingJobBody['AlgorithmSpecification'],
): BuiltInAlgorithm | undefined {
  const raw = (spec.AlgorithmName ?? spec.TrainingImage ?? '').toLowerCase();
  // The repository part: after the last "/" and before ":" or "@".
  const repo = raw.split('/').at(-1)!.split(/[:@]/)[0]!;
  const name = repo.replace(/^sagemaker-/, '').replace(/^trainyard-/, '');
  return (builtInAlgorithms as readonly string[]).includes(name) ? (name as BuiltInAlgorithm) : undefined;
}

/**
 * Decides what runs: `ContainerEntrypoint` is a command; `sagemaker_program` is script mode (as
 * SageMaker's framework containers do it); otherwise the image must name a built-in.
 * @throws INVALID_ARGUMENT naming the field
 */
export function resolveTrainingLaunch(body: CreateTrainingJobBody): TrainingLaunch {
  const algo = body.AlgorithmSpecification;
  const hps = body.HyperParameters ?? {};
  if (algo.ContainerEntrypoint) return { mode: 'command' };
  const program = hps.sagemaker_program;
  if (program !== undefined) {
    const clean = program.replace(/^"|"$/g, '');
    if (!/^[A-Za-z0-9_./-]+$/.test(clean) || clean.split('/').includes('..') || clean.startsWith('/')) {
      throw invalidArgument(
        'HyperParameters.sagemaker_program',
        `"${program}" must be a relative path inside the source directory`,
      );
    }
    const language = /\.(py)$/.test(clean)
      ? 'python'
      : /\.(m?js|cjs|ts|mts)$/.test(clean)
        ? 'node'
        : undefined;
    if (!language) {
      throw invalidArgument(
        'HyperParameters.sagemaker_program',
        `"${program}" must be a .py, .js, .mjs or .ts file`,
      );
    }
    const dir = hps.sagemaker_submit_directory?.replace(/^"|"$/g, '');
    if (dir !== undefined && !/^s3:\/\/[^/]+\/.+/.test(dir)) {
      throw invalidArgument(
        'HyperParameters.sagemaker_submit_directory',
        `"${dir}" must be an s3://bucket/key of a .tar.gz`,
      );
    }
    if (dir === undefined && !(body.InputDataConfig ?? []).some((c) => c.ChannelName === 'code')) {
      throw invalidArgument(
        'HyperParameters.sagemaker_submit_directory',
        'is required in script mode (an s3://…/sourcedir.tar.gz), unless a "code" channel holds the program',
      );
    }
    return { mode: 'script', program: clean, submitDirectory: dir, language };
  }
  const builtIn = builtInOf(algo);
  if (builtIn) return { mode: 'builtin', algorithm: builtIn };
  const field =
    algo.AlgorithmName !== undefined
      ? 'AlgorithmSpecification.AlgorithmName'
      : 'AlgorithmSpecification.TrainingImage';
  const name = algo.AlgorithmName ?? algo.TrainingImage ?? '';
  if (frameworkImage.test(name)) {
    throw invalidArgument(
      'HyperParameters.sagemaker_program',
      `is required with the framework image "${name}": name the entry script (and sagemaker_submit_directory)`,
    );
  }
  throw invalidArgument(
    field,
    `"${name}" is not a built-in algorithm (${builtInAlgorithms.join(', ')}) or a framework image; give ContainerEntrypoint to run a command`,
  );
}

/**
 * Checks a built-in's hyperparameter names and channels, as SageMaker does before starting it.
 * Values are checked by the algorithm when it starts (the job then fails naming the value).
 */
export function validateBuiltIn(algorithm: BuiltInAlgorithm, body: CreateTrainingJobBody): void {
  const rule = rules[algorithm];
  const hps = body.HyperParameters ?? {};
  for (const name of Object.keys(hps)) {
    if (name.startsWith('sagemaker_') || name === '_tuning_objective_metric') continue;
    if (name === stopRuleHyperParameter && algorithm === 'xgboost') {
      // A tuner's trial judges itself against it each round (see tuning-strategies).
      try {
        parseStoppingReference(hps[name]!);
      } catch (error) {
        throw invalidArgument(`HyperParameters.${name}`, (error as Error).message);
      }
      continue;
    }
    if (!rule.known.includes(name)) {
      throw invalidArgument(
        `HyperParameters.${name}`,
        `is not a hyperparameter of the built-in ${algorithm}`,
      );
    }
  }
  for (const name of rule.required) {
    if (hps[name] === undefined)
      throw invalidArgument(`HyperParameters.${name}`, `is required by ${algorithm}`);
  }
  const channels = (body.InputDataConfig ?? []).map((c) => c.ChannelName);
  for (const name of rule.requiredChannels) {
    if (!channels.includes(name)) {
      throw invalidArgument(
        'InputDataConfig',
        `${algorithm} needs a "${name}" channel; got ${channels.length ? channels.join(', ') : 'none'}`,
      );
    }
  }
  for (const name of channels) {
    if (!rule.requiredChannels.includes(name) && !rule.optionalChannels.includes(name)) {
      throw invalidArgument(
        'InputDataConfig',
        `${algorithm} reads the channels ${[...rule.requiredChannels, ...rule.optionalChannels].join(', ')}; "${name}" is not one of them`,
      );
    }
  }
  if (
    algorithm === 'xgboost' &&
    hps.early_stopping_rounds !== undefined &&
    !channels.includes('validation')
  ) {
    throw invalidArgument('HyperParameters.early_stopping_rounds', 'needs a "validation" channel');
  }
  if (body.ResourceConfig.InstanceCount !== 1) {
    throw invalidArgument(
      'ResourceConfig.InstanceCount',
      `the built-in ${algorithm} trains on one instance; use 1`,
    );
  }
}
