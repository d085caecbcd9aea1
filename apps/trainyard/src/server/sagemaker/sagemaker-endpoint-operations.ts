import type { Endpoint, EndpointConfig, Model } from '@trainyard/contracts/endpoints';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { ResourceTag } from '@trainyard/core/ports/tag-store';
import type { DoorServices } from '../door-services.js';
import { SageMakerError } from './sagemaker-error.js';
import {
  allPages,
  defined,
  epochSeconds,
  type Json,
  listPage,
  notSupported,
  orMissing,
  sageMakerArn,
} from './sagemaker-mapping.js';
import type { SageMakerOperation } from './sagemaker-operations.js';

/** What SageMaker calls each resource in its "Could not find …" and "already existing …" messages. */
const wording = {
  model: 'model',
  'endpoint-config': 'endpoint configuration',
  endpoint: 'endpoint',
} as const;
type Kind = keyof typeof wording;

/** SageMaker's answer to a name it does not know: `Could not find model "arn:…".` */
export function couldNotFind(kind: Kind, name: string): SageMakerError {
  return new SageMakerError(
    'ValidationException',
    400,
    `Could not find ${wording[kind]} "${sageMakerArn(kind, name)}".`,
  );
}

/** Creates through `create`, answering a taken name as SageMaker does (a ValidationException). */
async function created<T>(kind: Kind, name: string, create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (error) {
    if (TrainyardError.is(error, 'ALREADY_EXISTS'))
      throw new SageMakerError(
        'ValidationException',
        400,
        `Cannot create already existing ${wording[kind]} "${sageMakerArn(kind, name)}".`,
      );
    throw error;
  }
}

/** CreateModel's container (PrimaryContainer or the single entry of Containers) as the native body's. */
function containerOf(input: Json): Json {
  const containers = input.Containers as Json[] | undefined;
  if (input.PrimaryContainer !== undefined && containers !== undefined)
    throw new SageMakerError(
      'ValidationException',
      400,
      'Only one of PrimaryContainer or Containers can be specified.',
    );
  if (containers !== undefined && containers.length > 1)
    throw notSupported('containers', 'one container per model (inference pipelines are not supported)');
  const container = (input.PrimaryContainer as Json | undefined) ?? containers?.[0];
  const path = input.PrimaryContainer !== undefined ? 'primaryContainer' : 'containers.1.member';
  if (!container)
    throw new SageMakerError(
      'ValidationException',
      400,
      "Value null at 'primaryContainer' failed to satisfy constraint: either PrimaryContainer or Containers must be specified",
    );
  if (container.Mode === 'MultiModel')
    throw notSupported(`${path}.mode`, 'MultiModel endpoints are not supported; use SingleModel');
  for (const member of ['ModelDataSource', 'ImageConfig', 'MultiModelConfig', 'InferenceSpecificationName']) {
    if (container[member] !== undefined)
      throw notSupported(
        `${path}.${member.charAt(0).toLowerCase()}${member.slice(1)}`,
        'give Image, ModelDataUrl and Environment',
      );
  }
  return defined({
    Image: container.Image,
    ModelDataUrl: container.ModelDataUrl,
    Environment: container.Environment,
  });
}

function describedModel(model: Model): Json {
  return {
    ModelName: model.ModelName,
    ModelArn: model.ModelArn,
    PrimaryContainer: defined({
      Image: model.PrimaryContainer.Image,
      Mode: 'SingleModel',
      ModelDataUrl: model.PrimaryContainer.ModelDataUrl,
      Environment: model.PrimaryContainer.Environment,
    }),
    EnableNetworkIsolation: false,
    CreationTime: epochSeconds(model.CreationTime),
  };
}

function describedConfig(config: EndpointConfig): Json {
  return {
    EndpointConfigName: config.EndpointConfigName,
    EndpointConfigArn: config.EndpointConfigArn,
    ProductionVariants: config.ProductionVariants.map((v) => ({
      VariantName: v.VariantName,
      ModelName: v.ModelName,
      InitialInstanceCount: v.InitialInstanceCount,
      InstanceType: v.InstanceType,
      InitialVariantWeight: v.InitialVariantWeight,
    })),
    CreationTime: epochSeconds(config.CreationTime),
  };
}

