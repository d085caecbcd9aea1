import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TrainyardError } from '@trainyard/contracts/errors';
import {
  type Quickstart,
  type QuickstartLinks,
  type QuickstartStep,
  type QuickstartStepName,
  quickstartStepNames,
} from '@trainyard/contracts/quickstart-routes';
import { RunRecipeBody } from '@trainyard/contracts/recipes';
import { CreateTrainingJobBody } from '@trainyard/contracts/training-jobs';
import type { Principal } from '@trainyard/core/access/access-key-service';
import type { EndpointService } from '@trainyard/core/endpoints/endpoint-service';
import type { EventPublisher } from '@trainyard/core/messaging/event-publisher';
import type { QuickstartStore } from '@trainyard/core/ports/metadata-store';
import type { ModelPackageService } from '@trainyard/core/registry/model-package-service';
import type { DatasetService } from '@trainyard/runtime/data/dataset-service';
import type { Logger } from 'pino';
import type { ProcessingJobs, TrainingJobs } from '../job-services.js';
import type { DoorServices } from '../server/door-services.js';
import type { EndpointRouter } from '../server/endpoint-router.js';

/** Palmer penguins (CC0), extracted once from Debian's r-cran-palmerpenguins; see samples/README.md. */
export const penguinsCsv = fileURLToPath(new URL('../../samples/penguins.csv', import.meta.url));

const titles: Record<QuickstartStepName, string> = {
  ingest: 'Ingest the Palmer penguins CSV as a dataset',
  profile: 'Profile it: column types, missing values, the species counts',
  prepare: 'Prepare it with a recipe: encode, split 80/20 by species',
  train: 'Train and evaluate XGBoost (multi:softprob) on the species',
  register: 'Register the trained model in the registry (group penguins) and approve it',
  model: 'Create a model from the approved model package',
  deploy: 'Deploy the model to an endpoint',
  invoke: 'Invoke the endpoint with one penguin',
};

/** Numbers with "NA" for missing values: those rows are set aside (kept as rejects), not guessed. */
const ingestTypes = {
  bill_length_mm: 'numeric',
  bill_depth_mm: 'numeric',
  flipper_length_mm: 'integer',
  body_mass_g: 'integer',
  island: 'categorical',
  sex: 'categorical',
  species: 'categorical',
} as const;

export interface QuickstartServiceOptions {
  datasets: () => Promise<DatasetService>;
  recipeRuns: DoorServices['recipeRuns'];
  processingJobs: Pick<ProcessingJobs, 'describe'>;
  trainingJobs: Pick<TrainingJobs, 'create' | 'describe'>;
  endpoints: Pick<
    EndpointService,
    'createModel' | 'createEndpointConfig' | 'createEndpoint' | 'describeEndpoint'
  >;
  router: Pick<EndpointRouter, 'invoke' | 'close'>;
  /** The model registry: the register step files the trained model in group `penguins`. */
  registry: Pick<ModelPackageService, 'createGroup' | 'describeGroup' | 'createPackage' | 'updatePackage'>;
  events: Pick<EventPublisher, 'publish'>;
  store: QuickstartStore;
  log: Logger;
  /** Instance type of the jobs and the endpoint. Default `ml.m5.large`. */
  instanceType?: string;
  /** How long one step may wait for a job or an endpoint, ms. Default 10 minutes. */
  stepTimeoutMs?: number;
  /** Poll interval while waiting, ms. Default 250. */
  pollMs?: number;
}

function now(): string {
  return new Date().toISOString();
}

function newId(): string {
  return `qs-${randomBytes(5).toString('hex').slice(0, 8)}`;
}

class StepFailed extends Error {}

/** A running run is saved at least this often (a heartbeat while it waits for a job or an endpoint)... */
const heartbeatMs = 10_000;
/** ...so one not saved for this long belongs to a server that stopped. */
const staleAfterMs = 60_000;

/**
 * The sample project behind the dashboard's first-run card and `trainyard quickstart`: Palmer
 * penguins from a CSV to an invoked endpoint, through the same services every door calls. Each
 * run is kept in the metadata store (a restart marks an unfinished run failed, saying why) and
 * each change goes out as a `trainyard.quickstart.progress` event.
 */
