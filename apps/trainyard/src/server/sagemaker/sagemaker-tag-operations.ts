import type { ResourceTag } from '@trainyard/core/ports/tag-store';
import type { DoorServices } from '../door-services.js';
import { SageMakerError } from './sagemaker-error.js';
import { allPages, arnPrefix, defined, type Json, listPage } from './sagemaker-mapping.js';
import type { SageMakerOperation } from './sagemaker-operations.js';

type TagServices = Pick<
  DoorServices,
  'tags' | 'endpoints' | 'trainingJobs' | 'processingJobs' | 'experiments' | 'modelPackages'
>;

/** True when `call` finds the resource; other failures propagate. */
async function found(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'NOT_FOUND') return false;
    throw error;
  }
}

/**
 * Whether the door knows the resource an ARN names. ARNs carry the lowercased name: an exact
 * lookup first, then (for the small collections) a case-insensitive match.
 */
async function resourceExists(services: TagServices, type: string, name: string): Promise<boolean> {
  const { endpoints, trainingJobs, processingJobs, experiments, modelPackages } = services;
  const lower = (names: string[]) => names.some((n) => n.toLowerCase() === name);
  switch (type) {
    case 'training-job':
      return found(() => trainingJobs.describe(name));
    case 'experiment-trial-component':
      return experiments.componentExists(name);
    case 'experiment-trial':
      return found(() => experiments.describeTrial(name));
    case 'processing-job':
      return found(() => processingJobs.describe(name));
    case 'model':
      return (
        (await found(() => endpoints.describeModel(name))) ||
        lower((await allPages((p) => endpoints.listModels(p))).map((m) => m.ModelName))
      );
    case 'endpoint-config':
      return (
        (await found(() => endpoints.describeEndpointConfig(name))) ||
        lower((await allPages((p) => endpoints.listEndpointConfigs(p))).map((c) => c.EndpointConfigName))
      );
    case 'endpoint':
      return (
        (await found(() => endpoints.describeEndpoint(name))) ||
        lower((await allPages((p) => endpoints.listEndpoints(p))).map((e) => e.EndpointName))
      );
    // Experiment names are unique ignoring case, so the lowercased name of an ARN finds it.
    case 'experiment':
      return found(() => experiments.describeExperiment(name));
    // Group names are unique ignoring case, so the lowercased name of an ARN finds its group.
    case 'model-package-group':
      return found(() => modelPackages.describeGroup(name));
    case 'model-package':
      return /^[^/]+\/\d+$/.test(name) && found(() => modelPackages.describePackageByRef(name));
    default:
      return false;
  }
}

/** The canonical ARN (the door's account and region, lowercased name) of a resource the door knows. */
async function knownArn(services: TagServices, arn: string): Promise<string> {
  const match = /^arn:aws:sagemaker:([a-z0-9-]*):(\d{12}):([a-z-]+)\/(.+)$/.exec(arn);
  const missing = new SageMakerError('ValidationException', 400, `Could not find resource "${arn}".`);
  if (!match || `arn:aws:sagemaker:${match[1]}:${match[2]}` !== arnPrefix) throw missing;
  const [, , , type = '', rawName = ''] = match;
  const name = rawName.toLowerCase();
  if (!(await resourceExists(services, type, name))) throw missing;
  return `${arnPrefix}:${type}/${name}`;
}

/**
 * AddTags, ListTags and DeleteTags on every resource ARN the door knows: training and processing
 * jobs, models, endpoint configs, endpoints, experiments and trial components. Resources created
 * through the door with `Tags` keep them; deleting one through the door drops them.
 */
export function sageMakerTagOperations(services: TagServices): Record<string, SageMakerOperation> {
  return {
    AddTags: {
      access: 'write',
      summary:
        'tags on a job, model, endpoint config, endpoint, experiment, trial, trial component, model package group or model package ARN (at most 50, `aws:` keys reserved); a value of a key already there is replaced',
      async handle(input) {
        const arn = await knownArn(services, input.ResourceArn as string);
        return { Tags: await services.tags.add(arn, input.Tags as ResourceTag[]) };
      },
    },
    ListTags: {
      access: 'read',
      summary: 'the tags of a resource ARN the door knows, by key; `MaxResults`/`NextToken`',
      async handle(input) {
        const arn = await knownArn(services, input.ResourceArn as string);
        const all = await services.tags.list(arn);
        const { page, next } = listPage(
          all,
          { ...input, SortBy: 'Name', SortOrder: 'Ascending', MaxResults: input.MaxResults ?? 50 } as Json,
          (t) => ({
            name: t.Key,
            creationTime: new Date(0).toISOString(),
          }),
        );
        return defined({ Tags: page, NextToken: next });
      },
    },
    DeleteTags: {
      access: 'write',
      summary: 'removes the named keys from a resource ARN the door knows (keys it lacks are ignored)',
      async handle(input) {
        const arn = await knownArn(services, input.ResourceArn as string);
        await services.tags.remove(arn, input.TagKeys as string[]);
        return {};
      },
    },
  };
}
