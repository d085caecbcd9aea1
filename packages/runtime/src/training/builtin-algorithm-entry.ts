import { readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EvaluationReport } from '@trainyard/contracts/training-jobs';
import {
  type IntermediatePoint,
  judgeTrial,
  parseStoppingReference,
  type StoppingReference,
  stopReason,
  stopRuleHyperParameter,
} from '@trainyard/core/tuning/tuning-strategies';
import { RandomCutForest } from '@trainyard/ml/anomaly/rcf';
import { type KMeansModel, trainKMeans } from '@trainyard/ml/cluster/kmeans';
import { MlInputError } from '@trainyard/ml/core/errors';
import type { DenseMatrix } from '@trainyard/ml/data/matrix';
import { trainPca } from '@trainyard/ml/decomposition/pca';
import { saveModel } from '@trainyard/ml/formats/model-json';
import { exportXgboostJson, importXgboostModel } from '@trainyard/ml/formats/xgboost-json';
import { trainGbdt } from '@trainyard/ml/gbdt/gbdt';
import type { GbdtModel } from '@trainyard/ml/gbdt/model';
import { nodeWorkerFactory } from '@trainyard/ml/gbdt/node-workers';
import { trainLinearLearner } from '@trainyard/ml/linear/linear-learner';
import { KnnModel } from '@trainyard/ml/neighbors/knn';
import { stoppedEarlyFile } from '../jobs/opt-ml-layout.js';
import { classificationReport, regressionReport } from './evaluation-report.js';
import { type ChannelData, ChannelDataError, readChannel } from './training-data.js';

/**
 * The built-in algorithms, run in the job's own process (apps/trainyard's `entries/builtin-algorithm`
 * calls `runBuiltInAlgorithm`) with SageMaker's training contract under `TRAINYARD_OPT_ML` (hyperparameters.json,
 * inputdataconfig.json, input/data/<channel>/), it trains with @trainyard/ml, prints per-iteration
 * metrics in SageMaker's formats, writes the model to `model/` and, given a validation or test channel,
 * `output/data/evaluation-report.json`. A refusal goes to `output/failure` (exit 1).
 */

interface Contract {
  root: string;
  hps: Record<string, string>;
  /** A tuner's trial: the objective metric (`_tuning_objective_metric`) and its stop rule. */
  tuning?: { metric: string; reference?: StoppingReference };
  channels: Record<string, { ContentType?: string }>;
  numCpus: number;
  host: string;
}

async function readContract(root: string): Promise<Contract> {
  const config = join(root, 'input', 'config');
  const hps = JSON.parse(await readFile(join(config, 'hyperparameters.json'), 'utf8')) as Record<
    string,
    string
  >;
  const channels = JSON.parse(await readFile(join(config, 'inputdataconfig.json'), 'utf8'));
  const resource = JSON.parse(await readFile(join(config, 'resourceconfig.json'), 'utf8'));
  // SageMaker's own keys are not the algorithm's.
  const own = Object.fromEntries(
    Object.entries(hps).filter(
      ([k]) =>
        !k.startsWith('sagemaker_') && k !== '_tuning_objective_metric' && k !== stopRuleHyperParameter,
    ),
  );
  const metric = hps._tuning_objective_metric;
  const rule = hps[stopRuleHyperParameter];
  let reference: StoppingReference | undefined;
  if (rule !== undefined) {
    try {
      reference = parseStoppingReference(rule);
    } catch (error) {
      throw new MlInputError(stopRuleHyperParameter, (error as Error).message);
    }
  }
  return {
    root,
    hps: own,
    ...(metric ? { tuning: { metric, ...(reference ? { reference } : {}) } } : {}),
    channels,
    numCpus: Math.max(1, Number(process.env.SM_NUM_CPUS ?? '1') || 1),
    host: resource.current_host ?? 'algo-1',
  };
}

async function channel(c: Contract, name: string, unlabeled = false): Promise<ChannelData | undefined> {
  if (!(name in c.channels)) return undefined;
  const dir = join(c.root, 'input', 'data', name);
  const labelColumn = process.env[`TRAINYARD_CHANNEL_${name.toUpperCase()}_LABEL`];
  const started = Date.now();
  const data = await readChannel(dir, c.channels[name]!.ContentType, {
    unlabeled,
    ...(labelColumn ? { labelColumn } : {}),
  });
  log(`channel ${name}: ${data.x.rows} rows x ${data.x.cols} features (${Date.now() - started} ms)`);
  return data;
}

