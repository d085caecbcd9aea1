import { TrainyardError } from '@trainyard/contracts/errors';
import { describe, expect, it } from 'vitest';
import type { JobRecord } from '../ports/job-store.js';
import { JobKindRegistry, specOf } from './job-kinds.js';
import { processingJobKind } from './processing-job-kind.js';

const row = (spec: unknown): JobRecord => ({
  id: 'job-1',
  kind: 'processing',
  name: 'prep-1',
  arn: 'arn:aws:sagemaker:us-east-1:000000000000:processing-job/prep-1',
  status: 'InProgress',
  secondaryStatus: 'Pending',
  transitions: [],
  spec,
  result: undefined,
  failure: undefined,
  exitMessage: undefined,
  createdAt: new Date(0),
  updatedAt: new Date(0),
  startedAt: undefined,
  endedAt: undefined,
  attempts: 0,
  claimHolder: undefined,
  claimExpiresAt: undefined,
  version: 1,
});

describe('job kinds', () => {
  it('reads a stored spec back through the kind schema, and names the job when it does not match', () => {
    const spec = {
      ProcessingJobName: 'prep-1',
      ProcessingResources: {
        ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 1 },
      },
      AppSpecification: { ImageUri: 'x', ContainerEntrypoint: ['node', 'a.js'] },
      StoppingCondition: { MaxRuntimeInSeconds: 60 },
    };
    const parsed = specOf(processingJobKind, row(spec));
    expect(processingJobKind.instanceTypeOf(parsed)).toBe('ml.m5.large');
    expect(processingJobKind.maxRuntimeSeconds(parsed)).toBe(60);
    expect(processingJobKind.view(row(spec), parsed)).toMatchObject({
      ProcessingJobName: 'prep-1',
      Attempts: 0,
    });
    expect(() => specOf(processingJobKind, row({ ProcessingJobName: 'prep-1' }))).toThrow(
      /the stored spec of processing job "prep-1" does not match its schema/,
    );
  });

  it('refuses an unregistered kind and a kind registered twice', () => {
    const registry = new JobKindRegistry([processingJobKind]);
    expect(registry.kinds).toEqual(['processing']);
    expect(() => registry.get('training')).toThrow(/job kind "training" is not registered/);
    try {
      registry.register(processingJobKind);
      expect.unreachable();
    } catch (error) {
      expect(TrainyardError.is(error, 'ALREADY_EXISTS')).toBe(true);
    }
  });
});
