import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ColumnSchema, ColumnType } from '@trainyard/contracts/datasets';
import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import { ExpressionSyntaxError } from '@trainyard/contracts/recipe-expression';
import type {
  FittedRecipe,
  FittedStep,
  Recipe,
  RecipePreview,
  RecipeStep,
} from '@trainyard/contracts/recipes';
import { isNumericType, logicalTypeOf, storageTypeOf } from '@trainyard/core/data/column-types';
import type { RecipeOutput } from '@trainyard/core/ports/data-engine';
import { recipeExpressionSql } from './duckdb-expression.js';
import { describeQuery, queryOne, queryRows } from './duckdb-rows.js';
import { doubleLiteral, pathLiteral, quoteIdent, stringLiteral, valueLiteral } from './sql-literals.js';

type Column = { name: string; type: ColumnType };
type Params = Record<string, unknown>;
type MapEntry = { key: unknown; value: unknown };

/** The split of each row as its index in `splits`: partitioning on a small integer beats a string. */
const splitColumn = '__split';
const splits = ['train', 'validation', 'test'] as const;
/**
 * A hidden column carried through every step: the row's number in the input Parquet file, which
 * random and stratified splits hash. Keyed on the input row, a split does not depend on the
 * transformed values: those vary in their last bits between runs (DuckDB's parallel sums), and
 * hashing them needed every column computed again just to find the cut points.
 */
const rowColumn = '__trainyard_row';
const row = quoteIdent(rowColumn);

