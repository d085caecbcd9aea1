import { MlInputError } from '../core/errors.js';
import { GbdtModel } from '../gbdt/model.js';
import { OBJECTIVES, type ObjectiveName } from '../gbdt/objectives.js';
import type { GbdtTree } from '../gbdt/tree.js';
import { decodeUbjson, looksLikeUbjson } from './ubjson.js';

interface XgbTreeJson {
  left_children: number[];
  right_children: number[];
  split_indices: number[];
  split_conditions: number[];
  default_left: (number | boolean)[];
  loss_changes?: number[];
  sum_hessian?: number[];
  split_type?: number[];
}

/**
 * Imports an XGBoost JSON model (what `Booster.save_model('model.json')` writes, XGBoost 1.x/2.x `gbtree`
 * with numeric splits) so that models trained by SageMaker's XGBoost container can be served here.
 * Predictions match XGBoost's to float32 rounding.
 *
 * @example
 * const model = importXgboostJson(await readFile('model.json', 'utf8'));
 * model.predict(DenseMatrix.fromRows([[0.1, 2, NaN]]));
 */
export function importXgboostJson(source: string | object): GbdtModel {
  let doc: unknown;
  try {
    doc = typeof source === 'string' ? JSON.parse(source) : source;
  } catch (e) {
    throw new MlInputError('model', `is not valid JSON (${(e as Error).message})`);
  }
  // biome-ignore lint/suspicious/noExplicitAny: untyped external document, every field is checked below
  const learner = (doc as any)?.learner;
  if (!learner?.gradient_booster)
    throw new MlInputError('model', 'is not an XGBoost JSON model (no learner.gradient_booster)');
  const gb = learner.gradient_booster;
  if (gb.name !== 'gbtree')
    throw new MlInputError('model.booster', `only gbtree is supported, got ${JSON.stringify(gb.name)}`);
  const objName = learner.objective?.name as string;
  if (!(OBJECTIVES as readonly string[]).includes(objName)) {
    throw new MlInputError('model.objective', `unsupported objective ${JSON.stringify(objName)}`);
  }
  const objective = objName as ObjectiveName;
  const mp = learner.learner_model_param ?? {};
  const baseScore = Number.parseFloat(mp.base_score);
  const numFeatures = Number.parseInt(mp.num_feature, 10);
  const numClass = Math.max(1, Number.parseInt(mp.num_class ?? '0', 10) || 1);
  if (!Number.isFinite(baseScore))
    throw new MlInputError('model.base_score', `is not a number: ${mp.base_score}`);
  if (!(numFeatures > 0))
    throw new MlInputError('model.num_feature', `is not a positive integer: ${mp.num_feature}`);
  const model = gb.model;
  const treesJson: XgbTreeJson[] = model?.trees;
  if (!Array.isArray(treesJson)) throw new MlInputError('model.trees', 'is missing');
  const treeInfo: number[] = model.tree_info ?? new Array(treesJson.length).fill(0);
  if (Number.parseInt(model.gbtree_model_param?.num_parallel_tree ?? '1', 10) !== 1) {
    throw new MlInputError(
      'model.num_parallel_tree',
      'random-forest boosters (num_parallel_tree > 1) are not supported',
    );
  }
  const trees = treesJson.map((t, k) => convertTree(t, k, numFeatures));
  return new GbdtModel({ objective, numClass, numFeatures, baseScore, trees, treeClass: treeInfo });
}

function convertTree(t: XgbTreeJson, k: number, numFeatures: number): GbdtTree {
  const m = t.left_children?.length ?? 0;
  if (m === 0) throw new MlInputError(`model.trees[${k}]`, 'has no nodes');
  if (t.split_type?.some((s) => s !== 0)) {
    throw new MlInputError(`model.trees[${k}]`, 'has categorical splits, which are not supported');
  }
  const tree: GbdtTree = {
    left: new Int32Array(m),
    right: new Int32Array(m),
    feature: new Int32Array(m),
    threshold: new Float32Array(m),
    defaultLeft: new Uint8Array(m),
    value: new Float64Array(m),
    gain: new Float64Array(m),
    cover: new Float64Array(m),
  };
  for (let j = 0; j < m; j++) {
    const l = t.left_children[j]!;
    const leaf = l === -1;
    const f = t.split_indices[j]!;
    if (!leaf && (f < 0 || f >= numFeatures)) {
      throw new MlInputError(`model.trees[${k}]`, `node ${j} splits on feature ${f} of ${numFeatures}`);
    }
    tree.left[j] = leaf ? -1 : l;
    tree.right[j] = leaf ? -1 : t.right_children[j]!;
    tree.feature[j] = leaf ? -1 : f;
    // Leaves keep their value in split_conditions; XGBoost stores it as float32.
    tree.threshold[j] = leaf ? 0 : t.split_conditions[j]!;
    tree.value[j] = leaf ? Math.fround(t.split_conditions[j]!) : 0;
    tree.defaultLeft[j] = t.default_left[j] ? 1 : 0;
    tree.gain[j] = leaf ? 0 : (t.loss_changes?.[j] ?? 0);
    tree.cover[j] = t.sum_hessian?.[j] ?? 0;
  }
  return tree;
}

/**
 * Imports the bytes of an XGBoost model file as `Booster.load_model` reads a file without an
 * extension (SageMaker's `xgboost-model`): JSON when it starts with `{"`, UBJSON otherwise when it
 * starts with `{`. XGBoost's deprecated binary format (`binf`) is refused with how to convert it.
 *
 * @example
 * const model = importXgboostModel(await readFile('xgboost-model'));
 */
