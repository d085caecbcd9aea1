import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  AddTagsCommand,
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateProcessingJobCommand,
  type CreateProcessingJobCommandInput,
  CreateTrainingJobCommand,
  type CreateTrainingJobCommandInput,
  DeleteEndpointCommand,
  DeleteTagsCommand,
  DescribeEndpointCommand,
  DescribeExperimentCommand,
  DescribeModelCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  DescribeTrialComponentCommand,
  ListEndpointsCommand,
  ListExperimentsCommand,
  ListModelsCommand,
  ListProcessingJobsCommand,
  ListTagsCommand,
  ListTrainingJobsCommand,
  ListTrialComponentsCommand,
  ListTrialsCommand,
  SageMakerClient,
  SageMakerServiceException,
  StopProcessingJobCommand,
  UpdateEndpointCommand,
  UpdateEndpointWeightsAndCapacitiesCommand,
  waitUntilEndpointDeleted,
  waitUntilEndpointInService,
  waitUntilProcessingJobCompletedOrStopped,
  waitUntilTrainingJobCompletedOrStopped,
} from '@aws-sdk/client-sagemaker';
import {
  InvokeEndpointCommand,
  SageMakerRuntimeClient,
  SageMakerRuntimeServiceException,
} from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../../testing/platform-fixture.js';
import { operationsMarkdown } from './sagemaker-door.js';
import { experimentFuzzInputs } from './sagemaker-experiment-fuzz-inputs.js';
import { type ModelShape, operationInputs, shapes } from './sagemaker-model.generated.js';
import { sageMakerOperations } from './sagemaker-operations.js';
import { registryFuzzInputs, registryMinimumMutations } from './sagemaker-registry-fuzz-inputs.js';

const repoRoot = join(fileURLToPath(import.meta.url), '..', '..', '..', '..', '..', '..');

type Role = 'admin' | 'developer' | 'viewer' | 'invoker';

let t: TestServer & { baseUrl: string };
let keys: Record<Role, { id: string; secret: string }>;

function client(role: Role, extra: { secret?: string; clockOffsetMs?: number } = {}): SageMakerClient {
  const key = keys[role];
  const sm = new SageMakerClient({
    endpoint: t.baseUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: key.id, secretAccessKey: extra.secret ?? key.secret },
    // One attempt: the SDK would otherwise correct its clock from the error and retry.
    maxAttempts: 1,
  });
  if (extra.clockOffsetMs !== undefined) sm.config.systemClockOffset = extra.clockOffsetMs;
  return sm;
}

async function awsError(
  promise: Promise<unknown>,
): Promise<{ name: string; status: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SageMakerServiceException) {
      return { name: error.name, status: error.$metadata.httpStatusCode ?? 0, message: error.message };
    }
    throw error;
  }
  throw new Error('expected the call to fail');
}

function runtime(
  role: Role,
  extra: { secret?: string; clockOffsetMs?: number } = {},
): SageMakerRuntimeClient {
  const key = keys[role];
  const rt = new SageMakerRuntimeClient({
    endpoint: t.baseUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: key.id, secretAccessKey: extra.secret ?? key.secret },
    maxAttempts: 1,
  });
  if (extra.clockOffsetMs !== undefined) rt.config.systemClockOffset = extra.clockOffsetMs;
  return rt;
}

async function runtimeError(
  promise: Promise<unknown>,
): Promise<{ name: string; status: number; message: string; originalStatusCode?: number }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SageMakerRuntimeServiceException) {
      return {
        name: error.name,
        status: error.$metadata.httpStatusCode ?? 0,
        message: error.message,
        ...((error as { OriginalStatusCode?: number }).OriginalStatusCode !== undefined
          ? { originalStatusCode: (error as { OriginalStatusCode?: number }).OriginalStatusCode }
          : {}),
      };
    }
    throw error;
  }
  throw new Error('expected the call to fail');
}

function spec(name: string): CreateProcessingJobCommandInput {
  return {
    ProcessingJobName: name,
    RoleArn: 'arn:aws:iam::000000000000:role/trainyard',
    ProcessingResources: {
      ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 1 },
    },
    AppSpecification: {
      ImageUri: 'node:20',
      ContainerEntrypoint: ['node', '/opt/ml/processing/input/code/upper.mjs'],
    },
    ProcessingInputs: [
      { InputName: 'code', S3Input: s3Input('s3://work/code/upper.mjs') },
      { InputName: 'data', S3Input: s3Input('s3://work/raw/') },
    ],
    ProcessingOutputConfig: {
      Outputs: [
        {
          OutputName: 'result',
          S3Output: {
            S3Uri: `s3://work/out/${name}`,
            LocalPath: '/opt/ml/processing/output',
            S3UploadMode: 'EndOfJob',
          },
        },
      ],
    },
    StoppingCondition: { MaxRuntimeInSeconds: 600 },
    Environment: { GREETING: 'hello' },
  };
}

function s3Input(uri: string) {
  return {
    S3Uri: uri,
    LocalPath: uri.endsWith('/') ? '/opt/ml/processing/input/data' : '/opt/ml/processing/input/code',
    S3DataType: 'S3Prefix' as const,
    S3InputMode: 'File' as const,
  };
}

