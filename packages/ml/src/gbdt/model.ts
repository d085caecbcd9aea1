import { MlInputError } from '../core/errors.js';
import type { DenseMatrix } from '../data/matrix.js';
import { CompiledForest, type GbdtPredictPool } from './forest.js';
import { baseMargin, isMulticlass, OBJECTIVES, type ObjectiveName, transformMargins } from './objectives.js';
import type { GbdtTree } from './tree.js';

export type ImportanceType = 'weight' | 'gain' | 'cover' | 'total_gain' | 'total_cover';

/** Per-round validation scores and the early-stopping outcome of a training run. */
export interface GbdtTrainingInfo {
  evals: Record<string, number[]>;
  bestIteration: number;
  bestScore: number | undefined;
  threads: number;
}

const FORMAT_VERSION = 1;

/** Batch prediction options. */
export interface GbdtPredictOptions {
  /** Threads to spread the rows over (`nodePredictPool(n)` from `./node-workers.js`); same results as without. */
  pool?: GbdtPredictPool;
}

/**
 * A trained gradient-boosted tree ensemble: `numOutputs` margins per row (one per class for multiclass),
 * each the base margin plus the sum of that output's trees, mapped to predictions by the objective.
 * Produced by `trainGbdt` or imported from XGBoost JSON.
 *
 * @example
 * const m = trainGbdt({ x, y }, { objective: 'binary:logistic', num_round: 50 });
 * const p = m.predict(xTest);              // Float64Array of P(y = 1)
 * const one = m.predictRow([0.3, 1.2, NaN]); // fast path, reuses no state
 */
export class GbdtModel {
  readonly objective: ObjectiveName;
  readonly numClass: number;
  readonly numFeatures: number;
  readonly baseScore: number;
  readonly trees: readonly GbdtTree[];
  readonly treeClass: Int32Array;
  info: GbdtTrainingInfo | undefined;
  private forestCache: CompiledForest | undefined;
  private readonly margin0: number;
  private readonly rowBuf: Float64Array;

  constructor(args: {
    objective: ObjectiveName;
    numClass: number;
    numFeatures: number;
    baseScore: number;
    trees: readonly GbdtTree[];
    treeClass: ArrayLike<number>;
    baseMarginOverride?: number;
  }) {
    if (!OBJECTIVES.includes(args.objective))
      throw new MlInputError('objective', `unsupported ${args.objective}`);
    this.objective = args.objective;
    this.numClass = args.numClass;
    this.numFeatures = args.numFeatures;
    this.baseScore = args.baseScore;
    this.trees = args.trees;
    this.treeClass = Int32Array.from(args.treeClass);
    this.margin0 = args.baseMarginOverride ?? baseMargin(args.objective, args.baseScore);
    this.rowBuf = new Float64Array(this.numOutputs);
  }

  /** Margins per row: 1, or `numClass` for multiclass objectives. */
  get numOutputs(): number {
    return isMulticlass(this.objective) ? this.numClass : 1;
  }

  /** The margin every row starts from (base_score mapped through the objective's link). */
  get baseMargin(): number {
    return this.margin0;
  }

  private get forest(): CompiledForest {
    this.forestCache ??= new CompiledForest(this.trees, this.treeClass, this.numOutputs, this.numFeatures);
    return this.forestCache;
  }

  private checkX(x: DenseMatrix): void {
    if (x.cols !== this.numFeatures) {
      throw new MlInputError('x', `has ${x.cols} columns, the model was trained on ${this.numFeatures}`);
    }
  }

  /** Raw margins, row-major `n × numOutputs`. */
  predictMargin(x: DenseMatrix, options: GbdtPredictOptions = {}): Float64Array {
    this.checkX(x);
    const out = new Float64Array(x.rows * this.numOutputs).fill(this.margin0);
    this.forest.addMargins(x, out, this.forest.numTrees, options.pool);
    return out;
  }

  /**
   * Predictions: P(y=1) for binary:logistic and reg:logistic, row-major class probabilities (`n × numClass`)
   * for multi:softprob, the class index for multi:softmax, the mean for count:poisson, else the value.
   */
  predict(x: DenseMatrix, options: GbdtPredictOptions = {}): Float64Array {
    const m = this.predictMargin(x, options);
    return transformMargins(this.objective, m, x.rows, this.numOutputs);
  }

