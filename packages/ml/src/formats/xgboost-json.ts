import { MlInputError } from '../core/errors.js';
import { GbdtModel } from '../gbdt/model.js';
import { OBJECTIVES, type ObjectiveName } from '../gbdt/objectives.js';
import type { GbdtTree } from '../gbdt/tree.js';

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
