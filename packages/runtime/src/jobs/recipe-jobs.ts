import { randomBytes } from 'node:crypto';
import {
  CreateProcessingJobBody,
  type CreateProcessingJobInput,
  type ProcessingJob,
} from '@trainyard/contracts/processing-jobs';
import type { RunRecipeBody } from '@trainyard/contracts/recipes';
import { type DatasetService, parseRecipe } from '../data/dataset-service.js';
import { recipeOutputName } from '../data/run-recipe.js';
import { recipeProcessorImage } from './recipe-processor.js';

/** Rows the request path fits and applies a recipe to before queueing the real run. */
const checkRows = 5;

/**
 * `POST /recipes/run` without DuckDB's full pass in the HTTP request: the recipe is checked on
 * the first few rows (a bounded preview, so a step naming a missing column fails at once with its
 * field), stored as a document, and a processing job with the built-in recipe processor runs it.
 * The caller polls the job; its ProcessingOutputs name the new versions.
 */
export class RecipeJobs {
  constructor(
    private readonly options: {
      datasets: () => Promise<DatasetService>;
      createProcessingJob: (body: CreateProcessingJobBody) => Promise<ProcessingJob>;
    },
  ) {}

  async submit(body: RunRecipeBody): Promise<ProcessingJob> {
    const recipe = parseRecipe(body.recipe);
    const datasets = await this.options.datasets();
    // Pinned to a number now, so the job reads the version the check was made on.
    const version = await datasets.getVersion(body.dataset, body.version ?? 'latest');
    await datasets.previewRecipe(body.dataset, version.version, recipe, checkRows);
    const jobName = body.jobName ?? `recipe-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const recipeUri = await datasets.putDocument(`recipes/runs/${jobName}/recipe.json`, recipe);
    const input: CreateProcessingJobInput = {
      ProcessingJobName: jobName,
      ProcessingResources: {
        ClusterConfig: {
          InstanceCount: 1,
          InstanceType: body.instanceType ?? 'ml.m5.large',
          VolumeSizeInGB: 1,
        },
      },
      AppSpecification: { ImageUri: recipeProcessorImage },
      ProcessingInputs: [
        { InputName: 'data', DatasetInput: { DatasetName: body.dataset, Version: version.version } },
        { InputName: 'recipe', S3Input: { S3Uri: recipeUri, S3DataType: 'S3Prefix' } },
      ],
      ProcessingOutputConfig: {
        Outputs: [
          {
            OutputName: 'recipe',
            DatasetOutput: { DatasetName: recipeOutputName(body.dataset, recipe.name, body.output) },
          },
        ],
      },
    };
    return this.options.createProcessingJob(CreateProcessingJobBody.parse(input));
  }
}