function log(message: string): void {
  process.stdout.write(`[${new Date().toISOString()}] INFO: ${message}\n`);
}

/** SageMaker's `#quality_metric` line, which its built-ins print and the platform records. */
function qualityMetric(
  host: string,
  channelName: string,
  metric: string,
  value: number,
  epoch?: number,
): void {
  const at = epoch === undefined ? '' : `epoch=${epoch}, `;
  process.stdout.write(`#quality_metric: host=${host}, ${at}${channelName} ${metric} <score>=${value}\n`);
}

async function writeReport(c: Contract, report: EvaluationReport): Promise<void> {
  const dir = join(c.root, 'output', 'data');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'evaluation-report.json'), JSON.stringify(report));
  if (report.type === 'classification') {
    log(
      `evaluation on ${report.channel}: accuracy ${report.accuracy.toFixed(5)}${report.roc ? `, auc ${report.roc.auc.toFixed(5)}` : ''}`,
    );
  } else {
    log(
      `evaluation on ${report.channel}: rmse ${report.rmse.toFixed(5)}, mae ${report.mae.toFixed(5)}, r2 ${report.r2.toFixed(5)}`,
    );
  }
}

function gbdtReport(model: GbdtModel, name: string, data: ChannelData): EvaluationReport {
  const pred = model.predict(data.x);
  switch (model.objective) {
    case 'binary:logistic': {
      const labels = Float64Array.from(pred, (p) => (p >= 0.5 ? 1 : 0));
      return classificationReport(name, data.y, labels, pred, 0.5);
    }
    case 'multi:softprob': {
      const K = model.numClass;
      const labels = new Float64Array(data.x.rows);
      for (let i = 0; i < labels.length; i++) {
        let best = 0;
        for (let k = 1; k < K; k++) if (pred[i * K + k]! > pred[i * K + best]!) best = k;
        labels[i] = best;
      }
      return classificationReport(name, data.y, labels);
    }
    case 'multi:softmax':
      return classificationReport(name, data.y, pred);
    default:
      return regressionReport(name, data.y, pred);
  }
}

async function xgboost(c: Contract): Promise<void> {
  const hps = { ...c.hps };
  if (hps.booster !== undefined && hps.booster !== 'gbtree') {
    throw new MlInputError('booster', `only gbtree is implemented, got "${hps.booster}"`);
  }
  hps.nthread ??= String(c.numCpus);
  const train = (await channel(c, 'train'))!;
  const validation = await channel(c, 'validation');
  const checkpointDir = process.env.TRAINYARD_CHECKPOINT_DIR;
  const initialModel = checkpointDir ? await latestCheckpoint(checkpointDir) : undefined;
  const every = Number(hps.checkpoint_frequency ?? '10');
  if (!(Number.isInteger(every) && every >= 1)) {
    throw new MlInputError(
      'checkpoint_frequency',
      `must be a positive integer, got "${hps.checkpoint_frequency}"`,
    );
  }
  // A tuner's trial judges its objective each round against the reference it was launched with,
  // and stops itself where the tuner would (the model keeps the rounds done).
  const reference = c.tuning?.reference;
  const [objectiveChannel, objectiveMetric] = c.tuning?.metric.split(':') ?? [];
  const curve: IntermediatePoint[] = [];
  let stoppedEarly: string | undefined;
  const started = Date.now();
  const model = trainGbdt(train, hps, {
    ...(validation ? { validation } : {}),
    ...(initialModel ? { initialModel } : {}),
    ...(checkpointDir
      ? {
          checkpointEvery: every,
          onCheckpoint: (m: GbdtModel, rounds: number) => writeCheckpoint(checkpointDir, m, rounds),
        }
      : {}),
    workerFactory: nodeWorkerFactory,
    evalTrain: true,
    onRound: (round, scores, trainScores) => {
      const parts = [`[${round}]`];
      for (const [m, v] of Object.entries(trainScores ?? {})) parts.push(`train-${m}:${v.toFixed(5)}`);
      for (const [m, v] of Object.entries(scores)) parts.push(`validation-${m}:${v.toFixed(5)}`);
      process.stdout.write(`${parts.join('\t')}\n`);
      if (!reference) return undefined;
      // The value as printed (and as the tuner reads it from the log).
      const value = (objectiveChannel === 'train' ? trainScores : scores)?.[objectiveMetric ?? ''];
      if (value === undefined) return undefined;
      curve.push({ step: round, value: Number(value.toFixed(5)) });
      const verdict = judgeTrial(reference, curve);
      if (!verdict) return undefined;
      stoppedEarly = stopReason(verdict);
      log(`stopping early after round ${round}: ${stoppedEarly}`);
      return 'stop';
    },
  });
  const info = model.info;
  log(
    `trained ${model.trees.length} trees in ${Date.now() - started} ms on ${info?.threads ?? 1} thread(s)${
      hps.early_stopping_rounds && info ? `; best iteration ${info.bestIteration}` : ''
    }`,
  );
  await writeFile(join(c.root, 'model', 'xgboost-model'), exportXgboostJson(model));
  const evalName = validation ? 'validation' : 'test' in c.channels ? 'test' : undefined;
  const evalData = validation ?? (evalName ? await channel(c, evalName) : undefined);
  if (evalName && evalData) await writeReport(c, gbdtReport(model, evalName, evalData));
  if (stoppedEarly) {
    await mkdir(join(c.root, 'output'), { recursive: true });
    await writeFile(join(c.root, 'output', stoppedEarlyFile), stoppedEarly);
  }
}

