import { MlInputError } from '../core/errors.js';
import type { DenseMatrix } from '../data/matrix.js';

export type PredictorType = 'binary_classifier' | 'multiclass_classifier' | 'regressor';

const FORMAT_VERSION = 1;

/**
 * A trained linear model on raw (un-normalised) features: `score_k = bias[k] + Σ_j x_j · weights[j * K + k]`
 * with K = 1 for binary classifiers and regressors and K = num_classes for multiclass. Normalisation
 * learned during training is folded into the weights, so exports are a plain affine map.
 */
export class LinearModel {
  readonly predictorType: PredictorType;
  readonly numFeatures: number;
  readonly numOutputs: number;
  /** Row-major `numFeatures × numOutputs`. */
  readonly weights: Float64Array;
  readonly bias: Float64Array;
  info: { epochs: number; trainLoss: number[]; validationLoss: number[]; bestEpoch: number } | undefined;

  constructor(predictorType: PredictorType, numFeatures: number, weights: Float64Array, bias: Float64Array) {
    this.predictorType = predictorType;
    this.numFeatures = numFeatures;
    this.numOutputs = bias.length;
    if (weights.length !== numFeatures * bias.length)
      throw new MlInputError('weights', 'shape does not match');
    this.weights = weights;
    this.bias = bias;
  }

  /** Raw scores, row-major `n × numOutputs`. */
  decisionFunction(x: DenseMatrix): Float64Array {
    if (x.cols !== this.numFeatures) {
      throw new MlInputError('x', `has ${x.cols} columns, the model was trained on ${this.numFeatures}`);
    }
    const n = x.rows;
    const K = this.numOutputs;
    const out = new Float64Array(n * K);
    for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) out[i * K + k] = this.bias[k]!;
    for (let j = 0; j < this.numFeatures; j++) {
      const col = x.column(j);
      for (let k = 0; k < K; k++) {
        const w = this.weights[j * K + k]!;
        if (w === 0) continue;
        for (let i = 0; i < n; i++) out[i * K + k]! += w * col[i]!;
      }
    }
    return out;
  }

  /** P(y=1) for binary, row-major class probabilities for multiclass, the value for regressors. */
  predict(x: DenseMatrix): Float64Array {
    const s = this.decisionFunction(x);
    const n = x.rows;
    const K = this.numOutputs;
    if (this.predictorType === 'binary_classifier') {
      for (let i = 0; i < n; i++) s[i] = 1 / (1 + Math.exp(-s[i]!));
    } else if (this.predictorType === 'multiclass_classifier') {
      for (let i = 0; i < n; i++) {
        let mx = Number.NEGATIVE_INFINITY;
        for (let k = 0; k < K; k++) mx = Math.max(mx, s[i * K + k]!);
        let z = 0;
        for (let k = 0; k < K; k++) z += s[i * K + k] = Math.exp(s[i * K + k]! - mx);
        for (let k = 0; k < K; k++) s[i * K + k]! /= z;
      }
    }
    return s;
  }

  /** Predicted class (0/1 at threshold 0.5, or argmax) for classifiers; the value for regressors. */
  predictLabel(x: DenseMatrix): Float64Array {
    const p = this.predict(x);
    if (this.predictorType === 'regressor') return p;
    const n = x.rows;
    const out = new Float64Array(n);
    if (this.predictorType === 'binary_classifier') {
      for (let i = 0; i < n; i++) out[i] = p[i]! > 0.5 ? 1 : 0;
      return out;
    }
    const K = this.numOutputs;
    for (let i = 0; i < n; i++) {
      let b = 0;
      for (let k = 1; k < K; k++) if (p[i * K + k]! > p[i * K + b]!) b = k;
      out[i] = b;
    }
    return out;
  }

  toJSON() {
    return {
      format: 'trainyard-ml' as const,
      kind: 'linear' as const,
      version: FORMAT_VERSION,
      predictorType: this.predictorType,
      numFeatures: this.numFeatures,
      weights: Array.from(this.weights),
      bias: Array.from(this.bias),
    };
  }

  static fromJSON(j: ReturnType<LinearModel['toJSON']>): LinearModel {
    if (j?.format !== 'trainyard-ml' || j.kind !== 'linear')
      throw new MlInputError('model', 'is not a Trainyard linear model');
    if (j.version > FORMAT_VERSION)
      throw new MlInputError('model.version', `${j.version} is newer than supported`);
    return new LinearModel(
      j.predictorType,
      j.numFeatures,
      Float64Array.from(j.weights),
      Float64Array.from(j.bias),
    );
  }
}
