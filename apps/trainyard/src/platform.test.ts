import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProcessingJob } from '@trainyard/contracts/processing-jobs';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadServerConfig } from './config.js';
import { openWorkerRole } from './platform.js';

const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-worker-role-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('openWorkerRole', () => {
  it('runs jobs without opening DuckDB until a job needs datasets', async () => {
    const config = loadServerConfig({ env: {}, cwd: dataDir, flags: { dataDir, logLevel: 'silent' } });
    const role = await openWorkerRole(config, pino({ level: 'silent' }));
    try {
      expect(role.jobs.worker()?.kinds).toEqual(['processing', 'training']);
      const created = await role.jobs.processingJobs.create({
        ProcessingJobName: 'no-datasets',
        ProcessingResources: {
          ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.t3.medium', VolumeSizeInGB: 1 },
        },
        AppSpecification: { ImageUri: 'node:20', ContainerEntrypoint: ['node', '-e', "console.log('hi')"] },
        ProcessingInputs: [],
      });
      expect(created.ProcessingJobStatus).toBe('InProgress');
      let job: ProcessingJob = created;
      const deadline = Date.now() + 15_000;
      while (job.ProcessingJobStatus === 'InProgress' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        job = await role.jobs.processingJobs.describe('no-datasets');
      }
      expect(job.ProcessingJobStatus).toBe('Completed');
      // DuckDB creates its temp directory when it opens.
      expect(existsSync(join(dataDir, 'tmp', 'duckdb'))).toBe(false);
    } finally {
      await role.close();
    }
  });
});