beforeAll(async () => {
  t = await openTestServer({ jobStopGraceSeconds: 1 }, { listen: true });
  await t.platform.jobs.startWorker();
  t.platform.endpoints.startReconciler();
  const entries = await Promise.all(
    (['admin', 'developer', 'viewer', 'invoker'] as const).map(async (role) => {
      const key = await t.platform.keys.create(`sm-${role}`, role);
      return [role, { id: key.id, secret: key.secret }] as const;
    }),
  );
  keys = Object.fromEntries(entries) as typeof keys;
  await t.platform.blobs.put({ bucket: 'work', key: 'raw/words.txt' }, 'alpha beta\n');
  await t.platform.blobs.put(
    { bucket: 'work', key: 'code/upper.mjs' },
    `import { readFileSync, writeFileSync } from 'node:fs';
const words = readFileSync(process.env.TRAINYARD_OPT_ML + '/processing/input/data/words.txt', 'utf8');
writeFileSync(process.env.TRAINYARD_OPT_ML + '/processing/output/upper.txt', process.env.GREETING + ' ' + words.toUpperCase());
`,
  );
});

afterAll(async () => {
  await t?.close();
});

describe('SageMaker door with @aws-sdk/client-sagemaker', () => {
  it('creates a processing job, waits for it with the SDK waiter, describes and lists it', async () => {
    const sm = client('developer');
    const created = await sm.send(new CreateProcessingJobCommand(spec('sm-upper')));
    expect(created.ProcessingJobArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:processing-job/sm-upper');

    const waited = await waitUntilProcessingJobCompletedOrStopped(
      { client: sm, minDelay: 1, maxDelay: 1, maxWaitTime: 60 },
      { ProcessingJobName: 'sm-upper' },
    );
    expect(waited.state).toBe('SUCCESS');
    const job = await sm.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'sm-upper' }));
    expect(job.ProcessingJobStatus).toBe('Completed');
    expect(job.FailureReason).toBeUndefined();
    // Epoch-second timestamps come back as Dates in the SDK.
    expect(job.CreationTime).toBeInstanceOf(Date);
    expect(Math.abs((job.CreationTime as Date).getTime() - Date.now())).toBeLessThan(120_000);
    expect((job.ProcessingEndTime as Date).getTime()).toBeGreaterThanOrEqual(
      (job.ProcessingStartTime as Date).getTime(),
    );
    expect(job.AppSpecification?.ContainerEntrypoint).toEqual([
      'node',
      '/opt/ml/processing/input/code/upper.mjs',
    ]);
    expect(job.Environment).toEqual({ GREETING: 'hello' });
    const output = await t.platform.blobs.get({ bucket: 'work', key: 'out/sm-upper/upper.txt' });
    expect(await text(output.body)).toBe('hello ALPHA BETA\n');

    await sm.send(new CreateProcessingJobCommand(spec('sm-other')));
    const byName = await sm.send(new ListProcessingJobsCommand({ NameContains: 'upper' }));
    expect(byName.ProcessingJobSummaries?.map((s) => s.ProcessingJobName)).toEqual(['sm-upper']);
    expect(byName.ProcessingJobSummaries?.[0]?.CreationTime).toBeInstanceOf(Date);
    const completed = await sm.send(new ListProcessingJobsCommand({ StatusEquals: 'Completed' }));
    expect(completed.ProcessingJobSummaries?.map((s) => s.ProcessingJobName)).toContain('sm-upper');
    expect(completed.ProcessingJobSummaries?.every((s) => s.ProcessingJobStatus === 'Completed')).toBe(true);

    // Pages of one, newest first, until NextToken runs out.
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await sm.send(new ListProcessingJobsCommand({ MaxResults: 1, NextToken: token }));
      expect(page.ProcessingJobSummaries?.length).toBeLessThanOrEqual(1);
      names.push(...(page.ProcessingJobSummaries ?? []).map((s) => s.ProcessingJobName ?? ''));
      token = page.NextToken;
    } while (token);
    expect(names.slice(0, 2)).toEqual(['sm-other', 'sm-upper']);
    const byNameAscending = await sm.send(
      new ListProcessingJobsCommand({ NameContains: 'sm-', SortBy: 'Name', SortOrder: 'Ascending' }),
    );
    expect(byNameAscending.ProcessingJobSummaries?.map((s) => s.ProcessingJobName)).toEqual([
      'sm-other',
      'sm-upper',
    ]);
    const upper = byName.ProcessingJobSummaries?.[0]?.CreationTime as Date;
    const since = await sm.send(
      new ListProcessingJobsCommand({
        NameContains: 'sm-',
        CreationTimeAfter: new Date(upper.getTime() - 1000),
      }),
    );
    expect(since.ProcessingJobSummaries?.map((s) => s.ProcessingJobName)).toEqual(['sm-other', 'sm-upper']);
    const later = await sm.send(
      new ListProcessingJobsCommand({
        NameContains: 'sm-',
        CreationTimeAfter: new Date(Date.now() + 60_000),
      }),
    );
    expect(later.ProcessingJobSummaries).toEqual([]);

    await sm.send(new StopProcessingJobCommand({ ProcessingJobName: 'sm-other' })).catch(() => undefined);
    const stopped = await waitUntilProcessingJobCompletedOrStopped(
      { client: sm, minDelay: 1, maxDelay: 1, maxWaitTime: 60 },
      { ProcessingJobName: 'sm-other' },
    );
    expect(['SUCCESS']).toContain(stopped.state);
  }, 120_000);

  it('answers a duplicate name with ResourceInUse and a missing job with "Could not find"', async () => {
    const sm = client('developer');
    await sm.send(new CreateProcessingJobCommand(spec('sm-dup')));
    expect(await awsError(sm.send(new CreateProcessingJobCommand(spec('sm-dup'))))).toMatchObject({
      name: 'ResourceInUse',
      status: 400,
    });
    const missing = await awsError(sm.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'nope' })));
    expect(missing).toMatchObject({ name: 'ValidationException', status: 400 });
    expect(missing.message).toMatch(/^Could not find .*nope/);
    expect(
      await awsError(sm.send(new StopProcessingJobCommand({ ProcessingJobName: 'nope' }))),
    ).toMatchObject({ name: 'ValidationException', message: expect.stringMatching(/^Could not find/) });
  });

  it('refuses a bad signature, a clock 20 minutes off, an unknown key and a viewer creating a job', async () => {
    expect(
      await awsError(client('developer', { secret: 'wrong' }).send(new ListProcessingJobsCommand({}))),
    ).toMatchObject({ name: 'InvalidSignatureException', status: 403 });
    const skewed = await awsError(
      client('developer', { clockOffsetMs: 20 * 60_000 }).send(new ListProcessingJobsCommand({})),
    );
    expect(skewed).toMatchObject({ name: 'InvalidSignatureException', status: 403 });
    expect(skewed.message).toMatch(/^Signature expired/);
    const stranger = new SageMakerClient({
      endpoint: t.baseUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIANOBODY', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    expect(await awsError(stranger.send(new ListProcessingJobsCommand({})))).toMatchObject({
      name: 'UnrecognizedClientException',
      status: 403,
    });
    const viewer = client('viewer');
    const denied = await awsError(viewer.send(new CreateProcessingJobCommand(spec('sm-viewer'))));
    expect(denied).toMatchObject({ name: 'AccessDeniedException', status: 400 });
    expect(denied.message).toContain('viewer');
    // A viewer may still read.
    expect((await viewer.send(new ListProcessingJobsCommand({}))).ProcessingJobSummaries).toBeDefined();
    // The refused create is in the audit log; the reads are not.
    const log = await t.app.inject({ url: `/api/v1/audit-log?keyId=${keys.viewer.id}`, headers: t.auth() });
    expect(log.json().items).toEqual([
      expect.objectContaining({
        door: 'sagemaker',
        action: 'CreateProcessingJob',
        role: 'viewer',
        status: 400,
      }),
    ]);
    const invoker = await awsError(client('invoker').send(new ListProcessingJobsCommand({})));
    expect(invoker.name).toBe('AccessDeniedException');
  });

  it('reaches the door through AWS_ENDPOINT_URL_SAGEMAKER alone', async () => {
    const before = process.env.AWS_ENDPOINT_URL_SAGEMAKER;
    process.env.AWS_ENDPOINT_URL_SAGEMAKER = t.baseUrl;
    try {
      const sm = new SageMakerClient({
        region: 'us-east-1',
        credentials: { accessKeyId: keys.viewer.id, secretAccessKey: keys.viewer.secret },
        maxAttempts: 1,
      });
      const listed = await sm.send(new ListProcessingJobsCommand({ NameContains: 'upper' }));
      expect(listed.ProcessingJobSummaries?.map((s) => s.ProcessingJobName)).toEqual(['sm-upper']);
    } finally {
      if (before === undefined) delete process.env.AWS_ENDPOINT_URL_SAGEMAKER;
      else process.env.AWS_ENDPOINT_URL_SAGEMAKER = before;
    }
  });

  it("lists in the README exactly the dispatcher's operations", () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const block = /<!-- sagemaker-operations:start -->\n([\s\S]*?)<!-- sagemaker-operations:end -->/.exec(
      readme,
    );
    expect(block?.[1], 'run: npx tsc -b && node scripts/gen-sagemaker-readme.mjs').toBe(
      operationsMarkdown(sageMakerOperations({} as never)),
    );
  });

  it('sends the AWS JSON error envelope: __type, message, x-amzn-ErrorType, x-amzn-RequestId', async () => {
    const response = await fetch(t.baseUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'SageMaker.ListProcessingJobs',
      },
      body: '{}',
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(response.headers.get('x-amzn-requestid')).toBeTruthy();
    expect(response.headers.get('content-type')).toContain('application/x-amz-json-1.1');
    expect(await response.json()).toEqual({
      __type: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    });
  });
});

