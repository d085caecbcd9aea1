import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TrainyardError } from '@trainyard/contracts/errors';
import { z } from 'zod';

const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const OnOff = z.union([
  z.boolean(),
  z.enum(['on', 'off', 'true', 'false', '1', '0']).transform((v) => ['on', 'true', '1'].includes(v)),
]);

/**
 * Everything the server reads at boot, in one schema. Sources, strongest first: command-line
 * flags, `TRAINYARD_*` environment variables, `trainyard.config.json`, defaults.
 */
export const ServerConfig = z
  .object({
    /** Folder for the embedded stores (SQLite file, blobs, master key). */
    dataDir: z.string().min(1).default('./trainyard-data'),
    port: z.coerce.number().int().min(0).max(65535).default(7070),
    host: z.string().min(1).default('127.0.0.1'),
    /** `sqlite:<file>` or `postgres://…`; defaults to `sqlite:<dataDir>/trainyard.db`. */
    metadata: z.string().optional(),
    /** `file:<folder>` or `s3://<bucket>/<prefix>/?endpoint=<url>`; defaults to `file:<dataDir>/blobs`. */
    blobs: z.string().optional(),
    /** JobQueue, Topic and Stream backend: `embedded:` (in the metadata database), `postgres://…`, `redis://…`, `nats://…`. */
    messaging: z.string().min(1).default('embedded:'),
    /** Bearer-key auth on /api/v1. Only a loopback bind may turn it off. */
    auth: OnOff.default(true),
    /** Sets the first admin key instead of generating one (for CI and compose files). */
    adminKey: z.string().min(16).optional(),
    /** 32 bytes base64url sealing stored secrets; defaults to `<dataDir>/master.key`, created once. */
    masterKey: z.string().optional(),
    logLevel: LogLevel.default('info'),
    /** Seconds SIGTERM waits for in-flight requests before closing. */
    shutdownGraceSeconds: z.coerce.number().min(0).max(3600).default(10),
    /** DuckDB memory limit for datasets and recipes, e.g. "1GB"; larger data spills to `<dataDir>/tmp/duckdb`. */
    dataMemoryLimit: z
      .string()
      .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'a size such as "512MB" or "2GB"')
      .default('1GB'),
    /** DuckDB threads for datasets and recipes; default: one per CPU. */
    dataThreads: z.coerce.number().int().min(1).max(256).optional(),
    /**
     * At most this many jobs at once in this process's worker (`trainyard server` and `trainyard worker`);
     * 0 = no worker in the server. Within it, jobs are admitted by the vCPUs and memory of their
     * instance types against `workerVcpus` and `workerMemoryMiB`.
     */
    workerConcurrency: z.coerce.number().int().min(0).max(64).default(1),
    /** vCPUs the worker lends to jobs; default: this machine's cores. */
    workerVcpus: z.coerce.number().int().min(1).max(4096).optional(),
    /** Memory (MiB) the worker lends to jobs; default: this machine's memory. */
    workerMemoryMiB: z.coerce.number().int().min(64).max(16_777_216).optional(),
    /** Seconds between SIGTERM and SIGKILL when a job is stopped or exceeds MaxRuntimeInSeconds (SageMaker: 120). */
    jobStopGraceSeconds: z.coerce.number().min(0).max(3600).default(120),
    /** Seconds without a worker heartbeat after which a job is restarted by another worker. */
    jobVisibilityTimeoutSeconds: z.coerce.number().min(0.2).max(43200).default(60),
    /** Starts of a job before a lost worker fails it. */
    jobMaxAttempts: z.coerce.number().int().min(1).max(100).default(3),
    /**
     * Seconds a new endpoint instance has to answer `GET /ping` with 200 before it fails (and an
     * update rolls back). SageMaker's default container startup health check is 4 minutes.
     */
    endpointHealthTimeoutSeconds: z.coerce.number().min(1).max(3600).default(60),
    /**
     * Networks webhooks may reach although loopback, link-local or private, as CIDRs or addresses
     * (`"10.1.0.0/16,127.0.0.1"` in the environment). Default: none, so users cannot make the
     * server call its own or its network's services.
     */
    webhookAllowedNetworks: z
      .union([z.array(z.string()), z.string().transform((v) => v.split(','))])
      .transform((list) => list.map((v) => v.trim()).filter((v) => v !== ''))
      .pipe(
        z.array(
          z
            .string()
            .regex(
              /^[0-9A-Fa-f.:]+(\/\d{1,3})?$/,
              'each entry must be an IP address or CIDR, e.g. 10.0.0.0/8',
            ),
        ),
      )
      .default([]),
    /**
     * How job processes are isolated: `auto` (default) takes the strongest this machine offers
     * (`bubblewrap`, else `unprivileged-user` when running as root, else `none`); naming a mode
     * insists on it and refuses to start without it. See docs/security.md.
     */
    jobIsolation: z.enum(['auto', 'bubblewrap', 'unprivileged-user', 'none']).default('auto'),
    /** The built web console served at `/` (default: apps/console/dist beside this app); without an index.html there, `/` is the plain home page. */
    consoleDir: z.string().min(1).optional(),
    /** Seconds between this API process's additions of its endpoint traffic counts to the stored metric series (`GET /api/v1/endpoints/:name/metrics`). */
    endpointMetricsIntervalSeconds: z.coerce.number().min(0.05).max(60).default(5),
  })
  .strict();

