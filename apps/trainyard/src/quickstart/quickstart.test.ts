import { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createdBy, runQuickstart } from '../cli/quickstart-commands.js';
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
    // Started and followed as `trainyard quickstart` does it, through the SDK.
    const progress: string[] = [];
    const cli = new TrainyardClient({ endpoint: t.baseUrl, key: developer });
    // A group "penguins" made earlier is reused, not replaced (the console e2e covers a fresh install).
    await cli.call('createModelPackageGroup', {
      body: { ModelPackageGroupName: 'penguins', ModelPackageGroupDescription: 'made before the run' },
    });
    const run = await runQuickstart(cli, { wait: false }, { progress: (line) => progress.push(line) });
    expect(progress[0]).toMatch(/^quickstart qs-[0-9a-f]{8}: the Palmer penguins sample project, 8 steps$/);
    expect(run.steps.map((s) => s.name)).toEqual([
      'ingest',
      'profile',
      'prepare',
      'train',
      'register',
      'model',
      'deploy',
      'invoke',
    ]);
    expect(run.startedBy).toMatch(/^developer-/);
    // One at a time: a second start names the run in progress.
    const again = await t.app.inject({ method: 'POST', url: '/api/v1/quickstart', headers: t.auth() });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.id).toBe(run.id);
    expect((await get(run.id)).json().status).toBe('running');

    const current = await Promise.race([
      runQuickstart(cli, { id: run.id, pollMs: 300 }, { progress: (line) => progress.push(line) }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(progress.join('\n'))), 90_000)),
    ]);
    // One line per step as it starts and as it ends, numbered.
    expect(
      progress.some((l) => /^\[1\/8\] ✓ .*ingest: version \d+: 342 rows/.test(l)),
      progress.join('\n'),
    ).toBe(true);
    expect(progress.some((l) => /^\[8\/8\] ✓ .*invoke: predicted /.test(l))).toBe(true);
    expect(createdBy(current).map((r) => r.resource)).toEqual([
      'dataset',
      'dataset',
      'dataset',
      'processing job',
      'training job',
      'model',
      'model package',
      'endpoint config',
      'endpoint',
    ]);
    const failed = current.steps.find((s) => s.status === 'failed');
    expect(current.status, `${failed?.name}: ${failed?.message}`).toBe('done');
    expect(current.steps.every((s) => s.status === 'done' && s.message)).toBe(true);
    const links = Object.assign({}, ...current.steps.map((s) => s.links));
    expect(links).toMatchObject({
      dataset: { name: 'penguins' },
      processingJob: `penguins-prep-${run.id}`,
      trainingJob: `penguins-xgb-${run.id}`,
      model: `penguins-xgb-${run.id}`,
      modelPackage: expect.stringMatching(/^penguins\/\d+$/),
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
    // Registered and approved with its reason; the model was made from the package.
    const [group, version] = String(links.modelPackage).split('/');
    const registered = (
      await t.app.inject({ url: `/api/v1/model-packages/${group}/${version}`, headers: t.auth(viewer) })
    ).json();
    expect(registered).toMatchObject({
      ModelApprovalStatus: 'Approved',
      ApprovalDescription: 'quickstart sample',
      SourceTrainingJob: { TrainingJobName: links.trainingJob },
    });
    expect(registered.ApprovalHistory.at(-1)).toMatchObject({
      ModelApprovalStatus: 'Approved',
      By: { KeyName: expect.stringMatching(/^developer-/) },
    });
    const penguins = (
      await t.app.inject({ url: '/api/v1/model-package-groups/penguins', headers: t.auth(viewer) })
    ).json();
    expect(penguins).toMatchObject({ ModelPackageGroupDescription: 'made before the run', LatestVersion: 1 });
    expect(version).toBe('1');
    const model = (
      await t.app.inject({ url: `/api/v1/models/${links.model}`, headers: t.auth(viewer) })
    ).json();
    expect(model.ModelPackageName).toBe(registered.ModelPackageArn);
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

  it('a run a stopped server left "running" reads as failed, saying why; a run it still heartbeats does not', async () => {
    const old = new Date(Date.now() - 120_000).toISOString();
    const fresh = new Date().toISOString();
    const left = (id: string, at: string) => ({
      id,
      status: 'running' as const,
      createdAt: at,
      updatedAt: at,
      startedBy: 'admin',
      steps: [
        { name: 'ingest' as const, title: 'Ingest', status: 'done' as const, links: {} },
        { name: 'profile' as const, title: 'Profile', status: 'running' as const, links: {} },
      ],
    });
    await t.platform.metadata.quickstarts.save(left('qs-deadbeef', old));
    await t.platform.metadata.quickstarts.save(left('qs-0a1b2c3d', fresh));
    const stale = (await get('qs-deadbeef')).json();
    expect(stale.status).toBe('failed');
    expect(stale.steps[1]).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(/server stopped/),
    });
    expect((await get('qs-0a1b2c3d')).json().status).toBe('running');
  });
});

describe('quickstart: a server shutting down mid-run', () => {
  it('ends the run failed at the step it was waiting in, saying the server stopped', async () => {
    // No worker: the run reaches "prepare" and waits there for its recipe job.
    const t = await openTestServer({ workerConcurrency: 0 });
    try {
      const run = await t.platform.quickstart.start({ keyId: 'k', name: 'admin', role: 'admin' });
      let current = run;
      for (let i = 0; i < 200 && current.steps[2]?.status !== 'running'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        current = await t.platform.metadata.quickstarts.get(run.id);
      }
      expect(current.steps[2]).toMatchObject({ name: 'prepare', status: 'running' });
      await t.platform.quickstart.close();
      const ended = await t.platform.metadata.quickstarts.get(run.id);
      expect(ended.status).toBe('failed');
      expect(ended.steps.slice(0, 2).every((s) => s.status === 'done')).toBe(true);
      expect(ended.steps[2]).toMatchObject({
        status: 'failed',
        message: expect.stringMatching(/server stopped/),
      });
      await expect(
        t.platform.quickstart.start({ keyId: 'k', name: 'admin', role: 'admin' }),
      ).rejects.toMatchObject({
        code: 'UNAVAILABLE',
      });
    } finally {
      await t.close();
    }
  }, 60_000);
});
