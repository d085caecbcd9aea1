import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Endpoint } from '@trainyard/contracts/endpoints';
import { DenseMatrix } from '@trainyard/ml/data/matrix';
import { exportGbdtOnnx } from '@trainyard/ml/formats/onnx';
import { trainGbdt } from '@trainyard/ml/gbdt/gbdt';
import { canImportPython, requireDependency } from '@trainyard/testing/require-dependency';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeEntryPoint } from '../entry-points.js';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';
import { runCli } from '../testing/server-process.js';

const python = requireDependency(
  'scikit-learn, pandas, joblib and flask for /usr/bin/python3',
  () => canImportPython('sklearn, pandas, joblib, flask'),
  'apt-get install python3-sklearn python3-pandas python3-joblib python3-flask',
);

// The training issue's SageMaker-style scikit-learn entry point (training-handlers.test.ts runs it too).
const trainPy = readFileSync(new URL('../../fixtures/sklearn/train.py', import.meta.url), 'utf8');
// Made once by packages/runtime/fixtures/make_torch_mlp.py with Debian's python3-torch.
const runtimeFixtures = new URL('../../../../packages/runtime/fixtures/', import.meta.url);
const torch = JSON.parse(readFileSync(new URL('torch-mlp.expected.json', runtimeFixtures), 'utf8')) as {
  rows: number[][];
  outputs: number[][];
};

/** Label first, 4 features, as SageMaker's scikit-learn and XGBoost containers read CSV. */
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

const flaskApp = (pingStatus: number) => `
import os
from flask import Flask, Response, request

app = Flask(__name__)

@app.get("/ping")
def ping():
    return ("", ${pingStatus})

@app.post("/invocations")
def invocations():
    rows = [[float(v) for v in line.split(",")] for line in request.get_data(as_text=True).splitlines() if line.strip()]
    scale = float(os.environ["SCALE"])
    return Response("".join(f"{sum(r) * scale}\\n" for r in rows), mimetype="text/csv")

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ["SAGEMAKER_BIND_TO_PORT"]))
`;