/** Sends `body` as the JSON of `operation`, signed by the SDK (the body is replaced before signing). */
async function sendRaw(
  operation: string,
  body: unknown,
): Promise<{ status: number; type: string; message: string }> {
  const sm = client('admin');
  let captured: { status: number; type: string; message: string } | undefined;
  sm.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { body: string; headers: Record<string, string> };
      request.body = JSON.stringify(body);
      request.headers['x-amz-target'] = `SageMaker.${operation}`;
      request.headers['content-length'] = String(Buffer.byteLength(request.body));
      return next(args);
    },
    { step: 'build', name: 'fuzzBody', priority: 'low' },
  );
  sm.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const response = result.response as {
        statusCode: number;
        body: NodeJS.ReadableStream;
        headers: Record<string, string>;
      };
      const payload = JSON.parse((await text(response.body as never)) || '{}') as {
        __type?: string;
        message?: string;
      };
      captured = { status: response.statusCode, type: payload.__type ?? '', message: payload.message ?? '' };
      throw new Error('captured');
    },
    { step: 'deserialize', name: 'capture', priority: 'low' },
  );
  await sm.send(new ListProcessingJobsCommand({})).catch(() => undefined);
  if (!captured) throw new Error(`no response captured for ${operation}`);
  return captured;
}

/** AWS's member paths: lowerCamel names joined with dots, list items as `.<n>.member`. */
const camel = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

interface Mutation {
  path: string;
  value: unknown;
  /** Removes the member instead (required members). */
  remove?: boolean;
}

