import { z } from 'zod';
import { ColumnType, DatasetName } from './datasets.js';
import { JobName } from './jobs.js';
import { ExpressionSyntaxError, parseRecipeExpression } from './recipe-expression.js';

const Columns = z.array(z.string().min(1)).min(1);
/**
 * An expression over the current columns, e.g. `age >= 18 AND country <> 'XX'`: columns, literals,
 * operators, CASE, CAST and the functions of `allowedExpressionFunctions` (see recipe-expression.ts).
 */
const SqlExpression = z
  .string()
  .min(1)
  .max(4000)
  .superRefine((text, ctx) => {
    try {
      parseRecipeExpression(text);
    } catch (error) {
      if (!(error instanceof ExpressionSyntaxError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message });
    }
  });

export const SelectStep = z.object({ op: z.literal('select'), columns: Columns }).strict();
export const DropStep = z.object({ op: z.literal('drop'), columns: Columns }).strict();
export const RenameStep = z
  .object({ op: z.literal('rename'), mapping: z.record(z.string().min(1), z.string().min(1)) })
  .strict();
/** Keeps rows where `where` is true. Batch only: single rows at inference are never filtered. */
export const FilterStep = z.object({ op: z.literal('filter'), where: SqlExpression }).strict();
export const CastStep = z
  .object({ op: z.literal('cast'), types: z.record(z.string().min(1), ColumnType) })
  .strict();
export const ImputeStep = z
  .object({
    op: z.literal('impute'),
    columns: Columns,
    strategy: z.enum(['mean', 'median', 'mode', 'constant']),
    /** The fill value of `constant`. */
    value: z.union([z.number(), z.string(), z.boolean()]).optional(),
  })
  .strict()
  .refine((s) => s.strategy !== 'constant' || s.value !== undefined, {
    message: 'strategy "constant" needs a value',
    path: ['value'],
  });
/**
 * What encoders do with a category they did not see while fitting: `ignore` gives all-zero
 * one-hot columns (ordinal: `unknownValue`), `error` refuses the row, `other` (one-hot only) sets
 * an extra `<column>_other` column.
 */
export const UnknownCategoryPolicy = z.enum(['ignore', 'error', 'other']);
export const OneHotStep = z
  .object({
    op: z.literal('onehot'),
    columns: Columns,
    unknown: UnknownCategoryPolicy.default('ignore'),
    /** Keeps the most frequent categories; the rest count as unknown. */
    maxCategories: z.number().int().min(1).max(1000).default(50),
  })
  .strict();
export const OrdinalStep = z
  .object({
    op: z.literal('ordinal'),
    columns: Columns,
    unknown: z.enum(['ignore', 'error']).default('ignore'),
    /** Code of unknown categories under `ignore`. */
    unknownValue: z.number().int().default(-1),
  })
  .strict();
export const StandardizeStep = z.object({ op: z.literal('standardize'), columns: Columns }).strict();
export const MinMaxStep = z
  .object({
    op: z.literal('minmax'),
    columns: Columns,
    range: z.tuple([z.number(), z.number()]).default([0, 1]),
  })
  .strict();
/** Bounds are fixed (`min`/`max`) or learned as quantiles (`lowerQuantile`/`upperQuantile`). */
export const ClipStep = z
  .object({
    op: z.literal('clip'),
    columns: Columns,
    min: z.number().optional(),
    max: z.number().optional(),
    lowerQuantile: z.number().min(0).max(1).optional(),
    upperQuantile: z.number().min(0).max(1).optional(),
  })
  .strict();
/** Adds (or replaces) `name` with a SQL expression over the current columns. */
export const DeriveStep = z
  .object({ op: z.literal('derive'), name: z.string().min(1), expression: SqlExpression })
  .strict();
/** Keeps one row of each group of rows equal on `columns` (all columns when absent). */
export const DeduplicateStep = z
  .object({ op: z.literal('deduplicate'), columns: Columns.optional() })
  .strict();
/** A seeded, repeatable sample: a fraction of rows or a number of rows. */
export const SampleStep = z
  .object({
    op: z.literal('sample'),
    fraction: z.number().gt(0).max(1).optional(),
    rows: z.number().int().min(1).optional(),
    seed: z.number().int().default(42),
  })
  .strict()
  .refine((s) => (s.fraction === undefined) !== (s.rows === undefined), {
    message: 'give exactly one of fraction and rows',
    path: ['fraction'],
  });
/**
 * The last step of a recipe: rows go to train / validation / test. `random` and `stratified`
 * (per target class) are seeded; `time` sorts by `column` and cuts at the fractions.
 */
