import type { ColumnType } from '@trainyard/contracts/datasets';
import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import type { FittedRecipe, FittedStep } from '@trainyard/contracts/recipes';

/** One record: column name to value (null or absent = missing). */
export type Row = Record<string, unknown>;

export interface ApplyRowOptions {
  /**
   * Evaluates a `derive` step's SQL expression on one row. Without it, a recipe with a derive
   * step refuses single rows: the pure path does not interpret SQL.
   */
  evaluate?: (expression: string, row: Row) => unknown;
}

/** Steps that act on the set of rows; at row level (inference) they are skipped. */
export const rowSetOps: ReadonlySet<string> = new Set(['filter', 'deduplicate', 'sample', 'split']);

/** DuckDB rounds half away from zero when casting to an integer. */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

const trueWords = new Set(['true', 't', 'yes', 'y', '1']);
const falseWords = new Set(['false', 'f', 'no', 'n', '0']);

function toNumber(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  const text = String(value).trim();
  if (text === '') return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

/** DuckDB's DOUBLE-to-VARCHAR spelling for the common cases: integral values keep ".0". */
function doubleText(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return `${x}.0`;
  return String(x).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Converts one value as DuckDB's TRY_CAST to the logical type's storage type does. */
export function castValue(value: unknown, to: ColumnType, from?: ColumnType): unknown {
  if (value === null || value === undefined) return null;
  switch (to) {
    case 'numeric':
      return toNumber(value);
    case 'integer': {
      const n = toNumber(value);
      return n === null ? null : roundHalfAway(n);
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (typeof value === 'number' || typeof value === 'bigint') return Number(value) !== 0;
      const word = String(value).trim().toLowerCase();
      return trueWords.has(word) ? true : falseWords.has(word) ? false : null;
    }
    case 'categorical':
    case 'text':
      if (typeof value === 'number' && from === 'numeric') return doubleText(value);
      return String(value);
    case 'datetime':
      return value instanceof Date ? value.toISOString() : String(value);
  }
}

function keyOf(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

function numberMap(params: Record<string, unknown>, name: string): Record<string, number | null> {
  return (params[name] ?? {}) as Record<string, number | null>;
}

function applyStep(
  fitted: FittedStep,
  input: Row,
  types: Map<string, ColumnType>,
  options: ApplyRowOptions,
): Row {
  const { step, params } = fitted;
  switch (step.op) {
    case 'select':
      return Object.fromEntries(step.columns.map((c) => [c, input[c] ?? null]));
    case 'drop': {
      const out = { ...input };
      for (const c of step.columns) delete out[c];
      return out;
    }
    case 'rename':
      return Object.fromEntries(Object.entries(input).map(([k, v]) => [step.mapping[k] ?? k, v]));
    case 'cast': {
      const out = { ...input };
      for (const [c, type] of Object.entries(step.types)) out[c] = castValue(input[c], type, types.get(c));
      return out;
    }
    case 'impute': {
      const values = (params.values ?? {}) as Record<string, unknown>;
      const out = { ...input };
      for (const c of step.columns) {
        const v = input[c];
        if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v)))
          out[c] = values[c] ?? null;
      }
      return out;
    }
    case 'onehot': {
      const categories = (params.categories ?? {}) as Record<string, string[]>;
      const out: Row = {};
      for (const [c, v] of Object.entries(input)) {
        const known = categories[c];
        if (!known) {
          out[c] = v;
          continue;
        }
        const key = keyOf(v);
        const hit = key !== null && known.includes(key);
        if (key !== null && !hit && step.unknown === 'error') {
          throw invalidArgument(c, `category ${JSON.stringify(key)} was not seen when the recipe was fitted`);
        }
        for (const cat of known) out[`${c}_${cat}`] = key === cat ? 1 : 0;
        if (step.unknown === 'other') out[`${c}_other`] = key !== null && !hit ? 1 : 0;
      }
      return out;
    }
    case 'ordinal': {
      const categories = (params.categories ?? {}) as Record<string, string[]>;
      const out = { ...input };
      for (const c of step.columns) {
        const key = keyOf(input[c]);
        if (key === null) {
          out[c] = null;
          continue;
        }
        const code = categories[c]?.indexOf(key) ?? -1;
        if (code < 0 && step.unknown === 'error') {
          throw invalidArgument(c, `category ${JSON.stringify(key)} was not seen when the recipe was fitted`);
        }
        out[c] = code < 0 ? step.unknownValue : code;
      }
      return out;
    }
    case 'standardize': {
      const mean = numberMap(params, 'mean');
      const std = numberMap(params, 'std');
      const out = { ...input };
      for (const c of step.columns) {
        const x = toNumber(input[c]);
        const s = std[c];
        out[c] = x === null || mean[c] == null ? null : (x - (mean[c] ?? 0)) / (s ? s : 1);
      }
      return out;
    }
    case 'minmax': {
      const min = numberMap(params, 'min');
      const max = numberMap(params, 'max');
      const [lo, hi] = step.range;
      const out = { ...input };
      for (const c of step.columns) {
        const x = toNumber(input[c]);
        const a = min[c];
        const b = max[c];
        if (x === null || a == null || b == null) out[c] = null;
        else out[c] = b === a ? lo : ((x - a) / (b - a)) * (hi - lo) + lo;
      }
      return out;
    }
    case 'clip': {
      const lower = numberMap(params, 'lower');
      const upper = numberMap(params, 'upper');
      const out = { ...input };
      for (const c of step.columns) {
        let x = toNumber(input[c]);
        if (x !== null) {
          const lo = lower[c];
          const hi = upper[c];
          if (hi != null && x > hi) x = hi;
          if (lo != null && x < lo) x = lo;
        }
        out[c] = x;
      }
      return out;
    }
    case 'derive': {
      if (!options.evaluate) {
        throw new TrainyardError(
          'FAILED_PRECONDITION',
          `recipe step "derive ${step.name}" is SQL; applying it to a single row needs an expression evaluator`,
          { field: 'evaluate' },
        );
      }
      return { ...input, [step.name]: options.evaluate(step.expression, input) };
    }
    default:
      return input;
  }
}

/**
 * Applies a fitted recipe to ONE row, with the parameters learned in batch: the serving path's
 * transform. Pure: no I/O, no clock, no randomness. Input values are first converted to the
 * recipe's input column types (so CSV strings work). Row-set steps (filter, deduplicate, sample,
 * split) do not apply to single rows and are skipped; `derive` needs `options.evaluate`.
 *
 * @returns the transformed row, keys in the recipe's output column order
 * @throws INVALID_ARGUMENT for an unseen category under the `error` policy
 * @example
 * const features = applyFittedRecipe(fitted, { age: '41', plan: 'pro', income: null });
 */
export function applyFittedRecipe(fitted: FittedRecipe, row: Row, options: ApplyRowOptions = {}): Row {
  let current: Row = {};
  const types = new Map<string, ColumnType>();
  for (const column of fitted.inputColumns) {
    current[column.name] = castValue(row[column.name], column.type);
    types.set(column.name, column.type);
  }
  for (const step of fitted.steps) {
    if (!rowSetOps.has(step.step.op)) current = applyStep(step, current, types, options);
    types.clear();
    for (const column of step.columns) types.set(column.name, column.type);
  }
  const last = fitted.steps[fitted.steps.length - 1];
  if (!last) return current;
  return Object.fromEntries(last.columns.map((c) => [c.name, current[c.name] ?? null]));
}
