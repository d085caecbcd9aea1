import { TrainyardError } from '@trainyard/contracts/errors';
import { SageMakerError } from './sagemaker-error.js';

export type Json = Record<string, unknown>;

/** The account and region every Trainyard ARN names (the native services mint the same). */
export const arnPrefix = 'arn:aws:sagemaker:us-east-1:000000000000';

/** `arn:aws:sagemaker:<region>:<account>:<type>/<lowercased name>`, as SageMaker forms them. */
export function sageMakerArn(type: string, name: string): string {
  return `${arnPrefix}:${type}/${name.toLowerCase()}`;
}

/** ISO text (native) to epoch seconds with milliseconds (AWS JSON 1.1 timestamps). */
export function epochSeconds(iso: string | undefined): number | undefined {
  return iso === undefined ? undefined : Date.parse(iso) / 1000;
}

/** An AWS timestamp member (epoch seconds, as the JSON protocol sends it, or an ISO string) as ISO 8601. */
export function instantOf(value: unknown, member: string): string | undefined {
  if (value === undefined) return undefined;
  const ms =
    typeof value === 'number' ? value * 1000 : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new SageMakerError('ValidationException', 400, `Value at '${member}' is not a timestamp`);
  }
  return new Date(ms).toISOString();
}

/** Drops undefined members, so the JSON has only what is set (as AWS sends it). */
export function defined(record: Json): Json {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}

export function notSupported(member: string, why: string): SageMakerError {
  return new SageMakerError('ValidationException', 400, `${member} is not supported by Trainyard: ${why}`);
}

/** Runs `call`, answering the native NOT_FOUND the way SageMaker does for this resource. */
export async function orMissing<T>(missing: () => SageMakerError, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (TrainyardError.is(error, 'NOT_FOUND')) throw missing();
    throw error;
  }
}

/**
 * The data and hardware members of a training job (InputDataConfig, OutputDataConfig,
 * ResourceConfig, StoppingCondition, CheckpointConfig) that the native contract knows, picked from
 * SageMaker's CreateTrainingJob input or a tuning job's TrainingJobDefinition.
 * @param fileSystemField names a channel's refused FileSystemDataSource member (1-based, as AWS counts)
 */
export function trainingDataAndResourcesOf(spec: Json, fileSystemField: (member: number) => string): Json {
  const output = (spec.OutputDataConfig ?? {}) as Json;
  const resources = (spec.ResourceConfig ?? {}) as Json;
  const stopping = spec.StoppingCondition as Json | undefined;
  const checkpoint = spec.CheckpointConfig as Json | undefined;
  return {
    InputDataConfig: (spec.InputDataConfig as Json[] | undefined)?.map((channel, i) => {
      const source = (channel.DataSource ?? {}) as Json;
      if (source.FileSystemDataSource !== undefined)
        throw notSupported(fileSystemField(i + 1), 'use S3DataSource');
      const s3 = source.S3DataSource as Json | undefined;
      return defined({
        ChannelName: channel.ChannelName,
        DataSource: s3
          ? {
              S3DataSource: defined({
                S3DataType: s3.S3DataType,
                S3Uri: s3.S3Uri,
                S3DataDistributionType: s3.S3DataDistributionType,
              }),
            }
          : {},
        ContentType: channel.ContentType,
        CompressionType: channel.CompressionType,
        RecordWrapperType: channel.RecordWrapperType,
        InputMode: channel.InputMode,
      });
    }),
    OutputDataConfig: defined({
      S3OutputPath: output.S3OutputPath,
      KmsKeyId: output.KmsKeyId,
      CompressionType: output.CompressionType,
    }),
    ResourceConfig: defined({
      InstanceType: resources.InstanceType,
      InstanceCount: resources.InstanceCount,
      VolumeSizeInGB: resources.VolumeSizeInGB,
    }),
    StoppingCondition: stopping ? defined({ MaxRuntimeInSeconds: stopping.MaxRuntimeInSeconds }) : undefined,
    CheckpointConfig: checkpoint
      ? defined({ S3Uri: checkpoint.S3Uri, LocalPath: checkpoint.LocalPath })
      : undefined,
  };
}