/** Malformed values for a member of `shape`, each breaking one rule of the model. */
function malformed(shape: ModelShape): unknown[] {
  const values: unknown[] = [];
  switch (shape.type) {
    case 'string':
      values.push(12345, { nested: true });
      if (shape.max !== undefined && shape.max < 5000) values.push('a'.repeat(shape.max + 1));
      if (shape.min !== undefined && shape.min > 0) values.push('');
      if (shape.enum) values.push('NotOneOfTheValues');
      if (shape.pattern && !new RegExp(`^(?:${shape.pattern.source})$`, shape.pattern.flags).test('\u0000 !'))
        values.push('\u0000 !');
      break;
    case 'integer':
    case 'long':
      values.push('12', 1.5);
      if (shape.min !== undefined) values.push(shape.min - 1);
      if (shape.max !== undefined) values.push(shape.max + 1);
      break;
    case 'float':
    case 'double':
      values.push('1.5');
      break;
    case 'boolean':
      values.push('yes');
      break;
    case 'structure':
      values.push('not an object', [1, 2]);
      break;
    case 'list':
      values.push({ not: 'a list' });
      if (shape.max !== undefined && shape.max < 200)
        values.push(Array.from({ length: shape.max + 1 }, () => null));
      break;
    case 'map':
      values.push(['not', 'a map']);
      break;
    case 'timestamp':
      values.push('not a time', true);
      break;
    default:
      break;
  }
  return values;
}

/** Every member of the operation's input, with the valid input it sits in. */
function mutations(operation: string, valid: Record<string, unknown>): Mutation[] {
  const out: Mutation[] = [];
  const walk = (shapeName: string, value: unknown, path: string, depth: number) => {
    const shape = shapes[shapeName];
    if (!shape || depth > 4) return;
    if (shape.type === 'structure') {
      for (const name of shape.required ?? [])
        out.push({ path: path ? `${path}.${camel(name)}` : camel(name), value: undefined, remove: true });
      for (const [name, member] of Object.entries(shape.members ?? {})) {
        const memberPath = path ? `${path}.${camel(name)}` : camel(name);
        for (const bad of malformed(shapes[member] as ModelShape)) out.push({ path: memberPath, value: bad });
        const present = (value as Record<string, unknown> | undefined)?.[name];
        if (present !== undefined) walk(member, present, memberPath, depth + 1);
      }
    } else if (shape.type === 'list' && Array.isArray(value) && value.length > 0) {
      walk(shape.member ?? '', value[0], `${path}.1.member`, depth + 1);
    }
  };
  walk(operationInputs[operation]?.input ?? '', valid, '', 0);
  return out;
}

/** Applies a mutation to a copy of `valid`, following AWS member paths back to the JSON. */
function applied(valid: Record<string, unknown>, mutation: Mutation): Record<string, unknown> {
  const copy = structuredClone(valid);
  const steps = mutation.path.split('.').filter((s) => s !== 'member');
  let node: Record<string, unknown> | unknown[] = copy;
  for (const [i, step] of steps.entries()) {
    const last = i === steps.length - 1;
    const key = /^\d+$/.test(step)
      ? Number(step) - 1
      : (Object.keys(node).find((k) => camel(k) === step) ?? step.charAt(0).toUpperCase() + step.slice(1));
    if (last) {
      if (mutation.remove) delete (node as Record<string, unknown>)[key as string];
      else (node as Record<string | number, unknown>)[key] = mutation.value;
    } else {
      node = (node as Record<string | number, unknown>)[key] as Record<string, unknown>;
      if (node === undefined) return copy;
    }
  }
  return copy;
}

/** Deterministic binary-classification CSV rows, label first (SageMaker's XGBoost CSV layout). */
function labelFirstCsv(n: number): string {
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const x = Array.from({ length: 4 }, () => Math.round((rnd() * 4 - 2) * 1000) / 1000);
    const label = (x[0] ?? 0) - 0.5 * (x[1] ?? 0) + (rnd() - 0.5) > 0 ? 1 : 0;
    lines.push([label, ...x].join(','));
  }
  return `${lines.join('\n')}\n`;
}

function trainingSpec(name: string): CreateTrainingJobCommandInput {
  return {
    TrainingJobName: name,
    RoleArn: 'arn:aws:iam::000000000000:role/trainyard',
    AlgorithmSpecification: {
      TrainingImage: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
      TrainingInputMode: 'File',
    },
    HyperParameters: { objective: 'binary:logistic', num_round: '20', max_depth: '3', eta: '0.3' },
    InputDataConfig: [
      {
        ChannelName: 'train',
        ContentType: 'text/csv',
        DataSource: {
          S3DataSource: {
            S3DataType: 'S3Prefix',
            S3Uri: 's3://work/xgb/train/',
            S3DataDistributionType: 'FullyReplicated',
          },
        },
      },
      {
        ChannelName: 'validation',
        ContentType: 'text/csv',
        DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://work/xgb/validation/' } },
      },
    ],
    OutputDataConfig: { S3OutputPath: 's3://work/xgb/models' },
    ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
    StoppingCondition: { MaxRuntimeInSeconds: 600 },
  };
}