export class QuickstartService {
  readonly #o: QuickstartServiceOptions & { instanceType: string; stepTimeoutMs: number; pollMs: number };
  readonly #running = new Map<string, Promise<void>>();
  #closed = false;

  constructor(options: QuickstartServiceOptions) {
    this.#o = { instanceType: 'ml.m5.large', stepTimeoutMs: 600_000, pollMs: 250, ...options };
  }

  /**
   * A run still "running" that no process has touched for a minute was left by a server that
   * stopped (its steps ran there): it is marked failed, saying so, when it is next read.
   */
  async #settle(run: Quickstart): Promise<Quickstart> {
    if (run.status !== 'running' || this.#running.has(run.id)) return run;
    if (Date.now() - Date.parse(run.updatedAt) < staleAfterMs) return run;
    const step = run.steps.find((s) => s.status === 'running' || s.status === 'pending');
    if (step) {
      step.status = 'failed';
      step.message = 'the server stopped during this run; start the quickstart again';
      step.endedAt = now();
    }
    run.status = 'failed';
    run.updatedAt = now();
    await this.#o.store.save(run);
    return run;
  }

  /**
   * Starts a run and returns it at once (every step pending); the steps run in this process.
   * @throws CONFLICT while another run is in progress here
   */
  async start(principal: Principal): Promise<Quickstart> {
    if (this.#closed) throw new TrainyardError('UNAVAILABLE', 'the server is shutting down');
    const [busy] = this.#running.keys();
    if (busy !== undefined) {
      throw new TrainyardError(
        'CONFLICT',
        `a quickstart is already running: ${busy}; follow it or wait for it to end`,
        {
          id: busy,
        },
      );
    }
    const id = newId();
    const at = now();
    const run: Quickstart = {
      id,
      status: 'running',
      createdAt: at,
      updatedAt: at,
      startedBy: principal.name,
      steps: quickstartStepNames.map((name) => ({ name, title: titles[name], status: 'pending', links: {} })),
    };
    await this.#o.store.save(run);
    const work = this.#run(run, principal)
      .catch((error: unknown) =>
        this.#o.log.error({ err: error, quickstart: id }, 'quickstart failed unexpectedly'),
      )
      .finally(() => this.#running.delete(id));
    this.#running.set(id, work);
    return structuredClone(run);
  }

  async get(id: string): Promise<Quickstart> {
    return this.#settle(await this.#o.store.get(id));
  }

  async list(): Promise<Quickstart[]> {
    return Promise.all((await this.#o.store.list(20)).map((run) => this.#settle(run)));
  }

  /** Waits for runs in progress to reach their next step boundary; they end failed ("the server stopped"). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#running.values()]);
    this.#o.router.close();
  }

  async #run(run: Quickstart, principal: Principal): Promise<void> {
    const names = {
      dataset: 'penguins',
      prepared: `penguins-${run.id}`,
      processingJob: `penguins-prep-${run.id}`,
      trainingJob: `penguins-xgb-${run.id}`,
      model: `penguins-xgb-${run.id}`,
      endpoint: `penguins-${run.id}`,
      group: 'penguins',
    };
    const state: { version?: number; species?: string[]; features?: string[]; modelPackage?: string } = {};
    const steps: Record<QuickstartStepName, (step: QuickstartStep) => Promise<string>> = {
      ingest: async (step) => {
        const datasets = await this.#o.datasets();
        const version = await datasets.createVersionFromStream(names.dataset, createReadStream(penguinsCsv), {
          fileName: 'penguins.csv',
          ingest: { format: 'csv', target: 'species', types: ingestTypes, onMalformed: 'skip' },
          description: 'Palmer penguins (CC0), the quickstart sample',
        });
        state.version = version.version;
        step.links.dataset = { name: names.dataset, version: version.version };
        const skipped = version.skippedRows;
        return `version ${version.version}: ${version.rowCount} rows, ${version.schema.length} columns${skipped ? `; ${skipped} rows without measurements set aside as rejects` : ''}`;
      },
      profile: async (step) => {
        const datasets = await this.#o.datasets();
        step.links.dataset = { name: names.dataset, version: state.version as number };
        const profile = await datasets.getProfile(names.dataset, state.version as number);
        const classes = profile.target?.classes ?? [];
        state.species = classes.map((c) => c.value).sort();
        if (state.species.length < 2)
          throw new StepFailed(`the profile shows ${state.species.length} species; expected 3`);
        const missing = profile.columns
          .filter((c) => c.missing > 0)
          .map((c) => `${c.name} ${c.missing}`)
          .join(', ');
        return `${profile.rowCount} rows; species ${classes.map((c) => `${c.value} ${c.count}`).join(', ')}${missing ? `; missing values: ${missing}` : ''}`;
      },
      prepare: async (step) => {
        const job = await this.#o.recipeRuns.runRecipe(
          RunRecipeBody.parse({
            dataset: names.dataset,
            version: state.version,
            output: names.prepared,
            jobName: names.processingJob,
            instanceType: this.#o.instanceType,
            recipe: {
              format: 'trainyard.recipe/v1',
              name: 'penguins-prep',
              steps: [
                { op: 'drop', columns: ['year'] },
                { op: 'onehot', columns: ['island', 'sex'], unknown: 'ignore' },
                { op: 'ordinal', columns: ['species'], unknown: 'error' },
                { op: 'split', method: 'stratified', fractions: { train: 0.8, validation: 0.2 }, seed: 42 },
              ],
            },
          }),
        );
        step.links.processingJob = job.ProcessingJobName;
        await this.#save(run);
        const ended = await this.#waitFor(
          run,
          async () => {
            const j = await this.#o.processingJobs.describe(names.processingJob);
            return { status: j.ProcessingJobStatus, reason: j.FailureReason };
          },
          (s) => s.status !== 'InProgress' && s.status !== 'Stopping',
        );
        if (ended.status !== 'Completed')
          throw new StepFailed(`recipe job ${ended.status}: ${ended.reason ?? 'no reason given'}`);
        const datasets = await this.#o.datasets();
        const train = await datasets.getVersion(`${names.prepared}-train`, 'latest');
        const validation = await datasets.getVersion(`${names.prepared}-validation`, 'latest');
        step.links.datasets = [
          { name: train.dataset, version: train.version },
          { name: validation.dataset, version: validation.version },
        ];
        state.features = validation.schema.map((c) => c.name).filter((c) => c !== 'species');
        return `train ${train.rowCount} rows, validation ${validation.rowCount} rows; ${state.features.length} features`;
      },
      train: async (step) => {
        const body = CreateTrainingJobBody.parse({
          TrainingJobName: names.trainingJob,
          AlgorithmSpecification: { AlgorithmName: 'xgboost' },
          HyperParameters: {
            objective: 'multi:softprob',
            num_class: String(state.species?.length ?? 3),
            num_round: '30',
            max_depth: '3',
            eta: '0.3',
            eval_metric: 'mlogloss',
          },
          InputDataConfig: [
            {
              ChannelName: 'train',
              DataSource: { DatasetSource: { DatasetName: `${names.prepared}-train` } },
            },
            {
              ChannelName: 'validation',
              DataSource: { DatasetSource: { DatasetName: `${names.prepared}-validation` } },
            },
          ],
          OutputDataConfig: { S3OutputPath: 's3://trainyard-quickstart/models' },
          ResourceConfig: { InstanceType: this.#o.instanceType, InstanceCount: 1, VolumeSizeInGB: 1 },
          StoppingCondition: { MaxRuntimeInSeconds: 600 },
        });
        await this.#o.trainingJobs.create(body);
        step.links.trainingJob = names.trainingJob;
        await this.#save(run);
        const ended = await this.#waitFor(
          run,
          () => this.#o.trainingJobs.describe(names.trainingJob),
          (j) => j.TrainingJobStatus !== 'InProgress' && j.TrainingJobStatus !== 'Stopping',
        );
        if (ended.TrainingJobStatus !== 'Completed')
          throw new StepFailed(
            `training ${ended.TrainingJobStatus}: ${ended.FailureReason ?? 'no reason given'}`,
          );
        const report = ended.EvaluationReport;
        const loss = ended.FinalMetricDataList?.find((m) => m.MetricName === 'validation:mlogloss')?.Value;
        if (report?.type === 'classification') {
          return `validation accuracy ${(report.accuracy * 100).toFixed(1)}% on ${report.rows} penguins${loss === undefined ? '' : `, mlogloss ${loss.toFixed(3)}`}; the evaluation report is on the job`;
        }
        return 'completed (no evaluation report)';
      },
      register: async (step) => {
        // The group is shared by every run: made by the first, reused after.
        await this.#o.registry.describeGroup(names.group).catch(async (error: unknown) => {
          if (!TrainyardError.is(error, 'NOT_FOUND')) throw error;
          await this.#o.registry
            .createGroup(
              {
                ModelPackageGroupName: names.group,
                ModelPackageGroupDescription: 'Palmer penguins species classifiers (the quickstart sample)',
              },
              principal,
            )
            .catch((raced: unknown) => {
              if (!TrainyardError.is(raced, 'ALREADY_EXISTS')) throw raced;
            });
        });
        const made = await this.#o.registry.createPackage(
          {
            ModelPackageGroupName: names.group,
            SourceTrainingJobName: names.trainingJob,
            ModelPackageDescription: `XGBoost on the penguins species, quickstart ${run.id}`,
            // A retry of this step returns the version the first attempt made.
            ClientToken: run.id,
          },
          principal,
        );
        const ref = `${made.ModelPackageGroupName}/${made.ModelPackageVersion}`;
        step.links.trainingJob = names.trainingJob;
        step.links.modelPackage = ref;
        await this.#save(run);
        const approved = await this.#o.registry.updatePackage(
          made.ModelPackageGroupName,
          made.ModelPackageVersion,
          { ModelApprovalStatus: 'Approved', ApprovalDescription: 'quickstart sample' },
          principal,
        );
        state.modelPackage = ref;
        return `version ${approved.ModelPackageVersion} of ${names.group}, ${approved.ModelApprovalStatus} ("quickstart sample")`;
      },
      model: async (step) => {
        const ref = state.modelPackage as string;
        const model = await this.#o.endpoints.createModel({
          ModelName: names.model,
          modelPackageName: ref,
        });
        step.links.model = names.model;
        step.links.modelPackage = ref;
        return `model ${names.model} from package ${ref} (${model.PrimaryContainer.ModelDataUrl ?? 'no artifact'})`;
      },
      deploy: async (step) => {
        await this.#o.endpoints.createEndpointConfig({
          EndpointConfigName: names.endpoint,
          ProductionVariants: [
            {
              VariantName: 'AllTraffic',
              ModelName: names.model,
              InstanceType: this.#o.instanceType,
              InitialInstanceCount: 1,
            },
          ],
        });
        step.links.endpointConfig = names.endpoint;
        await this.#o.endpoints.createEndpoint({
          EndpointName: names.endpoint,
          EndpointConfigName: names.endpoint,
        });
        step.links.endpoint = names.endpoint;
        await this.#save(run);
        const ended = await this.#waitFor(
          run,
          () => this.#o.endpoints.describeEndpoint(names.endpoint),
          (e) => e.EndpointStatus !== 'Creating',
        );
        if (ended.EndpointStatus !== 'InService')
          throw new StepFailed(
            `endpoint ${ended.EndpointStatus}: ${ended.FailureReason ?? 'no reason given'}`,
          );
        return `endpoint ${names.endpoint} is InService`;
      },
      invoke: async (step) => {
        step.links.endpoint = names.endpoint;
        const datasets = await this.#o.datasets();
        const validation = await datasets.getVersion(`${names.prepared}-validation`, 'latest');
        const preview = await datasets.previewRecipe(
          validation.dataset,
          validation.version,
          { steps: [{ op: 'select', columns: validation.schema.map((c) => c.name) }] },
          1,
        );
        const row = preview.rows[0];
        if (!row) throw new StepFailed('the validation split is empty');
        const features = state.features ?? [];
        const csv = `${features.map((f) => (row[f] === null || row[f] === undefined ? '' : String(row[f]))).join(',')}\n`;
        const answer = await this.#o.router.invoke(names.endpoint, {
          body: Buffer.from(csv),
          contentType: 'text/csv',
          accept: 'text/csv',
          targetVariant: undefined,
        });
        const text = Buffer.isBuffer(answer.body) ? answer.body.toString('utf8') : answer.body;
        if (answer.status !== 200)
          throw new StepFailed(`the endpoint answered ${answer.status}: ${text.slice(0, 300)}`);
        const probabilities = text
          .trim()
          .split(/[\s,[\]]+/)
          .filter((v) => v !== '')
          .map(Number);
        const species = state.species ?? [];
        if (probabilities.length !== species.length || probabilities.some((p) => !Number.isFinite(p))) {
          throw new StepFailed(`unexpected answer for ${species.length} classes: ${text.slice(0, 200)}`);
        }
        const best = probabilities.indexOf(Math.max(...probabilities));
        const expectedIndex = Number(row.species);
        run.prediction = {
          row: Object.fromEntries(features.map((f) => [f, row[f]])),
          ...(Number.isInteger(expectedIndex) && species[expectedIndex]
            ? { expected: species[expectedIndex] }
            : {}),
          predicted: species[best] as string,
          probabilities: Object.fromEntries(species.map((s, i) => [s, probabilities[i] as number])),
        };
        return `predicted ${species[best]} (${((probabilities[best] ?? 0) * 100).toFixed(1)}%)${run.prediction.expected ? `; its true species: ${run.prediction.expected}` : ''}`;
      },
    };

    for (const step of run.steps) {
      if (this.#closed) {
        await this.#fail(run, step, 'the server stopped during this run; start the quickstart again');
        return;
      }
      step.status = 'running';
      step.startedAt = now();
      await this.#save(run);
      try {
        step.message = await steps[step.name](step);
        step.status = 'done';
        step.endedAt = now();
        await this.#save(run);
      } catch (error) {
        const message =
          error instanceof StepFailed || TrainyardError.is(error)
            ? error.message
            : 'internal error; see the server log';
        if (!(error instanceof StepFailed))
          this.#o.log.warn({ err: error, quickstart: run.id, step: step.name }, 'quickstart step failed');
        await this.#fail(run, step, message);
        return;
      }
    }
    run.status = 'done';
    await this.#save(run);
  }

  async #fail(run: Quickstart, step: QuickstartStep, message: string): Promise<void> {
    step.status = 'failed';
    step.message = message;
    step.endedAt = now();
    run.status = 'failed';
    await this.#save(run);
  }

  /** Stores the run and publishes its progress; a failed publish never fails the run. */
  async #save(run: Quickstart): Promise<void> {
    run.updatedAt = now();
    await this.#o.store.save(run);
    const current =
      run.steps.find((s) => s.status === 'running' || s.status === 'failed') ?? run.steps.at(-1);
    const links: QuickstartLinks = {};
    for (const s of run.steps) Object.assign(links, s.links);
    await this.#o.events
      .publish('trainyard.quickstart.progress', 'quickstart', run.id, {
        state: run.status,
        step: current?.name,
        stepStatus: current?.status,
        message: current?.message,
        steps: run.steps.map((s) => ({ name: s.name, status: s.status })),
        links,
      })
      .catch((error: unknown) => this.#o.log.warn({ err: error }, 'could not publish quickstart progress'));
  }

  async #waitFor<T>(run: Quickstart, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    const deadline = Date.now() + this.#o.stepTimeoutMs;
    let beat = Date.now();
    for (;;) {
      const value = await read();
      if (done(value)) return value;
      if (Date.now() - beat >= heartbeatMs) {
        beat = Date.now();
        run.updatedAt = now();
        await this.#o.store.save(run);
      }
      if (this.#closed)
        throw new StepFailed('the server stopped during this step; start the quickstart again');
      if (Date.now() > deadline)
        throw new StepFailed(`gave up waiting after ${Math.round(this.#o.stepTimeoutMs / 1000)} s`);
      await new Promise((r) => setTimeout(r, this.#o.pollMs));
    }
  }
}
