import { describe, expect, it } from 'vitest';
import { MetricCollector } from './metric-extraction.js';

describe('MetricCollector', () => {
  it("reads XGBoost's per-round lines as train:rmse and validation:auc series with iterations", () => {
    const c = new MetricCollector();
    c.line('[0]\ttrain-rmse:0.51234\tvalidation-auc:0.81');
    c.line('[1]\ttrain-rmse:0.40000\tvalidation-auc:0.875');
    c.line('some other line [2] train-rmse:9');
    const s = c.series();
    expect(s['train:rmse']!.map((p) => [p.Iteration, p.Value])).toEqual([
      [0, 0.51234],
      [1, 0.4],
    ]);
    expect(s['validation:auc']!.at(-1)!.Value).toBe(0.875);
  });

  it("reads SageMaker's #quality_metric lines", () => {
    const c = new MetricCollector();
    c.line('#quality_metric: host=algo-1, epoch=2, train mse <loss>=0.25');
    c.line('#quality_metric: host=algo-1, test msd <loss>=1.5e-1');
    expect(c.series()['train:mse']).toEqual([expect.objectContaining({ Value: 0.25, Iteration: 2 })]);
    expect(c.series()['test:msd']![0]!.Value).toBe(0.15);
  });

  it('applies MetricDefinitions, including Python named groups and the #011 form of tabs', () => {
    const c = new MetricCollector(
      [
        { Name: 'loss', Regex: 'loss=(?P<v>[0-9.]+);' },
        {
          Name: 'validation:error',
          Regex: '.*\\[[0-9]+\\].*#011validation-error:([-+]?[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?).*',
        },
      ],
      { builtIns: false },
    );
    c.line('epoch 1 loss=0.75; acc=0.5');
    c.line('epoch 2 loss=abc;');
    c.line('[3]\ttrain-error:0.2\tvalidation-error:0.125');
    expect(c.series().loss!.map((p) => p.Value)).toEqual([0.75]);
    expect(c.series()['validation:error']!.map((p) => p.Value)).toEqual([0.125]);
    expect(c.series()['train:error']).toBeUndefined();
  });
});
