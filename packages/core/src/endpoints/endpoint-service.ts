import {
  ContainerDefinition,
  CreateEndpointBody,
  CreateEndpointConfigBody,
  CreateModelBody,
  type Endpoint,
  type EndpointConfig,
  type EndpointInstance,
  type Model,
  UpdateEndpointBody,
  UpdateEndpointWeightsAndCapacitiesBody,
} from '@trainyard/contracts/endpoints';
import { invalidArgument, parseOrRefuse, TrainyardError } from '@trainyard/contracts/errors';
import type { Page } from '@trainyard/contracts/pagination';
import type { EndpointStore, StoredEndpoint, VariantState } from '../ports/endpoint-store.js';
import type { InstanceTypeStore, PageRequest } from '../ports/metadata-store.js';
import { servingContainerOf } from './serving-container.js';

/** The EventPublisher's `stateChange`, as far as endpoints use it. */
export interface EndpointStateEvents {
  stateChange(
    resource: 'endpoint',
    name: string,
    detail: { state: string; previousState?: string; [key: string]: unknown },
  ): Promise<unknown>;
}

const arnPrefix = 'arn:aws:sagemaker:us-east-1:000000000000';

export function variantsOf(config: EndpointConfig): VariantState[] {
  return config.ProductionVariants.map((v) => ({
    VariantName: v.VariantName,
    ModelName: v.ModelName,
    InstanceType: v.InstanceType,
    CurrentWeight: v.InitialVariantWeight,
    DesiredWeight: v.InitialVariantWeight,
    DesiredInstanceCount: v.InitialInstanceCount,
    ...(v.ContainerStartupHealthCheckTimeoutInSeconds
      ? { HealthCheckTimeoutSeconds: v.ContainerStartupHealthCheckTimeoutInSeconds }
      : {}),
  }));
}

/** The SageMaker-shaped view of an endpoint; CurrentInstanceCount counts serving instances. */
export function endpointView(endpoint: StoredEndpoint, instances: readonly EndpointInstance[]): Endpoint {
  return {
    EndpointName: endpoint.name,
    EndpointArn: `${arnPrefix}:endpoint/${endpoint.name.toLowerCase()}`,
    EndpointConfigName: endpoint.configName,
    EndpointStatus: endpoint.status,
    ...(endpoint.failureReason ? { FailureReason: endpoint.failureReason } : {}),
    ...(endpoint.pendingConfigName ? { PendingEndpointConfigName: endpoint.pendingConfigName } : {}),
    ProductionVariants: endpoint.variants.map((v) => ({
      VariantName: v.VariantName,
      ModelName: v.ModelName,
      InstanceType: v.InstanceType,
      CurrentWeight: v.CurrentWeight,
      DesiredWeight: v.DesiredWeight,
      CurrentInstanceCount: instances.filter(
        (i) =>
          i.EndpointConfigName === endpoint.configName &&
          i.VariantName === v.VariantName &&
          i.Status === 'InService',
      ).length,
      DesiredInstanceCount: v.DesiredInstanceCount,
    })),
    CreationTime: endpoint.createdAt.toISOString(),
    LastModifiedTime: endpoint.updatedAt.toISOString(),
  };
}

/** What CreateModel needs of the model registry (ModelPackageService). */
export interface ModelPackageResolver {
  /** @throws INVALID_ARGUMENT (no such package), FAILED_PRECONDITION (not deployable) */
  containerForDeployment(
    ref: string,
    allowUnapproved: boolean,
  ): Promise<{ arn: string; container: ContainerDefinition }>;
}

/** What a router needs of one endpoint: variant weights and the instances serving each. */
export interface EndpointRoute {
  name: string;
  status: StoredEndpoint['status'];
  /** `lane`: the instance's framed-lane address (`tcp://host:port`), when its server has one. */
  variants: { name: string; weight: number; instances: { id: string; url: string; lane?: string }[] }[];
}

/**
 * Models, endpoint configs and endpoints as every door sees them. It only records desired
 * state; the endpoint reconciler (runtime) starts and stops instances to match it.
 */
