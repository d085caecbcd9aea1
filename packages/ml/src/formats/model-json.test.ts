import { describe, expect, it } from 'vitest';
import { RandomCutForest } from '../anomaly/rcf.js';
import { trainKMeans } from '../cluster/kmeans.js';
import { MlInputError } from '../core/errors.js';
import { trainPca } from '../decomposition/pca.js';
import { trainGbdt } from '../gbdt/gbdt.js';
import type { GbdtModel } from '../gbdt/model.js';
import { trainLinearLearner } from '../linear/linear-learner.js';
import { KnnModel } from '../neighbors/knn.js';
import { readFixture, readFixtureSplits } from '../testing/fixtures.test-helper.js';
import { loadModel, saveModel } from './model-json.js';
import { importXgboostJson } from './xgboost-json.js';

describe('saveModel/loadModel', () => {
  const { train, test } = readFixtureSplits('linear-binary');
  it('round-trips every model kind with bit-identical predictions', () => {
    const g = trainGbdt(train, { objective: 'binary:logistic', num_round: 5 });
    expect((loadModel(saveModel(g)) as GbdtModel).predict(test.x)).toEqual(g.predict(test.x));
    const l = trainLinearLearner(train, { predictor_type: 'binary_classifier', optimizer: 'lbfgs' });
    expect((loadModel(saveModel(l)) as typeof l).predict(test.x)).toEqual(l.predict(test.x));
    const k = trainKMeans(train.x, { k: 3 });
    expect((loadModel(saveModel(k)) as typeof k).predict(test.x)).toEqual(k.predict(test.x));
    const p = trainPca(train.x, { num_components: 2 });
    expect((loadModel(saveModel(p)) as typeof p).transform(test.x)).toEqual(p.transform(test.x));
    const n = KnnModel.fit(train, { k: 3, predictor_type: 'classifier', sample_size: 200 });
    expect((loadModel(saveModel(n)) as typeof n).predict(test.x)).toEqual(n.predict(test.x));
    const r = RandomCutForest.fit(train.x, { num_trees: 3 });
    expect((loadModel(saveModel(r)) as typeof r).score(test.x)).toEqual(r.score(test.x));
  });

  it('round-trips an imported XGBoost model', () => {
    const m = importXgboostJson(readFixture('xgb-multiclass.model.json'));
    const mc = readFixtureSplits('multiclass');
    expect((loadModel(saveModel(m)) as GbdtModel).predict(mc.test.x)).toEqual(m.predict(mc.test.x));
  });

  it('rejects foreign or future documents', () => {
    expect(() => loadModel('{"format":"other"}')).toThrow(MlInputError);
    expect(() => loadModel('{"format":"trainyard-ml","kind":"svm"}')).toThrow(/unknown kind/);
    const g = JSON.parse(saveModel(trainGbdt(train, { num_round: 1 })));
    g.version = 99;
    expect(() => loadModel(JSON.stringify(g))).toThrow(/newer/);
  });
});