function describedEndpoint(endpoint: Endpoint): Json {
  return defined({
    EndpointName: endpoint.EndpointName,
    EndpointArn: endpoint.EndpointArn,
    EndpointConfigName: endpoint.EndpointConfigName,
    ProductionVariants: endpoint.ProductionVariants.map((v) => ({
      VariantName: v.VariantName,
      CurrentWeight: v.CurrentWeight,
      DesiredWeight: v.DesiredWeight,
      CurrentInstanceCount: v.CurrentInstanceCount,
      DesiredInstanceCount: v.DesiredInstanceCount,
    })),
    EndpointStatus: endpoint.EndpointStatus,
    FailureReason: endpoint.FailureReason,
    CreationTime: epochSeconds(endpoint.CreationTime),
    LastModifiedTime: epochSeconds(endpoint.LastModifiedTime),
  });
}

/**
 * Models, endpoint configs and endpoints: each operation maps onto the EndpointService the REST
 * API calls. The reconciler that starts model servers is the same, so `EndpointStatus` moves
 * through SageMaker's own statuses (Creating, InService, Updating, RollingBack, Failed,
 * Deleting) and the SDK waiters work unchanged.
 */
export function sageMakerEndpointOperations({
  endpoints,
  tags,
}: Pick<DoorServices, 'endpoints' | 'tags'>): Record<string, SageMakerOperation> {
  return {
    CreateModel: {
      access: 'write',
      summary:
        "model create: `PrimaryContainer` or one `Containers` entry (`Image`, `ModelDataUrl`, `Environment`; `ModelPackageName` goes to the registry's model package); `ExecutionRoleArn` and `VpcConfig` accepted and ignored (no IAM, instances listen on loopback); `Tags` kept",
      async handle(input) {
        const name = input.ModelName as string;
        if (input.EnableNetworkIsolation === true)
          throw notSupported('enableNetworkIsolation', 'model servers run as host processes');
        const container = containerOf(input);
        const packageName =
          ((input.PrimaryContainer as Json | undefined)?.ModelPackageName as string | undefined) ??
          ((input.Containers as Json[] | undefined)?.[0]?.ModelPackageName as string | undefined);
        const model = await created('model', name, () =>
          endpoints.createModel(
            defined({
              ModelName: name,
              PrimaryContainer:
                packageName !== undefined && container.Image === undefined ? undefined : container,
              ExecutionRoleArn: input.ExecutionRoleArn,
              modelPackageName: packageName,
            }),
          ),
        );
        await tags.replace(model.ModelArn, input.Tags as ResourceTag[] | undefined);
        return { ModelArn: model.ModelArn };
      },
    },
    DescribeModel: {
      access: 'read',
      summary: 'model describe; a missing model is ValidationException "Could not find model …"',
      async handle(input) {
        const name = input.ModelName as string;
        return describedModel(
          await orMissing(
            () => couldNotFind('model', name),
            () => endpoints.describeModel(name),
          ),
        );
      },
    },
    ListModels: {
      access: 'read',
      summary:
        'model list: `NameContains`, `CreationTimeAfter`/`Before`, `SortBy` Name/CreationTime, `SortOrder`, `MaxResults`/`NextToken`',
      async handle(input) {
        const all = await allPages((page) => endpoints.listModels(page));
        const { page, next } = listPage(all, input, (m) => ({
          name: m.ModelName,
          creationTime: m.CreationTime,
        }));
        return defined({
          Models: page.map((m) => ({
            ModelName: m.ModelName,
            ModelArn: m.ModelArn,
            CreationTime: epochSeconds(m.CreationTime),
          })),
          NextToken: next,
        });
      },
    },
    DeleteModel: {
      access: 'write',
      summary: 'model delete; its tags go with it',
      async handle(input) {
        const name = input.ModelName as string;
        await orMissing(
          () => couldNotFind('model', name),
          () => endpoints.deleteModel(name),
        );
        await tags.replace(sageMakerArn('model', name), undefined);
        return {};
      },
    },
    CreateEndpointConfig: {
      access: 'write',
      summary:
        'endpoint config create: `ProductionVariants` (`VariantName`, `ModelName`, `InstanceType` from the instance-type catalog, `InitialInstanceCount`, `InitialVariantWeight`); serverless, async, data capture and KMS refused; `Tags` kept',
      async handle(input) {
        const name = input.EndpointConfigName as string;
        for (const member of [
          'DataCaptureConfig',
          'AsyncInferenceConfig',
          'ShadowProductionVariants',
          'ExplainerConfig',
          'KmsKeyId',
        ]) {
          if (input[member] !== undefined)
            throw notSupported(
              `${member.charAt(0).toLowerCase()}${member.slice(1)}`,
              'real-time variants only',
            );
        }
        const variants = (input.ProductionVariants as Json[]).map((variant, i) => {
          for (const member of ['ServerlessConfig', 'AcceleratorType', 'CoreDumpConfig', 'VolumeSizeInGB']) {
            if (variant[member] !== undefined)
              throw notSupported(
                `productionVariants.${i + 1}.member.${member.charAt(0).toLowerCase()}${member.slice(1)}`,
                'give InstanceType and InitialInstanceCount',
              );
          }
          return defined({
            VariantName: variant.VariantName,
            ModelName: variant.ModelName,
            InstanceType: variant.InstanceType,
            InitialInstanceCount: variant.InitialInstanceCount,
            InitialVariantWeight: variant.InitialVariantWeight,
          });
        });
        const config = await created('endpoint-config', name, () =>
          endpoints.createEndpointConfig({ EndpointConfigName: name, ProductionVariants: variants }),
        );
        await tags.replace(config.EndpointConfigArn, input.Tags as ResourceTag[] | undefined);
        return { EndpointConfigArn: config.EndpointConfigArn };
      },
    },
    DescribeEndpointConfig: {
      access: 'read',
      summary:
        'endpoint config describe; a missing one is ValidationException "Could not find endpoint configuration …"',
      async handle(input) {
        const name = input.EndpointConfigName as string;
        return describedConfig(
          await orMissing(
            () => couldNotFind('endpoint-config', name),
            () => endpoints.describeEndpointConfig(name),
          ),
        );
      },
    },
    ListEndpointConfigs: {
      access: 'read',
      summary:
        'endpoint config list: `NameContains`, `CreationTimeAfter`/`Before`, `SortBy` Name/CreationTime, `SortOrder`, `MaxResults`/`NextToken`',
      async handle(input) {
        const all = await allPages((page) => endpoints.listEndpointConfigs(page));
        const { page, next } = listPage(all, input, (c) => ({
          name: c.EndpointConfigName,
          creationTime: c.CreationTime,
        }));
        return defined({
          EndpointConfigs: page.map((c) => ({
            EndpointConfigName: c.EndpointConfigName,
            EndpointConfigArn: c.EndpointConfigArn,
            CreationTime: epochSeconds(c.CreationTime),
          })),
          NextToken: next,
        });
      },
    },
    DeleteEndpointConfig: {
      access: 'write',
      summary: 'endpoint config delete (refused while an endpoint uses it); its tags go with it',
      async handle(input) {
        const name = input.EndpointConfigName as string;
        await orMissing(
          () => couldNotFind('endpoint-config', name),
          () => endpoints.deleteEndpointConfig(name),
        );
        await tags.replace(sageMakerArn('endpoint-config', name), undefined);
        return {};
      },
    },
    CreateEndpoint: {
      access: 'write',
      summary:
        "endpoint create: `Creating`, then `InService` once every variant's instances answer (or `Failed` with `FailureReason`); `DeploymentConfig` refused; `Tags` kept",
      async handle(input) {
        const name = input.EndpointName as string;
        if (input.DeploymentConfig !== undefined)
          throw notSupported('deploymentConfig', 'updates are blue/green with an all-at-once switch');
        const endpoint = await created('endpoint', name, () =>
          endpoints.createEndpoint({ EndpointName: name, EndpointConfigName: input.EndpointConfigName }),
        );
        await tags.replace(endpoint.EndpointArn, input.Tags as ResourceTag[] | undefined);
        return { EndpointArn: endpoint.EndpointArn };
      },
    },
    DescribeEndpoint: {
      access: 'read',
      summary:
        'endpoint describe: `EndpointStatus` as SageMaker reports it, `FailureReason`, `ProductionVariants` with current/desired weights and instance counts; a missing endpoint is ValidationException "Could not find endpoint …" (what `waitUntilEndpointDeleted` waits for)',
      async handle(input) {
        const name = input.EndpointName as string;
        return describedEndpoint(
          await orMissing(
            () => couldNotFind('endpoint', name),
            () => endpoints.describeEndpoint(name),
          ),
        );
      },
    },
    ListEndpoints: {
      access: 'read',
      summary:
        'endpoint list: `NameContains`, `StatusEquals`, creation/modification time bounds, `SortBy` Name/CreationTime/Status, `SortOrder`, `MaxResults`/`NextToken`',
      async handle(input) {
        const all = await allPages((page) => endpoints.listEndpoints(page));
        const { page, next } = listPage(all, input, (e) => ({
          name: e.EndpointName,
          creationTime: e.CreationTime,
          lastModifiedTime: e.LastModifiedTime,
          status: e.EndpointStatus,
        }));
        return defined({
          Endpoints: page.map((e) => ({
            EndpointName: e.EndpointName,
            EndpointArn: e.EndpointArn,
            CreationTime: epochSeconds(e.CreationTime),
            LastModifiedTime: epochSeconds(e.LastModifiedTime),
            EndpointStatus: e.EndpointStatus,
          })),
          NextToken: next,
        });
      },
    },
    UpdateEndpoint: {
      access: 'write',
      summary:
        'endpoint update to another config (blue/green: `Updating`, then `InService` on the new config, or back on the old one with `FailureReason`); `RetainAllVariantProperties`, `DeploymentConfig` refused',
      async handle(input) {
        const name = input.EndpointName as string;
        for (const member of [
          'RetainAllVariantProperties',
          'ExcludeRetainedVariantProperties',
          'DeploymentConfig',
          'RetainDeploymentConfig',
        ]) {
          if (input[member] !== undefined && input[member] !== false)
            throw notSupported(
              `${member.charAt(0).toLowerCase()}${member.slice(1)}`,
              "the new config's variants replace the old ones",
            );
        }
        const endpoint = await orMissing(
          () => couldNotFind('endpoint', name),
          () => endpoints.updateEndpoint(name, { EndpointConfigName: input.EndpointConfigName }),
        );
        return { EndpointArn: endpoint.EndpointArn };
      },
    },
    UpdateEndpointWeightsAndCapacities: {
      access: 'write',
      summary:
        'variant weights (at once) and instance counts (`Updating` until the instances match) of an `InService` endpoint',
      async handle(input) {
        const name = input.EndpointName as string;
        const desired = (input.DesiredWeightsAndCapacities as Json[]).map((d, i) => {
          if (d.ServerlessUpdateConfig !== undefined)
            throw notSupported(
              `desiredWeightsAndCapacities.${i + 1}.member.serverlessUpdateConfig`,
              'variants are real-time',
            );
          return defined({
            VariantName: d.VariantName,
            DesiredWeight: d.DesiredWeight,
            DesiredInstanceCount: d.DesiredInstanceCount,
          });
        });
        const endpoint = await orMissing(
          () => couldNotFind('endpoint', name),
          () => endpoints.updateWeightsAndCapacities(name, { DesiredWeightsAndCapacities: desired }),
        );
        return { EndpointArn: endpoint.EndpointArn };
      },
    },
    DeleteEndpoint: {
      access: 'write',
      summary:
        'endpoint delete: `Deleting` while its instances stop, then gone (DescribeEndpoint answers "Could not find endpoint …"); its tags go with it',
      async handle(input) {
        const name = input.EndpointName as string;
        await orMissing(
          () => couldNotFind('endpoint', name),
          () => endpoints.deleteEndpoint(name),
        );
        await tags.replace(sageMakerArn('endpoint', name), undefined);
        return {};
      },
    },
  };
}
