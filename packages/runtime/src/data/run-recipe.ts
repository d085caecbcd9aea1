import type { DatasetVersion, Lineage } from '@trainyard/contracts/datasets';
import type { FittedRecipe, RecipeInput } from '@trainyard/contracts/recipes';
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

/**
 * Runs a recipe on a dataset version: fits its parameters on the whole version, applies it in
 * one streaming pass and stores each output (or each split) as a new dataset version whose
 * lineage names the parent version, the recipe (name and hash), the split and the job. The
 * fitted recipe is stored once and referenced by every output version (`fittedRecipeUri`).
 *
 * A plain async function: the REST route calls it in-process, a processing job calls it in its
 * own process. `onProgress` receives phases `stage`, `fit`, `transform` (with a fraction when
 * DuckDB reports one), then `ingest`/`profile`/`store` per output.
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
    onProgress?.({ phase: 'fit' });
    const fitted = await datasets.engine.fitRecipe(staged.path, parent.schema, recipe, {
      target: parent.target,
    });
    const output = outputName(request, recipe.name);
    return await datasets.withScratch(async (dir) => {
      onProgress?.({ phase: 'transform', fraction: 0 });
      const outputs = await datasets.engine.applyRecipe(staged.path, fitted, dir, {
        onProgress: (fraction) => onProgress?.({ phase: 'transform', fraction }),
      });
      const fittedRecipeUri = await datasets.putDocument(
        `recipes/${output}/${fitted.recipeHash.replace('sha256:', '').slice(0, 16)}-${Date.now()}/fitted-recipe.json`,
        fitted,
      );
      const versions: DatasetVersion[] = [];
      for (const out of outputs) {
        const lineage: Lineage = {
          parentDataset: parent.dataset,
          parentVersion: parent.version,
          recipe: { name: recipe.name, hash: fitted.recipeHash },
        };
        if (out.split) lineage.split = out.split;
        if (request.jobName) lineage.jobName = request.jobName;
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
      return { versions, fitted, fittedRecipeUri };
    });
  } finally {
    await staged.release();
  }
}
