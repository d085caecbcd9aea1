import { createHash } from 'node:crypto';
import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import type { CreateTrainingJobBody } from '@trainyard/contracts/training-jobs';
import type { CreateTuningJobBody, TuningObjective } from '@trainyard/contracts/tuning-jobs';
import { type BuiltInAlgorithm, resolveTrainingLaunch } from '../training/training-algorithms.js';
import { type Dimension, type ParameterValues, SearchSpace } from './tuning-space.js';
import type { Observation, TuningStrategy } from './tuning-strategies.js';

const configField = 'HyperParameterTuningJobConfig';
const rangesField = `${configField}.ParameterRanges`;

/** The objective metrics each built-in prints (SageMaker's tuning metric names). */
const builtInMetrics: Record<BuiltInAlgorithm, RegExp> = {
  xgboost: /^(train|validation):(auc|logloss|error|mlogloss|merror|rmse|mae|poisson-nloglik)$/,
  'linear-learner':
    /^(train|validation|test):(binary_classification_accuracy|roc_auc_score|multiclass_accuracy|mse|absolute_loss)$/,
  kmeans: /^(train|test):msd$/,
  knn: /^test:(accuracy|mse)$/,
  pca: /^$/,
  randomcutforest: /^$/,
};

/** The hyperparameter counting a built-in's training iterations (Hyperband's resource). */
const iterationHyperparameter: Partial<Record<BuiltInAlgorithm, string>> = {
  xgboost: 'num_round',
  'linear-learner': 'epochs',
  kmeans: 'epochs',
};

/** What a tuning job's row keeps besides the request: the request resolved once, at create. */
export interface ResolvedTuningSpec {
  request: CreateTuningJobBody;
  strategy: TuningStrategy;
  objective: TuningObjective;
  dimensions: Dimension[];
  maxTrainingJobs: number;
  maxParallel: number;
  seed: number;
  /** Hyperband: the iteration hyperparameter, its rungs' bounds. */
  hyperband?: { parameter: string; minResource: number; maxResource: number };
  /** Hyperparameters every child gets besides the tuned ones. */
  fixedHyperParameters: Record<string, string>;
  /** Warm start: the parents' trials with an objective. */
  priorObservations: (Observation & { tuningJob: string; trainingJob: string })[];
}

function parseBound(field: string, raw: string, integer: boolean): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) throw invalidArgument(field, `"${raw}" is not a number`);
  if (integer && !Number.isInteger(value)) throw invalidArgument(field, `"${raw}" is not an integer`);
  return value;
}

/**
 * Checks the ranges as SageMaker does, naming the field of each refusal, and turns them into the
 * strategies' dimensions. `Auto` scaling is Linear.
 */
export function dimensionsOf(body: CreateTuningJobBody, strategy: TuningStrategy): Dimension[] {
  const ranges = body.HyperParameterTuningJobConfig.ParameterRanges ?? {};
  const dimensions: Dimension[] = [];
  const names = new Map<string, string>();
  const claim = (field: string, name: string) => {
    if (names.has(name))
      throw invalidArgument(`${field}.Name`, `"${name}" is also tuned by ${names.get(name)}`);
    if (name.startsWith('sagemaker_') || name.startsWith('_tuning'))
      throw invalidArgument(`${field}.Name`, `"${name}" is reserved for the platform`);
    if (body.TrainingJobDefinition.StaticHyperParameters?.[name] !== undefined)
      throw invalidArgument(
        `${field}.Name`,
        `"${name}" is also in TrainingJobDefinition.StaticHyperParameters`,
      );
    names.set(name, field);
  };
  for (const [key, kind] of [
    ['IntegerParameterRanges', 'Integer'],
    ['ContinuousParameterRanges', 'Continuous'],
  ] as const) {
    (ranges[key] ?? []).forEach((range, i) => {
      const field = `${rangesField}.${key}.${i}`;
      claim(field, range.Name);
      if (kind === 'Continuous' && strategy === 'Grid')
        throw invalidArgument(
          `${rangesField}.${key}`,
          'the Grid strategy takes categorical and integer ranges only',
        );
      const min = parseBound(`${field}.MinValue`, range.MinValue, kind === 'Integer');
      const max = parseBound(`${field}.MaxValue`, range.MaxValue, kind === 'Integer');
      if (min > max) throw invalidArgument(`${field}.MinValue`, `${min} is greater than MaxValue ${max}`);
      const scaling =
        range.ScalingType === 'Auto' || range.ScalingType === undefined ? 'Linear' : range.ScalingType;
      if (scaling === 'Logarithmic' && min <= 0)
        throw invalidArgument(
          `${field}.ScalingType`,
          `Logarithmic scaling needs a range above zero; MinValue is ${min}`,
        );
      if (scaling === 'ReverseLogarithmic') {
        if (kind === 'Integer')
          throw invalidArgument(
            `${field}.ScalingType`,
            'ReverseLogarithmic applies to continuous ranges only',
          );
        if (min < 0 || max >= 1)
          throw invalidArgument(
            `${field}.ScalingType`,
            `ReverseLogarithmic scaling needs 0 <= MinValue and MaxValue < 1; the range is [${min}, ${max}]`,
          );
      }
      if (strategy === 'Grid' && scaling !== 'Linear')
        throw invalidArgument(`${field}.ScalingType`, 'the Grid strategy walks integer ranges linearly');
      dimensions.push({ kind, name: range.Name, min, max, scaling });
    });
  }
  (ranges.CategoricalParameterRanges ?? []).forEach((range, i) => {
    const field = `${rangesField}.CategoricalParameterRanges.${i}`;
    claim(field, range.Name);
    const seen = new Set<string>();
    for (const value of range.Values) {
      if (seen.has(value)) throw invalidArgument(`${field}.Values`, `"${value}" is listed twice`);
      seen.add(value);
    }
    dimensions.push({ kind: 'Categorical', name: range.Name, values: range.Values });
  });
  if (dimensions.length === 0)
    throw invalidArgument(rangesField, 'give at least one integer, continuous or categorical range');
  return dimensions;
}