export function importXgboostModel(bytes: Uint8Array): GbdtModel {
  let start = 0;
  while (start < bytes.length && (bytes[start] === 0x20 || bytes[start] === 0x0a || bytes[start] === 0x0d))
    start++;
  if (bytes[start] === 0x7b && bytes[start + 1] !== undefined && !looksLikeUbjson(bytes.subarray(start))) {
    return importXgboostJson(new TextDecoder().decode(bytes));
  }
  if (looksLikeUbjson(bytes)) return importXgboostJson(decodeUbjson(bytes) as object);
  if (bytes[0] === 0x62 && bytes[1] === 0x69 && bytes[2] === 0x6e && bytes[3] === 0x66) {
    throw new MlInputError(
      'model',
      "is in XGBoost's deprecated binary format; load it with xgboost and save_model('xgboost-model.json') (or .ubj), then import that",
    );
  }
  throw new MlInputError('model', 'is neither XGBoost JSON nor UBJSON');
}

const objectiveParams: Record<ObjectiveName, (model: GbdtModel) => Record<string, unknown>> = {
  'binary:logistic': () => ({ reg_loss_param: { scale_pos_weight: '1' } }),
  'reg:logistic': () => ({ reg_loss_param: { scale_pos_weight: '1' } }),
  'reg:squarederror': () => ({ reg_loss_param: { scale_pos_weight: '1' } }),
  'reg:absoluteerror': () => ({}),
  'count:poisson': () => ({ poisson_regression_param: { max_delta_step: '0.699999988' } }),
  'multi:softprob': (m) => ({ softmax_multiclass_param: { num_class: String(m.numClass) } }),
  'multi:softmax': (m) => ({ softmax_multiclass_param: { num_class: String(m.numClass) } }),
};

/** XGBoost writes float32 values; this keeps the text short and exact for a float32. */
function f32(v: number): number {
  return Number(Math.fround(v).toPrecision(9));
}

/**
 * XGBoost's JSON reader types numbers by their text: `0` is an Integer and refused where a float
 * is expected, so float arrays are written with a decimal point. They pass through JSON.stringify
 * as placeholders and are spliced in afterwards.
 */
class FloatArray {
  constructor(readonly values: number[]) {}
  text(): string {
    return `[${this.values.map((v) => (Number.isInteger(v) ? v.toFixed(1) : String(v))).join(',')}]`;
  }
}

function stringifyWithFloats(doc: unknown): string {
  const floats: FloatArray[] = [];
  const text = JSON.stringify(doc, (_key, value) => {
    if (value instanceof FloatArray) {
      floats.push(value);
      return `@@float${floats.length - 1}@@`;
    }
    return value;
  });
  return text.replace(/"@@float(\d+)@@"/g, (_m, i: string) => floats[Number(i)]!.text());
}

/**
 * Writes a GBDT model as XGBoost 1.7's JSON model document, so `xgboost.Booster().load_model(path)`
 * (with or without a `.json` extension, as SageMaker's XGBoost container loads `xgboost-model`)
 * predicts what `model.predict` does, to float32 rounding.
 *
 * @example
 * await writeFile('model/xgboost-model', exportXgboostJson(trainGbdt(train, { num_round: 50 })));
 */
export function exportXgboostJson(model: GbdtModel): string {
  const trees = model.trees.map((t, id) => {
    const m = t.left.length;
    const parents = new Array<number>(m).fill(2147483647);
    for (let j = 0; j < m; j++) {
      if (t.left[j]! !== -1) {
        parents[t.left[j]!] = j;
        parents[t.right[j]!] = j;
      }
    }
    const leaf = (j: number) => t.left[j]! === -1;
    return {
      base_weights: new FloatArray(Array.from({ length: m }, (_, j) => (leaf(j) ? f32(t.value[j]!) : 0))),
      categories: [],
      categories_nodes: [],
      categories_segments: [],
      categories_sizes: [],
      default_left: Array.from(t.defaultLeft, (v, j) => (leaf(j) ? 0 : v)),
      id,
      left_children: Array.from(t.left),
      loss_changes: new FloatArray(Array.from({ length: m }, (_, j) => (leaf(j) ? 0 : f32(t.gain[j]!)))),
      parents,
      right_children: Array.from(t.right),
      split_conditions: new FloatArray(
        Array.from({ length: m }, (_, j) => f32(leaf(j) ? t.value[j]! : t.threshold[j]!)),
      ),
      split_indices: Array.from({ length: m }, (_, j) => (leaf(j) ? 0 : t.feature[j]!)),
      split_type: new Array<number>(m).fill(0),
      sum_hessian: new FloatArray(Array.from(t.cover, f32)),
      tree_param: {
        num_deleted: '0',
        num_feature: String(model.numFeatures),
        num_nodes: String(m),
        size_leaf_vector: '0',
      },
    };
  });
  const multi = model.objective === 'multi:softprob' || model.objective === 'multi:softmax';
  const rounds = model.trees.length / Math.max(1, model.numOutputs);
  const doc = {
    learner: {
      attributes: {
        best_iteration: String(model.info?.bestIteration ?? Math.max(0, rounds - 1)),
        best_ntree_limit: String(rounds),
      },
      feature_names: [],
      feature_types: [],
      gradient_booster: {
        model: {
          gbtree_model_param: {
            num_parallel_tree: '1',
            num_trees: String(model.trees.length),
            size_leaf_vector: '0',
          },
          tree_info: Array.from(model.treeClass),
          trees,
        },
        name: 'gbtree',
      },
      learner_model_param: {
        base_score: String(f32(model.baseScore)),
        boost_from_average: '1',
        num_class: multi ? String(model.numClass) : '0',
        num_feature: String(model.numFeatures),
        num_target: '1',
      },
      objective: { name: model.objective, ...objectiveParams[model.objective](model) },
    },
    version: [1, 7, 4],
  };
  return stringifyWithFloats(doc);
}
