import { randomUUID } from 'node:crypto';
import type { ContainerDefinition } from '@trainyard/contracts/endpoints';
import { invalidArgument, parseOrRefuse, TrainyardError } from '@trainyard/contracts/errors';
import {
  type Actor,
  CreateModelPackageBody,
  CreateModelPackageGroupBody,
  type InferenceSpecification,
  type Lineage,
  type LineageNode,
  LineageQuery,
  type ModelPackage,
  type ModelPackageGroup,
  type ModelPackageSummary,
  registryArns,
  UpdateModelPackageBody,
} from '@trainyard/contracts/model-packages';
import type { Page } from '@trainyard/contracts/pagination';
import { platformBucket } from '@trainyard/contracts/platform-namespace';
import type { TrainingJob } from '@trainyard/contracts/training-jobs';
import type { Principal } from '../access/access-key-service.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { DatasetStore } from '../ports/dataset-store.js';
import type { EndpointStore } from '../ports/endpoint-store.js';
import type { PageRequest } from '../ports/metadata-store.js';
import type {
  ModelPackageFilter,
  ModelPackageGroupFilter,
  ModelPackageStore,
} from '../ports/model-package-store.js';

const arnPrefix = 'arn:aws:sagemaker:us-east-1:000000000000';
/** The serving image of models trained by a built-in algorithm named by AlgorithmName. */
const builtInServingImage = 'trainyard/model-server';

export interface ModelPackageServiceOptions {
  store: ModelPackageStore;
  /** Models and endpoints, for lineage. */
  endpoints: Pick<EndpointStore, 'listModels' | 'getModel' | 'listEndpoints' | 'getEndpoint' | 'getConfig'>;
  trainingJobs: { describe(name: string): Promise<TrainingJob> };
  /** Resolves a job's "latest" dataset channel to the version it read; optional. */
  datasets?: Pick<DatasetStore, 'listVersions'> | undefined;
  /**
   * Where a job's metrics and evaluation are written as the package's ModelMetrics document
   * (`s3://trainyard/registry/…`, read-only to users); without it they are only inline.
   */
  blobs?: Pick<BlobStore, 'put' | 'createBucket'> | undefined;
}

/** `<group>/<version>` or an ARN `…:model-package/<group>/<version>` as its parts. */
export function parseModelPackageRef(ref: string, field: string): { group: string; version: number } {
  const match =
    /^(?:arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:model-package\/)?([a-zA-Z0-9-]{1,63})\/([0-9]{1,9})$/.exec(
      ref,
    );
  if (!match || Number(match[2]) < 1)
    throw invalidArgument(field, `"${ref}" is not "<group>/<version>" or a model package ARN`);
  return { group: match[1] as string, version: Number(match[2]) };
}

function actorOf(principal: Principal): Actor {
  return { KeyId: principal.keyId, KeyName: principal.name };
}

function summaryOf(p: ModelPackage): ModelPackageSummary {
  return {
    ModelPackageName: p.ModelPackageName,
    ModelPackageGroupName: p.ModelPackageGroupName,
    ModelPackageVersion: p.ModelPackageVersion,
    ModelPackageArn: p.ModelPackageArn,
    ...(p.ModelPackageDescription !== undefined
      ? { ModelPackageDescription: p.ModelPackageDescription }
      : {}),
    ModelPackageStatus: p.ModelPackageStatus,
    ModelApprovalStatus: p.ModelApprovalStatus,
    CreationTime: p.CreationTime,
  };
}

