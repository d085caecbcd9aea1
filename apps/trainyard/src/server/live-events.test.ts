import { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';

interface Received {
  event: string;
  data: { type: string; resource: { kind: string; name: string }; detail: { state: string } };
}

/** Reads an SSE response until `until` holds for the events so far or the time runs out. */
async function readUntil(
  response: Response,
  until: (events: Received[]) => boolean,
  timeoutMs = 20_000,
): Promise<{ events: Received[]; comments: string[] }> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: Received[] = [];
  const comments: string[] = [];
  let buffer = '';
  const timer = setTimeout(() => void reader.cancel(), timeoutMs);
  try {
    while (!until(events)) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        if (block.startsWith(':')) comments.push(block);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => undefined);
  }
  return { events, comments };
}

describe('GET /api/v1/events: live platform events over SSE', () => {
  let t: TestServer & { baseUrl: string };
  let viewer: string;

  beforeAll(async () => {
    t = await openTestServer({ workerConcurrency: 1 }, { listen: true });
    await t.platform.jobs.startWorker();
    viewer = await t.keyWithRole('viewer');
    await t.platform.blobs.put({ bucket: 'work', key: 'code/hello.mjs' }, "console.log('hello');\n");
  });
  afterAll(() => t.close());

  const open = (headers: Record<string, string>, query = '') =>
    fetch(`${t.baseUrl}/api/v1/events${query}`, { headers: { accept: 'text/event-stream', ...headers } });

  it('carries a processing job from InProgress to Completed to a viewer, filtered by type', async () => {
    const stream = await open(t.auth(viewer), '?types=processing-job.state-change');
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/processing-jobs',
      headers: t.auth(),
      payload: {
        ProcessingJobName: 'live-hello',
        ProcessingResources: {
          ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 1 },
        },
        AppSpecification: {
          ImageUri: 'node:20',
          ContainerEntrypoint: ['node', '/opt/ml/processing/input/code/hello.mjs'],
        },
        ProcessingInputs: [
          { InputName: 'code', S3Input: { S3Uri: 's3://work/code/hello.mjs', S3DataType: 'S3Prefix' } },
        ],
      },
    });
    expect(created.statusCode).toBe(201);
    // An event of another type, published meanwhile, stays out of this filtered stream.
    await t.platform.events.stateChange('endpoint', 'not-wanted', { state: 'Creating' });
    const { events } = await readUntil(stream, (got) =>
      got.some((e) => e.data.resource.name === 'live-hello' && e.data.detail.state === 'Completed'),
    );
    const mine = events.filter((e) => e.data.resource.name === 'live-hello');
    expect(mine.map((e) => e.data.detail.state)).toContain('Completed');
    expect(mine.every((e) => e.event === 'processing-job.state-change')).toBe(true);
    expect(events.some((e) => e.data.resource.name === 'not-wanted')).toBe(false);
  });

  it('is open to the session cookie, refuses no auth (401) and invokers (403), and checks the filter', async () => {
    expect((await open({})).status).toBe(401);
    const invoker = await open(t.auth(await t.keyWithRole('invoker')));
    expect(invoker.status).toBe(403);
    const bad = await open(t.auth(viewer), '?types=../../etc');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/types/);

    const signIn = await fetch(`${t.baseUrl}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ secret: viewer }),
    });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const stream = await open({ cookie });
    expect(stream.status).toBe(200);
    await t.platform.events.stateChange('training-job', 'seen-by-cookie', { state: 'InProgress' });
    const { events } = await readUntil(stream, (got) =>
      got.some((e) => e.data.resource.name === 'seen-by-cookie'),
    );
    expect(events.find((e) => e.data.resource.name === 'seen-by-cookie')?.event).toBe(
      'training-job.state-change',
    );
  });

  it('lets go of a reader when its client disconnects, and the SDK reads the stream', async () => {
    const before = t.platform.liveEvents.readerCount;
    const client = new TrainyardClient({ endpoint: t.baseUrl, key: viewer });
    const abort = new AbortController();
    const iterator = client.events(
      'streamEvents',
      { query: { types: 'endpoint.state-change' } },
      { signal: abort.signal },
    );
    const first = iterator.next();
    // The reader is registered once the response started; then an event reaches it.
    for (let i = 0; i < 100 && t.platform.liveEvents.readerCount === before; i++)
      await new Promise((r) => setTimeout(r, 20));
    await t.platform.events.stateChange('endpoint', 'sdk-seen', { state: 'InService' });
    const got = await first;
    expect(got.value).toMatchObject({
      event: 'endpoint.state-change',
      data: { resource: { name: 'sdk-seen' } },
    });
    abort.abort();
    await iterator.return(undefined).catch(() => undefined);
    for (let i = 0; i < 100 && t.platform.liveEvents.readerCount > before; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(t.platform.liveEvents.readerCount).toBe(before);
  });
});
