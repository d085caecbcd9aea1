import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '@trainyard/ml/formats/model-json';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { prepareTrainingLayout } from '../jobs/opt-ml-layout.js';
import { runBuiltInAlgorithm } from './builtin-algorithm-entry.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Lays out /opt/ml with `channels` (name → CSV text) and runs the built-in; returns its stdout lines. */
async function train(
  algorithm: string,
  hyperParameters: Record<string, string>,
  channels: Record<string, { csv: string; contentType?: string }>,
): Promise<{ root: string; code: number; lines: string[] }> {
  const root = mkdtempSync(join(tmpdir(), `builtin-${algorithm}-`));
  dirs.push(root);
  const layout = await prepareTrainingLayout(root, {
    jobName: 'j',
    jobArn: 'arn',
    hyperParameters,
    channels: Object.entries(channels).map(([name, c]) => ({
      name,
      contentType: c.contentType ?? 'text/csv',
    })),
    instanceType: 'ml.m5.large',
    vcpus: 2,
    gpus: 0,
  });
  for (const [name, c] of Object.entries(channels))
    writeFileSync(join(layout.channelDirs[name]!, 'data.csv'), c.csv);
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
  try {
    const code = await runBuiltInAlgorithm(algorithm, root);
    return { root, code, lines };
  } finally {
    spy.mockRestore();
  }
}

function csv(n: number, label: (x: number[]) => number | undefined, seed = 1): string {
  let s = seed;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const x = Array.from({ length: 3 }, () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return Math.round((s / 2147483648) * 1000) / 100;
    });
    const y = label(x);
    out.push((y === undefined ? x : [y, ...x]).join(','));
  }
  return `${out.join('\n')}\n`;
}

describe('built-in algorithm entry', () => {
  it('linear-learner prints #quality_metric lines and writes model.json and a test evaluation report', async () => {
    const label = (x: number[]) => (x[0]! + x[1]! > 10 ? 1 : 0);
    const { root, code, lines } = await train(
      'linear-learner',
      { predictor_type: 'binary_classifier', optimizer: 'lbfgs' },
      { train: { csv: csv(300, label) }, test: { csv: csv(100, label, 9) } },
    );
    expect(code, lines.join('\n')).toBe(0);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^#quality_metric: host=algo-1, test binary_classification_accuracy <score>=(1|0\.\d+)$/,
      ),
    );
    expect(loadModel(readFileSync(join(root, 'model', 'model.json'), 'utf8')).constructor.name).toBe(
      'LinearModel',
    );
    const report = JSON.parse(readFileSync(join(root, 'output', 'data', 'evaluation-report.json'), 'utf8'));
    expect(report).toMatchObject({ type: 'classification', channel: 'test', rows: 100 });
    expect(report.accuracy).toBeGreaterThan(0.8);
  });

  it('k-means reads label-less CSV and reports train:msd; pca, knn and randomcutforest write their models', async () => {
    const km = await train('kmeans', { k: '3' }, { train: { csv: csv(200, () => undefined) } });
    expect(km.code).toBe(0);
    expect(km.lines).toContainEqual(
      expect.stringMatching(/^#quality_metric: host=algo-1, train msd <score>=\d/),
    );
    for (const [algorithm, hps, label] of [
      ['pca', { num_components: '2' }, () => undefined],
      [
        'knn',
        { k: '3', predictor_type: 'classifier', sample_size: '200' },
        (x: number[]) => (x[0]! > 5 ? 1 : 0),
      ],
      ['randomcutforest', { num_trees: '50', num_samples_per_tree: '64' }, () => undefined],
    ] as const) {
      const run = await train(algorithm, hps, { train: { csv: csv(200, label) } });
      expect(run.code, algorithm).toBe(0);
      expect(readFileSync(join(run.root, 'model', 'model.json'), 'utf8')).toContain('trainyard-ml');
    }
  });

  it('fails with output/failure naming a bad hyperparameter value or a non-numeric cell', async () => {
    const bad = await train('xgboost', { num_round: 'ten' }, { train: { csv: csv(50, (x) => x[0]) } });
    expect(bad.code).toBe(1);
    expect(readFileSync(join(bad.root, 'output', 'failure'), 'utf8')).toMatch(/^ClientError: .*num_round/);
    const text = await train('xgboost', { num_round: '3' }, { train: { csv: '1,2,3\n0,abc,4\n' } });
    expect(readFileSync(join(text.root, 'output', 'failure'), 'utf8')).toMatch(
      /line 2: "abc" is not a number/,
    );
  });

  it('xgboost judges each round against its _tuning_stop_rule and stops itself there, model of the rounds kept', async () => {
    const label = (x: number[]) => (x[0]! + x[1]! > 10 ? 1 : 0);
    const channels = { train: { csv: csv(300, label) }, validation: { csv: csv(100, label, 9) } };
    const hps = { objective: 'binary:logistic', num_round: '20', eta: '0.3', eval_metric: 'logloss' };
    // Completed trials' median logloss at rounds 0..19 was 0.1: this trial is worse from round 0 on,
    // except that the reference only names rounds 3 and 4.
    const rule = JSON.stringify({
      rule: 'median',
      direction: 'Minimize',
      medians: [
        [3, 0.1],
        [4, 0.1],
      ],
    });
    const run = await train(
      'xgboost',
      { ...hps, _tuning_objective_metric: 'validation:logloss', _tuning_stop_rule: rule },
      channels,
    );
    expect(run.code, run.lines.join('\n')).toBe(0);
    const rounds = run.lines.filter((l) => /^\[\d+\]\t/.test(l));
    expect(rounds).toHaveLength(4);
    const reason = readFileSync(join(run.root, 'output', 'stopped-early'), 'utf8');
    expect(reason).toMatch(
      /^median rule: running average [\d.]+ at step 3 is worse than the median 0\.1 of completed trials$/,
    );
    expect(readFileSync(join(run.root, 'model', 'xgboost-model'), 'utf8')).toContain('"num_trees":"4"');
    // A trial that stays on the good side runs every round and writes no note.
    const good = JSON.stringify({ rule: 'median', direction: 'Minimize', medians: [[3, 5]] });
    const kept = await train(
      'xgboost',
      { ...hps, _tuning_objective_metric: 'validation:logloss', _tuning_stop_rule: good },
      channels,
    );
    expect(kept.lines.filter((l) => /^\[\d+\]\t/.test(l))).toHaveLength(20);
    expect(() => readFileSync(join(kept.root, 'output', 'stopped-early'))).toThrow();
    // A malformed rule is refused naming it.
    const bad = await train(
      'xgboost',
      { ...hps, _tuning_objective_metric: 'validation:logloss', _tuning_stop_rule: '{"rule":"median"}' },
      channels,
    );
    expect(bad.code).toBe(1);
    expect(readFileSync(join(bad.root, 'output', 'failure'), 'utf8')).toMatch(
      /^ClientError: .*_tuning_stop_rule/,
    );
  });
});