/** SageMaker answers a name it does not know with a ValidationException, not a 404. */
export function orCouldNotFind<T>(kind: string, name: string, call: () => Promise<T>): Promise<T> {
  return orMissing(
    () => new SageMakerError('ValidationException', 400, `Could not find ${kind} with name ${name}`),
    call,
  );
}

/** A timestamp member (epoch seconds, or ISO text) as milliseconds. */
function millisOf(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'number' ? value * 1000 : Date.parse(String(value));
}

/** What an in-door list needs of one item: its name, times and status. */
export interface Listed {
  name: string;
  creationTime: string;
  lastModifiedTime?: string | undefined;
  status?: string | undefined;
}

/**
 * One page of a List call over the whole (small) collection, as SageMaker filters and sorts:
 * `NameContains` (case-insensitive), `StatusEquals`, creation and modification time bounds,
 * `SortBy` Name / CreationTime / Status, `SortOrder` (default Descending), `MaxResults` (default
 * 10) and an opaque `NextToken`. Used where the native list pages without these filters
 * (models, endpoint configs, endpoints): those collections are a few hundred rows at most.
 */
export function listPage<T>(
  items: readonly T[],
  input: Json,
  view: (item: T) => Listed,
): { page: T[]; next: string | undefined } {
  const contains = (input.NameContains as string | undefined)?.toLowerCase();
  const bounds: [string, 'creationTime' | 'lastModifiedTime', 1 | -1][] = [
    ['CreationTimeAfter', 'creationTime', 1],
    ['CreationTimeBefore', 'creationTime', -1],
    ['LastModifiedTimeAfter', 'lastModifiedTime', 1],
    ['LastModifiedTimeBefore', 'lastModifiedTime', -1],
  ];
  const limits = bounds
    .map(([member, field, side]) => [millisOf(input[member]), field, side] as const)
    .filter(([at]) => at !== undefined);
  const status = input.StatusEquals as string | undefined;
  const rows = items
    .map((item) => ({ item, view: view(item) }))
    .filter(({ view: v }) => {
      if (contains !== undefined && !v.name.toLowerCase().includes(contains)) return false;
      if (status !== undefined && v.status !== status) return false;
      for (const [at, field, side] of limits) {
        const when = Date.parse(v[field] ?? v.creationTime);
        if (side === 1 ? !(when > (at as number)) : !(when < (at as number))) return false;
      }
      return true;
    });
  const sortBy = (input.SortBy as string | undefined) ?? 'CreationTime';
  const sign = input.SortOrder === 'Ascending' ? 1 : -1;
  rows.sort((a, b) => {
    const order =
      sortBy === 'Name'
        ? a.view.name.localeCompare(b.view.name)
        : sortBy === 'Status'
          ? (a.view.status ?? '').localeCompare(b.view.status ?? '')
          : Date.parse(a.view.creationTime) - Date.parse(b.view.creationTime);
    return sign * (order || a.view.name.localeCompare(b.view.name));
  });
  const start = offsetOf(input.NextToken);
  const size = (input.MaxResults as number | undefined) ?? 10;
  const end = start + size;
  return {
    page: rows.slice(start, end).map((r) => r.item),
    next: end < rows.length ? Buffer.from(JSON.stringify({ o: end })).toString('base64url') : undefined,
  };
}

function offsetOf(token: unknown): number {
  if (token === undefined) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(String(token), 'base64url').toString('utf8')) as { o?: unknown };
    if (typeof parsed.o === 'number' && Number.isInteger(parsed.o) && parsed.o >= 0) return parsed.o;
  } catch {
    // answered below
  }
  throw new SageMakerError(
    'ValidationException',
    400,
    'The NextToken is not valid: pass a NextToken from the previous page',
  );
}

/** Every item of a natively paged list. */
export async function allPages<T>(
  list: (page: {
    pageToken?: string;
    limit: number;
  }) => Promise<{ items: T[]; nextPageToken?: string | undefined }>,
): Promise<T[]> {
  const all: T[] = [];
  let pageToken: string | undefined;
  do {
    const page = await list({ limit: 1000, ...(pageToken ? { pageToken } : {}) });
    all.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return all;
}