/** The objective must be a metric the trials print: a MetricDefinitions name or the built-in's own. */
function checkObjectiveMetric(
  body: CreateTuningJobBody,
  launch: ReturnType<typeof resolveTrainingLaunch>,
): void {
  const objective = body.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective!;
  const field = `${configField}.HyperParameterTuningJobObjective.MetricName`;
  const definitions = body.TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions ?? [];
  if (definitions.some((d) => d.Name === objective.MetricName)) return;
  if (launch.mode === 'builtin' && builtInMetrics[launch.algorithm].test(objective.MetricName)) {
    const channel = objective.MetricName.split(':')[0]!;
    const channels = (body.TrainingJobDefinition.InputDataConfig ?? []).map((c) => c.ChannelName);
    if (!channels.includes(channel))
      throw invalidArgument(
        field,
        `"${objective.MetricName}" needs a "${channel}" channel in TrainingJobDefinition.InputDataConfig`,
      );
    return;
  }
  const known = [
    ...definitions.map((d) => d.Name),
    ...(launch.mode === 'builtin'
      ? [`the ${launch.algorithm} metrics (${builtInMetrics[launch.algorithm].source})`]
      : []),
  ];
  throw invalidArgument(
    field,
    `"${objective.MetricName}" is not a metric the training jobs emit; known: ${known.length ? known.join(', ') : 'none (add AlgorithmSpecification.MetricDefinitions)'}`,
  );
}

/**
 * Validates a CreateHyperParameterTuningJob request (everything but the training definition's own
 * checks and the warm-start parents, which need the stores) and resolves it.
 * @throws INVALID_ARGUMENT naming the field
 */
