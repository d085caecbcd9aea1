import { describe, expect, it } from 'vitest';
import { detectCsvLayout, spaceDelimited, splitCsvRecords } from './csv-layout.js';

const comma = { delimiter: ',', quote: '"', escape: '' };
const layoutOf = (text: string, given: { header?: boolean; skipRows?: number } = {}) =>
  detectCsvLayout(splitCsvRecords(text, comma, false), given);

describe('splitCsvRecords', () => {
  it('keeps quoted delimiters, doubled quotes and embedded newlines inside one field', () => {
    expect(splitCsvRecords('a,"b,c","say ""hi""\nthere"\r\n1,2,3\n', comma, false)).toEqual([
      ['a', 'b,c', 'say "hi"\nthere'],
      ['1', '2', '3'],
    ]);
  });

  it('drops a last record cut off by the sample', () => {
    expect(splitCsvRecords('a,b\n1,2\n3,', comma, true)).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });
});

describe('detectCsvLayout', () => {
  it('skips a line of counts and class names above header-less data (scikit-learn iris)', () => {
    expect(layoutOf('150,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,0\n4.9,3.0,1.4,0.2,0\n')).toEqual({
      skipRows: 1,
      header: false,
      width: 5,
    });
  });

  it('skips a mostly empty line of counts and takes the names below it as the header (Boston)', () => {
    const text = '3,2,,,\n"A","B","C","D","E"\n1,2,3,4,5\n5,6,7,8,9\n9,1,2,3,4\n';
    expect(layoutOf(text)).toEqual({ skipRows: 1, header: true, width: 5 });
  });

  it('skips a short first line of another width (breast cancer)', () => {
    expect(layoutOf('3,4,malignant,benign\n1,2,3,4,5,0\n6,7,8,9,1,1\n2,3,4,5,6,0\n')).toEqual({
      skipRows: 1,
      header: false,
      width: 6,
    });
  });

  it('reads a plain header above numbers, and keeps a data row with one missing value', () => {
    expect(layoutOf('name,age,score\nann,31,\nbob,,2.5\ncid,40,3\n')).toEqual({
      skipRows: 0,
      header: true,
      width: 3,
    });
    expect(layoutOf('1,,3\n4,5,6\n7,8,9\n')).toEqual({ skipRows: 0, header: undefined, width: 3 });
  });

  it("leaves all-text files to the sniffer and keeps the user's word", () => {
    expect(layoutOf('city,country\nparis,france\nrome,italy\n')).toEqual({
      skipRows: 0,
      header: undefined,
      width: 2,
    });
    expect(layoutOf('150,4,x\n1,2,3\n4,5,6\n', { header: false })).toEqual({
      skipRows: 0,
      header: false,
      width: 3,
    });
    expect(layoutOf('150,4,x\n1,2,3\n4,5,6\n', { skipRows: 0, header: true })).toEqual({
      skipRows: 0,
      header: true,
      width: 3,
    });
    expect(layoutOf('junk\na,b\n1,2\n3,4\n', { skipRows: 1 })).toEqual({
      skipRows: 1,
      header: true,
      width: 2,
    });
  });
});

describe('spaceDelimited', () => {
  it('recognises single-space separated columns (scikit-learn linnerud) and not prose', () => {
    expect(spaceDelimited('Chins Situps Jumps\n5 162 60\n2 110 60\n', false)).toBe(true);
    expect(spaceDelimited('a b\nc d e\n', false)).toBe(false);
    expect(spaceDelimited('single\n1\n', false)).toBe(false);
  });
});