describe('SageMaker door: training jobs with the SDK', () => {
  it('trains the XGBoost built-in on a label-first CSV uploaded through S3 and serves model.tar.gz', async () => {
    const key = keys.developer;
    const s3 = new S3Client({
      endpoint: t.baseUrl,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
    });
    await s3.send(
      new PutObjectCommand({ Bucket: 'work', Key: 'xgb/train/train.csv', Body: labelFirstCsv(400) }),
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: 'work',
        Key: 'xgb/validation/validation.csv',
        Body: labelFirstCsv(100),
      }),
    );
    const sm = client('developer');
    const created = await sm.send(
      new CreateTrainingJobCommand({
        ...trainingSpec('sm-xgb'),
        ExperimentConfig: { ExperimentName: 'churn', RunName: 'depth-3' },
      }),
    );
    expect(created.TrainingJobArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:training-job/sm-xgb');
    const waited = await waitUntilTrainingJobCompletedOrStopped(
      { client: sm, minDelay: 1, maxDelay: 1, maxWaitTime: 120 },
      { TrainingJobName: 'sm-xgb' },
    );
    expect(waited.state).toBe('SUCCESS');
    const job = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'sm-xgb' }));
    expect(job.TrainingJobStatus).toBe('Completed');
    expect(job.SecondaryStatus).toBe('Completed');
    const statuses = job.SecondaryStatusTransitions?.map((s) => s.Status) ?? [];
    expect(statuses[0]).toBe('Starting');
    expect(statuses).toContain('Training');
    expect(statuses.at(-1)).toBe('Completed');
    expect(new Set(statuses).size).toBe(statuses.length);
    expect(job.TrainingStartTime).toBeInstanceOf(Date);
    expect(job.HyperParameters?.num_round).toBe('20');
    expect(job.ModelArtifacts?.S3ModelArtifacts).toBe('s3://work/xgb/models/sm-xgb/output/model.tar.gz');
    expect(job.FinalMetricDataList?.map((m) => m.MetricName)).toContain('validation:logloss');
    const model = await s3.send(
      new GetObjectCommand({ Bucket: 'work', Key: 'xgb/models/sm-xgb/output/model.tar.gz' }),
    );
    const bytes = Buffer.from(
      await (model.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b])); // gzip

    // SageMaker Experiments over the native ones: the job is trial component `<job>-aws-training-job`.
    const experiments = await sm.send(new ListExperimentsCommand({}));
    expect(experiments.ExperimentSummaries?.map((e) => e.ExperimentName)).toEqual(['churn']);
    expect((await sm.send(new DescribeExperimentCommand({ ExperimentName: 'churn' }))).ExperimentArn).toBe(
      'arn:aws:sagemaker:us-east-1:000000000000:experiment/churn',
    );
    expect(
      (await sm.send(new ListTrialsCommand({ ExperimentName: 'churn' }))).TrialSummaries?.map(
        (tr) => tr.TrialName,
      ),
    ).toEqual(['depth-3']);
    const components = await sm.send(new ListTrialComponentsCommand({ TrialName: 'depth-3' }));
    expect(components.TrialComponentSummaries?.map((c) => c.TrialComponentName)).toEqual([
      'sm-xgb-aws-training-job',
    ]);
    const component = await sm.send(
      new DescribeTrialComponentCommand({ TrialComponentName: 'sm-xgb-aws-training-job' }),
    );
    expect(component.Status?.PrimaryStatus).toBe('Completed');
    expect(component.Parameters?.num_round).toEqual({ StringValue: '20' });
    expect(component.Metrics?.map((m) => m.MetricName)).toContain('validation:logloss');
    expect(component.Source).toEqual({ SourceArn: job.TrainingJobArn, SourceType: 'SageMakerTrainingJob' });
    expect(await awsError(sm.send(new DescribeExperimentCommand({ ExperimentName: 'nope' })))).toMatchObject({
      name: 'ResourceNotFound',
      status: 400,
    });

    // Serve it: CreateModel -> CreateEndpointConfig -> CreateEndpoint -> waitUntilEndpointInService.
    const image = '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1';
    const modelUrl = job.ModelArtifacts?.S3ModelArtifacts as string;
    const createdModel = await sm.send(
      new CreateModelCommand({
        ModelName: 'sm-xgb',
        PrimaryContainer: { Image: image, ModelDataUrl: modelUrl, Environment: { MODEL_FLAVOUR: 'x' } },
        ExecutionRoleArn: 'arn:aws:iam::000000000000:role/trainyard',
        Tags: [{ Key: 'team', Value: 'fraud' }],
      }),
    );
    expect(createdModel.ModelArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:model/sm-xgb');
    const duplicateModel = await awsError(
      sm.send(
        new CreateModelCommand({
          ModelName: 'sm-xgb',
          ExecutionRoleArn: 'arn:aws:iam::000000000000:role/trainyard',
          PrimaryContainer: { Image: image, ModelDataUrl: modelUrl },
        }),
      ),
    );
    expect(duplicateModel).toEqual({
      name: 'ValidationException',
      status: 400,
      message:
        'Cannot create already existing model "arn:aws:sagemaker:us-east-1:000000000000:model/sm-xgb".',
    });
    const describedModel = await sm.send(new DescribeModelCommand({ ModelName: 'sm-xgb' }));
    expect(describedModel.PrimaryContainer).toMatchObject({ Image: image, ModelDataUrl: modelUrl });
    expect(describedModel.CreationTime).toBeInstanceOf(Date);
    expect(
      (await sm.send(new ListModelsCommand({ NameContains: 'XGB' }))).Models?.map((m) => m.ModelName),
    ).toEqual(['sm-xgb']);
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'sm-xgb',
        ProductionVariants: [
          {
            VariantName: 'AllTraffic',
            ModelName: 'sm-xgb',
            InstanceType: 'ml.m5.large',
            InitialInstanceCount: 1,
          },
        ],
      }),
    );
    const createdEndpoint = await sm.send(
      new CreateEndpointCommand({ EndpointName: 'sm-xgb', EndpointConfigName: 'sm-xgb' }),
    );
    expect(createdEndpoint.EndpointArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:endpoint/sm-xgb');
    const inService = await waitUntilEndpointInService(
      { client: sm, minDelay: 1, maxDelay: 1, maxWaitTime: 90 },
      { EndpointName: 'sm-xgb' },
    );
    expect(inService.state).toBe('SUCCESS');
    const endpoint = await sm.send(new DescribeEndpointCommand({ EndpointName: 'sm-xgb' }));
    expect(endpoint.EndpointStatus).toBe('InService');
    expect(endpoint.ProductionVariants).toEqual([
      {
        VariantName: 'AllTraffic',
        CurrentWeight: 1,
        DesiredWeight: 1,
        CurrentInstanceCount: 1,
        DesiredInstanceCount: 1,
      },
    ]);
    expect(
      (await sm.send(new ListEndpointsCommand({ StatusEquals: 'InService' }))).Endpoints?.map(
        (e) => e.EndpointName,
      ),
    ).toEqual(['sm-xgb']);

    // InvokeEndpoint through @aws-sdk/client-sagemaker-runtime, SigV4-signed for sagemaker.
    const rows = labelFirstCsv(5)
      .trim()
      .split('\n')
      .map((line) => line.split(',').slice(1).join(','));
    const invoked = await runtime('invoker').send(
      new InvokeEndpointCommand({
        EndpointName: 'sm-xgb',
        ContentType: 'text/csv',
        Accept: 'text/csv',
        Body: Buffer.from(`${rows.join('\n')}\n`),
      }),
    );
    expect(invoked.InvokedProductionVariant).toBe('AllTraffic');
    const scores = Buffer.from(invoked.Body as Uint8Array)
      .toString('utf8')
      .trim()
      .split('\n')
      .map(Number);
    expect(scores).toHaveLength(5);
    for (const score of scores) expect(score).toBeGreaterThanOrEqual(0);
    for (const score of scores) expect(score).toBeLessThanOrEqual(1);
    // A row the model cannot read: the model's own 4xx comes back as ModelError (424).
    expect(
      await runtimeError(
        runtime('invoker').send(
          new InvokeEndpointCommand({
            EndpointName: 'sm-xgb',
            ContentType: 'text/csv',
            Body: Buffer.from('a,b\n'),
          }),
        ),
      ),
    ).toMatchObject({ name: 'ModelError', status: 424, originalStatusCode: 400 });
    expect(
      await runtimeError(
        runtime('invoker').send(
          new InvokeEndpointCommand({
            EndpointName: 'sm-xgb',
            ContentType: 'text/csv',
            TargetVariant: 'Blue',
            Body: Buffer.from('1,2,3,4\n'),
          }),
        ),
      ),
    ).toMatchObject({ name: 'ValidationError', status: 400, message: expect.stringContaining('Blue') });
    expect(
      await runtimeError(
        runtime('invoker').send(
          new InvokeEndpointCommand({
            EndpointName: 'nope',
            ContentType: 'text/csv',
            Body: Buffer.from('1\n'),
          }),
        ),
      ),
    ).toEqual({
      name: 'ValidationError',
      status: 400,
      message: 'Endpoint nope of account 000000000000 not found.',
    });
    expect(
      await runtimeError(
        runtime('invoker', { secret: 'wrong' }).send(
          new InvokeEndpointCommand({
            EndpointName: 'sm-xgb',
            ContentType: 'text/csv',
            Body: Buffer.from('1,2,3,4\n'),
          }),
        ),
      ),
    ).toMatchObject({ name: 'InvalidSignatureException', status: 403 });
    expect(
      await runtimeError(
        runtime('invoker', { clockOffsetMs: 20 * 60_000 }).send(
          new InvokeEndpointCommand({
            EndpointName: 'sm-xgb',
            ContentType: 'text/csv',
            Body: Buffer.from('1,2,3,4\n'),
          }),
        ),
      ),
    ).toMatchObject({
      name: 'InvalidSignatureException',
      status: 403,
      message: expect.stringMatching(/Signature expired/),
    });
    expect(
      await runtimeError(
        runtime('viewer').send(
          new InvokeEndpointCommand({
            EndpointName: 'sm-xgb',
            ContentType: 'text/csv',
            Body: Buffer.from('1,2,3,4\n'),
          }),
        ),
      ),
    ).toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining('InvokeEndpoint') });

    // Tags: kept from CreateModel, added, listed, deleted; an unknown ARN is refused.
    const modelArn = createdModel.ModelArn as string;
    await sm.send(new AddTagsCommand({ ResourceArn: modelArn, Tags: [{ Key: 'stage', Value: 'prod' }] }));
    expect((await sm.send(new ListTagsCommand({ ResourceArn: modelArn }))).Tags).toEqual([
      { Key: 'stage', Value: 'prod' },
      { Key: 'team', Value: 'fraud' },
    ]);
    await sm.send(new DeleteTagsCommand({ ResourceArn: modelArn, TagKeys: ['team'] }));
    expect((await sm.send(new ListTagsCommand({ ResourceArn: modelArn }))).Tags).toEqual([
      { Key: 'stage', Value: 'prod' },
    ]);
    await sm.send(
      new AddTagsCommand({ ResourceArn: job.TrainingJobArn as string, Tags: [{ Key: 'run', Value: '1' }] }),
    );
    expect((await sm.send(new ListTagsCommand({ ResourceArn: job.TrainingJobArn as string }))).Tags).toEqual([
      { Key: 'run', Value: '1' },
    ]);
    expect(
      await awsError(
        sm.send(
          new AddTagsCommand({
            ResourceArn: 'arn:aws:sagemaker:us-east-1:000000000000:model/nope',
            Tags: [{ Key: 'a', Value: 'b' }],
          }),
        ),
      ),
    ).toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/^Could not find resource/),
    });
    expect(
      await awsError(
        client('viewer').send(
          new AddTagsCommand({ ResourceArn: modelArn, Tags: [{ Key: 'a', Value: 'b' }] }),
        ),
      ),
    ).toMatchObject({ name: 'AccessDeniedException' });

    expect(
      await awsError(
        sm.send(new AddTagsCommand({ ResourceArn: modelArn, Tags: [{ Key: 'aws:owner', Value: 'x' }] })),
      ),
    ).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('reserved') });

    // Weights move at once; an unknown variant is named.
    await sm.send(
      new UpdateEndpointWeightsAndCapacitiesCommand({
        EndpointName: 'sm-xgb',
        DesiredWeightsAndCapacities: [{ VariantName: 'AllTraffic', DesiredWeight: 2 }],
      }),
    );
    expect(
      (await sm.send(new DescribeEndpointCommand({ EndpointName: 'sm-xgb' }))).ProductionVariants?.[0],
    ).toMatchObject({
      CurrentWeight: 2,
      DesiredWeight: 2,
    });

    // UpdateEndpoint to another config: Updating, then InService on the new config (blue/green).
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'sm-xgb-green',
        ProductionVariants: [
          { VariantName: 'Green', ModelName: 'sm-xgb', InstanceType: 'ml.m5.large', InitialInstanceCount: 1 },
        ],
      }),
    );
    await sm.send(new UpdateEndpointCommand({ EndpointName: 'sm-xgb', EndpointConfigName: 'sm-xgb-green' }));
    expect((await sm.send(new DescribeEndpointCommand({ EndpointName: 'sm-xgb' }))).EndpointStatus).toBe(
      'Updating',
    );
    expect(
      await awsError(
        sm.send(new UpdateEndpointCommand({ EndpointName: 'sm-xgb', EndpointConfigName: 'sm-xgb' })),
      ),
    ).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('Updating') });
    await waitUntilEndpointInService(
      { client: sm, minDelay: 1, maxDelay: 1, maxWaitTime: 90 },
      { EndpointName: 'sm-xgb' },
    );
    const updated = await sm.send(new DescribeEndpointCommand({ EndpointName: 'sm-xgb' }));
    expect(updated.EndpointConfigName).toBe('sm-xgb-green');
    expect(updated.ProductionVariants?.map((v) => v.VariantName)).toEqual(['Green']);

    // DeleteEndpoint, then the waiter sees "Could not find endpoint" as deleted.
    await sm.send(new DeleteEndpointCommand({ EndpointName: 'sm-xgb' }));
    const deleted = await waitUntilEndpointDeleted(
      { client: sm, minDelay: 1, maxDelay: 1, maxWaitTime: 60 },
      { EndpointName: 'sm-xgb' },
    );
    expect(deleted.state).toBe('SUCCESS');
    expect(await awsError(sm.send(new DescribeEndpointCommand({ EndpointName: 'sm-xgb' })))).toEqual({
      name: 'ValidationException',
      status: 400,
      message: 'Could not find endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/sm-xgb".',
    });

    const listed = await sm.send(
      new ListTrainingJobsCommand({ NameContains: 'xgb', StatusEquals: 'Completed' }),
    );
    expect(listed.TrainingJobSummaries?.map((s) => s.TrainingJobName)).toEqual(['sm-xgb']);
    expect(await awsError(sm.send(new CreateTrainingJobCommand(trainingSpec('sm-xgb'))))).toMatchObject({
      name: 'ResourceInUse',
      status: 400,
    });
    const missing = await awsError(sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'nope' })));
    expect(missing).toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/^Could not find/),
    });
    s3.destroy();
  }, 240_000);
});