  /**
   * Single-row prediction without allocation when `out` is given. Returns `out` (length `numOutputs`
   * for multi:softprob, else 1) holding the same values `predict` gives for that row.
   */
  predictRow(row: ArrayLike<number>, out: Float64Array = new Float64Array(this.outputWidth)): Float64Array {
    if (row.length !== this.numFeatures) {
      throw new MlInputError('row', `has ${row.length} values, the model was trained on ${this.numFeatures}`);
    }
    const m = this.rowBuf;
    m.fill(this.margin0);
    this.forest.addRowMargins(row, m);
    const o = this.objective;
    if (o === 'binary:logistic' || o === 'reg:logistic') out[0] = 1 / (1 + Math.exp(-m[0]!));
    else if (o === 'count:poisson') out[0] = Math.exp(m[0]!);
    else if (o === 'multi:softprob' || o === 'multi:softmax') {
      const K = this.numClass;
      let mx = m[0]!;
      let arg = 0;
      for (let k = 1; k < K; k++) {
        if (m[k]! > mx) {
          mx = m[k]!;
          arg = k;
        }
      }
      if (o === 'multi:softmax') out[0] = arg;
      else {
        let s = 0;
        for (let k = 0; k < K; k++) s += out[k] = Math.exp(m[k]! - mx);
        for (let k = 0; k < K; k++) out[k] = out[k]! / s;
      }
    } else out[0] = m[0]!;
    return out;
  }

  /** Values per row returned by `predict` (numClass for multi:softprob, else 1). */
  get outputWidth(): number {
    return this.objective === 'multi:softprob' ? this.numClass : 1;
  }

  /**
   * Feature importance as XGBoost's `get_score`: 'weight' = number of splits on the feature, 'gain' and
   * 'cover' = average over those splits, 'total_*' = sums. Features never used get 0.
   */
  featureImportance(type: ImportanceType = 'gain'): Float64Array {
    const d = this.numFeatures;
    const count = new Float64Array(d);
    const gain = new Float64Array(d);
    const cover = new Float64Array(d);
    for (const t of this.trees) {
      for (let j = 0; j < t.left.length; j++) {
        if (t.left[j]! < 0) continue;
        const f = t.feature[j]!;
        count[f]!++;
        gain[f]! += t.gain[j]!;
        cover[f]! += t.cover[j]!;
      }
    }
    if (type === 'weight') return count;
    if (type === 'total_gain') return gain;
    if (type === 'total_cover') return cover;
    const src = type === 'gain' ? gain : cover;
    const out = new Float64Array(d);
    for (let f = 0; f < d; f++) out[f] = count[f]! > 0 ? src[f]! / count[f]! : 0;
    return out;
  }

  /** Versioned JSON-safe representation; `GbdtModel.fromJSON(m.toJSON())` predicts bit-identically. */
  toJSON(): GbdtModelJson {
    return {
      format: 'trainyard-ml',
      kind: 'gbdt',
      version: FORMAT_VERSION,
      objective: this.objective,
      numClass: this.numClass,
      numFeatures: this.numFeatures,
      baseScore: this.baseScore,
      baseMargin: this.margin0,
      treeClass: Array.from(this.treeClass),
      trees: this.trees.map((t) => ({
        left: Array.from(t.left),
        right: Array.from(t.right),
        feature: Array.from(t.feature),
        threshold: Array.from(t.threshold),
        defaultLeft: Array.from(t.defaultLeft),
        value: Array.from(t.value),
        gain: Array.from(t.gain),
        cover: Array.from(t.cover),
      })),
    };
  }

  static fromJSON(j: GbdtModelJson): GbdtModel {
    if (j?.format !== 'trainyard-ml' || j.kind !== 'gbdt')
      throw new MlInputError('model', 'is not a Trainyard GBDT model');
    if (j.version > FORMAT_VERSION)
      throw new MlInputError('model.version', `${j.version} is newer than supported ${FORMAT_VERSION}`);
    const trees = j.trees.map((t) => ({
      left: Int32Array.from(t.left),
      right: Int32Array.from(t.right),
      feature: Int32Array.from(t.feature),
      threshold: Float32Array.from(t.threshold),
      defaultLeft: Uint8Array.from(t.defaultLeft),
      value: Float64Array.from(t.value),
      gain: Float64Array.from(t.gain),
      cover: Float64Array.from(t.cover),
    }));
    return new GbdtModel({
      objective: j.objective,
      numClass: j.numClass,
      numFeatures: j.numFeatures,
      baseScore: j.baseScore,
      trees,
      treeClass: j.treeClass,
      baseMarginOverride: j.baseMargin,
    });
  }
}

export interface GbdtModelJson {
  format: 'trainyard-ml';
  kind: 'gbdt';
  version: number;
  objective: ObjectiveName;
  numClass: number;
  numFeatures: number;
  baseScore: number;
  baseMargin: number;
  treeClass: number[];
  trees: {
    left: number[];
    right: number[];
    feature: number[];
    threshold: number[];
    defaultLeft: number[];
    value: number[];
    gain: number[];
    cover: number[];
  }[];
}