const checkpointName = /^xgboost-checkpoint\.(\d+)$/;

/** The checkpoint with the most rounds in `dir` (SageMaker XGBoost's `xgboost-checkpoint.<round>` files). */
async function latestCheckpoint(dir: string): Promise<GbdtModel | undefined> {
  const rounds = readdirSync(dir)
    .map((name) => Number(checkpointName.exec(name)?.[1] ?? Number.NaN))
    .filter((n) => Number.isInteger(n))
    .sort((a, b) => b - a);
  if (rounds.length === 0) return undefined;
  const model = importXgboostModel(await readFile(join(dir, `xgboost-checkpoint.${rounds[0]}`)));
  log(`resuming from checkpoint xgboost-checkpoint.${rounds[0]} (${model.trees.length} trees)`);
  return model;
}

/** Writes `xgboost-checkpoint.<rounds>` atomically and keeps the two newest. */
function writeCheckpoint(dir: string, model: GbdtModel, rounds: number): void {
  const tmp = join(dir, `.tmp-xgboost-checkpoint.${rounds}`);
  writeFileSync(tmp, exportXgboostJson(model));
  renameSync(tmp, join(dir, `xgboost-checkpoint.${rounds}`));
  const old = readdirSync(dir)
    .map((name) => Number(checkpointName.exec(name)?.[1] ?? Number.NaN))
    .filter((n) => Number.isInteger(n) && n < rounds)
    .sort((a, b) => b - a)
    .slice(1);
  for (const n of old) rmSync(join(dir, `xgboost-checkpoint.${n}`), { force: true });
  log(`checkpoint: xgboost-checkpoint.${rounds}`);
}

async function linearLearner(c: Contract): Promise<void> {
  const train = (await channel(c, 'train'))!;
  const validation = await channel(c, 'validation');
  const model = trainLinearLearner(train, c.hps, validation ? { validation } : {});
  await writeFile(join(c.root, 'model', 'model.json'), saveModel(model));
  const evalName = 'test' in c.channels ? 'test' : validation ? 'validation' : undefined;
  const data = evalName === 'test' ? await channel(c, 'test') : validation;
  for (const [name, d] of [['train', train], ...(evalName && data ? [[evalName, data]] : [])] as [
    string,
    ChannelData,
  ][]) {
    const pred = model.predict(d.x);
    if (model.predictorType === 'regressor') {
      const report = regressionReport(name, d.y, pred);
      if (report.type === 'regression') {
        qualityMetric(c.host, name, 'mse', report.rmse ** 2);
        qualityMetric(c.host, name, 'absolute_loss', report.mae);
      }
      if (name !== 'train') await writeReport(c, report);
    } else {
      const labels = model.predictLabel(d.x);
      const report = classificationReport(
        name,
        d.y,
        labels,
        model.predictorType === 'binary_classifier' ? pred : undefined,
        model.predictorType === 'binary_classifier' ? 0.5 : undefined,
      );
      if (report.type === 'classification') {
        const metric =
          model.predictorType === 'binary_classifier'
            ? 'binary_classification_accuracy'
            : 'multiclass_accuracy';
        qualityMetric(c.host, name, metric, report.accuracy);
        if (report.roc) qualityMetric(c.host, name, 'roc_auc_score', report.roc.auc);
      }
      if (name !== 'train') await writeReport(c, report);
    }
  }
}