describe('SageMaker door fuzzing from the service model', () => {
  const valid: Record<string, Record<string, unknown>> = {
    CreateProcessingJob: spec('fuzz-never-created') as Record<string, unknown>,
    DescribeProcessingJob: { ProcessingJobName: 'sm-upper' },
    ListProcessingJobs: { NameContains: 'x', StatusEquals: 'Completed', MaxResults: 5 },
    StopProcessingJob: { ProcessingJobName: 'fuzz-never-created' },
    CreateTrainingJob: trainingSpec('fuzz-never-created') as Record<string, unknown>,
    DescribeTrainingJob: { TrainingJobName: 'sm-xgb' },
    ListTrainingJobs: { NameContains: 'x', StatusEquals: 'Completed', MaxResults: 5 },
    StopTrainingJob: { TrainingJobName: 'fuzz-never-created' },
    ...registryFuzzInputs,
    CreateHyperParameterTuningJob: {
      HyperParameterTuningJobName: 'fuzz-never-created',
      HyperParameterTuningJobConfig: {
        Strategy: 'Bayesian',
        HyperParameterTuningJobObjective: { Type: 'Maximize', MetricName: 'validation:auc' },
        ResourceLimits: { MaxNumberOfTrainingJobs: 2, MaxParallelTrainingJobs: 1 },
        ParameterRanges: {
          ContinuousParameterRanges: [
            { Name: 'eta', MinValue: '0.01', MaxValue: '0.5', ScalingType: 'Logarithmic' },
          ],
          IntegerParameterRanges: [{ Name: 'max_depth', MinValue: '2', MaxValue: '8' }],
        },
        TrainingJobEarlyStoppingType: 'Off',
      },
      TrainingJobDefinition: {
        AlgorithmSpecification: {
          TrainingImage: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
          TrainingInputMode: 'File',
        },
        StaticHyperParameters: { num_round: '5', objective: 'binary:logistic' },
        RoleArn: 'arn:aws:iam::000000000000:role/trainyard',
        OutputDataConfig: { S3OutputPath: 's3://work/none/' },
        ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
        StoppingCondition: { MaxRuntimeInSeconds: 60 },
      },
    },
    DescribeHyperParameterTuningJob: { HyperParameterTuningJobName: 'fuzz-never-created' },
    ListHyperParameterTuningJobs: {
      NameContains: 'x',
      StatusEquals: 'Completed',
      SortBy: 'Name',
      SortOrder: 'Ascending',
      MaxResults: 5,
    },
    StopHyperParameterTuningJob: { HyperParameterTuningJobName: 'fuzz-never-created' },
    ListTrainingJobsForHyperParameterTuningJob: {
      HyperParameterTuningJobName: 'fuzz-never-created',
      StatusEquals: 'Completed',
      SortBy: 'Name',
      MaxResults: 5,
    },
    CreateModel: {
      ModelName: 'fuzz-never-created',
      ExecutionRoleArn: 'arn:aws:iam::000000000000:role/trainyard',
      PrimaryContainer: {
        Image: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
        ModelDataUrl: 's3://work/none/model.tar.gz',
        Environment: { A: 'b' },
      },
      Tags: [{ Key: 'a', Value: 'b' }],
    },
    DescribeModel: { ModelName: 'sm-xgb' },
    ListModels: {
      NameContains: 'x',
      SortBy: 'Name',
      SortOrder: 'Ascending',
      MaxResults: 5,
      CreationTimeAfter: 1,
    },
    DeleteModel: { ModelName: 'fuzz-never-created' },
    CreateEndpointConfig: {
      EndpointConfigName: 'fuzz-never-created',
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          ModelName: 'fuzz-never-created',
          InstanceType: 'ml.m5.large',
          InitialInstanceCount: 1,
          InitialVariantWeight: 1,
        },
      ],
      Tags: [{ Key: 'a', Value: 'b' }],
    },
    DescribeEndpointConfig: { EndpointConfigName: 'sm-xgb' },
    ListEndpointConfigs: {
      NameContains: 'x',
      SortBy: 'CreationTime',
      SortOrder: 'Descending',
      MaxResults: 5,
    },
    DeleteEndpointConfig: { EndpointConfigName: 'fuzz-never-created' },
    CreateEndpoint: {
      EndpointName: 'fuzz-never-created',
      EndpointConfigName: 'fuzz-never-created',
      Tags: [{ Key: 'a', Value: 'b' }],
    },
    DescribeEndpoint: { EndpointName: 'fuzz-never-created' },
    ListEndpoints: { NameContains: 'x', StatusEquals: 'InService', SortBy: 'Status', MaxResults: 5 },
    UpdateEndpoint: { EndpointName: 'fuzz-never-created', EndpointConfigName: 'fuzz-never-created' },
    UpdateEndpointWeightsAndCapacities: {
      EndpointName: 'fuzz-never-created',
      DesiredWeightsAndCapacities: [{ VariantName: 'AllTraffic', DesiredWeight: 1, DesiredInstanceCount: 1 }],
    },
    DeleteEndpoint: { EndpointName: 'fuzz-never-created' },
    ...experimentFuzzInputs,
    AddTags: {
      ResourceArn: 'arn:aws:sagemaker:us-east-1:000000000000:model/fuzz-never-created',
      Tags: [{ Key: 'a', Value: 'b' }],
    },
    ListTags: {
      ResourceArn: 'arn:aws:sagemaker:us-east-1:000000000000:model/fuzz-never-created',
      MaxResults: 50,
    },
    DeleteTags: {
      ResourceArn: 'arn:aws:sagemaker:us-east-1:000000000000:model/fuzz-never-created',
      TagKeys: ['a'],
    },
  };

  it('answers an operation outside the dispatcher with UnknownOperationException', async () => {
    const answer = await sendRaw('CreateCompilationJob', { CompilationJobName: 'x' });
    expect(answer).toMatchObject({ status: 400, type: 'UnknownOperationException' });
    expect(answer.message).toContain('CreateProcessingJob');
  });

  it('covers every operation of the dispatcher', () => {
    expect(Object.keys(valid).sort()).toEqual(Object.keys(sageMakerOperations({} as never)).sort());
  });

  for (const operation of Object.keys(valid)) {
    it(`answers malformed ${operation} members with 400 ValidationException naming the member`, async () => {
      const cases = mutations(operation, valid[operation] as Record<string, unknown>);
      expect(cases.length).toBeGreaterThan(
        registryMinimumMutations[operation] ?? (/^Create(Processing|Training)Job$/.test(operation) ? 100 : 3),
      );
      const wrong: string[] = [];
      for (const mutation of cases) {
        const answer = await sendRaw(
          operation,
          applied(valid[operation] as Record<string, unknown>, mutation),
        );
        const ok =
          answer.status === 400 &&
          answer.type === 'ValidationException' &&
          answer.message.includes(`'${mutation.path}'`);
        if (!ok)
          wrong.push(
            `${mutation.path} = ${JSON.stringify(mutation.value)}: ${answer.status} ${answer.type} ${answer.message}`,
          );
      }
      expect(wrong).toEqual([]);
    }, 120_000);
  }
});
