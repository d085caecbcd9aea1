import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EndpointSqlStore } from '@trainyard/adapters/sql/endpoint-sql-store';
import type { OpenedMetadataStore } from '@trainyard/adapters/sql/open-metadata-store';
import type { EndpointInstance } from '@trainyard/contracts/endpoints';
import { DenseMatrix } from '@trainyard/ml/data/matrix';
import { saveModel } from '@trainyard/ml/formats/model-json';
import { trainGbdt } from '@trainyard/ml/gbdt/gbdt';
import { EndpointReconciler } from '@trainyard/runtime/endpoints/endpoint-reconciler';
import { LocalProcessExecutor } from '@trainyard/runtime/jobs/local-process-executor';
import { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeEntryPoint } from '../entry-points.js';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';

interface Event {
  type: string;
  resource: { kind: string; name: string };
  detail: { state: string; previousState?: string; reason?: string; endpointName?: string };
}

describe('endpoint events, instance metrics and the invoke fast path', () => {
  let t: TestServer & { baseUrl: string };
  let reconciler: EndpointReconciler;
  let scratch: string;
  const events: Event[] = [];
  /** The same events as a viewer's console receives them over `GET /api/v1/events` (SSE). */
  const live: { event: string; data: Event }[] = [];
  const liveAbort = new AbortController();

  const api = async (method: string, url: string, payload?: object) => {
    const response = await t.app.inject({
      method: method as 'GET',
      url,
      headers: t.auth(),
      ...(payload ? { payload } : {}),
    });
    return { status: response.statusCode, body: response.json() };
  };
  const invoke = (headers: Record<string, string>, body = '0.5,0.2,0.1,0.9') =>
    fetch(`${t.baseUrl}/endpoints/ev/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', ...headers },
      body,
    });
  /** Runs reconciler passes until `done` holds. */
  const until = async (what: string, done: () => Promise<boolean> | boolean, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(events)}`);
      await reconciler.reconcileOnce();
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const instances = async () =>
    (await api('GET', '/api/v1/endpoints/ev/instances')).body.items as EndpointInstance[];

  beforeAll(async () => {
    const script = runtimeEntryPoint('model-server');
    if (!script) throw new Error('the model server entry is not built: run "npx tsc -b" first');
    scratch = mkdtempSync(join(tmpdir(), 'trainyard-endpoint-events-'));
    t = await openTestServer({}, { listen: true });
    // A viewer follows the live feed from before the endpoint (and its topics) exist, as the console
    // does: the feed subscribes both endpoint topics from its start.
    const viewer = new TrainyardClient({ endpoint: t.baseUrl, key: await t.keyWithRole('viewer') });
    const feed = viewer.events(
      'streamEvents',
      { query: { types: 'endpoint.state-change,endpoint-instance.state-change' } },
      { signal: liveAbort.signal },
    );
    void (async () => {
      for await (const e of feed) live.push(e as { event: string; data: Event });
    })().catch(() => undefined);
    for (let i = 0; i < 100 && t.platform.liveEvents.readerCount === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    const topics = t.platform.messaging.topics;
    topics.registerHandler('endpoint-events-test', async (n) => {
      events.push(JSON.parse(n.message) as Event);
    });
    for (const topic of ['trainyard.endpoint.state-change', 'trainyard.endpoint-instance.state-change']) {
      await topics.createTopic(topic);
      await topics.subscribe(topic, { kind: 'handler', name: 'endpoint-events-test' });
    }
    const rows = Array.from({ length: 200 }, (_, i) => [i % 7, (i * 3) % 5, i % 3, (i * 7) % 11]);
    const model = trainGbdt(
      { x: DenseMatrix.fromRows(rows), y: rows.map((r) => (r[0] as number) + (r[1] as number)) },
      { num_round: '5', max_depth: '2' },
    );
    writeFileSync(join(scratch, 'model.json'), saveModel(model));
    execFileSync('tar', ['-czf', join(scratch, 'model.tar.gz'), '-C', scratch, 'model.json']);
    await t.platform.blobs.createBucket('models');
    await t.platform.blobs.putFile(
      { bucket: 'models', key: 'ev/model.tar.gz' },
      join(scratch, 'model.tar.gz'),
    );
    // The platform's wiring (endpoint-services.ts), sampling every 200 ms instead of 5 s.
    const metadata = t.platform.metadata as OpenedMetadataStore;
    reconciler = new EndpointReconciler({
      store: new EndpointSqlStore(metadata.db),
      instanceTypes: metadata.instanceTypes,
      leases: metadata.leases,
      blobs: t.platform.blobs,
      executor: new LocalProcessExecutor({ isolation: t.platform.jobs.prepareIsolation() }),
      modelServer: { command: process.execPath, args: [script] },
      workDir: join(t.dataDir, 'endpoints'),
      events: t.platform.events,
      sampleMs: 200,
      drainMs: 200,
    });
    expect(
      (
        await api('POST', '/api/v1/models', {
          ModelName: 'ev',
          PrimaryContainer: { Image: 'trainyard/model-server', ModelDataUrl: 's3://models/ev/model.tar.gz' },
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await api('POST', '/api/v1/endpoint-configs', {
          EndpointConfigName: 'ev',
          ProductionVariants: [
            { VariantName: 'main', ModelName: 'ev', InstanceType: 'ml.m5.large', InitialInstanceCount: 1 },
          ],
        })
      ).status,
    ).toBe(201);
    expect(
      (await api('POST', '/api/v1/endpoints', { EndpointName: 'ev', EndpointConfigName: 'ev' })).status,
    ).toBe(201);
    await until(
      'InService',
      async () => (await api('GET', '/api/v1/endpoints/ev')).body.EndpointStatus === 'InService',
    );
  }, 120_000);

  afterAll(async () => {
    liveAbort.abort();
    await reconciler?.close();
    await t?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('invokes with every role key on the fast path; a revoked key is refused at once', async () => {
    const expectStatus = async (headers: Record<string, string>, status: number) => {
      const response = await invoke(headers);
      const text = await response.text();
      expect(response.status, text).toBe(status);
      if (status !== 200) expect(JSON.parse(text).error.requestId).toBe(response.headers.get('x-request-id'));
      return text;
    };
    expect(Number(await expectStatus(t.auth(), 200))).toBeTypeOf('number');
    await expectStatus(t.auth(await t.keyWithRole('developer')), 200);
    const invoker = await t.keyWithRole('invoker');
    await expectStatus(t.auth(invoker), 200);
    expect(await expectStatus(t.auth(await t.keyWithRole('viewer')), 403)).toContain('may not invoke');
    expect(await expectStatus({}, 401)).toContain('Authorization');
    await expectStatus({ authorization: 'Bearer not-a-key-of-this-server' }, 401);
    // Verified keys are cached for a second: a revocation in this process still counts at once.
    const keys = (await api('GET', '/api/v1/keys')).body.items as { id: string; role: string }[];
    const invokerKey = keys.filter((k) => k.role === 'invoker').at(-1);
    expect((await api('DELETE', `/api/v1/keys/${invokerKey?.id}`)).status).toBeLessThan(300);
    expect(await expectStatus(t.auth(invoker), 401)).toContain('revoked');
    // Hostile requests on the fast path: a 7 MiB body, a path with a bad escape, an unknown endpoint.
    const big = await fetch(`${t.baseUrl}/endpoints/ev/invocations`, {
      method: 'POST',
      headers: { ...t.auth(), 'content-type': 'text/csv' },
      body: Buffer.alloc(7 * 1024 * 1024, 0x31),
    });
    expect(big.status).toBe(400);
    expect(await big.text()).toContain('6 MiB');
    const badEscape = await fetch(`${t.baseUrl}/endpoints/%E0%A4%A/invocations`, {
      method: 'POST',
      headers: { ...t.auth(), 'content-type': 'text/csv' },
      body: '1',
    });
    expect(badEscape.status).toBeGreaterThanOrEqual(400);
    expect(badEscape.status).toBeLessThan(500);
    const unknown = await fetch(`${t.baseUrl}/endpoints/nope/invocations`, {
      method: 'POST',
      headers: { ...t.auth(), 'content-type': 'text/csv' },
      body: '1',
    });
    expect(unknown.status).toBe(404);
    await expectStatus(t.auth(), 200);
  }, 60_000);

  it('shows instance CPU and memory in the instance rows and at /metrics', async () => {
    for (let i = 0; i < 50; i++) await (await invoke(t.auth())).text();
    await until('a CPU sample', async () => (await instances())[0]?.CpuPercent !== undefined);
    const [row] = await instances();
    expect(row?.MemoryBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(row?.MemoryPercent).toBeGreaterThan(0);
    expect(row?.CpuPercent).toBeGreaterThanOrEqual(0);
    // A name made up by a key that may not invoke is refused before the router looks it up: it
    // must not become a label (any signed-in key could grow the label set without end).
    const madeUp = await fetch(`${t.baseUrl}/endpoints/made-up-by-a-viewer/invocations`, {
      method: 'POST',
      headers: { ...t.auth(await t.keyWithRole('viewer')), 'content-type': 'text/csv' },
      body: '1',
    });
    expect(madeUp.status).toBe(403);
    const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(metrics).not.toContain('made-up-by-a-viewer');
    const labels = `endpoint="ev",variant="main",instance="${row?.InstanceId}"`;
    expect(metrics).toMatch(new RegExp(`trainyard_endpoint_instance_memory_bytes\\{${labels}\\} [1-9]`));
    expect(metrics).toMatch(new RegExp(`trainyard_endpoint_instance_cpu_percent\\{${labels}\\} [0-9.]+`));
    expect(metrics).toMatch(
      /trainyard_endpoint_invocations_total\{endpoint="ev",variant="main",status="2xx"\} \d+/,
    );
  }, 60_000);

  it('publishes endpoint and instance state changes to their topics, a crash and its restart included', async () => {
    const [row] = await instances();
    process.kill(row?.Pid as number, 'SIGKILL');
    const instanceStates = () =>
      events
        .filter(
          (e) => e.type === 'trainyard.endpoint-instance.state-change' && e.resource.name === row?.InstanceId,
        )
        .map((e) => e.detail.state);
    await until('the restart', () => instanceStates().join(',').includes('InService,Restarting,InService'));
    const restarting = events.find(
      (e) => e.resource.name === row?.InstanceId && e.detail.state === 'Restarting',
    );
    expect(restarting?.detail.reason).toMatch(/SIGKILL|signal/);
    expect(restarting?.detail.endpointName).toBe('ev');
    // A weight moved in place keeps the status but is still an event (open pages re-read).
    const weights = await api('POST', '/api/v1/endpoints/ev/weights-and-capacities', {
      DesiredWeightsAndCapacities: [{ VariantName: 'main', DesiredWeight: 2 }],
    });
    expect(weights.status).toBe(200);
    expect((await api('DELETE', '/api/v1/endpoints/ev')).status).toBeLessThan(300);
    await until('the delete', () =>
      events.some((e) => e.resource.name === 'ev' && e.detail.state === 'Deleted'),
    );
    expect(
      events
        .filter((e) => e.type === 'trainyard.endpoint.state-change' && e.resource.name === 'ev')
        .map((e) => [e.detail.previousState, e.detail.state]),
    ).toEqual([
      [undefined, 'Creating'],
      ['Creating', 'InService'],
      ['InService', 'InService'],
      ['InService', 'Deleting'],
      ['Deleting', 'Deleted'],
    ]);
    expect(
      events.find((e) => e.resource.name === 'ev' && e.detail.previousState === e.detail.state)?.detail
        .reason,
    ).toBe('weights and capacities updated');
    expect(instanceStates()[0]).toBe('Pending');
    expect(instanceStates().at(-1)).toBe('Stopped');
    // The server's SSE feed carried the same changes, the reconciler's included (the console's
    // endpoint pages follow these instead of polling).
    await until('the live feed', () =>
      live.some((e) => e.data.resource.name === 'ev' && e.data.detail.state === 'Deleted'),
    );
    const liveStates = (event: string, name: string | undefined) =>
      live.filter((e) => e.event === event && e.data.resource.name === name).map((e) => e.data.detail.state);
    expect(liveStates('endpoint.state-change', 'ev')).toEqual([
      'Creating',
      'InService',
      'InService',
      'Deleting',
      'Deleted',
    ]);
    const liveInstance = liveStates('endpoint-instance.state-change', row?.InstanceId);
    expect(liveInstance[0]).toBe('Pending');
    expect(liveInstance.join(',')).toContain('InService,Restarting,InService');
  }, 60_000);
});