export type ServerConfig = z.output<typeof ServerConfig>;
export type ServerConfigInput = z.input<typeof ServerConfig>;

/** The resolved form: every store URI filled in, paths absolute. */
export interface ResolvedServerConfig extends ServerConfig {
  metadata: string;
  blobs: string;
  /** The config file read, when there was one: job sandboxes mask it (it may hold keys). */
  configFile?: string | undefined;
}

const envNames: Record<keyof ServerConfig, string> = {
  dataDir: 'TRAINYARD_DATA_DIR',
  port: 'TRAINYARD_PORT',
  host: 'TRAINYARD_HOST',
  metadata: 'TRAINYARD_METADATA',
  blobs: 'TRAINYARD_BLOBS',
  messaging: 'TRAINYARD_MESSAGING',
  auth: 'TRAINYARD_AUTH',
  adminKey: 'TRAINYARD_ADMIN_KEY',
  masterKey: 'TRAINYARD_MASTER_KEY',
  logLevel: 'TRAINYARD_LOG_LEVEL',
  shutdownGraceSeconds: 'TRAINYARD_SHUTDOWN_GRACE_SECONDS',
  dataMemoryLimit: 'TRAINYARD_DATA_MEMORY_LIMIT',
  dataThreads: 'TRAINYARD_DATA_THREADS',
  workerConcurrency: 'TRAINYARD_WORKER_CONCURRENCY',
  workerVcpus: 'TRAINYARD_WORKER_VCPUS',
  workerMemoryMiB: 'TRAINYARD_WORKER_MEMORY_MIB',
  jobStopGraceSeconds: 'TRAINYARD_JOB_STOP_GRACE_SECONDS',
  jobVisibilityTimeoutSeconds: 'TRAINYARD_JOB_VISIBILITY_TIMEOUT_SECONDS',
  jobMaxAttempts: 'TRAINYARD_JOB_MAX_ATTEMPTS',
  endpointHealthTimeoutSeconds: 'TRAINYARD_ENDPOINT_HEALTH_TIMEOUT_SECONDS',
  jobIsolation: 'TRAINYARD_JOB_ISOLATION',
  webhookAllowedNetworks: 'TRAINYARD_WEBHOOK_ALLOWED_NETWORKS',
  consoleDir: 'TRAINYARD_CONSOLE_DIR',
  endpointMetricsIntervalSeconds: 'TRAINYARD_ENDPOINT_METRICS_INTERVAL_SECONDS',
};

function fromEnv(env: NodeJS.ProcessEnv): Partial<Record<keyof ServerConfig, string>> {
  const out: Partial<Record<keyof ServerConfig, string>> = {};
  for (const [field, name] of Object.entries(envNames) as [keyof ServerConfig, string][]) {
    const value = env[name];
    if (value !== undefined && value !== '') out[field] = value;
  }
  return out;
}

function fromFile(path: string | undefined, cwd: string): Record<string, unknown> {
  const file = path ? resolve(cwd, path) : resolve(cwd, 'trainyard.config.json');
  if (!existsSync(file)) {
    if (path)
      throw new TrainyardError('INVALID_ARGUMENT', `config file ${file} does not exist`, { field: 'config' });
    return {};
  }
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new TrainyardError(
      'INVALID_ARGUMENT',
      `config file ${file} is not valid JSON: ${(error as Error).message}`,
      {
        field: 'config',
      },
    );
  }
}