describe.skipIf(!python)('model containers: ONNX, script handlers and server commands', () => {
  let t: TestServer & { baseUrl: string };
  let scratch: string;
  const gbdt = (() => {
    const data = rows(300, 5);
    return trainGbdt(
      { x: DenseMatrix.fromRows(data.map((r) => r.slice(1))), y: data.map((r) => r[0]!) },
      { objective: 'binary:logistic', num_round: '10', max_depth: '3' },
    );
  })();

  /** Packs `files` (paths may hold folders) as a .tar.gz into the blob store. */
  async function upload(key: string, files: Record<string, string | Uint8Array>): Promise<string> {
    const dir = mkdtempSync(join(scratch, 'archive-'));
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), content);
    }
    const archive = join(scratch, `${key.replaceAll('/', '-')}`);
    execFileSync('tar', ['-czf', archive, '-C', dir, '.']);
    await t.platform.blobs.putFile({ bucket: 'work', key }, archive);
    return `s3://work/${key}`;
  }

  async function api(method: string, url: string, payload?: unknown, secret?: string) {
    const response = await t.app.inject({
      method: method as 'GET',
      url,
      headers: t.auth(secret),
      ...(payload ? { payload: payload as object } : {}),
    });
    return { status: response.statusCode, body: response.json() };
  }

  /** Creates a model, a one-variant config and (unless `endpoint` is false) an endpoint, all named `name`. */
  async function deploy(
    name: string,
    container: Record<string, unknown>,
    endpoint = true,
    variant: Record<string, unknown> = {},
  ): Promise<void> {
    const model = await api('POST', '/api/v1/models', { ModelName: name, PrimaryContainer: container });
    expect(model.status, JSON.stringify(model.body)).toBe(201);
    const config = await api('POST', '/api/v1/endpoint-configs', {
      EndpointConfigName: name,
      ProductionVariants: [
        {
          VariantName: 'main',
          ModelName: name,
          InstanceType: 'ml.m5.large',
          InitialInstanceCount: 1,
          ...variant,
        },
      ],
    });
    expect(config.status, JSON.stringify(config.body)).toBe(201);
    if (endpoint)
      expect(
        (await api('POST', '/api/v1/endpoints', { EndpointName: name, EndpointConfigName: name })).status,
      ).toBe(201);
  }

  async function waitFor(
    name: string,
    done: (e: Endpoint) => boolean,
    timeoutMs = 60_000,
  ): Promise<Endpoint> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const endpoint = await t.platform.endpoints.service.describeEndpoint(name);
      if (done(endpoint)) return endpoint;
      if (Date.now() > deadline) throw new Error(`endpoint ${name} stuck: ${JSON.stringify(endpoint)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const inService = (name: string) =>
    waitFor(name, (e) => e.EndpointStatus !== 'Creating').then((e) => {
      expect(e.EndpointStatus, e.FailureReason).toBe('InService');
      return e;
    });

  function invoke(name: string, body: string, headers: Record<string, string> = {}, secret?: string) {
    return fetch(`${t.baseUrl}/endpoints/${name}/invocations`, {
      method: 'POST',
      headers: { ...t.auth(secret), 'content-type': 'text/csv', ...headers },
      body,
    });
  }

  beforeAll(async () => {
    if (!runtimeEntryPoint('model-server'))
      throw new Error('the model server entry is not built: run "npx tsc -b" first (npm test builds first)');
    scratch = mkdtempSync(join(tmpdir(), 'endpoint-containers-'));
    t = await openTestServer({ workerConcurrency: 1 }, { listen: true });
    await t.platform.blobs.createBucket('work');
    await t.platform.jobs.startWorker();
    t.platform.endpoints.startReconciler();
    const csv = (r: number[][]) => `${r.map((row) => row.join(',')).join('\n')}\n`;
    await t.platform.blobs.put({ bucket: 'work', key: 'data/train/train.csv' }, csv(rows(400, 3)));
    await upload('code/sklearn-train/sourcedir.tar.gz', { 'train.py': trainPy });
    // Training runs while the other endpoints start.
    const job = await api('POST', '/api/v1/training-jobs', {
      TrainingJobName: 'sk-train',
      AlgorithmSpecification: {
        TrainingImage: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3',
      },
      HyperParameters: {
        sagemaker_program: '"train.py"',
        sagemaker_submit_directory: '"s3://work/code/sklearn-train/sourcedir.tar.gz"',
        C: '0.5',
      },
      OutputDataConfig: { S3OutputPath: 's3://work/models' },
      ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
      StoppingCondition: { MaxRuntimeInSeconds: 600 },
      InputDataConfig: [
        {
          ChannelName: 'train',
          ContentType: 'text/csv',
          DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://work/data/train/' } },
        },
      ],
    });
    expect(job.status, JSON.stringify(job.body)).toBe(201);

    await deploy('onnx-torch', {
      Image: 'trainyard/model-server',
      ModelDataUrl: await upload('onnx-torch/model.tar.gz', {
        'model.onnx': readFileSync(new URL('torch-mlp.onnx', runtimeFixtures)),
      }),
    });
    await deploy('onnx-gbdt', {
      Image: 'trainyard/model-server',
      ModelDataUrl: await upload('onnx-gbdt/model.tar.gz', { 'model.onnx': exportGbdtOnnx(gbdt) }),
    });
    await deploy('js-hooks', {
      Image: 'trainyard/model-server',
      ModelDataUrl: await upload('js-hooks/model.tar.gz', {
        'weights.json': JSON.stringify({ w: [1, 2, 3, 4] }),
        'code/inference.ts': `
import { readFileSync } from 'node:fs';
import { scaled } from './scale.ts';

interface Weights {
  w: number[];
}
export function modelFn(modelDir: string): Weights {
  return JSON.parse(readFileSync(modelDir + '/weights.json', 'utf8')) as Weights;
}
export function predictFn(rows: number[][], model: Weights): number[] {
  return rows.map((r) => scaled(r.reduce((s, v, j) => s + v * model.w[j]!, 0)));
}
`,
        'code/scale.ts': 'export const scaled = (v: number): number => v * Number(process.env.SCALE);\n',
      }),
      Environment: { SAGEMAKER_PROGRAM: 'inference.ts', SCALE: '2' },
    });
    const flask = { 'code/app.py': flaskApp(200) };
    await deploy('flask', {
      Image: 'my-registry/flask-server:1',
      ContainerEntrypoint: ['python3', '/opt/ml/model/code/app.py'],
      ModelDataUrl: await upload('flask/model.tar.gz', flask),
      Environment: { SCALE: '10' },
    });
    await deploy(
      'flask-sick',
      {
        Image: 'my-registry/flask-server:2',
        ContainerEntrypoint: ['python3', '/opt/ml/model/code/app.py'],
        ModelDataUrl: await upload('flask-sick/model.tar.gz', { 'code/app.py': flaskApp(503) }),
        Environment: { SCALE: '10' },
      },
      false,
      // SageMaker's per-variant startup health check (60 s by default here), so the update rolls back soon.
      { ContainerStartupHealthCheckTimeoutInSeconds: 8 },
    );
    // As the SageMaker Python SDK repacks it: code/inference.py inside model.tar.gz, no variables.
    await deploy('py-code', {
      Image: '763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1.0-cpu-py310',
      ModelDataUrl: await upload('py-code/model.tar.gz', {
        'weights.json': JSON.stringify({ w: [1, 2, 3, 4] }),
        'code/inference.py': `
import json, os
import numpy as np

class Dot:
    def __init__(self, w):
        self.w = np.array(w)
    def predict(self, x):
        return x @ self.w * float(os.environ["SCALE"])

def model_fn(model_dir):
    with open(os.path.join(model_dir, "weights.json")) as f:
        return Dot(json.load(f)["w"])
`,
      }),
      Environment: { SCALE: '3' },
    });
    await deploy('py-raises', {
      Image: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3',
      ModelDataUrl: await upload('py-raises/model.tar.gz', {
        'code/inference.py': 'def model_fn(model_dir):\n    raise ValueError("model.joblib is missing")\n',
      }),
    });
    await deploy('py-missing', {
      Image: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3',
      ModelDataUrl: await upload('py-missing/model.tar.gz', { 'code/other.py': '' }),
      Environment: { SAGEMAKER_PROGRAM: 'nope.py' },
    });
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('refuses a container it cannot run at CreateModel, naming the field', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ Image: 'my/own-server' }, 'body.PrimaryContainer.Image', 'give ContainerEntrypoint'],
      [
        { Image: 'sagemaker-scikit-learn:1.2', Environment: { SAGEMAKER_PROGRAM: '../etc/x.py' } },
        'body.PrimaryContainer.Environment.SAGEMAKER_PROGRAM',
        'must be a relative path inside the code directory',
      ],
      [
        { Image: 'trainyard/model-server', Environment: { SAGEMAKER_PROGRAM: 'serve.rb' } },
        'body.PrimaryContainer.Environment.SAGEMAKER_PROGRAM',
        'must be a .py file',
      ],
      [
        { Image: 'sagemaker-pytorch:2', Environment: { SAGEMAKER_SUBMIT_DIRECTORY: 'https://x/src.tar.gz' } },
        'body.PrimaryContainer.Environment.SAGEMAKER_SUBMIT_DIRECTORY',
        'must be an s3://…/sourcedir.tar.gz or a folder of the model archive',
      ],
      [
        { Image: 'x', ContainerEntrypoint: ['python3'], Environment: { LD_PRELOAD: '/tmp/x.so' } },
        'body.PrimaryContainer.Environment.LD_PRELOAD',
        'are not passed to model instances',
      ],
      [{ Image: 'x', ContainerEntrypoint: [] }, 'body.PrimaryContainer.ContainerEntrypoint', ''],
    ];
    for (const [container, field, message] of cases) {
      const { status, body } = await api('POST', '/api/v1/models', {
        ModelName: 'bad',
        PrimaryContainer: { ModelDataUrl: 's3://work/x/model.tar.gz', ...container },
      });
      expect({ status, field: body.error.field }).toEqual({ status: 400, field });
      expect(body.error.message).toContain(message);
    }
  });

  it('serves an ONNX model made from PyTorch and a @trainyard/ml ONNX export with the right predictions', async () => {
    await inService('onnx-torch');
    const response = await invoke('onnx-torch', torch.rows.map((r) => r.join(',')).join('\n'));
    expect(response.status).toBe(200);
    const got = (await response.text())
      .trim()
      .split('\n')
      .map((line) => line.split(',').map(Number));
    for (let i = 0; i < torch.rows.length; i++)
      for (let k = 0; k < 3; k++) expect(Math.abs(got[i]![k]! - torch.outputs[i]![k]!)).toBeLessThan(1e-5);

    await inService('onnx-gbdt');
    const test = rows(50, 9).map((r) => r.slice(1));
    const native = gbdt.predict(DenseMatrix.fromRows(test));
    const scores = (await (await invoke('onnx-gbdt', test.map((r) => r.join(',')).join('\n'))).text())
      .trim()
      .split('\n')
      .map(Number);
    expect(scores).toHaveLength(50);
    for (let i = 0; i < 50; i++) expect(Math.abs(scores[i]! - native[i]!)).toBeLessThan(1e-5);
  }, 60_000);

  it('serves TypeScript hooks (and what they import) from code/ in the model archive, with the model Environment passed through', async () => {
    await inService('js-hooks');
    const response = await invoke('js-hooks', '1,1,1,1\n1,0,0,0');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([20, 2]);
  }, 60_000);

  it('serves inference.py from code/ in model.tar.gz with the toolkit defaults for input_fn, predict_fn and output_fn', async () => {
    await inService('py-code');
    const json = await invoke('py-code', '1,1,1,1\n1,0,0,0');
    expect(json.status).toBe(200);
    expect(await json.json()).toEqual([30, 3]);
    const csv = await invoke('py-code', JSON.stringify([[0, 0, 0, 1]]), {
      'content-type': 'application/json',
      accept: 'text/csv',
    });
    expect((await csv.text()).trim()).toBe('12.0');
  }, 60_000);

  it('serves a SageMaker-style scikit-learn inference.py on the model train.py trained', async () => {
    const job = await (async () => {
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
        const { body } = await api('GET', '/api/v1/training-jobs/sk-train');
        if (['Completed', 'Failed', 'Stopped'].includes(body.TrainingJobStatus)) return body;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error('training did not finish');
    })();
    expect(job.TrainingJobStatus, job.FailureReason).toBe('Completed');
    const modelData = job.ModelArtifacts.S3ModelArtifacts as string;
    expect(modelData).toBe('s3://work/models/sk-train/output/model.tar.gz');
    await upload('code/sklearn-serve/sourcedir.tar.gz', {
      'inference.py': `
import os
import joblib

def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))