export function resolveTuningSpec(body: CreateTuningJobBody): Omit<ResolvedTuningSpec, 'priorObservations'> {
  const config = body.HyperParameterTuningJobConfig;
  const strategy = config.Strategy;
  const objective = config.HyperParameterTuningJobObjective;
  if (!objective)
    throw invalidArgument(
      `${configField}.HyperParameterTuningJobObjective`,
      'is required (metric name and Minimize or Maximize)',
    );
  const dimensions = dimensionsOf(body, strategy);
  const space = new SearchSpace(dimensions);
  const limits = config.ResourceLimits;
  let maxTrainingJobs = limits.MaxNumberOfTrainingJobs;
  if (strategy === 'Grid') {
    const size = space.gridSize();
    if (size > 10_000)
      throw invalidArgument(rangesField, `the grid has ${size} points; Grid takes at most 10000`);
    maxTrainingJobs = Math.min(maxTrainingJobs ?? size, size);
  } else if (maxTrainingJobs === undefined) {
    throw invalidArgument(
      `${configField}.ResourceLimits.MaxNumberOfTrainingJobs`,
      `is required with the ${strategy} strategy`,
    );
  }
  if (limits.MaxParallelTrainingJobs > maxTrainingJobs && strategy !== 'Grid')
    throw invalidArgument(
      `${configField}.ResourceLimits.MaxParallelTrainingJobs`,
      `${limits.MaxParallelTrainingJobs} is more than MaxNumberOfTrainingJobs ${maxTrainingJobs}`,
    );
  const definition = body.TrainingJobDefinition;
  let launch: ReturnType<typeof resolveTrainingLaunch>;
  try {
    launch = resolveTrainingLaunch({
      ...childBody(body, 'probe', {}, {}),
      HyperParameters: definition.StaticHyperParameters ?? {},
    });
  } catch (error) {
    throw prefixField(error, 'TrainingJobDefinition');
  }
  checkObjectiveMetric(body, launch);
  const fixed: Record<string, string> = {};
  // SageMaker's XGBoost scores the tuning objective even when eval_metric does not name it.
  if (
    launch.mode === 'builtin' &&
    launch.algorithm === 'xgboost' &&
    !dimensions.some((d) => d.name === 'eval_metric')
  ) {
    const wanted = objective.MetricName.split(':')[1]!;
    const given = definition.StaticHyperParameters?.eval_metric;
    if (given === undefined) fixed.eval_metric = wanted;
    else if (
      !given
        .split(',')
        .map((m) => m.trim())
        .includes(wanted)
    )
      throw invalidArgument(
        'TrainingJobDefinition.StaticHyperParameters.eval_metric',
        `"${given}" does not include ${wanted}, the tuning objective's metric`,
      );
  }
  let hyperband: ResolvedTuningSpec['hyperband'];
  if (strategy === 'Hyperband') {
    if (config.TrainingJobEarlyStoppingType === 'Auto')
      throw invalidArgument(
        `${configField}.TrainingJobEarlyStoppingType`,
        'must be Off with Hyperband, which stops trials itself',
      );
    const parameter = (launch.mode === 'builtin' && iterationHyperparameter[launch.algorithm]) || 'epochs';
    const hb = config.StrategyConfig?.HyperbandStrategyConfig ?? {};
    const staticValue = Number(definition.StaticHyperParameters?.[parameter]);
    const maxResource =
      hb.MaxResource ?? (Number.isInteger(staticValue) && staticValue > 0 ? staticValue : undefined);
    if (maxResource === undefined)
      throw invalidArgument(
        `${configField}.StrategyConfig.HyperbandStrategyConfig.MaxResource`,
        `is required (the most ${parameter} a trial runs) unless StaticHyperParameters.${parameter} gives it`,
      );
    const minResource = hb.MinResource ?? 1;
    if (minResource > maxResource)
      throw invalidArgument(
        `${configField}.StrategyConfig.HyperbandStrategyConfig.MinResource`,
        `${minResource} is greater than MaxResource ${maxResource}`,
      );
    if (dimensions.some((d) => d.name === parameter))
      throw invalidArgument(
        rangesField,
        `"${parameter}" is Hyperband's resource; it cannot be tuned as well`,
      );
    fixed[parameter] = String(maxResource);
    hyperband = { parameter, minResource, maxResource };
  } else if (config.StrategyConfig?.HyperbandStrategyConfig) {
    throw invalidArgument(
      `${configField}.StrategyConfig.HyperbandStrategyConfig`,
      'applies to the Hyperband strategy only',
    );
  }
  const out: Omit<ResolvedTuningSpec, 'priorObservations'> = {
    request: body,
    strategy,
    objective,
    dimensions,
    maxTrainingJobs,
    maxParallel: Math.min(limits.MaxParallelTrainingJobs, maxTrainingJobs),
    seed: config.RandomSeed ?? Math.floor(Math.random() * 2 ** 31),
    fixedHyperParameters: fixed,
  };
  if (hyperband) out.hyperband = hyperband;
  return out;
}

/** Re-raises a refusal of a training request (a field named) under the tuning request's member. */
export function prefixField(error: unknown, prefix: string): unknown {
  if (!(error instanceof TrainyardError)) return error;
  const field = error.details.field;
  if (typeof field !== 'string') return error;
  const renamed = `${prefix}.${field.startsWith('HyperParameters.') ? field.replace('HyperParameters.', 'StaticHyperParameters.') : field}`;
  const problem = error.message.startsWith(`${field}: `)
    ? error.message.slice(field.length + 2)
    : error.message;
  return new TrainyardError(error.code, `${renamed}: ${problem}`, { ...error.details, field: renamed });
}

/** `<tuning>-NNN-<hash>`: the same trial of the same tuning job always gets the same name. */
export function childTrainingJobName(tuningName: string, tuningJobId: string, index: number): string {
  const hash = createHash('sha256').update(`${tuningJobId}/${index}`).digest('hex').slice(0, 8);
  return `${tuningName}-${String(index + 1).padStart(3, '0')}-${hash}`;
}

/** The CreateTrainingJob request of one trial. */
export function childBody(
  body: CreateTuningJobBody,
  name: string,
  values: ParameterValues,
  fixed: Record<string, string>,
): CreateTrainingJobBody {
  const d = body.TrainingJobDefinition;
  const objective = body.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective;
  const out: CreateTrainingJobBody = {
    TrainingJobName: name,
    AlgorithmSpecification: d.AlgorithmSpecification,
    HyperParameters: {
      ...(d.StaticHyperParameters ?? {}),
      ...fixed,
      ...values,
      ...(objective ? { _tuning_objective_metric: objective.MetricName } : {}),
    },
    OutputDataConfig: d.OutputDataConfig,
    ResourceConfig: d.ResourceConfig,
    StoppingCondition: d.StoppingCondition,
    Tags: [{ Key: 'trainyard:tuning-job', Value: body.HyperParameterTuningJobName }],
  };
  if (d.RoleArn !== undefined) out.RoleArn = d.RoleArn;
  if (d.InputDataConfig) out.InputDataConfig = d.InputDataConfig;
  if (d.Environment) out.Environment = d.Environment;
  if (d.CheckpointConfig)
    out.CheckpointConfig = {
      ...d.CheckpointConfig,
      S3Uri: `${d.CheckpointConfig.S3Uri.replace(/\/+$/, '')}/${name}/`,
    };
  return out;
}
