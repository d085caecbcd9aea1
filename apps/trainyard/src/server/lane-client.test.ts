import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import type { EndpointRoute } from '@trainyard/core/endpoints/endpoint-service';
import {
  encodeLaneFrame,
  type LaneFrame,
  LaneFrameDecoder,
  lanePreface,
} from '@trainyard/runtime/endpoints/lane-frames';
import { afterEach, describe, expect, it } from 'vitest';
import { EndpointRouter } from './endpoint-router.js';
import { MalformedAnswer, UnreachableInstance } from './instance-client.js';
import { LaneClient } from './lane-client.js';

const servers: Server[] = [];
const sockets = new Set<Socket>();
const closers: Array<{ close(): void }> = [];

afterEach(async () => {
  for (const c of closers.splice(0)) c.close();
  for (const s of sockets) s.destroy();
  sockets.clear();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

type Reply = (frame: LaneFrame, socket: Socket) => void;

/** A lane "instance" under the test's control: `reply` decides what each request frame gets. */
async function laneInstance(reply: Reply, options: { preface?: Buffer } = {}) {
  const seen: LaneFrame[] = [];
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    const decoder = new LaneFrameDecoder(1 << 24);
    socket.write(options.preface ?? lanePreface);
    socket.on('data', (chunk) => {
      for (const f of decoder.push(chunk)) {
        seen.push(f);
        reply(f, socket);
      }
    });
    socket.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    seen,
    connections: () => connections,
  };
}

const answer = (socket: Socket, id: number, body: string, extra: Partial<LaneFrame> = {}) =>
  socket.write(
    encodeLaneFrame({
      id,
      status: 200,
      contentType: 'application/json',
      accept: undefined,
      customAttributes: undefined,
      body: Buffer.from(body),
      ...extra,
    }),
  );

const request = (body: string, customAttributes?: string) => ({
  url: 'http://unused',
  contentType: 'text/csv',
  accept: 'application/json',
  customAttributes,
  body: Buffer.from(body),
});

function client(): LaneClient {
  const made = new LaneClient();
  closers.push(made);
  return made;
}

describe('LaneClient (the router → built-in model server lane)', () => {
  it('carries many requests on one connection and matches answers to them by id, in any order', async () => {
    const held: Array<[Socket, LaneFrame]> = [];
    const instance = await laneInstance((frame, socket) => {
      held.push([socket, frame]);
      // Answer all 50 at once, last first, in one write.
      if (held.length === 50)
        socket.write(
          Buffer.concat(
            held.reverse().map(([, f]) =>
              encodeLaneFrame({
                id: f.id,
                status: 200,
                contentType: 'application/json',
                accept: undefined,
                customAttributes: f.customAttributes,
                body: Buffer.from(`echo ${f.body.toString()}`),
              }),
            ),
          ),
        );
    });
    const lane = client();
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => lane.post(instance.url, request(String(i), `n=${i}`), 60_000)),
    );
    expect(answers.map((a) => a.body.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `echo ${i}`));
    expect(answers.map((a) => a.customAttributes)).toEqual(Array.from({ length: 50 }, (_, i) => `n=${i}`));
    expect(answers.every((a) => a.status === 200 && a.contentType === 'application/json')).toBe(true);
    expect(instance.connections()).toBe(1);
    expect(instance.seen[0]).toMatchObject({
      contentType: 'text/csv',
      accept: 'application/json',
      status: 0,
    });
  });

  it('carries a 6 MiB body and a large answer whole, across many reads', async () => {
    const instance = await laneInstance((f, s) =>
      answer(s, f.id, `${f.body.length}:${f.body.at(-1)}`.repeat(50_000)),
    );
    const body = Buffer.alloc(6 * 1024 * 1024, 7);
    const a = await client().post(instance.url, { ...request(''), body }, 60_000);
    expect(a.body.toString()).toBe(`${body.length}:7`.repeat(50_000));
  });

  it('passes a model error status on and drops header values node:http could not send', async () => {
    const instance = await laneInstance((f, s) =>
      answer(s, f.id, 'bad row', {
        status: 400,
        contentType: 'text/plain\u0001',
        customAttributes: 'a\u007fb',
      }),
    );
    const a = await client().post(instance.url, request('1'), 60_000);
    expect(a).toMatchObject({ status: 400, contentType: undefined, customAttributes: undefined });
    expect(a.body.toString()).toBe('bad row');
  });

  it('fails everything in flight with MalformedAnswer when the far side is not the lane (an HTTP server)', async () => {
    const instance = await laneInstance(() => undefined, {
      preface: Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'),
    });
    const lane = client();
    const results = await Promise.allSettled([
      lane.post(instance.url, request('1'), 60_000),
      lane.post(instance.url, request('2'), 60_000),
    ]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(MalformedAnswer);
    }
  });

  it('refuses an answer to an id never sent, a bad status or a broken frame with MalformedAnswer', async () => {
    const lane = client();
    for (const bad of [
      (f: LaneFrame, s: Socket) => answer(s, f.id + 1000, 'x'),
      (f: LaneFrame, s: Socket) => answer(s, f.id, 'x', { status: 42 }),
      (_f: LaneFrame, s: Socket) => s.write(Buffer.from([3, 0, 0, 0, 1, 2, 3])),
      (_f: LaneFrame, s: Socket) => s.write(Buffer.from([0xff, 0xff, 0xff, 0xff])),
    ]) {
      const instance = await laneInstance(bad);
      await expect(lane.post(instance.url, request('1'), 60_000)).rejects.toBeInstanceOf(MalformedAnswer);
    }
  });

  it('fails with UnreachableInstance when the instance drops the connection before answering, or is not there', async () => {
    const instance = await laneInstance((_f, s) => s.destroy());
    const lane = client();
    await expect(lane.post(instance.url, request('1'), 60_000)).rejects.toBeInstanceOf(UnreachableInstance);
    const gone = await laneInstance(() => undefined);
    await new Promise((resolve) => gone.server.close(resolve));
    servers.splice(servers.indexOf(gone.server), 1);
    await expect(lane.post(gone.url, request('1'), 60_000)).rejects.toBeInstanceOf(UnreachableInstance);
  });

  it('retries once on a new connection when one that had served closes as a request goes out', async () => {
    let n = 0;
    const instance = await laneInstance((f, s) => {
      n += 1;
      // The second request finds the far side closing the connection that served the first.
      if (n === 2) s.destroy();
      else answer(s, f.id, `ok ${n}`);
    });
    const lane = client();
    expect((await lane.post(instance.url, request('1'), 60_000)).body.toString()).toBe('ok 1');
    expect((await lane.post(instance.url, request('2'), 60_000)).body.toString()).toBe('ok 3');
    expect(instance.connections()).toBe(2);
  });

  it('answers 504 after the timeout, drops the late answer and keeps the connection for the next', async () => {
    let first: [Socket, LaneFrame] | undefined;
    const instance = await laneInstance((f, s) => {
      if (!first) first = [s, f];
      else {
        // The late answer to the first request comes before this one's: it must be dropped.
        answer(s, first[1].id, 'late');
        answer(s, f.id, 'on time');
      }
    });
    const lane = client();
    const slow = await lane.post(instance.url, request('1'), 100);
    expect(slow.status).toBe(504);
    expect(slow.body.toString()).toMatch(/did not answer within/);
    const next = await lane.post(instance.url, request('2'), 60_000);
    expect(next.body.toString()).toBe('on time');
    expect(instance.connections()).toBe(1);
  });

  it('refuses a header value with a line break before sending anything', async () => {
    const instance = await laneInstance((f, s) => answer(s, f.id, 'x'));
    await expect(client().post(instance.url, request('1', 'a\r\nb'), 60_000)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(instance.seen).toHaveLength(0);
  });
});

