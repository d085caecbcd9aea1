import type { Endpoint } from '@trainyard/contracts/endpoints';
import type { TrainingJob } from '@trainyard/contracts/training-jobs';
import type { TrainyardClient } from '@trainyard/sdk/trainyard-client';

/** SageMaker's XGBoost image: jobs and models naming it run the built-in XGBoost. */
export const xgboostImage = '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1';

/**
 * Trains the built-in XGBoost on the label-first CSVs under `trainUri` (SageMaker's layout) and
 * waits until the job ends; returns the job as described last.
 */
export async function trainXgboost(
  client: TrainyardClient,
  name: string,
  options: { trainUri: string; outputUri: string; timeoutMs?: number },
): Promise<TrainingJob> {
  await client.call('createTrainingJob', {
    body: {
      TrainingJobName: name,
      AlgorithmSpecification: { TrainingImage: xgboostImage },
      HyperParameters: { objective: 'binary:logistic', num_round: '20', max_depth: '3' },
      OutputDataConfig: { S3OutputPath: options.outputUri },
      ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
      StoppingCondition: { MaxRuntimeInSeconds: 600 },
      InputDataConfig: [
        {
          ChannelName: 'train',
          ContentType: 'text/csv',
          DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: options.trainUri } },
        },
      ],
    },
  });
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  let job = await client.call('describeTrainingJob', { params: { name } });
  while (!['Completed', 'Failed', 'Stopped'].includes(job.TrainingJobStatus) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    job = await client.call('describeTrainingJob', { params: { name } });
  }
  return job;
}

/**
 * Model, endpoint config (one variant `AllTraffic`, one instance) and endpoint, all named `name`,
 * serving the XGBoost `artifact`; waits until the endpoint leaves Creating and returns it.
 */
export async function deployXgboost(
  client: TrainyardClient,
  name: string,
  artifact: string,
  timeoutMs = 60_000,
): Promise<Endpoint> {
  await client.call('createModel', {
    body: { ModelName: name, PrimaryContainer: { Image: xgboostImage, ModelDataUrl: artifact } },
  });
  await client.call('createEndpointConfig', {
    body: {
      EndpointConfigName: name,
      ProductionVariants: [
        { VariantName: 'AllTraffic', ModelName: name, InstanceType: 'ml.m5.large', InitialInstanceCount: 1 },
      ],
    },
  });
  await client.call('createEndpoint', { body: { EndpointName: name, EndpointConfigName: name } });
  const deadline = Date.now() + timeoutMs;
  let endpoint = await client.call('describeEndpoint', { params: { name } });
  while (endpoint.EndpointStatus === 'Creating' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    endpoint = await client.call('describeEndpoint', { params: { name } });
  }
  return endpoint;
}
