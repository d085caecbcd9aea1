import { RandomCutForest } from '../anomaly/rcf.js';
import { KMeansModel } from '../cluster/kmeans.js';
import { MlInputError } from '../core/errors.js';
import { PcaModel } from '../decomposition/pca.js';
import { GbdtModel } from '../gbdt/model.js';
import { LinearModel } from '../linear/model.js';
import { KnnModel } from '../neighbors/knn.js';

/** Any model this package can save and load. */
export type AnyModel = GbdtModel | LinearModel | KMeansModel | PcaModel | KnnModel | RandomCutForest;

/**
 * Serialises a model to Trainyard's versioned JSON (`{ format: 'trainyard-ml', kind, version, ... }`).
 * Numbers are written with full precision, so `loadModel(saveModel(m))` predicts bit-identically.
 *
 * @example
 * await writeFile('model.json', saveModel(model));
 * const back = loadModel(await readFile('model.json', 'utf8'));
 */
export function saveModel(model: AnyModel): string {
  return JSON.stringify(model.toJSON());
}

/** Parses a document written by `saveModel`; the `kind` field picks the model class. */
export function loadModel(json: string): AnyModel {
  let doc: { format?: string; kind?: string; version?: number };
  try {
    doc = JSON.parse(json);
  } catch (e) {
    throw new MlInputError('model', `is not valid JSON (${(e as Error).message})`);
  }
  if (doc?.format !== 'trainyard-ml') throw new MlInputError('model.format', 'is not trainyard-ml');
  // biome-ignore lint/suspicious/noExplicitAny: each fromJSON validates its own document
  const d = doc as any;
  switch (doc.kind) {
    case 'gbdt':
      return GbdtModel.fromJSON(d);
    case 'linear':
      return LinearModel.fromJSON(d);
    case 'kmeans':
      return KMeansModel.fromJSON(d);
    case 'pca':
      return PcaModel.fromJSON(d);
    case 'knn':
      return KnnModel.fromJSON(d);
    case 'rcf':
      return RandomCutForest.fromJSON(d);
    default:
      throw new MlInputError('model.kind', `unknown kind ${JSON.stringify(doc.kind)}`);
  }
}