export interface ConfigSources {
  flags?: Partial<Record<keyof ServerConfig, unknown>>;
  env?: NodeJS.ProcessEnv;
  configFile?: string;
  cwd?: string;
}

/** Reads the config once, at boot. Errors name the field and its source. */
export function loadServerConfig(sources: ConfigSources = {}): ResolvedServerConfig {
  const cwd = sources.cwd ?? process.cwd();
  const env = sources.env ?? process.env;
  const flags = Object.fromEntries(Object.entries(sources.flags ?? {}).filter(([, v]) => v !== undefined));
  const configPath = sources.configFile ?? env.TRAINYARD_CONFIG;
  const configFile = resolve(cwd, configPath ?? 'trainyard.config.json');
  const merged = { ...fromFile(configPath, cwd), ...fromEnv(env), ...flags };
  const parsed = ServerConfig.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'config';
    const origin =
      field in flags
        ? 'flag'
        : envNames[field as keyof ServerConfig] && field in fromEnv(env)
          ? `env ${envNames[field as keyof ServerConfig]}`
          : 'config file';
    throw new TrainyardError('INVALID_ARGUMENT', `config ${field} (from ${origin}): ${issue?.message}`, {
      field,
    });
  }
  const config = parsed.data;
  const dataDir = resolve(cwd, config.dataDir);
  const isLoopback =
    ['127.0.0.1', 'localhost', '::1'].includes(config.host) || config.host.startsWith('127.');
  if (!config.auth && !isLoopback) {
    throw new TrainyardError(
      'FAILED_PRECONDITION',
      `refusing to bind ${config.host} with auth off: anyone on the network could use the platform; bind 127.0.0.1 or turn auth on`,
      { field: 'auth' },
    );
  }
  return {
    ...config,
    dataDir,
    metadata: config.metadata ?? `sqlite:${join(dataDir, 'trainyard.db')}`,
    blobs: config.blobs ?? `file:${join(dataDir, 'blobs')}`,
    ...(config.consoleDir ? { consoleDir: resolve(cwd, config.consoleDir) } : {}),
    ...(existsSync(configFile) ? { configFile } : {}),
  };
}

/** The file a running server writes into its data folder so the CLI on the same machine finds it. */
export const serverFileName = 'server.json';

/** What `server.json` holds: the URL the server listens on and the process serving it. */
export interface ServerFile {
  url: string;
  pid: number;
}

/** A URL clients on this machine can reach: a wildcard bind is reached on loopback. */
export function localUrlOf(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive but another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readServerFile(dataDir: string): ServerFile | undefined {
  try {
    const file = JSON.parse(readFileSync(join(dataDir, serverFileName), 'utf8')) as Partial<ServerFile>;
    if (typeof file.url !== 'string' || typeof file.pid !== 'number') return undefined;
    return processAlive(file.pid) ? { url: file.url, pid: file.pid } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The server a CLI on this machine talks to by default: the one running on the data folder the
 * server's own config names (TRAINYARD_DATA_DIR, trainyard.config.json, ./trainyard-data), as
 * its `server.json` says; else the port and host that config gives.
 */
function localServerUrl(env: NodeJS.ProcessEnv, cwd: string): string {
  const settings: Record<string, unknown> = (() => {
    try {
      return { ...fromFile(env.TRAINYARD_CONFIG, cwd), ...fromEnv(env) };
    } catch {
      return {};
    }
  })();
  const partial = ServerConfig.pick({ dataDir: true, port: true, host: true }).safeParse({
    dataDir: settings.dataDir,
    port: settings.port,
    host: settings.host,
  });
  const { dataDir, port, host } = partial.success
    ? partial.data
    : { dataDir: './trainyard-data', port: 7070, host: '127.0.0.1' };
  return readServerFile(resolve(cwd, dataDir))?.url ?? localUrlOf(host, port);
}

/**
 * Where the CLI finds the server and its key: `--endpoint`, else TRAINYARD_ENDPOINT, else the
 * local server (see localServerUrl); `--key`, else TRAINYARD_KEY.
 */
export function loadClientConfig(
  flags: { endpoint?: string | undefined; key?: string | undefined },
  env = process.env,
  cwd = process.cwd(),
) {
  return {
    endpoint: flags.endpoint ?? (env.TRAINYARD_ENDPOINT || undefined) ?? localServerUrl(env, cwd),
    key: flags.key ?? env.TRAINYARD_KEY ?? env.TRAINYARD_ADMIN_KEY,
  };
}