export class EndpointService {
  readonly #store: EndpointStore;
  readonly #instanceTypes: InstanceTypeStore;
  readonly #modelPackages: ModelPackageResolver | undefined;

  readonly #events: EndpointStateEvents | undefined;

  /** @param events receives `trainyard.endpoint.state-change` for the changes the API makes (the reconciler sends the rest) */
  constructor(
    store: EndpointStore,
    instanceTypes: InstanceTypeStore,
    modelPackages?: ModelPackageResolver,
    events?: EndpointStateEvents,
  ) {
    this.#store = store;
    this.#instanceTypes = instanceTypes;
    this.#modelPackages = modelPackages;
    this.#events = events;
  }

  /** A state change the API made; publishing never fails the call that made it (the change is stored). */
  /** Publishes the endpoint's state change; with `reason`, also when the status stayed (weights moved in place). */
  async #changed(next: StoredEndpoint, previous: string | undefined, reason?: string): Promise<void> {
    if (!this.#events || (next.status === previous && reason === undefined)) return;
    await this.#events
      .stateChange('endpoint', next.name, {
        state: next.status,
        ...(previous ? { previousState: previous } : {}),
        ...(reason ? { reason } : {}),
        endpointConfigName: next.pendingConfigName ?? next.configName,
      })
      .catch(() => undefined);
  }