def predict_fn(input_data, model):
    return model.predict_proba(input_data)[:, 1]
`,
      'requirements.txt': 'scikit-learn\njoblib\n',
    });
    await deploy('sklearn', {
      Image: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3',
      ModelDataUrl: modelData,
      Environment: {
        SAGEMAKER_PROGRAM: 'inference.py',
        SAGEMAKER_SUBMIT_DIRECTORY: 's3://work/code/sklearn-serve/sourcedir.tar.gz',
      },
    });
    await inService('sklearn');
    const test = rows(20, 17).map((r) => r.slice(1));
    const response = await invoke('sklearn', test.map((r) => r.join(',')).join('\n'), { accept: 'text/csv' });
    expect(response.status).toBe(200);
    const served = (await response.text()).trim().split('\n').map(Number);
    // The same model scored by scikit-learn directly.
    const dir = mkdtempSync(join(scratch, 'sk-'));
    const { body } = await t.platform.blobs.get({
      bucket: 'work',
      key: 'models/sk-train/output/model.tar.gz',
    });
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    execFileSync('tar', ['-xzf', '-', '-C', dir], { input: Buffer.concat(chunks) });
    const expected = JSON.parse(
      execFileSync(
        '/usr/bin/python3',
        [
          '-c',
          'import joblib, json, sys; m = joblib.load(sys.argv[1]); print(json.dumps(m.predict_proba(json.loads(sys.argv[2]))[:, 1].tolist()))',
          join(dir, 'model.joblib'),
          JSON.stringify(test),
        ],
        { encoding: 'utf8' },
      ),
    ) as number[];
    expect(served).toHaveLength(20);
    for (let i = 0; i < 20; i++) expect(Math.abs(served[i]! - expected[i]!)).toBeLessThan(1e-6);
    const notNumbers = await invoke('sklearn', 'a,b,c,d');
    expect(notNumbers.status).toBe(424);
  }, 90_000);

  it('serves a Flask server through the container contract, for the invoker role too', async () => {
    await inService('flask');
    const invoker = await t.keyWithRole('invoker');
    const response = await invoke('flask', '1,2,3\n0.5,0,0', {}, invoker);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-amzn-invoked-production-variant')).toBe('main');
    expect(await response.text()).toBe('60.0\n5.0\n');
  }, 60_000);

  it('rolls an update back when the new server never answers /ping 200, saying why, and keeps serving', async () => {
    await inService('flask');
    const update = await api('POST', '/api/v1/endpoints/flask/update', { EndpointConfigName: 'flask-sick' });
    expect(update.status).toBe(200);
    const seen = new Set<string>();
    const failures: number[] = [];
    const after = await waitFor(
      'flask',
      (e) => {
        seen.add(e.EndpointStatus);
        return e.EndpointStatus === 'InService' && e.FailureReason !== undefined;
      },
      40_000,
    );
    // Requests during and after the failed update still reach the old server.
    for (let i = 0; i < 5; i++) {
      const response = await invoke('flask', '1,1');
      if (response.status !== 200) failures.push(response.status);
      await response.text();
    }
    expect([...seen]).toEqual(expect.arrayContaining(['Updating', 'RollingBack', 'InService']));
    expect(after.EndpointConfigName).toBe('flask');
    expect(after.FailureReason).toContain(
      'update to endpoint config "flask-sick" failed and was rolled back',
    );
    expect(after.FailureReason).toContain('did not answer GET /ping with 200 within 8 s');
    expect(failures).toEqual([]);
  }, 60_000);

  it('creates a server-command model from the CLI (--entrypoint as a JSON array) and refuses a bad one', async () => {
    const server = { baseUrl: t.baseUrl, key: t.adminKey };
    const created = await runCli(
      [
        'models',
        'create',
        '--name',
        'flask-cli',
        '--image',
        'my-registry/flask-server:1',
        '--model-data-url',
        's3://work/flask/model.tar.gz',
        '--entrypoint',
        '["python3","/opt/ml/model/code/app.py"]',
        '--env',
        'SCALE=3',
        '--json',
      ],
      server,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout).PrimaryContainer.ContainerEntrypoint).toEqual([
      'python3',
      '/opt/ml/model/code/app.py',
    ]);
    const bad = await runCli(
      [
        'models',
        'create',
        '--name',
        'x',
        '--model-data-url',
        's3://work/x.tar.gz',
        '--entrypoint',
        'python3 app.py',
      ],
      server,
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--entrypoint must be a JSON array of strings');
  }, 30_000);

  it('fails an endpoint whose model_fn raises or whose SAGEMAKER_PROGRAM is missing, with the reason', async () => {
    const raised = await waitFor('py-raises', (e) => e.EndpointStatus !== 'Creating');
    expect(raised.EndpointStatus).toBe('Failed');
    expect(raised.FailureReason).toContain('model_fn failed: ValueError: model.joblib is missing');
    const missing = await waitFor('py-missing', (e) => e.EndpointStatus !== 'Creating');
    expect(missing.EndpointStatus).toBe('Failed');
    expect(missing.FailureReason).toContain(
      `SAGEMAKER_PROGRAM "nope.py" is not in /opt/ml/model/code (the model archive's code)`,
    );
  }, 60_000);
});
