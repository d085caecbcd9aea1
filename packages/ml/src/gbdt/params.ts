import { MlInputError } from '../core/errors.js';
import { type HyperValue, ParamReader } from '../core/params.js';
import { baseMargin, defaultMetric, isMulticlass, OBJECTIVES, type ObjectiveName } from './objectives.js';

export const EVAL_METRICS = [
  'auc',
  'logloss',
  'error',
  'mlogloss',
  'merror',
  'rmse',
  'mae',
  'poisson-nloglik',
] as const;
export type EvalMetricName = (typeof EVAL_METRICS)[number];

/** GBDT hyperparameters after validation, with SageMaker XGBoost's defaults filled in. */
export interface GbdtParams {
  numRound: number;
  objective: ObjectiveName;
  numClass: number;
  maxDepth: number;
  maxLeaves: number;
  growPolicy: 'depthwise' | 'lossguide';
  eta: number;
  gamma: number;
  minChildWeight: number;
  maxDeltaStep: number;
  subsample: number;
  colsampleBytree: number;
  lambda: number;
  alpha: number;
  maxBin: number;
  scalePosWeight: number;
  baseScore: number;
  seed: number;
  nthread: number;
  evalMetric: EvalMetricName[];
  earlyStoppingRounds: number | undefined;
}

/**
 * Resolves SageMaker-style XGBoost hyperparameters (strings or numbers) into `GbdtParams`.
 * Unknown names are ignored (SageMaker passes platform keys too); bad values throw `MlInputError`.
 */
export function resolveGbdtParams(raw: Readonly<Record<string, HyperValue>> = {}): GbdtParams {
  const r = new ParamReader(raw);
  const objective = r.choice('objective', 'reg:squarederror', OBJECTIVES);
  const multi = isMulticlass(objective);
  const numClass = multi ? r.int('num_class', 0, { min: 2 }) : 1;
  if (multi && raw.num_class === undefined)
    throw new MlInputError('num_class', `is required for ${objective}`);
  const growPolicy = r.choice('grow_policy', 'depthwise', ['depthwise', 'lossguide'] as const);
  const maxDepth = r.int('max_depth', 6, { min: 0, max: 30 });
  const maxLeaves = r.int('max_leaves', 0, { min: 0 });
  if (maxDepth === 0 && maxLeaves === 0) {
    throw new MlInputError('max_depth', 'max_depth = 0 (unlimited) needs max_leaves > 0');
  }
  const treeMethod = r.string('tree_method');
  if (treeMethod !== undefined && treeMethod !== 'hist' && treeMethod !== 'auto' && treeMethod !== 'approx') {
    throw new MlInputError(
      'tree_method',
      `only the histogram method is implemented, got ${JSON.stringify(treeMethod)}`,
    );
  }
  const baseScore = r.number('base_score', 0.5);
  if (
    (objective === 'binary:logistic' || objective === 'reg:logistic') &&
    !(baseScore > 0 && baseScore < 1)
  ) {
    throw new MlInputError('base_score', `must be in (0, 1) for ${objective}, got ${baseScore}`);
  }
  if (objective === 'count:poisson' && !(baseScore > 0)) {
    throw new MlInputError('base_score', `must be > 0 for count:poisson, got ${baseScore}`);
  }
  const metricRaw = r.string('eval_metric');
  const evalMetric = (metricRaw ? metricRaw.split(',').map((s) => s.trim()) : [defaultMetric(objective)]).map(
    (m) => {
      if (!(EVAL_METRICS as readonly string[]).includes(m)) {
        throw new MlInputError(
          'eval_metric',
          `unknown metric ${JSON.stringify(m)}; use one of ${EVAL_METRICS.join(', ')}`,
        );
      }
      if ((m === 'mlogloss' || m === 'merror') !== multi) {
        throw new MlInputError('eval_metric', `${m} does not apply to ${objective}`);
      }
      return m as EvalMetricName;
    },
  );
  const es = r.optionalInt('early_stopping_rounds', { min: 1 });
  const p: GbdtParams = {
    numRound: r.int('num_round', 100, { min: 1 }),
    objective,
    numClass,
    maxDepth,
    maxLeaves,
    growPolicy,
    eta: r.number('eta', r.number('learning_rate', 0.3, { min: 0, minExclusive: true }), {
      min: 0,
      minExclusive: true,
    }),
    gamma: r.number('gamma', 0, { min: 0 }),
    minChildWeight: r.number('min_child_weight', 1, { min: 0 }),
    maxDeltaStep: r.number('max_delta_step', objective === 'count:poisson' ? 0.7 : 0, { min: 0 }),
    subsample: r.number('subsample', 1, { min: 0, minExclusive: true, max: 1 }),
    colsampleBytree: r.number('colsample_bytree', 1, { min: 0, minExclusive: true, max: 1 }),
    lambda: r.number('lambda', r.number('reg_lambda', 1, { min: 0 }), { min: 0 }),
    alpha: r.number('alpha', r.number('reg_alpha', 0, { min: 0 }), { min: 0 }),
    maxBin: r.int('max_bin', 256, { min: 2, max: 256 }),
    scalePosWeight: r.number('scale_pos_weight', 1, { min: 0, minExclusive: true }),
    baseScore,
    seed: r.int('seed', 0),
    nthread: r.int('nthread', 1, { min: 1, max: 256 }),
    evalMetric,
    earlyStoppingRounds: es,
  };
  // Touch baseMargin once so an out-of-domain base score fails here, not as NaN margins later.
  if (!Number.isFinite(baseMargin(objective, baseScore)))
    throw new MlInputError('base_score', 'gives an infinite margin');
  return p;
}
