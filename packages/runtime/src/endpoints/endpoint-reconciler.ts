import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, cpSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EndpointConfig, EndpointInstance } from '@trainyard/contracts/endpoints';
import { TrainyardError } from '@trainyard/contracts/errors';
import { type EndpointMetricSeries, emptyMetricRow } from '@trainyard/core/endpoints/endpoint-metric-series';
import { isLoaderVariable, variantsOf } from '@trainyard/core/endpoints/endpoint-service';
import { servingContainerOf } from '@trainyard/core/endpoints/serving-container';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import type { EndpointMetricRow } from '@trainyard/core/ports/endpoint-metric-store';
import type { EndpointStore, StoredEndpoint, VariantState } from '@trainyard/core/ports/endpoint-store';
import type { Executor, ExecutorExit, ExecutorInstance } from '@trainyard/core/ports/executor';
import type { InstanceTypeStore, LeaseStore } from '@trainyard/core/ports/metadata-store';
import { ProcessTreeWatch } from '../jobs/process-tree-memory.js';
import { instanceCommandOf } from './instance-command.js';
import { extractModelArchive } from './model-archive.js';

export interface ReconcilerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface EndpointReconcilerOptions {
  store: EndpointStore;
  instanceTypes: InstanceTypeStore;
  leases: LeaseStore;
  blobs: BlobStore;
  executor: Executor;
  /**
   * The model server's command: the server's node and the built `model-server` entry script.
   * `lane`: it takes the router's framed lane on TRAINYARD_LANE_PORT (our own entry does); then
   * instances of built-in models get a lane port and a LaneUrl. Default false (HTTP only).
   */
  modelServer: { command: string; args: string[]; lane?: boolean };
  /** Instance folders (logs) and extracted models live here. */
  workDir: string;
  log?: ReconcilerLog;
  /** Names this process as lease holder and instance owner; default `<pid>-<random>`. */
  holder?: string;
  /** ms between passes. Default 300. */
  intervalMs?: number;
  /** An instance that does not answer /ping within this many ms fails. Default 60 000. */
  healthTimeoutMs?: number;
  /** ms old instances keep serving after traffic moved away, so routers refresh first. Default 1500. */
  drainMs?: number;
  /** Crashes before an instance that was never healthy counts as failed. Default 3. */
  maxStartAttempts?: number;
  stopGraceMs?: number;
  /**
   * Receives `trainyard.endpoint.state-change` and `trainyard.endpoint-instance.state-change`
   * events (the platform's EventPublisher, which publishes them to the topics of those names).
   */
  events?: EndpointEventSink | undefined;
  /** ms between CPU and memory samples of each instance (written to its row). Default 5000. */
  sampleMs?: number;
  /**
   * The stored endpoint metric series: each CPU and memory sample is added to it, and the leader
   * prunes intervals older than its retention about once a minute.
   */
  metrics?: Pick<EndpointMetricSeries, 'add' | 'prune' | 'intervalOf'> | undefined;
}

/** Where endpoint and instance state changes go: the EventPublisher's `stateChange`. */
export interface EndpointEventSink {
  stateChange(
    resource: 'endpoint' | 'endpoint-instance',
    name: string,
    detail: { state: string; previousState?: string; reason?: string; [key: string]: unknown },
  ): Promise<unknown>;
}

/** One instance this process runs, with its supervision state. */
interface Running {
  row: EndpointInstance;
  process: ExecutorInstance | undefined;
  everHealthy: boolean;
  stopping: boolean;
  startedAt: number;
  /** Set once its endpoint no longer wants it: stop after the drain time. */
  unwantedSince: number | undefined;
  stderrTail: string[];
  /** Its instance type's memory, for MemoryPercent. */
  memoryMiB?: number;
  /** The last CPU sample: seconds used by then, and when (ms). */
  cpu?: { seconds: number; at: number };
  /** Its process tree, sampled incrementally (remade when the process is). */
  tree?: ProcessTreeWatch;
  /** The status last published as an event. */
  published?: string;
}

const leaseName = 'endpoint-reconciler';
const silentLog: ReconcilerLog = { info() {}, warn() {}, error() {} };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function describeExit(exit: ExecutorExit): string {
  if (exit.spawnError) return `could not start: ${exit.spawnError}`;
  if (exit.endedBy === 'memory')
    return `ran out of its instance type's memory (peak ${Math.round(exit.peakRssBytes / 2 ** 20)} MiB)`;
  if (exit.exitSignal) return `was killed by ${exit.exitSignal}`;
  return `exited with code ${exit.exitCode}`;
}

