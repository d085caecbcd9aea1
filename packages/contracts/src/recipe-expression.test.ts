import { describe, expect, it } from 'vitest';
import { parseRecipeExpression } from './recipe-expression.js';
import { Recipe } from './recipes.js';

describe('recipe expressions', () => {
  it.each([
    "age >= 18 AND country <> 'XX'",
    'income / 1000',
    'NOT (a IS NULL) OR b IS NOT DISTINCT FROM c',
    "CASE WHEN age < 18 THEN 'minor' WHEN age < 65 THEN 'adult' ELSE 'senior' END",
    'CASE plan WHEN 1 THEN 2 END',
    "x BETWEEN 1 AND 2 AND y NOT IN (1, 2, 3) AND lower(name) LIKE 'a%'",
    'coalesce(TRY_CAST(score AS DOUBLE), 0.5e-3) * -2',
    '"weird ""col"""::VARCHAR || \'!\'',
    'round(log10(abs(x) + 1), 2) // 1 % 3',
    '"select" + 1',
  ])('accepts %s', (text) => {
    expect(() => parseRecipeExpression(text)).not.toThrow();
  });

  it.each([
    ["(select content from read_text('/etc/hostname'))", /subqueries are not allowed/],
    ["read_blob('/data/master.key')", /function "read_blob" is not allowed/],
    ["read_text('/proc/1/environ')", /function "read_text" is not allowed/],
    ["getenv('HOME')", /function "getenv" is not allowed/],
    ["current_setting('temp_directory')", /function "current_setting" is not allowed/],
    ["1; ATTACH '/tmp/x.db'", /";" is not allowed/],
    ["1) TO '/tmp/x.csv'", /expected an operator or the end, found \)/],
    ['age -- comment', /comments are not allowed/],
    ['age /* c */', /comments are not allowed/],
    ['INSTALL httpfs', /INSTALL is not allowed/],
    ['x IN (SELECT 1)', /subqueries are not allowed/],
    ['EXISTS (SELECT 1)', /function "EXISTS" is not allowed/],
    ['count(*)', /function "count" is not allowed/],
    ['CAST(x AS MAP(VARCHAR, VARCHAR))', /expected a type/],
    ["'unterminated", /unterminated string literal/],
    ['t.col', /unexpected character "."/],
    ['$$ x $$', /unexpected character "\$"/],
    ['1abc', /malformed number/],
  ])('refuses %s', (text, message) => {
    expect(() => parseRecipeExpression(text)).toThrow(message);
  });

  it('refuses deep nesting instead of overflowing the stack', () => {
    expect(() => parseRecipeExpression(`${'('.repeat(5000)}1${')'.repeat(5000)}`)).toThrow(/nesting deeper/);
    expect(() => parseRecipeExpression(`${'- '.repeat(5000)}1`)).toThrow(/nesting deeper/);
  });

  it('names the step and field when a recipe holds a refused expression', () => {
    const result = Recipe.safeParse({
      steps: [
        { op: 'select', columns: ['a'] },
        { op: 'derive', name: 'leak', expression: "(select * from read_text('/etc/hostname'))" },
      ],
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['steps', 1, 'expression']);
    expect(result.error?.issues[0]?.message).toMatch(/subqueries are not allowed/);
  });
});