describe('EndpointRouter on the lane', () => {
  function router(instances: { id: string; lane: string }[], timeoutMs = 60_000): EndpointRouter {
    const route: EndpointRoute = {
      name: 'e',
      status: 'InService',
      variants: [
        { name: 'main', weight: 1, instances: instances.map((i) => ({ ...i, url: 'http://127.0.0.1:1' })) },
      ],
    };
    const made = new EndpointRouter({ routeOf: async () => route }, { ttlMs: 10_000, timeoutMs });
    closers.push(made);
    return made;
  }
  const invocation = {
    body: Buffer.from('1,2'),
    contentType: 'text/csv',
    accept: undefined,
    targetVariant: undefined,
  };

  it('keeps requests succeeding when an instance dies mid-load (its requests go to the other)', async () => {
    let killed = false;
    const a = await laneInstance((f, s) => {
      if (killed) return;
      answer(s, f.id, 'a');
    });
    const b = await laneInstance((f, s) => setImmediate(() => answer(s, f.id, 'b')));
    const r = router([
      { id: 'a', lane: a.url },
      { id: 'b', lane: b.url },
    ]);
    const results: Array<Promise<{ status: number }>> = [];
    for (let i = 0; i < 400; i++) {
      results.push(r.invoke('e', invocation));
      if (i === 200) {
        // The instance goes away with requests in flight and unanswered, as a SIGKILL leaves it.
        killed = true;
        await new Promise((resolve) => setImmediate(resolve));
        for (const s of sockets)
          if ((s.address() as AddressInfo).port === Number(new URL(a.url).port)) s.destroy();
        await new Promise((resolve) => a.server.close(resolve));
        servers.splice(servers.indexOf(a.server), 1);
      }
    }
    const done = await Promise.all(results);
    expect(done.filter((x) => x.status !== 200)).toEqual([]);
    expect(b.seen.length).toBeGreaterThan(200);
  });

  it('turns a model error into 424 ModelError with its message, and a malformed answer into a 502-shaped one', async () => {
    const bad = await laneInstance((f, s) => answer(s, f.id, 'feature 3 is not a number', { status: 400 }));
    const error = await router([{ id: 'x', lane: bad.url }]).invoke('e', invocation);
    expect(error.status).toBe(424);
    expect(JSON.parse(String(error.body)).error).toMatchObject({
      errorType: 'ModelError',
      originalStatusCode: 400,
      originalMessage: 'feature 3 is not a number',
    });
    const broken = await laneInstance((f, s) => answer(s, f.id + 7, 'x'));
    const malformed = await router([{ id: 'y', lane: broken.url }]).invoke('e', invocation);
    expect(malformed.status).toBe(424);
    expect(JSON.parse(String(malformed.body)).error).toMatchObject({ originalStatusCode: 502 });
  });

  it('answers 504 when the model does not answer within the timeout', async () => {
    const silent = await laneInstance(() => undefined);
    const result = await router([{ id: 'z', lane: silent.url }], 150).invoke('e', invocation);
    expect(result.status).toBe(424);
    expect(JSON.parse(String(result.body)).error).toMatchObject({ originalStatusCode: 504 });
  });
});
