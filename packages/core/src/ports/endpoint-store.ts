import type { EndpointConfig, EndpointInstance, EndpointStatus, Model } from '@trainyard/contracts/endpoints';
import type { Page } from '@trainyard/contracts/pagination';
import type { PageRequest } from './metadata-store.js';

/** One variant of an endpoint as the reconciler drives it; instance counts come from the instances. */
export interface VariantState {
  VariantName: string;
  ModelName: string;
  InstanceType: string;
  CurrentWeight: number;
  DesiredWeight: number;
  DesiredInstanceCount: number;
  /** The config's ContainerStartupHealthCheckTimeoutInSeconds, when it sets one. */
  HealthCheckTimeoutSeconds?: number;
}

/** An endpoint's desired and observed state; `version` guards read-modify-write. */
export interface StoredEndpoint {
  name: string;
  configName: string;
  /** Set while Updating or RollingBack: the config the update moves to. */
  pendingConfigName: string | undefined;
  status: EndpointStatus;
  failureReason: string | undefined;
  /** Variants of `configName` (the serving config). */
  variants: VariantState[];
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

/** Models, endpoint configs, endpoints and their running instances. */
export interface EndpointStore {
  /** @throws ALREADY_EXISTS */
  createModel(model: Model): Promise<Model>;
  /** @throws NOT_FOUND */
  getModel(name: string): Promise<Model>;
  listModels(page?: PageRequest): Promise<Page<Model>>;
  /** @throws NOT_FOUND */
  deleteModel(name: string): Promise<void>;

  /** @throws ALREADY_EXISTS */
  createConfig(config: EndpointConfig): Promise<EndpointConfig>;
  /** @throws NOT_FOUND */
  getConfig(name: string): Promise<EndpointConfig>;
  listConfigs(page?: PageRequest): Promise<Page<EndpointConfig>>;
  /** @throws NOT_FOUND */
  deleteConfig(name: string): Promise<void>;

  /** @throws ALREADY_EXISTS */
  createEndpoint(endpoint: StoredEndpoint): Promise<StoredEndpoint>;
  /** @throws NOT_FOUND */
  getEndpoint(name: string): Promise<StoredEndpoint>;
  listEndpoints(page?: PageRequest): Promise<Page<StoredEndpoint>>;
  /**
   * Replaces the endpoint when its stored version is `expected.version`; returns it with the next version.
   * @throws NOT_FOUND, CONFLICT (someone else changed it first)
   */
  replaceEndpoint(expected: StoredEndpoint, next: Omit<StoredEndpoint, 'version'>): Promise<StoredEndpoint>;
  /** @throws NOT_FOUND */
  deleteEndpoint(name: string): Promise<void>;

  /** Inserts or replaces an instance row (keyed by InstanceId). */
  putInstance(instance: EndpointInstance & { owner: string }): Promise<void>;
  /** All instances, or those of one endpoint. */
  listInstances(endpointName?: string): Promise<(EndpointInstance & { owner: string })[]>;
  deleteInstance(instanceId: string): Promise<void>;
}
