import type { ColumnSchema, DatasetVersion, Lineage } from '@trainyard/contracts/datasets';
import type { FittedRecipe, Recipe, RecipeInput } from '@trainyard/contracts/recipes';
import type { DataEngine, RecipeOutput } from '@trainyard/core/ports/data-engine';
import { type DataProgress, type DatasetService, parseRecipe } from './dataset-service.js';

export interface RunRecipeRequest {
  /** The input dataset and version (default: latest ready). */
  dataset: string;
  version?: number | 'latest' | undefined;
  recipe: RecipeInput;
  /**
   * The dataset receiving the result (default `<dataset>-<recipe name>`). With a split step,
   * each split goes to `<output>-train`, `<output>-validation`, `<output>-test`.
   */
  output?: string | undefined;
  /** The processing job running the recipe, recorded in each new version's lineage. */
  jobName?: string | undefined;
}

export interface RunRecipeResult {
  /** One version per non-empty split, or one version without a split step. */
  versions: DatasetVersion[];
  fitted: FittedRecipe;
  /** Where the fitted recipe (the parameters the serving path needs) is stored. */
  fittedRecipeUri: string;
}

function outputName(request: RunRecipeRequest, recipeName: string): string {
  if (request.output) return request.output;
  const slug = recipeName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `${request.dataset}-${slug || 'recipe'}`.slice(0, 50).replace(/-+$/, '');
}

/** The file half of a recipe run: what the engine produced from a local Parquet file. */
export interface RecipeOnFiles {
  fitted: FittedRecipe;
  outputs: RecipeOutput[];
}

/**
 * Fits a recipe on a local Parquet file and applies it in one streaming pass, writing one Parquet
 * file per split into `outDir`. Touches no store: the recipe processor runs it in the job process
 * on the staged input, and the worker registers what it wrote ({@link registerRecipeOutputs}).
 */
export async function runRecipeOnFiles(
  engine: DataEngine,
  input: { parquetPath: string; schema: ColumnSchema[]; target?: string | undefined },
  recipe: Recipe,
  outDir: string,
  onProgress?: DataProgress,
): Promise<RecipeOnFiles> {
  onProgress?.({ phase: 'fit' });
  const fitted = await engine.fitRecipe(input.parquetPath, input.schema, recipe, { target: input.target });
  onProgress?.({ phase: 'transform', fraction: 0 });
  const outputs = await engine.applyRecipe(input.parquetPath, fitted, outDir, {
    onProgress: (fraction) => onProgress?.({ phase: 'transform', fraction }),
  });
  return { fitted, outputs };
}

/**
 * The store half: stores the fitted recipe once and each output (or split) as a new version of
 * `<output>` (`<output>-<split>`) whose lineage names the parent version, the recipe (name and
 * hash), the split and the job. Output files are moved (consumed).
 */
export async function registerRecipeOutputs(
  datasets: DatasetService,
  parent: Pick<DatasetVersion, 'dataset' | 'version' | 'target'>,
  run: RecipeOnFiles & { recipeName: string; output: string; jobName?: string | undefined },
): Promise<{ versions: DatasetVersion[]; fittedRecipeUri: string }> {
  const { fitted, output } = run;
  const fittedRecipeUri = await datasets.putDocument(
    `recipes/${output}/${fitted.recipeHash.replace('sha256:', '').slice(0, 16)}-${Date.now()}/fitted-recipe.json`,
    fitted,
  );
  const versions: DatasetVersion[] = [];
  for (const out of run.outputs) {
    const lineage: Lineage = {
      parentDataset: parent.dataset,
      parentVersion: parent.version,
      recipe: { name: run.recipeName, hash: fitted.recipeHash },
    };
    if (out.split) lineage.split = out.split;
    if (run.jobName) lineage.jobName = run.jobName;
    const target =
      parent.target && out.schema.some((c) => c.name === parent.target) ? parent.target : undefined;
    versions.push(
      await datasets.createVersionFromParquet(
        out.split ? `${output}-${out.split}` : output,
        out.path,
        { schema: out.schema, rowCount: out.rowCount, target, fittedRecipeUri },
        { lineage },
      ),
    );
  }
  return { versions, fittedRecipeUri };
}

/** The dataset a recipe run writes to: `output`, or `<dataset>-<recipe name>`. */
export function recipeOutputName(dataset: string, recipeName: string, output?: string): string {
  return outputName({ dataset, output } as RunRecipeRequest, recipeName);
}

/**
 * Runs a recipe on a dataset version in this process: {@link runRecipeOnFiles} on the staged
 * version, then {@link registerRecipeOutputs}. `onProgress` receives phases `stage`, `fit`,
 * `transform` (with a fraction when DuckDB reports one), then `ingest`/`profile`/`store` per output.
 *
 * @example
 * const { versions } = await runRecipe(datasets, { dataset: 'churn', recipe, jobName: 'prep-7' },
 *   (e) => log.info(e));
 * @throws NOT_FOUND for an unknown dataset/version; INVALID_ARGUMENT for a bad recipe, naming the
 * step and field (`recipe.steps.2.columns`)
 */
export async function runRecipe(
  datasets: DatasetService,
  request: RunRecipeRequest,
  onProgress?: DataProgress,
): Promise<RunRecipeResult> {
  const recipe = parseRecipe(request.recipe);
  onProgress?.({ phase: 'stage' });
  const staged = await datasets.stageVersion(request.dataset, request.version ?? 'latest');
  try {
    const parent = staged.version;
    return await datasets.withScratch(async (dir) => {
      const run = await runRecipeOnFiles(
        datasets.engine,
        { parquetPath: staged.path, schema: parent.schema, target: parent.target },
        recipe,
        dir,
        onProgress,
      );
      const stored = await registerRecipeOutputs(datasets, parent, {
        ...run,
        recipeName: recipe.name,
        output: outputName(request, recipe.name),
        jobName: request.jobName,
      });
      return { ...stored, fitted: run.fitted };
    });
  } finally {
    await staged.release();
  }
}
