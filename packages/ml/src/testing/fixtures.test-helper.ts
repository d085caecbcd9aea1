import { readFileSync } from 'node:fs';
import { DenseMatrix } from '../data/matrix.js';

const FIX = new URL('../../fixtures/', import.meta.url);

/** Reads a committed fixture (made by fixtures/make_fixtures.py). Test-only helper. */
export function readFixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, FIX), 'utf8')) as T;
}

export interface FixtureSplit {
  x: DenseMatrix;
  y: Float32Array;
}

/** A train/test fixture data set; `null` cells become NaN (missing). */
export function readFixtureSplits(name: string): { train: FixtureSplit; test: FixtureSplit } {
  const j = readFixture<{
    features: number;
    train: { x: (number | null)[]; y: number[] };
    test: { x: (number | null)[]; y: number[] };
  }>(`data-${name}.json`);
  const part = (p: { x: (number | null)[]; y: number[] }): FixtureSplit => ({
    x: DenseMatrix.fromRowMajor(
      p.x.map((v) => (v === null ? Number.NaN : v)),
      p.y.length,
      j.features,
    ),
    y: Float32Array.from(p.y),
  });
  return { train: part(j.train), test: part(j.test) };
}
