import { MlInputError } from '../core/errors.js';
import type { GbdtModel } from '../gbdt/model.js';
import type { LinearModel } from '../linear/model.js';
import { ProtoWriter } from './protobuf.js';

// ONNX enum values (onnx.proto).
const FLOAT = 1;
const INT64 = 7;
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;
const ATTR_STRINGS = 8;

type Attr =
  | number
  | string
  | { floats: ArrayLike<number> }
  | { ints: ArrayLike<number> }
  | { strings: string[] };

function attribute(name: string, v: Attr): ProtoWriter {
  const a = new ProtoWriter().string(1, name);
  if (typeof v === 'number') {
    if (Number.isInteger(v)) a.int(20, ATTR_INT).int(3, v);
    else a.int(20, ATTR_FLOAT).float(2, v);
  } else if (typeof v === 'string') a.int(20, ATTR_STRING).bytes(4, new TextEncoder().encode(v));
  else if ('floats' in v) a.int(20, ATTR_FLOATS).packedFloats(7, v.floats);
  else if ('ints' in v) a.int(20, ATTR_INTS).packedInts(8, v.ints);
  else {
    a.int(20, ATTR_STRINGS);
    for (const s of v.strings) a.bytes(9, new TextEncoder().encode(s));
  }
  return a;
}

function node(
  op: string,
  domain: string,
  inputs: string[],
  outputs: string[],
  attrs: Record<string, Attr>,
): ProtoWriter {
  const n = new ProtoWriter();
  for (const i of inputs) n.string(1, i);
  for (const o of outputs) n.string(2, o);
  n.string(3, `${op}_${outputs[0]}`);
  n.string(4, op);
  if (domain) n.string(7, domain);
  for (const [k, v] of Object.entries(attrs)) n.message(5, attribute(k, v));
  return n;
}

/** ValueInfo for a tensor whose first dimension is the batch ('N'). */
function valueInfo(name: string, elem: number, dims: (number | 'N')[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims)
    shape.message(1, typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
  const tensor = new ProtoWriter().int(1, elem).message(2, shape);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensor));
}

function modelProto(
  nodes: ProtoWriter[],
  inputs: ProtoWriter[],
  outputs: ProtoWriter[],
  name: string,
): Uint8Array {
  const g = new ProtoWriter();
  for (const n of nodes) g.message(1, n);
  g.string(2, name);
  for (const i of inputs) g.message(11, i);
  for (const o of outputs) g.message(12, o);
  return new ProtoWriter()
    .int(1, 8) // IR version 8
    .string(2, 'trainyard-ml')
    .string(3, '0.1.0')
    .message(8, new ProtoWriter().string(1, '').int(2, 17))
    .message(8, new ProtoWriter().string(1, 'ai.onnx.ml').int(2, 3))
    .message(7, g)
    .finish();
}

/**
 * Exports a GBDT model to ONNX (ai.onnx.ml opset 3). Input `input`: float [N, numFeatures], NaN = missing.
 * binary:logistic and multi:* become a TreeEnsembleClassifier with outputs `label` (int64 [N]) and
 * `probabilities` (float [N, classes]); regression objectives become a TreeEnsembleRegressor with output
 * `variable` (float [N, 1]), followed by Sigmoid (reg:logistic) or Exp (count:poisson).
 *
 * @example
 * await writeFile('model.onnx', exportGbdtOnnx(model));
 */
