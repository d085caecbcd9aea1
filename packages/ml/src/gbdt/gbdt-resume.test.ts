import { describe, expect, it } from 'vitest';
import { Random } from '../core/random.js';
import { DenseMatrix } from '../data/matrix.js';
import { trainGbdt } from './gbdt.js';
import type { GbdtModel } from './model.js';

function data(n: number) {
  const rng = new Random(5);
  const rows: number[][] = [];
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = [rng.next(), rng.next(), rng.next()];
    rows.push(r);
    y[i] = r[0]! * 3 - r[1]! + (rng.next() - 0.5) * 0.2;
  }
  return { x: DenseMatrix.fromRows(rows), y };
}

describe('trainGbdt checkpoints', () => {
  it('checkpoints every N rounds, and a run resumed from a checkpoint ends with the uninterrupted model', () => {
    const train = data(500);
    const hps = { num_round: '25', max_depth: '3', eta: '0.2' };
    const full = trainGbdt(train, hps);
    const checkpoints: [number, GbdtModel][] = [];
    trainGbdt(train, hps, {
      checkpointEvery: 10,
      onCheckpoint: (m, rounds) => checkpoints.push([rounds, m]),
    });
    expect(checkpoints.map(([r, m]) => [r, m.trees.length])).toEqual([
      [10, 10],
      [20, 20],
    ]);
    const rounds: number[] = [];
    const resumed = trainGbdt(train, hps, {
      initialModel: checkpoints[0]![1],
      evalTrain: true,
      onRound: (round) => {
        rounds.push(round);
        return undefined;
      },
    });
    expect(rounds[0]).toBe(10);
    expect(resumed.trees.length).toBe(25);
    expect(Array.from(resumed.predict(train.x))).toEqual(Array.from(full.predict(train.x)));
    // A callback that says 'stop' ends training at that round, keeping the rounds done.
    const stopped = trainGbdt(train, hps, {
      evalTrain: true,
      onRound: (round) => (round === 6 ? 'stop' : undefined),
    });
    expect(stopped.trees.length).toBe(7);
    const seven = trainGbdt(train, { ...hps, num_round: '7' });
    expect(Array.from(stopped.predict(train.x))).toEqual(Array.from(seven.predict(train.x)));
  });

  it('refuses a checkpoint of another shape', () => {
    const train = data(100);
    const other = trainGbdt(train, { num_round: '2', objective: 'reg:squarederror' });
    const labels = Float32Array.from(train.y, (v) => (v > 1 ? 1 : 0));
    expect(() =>
      trainGbdt(
        { x: train.x, y: labels },
        { num_round: '4', objective: 'binary:logistic' },
        { initialModel: other },
      ),
    ).toThrow(/initialModel/);
  });
});
