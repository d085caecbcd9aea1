import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import { platformBucket, refusePlatformUri } from '@trainyard/contracts/platform-namespace';
import type { CreateProcessingJobBody, ProcessingJob } from '@trainyard/contracts/processing-jobs';
import type { InstanceTypeStore } from '../ports/metadata-store.js';
import type { JobDatasetCatalog } from './job-dataset-catalog.js';
import type { JobService } from './job-service.js';
import { processingJobKind } from './processing-job-kind.js';

export interface ProcessingJobServiceOptions {
  jobs: JobService;
  instanceTypes: InstanceTypeStore;
  /** Absent until datasets are wired: DatasetInput/DatasetOutput are then refused. */
  datasets?: JobDatasetCatalog | undefined;
  /** Images the runtime implements itself (no ContainerEntrypoint needed). */
  builtInImages?: readonly string[];
}

/**
 * What is processing-specific: validating CreateProcessingJob against what the local executor
 * can run. Describe, list, stop and logs are kind-generic ({@link JobService}).
 */
export class ProcessingJobService {
  constructor(private readonly options: ProcessingJobServiceOptions) {}

  /** Validates the request, stores the job as InProgress/Pending and queues it. */
  async create(body: CreateProcessingJobBody): Promise<ProcessingJob> {
    const spec = await this.#validate(body);
    const job = await this.options.jobs.enqueue('processing', spec.ProcessingJobName, spec);
    return processingJobKind.view(job, spec);
  }

  async #validate(body: CreateProcessingJobBody): Promise<CreateProcessingJobBody> {
    const cluster = body.ProcessingResources.ClusterConfig;
    const typeField = 'ProcessingResources.ClusterConfig.InstanceType';
    try {
      await this.options.instanceTypes.get(cluster.InstanceType);
    } catch (error) {
      if (!TrainyardError.is(error, 'NOT_FOUND')) throw error;
      throw invalidArgument(typeField, `"${cluster.InstanceType}" is not in the instance type catalog`);
    }
    if (cluster.InstanceCount !== 1) {
      throw invalidArgument(
        'ProcessingResources.ClusterConfig.InstanceCount',
        'the local executor runs one instance per job; use 1',
      );
    }
    const app = body.AppSpecification;
    const builtIn = (this.options.builtInImages ?? []).includes(app.ImageUri);
    if (!builtIn && !app.ContainerEntrypoint) {
      throw invalidArgument(
        'AppSpecification.ContainerEntrypoint',
        `is required: there is no container runtime, so the entrypoint is the command to run (e.g. ["python3", "/opt/ml/processing/input/code/prep.py"])${
          this.options.builtInImages?.length
            ? `; built-in images: ${this.options.builtInImages.join(', ')}`
            : ''
        }`,
      );
    }
    const paths = new Map<string, string>();
    const claimPath = (path: string, field: string) => {
      const normalized = path.replace(/\/+$/, '');
      for (const [other, otherField] of paths) {
        if (
          normalized === other ||
          normalized.startsWith(`${other}/`) ||
          other.startsWith(`${normalized}/`)
        ) {
          throw invalidArgument(field, `"${path}" overlaps ${otherField} ("${other}")`);
        }
      }
      paths.set(normalized, field);
      return normalized;
    };
    const inputNames = new Set<string>();
    const inputs = body.ProcessingInputs.map((input, i) => {
      const field = `ProcessingInputs.${i}`;
      if (inputNames.has(input.InputName))
        throw invalidArgument(`${field}.InputName`, `"${input.InputName}" is used twice`);
      inputNames.add(input.InputName);
      const fallback = `/opt/ml/processing/input/${input.InputName}`;
      if (input.S3Input) {
        const s3 = input.S3Input;
        if (s3.S3InputMode !== 'File') {
          throw invalidArgument(`${field}.S3Input.S3InputMode`, 'only File mode is supported (no Pipe mode)');
        }
        if (s3.S3DataType !== 'S3Prefix') {
          throw invalidArgument(`${field}.S3Input.S3DataType`, 'only S3Prefix is supported');
        }
        if (s3.S3CompressionType !== 'None') {
          throw invalidArgument(
            `${field}.S3Input.S3CompressionType`,
            'Gzip applies to Pipe mode only; use None',
          );
        }
        const LocalPath = claimPath(s3.LocalPath ?? fallback, `${field}.S3Input.LocalPath`);
        return { ...input, S3Input: { ...s3, LocalPath } };
      }
      if (!this.options.datasets) {
        throw new TrainyardError(
          'FAILED_PRECONDITION',
          `${field}.DatasetInput: datasets are not available on this server`,
          { field: `${field}.DatasetInput` },
        );
      }
      const ds = input.DatasetInput!;
      const LocalPath = claimPath(ds.LocalPath ?? fallback, `${field}.DatasetInput.LocalPath`);
      return { ...input, DatasetInput: { ...ds, LocalPath } };
    });
    const outputNames = new Set<string>();
    const outputs = body.ProcessingOutputConfig?.Outputs.map((output, i) => {
      const field = `ProcessingOutputConfig.Outputs.${i}`;
      if (outputNames.has(output.OutputName)) {
        throw invalidArgument(`${field}.OutputName`, `"${output.OutputName}" is used twice`);
      }
      outputNames.add(output.OutputName);
      refusePlatformUri(output.S3Output?.S3Uri, `${field}.S3Output.S3Uri`);
      const s3 = output.S3Output ?? {
        S3Uri: `s3://${platformBucket}/jobs/processing/${body.ProcessingJobName}/output/${output.OutputName}/`,
        S3UploadMode: 'EndOfJob' as const,
      };
      if (s3.S3UploadMode !== 'EndOfJob') {
        throw invalidArgument(`${field}.S3Output.S3UploadMode`, 'only EndOfJob is supported');
      }
      if (output.DatasetOutput && !this.options.datasets) {
        throw new TrainyardError(
          'FAILED_PRECONDITION',
          `${field}.DatasetOutput: datasets are not available on this server`,
          { field: `${field}.DatasetOutput` },
        );
      }
      const LocalPath = claimPath(
        s3.LocalPath ?? `/opt/ml/processing/output/${output.OutputName}`,
        `${field}.S3Output.LocalPath`,
      );
      return { ...output, S3Output: { ...s3, LocalPath } };
    });
    const spec: CreateProcessingJobBody = { ...body, ProcessingInputs: inputs };
    if (outputs) spec.ProcessingOutputConfig = { Outputs: outputs };
    return spec;
  }
}
