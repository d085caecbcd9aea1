import type { experimentRoutes } from '@trainyard/contracts/experiment-routes';
import type { DoorServices } from './door-services.js';
import type { HandlersOf } from './route-handlers.js';
import { sageMakerArn } from './sagemaker/sagemaker-mapping.js';

export function experimentHandlers({
  experiments,
  tags,
}: Pick<DoorServices, 'experiments' | 'tags'>): HandlersOf<typeof experimentRoutes> {
  return {
    createExperiment: async ({ body, principal }) => {
      const experiment = await experiments.createExperiment(body, {
        KeyId: principal.keyId,
        KeyName: principal.name,
      });
      // The same tags the SageMaker door's ListTags reads for the experiment's ARN.
      await tags.replace(sageMakerArn('experiment', experiment.ExperimentName), body.Tags);
      return experiment;
    },
    describeExperiment: async ({ params }) => experiments.describeExperiment(params.name),
    deleteExperiment: async ({ params }) => {
      const deleted = await experiments.deleteExperiment(params.name);
      await tags.replace(sageMakerArn('experiment', deleted.ExperimentName), undefined);
      return { deleted: true as const };
    },
    listExperiments: async ({ query }) => ({ items: await experiments.list(query.nameContains) }),
    compareExperimentRuns: async ({ params, query }) => experiments.runs(params.name, query),
  };
}
