import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';
import { requireBuild, runCli } from '../testing/server-process.js';

let t: TestServer & { baseUrl: string };

const cli = (args: string[]) => runCli(args, { baseUrl: t.baseUrl, key: t.adminKey });

describe.skipIf(!requireBuild())('trainyard processing-jobs CLI (needs the build: npx tsc -b)', () => {
  beforeAll(async () => {
    t = await openTestServer({ jobStopGraceSeconds: 1, jobVisibilityTimeoutSeconds: 2 }, { listen: true });
    await t.platform.jobs.startWorker();
    await t.platform.blobs.put(
      { bucket: 'work', key: 'code/count.py' },
      `import os, time
print('counting', flush=True)
time.sleep(1.2)
open(os.path.join(os.environ['PROCESSING_OUTPUT_OUT'], 'n.txt'), 'w').write('3')
print('done', flush=True)
`,
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates a job from a spec file, shows its status changes live with its output, then lists, describes and prints logs', async () => {
    const spec = join(t.dataDir, 'job.json');
    writeFileSync(
      spec,
      JSON.stringify({
        ProcessingJobName: 'cli-1',
        ProcessingResources: {
          ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.t3.medium', VolumeSizeInGB: 1 },
        },
        AppSpecification: {
          ImageUri: 'python:3',
          ContainerEntrypoint: ['python3', '/opt/ml/processing/input/code/count.py'],
        },
        ProcessingInputs: [
          { InputName: 'code', S3Input: { S3Uri: 's3://work/code/count.py', S3DataType: 'S3Prefix' } },
        ],
        ProcessingOutputConfig: {
          Outputs: [{ OutputName: 'out', S3Output: { S3Uri: 's3://work/cli/', S3UploadMode: 'EndOfJob' } }],
        },
      }),
    );
    const created = await cli(['processing-jobs', 'create', '--spec', spec, '--wait', '--logs']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('counting');
    expect(created.stdout).toContain('done');
    expect(created.stderr).toMatch(/InProgress\s+Processing/);
    expect(created.stderr).toMatch(/Completed\s+Completed/);

    const list = await cli(['processing-jobs', 'list']);
    expect(list.stdout).toMatch(/^PROCESSINGJOBNAME\s+PROCESSINGJOBSTATUS/m);
    expect(list.stdout).toMatch(/^cli-1\s+Completed\s+Completed/m);

    const described = await cli(['processing-jobs', 'describe', 'cli-1', '--json']);
    expect(JSON.parse(described.stdout)).toMatchObject({
      ProcessingJobName: 'cli-1',
      ProcessingJobStatus: 'Completed',
    });

    const logs = await cli(['processing-jobs', 'logs', 'cli-1', '--follow']);
    expect(logs.code).toBe(0);
    expect(logs.stdout.split('\n')).toEqual(expect.arrayContaining(['counting', 'done']));

    const stopEnded = await cli(['processing-jobs', 'stop', 'cli-1']);
    expect(stopEnded.code).toBe(1);
    expect(stopEnded.stderr).toMatch(/has already ended \(Completed\).*FAILED_PRECONDITION/);
  }, 90_000);
});
