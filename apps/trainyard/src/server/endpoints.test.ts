import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Endpoint, EndpointInstance, EndpointMetrics } from '@trainyard/contracts/endpoints';
import { DenseMatrix } from '@trainyard/ml/data/matrix';
import { saveModel } from '@trainyard/ml/formats/model-json';
import { trainGbdt } from '@trainyard/ml/gbdt/gbdt';
import type { GbdtModel } from '@trainyard/ml/gbdt/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeEntryPoint } from '../entry-points.js';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';
import { builtMain, runCli } from '../testing/server-process.js';

const features = 4;

function train(seed: number): GbdtModel {
  const rows: number[][] = [];
  const y: number[] = [];
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  for (let i = 0; i < 400; i++) {
    const row = Array.from({ length: features }, () => rand());
    rows.push(row);
    y.push(seed * row[0]! + 2 * row[1]! - row[2]! + 0.1 * rand());
  }
  return trainGbdt({ x: DenseMatrix.fromRows(rows), y }, { num_round: '20', max_depth: '3' });
}

describe('models, endpoints and the router', () => {
  let t: TestServer & { baseUrl: string };
  let scratch: string;
  const models: Record<string, GbdtModel> = {};

  /** Packs `files` as model.tar.gz into the blob store, as a training job's output would be. */
  async function uploadArchive(key: string, files: Record<string, string>): Promise<string> {
    const dir = mkdtempSync(join(scratch, 'archive-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const archive = join(scratch, `${key.replaceAll('/', '-')}`);
    execFileSync('tar', ['-czf', archive, '-C', dir, ...Object.keys(files)]);
    await t.platform.blobs.putFile({ bucket: 'models', key }, archive);
    return `s3://models/${key}`;
  }

  async function api(method: string, url: string, payload?: unknown) {
    const response = await t.app.inject({
      method: method as 'GET',
      url,
      headers: t.auth(),
      ...(payload ? { payload: payload as object } : {}),
    });
    return { status: response.statusCode, body: response.json() };
  }

  async function waitFor(
    name: string,
    done: (e: Endpoint) => boolean,
    timeoutMs = 30_000,
  ): Promise<Endpoint> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await api('GET', `/api/v1/endpoints/${name}`);
      if (done(body as Endpoint)) return body as Endpoint;
      if (Date.now() > deadline) throw new Error(`endpoint ${name} stuck: ${JSON.stringify(body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  function invoke(name: string, body: string | Buffer, headers: Record<string, string> = {}) {
    return fetch(`${t.baseUrl}/endpoints/${name}/invocations`, {
      method: 'POST',
      headers: { ...t.auth(), 'content-type': 'text/csv', ...headers },
      body,
    });
  }

  async function createModel(name: string, model: GbdtModel): Promise<void> {
    models[name] = model;
    const url = await uploadArchive(`${name}/model.tar.gz`, { 'model.json': saveModel(model) });
    const created = await api('POST', '/api/v1/models', {
      ModelName: name,
      PrimaryContainer: { Image: 'trainyard/model-server', ModelDataUrl: url },
      ExecutionRoleArn: 'arn:aws:iam::000000000000:role/ignored',
    });
    expect(created.status).toBe(201);
  }

  async function createConfig(name: string, variants: [string, string, number, number][]): Promise<void> {
    const created = await api('POST', '/api/v1/endpoint-configs', {
      EndpointConfigName: name,
      ProductionVariants: variants.map(
        ([VariantName, ModelName, InitialVariantWeight, InitialInstanceCount]) => ({
          VariantName,
          ModelName,
          InstanceType: 'ml.m5.large',
          InitialInstanceCount,
          InitialVariantWeight,
        }),
      ),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }

  /** Fires `count` invocations, `concurrency` at a time; returns status and variant of each. */
  async function load(name: string, count: number, concurrency = 16, row = '0.5,0.2,0.1,0.9') {
    const results: { status: number; variant: string | null; text: string }[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          next++;
          const response = await invoke(name, row);
          results.push({
            status: response.status,
            variant: response.headers.get('x-amzn-invoked-production-variant'),
            text: await response.text(),
          });
        }
      }),
    );
    return results;
  }

  beforeAll(async () => {
    if (!runtimeEntryPoint('model-server') || !existsSync(builtMain))
      throw new Error(
        'the model server entry is not built: run "npx tsc -b" first (npm test builds before it tests)',
      );
    scratch = mkdtempSync(join(tmpdir(), 'trainyard-endpoints-'));
    t = await openTestServer({ endpointMetricsIntervalSeconds: 0.2 }, { listen: true });
    await t.platform.blobs.createBucket('models');
    t.platform.endpoints.startReconciler();
    await createModel('gbdt-a', train(1));
    await createModel('gbdt-b', train(3));
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('refuses a model with an unknown image, a ModelDataUrl that is not a .tar.gz or a loader variable, naming the field', async () => {
    const image = await api('POST', '/api/v1/models', {
      ModelName: 'bad',
      PrimaryContainer: { Image: 'my/own-server', ModelDataUrl: 's3://models/a/model.tar.gz' },
    });
    expect(image.status).toBe(400);
    expect(image.body.error.field).toBe('body.PrimaryContainer.Image');
    const url = await api('POST', '/api/v1/models', {
      ModelName: 'bad',
      PrimaryContainer: { Image: 'trainyard/model-server', ModelDataUrl: 'https://x/model.zip' },
    });
    expect(url.body.error.field).toBe('body.PrimaryContainer.ModelDataUrl');
    // An instance is the platform's own server process: no variable may make it load other code.
    const loader = await api('POST', '/api/v1/models', {
      ModelName: 'bad',
      PrimaryContainer: {
        Image: 'trainyard/model-server',
        ModelDataUrl: 's3://models/a/model.tar.gz',
        Environment: { NODE_OPTIONS: '--require /tmp/evil.js' },
      },
    });
    expect(loader.status).toBe(400);
    expect(loader.body.error.field).toBe('body.PrimaryContainer.Environment.NODE_OPTIONS');
    const config = await api('POST', '/api/v1/endpoint-configs', {
      EndpointConfigName: 'bad',
      ProductionVariants: [
        { VariantName: 'v', ModelName: 'nope', InstanceType: 'ml.m5.large', InitialInstanceCount: 1 },
      ],
    });
    expect(config.status).toBe(400);
    expect(config.body.error.message).toContain('model "nope" does not exist');
  });

  it('serves two variants weighted 0.8/0.2: 1,000 invocations split within 5 points, predictions match the model', async () => {
    await createConfig('split', [
      ['a', 'gbdt-a', 0.8, 1],
      ['b', 'gbdt-b', 0.2, 1],
    ]);
    expect(
      (await api('POST', '/api/v1/endpoints', { EndpointName: 'split', EndpointConfigName: 'split' })).status,
    ).toBe(201);
    const ready = await waitFor('split', (e) => e.EndpointStatus === 'InService');
    expect(ready.ProductionVariants.map((v) => v.CurrentInstanceCount)).toEqual([1, 1]);

    const results = await load('split', 1000);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    const shareA = results.filter((r) => r.variant === 'a').length / 1000;
    expect(shareA).toBeGreaterThanOrEqual(0.75);
    expect(shareA).toBeLessThanOrEqual(0.85);
    const x = DenseMatrix.fromRows([[0.5, 0.2, 0.1, 0.9]]);
    const fromA = results.find((r) => r.variant === 'a')?.text.trim();
    expect(Number(fromA)).toBeCloseTo(models['gbdt-a']!.predict(x)[0]!, 5);

    const targeted = await invoke('split', '0.5,0.2,0.1,0.9\n0.1,0.1,0.1,0.1', {
      'x-amzn-sagemaker-target-variant': 'b',
      accept: 'application/json',
    });
    expect(targeted.headers.get('x-amzn-invoked-production-variant')).toBe('b');
    const json = (await targeted.json()) as { predictions: { score: number }[] };
    expect(json.predictions).toHaveLength(2);
    expect(json.predictions[0]!.score).toBeCloseTo(models['gbdt-b']!.predict(x)[0]!, 5);

    const lines = await invoke('split', '[0.5,0.2,0.1,0.9]\n{"features":[0.1,0.1,0.1,0.1]}\n', {
      'content-type': 'application/jsonlines',
      accept: 'application/jsonlines',
    });
    expect(lines.status).toBe(200);
    expect((await lines.text()).trim().split('\n')).toHaveLength(2);
  }, 120_000);

  it('answers bad input with a 4xx naming the problem', async () => {
    const cases: [string | Buffer, Record<string, string>, number, string][] = [
      ['1,2,3', {}, 424, 'row 1 has 3 values; the model expects 4 features'],
      ['1,2,abc,4', {}, 424, 'row 1, column 3: "abc" is not a number'],
      ['', {}, 400, 'body: is empty'],
      [Buffer.alloc(7 * 1024 * 1024, 0x31), {}, 400, 'larger than the 6 MiB limit'],
      ['1,2,3,4', { 'content-type': 'image/png' }, 400, 'is not supported'],
      ['1,2,3,4', { 'content-type': 'application/x-npy' }, 424, 'does not start with the NPY magic'],
      ['{"instances": "x"', { 'content-type': 'application/json' }, 424, 'is not valid JSON'],
      ['1,2,3,4', { 'x-amzn-sagemaker-target-variant': 'zzz' }, 400, 'has no variant "zzz"'],
    ];
    for (const [body, headers, status, message] of cases) {
      const response = await invoke('split', body, headers);
      const error = ((await response.json()) as { error: { message: string } }).error;
      expect({ status: response.status, message }).toEqual({ status, message });
      expect(error.message).toContain(message);
    }
    // A real .npy from numpy goes through the router to the built-in runtime.
    const npy = execFileSync('/usr/bin/python3', [
      '-c',
      'import io, sys, numpy as np; b = io.BytesIO(); np.save(b, np.array([[0.5, 0.2, 0.1, 0.9], [0.1, 0.1, 0.1, 0.1]])); sys.stdout.buffer.write(b.getvalue())',
    ]);
    const answered = await invoke('split', npy, {
      'content-type': 'application/x-npy',
      accept: 'application/json',
      'x-amzn-sagemaker-target-variant': 'b',
    });
    expect(answered.status).toBe(200);
    const scores = ((await answered.json()) as { predictions: { score: number }[] }).predictions;
    const x = DenseMatrix.fromRows([
      [0.5, 0.2, 0.1, 0.9],
      [0.1, 0.1, 0.1, 0.1],
    ]);
    expect(scores.map((p) => p.score)).toEqual(
      Array.from(models['gbdt-b']!.predict(x)).map((v) => expect.closeTo(v, 5)),
    );
    const unknown = await invoke('nope', '1,2,3,4');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toBe(
      'endpoint "nope" does not exist',
    );
    // After all that the endpoint still serves.
    expect((await invoke('split', '1,2,3,4')).status).toBe(200);
    const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
    const count = (labels: string) =>
      Number(
        new RegExp(`trainyard_endpoint_invocations_total\\{${labels}\\} (\\d+)`).exec(metrics)?.[1] ?? 0,
      );
    expect(count('endpoint="split",variant="a",status="2xx"')).toBeGreaterThan(700);
    expect(count('endpoint="split",variant="",status="4xx"')).toBeGreaterThanOrEqual(3);
    expect(metrics).toMatch(
      /trainyard_endpoint_model_latency_seconds_count\{endpoint="split",variant="b"\} \d+/,
    );
  }, 30_000);

  it('charts traffic per variant from GET /endpoints/:name/metrics: read roles only, 404 for an unknown endpoint, numbers move after invocations', async () => {
    type Metrics = EndpointMetrics;
    const total = (m: Metrics, variant: string, key: 'invocations' | 'errors4xx' | 'errors5xx') =>
      m.variants.find((v) => v.VariantName === variant)?.samples.reduce((s, x) => s + x[key], 0) ?? 0;
    const sampled = async (): Promise<Metrics> => {
      await new Promise((r) => setTimeout(r, 450));
      return (await api('GET', '/api/v1/endpoints/split/metrics')).body as Metrics;
    };
    const before = await sampled();
    expect(before).toMatchObject({ EndpointName: 'split', scope: 'stored', intervalSeconds: 10 });
    expect(before.windowSeconds).toBe(1800);
    for (let i = 0; i < 20; i++) await invoke('split', '1,2,3,4', { 'x-amzn-sagemaker-target-variant': 'b' });
    await invoke('split', '1,2,3', { 'x-amzn-sagemaker-target-variant': 'b' });
    const after = await sampled();
    expect(total(after, 'b', 'invocations') - total(before, 'b', 'invocations')).toBe(21);
    expect(total(after, 'b', 'errors4xx') - total(before, 'b', 'errors4xx')).toBe(1);
    const b = after.variants.find((v) => v.VariantName === 'b')!;
    const busy = b.samples.filter((x) => x.invocations > 0);
    expect(busy.length).toBeGreaterThan(0);
    expect(busy.every((x) => x.modelLatencyMs !== null && x.modelLatencyMs >= 0)).toBe(true);
    expect(
      busy.every((x) => x.modelLatencyP99Ms !== null && x.modelLatencyP99Ms >= x.modelLatencyP50Ms!),
    ).toBe(true);
    // The leader's CPU/memory samples of b's instance (every 5 s) land in the same stored series,
    // per instance: wait for the first one after the endpoint came up.
    const sampledCpu = (m: Metrics) =>
      m.variants
        .find((v) => v.VariantName === 'b')!
        .samples.some((x) => x.instances >= 1 && x.cpuPercent !== null && x.memoryBytes! > 0);
    let recent = (await api('GET', '/api/v1/endpoints/split/metrics?minutes=1&perInstance=true'))
      .body as Metrics;
    for (let waited = 0; !sampledCpu(recent) && waited < 15_000; waited += 500) {
      await new Promise((r) => setTimeout(r, 500));
      recent = (await api('GET', '/api/v1/endpoints/split/metrics?minutes=1&perInstance=true'))
        .body as Metrics;
    }
    expect(sampledCpu(recent)).toBe(true);
    const perInstance = recent.variants.find((v) => v.VariantName === 'b')!.instances!;
    expect(perInstance.length).toBeGreaterThan(0);
    expect(perInstance.reduce((s, i) => s + i.samples.reduce((t, x) => t + x.invocations, 0), 0)).toBe(
      recent.variants.find((v) => v.VariantName === 'b')!.samples.reduce((t, x) => t + x.invocations, 0),
    );
    expect(Date.parse(b.samples.at(-1)!.time)).toBeGreaterThan(Date.now() - 60_000);
    for (const [query, field] of [
      ['minutes=0', 'query.minutes'],
      ['minutes=abc', 'query.minutes'],
      ['minutes=100000', 'query.minutes'],
      ['from=yesterday', 'query.from'],
      ['to=2026-01-01T00:00:00Z', 'query.from'],
      ['from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', 'query.from'],
      ['from=2026-01-01T00:00:00Z&to=2026-01-05T00:00:00Z', 'query.from'],
      ['minutes=5&from=2026-01-01T00:00:00Z', 'query.minutes'],
      ['perInstance=maybe', 'query.perInstance'],
    ] as const) {
      const bad = await api('GET', `/api/v1/endpoints/split/metrics?${query}`);
      expect({ query, status: bad.status, field: bad.body.error.field }).toEqual({
        query,
        status: 400,
        field,
      });
    }
    const cli = await runCli(['endpoints', 'metrics', 'split', '--json'], {
      baseUrl: t.baseUrl,
      key: t.adminKey,
    });
    expect(cli.code, cli.stderr).toBe(0);
    expect((JSON.parse(cli.stdout) as Metrics).variants.map((v) => v.VariantName)).toContain('b');
    const table = await runCli(['endpoints', 'metrics', 'split'], { baseUrl: t.baseUrl, key: t.adminKey });
    expect(table.stdout).toMatch(/^VARIANTNAME +SAMPLES +INVOCATIONS/);
    expect(table.stdout).toMatch(/\nb +\d+ +\d{2,} +\d+ +\d+ /);

    for (const role of ['developer', 'viewer'] as const) {
      const key = await t.keyWithRole(role);
      const r = await t.app.inject({ url: '/api/v1/endpoints/split/metrics', headers: t.auth(key) });
      expect({ role, status: r.statusCode }).toEqual({ role, status: 200 });
    }
    const invoker = await t.keyWithRole('invoker');
    expect(
      (await t.app.inject({ url: '/api/v1/endpoints/split/metrics', headers: t.auth(invoker) })).statusCode,
    ).toBe(403);
    expect((await t.app.inject({ url: '/api/v1/endpoints/split/metrics' })).statusCode).toBe(401);
    const unknown = await api('GET', '/api/v1/endpoints/nope/metrics');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('NOT_FOUND');
    const hostile = await api('GET', `/api/v1/endpoints/${encodeURIComponent('../x\'"<>')}/metrics`);
    expect(hostile.status).toBe(400);
  }, 120_000);

  it('lets the invoker role invoke and refuses a viewer', async () => {
    const invoker = await t.keyWithRole('invoker');
    const viewer = await t.keyWithRole('viewer');
    expect((await invoke('split', '1,2,3,4', t.auth(invoker))).status).toBe(200);
    const refused = await invoke('split', '1,2,3,4', t.auth(viewer));
    expect(refused.status).toBe(403);
    expect(
      (await fetch(`${t.baseUrl}/endpoints/split/invocations`, { method: 'POST', body: '1,2,3,4' })).status,
    ).toBe(401);
  });

  it('answers many requests on one keep-alive connection, each checked on its own: a revoked key, another endpoint, pipelined requests', async () => {
    const { secret, id } = await t.platform.keys.create('one-connection', 'invoker');
    const socket = connect(Number(new URL(t.baseUrl).port), '127.0.0.1');
    await once(socket, 'connect');
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
    });
    /** Reads one Content-Length framed answer off the connection. */
    const answer = async (): Promise<{ status: number; head: string; body: string }> => {
      for (let i = 0; i < 3000; i++) {
        const end = pending.indexOf('\r\n\r\n');
        if (end >= 0) {
          const head = pending.subarray(0, end).toString('latin1');
          const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1]);
          if (pending.length >= end + 4 + length) {
            const body = pending.subarray(end + 4, end + 4 + length).toString();
            pending = pending.subarray(end + 4 + length);
            return { status: Number(head.split(' ')[1]), head, body };
          }
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`no whole answer on the connection: ${pending.toString()}`);
    };
    const request = (name: string, body: string, key = secret) =>
      `POST /endpoints/${name}/invocations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: text/csv\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    for (let i = 0; i < 50; i++) {
      socket.write(request('split', '0.5,0.2,0.1,0.9'));
      const got = await answer();
      expect(got.status, got.body).toBe(200);
      expect(got.head).toMatch(/\r\nx-amzn-invoked-production-variant: (a|b)\r\n/i);
    }
    // Two requests in one write: both answered, in order.
    socket.write(request('split', '0.5,0.2,0.1,0.9') + request('split', '1,2'));
    expect((await answer()).status).toBe(200);
    const second = await answer();
    expect(second.status).toBe(424);
    expect(second.body).toContain('expects 4 features');
    // Another endpoint and another key on the same connection are routed and checked afresh.
    socket.write(request('nope', '1,2,3,4'));
    expect((await answer()).status).toBe(404);
    const viewer = await t.keyWithRole('viewer');
    socket.write(request('split', '0.5,0.2,0.1,0.9', viewer));
    expect((await answer()).status).toBe(403);
    await t.platform.keys.revoke(id);
    socket.write(request('split', '0.5,0.2,0.1,0.9'));
    const revoked = await answer();
    expect(revoked.status).toBe(401);
    expect(revoked.body).toContain('revoked');
    socket.destroy();
  });

  it('restarts a SIGKILLed instance while requests keep succeeding on the others', async () => {
    await createConfig('pair', [['only', 'gbdt-a', 1, 2]]);
    await api('POST', '/api/v1/endpoints', { EndpointName: 'pair', EndpointConfigName: 'pair' });
    await waitFor('pair', (e) => e.EndpointStatus === 'InService');
    const before = (await api('GET', '/api/v1/endpoints/pair/instances')).body.items as EndpointInstance[];
    expect(before).toHaveLength(2);
    // Built-in models: the router reaches both over the framed lane, so the kill cuts a lane.
    for (const instance of before) expect(instance.LaneUrl).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const victim = before[0]!;
    const running = load('pair', 300, 8);
    await new Promise((r) => setTimeout(r, 50));
    process.kill(victim.Pid!, 'SIGKILL');
    const results = await running;
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    const deadline = Date.now() + 20_000;
    let after: EndpointInstance | undefined;
    while (Date.now() < deadline) {
      const items = (await api('GET', '/api/v1/endpoints/pair/instances')).body.items as EndpointInstance[];
      after = items.find((i) => i.InstanceId === victim.InstanceId);
      if (after?.Status === 'InService' && after.Restarts === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(after).toMatchObject({ Status: 'InService', Restarts: 1 });
    expect(after?.LastError).toContain('SIGKILL');
    expect(after?.Pid).not.toBe(victim.Pid);
  }, 120_000);

  it('updates blue/green under load with zero failed requests, then serves the new model', async () => {
    await createConfig('pair-b', [['only', 'gbdt-b', 1, 2]]);
    // Load runs from before the update until the old instances have drained and stopped.
    let stop = false;
    const results: { status: number; text: string }[] = [];
    const loader = async () => {
      while (!stop) {
        const response = await invoke('pair', '0.5,0.2,0.1,0.9');
        results.push({ status: response.status, text: await response.text() });
      }
    };
    const running = Promise.all(Array.from({ length: 8 }, loader));
    await new Promise((r) => setTimeout(r, 200));
    const update = await api('POST', '/api/v1/endpoints/pair/update', { EndpointConfigName: 'pair-b' });
    expect(update.body.EndpointStatus).toBe('Updating');
    const done = await waitFor('pair', (e) => e.EndpointStatus === 'InService');
    expect(done.EndpointConfigName).toBe('pair-b');
    for (let i = 0; i < 200; i++) {
      const instances = (await api('GET', '/api/v1/endpoints/pair/instances')).body
        .items as EndpointInstance[];
      if (instances.every((instance) => instance.EndpointConfigName === 'pair-b')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await running;
    expect(results.length).toBeGreaterThan(50);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    const text = await (await invoke('pair', '0.5,0.2,0.1,0.9')).text();
    expect(Number(text)).toBeCloseTo(
      models['gbdt-b']!.predict(DenseMatrix.fromRows([[0.5, 0.2, 0.1, 0.9]]))[0]!,
      5,
    );
    const instances = (await api('GET', '/api/v1/endpoints/pair/instances')).body.items as EndpointInstance[];
    expect(instances.map((i) => i.EndpointConfigName)).toEqual(['pair-b', 'pair-b']);
  }, 120_000);

  it('rolls an update back and says why when the new instances never become healthy', async () => {
    const url = await uploadArchive('broken/model.tar.gz', { 'README.txt': 'no model here' });
    await api('POST', '/api/v1/models', {
      ModelName: 'broken',
      PrimaryContainer: { Image: 'trainyard/model-server', ModelDataUrl: url },
    });
    await createConfig('pair-broken', [['only', 'broken', 1, 1]]);
    await api('POST', '/api/v1/endpoints/pair/update', { EndpointConfigName: 'pair-broken' });
    const after = await waitFor(
      'pair',
      (e) => e.EndpointStatus === 'InService' && e.FailureReason !== undefined,
    );
    expect(after.EndpointConfigName).toBe('pair-b');
    expect(after.FailureReason).toContain('rolled back');
    expect(after.FailureReason).toContain('no model.json, xgboost-model or *.onnx');
    expect((await invoke('pair', '1,2,3,4')).status).toBe(200);
  }, 120_000);

  it('works from the CLI: models list, endpoints describe and invoke', async () => {
    const server = { baseUrl: t.baseUrl, key: t.adminKey };
    const listed = await runCli(['models', 'list'], server);
    expect(listed.stdout).toContain('gbdt-a');
    const described = await runCli(['endpoints', 'describe', 'pair'], server);
    expect(described.stdout).toContain('InService');
    const invoked = await runCli(
      ['endpoints', 'invoke', 'pair', '--body', '0.5,0.2,0.1,0.9', '--accept', 'application/json'],
      server,
    );
    expect(invoked.code, invoked.stderr).toBe(0);
    expect(invoked.stderr).toContain('variant: only');
    expect(JSON.parse(invoked.stdout).predictions).toHaveLength(1);
    const bad = await runCli(['endpoints', 'invoke', 'pair', '--body', '1,2'], server);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('the model expects 4 features');
  }, 30_000);

  it('changes weights in place and deletes an endpoint with its instances', async () => {
    const changed = await api('POST', '/api/v1/endpoints/split/weights-and-capacities', {
      DesiredWeightsAndCapacities: [{ VariantName: 'a', DesiredWeight: 0 }],
    });
    expect(changed.body.ProductionVariants[0].CurrentWeight).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const results = await load('split', 50, 4);
    expect(new Set(results.map((r) => r.variant))).toEqual(new Set(['b']));

    const pids = (
      (await api('GET', '/api/v1/endpoints/split/instances')).body.items as EndpointInstance[]
    ).map((i) => i.Pid!);
    expect((await api('DELETE', '/api/v1/endpoints/split')).body.EndpointStatus).toBe('Deleting');
    const deadline = Date.now() + 20_000;
    while ((await api('GET', '/api/v1/endpoints/split')).status !== 404) {
      if (Date.now() > deadline) throw new Error('endpoint not deleted');
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect((await invoke('split', '1,2,3,4')).status).toBe(404);
  }, 30_000);
});
