import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import type { InstanceTypeRecord } from '@trainyard/contracts/instance-types';
import type { CreateProcessingJobBody } from '@trainyard/contracts/processing-jobs';
import type { RecipeInput } from '@trainyard/contracts/recipes';
import type { DatasetService } from '../data/dataset-service.js';
import { runRecipe } from '../data/run-recipe.js';
import { hostPathOf } from './opt-ml-layout.js';
import type { BuiltInProcessor } from './processing-job-runner.js';

/** AppSpecification.ImageUri of the built-in recipe processor. */
export const recipeProcessorImage = 'trainyard/recipe-processor';

const resultFile = (optMl: string) => join(optMl, 'output', 'recipe-result.json');

/**
 * The built-in processor that runs a dataset recipe as a processing job. The job gives the
 * dataset version as a `DatasetInput`, the recipe JSON as an input named `recipe` (one .json
 * file), and optionally the receiving dataset as the first output's `DatasetOutput`; each output
 * (or split) becomes a new dataset version whose lineage names the job. `launch` says how to start
 * the job process that calls {@link runRecipeProcessor}.
 */
export function recipeProcessor(
  launch: (
    optMl: string,
    instanceType: InstanceTypeRecord,
  ) => { command: string; args: string[]; env?: Record<string, string> },
): BuiltInProcessor {
  return {
    imageUri: recipeProcessorImage,
    command: (context) => launch(context.workdir, context.instanceType),
    async datasetOutputs(context, spec) {
      const written = JSON.parse(
        await readFile(resultFile(context.workdir), 'utf8'),
      ) as RecipeProcessorResult;
      const name = spec.ProcessingOutputConfig?.Outputs.find((o) => o.DatasetOutput)?.OutputName ?? 'recipe';
      return written.versions.map((v) => ({
        OutputName: v.split ? `${name}-${v.split}` : name,
        S3Uri: v.uri,
        Objects: 1,
        Bytes: v.sizeBytes,
        DatasetName: v.dataset,
        DatasetVersion: v.version,
      }));
    },
  };
}

export interface RecipeProcessorResult {
  versions: {
    dataset: string;
    version: number;
    split?: string;
    uri: string;
    sizeBytes: number;
    rowCount: number;
  }[];
  fittedRecipeUri: string;
}

/**
 * Runs inside the job process: reads the job from `<optMl>/config/processingjobconfig.json`, runs
 * the recipe on the input dataset version and writes what it created to
 * `<optMl>/output/recipe-result.json` (a failure goes to `output/failure`, as for any script).
 */
export async function runRecipeProcessor(
  datasets: DatasetService,
  optMl: string,
  log: (line: string) => void,
): Promise<RecipeProcessorResult> {
  const spec = JSON.parse(
    await readFile(join(optMl, 'config', 'processingjobconfig.json'), 'utf8'),
  ) as CreateProcessingJobBody & {
    ProcessingJobName: string;
  };
  const source = spec.ProcessingInputs.find((i) => i.DatasetInput)?.DatasetInput;
  if (!source)
    throw invalidArgument(
      'ProcessingInputs',
      'the recipe processor needs a DatasetInput: the dataset version to transform',
    );
  const recipeInput = spec.ProcessingInputs.find((i) => i.InputName === 'recipe' && i.S3Input);
  if (!recipeInput?.S3Input)
    throw invalidArgument(
      'ProcessingInputs',
      'the recipe processor needs an input named "recipe" holding the recipe JSON',
    );
  const recipeDir = hostPathOf(optMl, recipeInput.S3Input.LocalPath ?? '/opt/ml/processing/input/recipe');
  const file = (await readdir(recipeDir)).find((f) => f.endsWith('.json'));
  if (!file)
    throw invalidArgument('ProcessingInputs.recipe', `no .json file under ${recipeInput.S3Input.S3Uri}`);
  let recipe: RecipeInput;
  try {
    recipe = JSON.parse(await readFile(join(recipeDir, file), 'utf8')) as RecipeInput;
  } catch (error) {
    throw invalidArgument(
      'ProcessingInputs.recipe',
      `${file} is not valid JSON: ${(error as Error).message}`,
    );
  }
  const output = spec.ProcessingOutputConfig?.Outputs.find((o) => o.DatasetOutput)?.DatasetOutput
    ?.DatasetName;
  let lastPhase = '';
  const run = await runRecipe(
    datasets,
    {
      dataset: source.DatasetName,
      version: source.Version ?? 'latest',
      recipe,
      output,
      jobName: spec.ProcessingJobName,
    },
    (event) => {
      if (event.phase !== lastPhase || event.fraction === 1) {
        log(
          `recipe: ${event.phase}${event.fraction !== undefined ? ` ${(event.fraction * 100).toFixed(0)}%` : ''}`,
        );
        lastPhase = event.phase;
      }
    },
  );
  const result: RecipeProcessorResult = {
    versions: run.versions.map((v) => ({
      dataset: v.dataset,
      version: v.version,
      ...(v.lineage.split ? { split: v.lineage.split } : {}),
      uri: v.uri,
      sizeBytes: v.sizeBytes,
      rowCount: v.rowCount,
    })),
    fittedRecipeUri: run.fittedRecipeUri,
  };
  for (const v of result.versions)
    log(`recipe: wrote dataset ${v.dataset} version ${v.version} (${v.rowCount} rows)`);
  await writeFile(resultFile(optMl), JSON.stringify(result));
  return result;
}

/** Writes a processor error where the worker reads a failure reason. */
export async function writeProcessorFailure(optMl: string, error: unknown): Promise<void> {
  const message = TrainyardError.is(error) ? error.message : `AlgorithmError: ${(error as Error).message}`;
  await writeFile(join(optMl, 'output', 'failure'), message);
}