/**
 * Drives every endpoint toward its desired state; one leader at a time through the LeaseStore.
 * It starts model-server instances through the Executor, restarts crashed ones with backoff,
 * records them in the EndpointStore (so any API process can route to them), moves Creating
 * endpoints to InService once every instance answers /ping, runs blue/green updates (rolling back
 * with a reason when new instances fail) and deletes endpoints. All state it needs is in the
 * store, so a new leader after a restart resumes where the last one stopped.
 */
export class EndpointReconciler {
  readonly holder: string;
  readonly #o: Required<Omit<EndpointReconcilerOptions, 'holder' | 'events' | 'metrics'>>;
  readonly #metrics: EndpointReconcilerOptions['metrics'];
  #prunedAt = 0;
  readonly #events: EndpointEventSink | undefined;
  #sampledAt = 0;
  readonly #running = new Map<string, Running>();
  #loop: Promise<void> | undefined;
  #stopped = false;
  #leader = false;

  constructor(options: EndpointReconcilerOptions) {
    this.holder = options.holder ?? `${process.pid}-${randomBytes(4).toString('hex')}`;
    this.#o = {
      log: silentLog,
      intervalMs: 300,
      healthTimeoutMs: 60_000,
      drainMs: 1500,
      maxStartAttempts: 3,
      stopGraceMs: 5000,
      sampleMs: 5000,
      ...options,
    };
    this.#events = options.events;
    this.#metrics = options.metrics;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.reconcileOnce();
      } catch (error) {
        this.#o.log.warn({ err: error }, 'endpoint reconciler pass failed; retrying');
      }
      await sleep(this.#o.intervalMs);
    }
  }

  /** One pass over every endpoint; a no-op unless this process holds the lease. */
  async reconcileOnce(): Promise<void> {
    const leader = await this.#o.leases.acquire(
      leaseName,
      this.holder,
      Math.max(5000, this.#o.intervalMs * 10),
    );
    if (!leader) {
      if (this.#leader) await this.#stopAll();
      this.#leader = false;
      return;
    }
    if (!this.#leader) this.#o.log.info({ holder: this.holder }, 'endpoint reconciler is the leader');
    this.#leader = true;
    await this.#adoptOrphans();
    const endpoints: StoredEndpoint[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.#o.store.listEndpoints({ pageToken, limit: 1000 });
      endpoints.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken);
    const names = new Set(endpoints.map((e) => e.name));
    for (const running of this.#running.values())
      if (!names.has(running.row.EndpointName)) this.#markUnwanted(running);
    for (const endpoint of endpoints) {
      try {
        await this.#reconcile(endpoint);
      } catch (error) {
        if (TrainyardError.is(error, 'CONFLICT')) continue;
        this.#o.log.warn({ err: error, endpoint: endpoint.name }, 'endpoint reconcile failed');
      }
    }
    await this.#stopDrained();
    await this.#sample();
  }

  /** Publishes a state change; a failing topic never stops the reconciler. */
  #publish(
    resource: 'endpoint' | 'endpoint-instance',
    name: string,
    detail: {
      state: string;
      previousState?: string | undefined;
      reason?: string | undefined;
      [key: string]: unknown;
    },
  ): void {
    if (!this.#events) return;
    const clean = Object.fromEntries(Object.entries(detail).filter(([, v]) => v !== undefined)) as {
      state: string;
    };
    this.#events
      .stateChange(resource, name, clean)
      .catch((error: unknown) =>
        this.#o.log.warn({ err: error, resource, name }, 'could not publish an endpoint event'),
      );
  }

  /** CPU and memory of every running instance, from /proc, into its row (so any API process shows them). */
  async #sample(): Promise<void> {
    const now = Date.now();
    if (now - this.#sampledAt < this.#o.sampleMs) return;
    this.#sampledAt = now;
    const sampled: EndpointMetricRow[] = [];
    for (const running of this.#running.values()) {
      const pid = running.process?.pid;
      if (!pid || running.stopping || running.row.Status === 'Failed') continue;
      if (running.tree?.rootPid !== pid) running.tree = new ProcessTreeWatch(pid, 6);
      const usage = await running.tree.usage();
      if (usage.rssBytes === 0) continue;
      const previous = running.cpu;
      running.cpu = { seconds: usage.cpuSeconds, at: now };
      // The first sample has no interval; a restarted process's counter starts again from 0.
      if (!previous || usage.cpuSeconds < previous.seconds || now <= previous.at) continue;
      const cpuPercent = ((usage.cpuSeconds - previous.seconds) / ((now - previous.at) / 1000)) * 100;
      running.row = {
        ...running.row,
        CpuPercent: Math.round(cpuPercent * 10) / 10,
        MemoryBytes: usage.rssBytes,
        ...(running.memoryMiB
          ? { MemoryPercent: Math.round((usage.rssBytes / (running.memoryMiB * 1024 * 1024)) * 1000) / 10 }
          : {}),
        SampledAt: new Date(now).toISOString(),
      };
      await this.#put(running);
      sampled.push({
        ...emptyMetricRow(running.row.EndpointName, running.row.VariantName, running.row.InstanceId, 0),
        start: this.#metrics?.intervalOf(now) ?? 0,
        cpuSum: cpuPercent,
        memorySum: usage.rssBytes,
        resourceSamples: 1,
      });
    }
    await this.#recordSamples(sampled, now);
  }

  /** Adds the samples to the stored series and, once a minute, drops what is past its retention. */
  async #recordSamples(rows: EndpointMetricRow[], now: number): Promise<void> {
    const metrics = this.#metrics;
    if (!metrics) return;
    try {
      await metrics.add(rows);
      if (now - this.#prunedAt >= 60_000) {
        this.#prunedAt = now;
        const dropped = await metrics.prune(now);
        if (dropped) this.#o.log.info({ dropped }, 'dropped endpoint metric intervals past their retention');
      }
    } catch (error) {
      this.#o.log.warn({ err: error }, 'could not store endpoint instance metrics');
    }
  }

  /** Instances recorded by an earlier leader are gone with it: kill what may remain and forget the rows. */
  async #adoptOrphans(): Promise<void> {
    for (const row of await this.#o.store.listInstances()) {
      if (this.#running.has(row.InstanceId)) continue;
      if (row.Pid) {
        try {
          process.kill(-row.Pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await this.#o.store.deleteInstance(row.InstanceId);
      this.#o.log.info(
        { instance: row.InstanceId, previousOwner: row.owner },
        'removed an instance of an earlier leader',
      );
    }
  }

  #instancesOf(endpoint: string, config: string, variant?: string): Running[] {
    return [...this.#running.values()].filter(
      (r) =>
        r.row.EndpointName === endpoint &&
        r.row.EndpointConfigName === config &&
        (variant === undefined || r.row.VariantName === variant) &&
        r.unwantedSince === undefined,
    );
  }

  async #ensure(endpoint: StoredEndpoint, config: string, variants: readonly VariantState[]): Promise<void> {
    for (const variant of variants) {
      const instances = this.#instancesOf(endpoint.name, config, variant.VariantName);
      // A serving endpoint replaces failed instances; while Creating or Updating they decide the outcome.
      if (endpoint.status === 'InService')
        for (const r of instances) if (r.row.Status === 'Failed') this.#markUnwanted(r, true);
      const have = instances.filter((r) => r.row.Status !== 'Failed');
      for (let i = have.length; i < variant.DesiredInstanceCount; i++)
        await this.#startInstance(endpoint.name, config, variant);
      // Scale in the newest first: the oldest have warm caches and connections.
      const extra = have
        .sort((a, b) => b.startedAt - a.startedAt)
        .slice(0, Math.max(0, have.length - variant.DesiredInstanceCount));
      for (const r of extra) this.#markUnwanted(r);
    }
    // Variants no longer in the target set.
    const names = new Set(variants.map((v) => v.VariantName));
    for (const r of this.#instancesOf(endpoint.name, config))
      if (!names.has(r.row.VariantName)) this.#markUnwanted(r);
  }

  /** `ok` when every wanted instance is InService, or the first failure's reason. */
  #health(
    endpoint: string,
    config: string,
    variants: readonly VariantState[],
  ): 'ok' | 'waiting' | { failed: string } {
    let waiting = false;
    for (const variant of variants) {
      const instances = this.#instancesOf(endpoint, config, variant.VariantName);
      const failed = instances.find((r) => r.row.Status === 'Failed');
      if (failed)
        return {
          failed: `instance ${failed.row.InstanceId} of variant ${variant.VariantName}: ${failed.row.LastError ?? 'failed'}`,
        };
      if (instances.filter((r) => r.row.Status === 'InService').length < variant.DesiredInstanceCount)
        waiting = true;
    }
    return waiting ? 'waiting' : 'ok';
  }

  async #replace(endpoint: StoredEndpoint, patch: Partial<StoredEndpoint>): Promise<StoredEndpoint> {
    const next = await this.#o.store.replaceEndpoint(endpoint, {
      ...endpoint,
      ...patch,
      updatedAt: new Date(),
    });
    this.#o.log.info(
      { endpoint: endpoint.name, status: next.status, failureReason: next.failureReason },
      'endpoint state',
    );
    if (next.status !== endpoint.status)
      this.#publish('endpoint', endpoint.name, {
        state: next.status,
        previousState: endpoint.status,
        reason: next.failureReason,
        endpointConfigName: next.configName,
      });
    return next;
  }

  async #reconcile(endpoint: StoredEndpoint): Promise<void> {
    const { name } = endpoint;
    if (endpoint.status === 'Deleting') {
      for (const r of this.#running.values()) if (r.row.EndpointName === name) this.#markUnwanted(r, true);
      if (![...this.#running.values()].some((r) => r.row.EndpointName === name)) {
        await this.#o.store.deleteEndpoint(name);
        this.#o.log.info({ endpoint: name }, 'endpoint deleted');
        this.#publish('endpoint', name, { state: 'Deleted', previousState: 'Deleting' });
      }
      return;
    }
    if (endpoint.status === 'Failed') {
      for (const r of this.#running.values()) if (r.row.EndpointName === name) this.#markUnwanted(r, true);
      return;
    }
    // Anything not of the serving or pending config is left over from an update: drain it.
    for (const r of this.#running.values())
      if (
        r.row.EndpointName === name &&
        r.row.EndpointConfigName !== endpoint.configName &&
        r.row.EndpointConfigName !== endpoint.pendingConfigName
      )
        this.#markUnwanted(r);

    if (endpoint.status === 'RollingBack') {
      for (const r of this.#running.values())
        if (r.row.EndpointName === name && r.row.EndpointConfigName === endpoint.pendingConfigName)
          this.#markUnwanted(r, true);
      await this.#replace(endpoint, { status: 'InService', pendingConfigName: undefined });
      return;
    }

    await this.#ensure(endpoint, endpoint.configName, endpoint.variants);
    const serving = this.#health(name, endpoint.configName, endpoint.variants);
    if (endpoint.status === 'Creating') {
      if (serving === 'ok') await this.#replace(endpoint, { status: 'InService' });
      else if (serving !== 'waiting')
        await this.#replace(endpoint, { status: 'Failed', failureReason: serving.failed });
      return;
    }
    if (endpoint.status === 'Updating' && endpoint.pendingConfigName) {
      let config: EndpointConfig;
      try {
        config = await this.#o.store.getConfig(endpoint.pendingConfigName);
      } catch (error) {
        await this.#replace(endpoint, {
          status: 'RollingBack',
          failureReason: `update to endpoint config "${endpoint.pendingConfigName}" failed: ${(error as Error).message}`,
        });
        return;
      }
      const target = variantsOf(config);
      await this.#ensure(endpoint, config.EndpointConfigName, target);
      const next = this.#health(name, config.EndpointConfigName, target);
      if (next === 'ok') {
        // Traffic moves in one write: routers read the new config and its instances together.
        await this.#replace(endpoint, {
          status: 'InService',
          configName: config.EndpointConfigName,
          pendingConfigName: undefined,
          variants: target,
          failureReason: undefined,
        });
      } else if (next !== 'waiting') {
        await this.#replace(endpoint, {
          status: 'RollingBack',
          failureReason: `update to endpoint config "${config.EndpointConfigName}" failed and was rolled back: ${next.failed}`,
        });
      }
      return;
    }
    if (endpoint.status === 'Updating' && serving === 'ok')
      await this.#replace(endpoint, { status: 'InService' });
  }

  #markUnwanted(running: Running, now = false): void {
    if (running.unwantedSince === undefined) running.unwantedSince = Date.now();
    if (now) running.unwantedSince = 0;
  }

  async #stopDrained(): Promise<void> {
    const due = [...this.#running.values()].filter(
      (r) => r.unwantedSince !== undefined && !r.stopping && Date.now() - r.unwantedSince >= this.#o.drainMs,
    );
    await Promise.all(due.map((r) => this.#stopInstance(r)));
  }

  async #stopInstance(running: Running): Promise<void> {
    running.stopping = true;
    await running.process?.stop();
    this.#running.delete(running.row.InstanceId);
    await this.#o.store.deleteInstance(running.row.InstanceId);
    rmSync(join(this.#o.workDir, 'instances', running.row.InstanceId), { recursive: true, force: true });
    this.#instanceEvent(running, 'Stopped', running.published);
    this.#o.log.info({ instance: running.row.InstanceId }, 'endpoint instance stopped');
  }

  async #startInstance(endpointName: string, configName: string, variant: VariantState): Promise<void> {
    const instanceId = `${endpointName}-${variant.VariantName}-${randomBytes(3).toString('hex')}`.slice(-64);
    const running: Running = {
      row: {
        InstanceId: instanceId,
        EndpointName: endpointName,
        EndpointConfigName: configName,
        VariantName: variant.VariantName,
        Status: 'Pending',
        Restarts: 0,
        StartTime: new Date().toISOString(),
      },
      process: undefined,
      everHealthy: false,
      stopping: false,
      startedAt: Date.now(),
      unwantedSince: undefined,
      stderrTail: [],
    };
    this.#running.set(instanceId, running);
    await this.#put(running);
    try {
      await this.#launch(running, variant);
    } catch (error) {
      await this.#fail(running, (error as Error).message);
    }
  }

  async #put(running: Running): Promise<void> {
    if (!this.#running.has(running.row.InstanceId)) return;
    await this.#o.store.putInstance({ ...running.row, owner: this.holder });
    if (running.published !== running.row.Status) {
      const previous = running.published;
      running.published = running.row.Status;
      this.#instanceEvent(running, running.row.Status, previous);
    }
  }

  #instanceEvent(running: Running, state: string, previous: string | undefined): void {
    const { row } = running;
    this.#publish('endpoint-instance', row.InstanceId, {
      state,
      previousState: previous,
      reason: state === 'Restarting' || state === 'Failed' ? row.LastError : undefined,
      endpointName: row.EndpointName,
      endpointConfigName: row.EndpointConfigName,
      variantName: row.VariantName,
      restarts: row.Restarts,
    });
  }

  async #fail(running: Running, reason: string): Promise<void> {
    running.row = { ...running.row, Status: 'Failed', LastError: reason };
    this.#o.log.warn({ instance: running.row.InstanceId, reason }, 'endpoint instance failed');
    await this.#put(running);
  }

  async #launch(running: Running, variant: VariantState): Promise<void> {
    const model = await this.#o.store.getModel(variant.ModelName);
    const instanceType = await this.#o.instanceTypes.get(variant.InstanceType);
    running.memoryMiB = instanceType.memoryMiB;
    const modelDir = await extractModelArchive(
      this.#o.blobs,
      model.PrimaryContainer.ModelDataUrl,
      join(this.#o.workDir, 'models'),
      `${model.ModelName}-${Date.parse(model.CreationTime)}`,
    );
    // The instance's own folder, the only one a sandboxed instance sees of the data folder: the
    // model is copied in (a shared copy would let one instance change another's model), and its
    // log is written outside it (a file the instance can replace, e.g. by a link, is never
    // written by the server).
    const instances = join(this.#o.workDir, 'instances');
    const dir = join(instances, running.row.InstanceId);
    const logs = join(this.#o.workDir, 'logs');
    mkdirSync(dir, { recursive: true });
    mkdirSync(logs, { recursive: true, mode: 0o700 });
    chmodSync(join(this.#o.workDir, 'models'), 0o700);
    const ownModel = join(dir, 'model');
    rmSync(ownModel, { recursive: true, force: true });
    cpSync(modelDir, ownModel, { recursive: true });
    const container = servingContainerOf(model.PrimaryContainer);
    const { command, args } = await instanceCommandOf({
      container,
      modelDir: ownModel,
      modelServer: this.#o.modelServer,
      // A source directory from S3 is extracted once per model, then copied in like the model.
      extractSourceDir: async (uri) => {
        const cached = await extractModelArchive(
          this.#o.blobs,
          uri,
          join(this.#o.workDir, 'models'),
          `${model.ModelName}-${Date.parse(model.CreationTime)}-code`,
          'SAGEMAKER_SUBMIT_DIRECTORY',
        );
        const ownCode = join(dir, 'code');
        rmSync(ownCode, { recursive: true, force: true });
        cpSync(cached, ownCode, { recursive: true });
        return ownCode;
      },
    });
    const logFile = join(logs, `${running.row.InstanceId}.log`);
    const port = await freePort();
    // Our own model server (built-in models only) also takes the router's framed lane on a second
    // port; script handlers and user servers keep the container contract's HTTP alone.
    const lanePort =
      container.kind === 'built-in' && this.#o.modelServer.lane === true ? await freePort() : undefined;
    const process = this.#o.executor.spawn({
      command,
      args,
      env: {
        PATH: '/usr/local/bin:/usr/bin:/bin',
        HOME: dir,
        LANG: 'C.UTF-8',
        // Rows from before the create-time check may still carry loader variables: never pass them.
        ...Object.fromEntries(
          Object.entries(model.PrimaryContainer.Environment ?? {}).filter(
            ([name]) => !isLoaderVariable(name),
          ),
        ),
        SM_MODEL_DIR: ownModel,
        SAGEMAKER_BIND_TO_PORT: String(port),
        SAGEMAKER_MODEL_SERVER_WORKERS: String(instanceType.vcpus),
        ...(lanePort !== undefined ? { TRAINYARD_LANE_PORT: String(lanePort) } : {}),
      },
      cwd: dir,
      limits: { vcpus: instanceType.vcpus, memoryMiB: instanceType.memoryMiB },
      onLine: (line) => {
        appendFileSync(logFile, `${line.at.toISOString()} ${line.stream} ${line.text}\n`);
        if (line.stream === 'stderr') running.stderrTail = [...running.stderrTail.slice(-4), line.text];
      },
      stopGraceMs: this.#o.stopGraceMs,
    });
    running.process = process;
    await process.ready;
    running.row = {
      ...running.row,
      Status: running.everHealthy ? 'Restarting' : 'Pending',
      Url: `http://127.0.0.1:${port}`,
      LaneUrl: lanePort !== undefined ? `tcp://127.0.0.1:${lanePort}` : undefined,
      ...(process.pid ? { Pid: process.pid } : {}),
    };
    await this.#put(running);
    void process.exited.then((exit) => this.#onExit(running, process, exit, variant));
    void this.#waitHealthy(
      running,
      process,
      port,
      variant.HealthCheckTimeoutSeconds ? variant.HealthCheckTimeoutSeconds * 1000 : this.#o.healthTimeoutMs,
    );
  }

  async #waitHealthy(
    running: Running,
    process: ExecutorInstance,
    port: number,
    timeoutMs: number,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void process.exited.then(() => {
      exited = true;
    });
    while (!exited && !running.stopping && running.process === process) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/ping`, { signal: AbortSignal.timeout(2000) });
        if (response.ok) {
          running.everHealthy = true;
          running.row = { ...running.row, Status: 'InService' };
          await this.#put(running);
          this.#o.log.info({ instance: running.row.InstanceId, port }, 'endpoint instance passed /ping');
          return;
        }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await this.#fail(
          running,
          `did not answer GET /ping with 200 within ${Math.round(timeoutMs / 1000)} s`,
        );
        running.stopping = true;
        await process.stop();
        return;
      }
      await sleep(100);
    }
  }

  async #onExit(
    running: Running,
    process: ExecutorInstance,
    exit: ExecutorExit,
    variant: VariantState,
  ): Promise<void> {
    if (running.stopping || running.process !== process || !this.#running.has(running.row.InstanceId)) return;
    const tail = running.stderrTail.at(-1);
    const reason = `${describeExit(exit)}${tail ? ` (${tail})` : ''}`;
    const restarts = running.row.Restarts + 1;
    if (!running.everHealthy && restarts >= this.#o.maxStartAttempts) {
      running.row = { ...running.row, Restarts: restarts };
      await this.#fail(running, `${reason}; gave up after ${restarts} attempts`);
      return;
    }
    running.row = { ...running.row, Status: 'Restarting', Restarts: restarts, LastError: reason };
    await this.#put(running);
    const backoffMs = Math.min(30_000, 250 * 2 ** Math.min(restarts - 1, 7));
    this.#o.log.warn(
      { instance: running.row.InstanceId, reason, backoffMs },
      'endpoint instance crashed; restarting',
    );
    await sleep(backoffMs);
    if (running.stopping || !this.#running.has(running.row.InstanceId)) return;
    try {
      await this.#launch(running, variant);
    } catch (error) {
      await this.#fail(running, (error as Error).message);
    }
  }

  async #stopAll(): Promise<void> {
    await Promise.all([...this.#running.values()].map((r) => this.#stopInstance(r)));
  }

  /** Stops the loop and every instance this process runs, and lets another process lead. */
  async close(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
    await this.#stopAll();
    await this.#o.leases.release(leaseName, this.holder).catch(() => undefined);
  }
}