  async createModel(input: unknown): Promise<Model> {
    const body = parseOrRefuse(CreateModelBody, input, 'body');
    let container = body.PrimaryContainer;
    let packageArn: string | undefined;
    if (body.modelPackageName !== undefined) {
      if (!this.#modelPackages)
        throw new TrainyardError(
          'FAILED_PRECONDITION',
          'body.modelPackageName: the model registry is not available here',
          {
            field: 'body.modelPackageName',
          },
        );
      const resolved = await this.#modelPackages.containerForDeployment(
        body.modelPackageName,
        body.allowUnapprovedModelPackage === true,
      );
      // The package's container passes the same checks as one given directly.
      const checked = ContainerDefinition.safeParse(resolved.container);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        throw invalidArgument(
          'body.modelPackageName',
          `the package's container cannot be served: ${issue?.path.join('.')}: ${issue?.message}`,
        );
      }
      container = checked.data;
      packageArn = resolved.arn;
    }
    if (!container) throw invalidArgument('body.PrimaryContainer', 'is required');
    for (const name of Object.keys(container.Environment ?? {})) {
      if (isLoaderVariable(name)) {
        throw invalidArgument(
          `body.PrimaryContainer.Environment.${name}`,
          'variables that change how the runtime loads code (NODE_*, LD_*, DYLD_*) are not passed to model instances',
        );
      }
    }
    servingContainerOf(
      container,
      packageArn !== undefined ? 'body.modelPackageName' : 'body.PrimaryContainer',
    );
    return this.#store.createModel({
      ModelName: body.ModelName,
      ModelArn: `${arnPrefix}:model/${body.ModelName.toLowerCase()}`,
      PrimaryContainer: container,
      ...(packageArn !== undefined ? { ModelPackageName: packageArn } : {}),
      CreationTime: new Date().toISOString(),
    });
  }

  describeModel(name: string): Promise<Model> {
    return this.#store.getModel(name);
  }

  listModels(page?: PageRequest): Promise<Page<Model>> {
    return this.#store.listModels(page);
  }

  deleteModel(name: string): Promise<void> {
    return this.#store.deleteModel(name);
  }

  async createEndpointConfig(input: unknown): Promise<EndpointConfig> {
    const body = parseOrRefuse(CreateEndpointConfigBody, input, 'body');
    for (const [i, variant] of body.ProductionVariants.entries()) {
      const field = `body.ProductionVariants.${i}`;
      await this.#store.getModel(variant.ModelName).catch((error: unknown) => {
        throw TrainyardError.is(error, 'NOT_FOUND')
          ? new TrainyardError(
              'INVALID_ARGUMENT',
              `${field}.ModelName: model "${variant.ModelName}" does not exist`,
              {
                field: `${field}.ModelName`,
              },
            )
          : error;
      });
      await this.#instanceTypes.get(variant.InstanceType).catch((error: unknown) => {
        throw TrainyardError.is(error, 'NOT_FOUND')
          ? new TrainyardError(
              'INVALID_ARGUMENT',
              `${field}.InstanceType: instance type "${variant.InstanceType}" does not exist (trainyard instance-types list)`,
              { field: `${field}.InstanceType` },
            )
          : error;
      });
    }
    return this.#store.createConfig({
      ...body,
      EndpointConfigArn: `${arnPrefix}:endpoint-config/${body.EndpointConfigName.toLowerCase()}`,
      CreationTime: new Date().toISOString(),
    });
  }

  describeEndpointConfig(name: string): Promise<EndpointConfig> {
    return this.#store.getConfig(name);
  }

  listEndpointConfigs(page?: PageRequest): Promise<Page<EndpointConfig>> {
    return this.#store.listConfigs(page);
  }

  async deleteEndpointConfig(name: string): Promise<void> {
    await this.#store.getConfig(name);
    for (const endpoint of await this.#allEndpoints()) {
      if (endpoint.configName === name || endpoint.pendingConfigName === name)
        throw new TrainyardError(
          'FAILED_PRECONDITION',
          `endpoint config "${name}" is used by endpoint "${endpoint.name}"; update or delete the endpoint first`,
        );
    }
    await this.#store.deleteConfig(name);
  }

  async #allEndpoints(): Promise<StoredEndpoint[]> {
    const all: StoredEndpoint[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.#store.listEndpoints({ pageToken, limit: 1000 });
      all.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return all;
  }

  async #configOrRefuse(name: string): Promise<EndpointConfig> {
    return this.#store.getConfig(name).catch((error: unknown) => {
      throw TrainyardError.is(error, 'NOT_FOUND')
        ? new TrainyardError(
            'INVALID_ARGUMENT',
            `body.EndpointConfigName: endpoint config "${name}" does not exist`,
            { field: 'body.EndpointConfigName' },
          )
        : error;
    });
  }

  async createEndpoint(input: unknown): Promise<Endpoint> {
    const body = parseOrRefuse(CreateEndpointBody, input, 'body');
    const config = await this.#configOrRefuse(body.EndpointConfigName);
    const now = new Date();
    const created = await this.#store.createEndpoint({
      name: body.EndpointName,
      configName: config.EndpointConfigName,
      pendingConfigName: undefined,
      status: 'Creating',
      failureReason: undefined,
      variants: variantsOf(config),
      createdAt: now,
      updatedAt: now,
      version: 1,
    });
    await this.#changed(created, undefined);
    return endpointView(created, []);
  }

  async describeEndpoint(name: string): Promise<Endpoint> {
    const endpoint = await this.#store.getEndpoint(name);
    return endpointView(endpoint, await this.#store.listInstances(name));
  }

  async listEndpoints(page?: PageRequest): Promise<Page<Endpoint>> {
    const listed = await this.#store.listEndpoints(page);
    return { ...listed, items: listed.items.map((e) => endpointView(e, [])) };
  }

  /** The serving config's variants and their InService instances; routers cache this briefly. */
  async routeOf(name: string): Promise<EndpointRoute> {
    const endpoint = await this.#store.getEndpoint(name);
    const instances = await this.#store.listInstances(name);
    return {
      name,
      status: endpoint.status,
      variants: endpoint.variants.map((v) => ({
        name: v.VariantName,
        weight: v.CurrentWeight,
        instances: instances
          .filter(
            (i) =>
              i.EndpointConfigName === endpoint.configName &&
              i.VariantName === v.VariantName &&
              i.Status === 'InService' &&
              i.Url !== undefined,
          )
          .map((i) =>
            i.LaneUrl
              ? { id: i.InstanceId, url: i.Url as string, lane: i.LaneUrl }
              : { id: i.InstanceId, url: i.Url as string },
          ),
      })),
    };
  }

  /** Every recorded instance of every endpoint, with its last CPU and memory sample (for /metrics). */
  async allInstances(): Promise<EndpointInstance[]> {
    return (await this.#store.listInstances()).map(({ owner: _owner, ...instance }) => instance);
  }

  listInstances(name: string): Promise<EndpointInstance[]> {
    return this.#store
      .getEndpoint(name)
      .then(() => this.#store.listInstances(name))
      .then((rows) => rows.map(({ owner: _owner, ...instance }) => instance));
  }

  async updateEndpoint(name: string, input: unknown): Promise<Endpoint> {
    const body = parseOrRefuse(UpdateEndpointBody, input, 'body');
    const config = await this.#configOrRefuse(body.EndpointConfigName);
    const endpoint = await this.#store.getEndpoint(name);
    if (endpoint.status !== 'InService')
      throw new TrainyardError(
        'FAILED_PRECONDITION',
        `endpoint "${name}" is ${endpoint.status}; it can be updated only when InService`,
      );
    const next = await this.#store.replaceEndpoint(endpoint, {
      ...endpoint,
      status: 'Updating',
      pendingConfigName: config.EndpointConfigName,
      failureReason: undefined,
      updatedAt: new Date(),
    });
    await this.#changed(next, endpoint.status);
    return endpointView(next, await this.#store.listInstances(name));
  }

  async updateWeightsAndCapacities(name: string, input: unknown): Promise<Endpoint> {
    const body = parseOrRefuse(UpdateEndpointWeightsAndCapacitiesBody, input, 'body');
    const endpoint = await this.#store.getEndpoint(name);
    if (endpoint.status !== 'InService')
      throw new TrainyardError(
        'FAILED_PRECONDITION',
        `endpoint "${name}" is ${endpoint.status}; weights and capacities change only when InService`,
      );
    const variants = endpoint.variants.map((v) => ({ ...v }));
    for (const [i, desired] of body.DesiredWeightsAndCapacities.entries()) {
      const variant = variants.find((v) => v.VariantName === desired.VariantName);
      if (!variant)
        throw new TrainyardError(
          'INVALID_ARGUMENT',
          `body.DesiredWeightsAndCapacities.${i}.VariantName: endpoint "${name}" has no variant "${desired.VariantName}"`,
          { field: `body.DesiredWeightsAndCapacities.${i}.VariantName` },
        );
      if (desired.DesiredWeight !== undefined) {
        // Weights move at once: the router reads them on its next refresh.
        variant.DesiredWeight = desired.DesiredWeight;
        variant.CurrentWeight = desired.DesiredWeight;
      }
      if (desired.DesiredInstanceCount !== undefined)
        variant.DesiredInstanceCount = desired.DesiredInstanceCount;
    }
    if (!variants.some((v) => v.CurrentWeight > 0))
      throw new TrainyardError(
        'INVALID_ARGUMENT',
        'body.DesiredWeightsAndCapacities: at least one variant needs a weight above 0',
        { field: 'body.DesiredWeightsAndCapacities' },
      );
    const next = await this.#store.replaceEndpoint(endpoint, {
      ...endpoint,
      variants,
      status: variants.some((v, i) => v.DesiredInstanceCount !== endpoint.variants[i]?.DesiredInstanceCount)
        ? 'Updating'
        : 'InService',
      updatedAt: new Date(),
    });
    await this.#changed(next, endpoint.status, 'weights and capacities updated');
    return endpointView(next, await this.#store.listInstances(name));
  }

  async deleteEndpoint(name: string): Promise<Endpoint> {
    const endpoint = await this.#store.getEndpoint(name);
    const next =
      endpoint.status === 'Deleting'
        ? endpoint
        : await this.#store.replaceEndpoint(endpoint, {
            ...endpoint,
            status: 'Deleting',
            updatedAt: new Date(),
          });
    await this.#changed(next, endpoint.status);
    return endpointView(next, await this.#store.listInstances(name));
  }
}

/**
 * Variables that make the runtime load other code (`NODE_OPTIONS=--require …`, `LD_PRELOAD`): a
 * model instance is the platform's own server process, so a model's Environment may not set them.
 */
export function isLoaderVariable(name: string): boolean {
  return /^(NODE_|LD_|DYLD_)/i.test(name);
}