export const SplitStep = z
  .object({
    op: z.literal('split'),
    method: z.enum(['random', 'stratified', 'time']),
    fractions: z
      .object({
        train: z.number().min(0).max(1),
        validation: z.number().min(0).max(1).default(0),
        test: z.number().min(0).max(1).default(0),
      })
      .refine((f) => Math.abs(f.train + f.validation + f.test - 1) < 1e-9, 'must add up to 1'),
    seed: z.number().int().default(42),
    /** The stratification column (default: the dataset's target) or the time column. */
    column: z.string().min(1).optional(),
  })
  .strict();

export const stepOps = [
  'select',
  'drop',
  'rename',
  'filter',
  'cast',
  'impute',
  'onehot',
  'ordinal',
  'standardize',
  'minmax',
  'clip',
  'derive',
  'deduplicate',
  'sample',
  'split',
] as const;

export const RecipeStep = z.discriminatedUnion(
  'op',
  [
    SelectStep,
    DropStep,
    RenameStep,
    FilterStep,
    CastStep,
    ImputeStep,
    OneHotStep,
    OrdinalStep,
    StandardizeStep,
    MinMaxStep,
    ClipStep,
    DeriveStep,
    DeduplicateStep,
    SampleStep,
    SplitStep,
  ],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? `unknown recipe step ${JSON.stringify((issue.input as { op?: unknown } | undefined)?.op)}; known: ${stepOps.join(', ')}`
        : undefined,
  },
);
export type RecipeStep = z.output<typeof RecipeStep>;
export type RecipeStepInput = z.input<typeof RecipeStep>;

/**
 * A declarative transform. `format` versions the JSON itself, so stored recipes stay readable
 * when steps gain options.
 *
 * @example
 * { "format": "trainyard.recipe/v1", "name": "churn-prep", "steps": [
 *   { "op": "impute", "columns": ["age"], "strategy": "median" },
 *   { "op": "onehot", "columns": ["plan"] },
 *   { "op": "split", "method": "stratified", "fractions": { "train": 0.8, "test": 0.2 } } ] }
 */
export const Recipe = z
  .object({
    format: z.literal('trainyard.recipe/v1').default('trainyard.recipe/v1'),
    name: z.string().min(1).max(128).default('recipe'),
    steps: z.array(RecipeStep).min(1).max(200),
  })
  .strict()
  .refine((r) => r.steps.every((s, i) => s.op !== 'split' || i === r.steps.length - 1), {
    message: 'a split step must be the last step',
    path: ['steps'],
  });
export type Recipe = z.output<typeof Recipe>;
export type RecipeInput = z.input<typeof Recipe>;

/** Learned parameters of one step, in step order; steps with nothing to learn have `{}`. */
export const FittedStep = z.object({
  step: RecipeStep,
  /** Column names and types after the step. */
  columns: z.array(z.object({ name: z.string(), type: ColumnType })),
  /** impute: fill values; standardize: mean/std; minmax: min/max; clip: bounds; encoders: categories. */
  params: z.record(z.string(), z.unknown()),
});
export type FittedStep = z.infer<typeof FittedStep>;

/** A recipe with everything it learned: enough to transform single rows at inference time. */
export const FittedRecipe = z.object({
  format: z.literal('trainyard.fitted-recipe/v1'),
  recipe: Recipe,
  /** "sha256:<hex>" of the recipe JSON. */
  recipeHash: z.string(),
  inputColumns: z.array(z.object({ name: z.string(), type: ColumnType })),
  steps: z.array(FittedStep),
  target: z.string().optional(),
});
export type FittedRecipe = z.infer<typeof FittedRecipe>;

export const PreviewRecipeBody = z
  .object({
    dataset: DatasetName,
    /** Default: the latest ready version. */
    version: z.number().int().positive().optional(),
    recipe: Recipe,
    /** Rows to read from the start of the version and transform (fits on those rows only). */
    rows: z.number().int().min(1).max(1000).default(20),
  })
  .strict();

export const RecipePreview = z.object({
  columns: z.array(z.object({ name: z.string(), type: ColumnType })),
  rows: z.array(z.record(z.string(), z.unknown())),
  /** Split of each row, when the recipe splits. */
  splits: z.array(z.string()).optional(),
  fitted: FittedRecipe,
});
export type RecipePreview = z.infer<typeof RecipePreview>;

export const RunRecipeBody = z
  .object({
    dataset: DatasetName,
    version: z.number().int().positive().optional(),
    recipe: Recipe,
    /**
     * Dataset that receives the result; with a split step each split goes to
     * `<output>-train`, `<output>-validation`, `<output>-test`. Default: `<dataset>-<recipe name>`.
     */
    output: DatasetName.optional(),
    /** The processing job that runs it. Default: `recipe-<time>-<random>`. */
    jobName: JobName.optional(),
    /** Instance type of that job (its vCPUs and memory bound DuckDB). Default `ml.m5.large`. */
    instanceType: z.string().min(1).max(64).optional(),
  })
  .strict();
export type RunRecipeBody = z.output<typeof RunRecipeBody>;
