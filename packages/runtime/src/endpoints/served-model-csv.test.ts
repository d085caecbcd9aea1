import { describe, expect, it } from 'vitest';
import { BadInvocationError, parseCsv } from './served-model.js';

const rows = (body: string, width = 3) => {
  const x = parseCsv(body, width);
  return Array.from({ length: x.rows }, (_, i) => Array.from({ length: width }, (_, j) => x.get(i, j)));
};

describe('parseCsv', () => {
  it('reads a single row with or without its line end, CRLF and blanks around cells included', () => {
    expect(rows('1,2.5,-3')).toEqual([[1, 2.5, -3]]);
    expect(rows('1,2.5,-3\n')).toEqual([[1, 2.5, -3]]);
    expect(rows(' 1 , 2.5,-3\r\n\n')).toEqual([[1, 2.5, -3]]);
    expect(rows('0,0.0,-0')).toEqual([[0, 0, -0]]);
  });

  it('reads blank cells and nan as missing values', () => {
    const [row] = rows('1,, nan');
    expect(row?.[0]).toBe(1);
    expect(row?.[1]).toBeNaN();
    expect(row?.[2]).toBeNaN();
  });

  it('reads several rows, skipping blank lines', () => {
    expect(rows('1,2,3\n\n4,5,6\n')).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(rows('\n1,2,3')).toEqual([[1, 2, 3]]);
  });

  it('names the row and column of a bad cell, and a wrong width', () => {
    expect(() => rows('1,x,3')).toThrow(/row 1, column 2: "x" is not a number/);
    expect(() => rows('1,2,3\n4,5')).toThrow(/row 2 has 2 values; the model expects 3 features/);
    expect(() => rows('1,2')).toThrow(BadInvocationError);
    expect(() => rows('  \n')).toThrow(/empty/);
  });
});
