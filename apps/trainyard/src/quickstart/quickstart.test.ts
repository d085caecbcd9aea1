import type { Quickstart } from '@trainyard/contracts/quickstart-routes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeEntryPoint } from '../entry-points.js';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';

describe('quickstart: the sample project from CSV to an invoked endpoint', () => {
  let t: TestServer & { baseUrl: string };
  let developer: string;
  let viewer: string;

  beforeAll(async () => {
    if (!runtimeEntryPoint('model-server') || !runtimeEntryPoint('builtin-algorithm'))
      throw new Error(
        'the runtime entry scripts are not built: run "npx tsc -b" first (npm test builds first)',
      );
    t = await openTestServer({ workerConcurrency: 1 }, { listen: true });
    await t.platform.jobs.startWorker();
    t.platform.endpoints.startReconciler();
    developer = await t.keyWithRole('developer');
    viewer = await t.keyWithRole('viewer');
  });
  afterAll(() => t?.close());

  const get = (id: string, secret = viewer) =>
    t.app.inject({ url: `/api/v1/quickstart/${id}`, headers: t.auth(secret) });

  it('runs every step to done as a developer; a viewer follows it, its progress arrives as events', async () => {
    const events = await fetch(`${t.baseUrl}/api/v1/events?types=quickstart.progress`, {
      headers: t.auth(viewer),
    });
    expect(events.status).toBe(200);

    expect(
      (await t.app.inject({ method: 'POST', url: '/api/v1/quickstart', headers: t.auth(viewer) })).statusCode,
    ).toBe(403);
    const started = await t.app.inject({
      method: 'POST',
      url: '/api/v1/quickstart',
      headers: t.auth(developer),
    });
    expect(started.statusCode).toBe(201);
    const run = started.json() as Quickstart;
    expect(run.steps.map((s) => s.name)).toEqual([
      'ingest',
      'profile',
      'prepare',
      'train',
      'model',
      'deploy',
      'invoke',
    ]);
    expect(run.startedBy).toMatch(/^developer-/);
    // One at a time: a second start names the run in progress.
    const again = await t.app.inject({ method: 'POST', url: '/api/v1/quickstart', headers: t.auth() });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.id).toBe(run.id);

    const deadline = Date.now() + 90_000;
    let current = run;
    while (current.status === 'running' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      current = (await get(run.id)).json() as Quickstart;
    }
    const failed = current.steps.find((s) => s.status === 'failed');
    expect(current.status, `${failed?.name}: ${failed?.message}`).toBe('done');
    expect(current.steps.every((s) => s.status === 'done' && s.message)).toBe(true);
    const links = Object.assign({}, ...current.steps.map((s) => s.links));
    expect(links).toMatchObject({
      dataset: { name: 'penguins' },
      processingJob: `penguins-prep-${run.id}`,
      trainingJob: `penguins-xgb-${run.id}`,
      model: `penguins-xgb-${run.id}`,
      endpoint: `penguins-${run.id}`,
    });
    expect(current.prediction?.predicted).toMatch(/^(Adelie|Chinstrap|Gentoo)$/);
    const probabilities = Object.values(current.prediction?.probabilities ?? {});
    expect(probabilities).toHaveLength(3);
    expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);

    // The resources are real: the job has its evaluation report, the endpoint is in service.
    const job = (
      await t.app.inject({ url: `/api/v1/training-jobs/${links.trainingJob}`, headers: t.auth(viewer) })
    ).json();
    expect(job.EvaluationReport).toMatchObject({ type: 'classification', labels: [0, 1, 2] });
    expect(job.EvaluationReport.accuracy).toBeGreaterThan(0.9);
    const endpoint = (
      await t.app.inject({ url: `/api/v1/endpoints/${links.endpoint}`, headers: t.auth(viewer) })
    ).json();
    expect(endpoint.EndpointStatus).toBe('InService');
    const profile = await t.app.inject({
      url: `/api/v1/datasets/penguins/versions/${links.dataset.version}/profile`,
      headers: t.auth(viewer),
    });
    expect(profile.statusCode).toBe(200);

    // The stream carried the run's progress, ending with every step done.
    const reader = (events.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const until = Date.now() + 10_000;
    while (!text.includes('"state":"done"') && Date.now() < until) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    expect(text).toContain('event: quickstart.progress');
    expect(text).toContain(`"name":"${run.id}"`);
    expect(text).toContain('"state":"done"');

    const listed = (await t.app.inject({ url: '/api/v1/quickstart', headers: t.auth(viewer) })).json();
    expect(listed.runs[0].id).toBe(run.id);
  }, 120_000);

  it('refuses hostile ids, unknown runs and invokers, naming the field', async () => {
    const hostile = await get('..%2F..%2Fetc');
    expect(hostile.statusCode).toBe(400);
    expect(hostile.json().error.message).toMatch(/id/);
    expect((await get('qs-00000000')).statusCode).toBe(404);
    expect((await get('qs-00000000', await t.keyWithRole('invoker'))).statusCode).toBe(403);
    expect((await t.app.inject({ url: '/api/v1/quickstart/qs-1' })).statusCode).toBe(401);
  });
});