/** Every page of a listing. */
async function all<T>(list: (page: PageRequest) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let pageToken: string | undefined;
  do {
    const page = await list({ pageToken, limit: 1000 });
    items.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return items;
}

/**
 * The model registry every door calls: groups, numbered package versions, approval with
 * who/when/why, deployment checks for CreateModel, and lineage.
 *
 * Approval rule: an Approved package deploys; a PendingManualApproval one deploys only when the
 * caller says `allowUnapprovedModelPackage`; a Rejected one never deploys (approve it first, which
 * records who changed their mind and why). Status changes do not touch models already made.
 */
export class ModelPackageService {
  readonly #options: ModelPackageServiceOptions;

  constructor(options: ModelPackageServiceOptions) {
    this.#options = options;
  }

  get #store(): ModelPackageStore {
    return this.#options.store;
  }

  async createGroup(input: unknown, principal: Principal): Promise<ModelPackageGroup> {
    const body = parseOrRefuse(CreateModelPackageGroupBody, input, 'body');
    return this.#store.createGroup({
      ModelPackageGroupName: body.ModelPackageGroupName,
      ModelPackageGroupArn: registryArns.group(arnPrefix, body.ModelPackageGroupName),
      ...(body.ModelPackageGroupDescription !== undefined
        ? { ModelPackageGroupDescription: body.ModelPackageGroupDescription }
        : {}),
      ModelPackageGroupStatus: 'Completed',
      CreationTime: new Date().toISOString(),
      CreatedBy: actorOf(principal),
      ...(body.Tags ? { Tags: body.Tags } : {}),
      LatestVersion: 0,
    });
  }

  describeGroup(name: string): Promise<ModelPackageGroup> {
    return this.#store.getGroup(name);
  }

  listGroups(filter: ModelPackageGroupFilter = {}): Promise<Page<ModelPackageGroup>> {
    return this.#store.listGroups(filter);
  }

  deleteGroup(name: string): Promise<void> {
    return this.#store.deleteGroup(name);
  }

  /** Registers the group's next version; from a Completed training job when `SourceTrainingJobName` is set. */
  async createPackage(input: unknown, principal: Principal): Promise<ModelPackage> {
    const body = parseOrRefuse(CreateModelPackageBody, input, 'body');
    await this.#store.getGroup(body.ModelPackageGroupName).catch((error: unknown) => {
      throw TrainyardError.is(error, 'NOT_FOUND')
        ? invalidArgument(
            'body.ModelPackageGroupName',
            `model package group "${body.ModelPackageGroupName}" does not exist; create it first`,
          )
        : error;
    });
    if (body.ClientToken !== undefined) {
      const token = body.ClientToken;
      const earlier = await all((page) =>
        this.#store.listPackages({ ...page, group: body.ModelPackageGroupName }),
      );
      const same = earlier.find((p) => p.ClientToken === token);
      if (same) return same;
    }
    let spec: InferenceSpecification | undefined = body.InferenceSpecification;
    let fromJob: Partial<ModelPackage> = {};
    if (body.SourceTrainingJobName !== undefined) {
      const job = await this.#completedJob(body.SourceTrainingJobName);
      const image =
        spec?.Containers[0]?.Image ?? job.AlgorithmSpecification.TrainingImage ?? builtInServingImage;
      const first = spec?.Containers[0];
      spec = {
        ...(spec ?? {}),
        Containers: [
          {
            Image: image,
            ModelDataUrl: job.ModelArtifacts.S3ModelArtifacts,
            ...(first?.Environment ? { Environment: first.Environment } : {}),
          },
          ...(spec?.Containers.slice(1) ?? []),
        ],
      };
      const quality =
        body.ModelMetrics?.ModelQuality?.Statistics === undefined
          ? await this.#qualityDocument(job)
          : undefined;
      fromJob = {
        ...(job.FinalMetricDataList ? { FinalMetricDataList: job.FinalMetricDataList } : {}),
        ...(job.EvaluationReport ? { EvaluationReport: job.EvaluationReport } : {}),
        ...(quality
          ? {
              ModelMetrics: {
                ...(body.ModelMetrics ?? {}),
                ModelQuality: { ...(body.ModelMetrics?.ModelQuality ?? {}), Statistics: quality },
              },
            }
          : {}),
        SourceTrainingJob: await this.#sourceOf(job),
      };
    }
    if (!spec) throw invalidArgument('body.InferenceSpecification', 'is required');
    const inference = spec;
    const now = new Date().toISOString();
    const actor = actorOf(principal);
    return this.#store.createPackage(body.ModelPackageGroupName, (version, groupName) => ({
      ModelPackageName: groupName,
      ModelPackageGroupName: groupName,
      ModelPackageVersion: version,
      ModelPackageArn: registryArns.modelPackage(arnPrefix, groupName, version),
      ...(body.ModelPackageDescription !== undefined
        ? { ModelPackageDescription: body.ModelPackageDescription }
        : {}),
      ModelPackageStatus: 'Completed',
      InferenceSpecification: inference,
      ModelApprovalStatus: body.ModelApprovalStatus,
      ...(body.ApprovalDescription !== undefined ? { ApprovalDescription: body.ApprovalDescription } : {}),
      ApprovalHistory: [
        {
          ModelApprovalStatus: body.ModelApprovalStatus,
          ...(body.ApprovalDescription !== undefined
            ? { ApprovalDescription: body.ApprovalDescription }
            : {}),
          By: actor,
          Time: now,
        },
      ],
      CreationTime: now,
      CreatedBy: actor,
      LastModifiedTime: now,
      LastModifiedBy: actor,
      ...(body.ModelMetrics ? { ModelMetrics: body.ModelMetrics } : {}),
      ...fromJob,
      ...(body.CustomerMetadataProperties
        ? { CustomerMetadataProperties: body.CustomerMetadataProperties }
        : {}),
      ...(body.Domain !== undefined ? { Domain: body.Domain } : {}),
      ...(body.Task !== undefined ? { Task: body.Task } : {}),
      ...(body.Tags ? { Tags: body.Tags } : {}),
      ...(body.ClientToken !== undefined ? { ClientToken: body.ClientToken } : {}),
    }));
  }

  /**
   * The job's final metrics and evaluation report as one JSON document in the platform's bucket,
   * so SageMaker clients find them through ModelMetrics.ModelQuality.Statistics.
   */
  async #qualityDocument(job: TrainingJob) {
    const blobs = this.#options.blobs;
    if (!blobs || (!job.FinalMetricDataList?.length && !job.EvaluationReport)) return undefined;
    const address = {
      bucket: platformBucket,
      key: `registry/model-quality/${job.TrainingJobName}/${randomUUID()}.json`,
    };
    const document = JSON.stringify({
      TrainingJobName: job.TrainingJobName,
      TrainingJobArn: job.TrainingJobArn,
      FinalMetricDataList: job.FinalMetricDataList ?? [],
      ...(job.EvaluationReport ? { EvaluationReport: job.EvaluationReport } : {}),
    });
    const put = () => blobs.put(address, document, { contentType: 'application/json' });
    await put().catch(async (error: unknown) => {
      if (!TrainyardError.is(error, 'NOT_FOUND')) throw error;
      await blobs.createBucket(platformBucket).catch((e: unknown) => {
        if (!TrainyardError.is(e, 'ALREADY_EXISTS')) throw e;
      });
      await put();
    });
    return { ContentType: 'application/json', S3Uri: `s3://${address.bucket}/${address.key}` };
  }

  async #completedJob(name: string): Promise<TrainingJob> {
    const job = await this.#options.trainingJobs.describe(name).catch((error: unknown) => {
      throw TrainyardError.is(error, 'NOT_FOUND')
        ? invalidArgument('body.SourceTrainingJobName', `training job "${name}" does not exist`)
        : error;
    });
    if (job.TrainingJobStatus !== 'Completed')
      throw new TrainyardError(
        'FAILED_PRECONDITION',
        `body.SourceTrainingJobName: training job "${name}" is ${job.TrainingJobStatus}; only a Completed job's model can be registered`,
        { field: 'body.SourceTrainingJobName' },
      );
    return job;
  }

  async #sourceOf(job: TrainingJob): Promise<NonNullable<ModelPackage['SourceTrainingJob']>> {
    const datasets: NonNullable<ModelPackage['SourceTrainingJob']>['Datasets'] = [];
    const s3: { ChannelName: string; S3Uri: string }[] = [];
    for (const channel of job.InputDataConfig ?? []) {
      const ds = channel.DataSource.DatasetSource;
      const uri = channel.DataSource.S3DataSource?.S3Uri;
      if (uri !== undefined) s3.push({ ChannelName: channel.ChannelName, S3Uri: uri });
      if (!ds) continue;
      const version = ds.Version ?? (await this.#versionReadBy(ds.DatasetName, job));
      datasets.push({
        ChannelName: channel.ChannelName,
        DatasetName: ds.DatasetName,
        ...(version !== undefined ? { Version: version } : {}),
      });
    }
    return {
      TrainingJobName: job.TrainingJobName,
      TrainingJobArn: job.TrainingJobArn,
      Datasets: datasets,
      S3Inputs: s3,
    };
  }

  /** A channel without a version read the newest ready version when the job started downloading. */
  async #versionReadBy(dataset: string, job: TrainingJob): Promise<number | undefined> {
    const started = Date.parse(
      job.SecondaryStatusTransitions.find((t) => t.Status === 'Downloading')?.StartTime ??
        job.TrainingStartTime ??
        job.CreationTime,
    );
    if (!this.#options.datasets) return undefined;
    try {
      const versions = await all((page) => this.#options.datasets!.listVersions(dataset, page));
      return versions.find((v) => v.status === 'ready' && Date.parse(v.createdAt) <= started)?.version;
    } catch (error) {
      if (TrainyardError.is(error, 'NOT_FOUND')) return undefined;
      throw error;
    }
  }

  describePackage(group: string, version: number): Promise<ModelPackage> {
    return this.#store.getPackage(group, version);
  }

  /** Describes by `<group>/<version>` or ARN. */
  describePackageByRef(ref: string, field = 'modelPackageName'): Promise<ModelPackage> {
    const { group, version } = parseModelPackageRef(ref, field);
    return this.#store.getPackage(group, version);
  }

  async listPackages(filter: ModelPackageFilter = {}): Promise<Page<ModelPackageSummary>> {
    const page = await this.#store.listPackages(filter);
    return { ...page, items: page.items.map(summaryOf) };
  }

  /** Approves, rejects or changes metadata; every approval change is appended to ApprovalHistory. */
  async updatePackage(
    group: string,
    version: number,
    input: unknown,
    principal: Principal,
  ): Promise<ModelPackage> {
    const body = parseOrRefuse(UpdateModelPackageBody, input, 'body');
    for (let attempt = 0; ; attempt++) {
      const current = await this.#store.getPackage(group, version);
      const now = new Date().toISOString();
      const actor = actorOf(principal);
      const status = body.ModelApprovalStatus ?? current.ModelApprovalStatus;
      const description =
        body.ApprovalDescription ?? (body.ModelApprovalStatus ? undefined : current.ApprovalDescription);
      const approvalChanged =
        body.ModelApprovalStatus !== undefined || body.ApprovalDescription !== undefined;
      let metadata = current.CustomerMetadataProperties;
      if (body.CustomerMetadataProperties || body.CustomerMetadataPropertiesToRemove) {
        metadata = { ...(metadata ?? {}), ...(body.CustomerMetadataProperties ?? {}) };
        for (const key of body.CustomerMetadataPropertiesToRemove ?? []) delete metadata[key];
        if (Object.keys(metadata).length > 50)
          throw invalidArgument('body.CustomerMetadataProperties', 'a package holds at most 50 properties');
      }
      const { ApprovalDescription: _old, CustomerMetadataProperties: _oldMeta, ...rest } = current;
      const next: ModelPackage = {
        ...rest,
        ModelApprovalStatus: status,
        ...(description !== undefined ? { ApprovalDescription: description } : {}),
        ...(metadata && Object.keys(metadata).length > 0 ? { CustomerMetadataProperties: metadata } : {}),
        ApprovalHistory: approvalChanged
          ? [
              ...current.ApprovalHistory,
              {
                ModelApprovalStatus: status,
                ...(description !== undefined ? { ApprovalDescription: description } : {}),
                By: actor,
                Time: now,
              },
            ]
          : current.ApprovalHistory,
        LastModifiedTime: now,
        LastModifiedBy: actor,
      };
      try {
        return await this.#store.replacePackage(current, next);
      } catch (error) {
        if (!TrainyardError.is(error, 'CONFLICT') || attempt >= 4) throw error;
      }
    }
  }

  deletePackage(group: string, version: number): Promise<void> {
    return this.#store.deletePackage(group, version);
  }

  /**
   * What CreateModel copies from a package: its first container, when the package may be
   * deployed (see the class comment for the rule).
   * @throws INVALID_ARGUMENT (no such package), FAILED_PRECONDITION (not Approved)
   */
  async containerForDeployment(
    ref: string,
    allowUnapproved: boolean,
  ): Promise<{ arn: string; container: ContainerDefinition }> {
    const field = 'body.modelPackageName';
    const pkg = await this.describePackageByRef(ref, field).catch((error: unknown) => {
      throw TrainyardError.is(error, 'NOT_FOUND')
        ? invalidArgument(field, `model package "${ref}" does not exist`)
        : error;
    });
    const status = pkg.ModelApprovalStatus;
    if (status === 'Rejected')
      throw new TrainyardError(
        'FAILED_PRECONDITION',
        `${field}: model package ${pkg.ModelPackageGroupName}/${pkg.ModelPackageVersion} is Rejected${pkg.ApprovalDescription ? ` (${pkg.ApprovalDescription})` : ''}; a Rejected package is never deployed: approve it first`,
        { field },
      );
    if (status !== 'Approved' && !allowUnapproved)
      throw new TrainyardError(
        'FAILED_PRECONDITION',
        `${field}: model package ${pkg.ModelPackageGroupName}/${pkg.ModelPackageVersion} is ${status}, not Approved; approve it or set allowUnapprovedModelPackage: true`,
        { field },
      );
    const first = pkg.InferenceSpecification.Containers[0];
    if (!first?.ModelDataUrl)
      throw new TrainyardError(
        'FAILED_PRECONDITION',
        `${field}: model package ${pkg.ModelPackageGroupName}/${pkg.ModelPackageVersion} has no ModelDataUrl to serve`,
        { field },
      );
    return {
      arn: pkg.ModelPackageArn,
      container: {
        Image: first.Image,
        ModelDataUrl: first.ModelDataUrl,
        Environment: first.Environment ?? {},
      },
    };
  }

  /** Upstream and downstream of one resource: dataset version -> job -> package -> model -> endpoint. */
  async lineage(input: unknown): Promise<Lineage> {
    const query = parseOrRefuse(LineageQuery, input, 'query');
    const nodes = new Map<string, LineageNode>();
    const edges = new Set<string>();
    const add = (node: LineageNode) => {
      if (!nodes.has(node.id)) nodes.set(node.id, node);
      return node.id;
    };
    const link = (from: string, to: string) => edges.add(`${from}\n${to}`);
    const jobNode = (name: string, status?: string) =>
      add({ id: `training-job:${name}`, kind: 'training-job', name, ...(status ? { status } : {}) });
    const datasetNode = (name: string, version?: number) =>
      add({
        id: version === undefined ? `dataset:${name}` : `dataset:${name}@${version}`,
        kind: 'dataset',
        name,
        ...(version !== undefined ? { version } : {}),
      });

    const packages = await all((page) => this.#store.listPackages(page));
    const byArn = new Map<string, string>();
    for (const p of packages) {
      const id = add({
        id: `model-package:${p.ModelPackageGroupName}/${p.ModelPackageVersion}`,
        kind: 'model-package',
        name: p.ModelPackageGroupName,
        version: p.ModelPackageVersion,
        status: p.ModelApprovalStatus,
      });
      byArn.set(p.ModelPackageArn, id);
      const source = p.SourceTrainingJob;
      if (!source) continue;
      const job = jobNode(source.TrainingJobName);
      link(job, id);
      for (const d of source.Datasets) link(datasetNode(d.DatasetName, d.Version), job);
    }
    const endpoints = this.#options.endpoints;
    for (const model of await all((page) => endpoints.listModels(page))) {
      const id = add({ id: `model:${model.ModelName}`, kind: 'model', name: model.ModelName });
      const from = model.ModelPackageName ? byArn.get(model.ModelPackageName) : undefined;
      if (from) link(from, id);
    }
    for (const endpoint of await all((page) => endpoints.listEndpoints(page))) {
      const id = add({
        id: `endpoint:${endpoint.name}`,
        kind: 'endpoint',
        name: endpoint.name,
        status: endpoint.status,
      });
      const models = new Set(endpoint.variants.map((v) => v.ModelName));
      if (endpoint.pendingConfigName) {
        const pending = await endpoints.getConfig(endpoint.pendingConfigName).catch(() => undefined);
        for (const v of pending?.ProductionVariants ?? []) models.add(v.ModelName);
      }
      for (const model of models) link(add({ id: `model:${model}`, kind: 'model', name: model }), id);
    }

    let start: string;
    switch (query.kind) {
      case 'dataset':
        start = datasetNode(query.name, query.version);
        if (query.version === undefined) {
          // Every version of the dataset flows into the unversioned node.
          for (const node of [...nodes.values()])
            if (node.kind === 'dataset' && node.name === query.name && node.id !== start)
              link(start, node.id);
        }
        break;
      case 'training-job': {
        const job = await this.#options.trainingJobs.describe(query.name);
        start = jobNode(job.TrainingJobName, job.TrainingJobStatus);
        const source = await this.#sourceOf(job);
        for (const d of source.Datasets) link(datasetNode(d.DatasetName, d.Version), start);
        break;
      }
      case 'model-package': {
        const p = await this.describePackageByRef(query.name, 'query.name');
        start = `model-package:${p.ModelPackageGroupName}/${p.ModelPackageVersion}`;
        break;
      }
      case 'model':
        await endpoints.getModel(query.name);
        start = `model:${query.name}`;
        break;
      case 'endpoint':
        await endpoints.getEndpoint(query.name);
        start = `endpoint:${query.name}`;
        break;
    }
    const pairs = [...edges].map((e) => e.split('\n') as [string, string]);
    const keep = new Set<string>([start]);
    for (const [forward, back] of [
      [0, 1],
      [1, 0],
    ] as const) {
      const queue = [start];
      while (queue.length > 0) {
        const at = queue.shift() as string;
        for (const pair of pairs) {
          if (pair[forward] !== at || keep.has(pair[back])) continue;
          keep.add(pair[back]);
          queue.push(pair[back]);
        }
      }
    }
    return {
      start,
      nodes: [...keep].map((id) => nodes.get(id) as LineageNode),
      edges: pairs.filter(([from, to]) => keep.has(from) && keep.has(to)).map(([from, to]) => ({ from, to })),
    };
  }
}