/** "sha256:<hex>" of a recipe's canonical JSON. */
export function recipeHash(recipe: Recipe): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(recipe)).digest('hex')}`;
}

/** Refuses, naming the field, any expression outside the recipe expression language. */
function checkExpressions(recipe: Recipe): void {
  for (const [index, step] of recipe.steps.entries()) {
    const field = step.op === 'filter' ? 'where' : step.op === 'derive' ? 'expression' : undefined;
    if (!field) continue;
    try {
      recipeExpressionSql(step.op === 'filter' ? step.where : (step as { expression: string }).expression);
    } catch (error) {
      if (error instanceof ExpressionSyntaxError) throw invalidArgument(fieldOf(index, field), error.message);
      throw error;
    }
  }
}

function fieldOf(index: number, name?: string): string {
  return `recipe.steps.${index}${name ? `.${name}` : ''}`;
}

function requireColumns(names: string[], columns: Column[], field: string): Column[] {
  return names.map((name) => {
    const column = columns.find((c) => c.name === name);
    if (!column) {
      throw invalidArgument(
        field,
        `column "${name}" does not exist at this step; columns: ${columns.map((c) => `"${c.name}"`).join(', ')}`,
      );
    }
    return column;
  });
}

function requireNumeric(columns: Column[], field: string, what: string): void {
  for (const c of columns) {
    if (!isNumericType(c.type))
      throw invalidArgument(field, `column "${c.name}" is ${c.type}; ${what} needs a numeric column`);
  }
}

function hashOf(seed: number, columns: Column[]): string {
  return `hash(${seed}::BIGINT, ${columns.map((c) => quoteIdent(c.name)).join(', ')})`;
}

/** An input row's seeded hash as an integer in [0, 1e9+7). */
function rowHash(seed: number): string {
  return `(hash(${seed}::BIGINT, ${row}) % 1000000007)`;
}

const maxStrata = 1000;

function stratifyColumn(
  step: Extract<RecipeStep, { op: 'split' }>,
  target: string | undefined,
): string | undefined {
  return step.column ?? (step.method === 'stratified' ? target : undefined);
}

/** Learns one step's parameters from the rows of `from`. */
async function fitStep(
  conn: DuckDBConnection,
  from: string,
  step: RecipeStep,
  columns: Column[],
  index: number,
  target: string | undefined,
): Promise<Params> {
  const field = fieldOf(index, 'columns');
  switch (step.op) {
    case 'impute': {
      const chosen = requireColumns(step.columns, columns, field);
      if (step.strategy === 'constant')
        return { values: Object.fromEntries(chosen.map((c) => [c.name, step.value])) };
      if (step.strategy === 'mode') {
        const values: Params = {};
        for (const c of chosen) {
          const q = quoteIdent(c.name);
          const row = await queryRows(
            conn,
            `SELECT ${q} AS v FROM ${from} WHERE ${q} IS NOT NULL GROUP BY ${q} ORDER BY count(*) DESC, ${q} LIMIT 1`,
          );
          values[c.name] = row[0]?.v ?? null;
        }
        return { values };
      }
      requireNumeric(chosen, field, step.strategy);
      const agg = (q: string) =>
        step.strategy === 'mean' ? `avg(CAST(${q} AS DOUBLE))` : `quantile_cont(CAST(${q} AS DOUBLE), 0.5)`;
      const row = await queryOne(
        conn,
        `SELECT ${chosen.map((c, i) => `${agg(quoteIdent(c.name))} AS "v${i}"`).join(', ')} FROM ${from}`,
      );
      return { values: Object.fromEntries(chosen.map((c, i) => [c.name, row[`v${i}`] ?? null])) };
    }
    case 'onehot':
    case 'ordinal': {
      const chosen = requireColumns(step.columns, columns, field);
      for (const c of chosen) {
        if (c.type === 'numeric' || c.type === 'datetime') {
          throw invalidArgument(
            field,
            `column "${c.name}" is ${c.type}; cast it to integer or categorical before encoding`,
          );
        }
      }
      const row = await queryOne(
        conn,
        `SELECT ${chosen.map((c, i) => `histogram(CAST(${quoteIdent(c.name)} AS VARCHAR)) AS "h${i}"`).join(', ')} FROM ${from}`,
      );
      const categories: Record<string, string[]> = {};
      chosen.forEach((c, i) => {
        let counts = ((row[`h${i}`] ?? []) as MapEntry[]).map((e) => ({
          value: String(e.key),
          n: Number(e.value),
        }));
        if (step.op === 'onehot') {
          counts = counts
            .sort((a, b) => b.n - a.n || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
            .slice(0, step.maxCategories);
        }
        categories[c.name] = counts.map((x) => x.value).sort();
      });
      return { categories };
    }
    case 'standardize':
    case 'minmax': {
      const chosen = requireColumns(step.columns, columns, field);
      requireNumeric(chosen, field, step.op);
      const [a, b] = step.op === 'standardize' ? ['avg', 'stddev_pop'] : ['min', 'max'];
      const row = await queryOne(
        conn,
        `SELECT ${chosen
          .map(
            (c, i) =>
              `${a}(CAST(${quoteIdent(c.name)} AS DOUBLE)) AS "a${i}", ${b}(CAST(${quoteIdent(c.name)} AS DOUBLE)) AS "b${i}"`,
          )
          .join(', ')} FROM ${from}`,
      );
      const [ka, kb] = step.op === 'standardize' ? ['mean', 'std'] : ['min', 'max'];
      return {
        [ka]: Object.fromEntries(chosen.map((c, i) => [c.name, row[`a${i}`] ?? null])),
        [kb]: Object.fromEntries(chosen.map((c, i) => [c.name, row[`b${i}`] ?? null])),
      };
    }
    case 'clip': {
      const chosen = requireColumns(step.columns, columns, field);
      requireNumeric(chosen, field, 'clip');
      if (
        step.min === undefined &&
        step.max === undefined &&
        step.lowerQuantile === undefined &&
        step.upperQuantile === undefined
      ) {
        throw invalidArgument(fieldOf(index), 'clip needs min, max, lowerQuantile or upperQuantile');
      }
      const parts: string[] = [];
      chosen.forEach((c, i) => {
        const x = `CAST(${quoteIdent(c.name)} AS DOUBLE)`;
        if (step.lowerQuantile !== undefined)
          parts.push(`quantile_cont(${x}, ${step.lowerQuantile}) AS "l${i}"`);
        if (step.upperQuantile !== undefined)
          parts.push(`quantile_cont(${x}, ${step.upperQuantile}) AS "u${i}"`);
      });
      const row = parts.length > 0 ? await queryOne(conn, `SELECT ${parts.join(', ')} FROM ${from}`) : {};
      return {
        lower: Object.fromEntries(chosen.map((c, i) => [c.name, step.min ?? row[`l${i}`] ?? null])),
        upper: Object.fromEntries(chosen.map((c, i) => [c.name, step.max ?? row[`u${i}`] ?? null])),
      };
    }
    case 'split': {
      const column = stratifyColumn(step, target);
      if (step.method === 'random') return {};
      if (column === undefined) {
        throw invalidArgument(
          fieldOf(index, 'column'),
          step.method === 'time'
            ? 'a time split needs a column'
            : 'a stratified split needs a column or a dataset target',
        );
      }
      const [c] = requireColumns([column], columns, fieldOf(index, 'column'));
      const { train, validation } = step.fractions;
      if (step.method === 'stratified') {
        // Per class, the hash values below which rows go to train / validation: assigning then
        // streams row by row, where a window over the classes would sort every row with all its columns.
        // The query reads only the class, the row number and what earlier filters need (DuckDB
        // prunes the rest of the transform); one list quantile sorts each class's hashes once.
        const rows = await queryRows(
          conn,
          `SELECT k, q[1] AS a, q[2] AS b FROM (
             SELECT CAST(${quoteIdent(column)} AS VARCHAR) AS k,
                    quantile_disc(${rowHash(step.seed)}, [${train}, ${Math.min(1, train + validation)}]) AS q
               FROM ${from} GROUP BY 1) ORDER BY 1 LIMIT ${maxStrata + 1}`,
        );
        if (rows.length > maxStrata) {
          throw invalidArgument(
            fieldOf(index, 'column'),
            `column "${column}" has more than ${maxStrata} classes to stratify by`,
          );
        }
        return {
          column,
          cuts: rows.map((r) => ({ value: r.k ?? null, train: Number(r.a), validation: Number(r.b) })),
        };
      }
      const q = quoteIdent(column);
      const row = await queryOne(
        conn,
        `SELECT CAST(quantile_disc(${q}, ${train}) AS VARCHAR) AS a, CAST(quantile_disc(${q}, ${Math.min(1, train + validation)}) AS VARCHAR) AS b FROM ${from}`,
      );
      return {
        column,
        storageType: storageTypeOf[c?.type ?? 'numeric'],
        trainEnd: row.a ?? null,
        validationEnd: row.b ?? null,
      };
    }
    default:
      return {};
  }
}

/** The columns after a step (derive's type is filled in by the caller). */
function columnsAfter(
  fitted: { step: RecipeStep; params: Params },
  before: Column[],
  index: number,
): Column[] {
  const { step, params } = fitted;
  switch (step.op) {
    case 'select':
      return requireColumns(step.columns, before, fieldOf(index, 'columns'));
    case 'drop': {
      requireColumns(step.columns, before, fieldOf(index, 'columns'));
      return before.filter((c) => !step.columns.includes(c.name));
    }
    case 'rename': {
      requireColumns(Object.keys(step.mapping), before, fieldOf(index, 'mapping'));
      const out = before.map((c) => ({ name: step.mapping[c.name] ?? c.name, type: c.type }));
      const seen = new Set<string>();
      for (const c of out) {
        if (seen.has(c.name))
          throw invalidArgument(fieldOf(index, 'mapping'), `two columns would be named "${c.name}"`);
        seen.add(c.name);
      }
      return out;
    }
    case 'cast':
      requireColumns(Object.keys(step.types), before, fieldOf(index, 'types'));
      return before.map((c) => ({ name: c.name, type: step.types[c.name] ?? c.type }));
    case 'impute': {
      const values = (params.values ?? {}) as Params;
      return before.map((c) => {
        if (!step.columns.includes(c.name)) return c;
        if (step.strategy === 'mean' || step.strategy === 'median')
          return { name: c.name, type: 'numeric' as const };
        const v = values[c.name];
        if (c.type === 'integer' && typeof v === 'number' && !Number.isInteger(v))
          return { name: c.name, type: 'numeric' as const };
        return c;
      });
    }
    case 'onehot': {
      const categories = (params.categories ?? {}) as Record<string, string[]>;
      const out: Column[] = [];
      for (const c of before) {
        const known = categories[c.name];
        if (!known) out.push(c);
        else {
          for (const cat of known) out.push({ name: `${c.name}_${cat}`, type: 'integer' });
          if (step.unknown === 'other') out.push({ name: `${c.name}_other`, type: 'integer' });
        }
      }
      const seen = new Set<string>();
      for (const c of out) {
        if (seen.has(c.name))
          throw invalidArgument(
            fieldOf(index, 'columns'),
            `one-hot column "${c.name}" collides with another column`,
          );
        seen.add(c.name);
      }
      return out;
    }
    case 'ordinal':
      return before.map((c) =>
        step.columns.includes(c.name) ? { name: c.name, type: 'integer' as const } : c,
      );
    case 'standardize':
    case 'minmax':
    case 'clip':
      return before.map((c) =>
        step.columns.includes(c.name) ? { name: c.name, type: 'numeric' as const } : c,
      );
    case 'deduplicate':
      if (step.columns) requireColumns(step.columns, before, fieldOf(index, 'columns'));
      return before;
    default:
      return before;
  }
}

/** A projection of `before`'s columns, some rewritten, and the hidden row number. */
function project(before: Column[], rewrite: (c: Column, q: string) => string | undefined): string {
  return before
    .map((c) => {
      const q = quoteIdent(c.name);
      const expr = rewrite(c, q);
      return expr === undefined ? q : `${expr} AS ${q}`;
    })
    .concat(row)
    .join(', ');
}

function nums(params: Params, key: string): Record<string, number | null> {
  return (params[key] ?? {}) as Record<string, number | null>;
}

/** The SQL relation after one fitted step, reading from `from`. */
function relationAfter(from: string, fitted: FittedStep, before: Column[]): string {
  const { step, params } = fitted;
  switch (step.op) {
    case 'select':
    case 'drop':
      return `(SELECT ${fitted.columns.map((c) => quoteIdent(c.name)).join(', ')}, ${row} FROM ${from})`;
    case 'rename':
      return `(SELECT ${before.map((c) => `${quoteIdent(c.name)} AS ${quoteIdent(step.mapping[c.name] ?? c.name)}`).join(', ')}, ${row} FROM ${from})`;
    case 'filter':
      return `(SELECT * FROM ${from} WHERE ${recipeExpressionSql(step.where)})`;
    case 'cast':
      return `(SELECT ${project(before, (c, q) => {
        const to = step.types[c.name];
        return to ? `TRY_CAST(${q} AS ${storageTypeOf[to]})` : undefined;
      })} FROM ${from})`;
    case 'impute': {
      const values = (params.values ?? {}) as Params;
      return `(SELECT ${project(before, (c, q) =>
        step.columns.includes(c.name) && values[c.name] !== null && values[c.name] !== undefined
          ? `coalesce(${q}, ${valueLiteral(values[c.name], c.type === 'integer')})`
          : undefined,
      )} FROM ${from})`;
    }
    case 'onehot': {
      const categories = (params.categories ?? {}) as Record<string, string[]>;
      const parts: string[] = [];
      for (const c of before) {
        const q = quoteIdent(c.name);
        const known = categories[c.name];
        if (!known) {
          parts.push(q);
          continue;
        }
        const v = `CAST(${q} AS VARCHAR)`;
        const unknown = `${q} IS NOT NULL AND ${v} NOT IN (${known.map(stringLiteral).join(', ') || 'NULL'})`;
        known.forEach((cat, k) => {
          let expr = `CAST(${v} IS NOT DISTINCT FROM ${stringLiteral(cat)} AS INTEGER)`;
          // The check rides on a kept column: a separate, unused column would be optimized away.
          if (k === 0 && step.unknown === 'error') {
            expr = `CASE WHEN ${unknown} THEN error('column ' || ${stringLiteral(c.name)} || ': category "' || ${v} || '" was not seen when the recipe was fitted') ELSE ${expr} END`;
          }
          parts.push(`${expr} AS ${quoteIdent(`${c.name}_${cat}`)}`);
        });
        if (step.unknown === 'other')
          parts.push(`CAST(${unknown} AS INTEGER) AS ${quoteIdent(`${c.name}_other`)}`);
      }
      parts.push(row);
      return `(SELECT ${parts.join(', ')} FROM ${from})`;
    }
    case 'ordinal': {
      const categories = (params.categories ?? {}) as Record<string, string[]>;
      return `(SELECT ${project(before, (c, q) => {
        const known = categories[c.name];
        if (!known) return undefined;
        const v = `CAST(${q} AS VARCHAR)`;
        const unknown =
          step.unknown === 'error'
            ? `error('column ' || ${stringLiteral(c.name)} || ': category "' || ${v} || '" was not seen when the recipe was fitted')`
            : `${step.unknownValue}`;
        const whens = known.map((cat, i) => `WHEN ${stringLiteral(cat)} THEN ${i}`).join(' ');
        return `CAST(CASE WHEN ${q} IS NULL THEN NULL ELSE CASE ${v} ${whens} ELSE ${unknown} END END AS BIGINT)`;
      })} FROM ${from})`;
    }
    case 'standardize': {
      const mean = nums(params, 'mean');
      const std = nums(params, 'std');
      return `(SELECT ${project(before, (c, q) => {
        if (!step.columns.includes(c.name)) return undefined;
        const m = mean[c.name];
        if (m === null || m === undefined) return 'CAST(NULL AS DOUBLE)';
        const s = std[c.name];
        return `(CAST(${q} AS DOUBLE) - ${doubleLiteral(m)}) / ${doubleLiteral(s ? s : 1)}`;
      })} FROM ${from})`;
    }
    case 'minmax': {
      const min = nums(params, 'min');
      const max = nums(params, 'max');
      const [lo, hi] = step.range;
      return `(SELECT ${project(before, (c, q) => {
        if (!step.columns.includes(c.name)) return undefined;
        const a = min[c.name];
        const b = max[c.name];
        if (a === null || a === undefined || b === null || b === undefined) return 'CAST(NULL AS DOUBLE)';
        if (a === b) return `CASE WHEN ${q} IS NULL THEN NULL ELSE ${doubleLiteral(lo)} END`;
        return `(CAST(${q} AS DOUBLE) - ${doubleLiteral(a)}) / ${doubleLiteral(b - a)} * ${doubleLiteral(hi - lo)} + ${doubleLiteral(lo)}`;
      })} FROM ${from})`;
    }
    case 'clip': {
      const lower = nums(params, 'lower');
      const upper = nums(params, 'upper');
      return `(SELECT ${project(before, (c, q) => {
        if (!step.columns.includes(c.name)) return undefined;
        // least/greatest skip NULLs in DuckDB, so NULL is kept explicitly.
        let x = `CAST(${q} AS DOUBLE)`;
        const hi = upper[c.name];
        const lo = lower[c.name];
        if (hi !== null && hi !== undefined) x = `least(${x}, ${doubleLiteral(hi)})`;
        if (lo !== null && lo !== undefined) x = `greatest(${x}, ${doubleLiteral(lo)})`;
        return `CASE WHEN ${q} IS NULL THEN NULL ELSE ${x} END`;
      })} FROM ${from})`;
    }
    case 'derive': {
      const exists = before.some((c) => c.name === step.name);
      return exists
        ? `(SELECT ${project(before, (c) => (c.name === step.name ? recipeExpressionSql(step.expression) : undefined))} FROM ${from})`
        : `(SELECT *, ${recipeExpressionSql(step.expression)} AS ${quoteIdent(step.name)} FROM ${from})`;
    }
    case 'deduplicate': {
      // Duplicates differ in their row numbers: a kept row takes its first one.
      if (!step.columns)
        return `(SELECT ${before.map((c) => quoteIdent(c.name)).join(', ')}, min(${row}) AS ${row} FROM ${from} GROUP BY ALL)`;
      const keys = step.columns.map(quoteIdent).join(', ');
      return `(SELECT * FROM ${from} QUALIFY row_number() OVER (PARTITION BY ${keys} ORDER BY ${hashOf(0, before)}) = 1)`;
    }
    case 'sample': {
      const h = hashOf(step.seed, before);
      if (step.rows !== undefined) return `(SELECT * FROM ${from} ORDER BY ${h} LIMIT ${step.rows})`;
      return `(SELECT * FROM ${from} WHERE ${h} % 1000000 < ${Math.round((step.fraction ?? 1) * 1_000_000)})`;
    }
    case 'split': {
      const { train, validation } = step.fractions;
      const assign = (u: string) =>
        `CASE WHEN ${u} < ${train} THEN 0 WHEN ${u} < ${train + validation} THEN 1 ELSE 2 END`;
      if (step.method === 'random') {
        return `(SELECT *, ${assign(`${rowHash(step.seed)} / 1000000007.0`)} AS ${splitColumn} FROM ${from})`;
      }
      const column = quoteIdent(String(params.column));
      if (step.method === 'stratified') {
        const h = rowHash(step.seed);
        const cuts = (params.cuts ?? []) as { value: string | null; train: number; validation: number }[];
        const key = `CAST(${column} AS VARCHAR)`;
        const pick = (bound: 'train' | 'validation') =>
          `CASE ${cuts
            .map(
              (c) =>
                `WHEN ${c.value === null ? `${key} IS NULL` : `${key} = ${stringLiteral(c.value)}`} THEN ${c[bound]}`,
            )
            .join(' ')} ELSE -1 END`;
        // A class unseen while fitting (only when applying to other data) goes to train.
        return `(SELECT *, CASE WHEN ${h} <= ${pick('train')} OR ${pick('train')} = -1 THEN 0
                              WHEN ${h} <= ${pick('validation')} THEN 1 ELSE 2 END AS ${splitColumn}
                   FROM ${from})`;
      }
      const type = String(params.storageType);
      const cut = (v: unknown) =>
        v === null || v === undefined ? 'NULL' : `CAST(${stringLiteral(String(v))} AS ${type})`;
      return `(SELECT *, CASE WHEN ${column} IS NULL OR ${column} <= ${cut(params.trainEnd)} THEN 0
                              WHEN ${column} <= ${cut(params.validationEnd)} THEN 1 ELSE 2 END AS ${splitColumn}
                 FROM ${from})`;
    }
  }
}

/**
 * The input rows with their row number in the file (DuckDB's `file_row_number` virtual column).
 * A data column of that name hides it: then the number is a hash of the row's input values.
 */
function source(parquetPath: string, inputColumns: Column[], limitRows?: number): string {
  const number = inputColumns.some((c) => c.name === 'file_row_number')
    ? hashOf(0, inputColumns)
    : 'file_row_number';
  return `(SELECT *, ${number} AS ${row} FROM read_parquet(${pathLiteral(parquetPath)})${limitRows ? ` LIMIT ${limitRows}` : ''})`;
}

type BatchStep = Extract<RecipeStep, { op: 'impute' | 'onehot' | 'ordinal' | 'standardize' | 'minmax' }>;

/**
 * Steps whose parameters can be learned in one aggregate query over the relation before them:
 * rows are unchanged in between, and each column they read is either untouched since that
 * relation or (for standardize/minmax) only filled with a constant by an imputation, whose effect
 * on count, mean, variance, min and max is computed exactly from the raw column's.
 */
class FitBatch {
  readonly steps: { step: BatchStep; index: number }[] = [];
  /** Columns changed by the batch so far: by whom. */
  readonly #changed = new Map<string, BatchStep>();

  constructor(readonly base: Column[]) {}

  /** Whether `step` can join, checking its columns and types as fitStep would. */
  accepts(step: RecipeStep, index: number): step is BatchStep {
    const field = fieldOf(index, 'columns');
    if (step.op === 'impute') {
      if (step.strategy === 'mode' || (step.strategy === 'constant' && typeof step.value !== 'number'))
        return false;
    } else if (!['onehot', 'ordinal', 'standardize', 'minmax'].includes(step.op)) return false;
    const names = (step as BatchStep).columns;
    for (const name of names) {
      const base = this.base.find((c) => c.name === name);
      const by = this.#changed.get(name);
      if (!base) return false;
      if (by && !((step.op === 'standardize' || step.op === 'minmax') && by.op === 'impute')) return false;
    }
    const chosen = requireColumns(names, this.base, field);
    if (step.op === 'impute' && step.strategy !== 'constant') requireNumeric(chosen, field, step.strategy);
    if (step.op === 'standardize' || step.op === 'minmax') requireNumeric(chosen, field, step.op);
    if (step.op === 'onehot' || step.op === 'ordinal') {
      for (const c of chosen) {
        if (c.type === 'numeric' || c.type === 'datetime') {
          throw invalidArgument(
            field,
            `column "${c.name}" is ${c.type}; cast it to integer or categorical before encoding`,
          );
        }
      }
    }
    return true;
  }

  add(step: BatchStep, index: number): void {
    this.steps.push({ step, index });
    for (const name of step.columns) this.#changed.set(name, step);
  }

  /** The aggregate query's columns; each named after the step index, column and statistic. */
  parts(): string[] {
    const parts = ['count(*) AS "rows"'];
    for (const { step, index } of this.steps) {
      step.columns.forEach((name, i) => {
        const q = quoteIdent(name);
        const x = `CAST(${q} AS DOUBLE)`;
        const key = (stat: string) => `"${stat}${index}_${i}"`;
        if (step.op === 'impute') {
          if (step.strategy === 'mean') parts.push(`avg(${x}) AS ${key('v')}`);
          if (step.strategy === 'median') parts.push(`quantile_cont(${x}, 0.5) AS ${key('v')}`);
        } else if (step.op === 'onehot' || step.op === 'ordinal') {
          // Counted by categoryQuery.
        } else if (step.op === 'standardize') {
          parts.push(
            `count(${q}) AS ${key('n')}`,
            `avg(${x}) AS ${key('a')}`,
            `var_pop(${x}) AS ${key('b')}`,
          );
        } else {
          parts.push(`count(${q}) AS ${key('n')}`, `min(${x}) AS ${key('a')}`, `max(${x}) AS ${key('b')}`);
        }
      });
    }
    return parts;
  }

  /**
   * Each encoded column's value counts (as VARCHAR), one grouping set per column, or undefined
   * without encoders. A query of its own: `histogram()` in the aggregate query kept a map per
   * column and cost three times as much as grouping (0.15 s of CPU for 3 columns × 1M rows).
   */
  categoryQuery(relation: string): string | undefined {
    const keys: { expr: string; id: string }[] = [];
    for (const { step, index } of this.steps) {
      if (step.op !== 'onehot' && step.op !== 'ordinal') continue;
      step.columns.forEach((name, i) => {
        keys.push({ expr: `CAST(${quoteIdent(name)} AS VARCHAR)`, id: `${index}_${i}` });
      });
    }
    if (keys.length === 0) return undefined;
    // grouping(h) = 0 marks the set a row counts in; NULLs are no category (histogram() skipped them too).
    return `SELECT ${keys.map((k) => `${k.expr} AS "h${k.id}", grouping("h${k.id}") AS "g${k.id}"`).join(', ')}, count(*) AS n
              FROM ${relation} GROUP BY GROUPING SETS (${keys.map((k) => `("h${k.id}")`).join(', ')})`;
  }

  /** Folds categoryQuery's rows into `{key, value}` count entries under the aggregate row's `h…` names. */
  static categoryCounts(rows: Params[], row: Params): void {
    for (const r of rows) {
      const key = Object.keys(r).find((k) => k.startsWith('h') && r[`g${k.slice(1)}`] === 0);
      const value = key === undefined ? null : r[key];
      if (key === undefined || value === null || value === undefined) continue;
      ((row[key] ??= []) as MapEntry[]).push({ key: value, value: r.n });
    }
  }

  /** A step's parameters from the query's row; `fills` holds the constants imputed earlier in the batch. */
  params(step: BatchStep, index: number, row: Params, fills: Map<string, number | null>): Params {
    const key = (stat: string, i: number) => row[`${stat}${index}_${i}`];
    const total = Number(row.rows ?? 0);
    switch (step.op) {
      case 'impute': {
        const values = Object.fromEntries(
          step.columns.map((name, i) => [
            name,
            step.strategy === 'constant' ? step.value : (key('v', i) ?? null),
          ]),
        );
        for (const [name, value] of Object.entries(values)) fills.set(name, value as number | null);
        return { values };
      }
      case 'onehot':
      case 'ordinal': {
        const categories: Record<string, string[]> = {};
        step.columns.forEach((name, i) => {
          let counts = ((key('h', i) ?? []) as MapEntry[]).map((e) => ({
            value: String(e.key),
            n: Number(e.value),
          }));
          if (step.op === 'onehot') {
            counts = counts
              .sort((a, b) => b.n - a.n || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
              .slice(0, step.maxCategories);
          }
          categories[name] = counts.map((x) => x.value).sort();
        });
        return { categories };
      }
      case 'standardize': {
        const mean: Record<string, number | null> = {};
        const std: Record<string, number | null> = {};
        step.columns.forEach((name, i) => {
          const n = Number(key('n', i) ?? 0);
          const m = num(key('a', i));
          const v = num(key('b', i));
          const fill = fills.get(name);
          if (fill === undefined || fill === null || n === total) {
            mean[name] = m;
            std[name] = v === null ? null : Math.sqrt(v);
            return;
          }
          // Pooled mean and population variance of the n values and the (total - n) fills.
          const filled = total - n;
          const mu = n === 0 || m === null ? fill : (n * m + filled * fill) / total;
          const variance =
            n === 0 || m === null || v === null
              ? 0
              : (n * (v + (m - mu) ** 2) + filled * (fill - mu) ** 2) / total;
          mean[name] = mu;
          std[name] = Math.sqrt(variance);
        });
        return { mean, std };
      }
      case 'minmax': {
        const min: Record<string, number | null> = {};
        const max: Record<string, number | null> = {};
        step.columns.forEach((name, i) => {
          const n = Number(key('n', i) ?? 0);
          let a = num(key('a', i));
          let b = num(key('b', i));
          const fill = fills.get(name);
          if (fill !== undefined && fill !== null && n < total) {
            a = a === null ? fill : Math.min(a, fill);
            b = b === null ? fill : Math.max(b, fill);
          }
          min[name] = a;
          max[name] = b;
        });
        return { min, max };
      }
    }
  }
}

function num(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/**
 * Fits a recipe step by step: each step's parameters are learned on the rows that reach it
 * (after earlier filters and imputations). Runs of imputations, encoders and scalers that see
 * the same rows share one aggregate query (see {@link FitBatch}); other steps that learn
 * anything take one query each.
 */
export async function fitRecipe(
  conn: DuckDBConnection,
  parquetPath: string,
  schema: ColumnSchema[],
  recipe: Recipe,
  options: { target?: string | undefined; limitRows?: number } = {},
): Promise<FittedRecipe> {
  checkExpressions(recipe);
  const inputColumns: Column[] = schema.map((c) => ({ name: c.name, type: c.type }));
  let relation = source(parquetPath, inputColumns, options.limitRows);
  let columns = inputColumns;
  const steps: FittedStep[] = [];
  let batch = new FitBatch(columns);
  const flush = async () => {
    if (batch.steps.length === 0) return;
    const row = await queryOne(conn, `SELECT ${batch.parts().join(', ')} FROM ${relation}`);
    const categories = batch.categoryQuery(relation);
    if (categories) FitBatch.categoryCounts(await queryRows(conn, categories), row);
    const fills = new Map<string, number | null>();
    for (const { step, index } of batch.steps) {
      const params = batch.params(step, index, row, fills);
      const after = columnsAfter({ step, params }, columns, index);
      const fitted: FittedStep = { step, params, columns: after };
      relation = relationAfter(relation, fitted, columns);
      steps.push(fitted);
      columns = after;
    }
  };
  for (const [index, step] of recipe.steps.entries()) {
    if (batch.accepts(step, index)) {
      batch.add(step, index);
      continue;
    }
    await flush();
    batch = new FitBatch(columns);
    if (batch.accepts(step, index)) {
      batch.add(step, index);
      continue;
    }
    const params = await fitStep(conn, relation, step, columns, index, options.target);
    let after = columnsAfter({ step, params }, columns, index);
    if (step.op === 'derive') {
      let type: string;
      try {
        [{ storageType: type } = { storageType: 'VARCHAR' }] = await describeQuery(
          conn,
          `SELECT ${recipeExpressionSql(step.expression)} AS v FROM ${relation}`,
        );
      } catch (error) {
        throw invalidArgument(fieldOf(index, 'expression'), (error as Error).message.split('\n')[0] ?? '');
      }
      const derived = { name: step.name, type: logicalTypeOf(type) };
      after = columns.some((c) => c.name === step.name)
        ? columns.map((c) => (c.name === step.name ? derived : c))
        : [...columns, derived];
    }
    const fitted: FittedStep = { step, params, columns: after };
    const next = relationAfter(relation, fitted, columns);
    if (step.op === 'filter') {
      try {
        await describeQuery(conn, `SELECT * FROM ${next}`);
      } catch (error) {
        throw invalidArgument(fieldOf(index, 'where'), (error as Error).message.split('\n')[0] ?? '');
      }
    }
    steps.push(fitted);
    relation = next;
    columns = after;
  }
  await flush();
  const fitted: FittedRecipe = {
    format: 'trainyard.fitted-recipe/v1',
    recipe,
    recipeHash: recipeHash(recipe),
    inputColumns,
    steps,
  };
  if (options.target !== undefined) fitted.target = options.target;
  return fitted;
}

/**
 * The whole batch transform as one SQL relation (with a `__split` column, the index of the row's
 * split in `splits`, when the recipe splits; and the hidden row number: select `* EXCLUDE` it).
 */
export function fittedRelation(parquetPath: string, fitted: FittedRecipe, limitRows?: number): string {
  let relation = source(parquetPath, fitted.inputColumns, limitRows);
  let columns: Column[] = fitted.inputColumns;
  for (const step of fitted.steps) {
    relation = relationAfter(relation, step, columns);
    columns = step.columns;
  }
  return relation;
}

function endsWithSplit(fitted: FittedRecipe): boolean {
  return fitted.steps[fitted.steps.length - 1]?.step.op === 'split';
}

async function withProgress<T>(
  conn: DuckDBConnection,
  onProgress: ((fraction: number) => void) | undefined,
  work: () => Promise<T>,
): Promise<T> {
  if (!onProgress) return work();
  // Locked recipe instances have this set before the lock (see DuckDbEngine); SET would fail there.
  const enabled = await queryOne(conn, "SELECT current_setting('enable_progress_bar') AS on");
  if (enabled.on !== true)
    await conn.run('SET enable_progress_bar = true; SET enable_progress_bar_print = false');
  const timer = setInterval(() => {
    const { percentage } = conn.progress;
    if (percentage >= 0) onProgress(Math.min(1, percentage / 100));
  }, 250);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/**
 * Applies a fitted recipe in one streaming COPY: without a split, `<outDir>/data.parquet`;
 * with one, `<outDir>/<split>.parquet` for each non-empty split.
 */
export async function applyFittedRecipeBatch(
  conn: DuckDBConnection,
  parquetPath: string,
  fitted: FittedRecipe,
  outDir: string,
  options: { onProgress?: (fraction: number) => void } = {},
): Promise<RecipeOutput[]> {
  await mkdir(outDir, { recursive: true });
  const relation = fittedRelation(parquetPath, fitted);
  const last = fitted.steps[fitted.steps.length - 1];
  const logical = new Map((last?.columns ?? fitted.inputColumns).map((c) => [c.name, c.type]));
  const describe = async (path: string): Promise<{ schema: ColumnSchema[]; rowCount: number }> => {
    const stored = await describeQuery(conn, `SELECT * FROM read_parquet(${pathLiteral(path)})`);
    const { n } = await queryOne(conn, `SELECT count(*) AS n FROM read_parquet(${pathLiteral(path)})`);
    return {
      schema: stored.map((c) => ({
        name: c.name,
        type: logical.get(c.name) ?? logicalTypeOf(c.storageType),
        storageType: c.storageType,
      })),
      rowCount: Number(n),
    };
  };
  if (!endsWithSplit(fitted)) {
    const path = join(outDir, 'data.parquet');
    await withProgress(conn, options.onProgress, () =>
      conn.run(
        `COPY (SELECT * EXCLUDE (${row}) FROM ${relation}) TO ${pathLiteral(path)} (FORMAT parquet, COMPRESSION snappy)`,
      ),
    );
    return [{ path, ...(await describe(path)) }];
  }
  const parts = join(outDir, 'parts');
  await withProgress(conn, options.onProgress, () =>
    conn.run(
      `COPY (SELECT * EXCLUDE (${row}) FROM ${relation}) TO ${pathLiteral(parts)} (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (${splitColumn}), OVERWRITE_OR_IGNORE)`,
    ),
  );
  const outputs: RecipeOutput[] = [];
  for (const [code, split] of splits.entries()) {
    const folder = join(parts, `${splitColumn}=${code}`);
    const files = (await readdir(folder).catch(() => [] as string[])).filter((f) => f.endsWith('.parquet'));
    if (files.length === 0) continue;
    const path = join(outDir, `${split}.parquet`);
    if (files.length === 1) await rename(join(folder, files[0] ?? ''), path);
    else {
      await conn.run(
        `COPY (SELECT * FROM read_parquet(${pathLiteral(join(folder, '*.parquet'))})) TO ${pathLiteral(path)} (FORMAT parquet, COMPRESSION snappy)`,
      );
    }
    outputs.push({ split, path, ...(await describe(path)) });
  }
  await rm(parts, { recursive: true, force: true });
  if (outputs.length === 0) {
    throw new TrainyardError('FAILED_PRECONDITION', 'the recipe left no rows to write', { field: 'recipe' });
  }
  return outputs;
}

/** Fits on the first `rows` rows and returns them transformed (nothing is written). */
export async function previewRecipe(
  conn: DuckDBConnection,
  parquetPath: string,
  schema: ColumnSchema[],
  recipe: Recipe,
  rows: number,
  target?: string,
): Promise<RecipePreview> {
  const fitted = await fitRecipe(conn, parquetPath, schema, recipe, { target, limitRows: rows });
  const relation = fittedRelation(parquetPath, fitted, rows);
  const out = await queryRows(conn, `SELECT * EXCLUDE (${row}) FROM ${relation} LIMIT ${rows}`);
  const columns = fitted.steps[fitted.steps.length - 1]?.columns ?? fitted.inputColumns;
  const preview: RecipePreview = {
    columns,
    rows: out.map((r) => Object.fromEntries(columns.map((c) => [c.name, r[c.name] ?? null]))),
    fitted,
  };
  if (endsWithSplit(fitted)) preview.splits = out.map((r) => splits[Number(r[splitColumn])] ?? 'train');
  return preview;
}
