import { describe, expect, it } from 'vitest';
import { ChannelDataError, channelFormat, parseLabelFirstCsv, parseLibsvm } from './training-data.js';

const encode = (s: string) => new TextEncoder().encode(s);

describe('parseLabelFirstCsv', () => {
  it('gives every cell the float32 that Number() then float32 rounding gives, whatever its digits', () => {
    let s = 99;
    const rnd = () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s / 2147483648;
    };
    const cells: string[] = [];
    for (let i = 0; i < 30_000; i++) {
      const v = (rnd() - 0.5) * 10 ** Math.floor(rnd() * 8 - 3);
      const form = i % 4;
      cells.push(
        form === 0
          ? String(Math.fround(v))
          : form === 1
            ? v.toFixed(6)
            : form === 2
              ? v.toExponential(5)
              : String(v),
      );
    }
    const lines: string[] = [];
    for (let i = 0; i < cells.length; i += 6) lines.push(cells.slice(i, i + 6).join(','));
    const parsed = parseLabelFirstCsv(encode(`${lines.join('\r\n')}\r\n`));
    expect(parsed).toMatchObject({ rows: 5000, cols: 6 });
    const expected = Float32Array.from(cells, Number);
    expect(Array.from(parsed.rowMajor)).toEqual(Array.from(expected));
  });

  it('reads empty cells as missing and names the line of a cell that is not a number', () => {
    expect(Array.from(parseLabelFirstCsv(encode('1,,2\n0,3,\n')).rowMajor)).toEqual([
      1,
      Number.NaN,
      2,
      0,
      3,
      Number.NaN,
    ]);
    expect(() => parseLabelFirstCsv(encode('1,2\n0,x1\n'), 'train.csv')).toThrow(
      /train.csv line 2: "x1" is not a number/,
    );
    expect(() => parseLabelFirstCsv(encode('1,2,3\n0,1\n'))).toThrow(ChannelDataError);
  });
});

describe('parseLibsvm and channelFormat', () => {
  it('reads LIBSVM with absent features as missing', () => {
    const d = parseLibsvm('1 0:0.5 2:3\n0 1:2\n');
    expect(Array.from(d.y)).toEqual([1, 0]);
    expect(d.x.cols).toBe(3);
    expect([d.x.get(0, 0), d.x.get(0, 1), d.x.get(1, 1), d.x.get(1, 2)]).toEqual([
      0.5,
      Number.NaN,
      2,
      Number.NaN,
    ]);
  });

  it('takes the format from ContentType, else file names, else the content', () => {
    expect(channelFormat('text/csv; label_size=0', ['a'], '')).toBe('csv');
    expect(channelFormat(undefined, ['a.parquet'], '')).toBe('parquet');
    expect(channelFormat(undefined, ['data'], '1 3:0.5 7:1\n')).toBe('libsvm');
    expect(channelFormat(undefined, ['data'], '1,0.5,2\n')).toBe('csv');
    expect(() => channelFormat('application/json', ['a'], '')).toThrow(
      /ContentType "application\/json" is not supported/,
    );
  });
});