export function exportGbdtOnnx(model: GbdtModel): Uint8Array {
  const K = model.numOutputs;
  const nodes = {
    treeids: [] as number[],
    nodeids: [] as number[],
    featureids: [] as number[],
    modes: [] as string[],
    values: [] as number[],
    truenodeids: [] as number[],
    falsenodeids: [] as number[],
    missingTrue: [] as number[],
  };
  const targets = {
    treeids: [] as number[],
    nodeids: [] as number[],
    ids: [] as number[],
    weights: [] as number[],
  };
  model.trees.forEach((t, ti) => {
    for (let j = 0; j < t.left.length; j++) {
      const leaf = t.left[j]! < 0;
      nodes.treeids.push(ti);
      nodes.nodeids.push(j);
      nodes.featureids.push(leaf ? 0 : t.feature[j]!);
      nodes.modes.push(leaf ? 'LEAF' : 'BRANCH_LT');
      nodes.values.push(leaf ? 0 : t.threshold[j]!);
      nodes.truenodeids.push(leaf ? 0 : t.left[j]!);
      nodes.falsenodeids.push(leaf ? 0 : t.right[j]!);
      nodes.missingTrue.push(leaf ? 0 : t.defaultLeft[j]!);
      if (leaf) {
        targets.treeids.push(ti);
        targets.nodeids.push(j);
        targets.ids.push(model.treeClass[ti]!);
        targets.weights.push(t.value[j]!);
      }
    }
  });
  const common: Record<string, Attr> = {
    nodes_treeids: { ints: nodes.treeids },
    nodes_nodeids: { ints: nodes.nodeids },
    nodes_featureids: { ints: nodes.featureids },
    nodes_modes: { strings: nodes.modes },
    nodes_values: { floats: nodes.values },
    nodes_truenodeids: { ints: nodes.truenodeids },
    nodes_falsenodeids: { ints: nodes.falsenodeids },
    nodes_missing_value_tracks_true: { ints: nodes.missingTrue },
  };
  const d = model.numFeatures;
  const input = valueInfo('input', FLOAT, ['N', d]);
  const o = model.objective;
  if (o === 'binary:logistic' || o === 'multi:softprob' || o === 'multi:softmax') {
    const binary = o === 'binary:logistic';
    const classes = binary ? 2 : K;
    const n = node('TreeEnsembleClassifier', 'ai.onnx.ml', ['input'], ['label', 'probabilities'], {
      ...common,
      class_treeids: { ints: targets.treeids },
      class_nodeids: { ints: targets.nodeids },
      class_ids: { ints: targets.ids },
      class_weights: { floats: targets.weights },
      classlabels_int64s: { ints: Array.from({ length: classes }, (_, k) => k) },
      base_values: { floats: new Array(K).fill(model.baseMargin) },
      post_transform: binary ? 'LOGISTIC' : 'SOFTMAX',
    });
    return modelProto(
      [n],
      [input],
      [valueInfo('label', INT64, ['N']), valueInfo('probabilities', FLOAT, ['N', classes])],
      'trainyard_gbdt',
    );
  }
  const reg = node(
    'TreeEnsembleRegressor',
    'ai.onnx.ml',
    ['input'],
    [o === 'reg:squarederror' || o === 'reg:absoluteerror' ? 'variable' : 'margin'],
    {
      ...common,
      n_targets: 1,
      target_treeids: { ints: targets.treeids },
      target_nodeids: { ints: targets.nodeids },
      target_ids: { ints: targets.ids },
      target_weights: { floats: targets.weights },
      base_values: { floats: [model.baseMargin] },
      post_transform: 'NONE',
    },
  );
  const out = [valueInfo('variable', FLOAT, ['N', 1])];
  if (o === 'reg:logistic')
    return modelProto(
      [reg, node('Sigmoid', '', ['margin'], ['variable'], {})],
      [input],
      out,
      'trainyard_gbdt',
    );
  if (o === 'count:poisson')
    return modelProto([reg, node('Exp', '', ['margin'], ['variable'], {})], [input], out, 'trainyard_gbdt');
  return modelProto([reg], [input], out, 'trainyard_gbdt');
}

/**
 * Exports a linear learner model to ONNX: LinearClassifier (outputs `label` int64 [N], `probabilities`
 * float [N, classes]) for classifiers, LinearRegressor (output `variable` float [N, 1]) for regressors.
 */
export function exportLinearOnnx(model: LinearModel): Uint8Array {
  const d = model.numFeatures;
  const K = model.numOutputs;
  // ONNX wants coefficients class-major: [class][feature].
  const coef = new Float64Array(K * d);
  for (let j = 0; j < d; j++) for (let k = 0; k < K; k++) coef[k * d + j] = model.weights[j * K + k]!;
  const input = valueInfo('input', FLOAT, ['N', d]);
  if (model.predictorType === 'regressor') {
    const n = node('LinearRegressor', 'ai.onnx.ml', ['input'], ['variable'], {
      coefficients: { floats: coef },
      intercepts: { floats: model.bias },
      targets: 1,
    });
    return modelProto([n], [input], [valueInfo('variable', FLOAT, ['N', 1])], 'trainyard_linear');
  }
  const binary = model.predictorType === 'binary_classifier';
  if (!binary && K < 2) throw new MlInputError('model', 'multiclass model with fewer than 2 outputs');
  const classes = binary ? 2 : K;
  const n = node('LinearClassifier', 'ai.onnx.ml', ['input'], ['label', 'probabilities'], {
    coefficients: { floats: coef },
    intercepts: { floats: model.bias },
    classlabels_ints: { ints: Array.from({ length: classes }, (_, k) => k) },
    post_transform: binary ? 'LOGISTIC' : 'SOFTMAX',
  });
  return modelProto(
    [n],
    [input],
    [valueInfo('label', INT64, ['N']), valueInfo('probabilities', FLOAT, ['N', classes])],
    'trainyard_linear',
  );
}