function msd(model: KMeansModel, x: DenseMatrix): number {
  const assignment = model.predict(x);
  const d = x.cols;
  let total = 0;
  for (let i = 0; i < x.rows; i++) {
    const k = assignment[i]!;
    for (let j = 0; j < d; j++) {
      const diff = x.get(i, j) - model.centroids[k * d + j]!;
      total += diff * diff;
    }
  }
  return x.rows === 0 ? 0 : total / x.rows;
}

async function kmeans(c: Contract): Promise<void> {
  const train = (await channel(c, 'train', true))!;
  const model = trainKMeans(train.x, c.hps);
  await writeFile(join(c.root, 'model', 'model.json'), saveModel(model));
  qualityMetric(c.host, 'train', 'msd', msd(model, train.x));
  const test = await channel(c, 'test', true);
  if (test) qualityMetric(c.host, 'test', 'msd', msd(model, test.x));
}

async function pca(c: Contract): Promise<void> {
  const train = (await channel(c, 'train', true))!;
  const model = trainPca(train.x, c.hps);
  await writeFile(join(c.root, 'model', 'model.json'), saveModel(model));
  log(`pca: ${model.toJSON().components?.length ?? 0} component values written`);
}

async function knn(c: Contract): Promise<void> {
  const train = (await channel(c, 'train'))!;
  const model = KnnModel.fit(train, c.hps);
  await writeFile(join(c.root, 'model', 'model.json'), saveModel(model));
  const test = await channel(c, 'test');
  if (test) {
    const pred = model.predict(test.x);
    if (model.predictorType === 'classifier') {
      const report = classificationReport('test', test.y, pred);
      if (report.type === 'classification') qualityMetric(c.host, 'test', 'accuracy', report.accuracy);
      await writeReport(c, report);
    } else {
      const report = regressionReport('test', test.y, pred);
      if (report.type === 'regression') qualityMetric(c.host, 'test', 'mse', report.rmse ** 2);
      await writeReport(c, report);
    }
  }
}

async function randomCutForest(c: Contract): Promise<void> {
  const train = (await channel(c, 'train', true))!;
  const model = RandomCutForest.fit(train.x, c.hps);
  await writeFile(join(c.root, 'model', 'model.json'), saveModel(model));
  const scores = model.score(train.x);
  let mean = 0;
  for (const s of scores) mean += s / scores.length;
  log(`random cut forest: mean anomaly score on train ${mean.toFixed(5)}`);
}

const algorithms: Record<string, (c: Contract) => Promise<void>> = {
  xgboost,
  'linear-learner': linearLearner,
  kmeans,
  pca,
  knn,
  randomcutforest: randomCutForest,
};

/** Runs `algorithm` against the /opt/ml folder at `root`; refusals go to output/failure. */
export async function runBuiltInAlgorithm(algorithm: string, root: string): Promise<number> {
  try {
    const run = algorithms[algorithm];
    if (!run) throw new MlInputError('algorithm', `unknown built-in "${algorithm}"`);
    const contract = await readContract(root);
    log(`${algorithm}: hyperparameters ${JSON.stringify(contract.hps)}`);
    await run(contract);
    return 0;
  } catch (error) {
    const message =
      error instanceof MlInputError
        ? `ClientError: hyperparameter or data problem: ${error.message}`
        : error instanceof ChannelDataError
          ? `ClientError: ${error.message}`
          : `AlgorithmError: ${(error as Error).stack ?? String(error)}`;
    process.stderr.write(`${message}\n`);
    await mkdir(join(root, 'output'), { recursive: true });
    await writeFile(join(root, 'output', 'failure'), message.slice(0, 1024));
    return 1;
  }
}
