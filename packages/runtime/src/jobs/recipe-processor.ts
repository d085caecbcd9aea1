import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ColumnSchema } from '@trainyard/contracts/datasets';
import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import type { FittedRecipe, Recipe } from '@trainyard/contracts/recipes';
import type { RecipeOutput } from '@trainyard/core/ports/data-engine';
import { type DatasetService, parseRecipe } from '../data/dataset-service.js';
import { recipeOutputName, registerRecipeOutputs } from '../data/run-recipe.js';
import type { BuiltInProcessor } from './processing-job-runner.js';

/** AppSpecification.ImageUri of the built-in recipe processor. */
export const recipeProcessorImage = 'trainyard/recipe-processor';

/** What the worker hands the recipe process (`config/recipe-input.json`): local files only. */
export interface RecipeProcessorInput {
  parquetPath: string;
  schema: ColumnSchema[];
  target?: string | undefined;
  recipe: Recipe;
  /** Where the process writes one Parquet file per split. */
  outDir: string;
}

/** What the recipe process leaves behind (`output/recipe-result.json`) for the worker to register. */
export interface RecipeProcessorResult {
  fitted: FittedRecipe;
  outputs: RecipeOutput[];
}

export const recipeInputFile = (optMl: string) => join(optMl, 'config', 'recipe-input.json');
export const recipeResultFile = (optMl: string) => join(optMl, 'output', 'recipe-result.json');

/**
 * The built-in processor that runs a dataset recipe as a processing job. The job gives the
 * dataset version as a `DatasetInput`, the recipe JSON as an input named `recipe` (one .json
 * file), and optionally the receiving dataset as the first output's `DatasetOutput`. The job
 * process (`entry`, a runtime entry script run by node) sees only the staged Parquet file and the
 * recipe and writes Parquet files; this worker-side half then stores each output (or split) as a
 * new dataset version whose lineage names the job, so the job process needs no store access.
 */
export function recipeProcessor(options: {
  /** The built entry script the job process runs. */
  entry: string;
  datasets: () => Promise<DatasetService>;
}): BuiltInProcessor {
  return {
    imageUri: recipeProcessorImage,
    async command(context, spec, staged) {
      const source = spec.ProcessingInputs.find((i) => i.DatasetInput);
      const stagedSource = source && staged.get(source.InputName);
      if (!source || !stagedSource?.dataset) {
        throw invalidArgument(
          'ProcessingInputs',
          'the recipe processor needs a DatasetInput: the dataset version to transform',
        );
      }
      const recipeInput = spec.ProcessingInputs.find((i) => i.InputName === 'recipe' && i.S3Input);
      const recipeDir = recipeInput && staged.get('recipe')?.path;
      if (!recipeDir) {
        throw invalidArgument(
          'ProcessingInputs',
          'the recipe processor needs an input named "recipe" holding the recipe JSON',
        );
      }
      const file = (await readdir(recipeDir)).find((f) => f.endsWith('.json'));
      if (!file) {
        throw invalidArgument('ProcessingInputs.recipe', `no .json file under ${recipeInput.S3Input!.S3Uri}`);
      }
      let recipe: unknown;
      try {
        recipe = JSON.parse(await readFile(join(recipeDir, file), 'utf8'));
      } catch (error) {
        throw invalidArgument(
          'ProcessingInputs.recipe',
          `${file} is not valid JSON: ${(error as Error).message}`,
        );
      }
      const parquet = (await readdir(stagedSource.path)).find((f) => f.endsWith('.parquet'));
      if (!parquet) {
        throw new TrainyardError(
          'FAILED_PRECONDITION',
          `ClientError: dataset ${stagedSource.dataset.datasetName} version ${stagedSource.dataset.version} has no Parquet file`,
        );
      }
      const version = await (await options.datasets()).getVersion(
        stagedSource.dataset.datasetName,
        stagedSource.dataset.version,
      );
      const input: RecipeProcessorInput = {
        parquetPath: join(stagedSource.path, parquet),
        schema: version.schema,
        target: version.target,
        recipe: parseRecipe(recipe),
        outDir: join(context.workdir, 'output', 'recipe'),
      };
      await writeFile(recipeInputFile(context.workdir), JSON.stringify(input));
      return {
        command: 'node',
        args: [
          options.entry,
          '--opt-ml',
          context.workdir,
          // Half the instance's memory for DuckDB (it spills beyond), the rest for Node and slack.
          '--memory-mib',
          String(Math.floor(context.instanceType.memoryMiB / 2)),
          '--threads',
          String(Math.max(1, Math.floor(context.instanceType.vcpus))),
        ],
      };
    },
    async datasetOutputs(context, spec, staged) {
      const written = JSON.parse(
        await readFile(recipeResultFile(context.workdir), 'utf8'),
      ) as RecipeProcessorResult;
      const input = JSON.parse(
        await readFile(recipeInputFile(context.workdir), 'utf8'),
      ) as RecipeProcessorInput;
      const source = spec.ProcessingInputs.find((i) => i.DatasetInput)!;
      const parent = staged.get(source.InputName)!.dataset!;
      const datasetOutput = spec.ProcessingOutputConfig?.Outputs.find((o) => o.DatasetOutput);
      const stored = await registerRecipeOutputs(
        await options.datasets(),
        { dataset: parent.datasetName, version: parent.version, target: input.target },
        {
          ...written,
          recipeName: input.recipe.name,
          output: recipeOutputName(
            parent.datasetName,
            input.recipe.name,
            datasetOutput?.DatasetOutput?.DatasetName,
          ),
          jobName: context.job.name,
        },
      );
      const name = datasetOutput?.OutputName ?? 'recipe';
      return stored.versions.map((v) => {
        context.log(`recipe: wrote dataset ${v.dataset} version ${v.version} (${v.rowCount} rows)`);
        return {
          OutputName: v.lineage.split ? `${name}-${v.lineage.split}` : name,
          S3Uri: v.uri,
          Objects: 1,
          Bytes: v.sizeBytes,
          DatasetName: v.dataset,
          DatasetVersion: v.version,
        };
      });
    },
  };
}

/** Writes a processor error where the worker reads a failure reason. */
export async function writeProcessorFailure(optMl: string, error: unknown): Promise<void> {
  const message = TrainyardError.is(error) ? error.message : `AlgorithmError: ${(error as Error).message}`;
  await writeFile(join(optMl, 'output', 'failure'), message);
}
