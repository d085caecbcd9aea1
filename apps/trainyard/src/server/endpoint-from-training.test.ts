import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBlobUri } from '@trainyard/core/blob/blob-address';
import { DenseMatrix } from '@trainyard/ml/data/matrix';
import { importXgboostModel } from '@trainyard/ml/formats/xgboost-json';
import { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeEntryPoint } from '../entry-points.js';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';
import { deployXgboost, trainXgboost } from '../testing/xgboost-flow.js';

/** Label first, 4 features, as SageMaker's XGBoost reads CSV. */
function rows(n: number, seed: number): number[][] {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  return Array.from({ length: n }, () => {
    const x = Array.from({ length: 4 }, () => Math.round((rnd() * 4 - 2) * 1000) / 1000);
    return [x[0]! * 1.5 - x[1]! + (rnd() - 0.5) > 0 ? 1 : 0, ...x];
  });
}

describe('a model from a training job', () => {
  let t: TestServer & { baseUrl: string };
  let scratch: string;

  beforeAll(async () => {
    if (!runtimeEntryPoint('model-server') || !runtimeEntryPoint('builtin-algorithm'))
      throw new Error(
        'the runtime entry scripts are not built: run "npx tsc -b" first (npm test builds first)',
      );
    scratch = mkdtempSync(join(tmpdir(), 'endpoint-training-'));
    t = await openTestServer({ workerConcurrency: 1 }, { listen: true });
    await t.platform.jobs.startWorker();
    t.platform.endpoints.startReconciler();
  });
  afterAll(async () => {
    await t?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('trains built-in XGBoost, deploys its model.tar.gz and serves the same predictions', async () => {
    const client = new TrainyardClient({ endpoint: t.baseUrl, key: t.adminKey });
    await t.platform.blobs.createBucket('work');
    const csv = (r: number[][]) => `${r.map((row) => row.join(',')).join('\n')}\n`;
    await t.platform.blobs.put({ bucket: 'work', key: 'data/train/train.csv' }, csv(rows(400, 3)));
    const job = await trainXgboost(client, 'xgb-serve', {
      trainUri: 's3://work/data/train/',
      outputUri: 's3://work/models',
    });
    expect(job.TrainingJobStatus, job.FailureReason).toBe('Completed');
    const artifact = job.ModelArtifacts.S3ModelArtifacts;
    const endpoint = await deployXgboost(client, 'xgb-serve', artifact);
    expect(endpoint.EndpointStatus, endpoint.FailureReason).toBe('InService');

    const test = rows(5, 11).map((r) => r.slice(1));
    const answer = await client.invokeEndpoint('xgb-serve', csv(test));
    expect(answer.invokedProductionVariant).toBe('AllTraffic');
    const served = answer.body.trim().split('\n').map(Number);

    const { body } = await t.platform.blobs.get(parseBlobUri(artifact));
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    writeFileSync(join(scratch, 'model.tar.gz'), Buffer.concat(chunks));
    execFileSync('tar', ['-xzf', join(scratch, 'model.tar.gz'), '-C', scratch]);
    expect(existsSync(join(scratch, 'xgboost-model'))).toBe(true);
    const expected = importXgboostModel(readFileSync(join(scratch, 'xgboost-model'))).predict(
      DenseMatrix.fromRows(test),
    );
    expect(served).toHaveLength(5);
    for (let i = 0; i < 5; i++) expect(served[i]).toBeCloseTo(expected[i]!, 6);
  }, 120_000);
});
